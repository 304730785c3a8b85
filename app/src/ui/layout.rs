//! The dashboard shell: a left navigation menu with the signed-in user's name at its
//! bottom, which opens the user menu; the page itself fills the rest.

use leptos::prelude::*;
use leptos_router::{
    components::{Outlet, Redirect},
    hooks::use_location,
};

use crate::{
    accounts::api::{current_user, LogOut, UserView},
    error::AppError,
};

/// The signed-in user, loaded once by the shell and shared with its pages.
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<UserView>, AppError>>);

/// The layout of every signed-in page.
#[component]
pub fn DashboardLayout() -> impl IntoView {
    let user = Resource::new(|| (), |_| current_user());
    provide_context(CurrentUser(user));
    let location = use_location();

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <div class="dashboard">
            <nav class="sidebar" aria-label="Main">
                <a class="brand" href="/">"Orgdesk"</a>
                <ul class="nav-links">
                    <li>
                        <a href="/">"Welcome"</a>
                    </li>
                </ul>
                <Transition fallback=|| view! { <p class="user-menu-loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match user.await {
                            Ok(Some(user)) => view! { <UserMenu user /> }.into_any(),
                            Ok(None) | Err(AppError::Unauthenticated) => {
                                // The session ended while the page was open.
                                let next = location.pathname.get_untracked();
                                let path = format!("/login?next={}", urlencode(&next));
                                view! { <Redirect path /> }.into_any()
                            }
                            Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </nav>
            <main id="main" class="content" tabindex="-1">
                <Outlet />
            </main>
        </div>
    }
}

/// The user's name; opens User Settings and Log out. A `<details>` so it opens with the
/// keyboard and without JavaScript.
#[component]
fn UserMenu(user: UserView) -> impl IntoView {
    let log_out = ServerAction::<LogOut>::new();
    view! {
        <details class="user-menu">
            <summary>
                <span class="visually-hidden">"User menu for "</span>
                {user.name}
            </summary>
            <ActionForm action=log_out>
                <ul role="menu" aria-label="User menu">
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
            </ActionForm>
        </details>
    }
}

/// Percent-encodes a value for a query parameter.
pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
