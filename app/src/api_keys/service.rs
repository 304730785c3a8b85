//! Server-only key work: making, listing and revoking keys, showing a new key once, and
//! the one check every API request passes through ([`authenticate`]).

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};

use super::{
    rules::{acting_role, scopes_from_text, scopes_text, Expiry, MAX_KEYS},
    token,
};
use crate::{
    audit::{
        events::EventKind,
        service::{Actor, NewEvent},
    },
    error::AppError,
    members::roles::{Action, Role},
    server::{
        entities::{api_key, api_key_reveal, organization},
        secrets::Secrets,
    },
};

/// How long the page may show a new key to the session that made it.
fn reveal_lifetime() -> Duration {
    Duration::minutes(15)
}

/// Writes of a key's last use: at most one a minute per key.
fn last_use_resolution() -> Duration {
    Duration::minutes(1)
}

fn reveal_context(key_id: i32) -> String {
    format!("api_key_reveals.api_key_id:{key_id}")
}

/// How a key is named in audit events and mail: its name and its shown prefix.
pub fn key_label(key: &api_key::Model) -> String {
    format!("“{}” ({}…)", key.name, key.prefix)
}

/// A key the organization's owner or admin is making.
pub struct NewApiKey {
    pub name: String,
    pub scopes: Vec<Action>,
    pub expiry: Expiry,
}

