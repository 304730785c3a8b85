//! Server-only domain work: adding, checking the TXT record, the daily re-check, removal,
//! and the questions SSO asks. (What a lapse does: `lapse.rs`.)

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr, TransactionTrait,
};

use super::lapse::{lapse, record_check, switch_off_sso_without_domains};
use super::rules::{challenge_name, challenge_value, DomainStatus, MAX_DOMAINS};
use crate::server::locks::lock_organization;
use crate::{
    audit::{
        events::EventKind,
        service::{Actor, NewEvent},
    },
    error::AppError,
    server::{entities::organization_domain, AppState},
};
use crate::{identity::routing::verifier_of, server::dns::TxtAnswer};

/// How often a verified domain's record is looked up again.
pub fn recheck_interval() -> Duration {
    Duration::hours(24)
}

/// Parses one domain as typed: a host name with at least one dot, in its ASCII form
/// ([`ascii_domain`]: IDNs become punycode, as in addresses), without a leading `@` or
/// trailing dot. A public suffix (`co.uk`, `github.io`) is refused: it is not anyone's.
pub fn parse_domain(raw: &str) -> Result<String, String> {
    use crate::accounts::rules::ascii_domain;

    let entry = raw.trim().trim_start_matches('@').trim_end_matches('.');
    if entry.is_empty() {
        return Err("Domain is required.".into());
    }
    let shown = entry.chars().take(100).collect::<String>();
    let domain = ascii_domain(entry)
        // A host name, not an address or anything a URL would not take as one.
        .filter(|d| matches!(url::Host::parse(d), Ok(url::Host::Domain(_))))
        .filter(|d| d.contains('.') && d.split('.').all(|label| !label.is_empty()))
        .ok_or_else(|| {
            format!("Domain must be a domain name like example.com; \"{shown}\" is not one.")
        })?;
    if psl::domain(domain.as_bytes()).is_none() {
        return Err(format!(
            "Domain \"{shown}\" is a public suffix (on the Public Suffix List): claim your own \
             domain under it, like yourcompany.{domain}."
        ));
    }
    Ok(domain)
}

/// The random part of a new domain's TXT value: 128 bits, hex.
fn new_challenge() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The organization's domains, by name.
pub async fn domains_of(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Vec<organization_domain::Model>, DbErr> {
    organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(organization_id))
        .order_by_asc(organization_domain::Column::Domain)
        .all(db)
        .await
}

/// Adds `domain` to the organization as pending, with a fresh challenge.
pub async fn add(
    db: &impl TransactionTrait,
    organization_id: i32,
    actor: &Actor,
    domain: &str,
    now: DateTime<Utc>,
) -> Result<organization_domain::Model, AppError> {
    let txn = db.begin().await?;
    lock_organization(&txn, organization_id).await?;
    let existing = domains_of(&txn, organization_id).await?;
    if existing.iter().any(|d| d.domain == domain) {
        return Err(AppError::conflict(
            "domain",
            format!("{domain} is already one of this organization's domains."),
        ));
    }
    if existing.len() >= MAX_DOMAINS {
        return Err(AppError::conflict(
            "domain",
            format!("An organization can have at most {MAX_DOMAINS} domains. Remove one first."),
        ));
    }
    let added = organization_domain::ActiveModel {
        organization_id: Set(organization_id),
        domain: Set(domain.to_string()),
        status: Set(DomainStatus::Pending),
        challenge: Set(new_challenge()),
        verified_at: Set(None),
        checked_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    NewEvent::of(organization_id, actor, EventKind::DomainAdded)
        .about(domain)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(added)
}

/// What a lookup of a domain's challenge found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Published,
    /// A definite answer without the record where it must be.
    Missing(Missing),
    /// No answer could be had; nothing changes.
    Unavailable(String),
}

/// Why a challenge does not count as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    NotPublished,
    /// The name is a CNAME for this name: its records are whoever runs that name's.
    Alias(String),
    /// The value comes from a wildcard record, which answers for every name under the
    /// domain (and on some hosts, for names other people create).
    Wildcard,
}

