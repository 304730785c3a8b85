//! The account pages: Log in and User Settings (creating an account is `sign_up`'s).

use leptos::prelude::*;

pub use crate::ui::layout::AuthCard;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::factors::{pages::TwoFactorSection, passkey_islands::SignInWithPasskey};
use super::sessions::pages::{SessionsSection, SessionsState};
use super::{
    api::{ChangePassword, LogIn, UpdateName},
    rules::{EMAIL_MAX_CHARS, NAME_MAX_CHARS, PASSWORD_MAX_CHARS},
};
use crate::{
    sso::{api::ContinueLogin, SsoNotice},
    ui::{
        form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
        layout::CurrentUser,
        url::{next_param, urlencode, with_next},
    },
};

/// Log in, in two steps: the email first (users of an SSO organization's domain go on to
/// their identity provider), then the password.
#[component]
pub fn LoginPage() -> impl IntoView {
    let log_in = ServerAction::<LogIn>::new();
    let continue_login = ServerAction::<ContinueLogin>::new();
    let result = log_in.value();
    let continued = continue_login.value();
    let next = next_param();
    let query = use_query_map();
    // The first step (or the invitation page) passes the address along.
    let email = Memo::new(move |_| query.with(|q| q.get("email").filter(|e| !e.is_empty())));
    // After a round trip to an identity provider that did not sign the user in.
    let sso_problem = move || {
        query
            .with(|q| q.get("sso").as_deref().and_then(SsoNotice::parse))
            .map(SsoNotice::message)
    };
    view! {
        <Title text="Log in · Orgdesk" />
        <AuthCard title="Log in">
                {move || sso_problem().map(|text| view! { <p class="form-alert" role="alert">{text}</p> })}
                {move || match email.get() {
                    None => view! {
                        <KeepTypedValues><ActionForm action=continue_login>
                            <input type="hidden" name="next" value=move || next.get() />
                            <FormAlert message=form_error(continued) />
                            <TextField
                                label="Email"
                                name="email"
                                input_type="email"
                                autocomplete="email"
                                maxlength=EMAIL_MAX_CHARS
                                required=true
                                hint="If your company signs in with single sign-on, you continue at its identity provider."
                                error=field_error(continued, "email")
                            />
                            <SubmitButton label="Continue" busy_label="Continuing…" />
                        </ActionForm></KeepTypedValues>
                        <SignInWithPasskey next=next.get_untracked() />
                    }.into_any(),
                    Some(email) => {
                        let email_for_reset = email.clone();
                        view! {
                        <KeepTypedValues><ActionForm action=log_in>
                            <input type="hidden" name="next" value=move || next.get() />
                            <FormAlert message=form_error(result) />
                            <TextField
                                label="Email"
                                name="email"
                                input_type="email"
                                autocomplete="email"
                                value=email
                                maxlength=EMAIL_MAX_CHARS
                                required=true
                                error=field_error(result, "email")
                            />
                            <TextField
                                label="Password"
                                name="password"
                                input_type="password"
                                autocomplete="current-password"
                                required=true
                                error=field_error(result, "password")
                            />
                            <SubmitButton label="Log in" busy_label="Logging in…" />
                        </ActionForm></KeepTypedValues>
                        <p class="auth-switch">
                            <a href=format!("/forgot-password?email={}", urlencode(&email_for_reset))>"Forgot password?"</a>
                        </p>
                    }.into_any()
                    }
                }}
                <p class="auth-switch">
                    "New to Orgdesk? " <a href=with_next("/signup", next)>"Create an account"</a>
                </p>
        </AuthCard>
    }
}

#[component]
pub fn UserSettingsPage() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    let update_name = ServerAction::<UpdateName>::new();
    let change_password = ServerAction::<ChangePassword>::new();
    let name_result = update_name.value();
    let password_result = change_password.value();
    let query = use_query_map();
    let saved = Memo::new(move |_| query.with(|q| q.get("saved")));
    let sessions = SessionsState::new();

    let name = user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    let email = user.as_ref().map(|u| u.email.clone()).unwrap_or_default();
    let has_password = user.as_ref().is_some_and(|u| u.has_password);

    view! {
        <Title text="User Settings · Orgdesk" />
        <h1>"User Settings"</h1>
        {move || {
            saved
                .get()
                .and_then(|what| match what.as_str() {
                    "name" => Some("Your name was saved."),
                    "password" => Some("Your password was changed. Your other sessions were logged out."),
                    "password-reset" => Some("Your password was reset. Every other session of your account was signed out."),
                    "verification" => Some("We sent a new verification link to your email address. It works for 7 days."),
                    "authenticator-on" => Some("Your authenticator app is on. Signing in now asks for a code from it."),
                    "authenticator-off" => Some("Your authenticator app is off, and its recovery codes no longer work."),
                    "recovery-codes" => Some("Your recovery codes are saved. Each works once."),
                    "passkey-added" => Some("Your passkey was added. Signing in now accepts it after your password."),
                    "passkey-removed" => Some("The passkey was removed."),
                    _ => None,
                })
                .map(|text| view! { <p class="notice" role="status">{text}</p> })
        }}
        <section class="card" aria-labelledby="profile-heading">
            <h2 id="profile-heading">"Profile"</h2>
            <p>"Email: " <span class="email">{email}</span></p>
            <KeepTypedValues><ActionForm action=update_name>
                <FormAlert message=form_error(name_result) />
                <TextField
                    label="Name"
                    name="name"
                    autocomplete="name"
                    value=name
                    maxlength=NAME_MAX_CHARS
                    required=true
                    error=field_error(name_result, "name")
                />
                <SubmitButton label="Save name" busy_label="Saving…" />
            </ActionForm></KeepTypedValues>
        </section>
        <section class="card" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change password"</h2>
            {if has_password {
                view! {
                    <ActionForm action=change_password>
                        <FormAlert message=form_error(password_result) />
                        <TextField
                            label="Current password"
                            name="current_password"
                            input_type="password"
                            autocomplete="current-password"
                            required=true
                            error=field_error(password_result, "current_password")
                        />
                        <TextField
                            label="New password"
                            name="new_password"
                            input_type="password"
                            autocomplete="new-password"
                            maxlength=PASSWORD_MAX_CHARS
                            required=true
                            hint="8 to 72 characters, not containing your name or email. Your other sessions will be logged out."
                            error=field_error(password_result, "new_password")
                        />
                        <SubmitButton
                            label="Change password"
                            busy_label="Changing password…"
                        />
                    </ActionForm>
                }
                    .into_any()
            } else {
                view! {
                    <p>
                        "You sign in through your organization's identity provider, so your password is managed there."
                    </p>
                }
                    .into_any()
            }}
        </section>
        <TwoFactorSection />
        <SessionsSection state=sessions />
    }
}