/// Makes a key, keeps it sealed for the page that shows it once to `session_id`, and
/// audits it. Inside the caller's transaction, after the organization's lock and the
/// caller's role read again: `role` may give only what it may do itself.
pub async fn create(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    creator: &crate::server::SignedIn,
    role: Role,
    new: NewApiKey,
    now: DateTime<Utc>,
) -> Result<api_key::Model, AppError> {
    if let Some(beyond) = new.scopes.iter().find(|scope| !role.allows(**scope)) {
        return Err(AppError::field(
            "scopes",
            format!(
                "Your role cannot give a key the scope “{}”: a key may do only what you may do.",
                beyond.description()
            ),
        ));
    }
    let unrevoked = api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .count(txn)
        .await?;
    if unrevoked as usize >= MAX_KEYS {
        return Err(AppError::field(
            "name",
            format!("An organization can have at most {MAX_KEYS} keys. Revoke one first."),
        ));
    }
    let made = token::generate();
    let key = api_key::ActiveModel {
        organization_id: Set(organization_id),
        name: Set(new.name),
        prefix: Set(made.shown_prefix),
        secret_hash: Set(made.hash),
        scopes: Set(scopes_text(&new.scopes)),
        created_by_id: Set(Some(creator.user_id)),
        created_by_name: Set(creator.name.clone()),
        created_at: Set(now),
        expires_at: Set(match new.expiry {
            Expiry::Days(days) => Some(now + Duration::days(days)),
            Expiry::Never => None,
        }),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    api_key_reveal::ActiveModel {
        api_key_id: Set(key.id),
        key_sealed: Set(secrets.seal(&made.key, &reveal_context(key.id))),
        session_id: Set(creator.session_id),
        expires_at: Set(now + reveal_lifetime()),
    }
    .insert(txn)
    .await?;
    NewEvent::new(organization_id, creator, EventKind::ApiKeyCreated)
        .about(&key_label(&key))
        .record(txn, now)
        .await?;
    Ok(key)
}

/// The organization's keys, newest first (revoked ones too: the list says so).
pub async fn keys_of(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Vec<api_key::Model>, DbErr> {
    api_key::Entity::find()
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .order_by_desc(api_key::Column::CreatedAt)
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await
}

/// Whether `role` may revoke `key`: owners any key; admins keys that carry no more than an
/// admin may do.
pub fn may_revoke(role: Role, key: &api_key::Model) -> bool {
    role.allows(Action::ManageApiKeys)
        && scopes_from_text(&key.scopes)
            .iter()
            .all(|scope| role.allows(*scope))
}

/// Revokes one of the organization's keys (another organization's ID is not found). Inside
/// the caller's transaction, after the organization's lock.
pub async fn revoke(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    key_id: i32,
    actor: &crate::server::SignedIn,
    role: Role,
    now: DateTime<Utc>,
) -> Result<api_key::Model, AppError> {
    let key = api_key::Entity::find_by_id(key_id)
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .one(txn)
        .await?
        .ok_or_else(|| AppError::NotFound("That API key does not exist.".into()))?;
    if !may_revoke(role, &key) {
        return Err(AppError::Forbidden(
            "Only owners can revoke a key that carries more than an admin may do.".into(),
        ));
    }
    if key.revoked_at.is_some() {
        return Ok(key);
    }
    let revoked = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, Expr::value(now))
        .filter(api_key::Column::Id.eq(key.id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    api_key_reveal::Entity::delete_by_id(key.id)
        .exec(txn)
        .await?;
    if revoked == 1 {
        NewEvent::new(organization_id, actor, EventKind::ApiKeyRevoked)
            .about(&key_label(&key))
            .record(txn, now)
            .await?;
    }
    Ok(key)
}

/// The new key the page may still show this session: its ID, name and the key itself.
pub async fn revealed_key(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<Option<(api_key::Model, String)>, DbErr> {
    let Some((reveal, Some(key))) = api_key_reveal::Entity::find()
        .filter(api_key_reveal::Column::SessionId.eq(session_id))
        .filter(api_key_reveal::Column::ExpiresAt.gt(now))
        .find_also_related(api_key::Entity)
        .filter(api_key::Column::OrganizationId.eq(organization_id))
        .order_by_desc(api_key_reveal::Column::ExpiresAt)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    match secrets.open(&reveal.key_sealed, &reveal_context(key.id)) {
        Ok(plain) => Ok(Some((key, plain))),
        // Sealed under a server key since removed: the key cannot be shown again (the
        // owner revokes it and makes another).
        Err(err) => {
            tracing::warn!(key_id = key.id, error = %err, "a new API key's reveal does not open");
            Ok(None)
        }
    }
}

/// The session has seen its new keys: they are not shown again.
pub async fn dismiss_reveals(db: &impl ConnectionTrait, session_id: i32) -> Result<(), DbErr> {
    api_key_reveal::Entity::delete_many()
        .filter(api_key_reveal::Column::SessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Who an API request acts as, once its key passed [`authenticate`].
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub key: api_key::Model,
    pub scopes: Vec<Action>,
    pub organization: organization::Model,
}

impl ApiCaller {
    pub fn actor(&self) -> Actor {
        Actor::ApiKey {
            id: self.key.id,
            name: self.key.name.clone(),
        }
    }

    /// The role whose rules apply where a rule speaks of roles (see [`acting_role`]).
    pub fn acting_role(&self) -> Role {
        acting_role(&self.scopes)
    }

    pub fn may(&self, action: Action) -> bool {
        self.scopes.contains(&action)
    }
}

/// Inside a write's transaction, after the organization's lock: the key read again, so a
/// key revoked (or expired) by the time the lock was had writes nothing.
pub async fn reauthorize_key_locked(
    txn: &impl ConnectionTrait,
    key_id: i32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let valid = api_key::Entity::find_by_id(key_id)
        .filter(api_key::Column::RevokedAt.is_null())
        .one(txn)
        .await?
        .is_some_and(|key| key.expires_at.is_none_or(|at| at > now));
    if valid {
        Ok(())
    } else {
        Err(AppError::Unauthenticated)
    }
}

/// Why a presented key was refused. The API answers the first four the same way (401,
/// "invalid key"): a caller learns nothing about which keys exist.
#[derive(Debug)]
pub enum KeyRefusal {
    Malformed,
    Unknown,
    Revoked,
    Expired,
    /// The key could not be looked up (the database is away): not the caller's fault.
    Lookup(DbErr),
}

/// The one way into the API: a well-formed key (prefix, length, checksum) whose hash is
/// stored, not revoked and not expired, of an organization that still exists. The key
/// is the organization's credential, not a person's: no session is made, no member's
/// factors apply; its scopes are checked by each operation.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<ApiCaller, KeyRefusal> {
    let hash = token::parse(presented).ok_or(KeyRefusal::Malformed)?;
    let found = api_key::Entity::find()
        .filter(api_key::Column::SecretHash.eq(hash))
        .find_also_related(organization::Entity)
        .one(db)
        .await
        .map_err(KeyRefusal::Lookup)?;
    let Some((key, Some(organization))) = found else {
        return Err(KeyRefusal::Unknown);
    };
    if key.revoked_at.is_some() {
        return Err(KeyRefusal::Revoked);
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(KeyRefusal::Expired);
    }
    Ok(ApiCaller {
        scopes: scopes_from_text(&key.scopes),
        key,
        organization,
    })
}

/// Notes the key's use (time and client address, at most once a minute); its first use is
/// an audit event, recorded once however many requests race to be first.
pub async fn note_use(
    db: &impl ConnectionTrait,
    caller: &ApiCaller,
    address: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let key = &caller.key;
    if key
        .last_used_at
        .is_some_and(|at| now - at < last_use_resolution())
    {
        return Ok(());
    }
    let address = address.map(|a| a.chars().take(64).collect::<String>());
    let first = key.last_used_at.is_none();
    let mut update = api_key::Entity::update_many()
        .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
        .col_expr(api_key::Column::LastUsedAddress, Expr::value(address))
        .filter(api_key::Column::Id.eq(key.id));
    update = if first {
        update.filter(api_key::Column::LastUsedAt.is_null())
    } else {
        update.filter(api_key::Column::LastUsedAt.lt(now - last_use_resolution()))
    };
    let written = update.exec(db).await?.rows_affected;
    if first && written == 1 {
        NewEvent::system(key.organization_id, EventKind::ApiKeyFirstUsed)
            .about(&key_label(key))
            .record(db, now)
            .await?;
    }
    Ok(())
}

/// What [`run_upkeep`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct KeyUpkeep {
    pub warned: usize,
    pub expired: usize,
}

/// Warns owners of keys that expire within 7 days (once per key) and audits keys that
/// expired. Each key is claimed by a conditional update, so several processes never warn
/// or audit twice.
pub async fn run_upkeep(
    state: &crate::server::AppState,
    now: DateTime<Utc>,
) -> Result<KeyUpkeep, DbErr> {
    let mut upkeep = KeyUpkeep::default();
    let soon = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(api_key::Column::ExpiryWarnedAt.is_null())
        .filter(api_key::Column::ExpiresAt.gt(now))
        .filter(api_key::Column::ExpiresAt.lte(now + Duration::days(7)))
        .all(&state.db)
        .await?;
    for key in soon {
        let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
        let claimed = api_key::Entity::update_many()
            .col_expr(api_key::Column::ExpiryWarnedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(key.id))
            .filter(api_key::Column::ExpiryWarnedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed == 1 {
            warn_owners(&txn, state, &key, now).await?;
            upkeep.warned += 1;
        }
        txn.commit().await?;
    }
    if upkeep.warned > 0 {
        state.wake_mail_worker();
    }
    let expired = api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .filter(api_key::Column::ExpiryRecordedAt.is_null())
        .filter(api_key::Column::ExpiresAt.lte(now))
        .all(&state.db)
        .await?;
    for key in expired {
        let txn = sea_orm::TransactionTrait::begin(&state.db).await?;
        let claimed = api_key::Entity::update_many()
            .col_expr(api_key::Column::ExpiryRecordedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(key.id))
            .filter(api_key::Column::ExpiryRecordedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if claimed == 1 {
            NewEvent::system(key.organization_id, EventKind::ApiKeyExpired)
                .about(&key_label(&key))
                .record(&txn, now)
                .await?;
            upkeep.expired += 1;
        }
        txn.commit().await?;
    }
    Ok(upkeep)
}

/// Emails the organization's owners that `key` stops working in a few days.
async fn warn_owners(
    txn: &impl ConnectionTrait,
    state: &crate::server::AppState,
    key: &api_key::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use crate::server::mail::{enqueue, plain_notice};

    let Some(org) = organization::Entity::find_by_id(key.organization_id)
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let expires = key
        .expires_at
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let page = state.settings.link(super::KEYS_PAGE);
    for owner in crate::members::memberships::owners_of(txn, org.id).await? {
        let text = format!(
            "Hello {},\n\nThe API key {} of {} expires on {expires}. Programs that use it stop working then.\n\nMake a new key and give it to those programs before then: {page}\n\n— Orgdesk",
            owner.name,
            key_label(key),
            org.name,
        );
        let subject = format!("An API key of {} expires on {expires}", org.name);
        // A full inbox for the day skips the warning; the list shows the expiry too.
        let _ = enqueue(txn, plain_notice(&owner.email, subject, text), now).await?;
    }
    Ok(())
}
