//! The Users tab's modals, each with its own URL (`?member=`): Quick View, Edit role (with
//! its role picker island), Remove, and Leave organization.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{
    api::{ChangeRole, LeaveOrganization, RemoveMember},
    roles::{Action, Role},
    views::{MemberRow, MembersPage},
};
use crate::{
    error::AppError,
    ui::{
        form::{field_error, form_error, FormAlert, SubmitButton},
        list::date_of,
        modal::{close_href, modal_href, Modal, ModalCancel},
    },
};

pub type MembersResource = Resource<Result<Option<MembersPage>, AppError>>;

/// The member the open modal is about (`?member=`), from the loaded page of members.
fn chosen_member(list: MembersResource) -> impl Fn() -> Option<(MembersPage, MemberRow)> + Copy {
    let query = use_query_map();
    move || {
        let id = query.with(|q| q.get("member").and_then(|m| m.parse::<i32>().ok()))?;
        let page = list.get()?.ok()??;
        let row = page.members.iter().find(|m| m.membership_id == id)?.clone();
        Some((page, row))
    }
}

/// Quick View: the user's details, and Remove for those who may.
#[component]
pub fn QuickViewModal(list: MembersResource) -> impl IntoView {
    let cancel = close_href();
    let chosen = chosen_member(list);
    view! {
        <Modal name="quick-view" title="Quick View">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let _ = list.await;
                    let Some((page, member)) = chosen() else {
                        return view! { <p>"That user is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    let id = member.membership_id.to_string();
                    let may_remove = page.your_role.allows(Action::RemoveUsers)
                        && !(member.role == Role::Owner && page.your_role != Role::Owner)
                        && !member.is_you;
                    view! {
                        <dl class="facts">
                            <dt>"Name"</dt><dd>{member.name.clone()}</dd>
                            <dt>"Email"</dt><dd>{member.email.clone()}</dd>
                            <dt>"Role"</dt><dd>{member.role.label()}</dd>
                            {member.two_factor.map(|on| view! { <dt>"Two-factor authentication"</dt><dd>{if on { "On" } else { "Off" }}</dd> })}
                            <dt>"Joined"</dt><dd>{date_of(&member.joined_at)}</dd>
                            <dt>"Last login"</dt>
                            <dd>{member.last_login_at.as_deref().map(date_of).unwrap_or_else(|| "Never".into())}</dd>
                        </dl>
                        <div class="actions">
                            <ModalCancel href=cancel />
                            {may_remove.then(|| view! {
                                <a class="button danger" href=modal_href("remove-member", &[("tab", "users"), ("member", &id)])>
                                    "Remove"
                                </a>
                            })}
                        </div>
                    }
                        .into_any()
                })}
            </Suspense>
        </Modal>
    }
}

/// Edit roles: a role drop-down, and what the change gains and loses before saving.
#[component]
pub fn EditRoleModal(list: MembersResource, change: ServerAction<ChangeRole>) -> impl IntoView {
    let cancel = close_href();
    let chosen = chosen_member(list);
    let result = change.value();
    view! {
        <Modal name="edit-role" title="Edit roles">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let _ = list.await;
                    let Some((page, member)) = chosen() else {
                        return view! { <p>"That user is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    let current = member.role;
                    view! {
                        <p>{format!("{} is now {}.", member.name, current.label())}</p>
                        <ActionForm action=change>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=page.organization_id.clone() />
                            <input type="hidden" name="membership_id" value=member.membership_id.to_string() />
                            <RolePicker member_name=member.name.clone() current>
                                {move || field_error(result, "role").get().map(|m| view! { <p class="field-error">{m}</p> })}
                            </RolePicker>
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Save" busy_label="Saving…" />
                            </div>
                        </ActionForm>
                    }
                        .into_any()
                })}
            </Suspense>
        </Modal>
    }
}

