//! Which organization's identity provider signs an address in: only an organization with
//! SSO on that verified the address's domain.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::settings::domain_of;
use crate::{
    domains::service::verifier_of,
    error::AppError,
    server::entities::{organization, sso_connection},
};

/// The enabled connection that signs in users of `email`'s domain, with its organization:
/// only an organization that verified the domain routes its users.
pub async fn connection_for_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<(sso_connection::Model, organization::Model)>, AppError> {
    let Some(domain) = domain_of(email) else {
        return Ok(None);
    };
    let Some(organization_id) = verifier_of(db, &domain).await? else {
        return Ok(None);
    };
    enabled_connection(db, organization_id).await
}

/// The organization's connection when SSO is on for it.
pub async fn enabled_connection(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Option<(sso_connection::Model, organization::Model)>, AppError> {
    let found = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .filter(sso_connection::Column::Enabled.eq(true))
        .find_also_related(organization::Entity)
        .one(db)
        .await?;
    Ok(match found {
        Some((connection, Some(org))) => Some((connection, org)),
        _ => None,
    })
}

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
