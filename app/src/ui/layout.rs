//! The dashboard shell: a left navigation menu with the signed-in user's name at its
//! bottom, which opens the user menu; the page itself fills the rest.

use leptos::prelude::*;
use leptos_router::{
    components::{Outlet, Redirect},
    hooks::use_location,
};

use crate::{
    accounts::api::{LogOut, UserView},
    accounts::sign_up::ResendVerification,
    ui::{
        form::{form_error, FormAlert, SubmitButton},
        url::urlencode,
    },
};

/// The signed-in user, as the session middleware resolved it for this request, shared by
/// the shell with its pages. Pages render only on the server (islands), so this is plain
/// data: no resource, no suspense, nothing serialized for the browser.
#[derive(Clone)]
pub struct CurrentUser(pub Option<UserView>);

impl CurrentUser {
    fn of_this_request() -> Self {
        #[cfg(feature = "ssr")]
        {
            CurrentUser(crate::server::viewer().map(UserView::from))
        }
        #[cfg(not(feature = "ssr"))]
        {
            CurrentUser(None)
        }
    }
}

/// The layout of every signed-in page. `organization` shows the organization the user acts
/// on above the links (given by the caller, so this shell knows no feature).
#[component]
pub fn DashboardLayout(#[prop(into)] organization: ViewFn) -> impl IntoView {
    let CurrentUser(user) = CurrentUser::of_this_request();
    provide_context(CurrentUser(user.clone()));
    let resend = ServerAction::<ResendVerification>::new();
    let location = use_location();

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="dashboard">
            <nav class="sidebar" aria-label="Main">
                <a class="brand" href="/">"Orgdesk"</a>
                {organization.run()}
                <ul class="nav-links">
                    <li>
                        <a href="/">"Welcome"</a>
                    </li>
                    <li>
                        <a href="/organization">"Overview"</a>
                    </li>
                    <li>
                        <a href="/directory">"Directory"</a>
                    </li>
                </ul>
                {match user.clone() {
                    Some(user) => view! { <UserMenu name=user.name /> }.into_any(),
                    None => {
                        // The middleware sends signed-out visits to the login page first;
                        // this covers a dashboard route it would not know as such.
                        let next = location.pathname.get_untracked();
                        let path = format!("/login?next={}", urlencode(&next));
                        view! { <Redirect path /> }.into_any()
                    }
                }}
            </nav>
            <main id="main" class="content" tabindex="-1">
                {user
                    .as_ref()
                    .and_then(|u| u.two_factor_notice.clone())
                    .map(|notice| view! { <TwoFactorBanner notice /> })}
                {user
                    .filter(|u| !u.email_verified)
                    .map(|user| view! { <VerifyEmailBanner user resend /> })}
                <Outlet />
            </main>
        </div>
    }
}

/// The current organization requires two-factor authentication and the user has none: by
/// when to set it up, or that its pages stay closed until they do.
#[component]
fn TwoFactorBanner(notice: crate::accounts::api::TwoFactorNotice) -> impl IntoView {
    let text = if notice.blocked {
        format!(
            "{} requires two-factor authentication. You keep your membership, but cannot open {} until you set up an authenticator app.",
            notice.organization, notice.organization
        )
    } else {
        format!(
            "{} requires two-factor authentication. Set up an authenticator app by {} to keep access.",
            notice.organization,
            crate::ui::list::time_of(&notice.deadline)
        )
    };
    view! {
        <section class="banner" aria-label="Two-factor authentication required">
            <p>{text}</p>
            <a class="button small" href="/settings#two-factor-heading">"Set up two-factor authentication"</a>
        </section>
    }
}

/// Until the address is verified: what to do, and a way to get a new link.
#[component]
fn VerifyEmailBanner(user: UserView, resend: ServerAction<ResendVerification>) -> impl IntoView {
    view! {
        <section class="banner" aria-label="Email verification">
            <p>
                "Please verify your email address " <strong>{user.email}</strong>
                ": open the link we sent you. Until then you cannot invite others."
            </p>
            <FormAlert message=form_error(resend.value()) />
            <ActionForm action=resend>
                <SubmitButton label="Send the link again" busy_label="Sending…" class="button small" />
            </ActionForm>
        </section>
    }
}

/// The user's name; opens User Settings and Log out. A `<details>` so it opens with the
/// keyboard and without JavaScript; as an island, the arrow keys, Home and End move between
/// the items and Escape closes it, as the ARIA menu pattern expects.
#[island]
fn UserMenu(name: String) -> impl IntoView {
    use server_fn::ServerFn;

    let details = NodeRef::<leptos::html::Details>::new();
    let menu = NodeRef::<leptos::html::Ul>::new();
    let summary = NodeRef::<leptos::html::Summary>::new();

    let on_toggle = move |_| {
        if let (Some(details), Some(menu)) = (details.get(), menu.get()) {
            if details.open() {
                focus_item(&menu, "Home");
            }
        }
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let Some(menu) = menu.get() else { return };
        if ev.key() == "Escape" {
            ev.prevent_default();
            if let Some(details) = details.get() {
                details.set_open(false);
            }
            if let Some(summary) = summary.get() {
                let _ = summary.focus();
            }
        } else if focus_item(&menu, &ev.key()) {
            ev.prevent_default();
        }
    };

    view! {
        <details class="user-menu" node_ref=details on:toggle=on_toggle>
            <summary node_ref=summary>
                <span class="visually-hidden">"User menu for "</span>
                {name}
            </summary>
            <form method="post" action=LogOut::url()>
                <ul role="menu" aria-label="User menu" node_ref=menu on:keydown=on_keydown>
                    <li role="none">
                        <a role="menuitem" href="/organizations">
                            "Manage Organizations"
                        </a>
                    </li>
                    <li role="none">
                        <a role="menuitem" href="/organization/profile">
                            "Organization Profile"
                        </a>
                    </li>
                    <li role="none">
                        <a role="menuitem" href="/access-control">
                            "Access Control"
                        </a>
                    </li>
                    <li role="none">
                        <a role="menuitem" href="/settings">
                            "User Settings"
                        </a>
                    </li>
                    <li role="none">
                        <button type="submit" role="menuitem" class="menu-button">
                            "Log out"
                        </button>
                    </li>
                </ul>
            </form>
        </details>
    }
}

/// Moves focus among the menu's items for a navigation key; false for any other key.
fn focus_item(menu: &web_sys::HtmlElement, key: &str) -> bool {
    use wasm_bindgen::JsCast;

    let Ok(nodes) = menu.query_selector_all("[role=menuitem]") else {
        return false;
    };
    let items: Vec<web_sys::HtmlElement> = (0..nodes.length())
        .filter_map(|i| nodes.item(i))
        .filter_map(|node| node.dyn_into().ok())
        .collect();
    if items.is_empty() {
        return false;
    }
    let last = items.len() - 1;
    let active = leptos::prelude::document().active_element();
    let current = items
        .iter()
        .position(|item| active.as_ref() == Some(item.unchecked_ref()));
    let target = match key {
        "ArrowDown" => current.map_or(0, |i| if i == last { 0 } else { i + 1 }),
        "ArrowUp" => current.map_or(last, |i| if i == 0 { last } else { i - 1 }),
        "Home" => 0,
        "End" => last,
        _ => return false,
    };
    let _ = items[target].focus();
    true
}

/// The centred card the signed-out pages sit in.
#[component]
pub fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <main class="auth-page" id="main">
            <div class="auth-card">
                <p class="brand">"Orgdesk"</p>
                <h1>{title}</h1>
                {children()}
            </div>
        </main>
    }
}
