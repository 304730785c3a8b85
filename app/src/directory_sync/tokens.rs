//! Directory-sync tokens: what the identity provider sends as `Authorization: Bearer`. The
//! format is the API keys' (`ods_`, 32 random base62 characters and a checksum), so secret
//! scanners recognise it; only its SHA-256 is stored. Two may live at once, so a provider
//! can move to a new token before the old one is revoked.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::protocol::ScimError;
use crate::{
    api_keys::token,
    audit::{events::EventKind, service::NewEvent},
    error::AppError,
    server::{
        entities::{organization, scim_token},
        secrets::Secrets,
        SignedIn,
    },
};

pub const PREFIX: &str = "ods_";
/// Live tokens an organization may have: the one in use and its replacement.
pub const MAX_TOKENS: u64 = 2;

fn reveal_lifetime() -> Duration {
    Duration::minutes(15)
}

fn last_use_resolution() -> Duration {
    Duration::minutes(1)
}

fn reveal_context(token_id: i32) -> String {
    format!("scim_tokens.token_sealed:{token_id}")
}

/// Makes a token, keeps it sealed for the page that shows it once to the session that made
/// it, and audits it. Inside the caller's transaction, after the organization's lock.
pub async fn generate(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    by: &SignedIn,
    now: DateTime<Utc>,
) -> Result<scim_token::Model, AppError> {
    if crate::identity::routing::enabled_connection(txn, organization_id)
        .await?
        .is_none()
    {
        return Err(AppError::Forbidden(
            "Turn single sign-on on first: provisioned members sign in through the identity provider."
                .into(),
        ));
    }
    let live = scim_token::Entity::find()
        .filter(scim_token::Column::OrganizationId.eq(organization_id))
        .filter(scim_token::Column::RevokedAt.is_null())
        .count(txn)
        .await?;
    if live >= MAX_TOKENS {
        return Err(AppError::Forbidden(format!(
            "An organization can have at most {MAX_TOKENS} directory sync tokens. Revoke one first."
        )));
    }
    let made = token::generate_prefixed(PREFIX);
    let row = scim_token::ActiveModel {
        organization_id: Set(organization_id),
        secret_hash: Set(made.hash),
        created_by_id: Set(Some(by.user_id)),
        created_by_name: Set(by.name.clone()),
        created_at: Set(now),
        reveal_session_id: Set(Some(by.session_id)),
        reveal_until: Set(Some(now + reveal_lifetime())),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let mut sealed: scim_token::ActiveModel = row.into();
    sealed.token_sealed = Set(Some(
        secrets.seal(&made.key, &reveal_context(*sealed.id.as_ref())),
    ));
    let row = sealed.update(txn).await?;
    NewEvent::new(organization_id, by, EventKind::ScimTokenCreated)
        .record(txn, now)
        .await?;
    Ok(row)
}

/// Revokes one of the organization's tokens (another organization's is not found).
pub async fn revoke(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    token_id: i32,
    by: &SignedIn,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let revoked = scim_token::Entity::update_many()
        .col_expr(scim_token::Column::RevokedAt, Expr::value(now))
        .col_expr(
            scim_token::Column::TokenSealed,
            Expr::value(Option::<String>::None),
        )
        .filter(scim_token::Column::Id.eq(token_id))
        .filter(scim_token::Column::OrganizationId.eq(organization_id))
        .filter(scim_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    if revoked == 0 {
        return Err(AppError::NotFound(
            "That token does not exist or is already revoked.".into(),
        ));
    }
    NewEvent::new(organization_id, by, EventKind::ScimTokenRevoked)
        .record(txn, now)
        .await?;
    Ok(())
}

/// The organization's live tokens, newest first.
pub async fn live_tokens(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Vec<scim_token::Model>, DbErr> {
    scim_token::Entity::find()
        .filter(scim_token::Column::OrganizationId.eq(organization_id))
        .filter(scim_token::Column::RevokedAt.is_null())
        .order_by_desc(scim_token::Column::Id)
        .all(db)
        .await
}

/// The token this session made in the last minutes, opened, until it says it has copied
/// it (or the minutes pass).
pub async fn revealed_token(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    let Some(row) = scim_token::Entity::find()
        .filter(scim_token::Column::OrganizationId.eq(organization_id))
        .filter(scim_token::Column::RevealSessionId.eq(session_id))
        .filter(scim_token::Column::RevealUntil.gt(now))
        .filter(scim_token::Column::TokenSealed.is_not_null())
        .order_by_desc(scim_token::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let sealed = row.token_sealed.unwrap_or_default();
    match secrets.open(&sealed, &reveal_context(row.id)) {
        Ok(plain) => Ok(Some(plain)),
        Err(err) => {
            // Sealed under a server key since removed: the owner revokes it and makes another.
            tracing::warn!(token_id = row.id, error = %err, "a new directory sync token does not open");
            Ok(None)
        }
    }
}

/// The session has copied its new token: it is not shown again.
pub async fn dismiss_reveals(db: &impl ConnectionTrait, session_id: i32) -> Result<(), DbErr> {
    scim_token::Entity::update_many()
        .col_expr(
            scim_token::Column::TokenSealed,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            scim_token::Column::RevealSessionId,
            Expr::value(Option::<i32>::None),
        )
        .filter(scim_token::Column::RevealSessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Who a SCIM request acts for, once its token passed [`authenticate`].
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub token_id: i32,
    pub organization: organization::Model,
}

/// The organization a presented token speaks for: a live token of an organization whose
/// single sign-on is on. Its use is noted at most once a minute.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    reader: &impl ConnectionTrait,
    presented: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ScimCaller, ScimError> {
    let invalid = || {
        ScimError::unauthorized(
            "The directory sync token is not valid: it may be mistyped or revoked. Generate one under Organization Profile → Settings → Directory sync (SCIM).",
        )
    };
    let presented = presented.ok_or_else(|| {
        ScimError::unauthorized(
            "Send the organization's directory sync token: Authorization: Bearer ods_…",
        )
    })?;
    let hash = token::parse_prefixed(PREFIX, presented).ok_or_else(invalid)?;
    let Some((row, Some(organization))) = scim_token::Entity::find()
        .filter(scim_token::Column::SecretHash.eq(hash))
        .filter(scim_token::Column::RevokedAt.is_null())
        .find_also_related(organization::Entity)
        .one(reader)
        .await?
    else {
        return Err(invalid());
    };
    if crate::identity::routing::enabled_connection(reader, organization.id)
        .await
        .map_err(ScimError::from)?
        .is_none()
    {
        return Err(ScimError::forbidden(
            "Single sign-on is off for this organization, so directory sync is paused. An owner turns it on under Settings → Single sign-on.",
        ));
    }
    if row
        .last_used_at
        .is_none_or(|at| now - at >= last_use_resolution())
    {
        scim_token::Entity::update_many()
            .col_expr(scim_token::Column::LastUsedAt, Expr::value(now))
            .filter(scim_token::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(ScimCaller {
        token_id: row.id,
        organization,
    })
}
