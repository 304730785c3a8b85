//! User menu → Access Control: the Users tab (members, search, Quick View, Edit roles,
//! Remove), the Invited Users tab (see `invitations`), the Roles tab (the permission
//! matrix), the Audit Log tab (see `audit`), and leaving the organization.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{
    api::{list_members, ChangeRole, LeaveOrganization, RemoveMember},
    modals::{EditRoleModal, LeaveModal, QuickViewModal, RemoveMemberModal},
    roles::{Action, Role},
    views::MembersPage,
};
use crate::{
    audit::{api::list_audit_events, pages::AuditLogTab},
    invitations::{
        api::{list_invitations, InviteUser, ResendInvitation, RevokeInvitation},
        pages::{InviteUserModal, InvitedUsersTab, RevokeInvitationModal},
    },
    ui::{
        list::{count_label, date_of, Pagination},
        modal::modal_href,
        tabs::{selected_tab, TabList, TabPanel},
        url::urlencode,
    },
};

const MEMBER_TABS: &[(&str, &str)] = &[("users", "Users")];
const ADMIN_TABS: &[(&str, &str)] = &[
    ("users", "Users"),
    ("invited", "Invited Users"),
    ("roles", "Roles"),
];
const OWNER_TABS: &[(&str, &str)] = &[
    ("users", "Users"),
    ("invited", "Invited Users"),
    ("roles", "Roles"),
    ("audit", "Audit Log"),
];
// SSO organizations have no Invited Users tab: their members come from the provider.
const ADMIN_SSO_TABS: &[(&str, &str)] = &[("users", "Users"), ("roles", "Roles")];
const OWNER_SSO_TABS: &[(&str, &str)] = &[
    ("users", "Users"),
    ("roles", "Roles"),
    ("audit", "Audit Log"),
];
const TAB_KEYS: &[&str] = &["users", "invited", "roles", "audit"];

/// The tabs a role sees (the server refuses the others' data anyway).
fn tabs_for(role: Role, sso: bool) -> &'static [(&'static str, &'static str)] {
    match (
        role.allows(Action::ReviewAuditEvents),
        role.allows(Action::ManageInvitations),
        sso,
    ) {
        (true, _, false) => OWNER_TABS,
        (true, _, true) => OWNER_SSO_TABS,
        (false, true, false) => ADMIN_TABS,
        (false, true, true) => ADMIN_SSO_TABS,
        _ => MEMBER_TABS,
    }
}

