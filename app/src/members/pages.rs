//! The members' tabs of Access Control (the page itself: `organizations::access_control`):
//! Users (members, search, Quick View, Edit roles, Remove, Leave) and Roles (the
//! permission matrix).

use leptos::prelude::*;

use super::{
    roles::{Action, Role},
    views::MembersPage,
};
use crate::ui::{
    list::{count_label, date_of, Pagination},
    modal::modal_href,
    url::urlencode,
};

#[component]
pub fn UsersTab(members: MembersPage, search: Memo<String>) -> impl IntoView {
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
pub fn RolesTable() -> impl IntoView {
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
