//! The SAML providers' daily upkeep, shared by all server processes through the database
//! (each provider claimed by a conditional update, as the domain re-check does):
//! - a metadata URL is fetched again once a day. New signing certificates are taken at once
//!   (the provider's rollover); another entity ID or sign-in URL is another provider, so
//!   SSO goes off until an owner tests it again.
//! - owners and the organization's alert email are warned 30 and 7 days before the last
//!   signing certificate expires (an email and an audit event; the settings show a banner).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

use super::metadata::{parse_metadata, MAX_METADATA_BYTES};
use crate::{
    audit::{events::EventKind, service::NewEvent},
    server::{
        entities::{organization, saml_provider, sso_connection},
        locks::lock_organization,
        mail::{enqueue, plain_notice},
        AppState,
    },
};

/// How often a metadata URL is fetched again.
pub fn refetch_interval() -> Duration {
    Duration::days(1)
}

/// The warnings, in days before the certificates expire.
pub const WARN_DAYS: [i32; 2] = [30, 7];

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Upkeep {
    pub refetched: usize,
    pub switched_off: usize,
    pub warned: usize,
}

/// One pass: the metadata due for a fetch, then the warnings due.
pub async fn run_due(state: &AppState, now: DateTime<Utc>) -> Result<Upkeep, DbErr> {
    let mut upkeep = Upkeep::default();
    refetch_due(state, now, &mut upkeep).await?;
    warn_due(state, now, &mut upkeep).await?;
    if upkeep.warned > 0 || upkeep.switched_off > 0 {
        state.wake_mail_worker();
    }
    Ok(upkeep)
}