#[component]
pub fn AccessControlPage() -> impl IntoView {
    let query = use_query_map();
    let (search, page) = crate::ui::list::search_and_page();
    let kind = Memo::new(move |_| query.with(|q| q.get("kind").unwrap_or_default()));
    let tab = selected_tab(TAB_KEYS);
    // Made here, outside every Suspend (leptos-rs/leptos#3595).
    let change = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let leave = ServerAction::<LeaveOrganization>::new();
    let invite = ServerAction::<InviteUser>::new();
    let resend = ServerAction::<ResendInvitation>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    // The search box and page belong to the selected tab.
    let on_tab = move |key: &str, value: Memo<String>| {
        if tab.get() == key {
            value.get()
        } else {
            String::new()
        }
    };
    let page_on = move |key: &str| if tab.get() == key { page.get() } else { 1 };
    // A Previous or Next link of the Users tab names where its page starts.
    let cursor = move |name: &str| {
        if tab.get() == "users" {
            query.with(|q| q.get(name))
        } else {
            None
        }
    };
    let list = Resource::new(
        move || {
            (
                on_tab("users", search),
                page_on("users"),
                cursor("after"),
                cursor("before"),
                cursor("two_factor"),
            )
        },
        |(q, page, after, before, two_factor)| list_members(q, page, after, before, two_factor),
    );
    let invitations = Resource::new(
        move || {
            (
                tab.get() == "invited",
                on_tab("invited", search),
                page_on("invited"),
            )
        },
        |(shown, q, page)| async move {
            if shown {
                list_invitations(q, page).await
            } else {
                Ok(None)
            }
        },
    );
    let audit = Resource::new(
        move || (tab.get() == "audit", kind.get(), page_on("audit")),
        |(shown, kind, page)| async move {
            if shown {
                list_audit_events(kind, page).await
            } else {
                Ok(None)
            }
        },
    );
    let saved = move || {
        query.with(|q| match q.get("saved").as_deref() {
            Some("role") => Some("The role was changed.".to_string()),
            Some("removed") => Some("The user was removed from the organization.".to_string()),
            Some("invited") => Some(
                "The invitation was sent. It shows as Pending until it is accepted.".to_string(),
            ),
            Some("resent") => Some(
                "The invitation was sent again with a new link; the old link no longer works."
                    .to_string(),
            ),
            Some("revoked") => Some("The invitation was revoked.".to_string()),
            _ => None,
        })
    };

    // Making someone an owner needs a recent proof; owners see the box asking for it. (Who
    // is an owner is known only once the list loads; asking is cheap, so it always asks.)
    let proof = crate::accounts::two_factor::pages::ProofBannerState::new(Signal::from(true));
    view! {
        <Title text="Access Control · Orgdesk" />
        <h1>"Access Control"</h1>
        {move || saved().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(Some(members)) => {
                        let tabs = tabs_for(members.your_role, members.sso_provider.is_some());
                        view! {
                            {(members.your_role == Role::Owner).then(|| view! {
                                <crate::accounts::two_factor::pages::ProofBanner state=proof next="/access-control" />
                            })}
                            <TabList label="Access Control" tabs selected=tab />
                            {move || {
                                let members = members.clone();
                                let shown = tabs.iter().any(|(key, _)| *key == tab.get());
                                match if shown { tab.get() } else { "users" } {
                                    "invited" => view! {
                                        <TabPanel key="invited"><InvitedUsersTab members invitations search resend /></TabPanel>
                                    }.into_any(),
                                    "roles" => view! { <TabPanel key="roles"><RolesTable /></TabPanel> }.into_any(),
                                    "audit" => view! { <TabPanel key="audit"><AuditLogTab events=audit kind /></TabPanel> }.into_any(),
                                    _ => view! { <TabPanel key="users"><UsersTab members search /></TabPanel> }.into_any(),
                                }
                            }}
                        }
                            .into_any()
                    }
                    Ok(None) => view! { <p>"You do not belong to any organization yet."</p> }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <QuickViewModal list />
        <EditRoleModal list change />
        <RemoveMemberModal list remove />
        <LeaveModal list leave />
        <InviteUserModal members=list invite />
        <RevokeInvitationModal members=list invitations revoke />
    }
}

#[component]
fn UsersTab(members: MembersPage, search: Memo<String>) -> impl IntoView {
    let your_role = members.your_role;
    let (page, next_cursor, previous_cursor) = (
        members.page,
        members.next_cursor.clone(),
        members.previous_cursor.clone(),
    );
    // Next and Previous start from this page's last and first rows; page 1 needs no cursor.
    let two_factor = members.two_factor.clone();
    let filter = match two_factor.as_str() {
        "" => String::new(),
        value => format!("&two_factor={value}"),
    };
    let page_href = move |target: u64| {
        let q = search.get_untracked();
        let cursor = match (target > page, target) {
            (true, _) => next_cursor.as_deref().map(|c| ("after", c)),
            (false, 1) => None,
            (false, _) => previous_cursor.as_deref().map(|c| ("before", c)),
        };
        let cursor = cursor
            .map(|(name, value)| format!("&{name}={}", urlencode(value)))
            .unwrap_or_default();
        format!(
            "/access-control?tab=users&q={}{filter}&page={target}{cursor}",
            urlencode(&q)
        )
    };
    view! {
        <form method="get" action="/access-control" class="search" role="search">
            <input type="hidden" name="tab" value="users" />
            <label for="member-search">"Search users by name or email"</label>
            <input id="member-search" type="search" name="q" maxlength=crate::ui::list::SEARCH_MAX_CHARS value=move || search.get() />
            {(your_role != Role::Member).then(|| view! {
                <label for="member-two-factor">"Two-factor authentication"</label>
                <select id="member-two-factor" name="two_factor">
                    <option value="" selected=two_factor.is_empty()>"Everyone"</option>
                    <option value="on" selected=two_factor == "on">"On"</option>
                    <option value="off" selected=two_factor == "off">"Off"</option>
                </select>
            })}
            <button type="submit" class="button">"Search"</button>
        </form>
        <p>{count_label(members.total, "user")}</p>
        <table class="table">
            <caption class="visually-hidden">"Active users"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Email"</th>
                    <th scope="col">"Role"</th>
                    {(your_role != Role::Member).then(|| view! { <th scope="col">"Two-factor"</th> })}
                    <th scope="col">"Joined"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {members
                    .members
                    .into_iter()
                    .map(|member| {
                        let id = member.membership_id.to_string();
                        let quick_view = modal_href("quick-view", &[("tab", "users"), ("member", &id)]);
                        let edit = modal_href("edit-role", &[("tab", "users"), ("member", &id)]);
                        view! {
                            <tr>
                                <th scope="row">
                                    {member.name.clone()}
                                    {member.is_you.then(|| view! { <span class="badge">"You"</span> })}
                                </th>
                                <td>{member.email.clone()}</td>
                                <td>{member.role.label()}</td>
                                {member.two_factor.map(|on| view! { <td>{if on { "On" } else { "Off" }}</td> })}
                                <td>{date_of(&member.joined_at)}</td>
                                <td>
                                    <details class="row-menu">
                                        <summary>
                                            "Actions"
                                            <span class="visually-hidden">{format!(" for {}", member.name)}</span>
                                        </summary>
                                        <ul role="menu" aria-label=format!("Actions for {}", member.name)>
                                            <li role="none">
                                                <a role="menuitem" href=quick_view>"Quick View"</a>
                                            </li>
                                            {your_role.allows(Action::ManageRoles).then(|| view! {
                                                <li role="none">
                                                    <a role="menuitem" href=edit>"Edit roles"</a>
                                                </li>
                                            })}
                                        </ul>
                                    </details>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        <Pagination page=members.page pages=members.pages href=page_href />
        <div class="page-footer-actions">
            <a class="button" href=modal_href("leave", &[("tab", "users")])>"Leave organization"</a>
        </div>
    }
}

/// The Roles tab: what each role may do.
#[component]
fn RolesTable() -> impl IntoView {
    view! {
        <table class="table">
            <caption class="visually-hidden">"Permissions of each role"</caption>
            <thead>
                <tr>
                    <th scope="col">"Permission"</th>
                    {Role::ALL.iter().rev().map(|role| view! { <th scope="col">{role.label()}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {Action::ALL
                    .iter()
                    .map(|action| view! {
                        <tr>
                            <th scope="row">{action.description()}</th>
                            {Role::ALL.iter().rev().map(|role| {
                                view! { <td>{if role.allows(*action) { "Yes" } else { "No" }}</td> }
                            }).collect_view()}
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
