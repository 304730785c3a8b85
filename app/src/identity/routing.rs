//! Which organization's identity provider an address signs in through: only an
//! organization with SSO on that verified the address's domain. Every way in asks it
//! (see [`super::sign_in`]), and so do the forms that send a person on to the provider.

use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::{
    addresses::domain_of,
    error::AppError,
    kinds::DomainStatus,
    server::entities::{organization, organization_domain, sso_connection},
};

/// The organization that verified `domain`, if one did.
pub async fn verifier_of(db: &impl ConnectionTrait, domain: &str) -> Result<Option<i32>, DbErr> {
    Ok(organization_domain::Entity::find()
        .filter(organization_domain::Column::Domain.eq(domain))
        .filter(organization_domain::Column::Status.eq(DomainStatus::Verified))
        .one(db)
        .await?
        .map(|d| d.organization_id))
}

/// The organization's verified domains, by name.
pub async fn verified_domains_of(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Vec<String>, DbErr> {
    Ok(organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(organization_id))
        .filter(organization_domain::Column::Status.eq(DomainStatus::Verified))
        .order_by_asc(organization_domain::Column::Domain)
        .all(db)
        .await?
        .into_iter()
        .map(|d| d.domain)
        .collect())
}

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