async fn refetch_due(
    state: &AppState,
    now: DateTime<Utc>,
    upkeep: &mut Upkeep,
) -> Result<(), DbErr> {
    let cutoff = now - refetch_interval();
    let stale = Condition::any()
        .add(saml_provider::Column::MetadataFetchedAt.lt(cutoff))
        .add(saml_provider::Column::MetadataFetchedAt.is_null());
    let due = saml_provider::Entity::find()
        .filter(saml_provider::Column::MetadataUrl.is_not_null())
        .filter(stale.clone())
        .order_by_asc(saml_provider::Column::MetadataFetchedAt)
        .limit(100)
        .all(&state.reader)
        .await?;
    for provider in due {
        let claimed = saml_provider::Entity::update_many()
            .col_expr(saml_provider::Column::MetadataFetchedAt, Expr::value(now))
            .filter(saml_provider::Column::Id.eq(provider.id))
            .filter(stale.clone())
            .exec(&state.db)
            .await?;
        if claimed.rows_affected == 0 {
            continue;
        }
        let Some(url) = provider
            .metadata_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
        else {
            continue;
        };
        let fetched = match state
            .identity
            .http
            .get_document(&url, MAX_METADATA_BYTES)
            .await
        {
            Ok(bytes) => String::from_utf8(bytes).map_err(|_| "it is not text".to_string()),
            Err(reason) => Err(reason),
        };
        let https_only = state.settings.public_url.starts_with("https://");
        let read = fetched.and_then(|xml| parse_metadata(&xml, https_only).map(|m| (xml, m)));
        let (xml, metadata) = match read {
            Ok(read) => read,
            // Not proof of anything: the saved metadata stands until the next day's fetch.
            Err(reason) => {
                tracing::warn!(organization_id = provider.organization_id, %reason, "the daily SAML metadata fetch failed");
                continue;
            }
        };
        let another_provider =
            metadata.entity_id != provider.entity_id || metadata.sso_url != provider.sso_url;
        let certificates = serde_json::to_string(&metadata.certificates)
            .map_err(|err| DbErr::Custom(err.to_string()))?;
        if !another_provider && certificates == provider.signing_certificates {
            continue;
        }
        let txn = state.db.begin().await?;
        lock_organization(&txn, provider.organization_id).await?;
        saml_provider::Entity::update_many()
            .col_expr(saml_provider::Column::MetadataXml, Expr::value(xml))
            .col_expr(
                saml_provider::Column::EntityId,
                Expr::value(metadata.entity_id.clone()),
            )
            .col_expr(
                saml_provider::Column::SsoUrl,
                Expr::value(metadata.sso_url.clone()),
            )
            .col_expr(
                saml_provider::Column::SigningCertificates,
                Expr::value(certificates),
            )
            .col_expr(
                saml_provider::Column::CertificatesExpireAt,
                Expr::value(metadata.expires_at()),
            )
            .col_expr(
                saml_provider::Column::ExpiryWarnedDays,
                Expr::value(Option::<i32>::None),
            )
            .filter(saml_provider::Column::Id.eq(provider.id))
            .exec(&txn)
            .await?;
        upkeep.refetched += 1;
        if another_provider {
            let off = sso_connection::Entity::update_many()
                .col_expr(sso_connection::Column::Enabled, Expr::value(false))
                .col_expr(
                    sso_connection::Column::TestedAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(sso_connection::Column::OrganizationId.eq(provider.organization_id))
                .exec(&txn)
                .await?;
            if off.rows_affected > 0 {
                tracing::warn!(
                    organization_id = provider.organization_id,
                    "the SAML metadata now names another provider: SSO is off until a new test"
                );
                NewEvent::system(provider.organization_id, EventKind::SsoDisabled)
                    .record(&txn, now)
                    .await?;
                upkeep.switched_off += 1;
            }
        }
        txn.commit().await?;
    }
    Ok(())
}

/// Which warning is due for certificates expiring at `expires_at`, if any.
pub fn warning_due(
    expires_at: DateTime<Utc>,
    warned: Option<i32>,
    now: DateTime<Utc>,
) -> Option<i32> {
    let left = expires_at - now;
    WARN_DAYS
        .iter()
        .rev()
        .copied()
        .find(|days| left <= Duration::days(i64::from(*days)))
        .filter(|days| warned.is_none_or(|w| w > *days))
}

async fn warn_due(state: &AppState, now: DateTime<Utc>, upkeep: &mut Upkeep) -> Result<(), DbErr> {
    let horizon = now + Duration::days(i64::from(WARN_DAYS[0]));
    let soon = saml_provider::Entity::find()
        .filter(saml_provider::Column::CertificatesExpireAt.lte(horizon))
        .all(&state.reader)
        .await?;
    for provider in soon {
        let Some(days) = warning_due(
            provider.certificates_expire_at,
            provider.expiry_warned_days,
            now,
        ) else {
            continue;
        };
        let txn = state.db.begin().await?;
        let claimed = saml_provider::Entity::update_many()
            .col_expr(saml_provider::Column::ExpiryWarnedDays, Expr::value(days))
            .filter(saml_provider::Column::Id.eq(provider.id))
            .filter(
                Condition::any()
                    .add(saml_provider::Column::ExpiryWarnedDays.is_null())
                    .add(saml_provider::Column::ExpiryWarnedDays.gt(days)),
            )
            .exec(&txn)
            .await?;
        if claimed.rows_affected == 0 {
            continue;
        }
        notify_expiry(&txn, &provider, now).await?;
        txn.commit().await?;
        upkeep.warned += 1;
    }
    Ok(())
}

async fn notify_expiry(
    txn: &impl ConnectionTrait,
    provider: &saml_provider::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let when = provider
        .certificates_expire_at
        .format("%Y-%m-%d")
        .to_string();
    NewEvent::system(provider.organization_id, EventKind::SsoCertificateExpiring)
        .about(&format!("on {when}"))
        .record(txn, now)
        .await?;
    let Some(org) = organization::Entity::find_by_id(provider.organization_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let mut recipients: Vec<String> = crate::members::memberships::owners_of(txn, org.id)
        .await?
        .into_iter()
        .map(|owner| owner.email)
        .collect();
    if let Some(alert) = org.alert_email.clone().filter(|a| !recipients.contains(a)) {
        recipients.push(alert);
    }
    let expired = provider.certificates_expire_at <= now;
    for to in recipients {
        let subject = format!(
            "{}: the SAML provider's certificate expires on {when}",
            org.name
        );
        let consequence = if expired {
            "It has expired: sign-ins through the provider fail until its new metadata is uploaded."
        } else {
            "After that day sign-ins through the provider fail, unless Orgdesk has the provider's new certificate."
        };
        let text = format!(
            "Hello,\n\nThe identity provider {} signs {}'s single sign-on with a certificate that expires on {when} (UTC). {consequence}\n\nIf the provider's metadata is fetched from a URL, Orgdesk takes the new certificate as soon as the provider publishes it. Otherwise download the provider's new metadata and upload it in Organization Profile → Settings → Single sign-on.\n",
            provider.entity_id, org.name,
        );
        let _queued = enqueue(txn, plain_notice(&to, subject, text), now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warnings_come_at_30_and_at_7_days_each_once() {
        let now = Utc::now();
        let at = |days: i64| now + Duration::days(days);
        assert_eq!(warning_due(at(40), None, now), None);
        assert_eq!(warning_due(at(30), None, now), Some(30));
        assert_eq!(warning_due(at(20), Some(30), now), None);
        assert_eq!(warning_due(at(7), Some(30), now), Some(7));
        assert_eq!(
            warning_due(at(3), None, now),
            Some(7),
            "late: the nearer warning only"
        );
        assert_eq!(warning_due(at(3), Some(7), now), None);
        assert_eq!(warning_due(at(-1), Some(7), now), None);
    }
}
