//! User Settings → Sessions: where the account is signed in (browser, client address, when,
//! how), and signing out one session or all the others.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use super::rules::{SecondFactor, SignInMethod};
use crate::{
    error::AppError,
    ui::{
        form::{form_error, FormAlert, SubmitButton},
        list::time_of,
    },
};

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

/// The Sessions section's actions and list, made by the page outside every Suspend
/// (leptos-rs/leptos#3595).
#[derive(Clone, Copy)]
pub struct SessionsState {
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
    sessions: Resource<Result<Vec<SessionRow>, AppError>>,
}

impl SessionsState {
    pub fn new() -> Self {
        let end_one = ServerAction::<EndSession>::new();
        let end_others = ServerAction::<EndOtherSessions>::new();
        let sessions = Resource::new(|| (), |_| my_sessions());
        Self {
            end_one,
            end_others,
            sessions,
        }
    }
}

impl Default for SessionsState {
    fn default() -> Self {
        Self::new()
    }
}

/// User Settings → Sessions.
#[component]
pub fn SessionsSection(state: SessionsState) -> impl IntoView {
    let SessionsState {
        end_one,
        end_others,
        sessions,
    } = state;
    let query = use_query_map();
    let notice = move || {
        query.with(|q| match q.get("saved").as_deref() {
            Some("session-ended") => Some("That session was signed out."),
            Some("sessions-ended") => Some("Every other session was signed out."),
            _ => None,
        })
    };
    view! {
        <section class="card" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p>"Where your account is signed in. Sign out any you do not recognise, and change your password."</p>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <FormAlert message=form_error(end_one.value()) />
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match sessions.await {
                        Ok(rows) => {
                            let others = rows.iter().filter(|r| !r.current).count();
                            view! {
                                <table class="table">
                                    <caption class="visually-hidden">"Active sessions"</caption>
                                    <thead>
                                        <tr>
                                            <th scope="col">"Browser"</th>
                                            <th scope="col">"Address"</th>
                                            <th scope="col">"Signed in"</th>
                                            <th scope="col">"Last seen"</th>
                                            <th scope="col">"How"</th>
                                            <th scope="col">"Actions"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {rows.into_iter().map(|row| view! { <SessionTableRow row end_one /> }).collect_view()}
                                    </tbody>
                                </table>
                                {(others > 0).then(|| view! {
                                    <ActionForm action=end_others>
                                        <FormAlert message=form_error(end_others.value()) />
                                        <SubmitButton label="Sign out of all other sessions" busy_label="Signing out…" class="button danger" />
                                    </ActionForm>
                                })}
                            }
                                .into_any()
                        }
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn SessionTableRow(row: SessionRow, end_one: ServerAction<EndSession>) -> impl IntoView {
    let label = format!(
        "Sign out {} (signed in {})",
        row.browser,
        time_of(&row.started_at)
    );
    view! {
        <tr aria-current=row.current.then_some("true")>
            <th scope="row">
                {row.browser.clone()}
                {row.current.then(|| view! { " " <span class="badge">"This browser"</span> })}
            </th>
            <td>{row.client_address.unwrap_or_else(|| "Unknown".into())}</td>
            <td>{time_of(&row.started_at)}</td>
            <td>{time_of(&row.last_seen_at)}</td>
            <td>
                {match row.second_factor {
                    // A passkey alone is its own second factor.
                    Some(factor) if row.method != SignInMethod::Passkey => {
                        format!("{} + {}", row.method.label(), factor.label())
                    }
                    _ => row.method.label().to_string(),
                }}
            </td>
            <td>
                <ActionForm action=end_one>
                    <input type="hidden" name="session_id" value=row.id.to_string() />
                    <button type="submit" class="button small" aria-label=label disabled=move || end_one.pending().get()>
                        "Sign out"
                    </button>
                </ActionForm>
            </td>
        </tr>
    }
}
