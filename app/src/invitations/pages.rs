//! The inviter's side (the Invited Users tab, the Invite user and Revoke modals) and the
//! invitee's side (the page an invitation link opens: sign up or log in, then the welcome
//! page with Accept Invitation).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::api::{
    my_invitations, show_invitation, AcceptInvitation, AcceptMyInvitation, DeclineInvitation,
    InvitationLink, InviteUser, LinkState, ResendInvitation, RevokeInvitation, Visitor,
};
use super::views::{InvitationRow, InvitationsPage};
use crate::{
    accounts::{api::LogOut, pages::AuthCard, rules::EMAIL_MAX_CHARS},
    error::AppError,
    members::{roles::Role, views::MembersPage},
    ui::{
        form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
        list::{count_label, date_of, Pagination},
        modal::{close_href, modal_href, Modal, ModalCancel},
        url::urlencode,
    },
};

pub type InvitationsResource = Resource<Result<Option<InvitationsPage>, AppError>>;

/// The Invited Users tab: pending invitations with Resend and Revoke, and Invite user.
#[component]
pub fn InvitedUsersTab(
    members: MembersPage,
    invitations: InvitationsResource,
    search: Memo<String>,
    /// Made by the page, outside every Suspend (leptos-rs/leptos#3595).
    resend: ServerAction<ResendInvitation>,
) -> impl IntoView {
    let organization_id = members.organization_id.clone();
    let page_href = move |target: u64| {
        format!(
            "/access-control?tab=invited&q={}&page={target}",
            urlencode(&search.get_untracked())
        )
    };
    view! {
        <div class="tab-toolbar">
            <form method="get" action="/access-control" class="search" role="search">
                <input type="hidden" name="tab" value="invited" />
                <label for="invitation-search">"Search invitations by email"</label>
                <input id="invitation-search" type="search" name="q" maxlength=crate::ui::list::SEARCH_MAX_CHARS value=move || search.get() />
                <button type="submit" class="button">"Search"</button>
            </form>
            <a class="button primary" href=modal_href("invite", &[("tab", "invited")])>"Invite user"</a>
        </div>
        <FormAlert message=form_error(resend.value()) />
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let organization_id = organization_id.clone();
                Suspend::new(async move {
                    match invitations.await {
                        Ok(Some(list)) => view! {
                            <p>{count_label(list.total, "pending invitation")}</p>
                            <InvitationTable rows=list.invitations organization_id resend />
                            <Pagination page=list.page pages=list.pages href=page_href />
                        }
                            .into_any(),
                        Ok(None) => view! { <p>"You do not belong to any organization yet."</p> }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn InvitationTable(
    rows: Vec<InvitationRow>,
    organization_id: String,
    resend: ServerAction<ResendInvitation>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p>"No pending invitations. Use Invite user to invite someone by email."</p> }
            .into_any();
    }
    view! {
        <table class="table">
            <caption class="visually-hidden">"Invited users"</caption>
            <thead>
                <tr>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Invited by"</th>
                    <th scope="col">"Sent"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|row| {
                        let id = row.id.to_string();
                        let revoke_href = modal_href("revoke", &[("tab", "invited"), ("invitation", &id)]);
                        let about = format!(" the invitation to {}", row.email);
                        let about_revoke = about.clone();
                        let organization_id = organization_id.clone();
                        let status = if row.expired {
                            view! { <span class="badge warning">"Expired"</span> " " {format!("on {}", date_of(&row.expires_at))}
                            }.into_any()
                        } else {
                            view! { <span class="badge">"Pending"</span> " " {format!("expires {}", date_of(&row.expires_at))}
                            }.into_any()
                        };
                        view! {
                            <tr>
                                <th scope="row">{row.email.clone()}</th>
                                <td>{row.role.label()}</td>
                                <td>{status}</td>
                                <td>{row.invited_by.clone().unwrap_or_else(|| "—".into())}</td>
                                <td>{date_of(&row.sent_at)}</td>
                                <td class="row-actions">
                                    <ActionForm action=resend>
                                        <input type="hidden" name="organization_id" value=organization_id />
                                        <input type="hidden" name="invitation_id" value=id />
                                        <button type="submit" class="button small" disabled=move || resend.pending().get()>
                                            "Resend"
                                            <span class="visually-hidden">{about}</span>
                                        </button>
                                    </ActionForm>
                                    <a class="button small danger" href=revoke_href>
                                        "Revoke"
                                        <span class="visually-hidden">{about_revoke}</span>
                                    </a>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// Invite user: an email address and a role (member unless chosen otherwise).
#[component]
pub fn InviteUserModal(
    members: Resource<Result<Option<MembersPage>, AppError>>,
    invite: ServerAction<InviteUser>,
) -> impl IntoView {
    let cancel = close_href();
    let result = invite.value();
    view! {
        <Modal name="invite" title="Invite user">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let Ok(Some(page)) = members.await else {
                        return view! { <ModalCancel href=cancel /> }.into_any();
                    };
                    let roles: Vec<Role> = Role::ALL
                        .into_iter()
                        .rev()
                        .filter(|role| *role != Role::Owner || page.your_role == Role::Owner)
                        .collect();
                    view! {
                        <p>{format!("They get an email with a link to join {}. The link works for 7 days.", page.organization_name)}</p>
                        <KeepTypedValues><ActionForm action=invite>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=page.organization_id.clone() />
                            <TextField
                                label="Email address"
                                name="email"
                                input_type="email"
                                autocomplete="off"
                                maxlength=EMAIL_MAX_CHARS
                                required=true
                                error=field_error(result, "email")
                            />
                            <div class="field">
                                <label for="field-invite-role">"Role"</label>
                                <select id="field-invite-role" name="role">
                                    {roles.into_iter().map(|role| view! {
                                        <option value=role.as_str() selected=role == Role::Member>{role.label()}</option>
                                    }).collect_view()}
                                </select>
                                {move || field_error(result, "role").get().map(|m| view! { <p class="field-error">{m}</p> })}
                            </div>
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Invite" busy_label="Inviting…" />
                            </div>
                        </ActionForm></KeepTypedValues>
                    }
                        .into_any()
                })}
            </Suspense>
        </Modal>
    }
}

/// The confirmation before revoking an invitation (`?invitation=ID`).
#[component]
pub fn RevokeInvitationModal(
    members: Resource<Result<Option<MembersPage>, AppError>>,
    invitations: InvitationsResource,
    revoke: ServerAction<RevokeInvitation>,
) -> impl IntoView {
    let cancel = close_href();
    let result = revoke.value();
    let query = use_query_map();
    let chosen = move || query.with(|q| q.get("invitation").and_then(|i| i.parse::<i32>().ok()));
    view! {
        <Modal name="revoke" title="Revoke invitation">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let page = members.await.ok().flatten();
                    let list = invitations.await.ok().flatten();
                    let row = list.and_then(|l| l.invitations.into_iter().find(|i| Some(i.id) == chosen()));
                    let (Some(page), Some(row)) = (page, row) else {
                        return view! { <p>"That invitation is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    view! {
                        <p>{format!("The link sent to {} stops working; it will say the invitation was revoked.", row.email)}</p>
                        <ActionForm action=revoke>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=page.organization_id.clone() />
                            <input type="hidden" name="invitation_id" value=row.id.to_string() />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Revoke" busy_label="Revoking…" class="button danger" />
                            </div>
                        </ActionForm>
                    }
                        .into_any()
                })}
            </Suspense>
        </Modal>
    }
}

/// `/invitation?token=…`: what the emailed link opens, signed in or not.
#[component]
pub fn InvitationPage() -> impl IntoView {
    let query = use_query_map();
    let token = Memo::new(move |_| query.with(|q| q.get("token").unwrap_or_default()));
    let link = Resource::new(move || token.get(), show_invitation);
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let accept = ServerAction::<AcceptInvitation>::new();
    let decline = ServerAction::<DeclineInvitation>::new();
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <Title text="Invitation · Orgdesk" />
        <Suspense fallback=|| view! { <AuthCard title="Invitation"><p>"Loading…"</p></AuthCard> }>
            {move || Suspend::new(async move {
                let token = token.get_untracked();
                match link.await {
                    Ok(Some(link)) => view! { <InvitationView link token accept decline log_out /> }.into_any(),
                    Ok(None) => view! {
                        <AuthCard title="This invitation link is not valid">
                            <p>"The link may be incomplete, or the invitation was sent again with a new link. Use the link in the most recent invitation email, or ask the organization to resend it."</p>
                            <a href="/">"Go to the dashboard"</a>
                        </AuthCard>
                    }
                        .into_any(),
                    Err(err) => view! {
                        <AuthCard title="Invitation"><p role="alert">{err.to_string()}</p></AuthCard>
                    }
                        .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn InvitationView(
    link: InvitationLink,
    token: String,
    accept: ServerAction<AcceptInvitation>,
    decline: ServerAction<DeclineInvitation>,
    log_out: ServerAction<LogOut>,
) -> impl IntoView {
    let inviter = link
        .inviter_name
        .clone()
        .unwrap_or_else(|| "Someone".into());
    let org = link.organization_name.clone();
    let here = format!("/invitation?token={}", urlencode(&token));
    match (link.state, link.visitor.clone()) {
        (LinkState::Revoked, _) => view! {
            <AuthCard title="This invitation was revoked">
                <p>{format!("The invitation to join {org} was withdrawn. Ask {inviter} for a new one if you still need access.")}</p>
                <a href="/">"Go to the dashboard"</a>
            </AuthCard>
        }
            .into_any(),
        (LinkState::Expired, _) => view! {
            <AuthCard title="This invitation has expired">
                <p>{format!("Invitations work for 7 days. Ask {inviter} to resend the invitation to {org}.")}</p>
                <a href="/">"Go to the dashboard"</a>
            </AuthCard>
        }
            .into_any(),
        (LinkState::Accepted, _) => view! {
            <AuthCard title="This invitation was already accepted">
                <p>{format!("{} already joined {org}.", link.email)}</p>
                <a href="/organizations">"Go to your organizations"</a>
            </AuthCard>
        }
            .into_any(),
        (LinkState::Declined, _) => view! {
            <AuthCard title="This invitation was declined">
                <p>{format!("Ask {inviter} for a new invitation to {org} if you changed your mind.")}</p>
                <a href="/">"Go to the dashboard"</a>
            </AuthCard>
        }
            .into_any(),
        (LinkState::Pending, Visitor::SignedOut { has_account }) => {
            let signup = format!(
                "/signup?invitation={}&next={}",
                urlencode(&token),
                urlencode(&here)
            );
            let login = format!(
                "/login?email={}&next={}",
                urlencode(&link.email),
                urlencode(&here)
            );
            let (first, second) = if has_account {
                (("Log in to accept", login), ("Create an account", signup))
            } else {
                (("Create an account", signup), ("Log in", login))
            };
            view! {
                <AuthCard title="You're invited">
                    <p>{format!("{inviter} invited {} to join {org} as {}.", link.email, link.role.label())}</p>
                    <p>"To accept, create an Orgdesk account with that address or log in to yours."</p>
                    <div class="actions stacked">
                        <a class="button primary" href=first.1>{first.0}</a>
                        <a class="button" href=second.1>{second.0}</a>
                    </div>
                </AuthCard>
            }
                .into_any()
        }
        (LinkState::Pending, Visitor::SomeoneElse { signed_in_as }) => {
            let then = format!(
                "/login?email={}&next={}",
                urlencode(&link.email),
                urlencode(&here)
            );
            view! {
                <AuthCard title="This invitation is for another address">
                    <p>
                        {format!("{inviter} invited ")}<strong>{link.email.clone()}</strong>
                        {format!(" to join {org}. You are logged in as ")}<strong>{signed_in_as}</strong>"."
                    </p>
                    <p>"Only that address can accept it. Log out, then log in or create an account with it."</p>
                    <ActionForm action=log_out>
                        <input type="hidden" name="next" value=then />
                        <SubmitButton label="Log out and switch account" busy_label="Logging out…" />
                    </ActionForm>
                    <p><a href="/">"Stay logged in and go to the dashboard"</a></p>
                </AuthCard>
            }
                .into_any()
        }
        (LinkState::Pending, Visitor::Invitee) => {
            let accept_result = accept.value();
            let decline_result = decline.value();
            let title_text = format!("Welcome to {org}");
            let decline_token = token.clone();
            view! {
                <main class="auth-page" id="main">
                    <div class="auth-card">
                        <p class="brand">"Orgdesk"</p>
                        <h1>{title_text}</h1>
                        <p>{format!("{inviter} invited you to join {org} as {}.", link.role.label())}</p>
                        <FormAlert message=form_error(accept_result) />
                        <FormAlert message=form_error(decline_result) />
                        <div class="actions">
                            <ActionForm action=decline>
                                <input type="hidden" name="token" value=decline_token />
                                <SubmitButton label="Decline" busy_label="Declining…" class="button" />
                            </ActionForm>
                            <ActionForm action=accept>
                                <input type="hidden" name="token" value=token />
                                <SubmitButton label="Accept Invitation" busy_label="Joining…" />
                            </ActionForm>
                        </div>
                    </div>
                </main>
            }
                .into_any()
        }
    }
}

/// The Welcome page's list of pending invitations to the user's (verified) address, each
/// with Accept Invitation; nothing when there are none.
#[component]
pub fn InvitationsForMe() -> impl IntoView {
    let invitations = Resource::new(|| (), |_| my_invitations());
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let accept = ServerAction::<AcceptMyInvitation>::new();
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let list = invitations.await.unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <section class="card" aria-labelledby="invitations-for-me">
                        <h2 id="invitations-for-me">"Invitations for you"</h2>
                        <FormAlert message=form_error(accept.value()) />
                        <table class="table">
                            <caption class="visually-hidden">"Pending invitations to your email address"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Organization"</th>
                                    <th scope="col">"Invited by"</th>
                                    <th scope="col">"Role"</th>
                                    <th scope="col">"Expires"</th>
                                    <th scope="col">"Action"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|invite| {
                                    let about = format!(" to {}", invite.organization_name);
                                    view! {
                                        <tr>
                                            <th scope="row">{invite.organization_name.clone()}</th>
                                            <td>{invite.inviter_name.clone().unwrap_or_else(|| "—".into())}</td>
                                            <td>{invite.role.label()}</td>
                                            <td>{date_of(&invite.expires_at)}</td>
                                            <td>
                                                <ActionForm action=accept>
                                                    <input type="hidden" name="invitation_id" value=invite.id.to_string() />
                                                    <button type="submit" class="button primary small" disabled=move || accept.pending().get()>
                                                        "Accept Invitation"
                                                        <span class="visually-hidden">{about}</span>
                                                    </button>
                                                </ActionForm>
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </section>
                })
            })}
        </Transition>
    }
}
