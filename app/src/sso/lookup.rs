//! What an organization's SSO connection rules out: invitations while it is on. (Which
//! provider an address signs in through is identity's: [`crate::identity::routing`].)

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::{
    error::AppError, identity::routing::enabled_connection, server::entities::sso_connection,
};

/// Invitations are off in SSO organizations: the provider decides who belongs.
pub async fn refuse_invitations_if_sso(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<(), AppError> {
    if let Some((connection, _)) = enabled_connection(db, organization_id).await? {
        return Err(AppError::Forbidden(format!(
            "This organization signs in through {}: people join by signing in there, so invitations are off.",
            connection.provider_name
        )));
    }
    Ok(())
}

/// The organization's connection, on or off.
pub async fn connection_of(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Option<sso_connection::Model>, AppError> {
    Ok(sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?)
}
