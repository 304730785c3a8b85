//! (ssr) What happens when a domain stops being verified (its record is gone, it is
//! removed, or another organization proved it): the check is recorded, the SSO links at the
//! domain go, SSO switches off when no verified domain is left, and the owners are told.

use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::rules::{challenge_name, challenge_value, DomainStatus};
use crate::{
    audit::{events::EventKind, service::NewEvent},
    identity::routing::verified_domains_of,
    server::{
        entities::{organization, organization_domain, sso_connection},
        mail::{enqueue, Email},
    },
};

pub async fn record_check(
    txn: &impl ConnectionTrait,
    id: i32,
    status: DomainStatus,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    organization_domain::Entity::update_many()
        .col_expr(organization_domain::Column::Status, Expr::value(status))
        .col_expr(organization_domain::Column::CheckedAt, Expr::value(now))
        .filter(organization_domain::Column::Id.eq(id))
        .filter(organization_domain::Column::Status.ne(DomainStatus::Verified))
        .exec(txn)
        .await?;
    Ok(())
}

/// A verified domain whose record is gone: unverified, with an audit event, an email to
/// every owner, and SSO switched off when no verified domain is left. Inside the caller's
/// transaction, with the organization locked.
pub async fn lapse(
    txn: &impl ConnectionTrait,
    row: &organization_domain::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let changed = organization_domain::Entity::update_many()
        .col_expr(
            organization_domain::Column::Status,
            Expr::value(DomainStatus::Failed),
        )
        .col_expr(
            organization_domain::Column::VerifiedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(organization_domain::Column::CheckedAt, Expr::value(now))
        .filter(organization_domain::Column::Id.eq(row.id))
        .filter(organization_domain::Column::Status.eq(DomainStatus::Verified))
        .exec(txn)
        .await?;
    if changed.rows_affected == 0 {
        return Ok(());
    }
    tracing::warn!(domain = %row.domain, organization_id = row.organization_id, "a verified domain's TXT record is gone: it is unverified");
    crate::identity::sso_links::drop_links_at_domain(
        txn,
        Some(row.organization_id),
        None,
        &row.domain,
    )
    .await?;
    NewEvent::system(row.organization_id, EventKind::DomainUnverified)
        .about(&row.domain)
        .record(txn, now)
        .await?;
    let sso_off = switch_off_sso_without_domains(txn, row.organization_id, now).await?;
    let org = organization::Entity::find_by_id(row.organization_id)
        .one(txn)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("organization".into()))?;
    for owner in crate::members::memberships::owners_of(txn, row.organization_id).await? {
        let _queued = enqueue(
            txn,
            lapsed_email(
                &owner.email,
                &org.name,
                &row.domain,
                &row.challenge,
                sso_off,
            ),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Turns SSO off when the organization has no verified domain left (SSO needs one).
/// Returns whether it was on.
pub async fn switch_off_sso_without_domains(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    if !verified_domains_of(txn, organization_id).await?.is_empty() {
        return Ok(false);
    }
    let off = sso_connection::Entity::update_many()
        .col_expr(sso_connection::Column::Enabled, Expr::value(false))
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .filter(sso_connection::Column::Enabled.eq(true))
        .exec(txn)
        .await?;
    if off.rows_affected == 0 {
        return Ok(false);
    }
    NewEvent::system(organization_id, EventKind::SsoDisabled)
        .record(txn, now)
        .await?;
    Ok(true)
}

fn lapsed_email(
    to: &str,
    organization: &str,
    domain: &str,
    challenge: &str,
    sso_off: bool,
) -> Email {
    let subject = format!("{domain} is no longer verified for {organization}");
    let consequence = if sso_off {
        "Single sign-on was switched off, since the organization has no verified domain left: its users sign in with a password (or reset it) until a domain is verified again and SSO is switched back on."
    } else {
        "Users at this domain no longer sign in through your identity provider."
    };
    let text = format!(
        "Hello,\n\nOrgdesk checks each verified domain daily. The TXT record {} with the value {} is no longer published for {domain}, so {domain} is no longer verified for {organization}.\n\n{consequence}\n\nTo verify it again, publish the record and choose Verify in Organization Profile → Settings → Domains.\n",
        challenge_name(domain),
        challenge_value(challenge),
    );
    crate::server::mail::plain_notice(to, subject, text)
}
