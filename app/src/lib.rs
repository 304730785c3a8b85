//! Orgdesk's app: the reactive pages and the server functions behind them, cut by feature.
//! Built twice: with `ssr` into the axum server, with `hydrate` into the browser's wasm.
//! Islands mode: pages render on the server only; the `#[island]` components (user menu,
//! tabs, modals, submit buttons, role picker, logo upload, profile form) are all the wasm holds.

pub mod accounts;
pub mod addresses;
pub mod api_keys;
pub mod audit;
pub mod directory_sync;
pub mod domains;
pub mod error;
#[cfg(feature = "ssr")]
pub mod identity;
pub mod invitations;
pub mod kinds;
pub mod members;
pub mod organizations;
#[cfg(feature = "ssr")]
pub mod public_api;
#[cfg(feature = "ssr")]
pub mod server;
pub mod sso;
pub mod ui;
pub mod webhooks;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

use accounts::factors::pages::{AuthenticatorSetupPage, RecoveryCodesPage, TwoFactorSignInPage};
use accounts::pages::{LoginPage, UserSettingsPage};
use accounts::sign_up::pages::{SignupPage, VerifyEmailPage};
use invitations::pages::InvitationPage;
use organizations::access_control::AccessControlPage;
use organizations::components::CurrentOrganizationNav;
use organizations::pages::{
    DirectoryPage, ManageOrganizationsPage, OrganizationProfilePage, OverviewPage, WelcomePage,
};
use ui::layout::DashboardLayout;

/// Pages anyone may open; every other page needs a session (the server redirects to
/// the login page and back).
pub const PUBLIC_PAGES: &[&str] = &[
    "/login",
    "/login/two-factor",
    "/signup",
    "/directory",
    "/invitation",
    "/verify-email",
    "/forgot-password",
    "/reset-password",
    "/not-me",
];

/// Routes under these prefixes are public too: the SSO callback and the organizations'
/// login pages.
pub const PUBLIC_PREFIXES: &[&str] = &["/sso/"];

/// Whether a signed-out visitor may open `path`.
pub fn is_public_page(path: &str) -> bool {
    PUBLIC_PAGES.contains(&path) || PUBLIC_PREFIXES.iter().any(|p| path.starts_with(p))
}

/// Pages for signed-out visitors only; a signed-in visit goes to the dashboard.
pub const SIGNED_OUT_PAGES: &[&str] = &["/login", "/signup"];

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <AutoReload options=options.clone() />
                // The stylesheet's name carries its hash in release builds (hash-files).
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Title text="Orgdesk" />
        <Router>
            // Async: each page is rendered whole before it is sent, so it reads complete
            // with JavaScript off, and a redirect or status can still be set.
            <Routes fallback=NotFound>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/login/two-factor") view=TwoFactorSignInPage ssr=SsrMode::Async />
                <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async />
                <Route path=path!("/directory") view=DirectoryPage ssr=SsrMode::Async />
                <Route path=path!("/invitation") view=InvitationPage ssr=SsrMode::Async />
                <Route path=path!("/verify-email") view=VerifyEmailPage ssr=SsrMode::Async />
                <Route
                    path=path!("/forgot-password")
                    view=accounts::recovery::pages::ForgotPasswordPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=path!("/not-me")
                    view=accounts::factors::not_me::NotMePage
                    ssr=SsrMode::Async
                />
                <Route
                    path=path!("/reset-password")
                    view=accounts::recovery::pages::ResetPasswordPage
                    ssr=SsrMode::Async
                />
                <Route
                    path=path!("/sso/login/:organization_id")
                    view=sso::pages::OrganizationLoginPage
                    ssr=SsrMode::Async
                />
                <ParentRoute path=path!("") view=Dashboard ssr=SsrMode::Async>
                    <Route path=path!("") view=WelcomePage ssr=SsrMode::Async />
                    <Route path=path!("settings") view=UserSettingsPage ssr=SsrMode::Async />
                    <Route
                        path=path!("settings/two-factor/app")
                        view=AuthenticatorSetupPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("settings/two-factor/recovery-codes")
                        view=RecoveryCodesPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("organizations")
                        view=ManageOrganizationsPage
                        ssr=SsrMode::Async
                    />
                    <Route path=path!("organization") view=OverviewPage ssr=SsrMode::Async />
                    <Route
                        path=path!("access-control")
                        view=AccessControlPage
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=path!("organization/profile")
                        view=OrganizationProfilePage
                        ssr=SsrMode::Async
                    />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// The shell of every signed-in page, the current organization at the top of its navigation.
#[component]
fn Dashboard() -> impl IntoView {
    view! { <DashboardLayout organization=|| view! { <CurrentOrganizationNav /> } /> }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found · Orgdesk" />
        <accounts::pages::AuthCard title="Page not found">
            <p>"There is no page at this address."</p>
            <a href="/">"Go to the dashboard"</a>
        </accounts::pages::AuthCard>
    }
}
