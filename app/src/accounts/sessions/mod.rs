//! User Settings → Sessions: where the account is signed in (browser, client address, when,
//! how), and signing out one session or all the others. The server functions are here; the
//! section's view is in `pages.rs`.

pub mod pages;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::rules::{SecondFactor, SignInMethod};
use crate::error::AppError;

/// One active session as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    pub id: i32,
    /// "Chrome 120 on Linux", or "Unknown browser".
    pub browser: String,
    pub client_address: Option<String>,
    pub method: SignInMethod,
    /// The second factor of the sign-in, if the account asked for one.
    pub second_factor: Option<SecondFactor>,
    /// RFC 3339.
    pub started_at: String,
    pub last_seen_at: String,
    /// The session of the browser asking.
    pub current: bool,
}

/// The signed-in user's active sessions, this browser's first, then the newest.
#[server(endpoint = "accounts/sessions")]
pub async fn my_sessions() -> Result<Vec<SessionRow>, AppError> {
    use crate::server::{
        app_state,
        entities::session,
        require_signed_in,
        session::{absolute_lifetime, idle_lifetime},
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let me = require_signed_in()?;
    let state = app_state()?;
    let now = chrono::Utc::now();
    let mut rows: Vec<SessionRow> = session::Entity::find()
        .filter(session::Column::UserId.eq(me.user_id))
        .filter(session::Column::LastSeenAt.gt(now - idle_lifetime()))
        .filter(session::Column::CreatedAt.gt(now - absolute_lifetime()))
        .order_by_desc(session::Column::CreatedAt)
        .all(&state.reader)
        .await?
        .into_iter()
        .map(|s| SessionRow {
            id: s.id,
            browser: browser_of(s.user_agent.as_deref()),
            client_address: s.client_address,
            method: s.sign_in_method,
            second_factor: s.second_factor,
            started_at: s.created_at.to_rfc3339(),
            last_seen_at: s.last_seen_at.to_rfc3339(),
            current: s.id == me.session_id,
        })
        .collect();
    rows.sort_by_key(|row| !row.current);
    Ok(rows)
}

/// "Chrome 120 on Linux" from a User-Agent header.
#[cfg(feature = "ssr")]
fn browser_of(user_agent: Option<&str>) -> String {
    let Some(parsed) = user_agent.and_then(|ua| woothee::parser::Parser::new().parse(ua)) else {
        return "Unknown browser".into();
    };
    let name = match parsed.name {
        "UNKNOWN" => "Unknown browser".to_string(),
        name => match parsed.version.split('.').next() {
            Some(major) if !major.is_empty() && major != "UNKNOWN" => format!("{name} {major}"),
            _ => name.to_string(),
        },
    };
    match parsed.os {
        "UNKNOWN" => name,
        os => format!("{name} on {os}"),
    }
}

/// Signs out one of the user's own sessions (another browser, say).
#[server(endpoint = "accounts/end_session")]
pub async fn end_session(session_id: i32) -> Result<(), AppError> {
    use crate::server::{app_state, entities::session, require_signed_in};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let me = require_signed_in()?;
    let state = app_state()?;
    // Only the user's own: another account's session ID matches nothing.
    let ended = session::Entity::delete_many()
        .filter(session::Column::Id.eq(session_id))
        .filter(session::Column::UserId.eq(me.user_id))
        .exec(&state.db)
        .await?;
    if ended.rows_affected == 0 {
        return Err(AppError::NotFound("That session has already ended.".into()));
    }
    leptos_axum::redirect(if session_id == me.session_id {
        "/login"
    } else {
        "/settings?saved=session-ended"
    });
    Ok(())
}

/// Signs out every session of the user but this browser's.
#[server(endpoint = "accounts/end_other_sessions")]
pub async fn end_other_sessions() -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in, session};

    let me = require_signed_in()?;
    let state = app_state()?;
    session::end_others(&state.db, me.user_id, me.session_id).await?;
    leptos_axum::redirect("/settings?saved=sessions-ended");
    Ok(())
}
