//! The recovery pages: the address to send a link to, and the new password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{password_reset_link, RequestPasswordReset, ResetPassword};
use crate::{
    accounts::{
        pages::AuthCard,
        rules::{EMAIL_MAX_CHARS, PASSWORD_MAX_CHARS},
    },
    ui::form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
};

/// `/forgot-password`: the address to send a reset link to.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let result = request.value();
    let query = use_query_map();
    let sent =
        move || query.with(|q| q.get("sent").is_some()) || matches!(result.get(), Some(Ok(())));
    let email = query.with_untracked(|q| q.get("email").unwrap_or_default());
    view! {
        <Title text="Forgot password · Orgdesk" />
        <AuthCard title="Forgot password">
            {move || if sent() {
                view! {
                    <p role="status" class="notice">
                        "If an Orgdesk account uses that address, we sent it a link to choose a new password. The link works once, for 1 hour."
                    </p>
                    <p>"Nothing arrived? Check the spam folder, or ask again in a few minutes."</p>
                }.into_any()
            } else {
                let email = email.clone();
                view! {
                    <p>"Enter the email address of your account; we send it a link to choose a new password."</p>
                    <KeepTypedValues><ActionForm action=request>
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
                        <SubmitButton label="Send reset link" busy_label="Sending…" />
                    </ActionForm></KeepTypedValues>
                }.into_any()
            }}
            <p class="auth-switch"><a href="/login">"Back to log in"</a></p>
        </AuthCard>
    }
}

/// `/reset-password?token=…`: the emailed link's page. Opening it changes nothing; the form
/// sets the new password.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = use_query_map().with_untracked(|q| q.get("token").unwrap_or_default());
    let link = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        password_reset_link,
    );
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let reset = ServerAction::<ResetPassword>::new();
    let result = reset.value();
    view! {
        <Title text="Choose a new password · Orgdesk" />
        <Suspense fallback=|| view! { <AuthCard title="Choose a new password"><p>"Loading…"</p></AuthCard> }>
            {move || {
                let token = token.clone();
                Suspend::new(async move {
                    match link.await {
                        Ok(email) => view! {
                            <AuthCard title="Choose a new password">
                                <p>"For " <strong>{email}</strong> ". Every session of the account is signed out, and this browser signed in."</p>
                                <ActionForm action=reset>
                                    <FormAlert message=form_error(result) />
                                    <input type="hidden" name="token" value=token />
                                    <TextField
                                        label="New password"
                                        name="new_password"
                                        input_type="password"
                                        autocomplete="new-password"
                                        maxlength=PASSWORD_MAX_CHARS
                                        required=true
                                        hint="8 to 72 characters, not containing your name or email, and not one of the most common passwords."
                                        error=field_error(result, "new_password")
                                    />
                                    <SubmitButton label="Set password" busy_label="Saving…" />
                                </ActionForm>
                            </AuthCard>
                        }
                            .into_any(),
                        Err(err) => view! {
                            <AuthCard title="This link cannot be used">
                                <p role="alert">{err.to_string()}</p>
                                <a href="/forgot-password">"Ask for a new link"</a>
                            </AuthCard>
                        }
                            .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
