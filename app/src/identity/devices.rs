//! Known devices: OWASP's device cookies. A browser that gave an account's right password
//! keeps a cookie naming it; its later attempts at that account count against the device,
//! not against the account, so strangers' wrong passwords (which do lock the account for
//! unknown browsers, with exponential back-off) never lock the owner out of their own.

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::server::{
    entities::known_device,
    session,
    tokens::{hash_token, new_token},
};

/// How long a browser stays known without signing in again.
const KNOWN_FOR_DAYS: i64 = 180;
/// The newest devices an account keeps; older ones are forgotten.
const KEPT_PER_ACCOUNT: u64 = 20;

/// The cookie's name: over https with the `__Host-` prefix, as the session's.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-orgdesk_device"
    } else {
        "orgdesk_device"
    }
}

/// `Set-Cookie` for a device's token (HttpOnly, Lax, whole host).
pub fn cookie_header(token: &str, secure: bool) -> HeaderValue {
    session::set_cookie(
        cookie_name(secure),
        token,
        "/",
        cookie::time::Duration::days(KNOWN_FOR_DAYS),
        secure,
    )
}

/// The device token a request carries, if any.
pub fn token_from(headers: &HeaderMap, secure: bool) -> Option<String> {
    session::cookie_value(headers, cookie_name(secure)).filter(|t| !t.is_empty())
}

/// The device `token` names, if it is one of `user_id`'s and still within its lifetime.
pub async fn known_device(
    db: &impl ConnectionTrait,
    token: Option<&str>,
    user_id: i32,
    now: DateTime<Utc>,
) -> Result<Option<known_device::Model>, DbErr> {
    let Some(token) = token else {
        return Ok(None);
    };
    known_device::Entity::find()
        .filter(known_device::Column::TokenHash.eq(hash_token(token)))
        .filter(known_device::Column::UserId.eq(user_id))
        .filter(known_device::Column::LastUsedAt.gt(now - chrono::Duration::days(KNOWN_FOR_DAYS)))
        .one(db)
        .await
}

/// After a right password: the known device is seen again, or this browser becomes one.
/// Returns the new device's token for its cookie, if one was made.
pub async fn remember(
    txn: &impl ConnectionTrait,
    user_id: i32,
    known: Option<&known_device::Model>,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    if let Some(known) = known {
        known_device::Entity::update_many()
            .col_expr(known_device::Column::LastUsedAt, Expr::value(now))
            .filter(known_device::Column::Id.eq(known.id))
            .exec(txn)
            .await?;
        return Ok(None);
    }
    let token = new_token();
    known_device::ActiveModel {
        token_hash: Set(hash_token(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        last_used_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    // Only the newest few stay: a thousand sign-ins do not make a thousand rows.
    let keep: Vec<i32> = known_device::Entity::find()
        .select_only()
        .column(known_device::Column::Id)
        .filter(known_device::Column::UserId.eq(user_id))
        .order_by_desc(known_device::Column::LastUsedAt)
        .order_by_desc(known_device::Column::Id)
        .limit(KEPT_PER_ACCOUNT)
        .into_tuple()
        .all(txn)
        .await?;
    known_device::Entity::delete_many()
        .filter(known_device::Column::UserId.eq(user_id))
        .filter(known_device::Column::Id.is_not_in(keep))
        .exec(txn)
        .await?;
    Ok(Some(token))
}

/// Forgets every device of the account (its password or factors were reset: a browser
/// that knew the old password is a stranger again)...
pub async fn forget_all(txn: &impl ConnectionTrait, user_id: i32) -> Result<(), DbErr> {
    forget_all_but(txn, user_id, None).await
}

/// ...but `kept`, the token of the browser that made the change, if it is a known device.
pub async fn forget_all_but(
    txn: &impl ConnectionTrait,
    user_id: i32,
    kept: Option<&str>,
) -> Result<(), DbErr> {
    let mut forgotten =
        known_device::Entity::delete_many().filter(known_device::Column::UserId.eq(user_id));
    if let Some(kept) = kept {
        forgotten = forgotten.filter(known_device::Column::TokenHash.ne(hash_token(kept)));
    }
    forgotten.exec(txn).await?;
    Ok(())
}
