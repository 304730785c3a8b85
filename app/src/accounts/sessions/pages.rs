//! The Sessions section of User Settings.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{my_sessions, EndOtherSessions, EndSession, SessionRow};
use crate::{
    accounts::rules::SignInMethod,
    error::AppError,
    ui::{
        form::{form_error, FormAlert, SubmitButton},
        list::time_of,
    },
};

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
