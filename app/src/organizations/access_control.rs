//! User menu → Access Control: one page of tabs over the current organization, put
//! together from the slices that own them: Users and Roles (`members`), Invited Users
//! (`invitations`) and the Audit Log (`audit`), with the modals each tab opens.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    audit::{
        api::list_audit_events,
        pages::{AuditFilters, AuditLogTab},
    },
    invitations::{
        api::{list_invitations, InviteUser, ResendInvitation, RevokeInvitation},
        pages::{InviteUserModal, InvitedUsersTab, RevokeInvitationModal},
    },
    members::{
        api::{list_members, ChangeRole, LeaveOrganization, RemoveMember},
        modals::{EditRoleModal, LeaveModal, QuickViewModal, RemoveMemberModal},
        pages::{RolesTable, UsersTab},
        roles::{Action, Role},
    },
    ui::tabs::{selected_tab, TabList, TabPanel},
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
    let filters = Memo::new(move |_| query.with(AuditFilters::from_query));
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
        move || (tab.get() == "audit", filters.get(), page_on("audit")),
        |(shown, filters, page)| async move {
            if shown {
                let AuditFilters {
                    kind,
                    actor,
                    from,
                    to,
                } = filters;
                list_audit_events(kind, actor, from, to, page).await
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
    let proof = crate::accounts::factors::pages::ProofBannerState::new(Signal::from(true));
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
                                <crate::accounts::factors::pages::ProofBanner state=proof next="/access-control" />
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
                                    "audit" => view! { <TabPanel key="audit"><AuditLogTab events=audit filters /></TabPanel> }.into_any(),
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