/// The confirmation before removing someone.
#[component]
pub fn RemoveMemberModal(
    list: MembersResource,
    remove: ServerAction<RemoveMember>,
) -> impl IntoView {
    let cancel = close_href();
    let chosen = chosen_member(list);
    let result = remove.value();
    view! {
        <Modal name="remove-member" title="Remove user">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let _ = list.await;
                    let Some((page, member)) = chosen() else {
                        return view! { <p>"That user is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    view! {
                        <p>{format!("{} ({}) loses access to {}.", member.name, member.email, page.organization_name)}</p>
                        {page.sso_provider.clone().map(|provider| view! {
                            <p class="notice-info">{format!(
                                "{} is the source of truth for this organization: if they can still sign in there, their next sign-in adds them again. Remove them at {} too.",
                                provider, provider
                            )}</p>
                        })}
                        <ActionForm action=remove>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=page.organization_id.clone() />
                            <input type="hidden" name="membership_id" value=member.membership_id.to_string() />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Remove" busy_label="Removing…" class="button danger" />
                            </div>
                        </ActionForm>
                    }
                        .into_any()
                })}
            </Suspense>
        </Modal>
    }
}

/// The confirmation before leaving the organization.
#[component]
pub fn LeaveModal(list: MembersResource, leave: ServerAction<LeaveOrganization>) -> impl IntoView {
    let cancel = close_href();
    let result = leave.value();
    view! {
        <Modal name="leave" title="Leave organization">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let Ok(Some(page)) = list.await else {
                        return view! { <ModalCancel href=cancel /> }.into_any();
                    };
                    view! {
                        <p>{format!("You will lose access to {}.", page.organization_name)}</p>
                        <ActionForm action=leave>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=page.organization_id.clone() />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Leave" busy_label="Leaving…" class="button danger" />
                            </div>
                        </ActionForm>
                    }
                        .into_any()
                })}
            </Suspense>
        </Modal>
    }
}

/// The role drop-down (its error comes as `children`) and what the chosen role gains and
/// loses against `current`; as an island, the summary follows the choice before saving.
#[island]
fn RolePicker(member_name: String, current: Role, children: Children) -> impl IntoView {
    let picked = RwSignal::new(None::<Role>);
    let diff = move || {
        let new = picked.get().unwrap_or(current);
        let gained: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| new.allows(*a) && !current.allows(*a))
            .collect();
        let lost: Vec<Action> = Action::ALL
            .into_iter()
            .filter(|a| !new.allows(*a) && current.allows(*a))
            .collect();
        (gained, lost)
    };
    view! {
        <div class="field">
            <label for="field-role">"Role"</label>
            <select
                id="field-role"
                name="role"
                aria-describedby="role-change-summary"
                on:change=move |ev| picked.set(Role::parse(&event_target_value(&ev)))
            >
                {Role::ALL
                    .iter()
                    .map(|role| {
                        view! {
                            <option value=role.as_str() selected=*role == current>
                                {role.label()}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {children()}
        </div>
        <div id="role-change-summary" aria-live="polite">
            {move || {
                let (gained, lost) = diff();
                if gained.is_empty() && lost.is_empty() {
                    view! { <p>"Choose a role to see what changes."</p> }.into_any()
                } else {
                    let plural = if gained.len() == 1 { "" } else { "s" };
                    view! {
                        <p>
                            {format!(
                                "{member_name} gains {} permission{plural} and loses {}.",
                                gained.len(),
                                lost.len(),
                            )}
                        </p>
                        <details>
                            <summary>"Show the permissions"</summary>
                            <ul>
                                {gained
                                    .into_iter()
                                    .map(|a| view! { <li>{format!("Gains: {}", a.description())}</li> })
                                    .collect_view()}
                                {lost
                                    .into_iter()
                                    .map(|a| view! { <li>{format!("Loses: {}", a.description())}</li> })
                                    .collect_view()}
                            </ul>
                        </details>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}