/// Looks up the domain's TXT record and compares it with its challenge. A record reached
/// through a CNAME or published by a wildcard does not count: neither shows that the
/// domain's owner put it at this name.
pub async fn look_up(state: &AppState, row: &organization_domain::Model) -> Lookup {
    let expected = challenge_value(&row.challenge);
    let holds_challenge = |values: &[String]| values.iter().any(|v| v.trim() == expected);
    match state.dns.txt(&challenge_name(&row.domain)).await {
        TxtAnswer::Records(values) if holds_challenge(&values) => {}
        TxtAnswer::Records(_) | TxtAnswer::NotFound => {
            return Lookup::Missing(Missing::NotPublished)
        }
        TxtAnswer::Aliased(target) => return Lookup::Missing(Missing::Alias(target)),
        TxtAnswer::Unavailable(reason) => return Lookup::Unavailable(reason),
    }
    // A name nobody would publish at: if it answers with the challenge too, a wildcard did.
    let probe = format!("_orgdesk-probe-{}.{}", new_challenge(), row.domain);
    match state.dns.txt(&probe).await {
        TxtAnswer::Records(values) if holds_challenge(&values) => {
            Lookup::Missing(Missing::Wildcard)
        }
        TxtAnswer::Unavailable(reason) => Lookup::Unavailable(reason),
        _ => Lookup::Published,
    }
}

impl Missing {
    /// What the owner reads after Verify.
    fn explain(&self, row: &organization_domain::Model) -> String {
        let name = challenge_name(&row.domain);
        match self {
            Missing::NotPublished => format!(
                "No TXT record {} with the value shown was found at {name}. Publish it at your DNS provider, wait a few minutes for it to spread, and verify again.",
                challenge_value(&row.challenge)
            ),
            Missing::Alias(target) => format!(
                "{name} is an alias (CNAME) for {target}, so its records are whoever runs {target}'s. Publish the TXT record at {name} itself, not through an alias, and verify again."
            ),
            Missing::Wildcard => format!(
                "The value found at {name} comes from a wildcard record (*.{}), which answers for every name under the domain. Publish the TXT record at {name} itself and verify again.",
                row.domain
            ),
        }
    }
}

/// An owner's Verify: looks the record up now and records the result. `Ok` once verified;
/// otherwise an error saying why (the failed check is recorded all the same).
pub async fn verify(
    state: &AppState,
    organization_id: i32,
    actor: &Actor,
    domain: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let row = find(&state.reader, organization_id, domain).await?;
    match look_up(state, &row).await {
        Lookup::Published => mark_verified(&state.db, &row, actor, now).await,
        Lookup::Missing(missing) => {
            let txn = state.db.begin().await?;
            lock_organization(&txn, organization_id).await?;
            if row.status == DomainStatus::Verified {
                lapse(&txn, &row, now).await?;
            } else {
                record_check(&txn, row.id, DomainStatus::Failed, now).await?;
            }
            txn.commit().await?;
            state.wake_mail_worker();
            Err(AppError::Forbidden(missing.explain(&row)))
        }
        Lookup::Unavailable(reason) => {
            tracing::warn!(domain = %row.domain, %reason, "DNS lookup for domain verification failed");
            Err(AppError::Forbidden(format!(
                "The DNS lookup for {} did not get an answer. Try again in a moment.",
                challenge_name(&row.domain)
            )))
        }
    }
}

/// Platform staff vouch for a domain (ownership checked some other way): added if missing,
/// then verified without a lookup.
pub async fn verify_by_staff(
    db: &(impl TransactionTrait + ConnectionTrait),
    organization_id: i32,
    domain: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let actor = Actor::Staff;
    let row = match find(db, organization_id, domain).await {
        Ok(row) => row,
        Err(AppError::NotFound(_)) => add(db, organization_id, &actor, domain, now).await?,
        Err(err) => return Err(err),
    };
    mark_verified(db, &row, &actor, now).await
}

async fn find(
    db: &impl ConnectionTrait,
    organization_id: i32,
    domain: &str,
) -> Result<organization_domain::Model, AppError> {
    organization_domain::Entity::find()
        .filter(organization_domain::Column::OrganizationId.eq(organization_id))
        .filter(organization_domain::Column::Domain.eq(domain))
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "{domain} is not one of this organization's domains."
            ))
        })
}

fn taken_message(domain: &str) -> String {
    format!("{domain} is verified by another organization. A domain can be verified by one organization only; if it is yours, ask platform support.")
}

async fn mark_verified(
    db: &impl TransactionTrait,
    row: &organization_domain::Model,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = db.begin().await?;
    lock_organization(&txn, row.organization_id).await?;
    if let Some(other) = verifier_of(&txn, &row.domain).await? {
        if other != row.organization_id {
            record_check(&txn, row.id, DomainStatus::Failed, now).await?;
            txn.commit().await?;
            return Err(AppError::Forbidden(taken_message(&row.domain)));
        }
    }
    let newly = row.status != DomainStatus::Verified;
    let updated = organization_domain::Entity::update_many()
        .col_expr(
            organization_domain::Column::Status,
            Expr::value(DomainStatus::Verified),
        )
        .col_expr(
            organization_domain::Column::VerifiedAt,
            Expr::value(row.verified_at.unwrap_or(now)),
        )
        .col_expr(organization_domain::Column::CheckedAt, Expr::value(now))
        .filter(organization_domain::Column::Id.eq(row.id))
        .exec(&txn)
        .await;
    match updated {
        Ok(_) => {}
        // Another organization verified it between the check above and now.
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::Forbidden(taken_message(&row.domain)));
        }
        Err(err) => return Err(err.into()),
    }
    if newly {
        // Links another organization kept at this domain speak for nobody now.
        crate::identity::sso_links::drop_links_at_domain(
            &txn,
            None,
            Some(row.organization_id),
            &row.domain,
        )
        .await?;
        NewEvent::of(row.organization_id, actor, EventKind::DomainVerified)
            .about(&row.domain)
            .record(&txn, now)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Re-checks verified domains not looked up for a day. Each is claimed with a conditional
/// update first, so several servers share the work without checking a domain twice.
/// Returns how many lapsed.
pub async fn recheck_due(state: &AppState, now: DateTime<Utc>) -> Result<usize, DbErr> {
    let cutoff = now - recheck_interval();
    let due = organization_domain::Entity::find()
        .filter(organization_domain::Column::Status.eq(DomainStatus::Verified))
        .filter(
            organization_domain::Column::CheckedAt
                .lt(cutoff)
                .or(organization_domain::Column::CheckedAt.is_null()),
        )
        .order_by_asc(organization_domain::Column::CheckedAt)
        .limit(100)
        .all(&state.reader)
        .await?;
    let mut lapsed = 0;
    for row in due {
        let claimed = organization_domain::Entity::update_many()
            .col_expr(organization_domain::Column::CheckedAt, Expr::value(now))
            .filter(organization_domain::Column::Id.eq(row.id))
            .filter(organization_domain::Column::Status.eq(DomainStatus::Verified))
            .filter(
                organization_domain::Column::CheckedAt
                    .lt(cutoff)
                    .or(organization_domain::Column::CheckedAt.is_null()),
            )
            .exec(&state.db)
            .await?;
        if claimed.rows_affected == 0 {
            continue;
        }
        match look_up(state, &row).await {
            Lookup::Published => {}
            Lookup::Missing(missing) => {
                tracing::info!(domain = %row.domain, ?missing, "a verified domain's record is gone");
                let txn = state.db.begin().await?;
                lock_organization(&txn, row.organization_id).await?;
                lapse(&txn, &row, now).await?;
                txn.commit().await?;
                lapsed += 1;
            }
            // Not proof of anything: the next day's check decides.
            Lookup::Unavailable(reason) => {
                tracing::warn!(domain = %row.domain, %reason, "daily DNS re-check got no answer");
            }
        }
    }
    if lapsed > 0 {
        state.wake_mail_worker();
    }
    Ok(lapsed)
}

/// Removes a domain. Removing the last verified one switches SSO off.
pub async fn remove(
    db: &impl TransactionTrait,
    organization_id: i32,
    actor: &Actor,
    domain: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let txn = db.begin().await?;
    lock_organization(&txn, organization_id).await?;
    let row = find(&txn, organization_id, domain).await?;
    organization_domain::Entity::delete_by_id(row.id)
        .exec(&txn)
        .await?;
    crate::identity::sso_links::drop_links_at_domain(
        &txn,
        Some(organization_id),
        None,
        &row.domain,
    )
    .await?;
    NewEvent::of(organization_id, actor, EventKind::DomainRemoved)
        .about(domain)
        .record(&txn, now)
        .await?;
    if row.status == DomainStatus::Verified
        && switch_off_sso_without_domains(&txn, organization_id, now).await?
    {
        tracing::info!(
            organization_id,
            "the last verified domain was removed: SSO is off"
        );
    }
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalized_and_bad_ones_named() {
        assert_eq!(
            parse_domain(" @BigCorp.Example. ").unwrap(),
            "bigcorp.example"
        );
        assert_eq!(
            parse_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(parse_domain("").unwrap_err(), "Domain is required.");
        for bad in [
            "localhost",
            "not a domain",
            "a..example",
            "127.0.0.1",
            "https://x.example/",
        ] {
            assert!(
                parse_domain(bad)
                    .unwrap_err()
                    .starts_with("Domain must be a domain name"),
                "{bad}"
            );
        }
    }
}
