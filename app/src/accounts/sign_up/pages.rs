//! The pages of creating an account: the form, and the page of the mailed link where the
//! address's owner confirms it (or says "This wasn't me").

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::{verification_link, RejectEmail, SignUp, VerifyEmail};
use crate::{
    accounts::rules::{EMAIL_MAX_CHARS, NAME_MAX_CHARS, PASSWORD_MAX_CHARS},
    invitations::api::{show_invitation, LinkState},
    ui::{
        form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
        layout::AuthCard,
        url::{next_param, with_next},
    },
};

#[component]
pub fn SignupPage() -> impl IntoView {
    let sign_up = ServerAction::<SignUp>::new();
    let result = sign_up.value();
    let next = next_param();
    // From an invitation link: the account is for the invited address.
    let invitation = use_query_map().with_untracked(|q| q.get("invitation").unwrap_or_default());
    let invited = Resource::new(
        move || invitation.clone(),
        |token| async move {
            if token.is_empty() {
                return None;
            }
            let link = show_invitation(token).await.ok().flatten()?;
            (link.state == LinkState::Pending).then_some((link.email, link.organization_name))
        },
    );
    view! {
        <Title text="Create an account · Orgdesk" />
        <AuthCard title="Create an account">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                let invited = invited.await;
                let token = invited.as_ref().map(|_| use_query_map().with_untracked(|q| q.get("invitation").unwrap_or_default()));
                let (email, hint) = match invited {
                    Some((email, org)) => (Some(email), Some(format!("Your invitation to {org} was sent to this address."))),
                    None => (None, None),
                };
                let locked = email.is_some();
                view! {
                <KeepTypedValues><ActionForm action=sign_up>
                    <input type="hidden" name="next" value=move || next.get() />
                    {token.map(|token| view! { <input type="hidden" name="invitation" value=token /> })}
                    {hint.map(|hint| view! { <p class="notice">{hint}</p> })}
                    <FormAlert message=form_error(result) />
                    <TextField
                        label="Name"
                        name="name"
                        autocomplete="name"
                        maxlength=NAME_MAX_CHARS
                        required=true
                        error=field_error(result, "name")
                    />
                    <TextField
                        label="Email"
                        name="email"
                        input_type="email"
                        autocomplete="email"
                        value=email.unwrap_or_default()
                        readonly=locked
                        maxlength=EMAIL_MAX_CHARS
                        required=true
                        error=field_error(result, "email")
                    />
                    <TextField
                        label="Password"
                        name="password"
                        input_type="password"
                        autocomplete="new-password"
                        maxlength=PASSWORD_MAX_CHARS
                        required=true
                        hint="8 to 72 characters, not containing your name or email."
                        error=field_error(result, "password")
                    />
                    <SubmitButton
                        label="Create account"
                        busy_label="Creating account…"
                    />
                </ActionForm></KeepTypedValues>
                }
                })}
            </Suspense>
                <p class="auth-switch">
                    "Already have an account? " <a href=with_next("/login", next)>"Log in"</a>
                </p>
        </AuthCard>
    }
}

/// `/verify-email?token=…`: the link of the verification email. Opening it changes
/// nothing (mail scanners open links): the owner of the mailbox confirms with the
/// account's password, or presses **This wasn't me** when somebody else signed up with
/// their address. `?result=sent` is what the sign-up form leads to.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.with_untracked(|q| q.get("token").unwrap_or_default());
    let next = next_param();
    // Read reactively: after a button press the page navigates to its own result.
    let result = Memo::new(move |_| query.with(|q| q.get("result")));
    let link = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        verification_link,
    );
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let confirm = ServerAction::<VerifyEmail>::new();
    let reject = ServerAction::<RejectEmail>::new();
    move || {
        match result.get().as_deref() {
        Some("sent") => view! {
            <Title text="Check your email · Orgdesk" />
            <AuthCard title="Check your email">
                <p role="status">"We sent a message to the address you entered. Open the link in it and confirm with your password to log in."</p>
                <p>"Nothing after a few minutes? Look in your spam folder, or log in with your email and password: if the address still needs confirming, we send a new link."</p>
                <a href="/login">"Log in"</a>
            </AuthCard>
        }
        .into_any(),
        Some("rejected") => view! {
            <Title text="Account removed · Orgdesk" />
            <AuthCard title="The account was removed">
                <p role="status">"The account created with your address is deleted and signed out everywhere. Nobody can use your address on Orgdesk until you sign up yourself."</p>
                <a href="/signup">"Create an account"</a>
            </AuthCard>
        }
        .into_any(),
        _ => {
            let token = token.clone();
            view! {
                <Title text="Verify email · Orgdesk" />
                <Suspense fallback=|| view! { <AuthCard title="Verify email"><p>"Loading…"</p></AuthCard> }>
                    {move || {
                        let (token, token_for_reject) = (token.clone(), token.clone());
                        Suspend::new(async move {
                            match link.await {
                                Ok(email) => view! {
                                    <AuthCard title="Confirm your email address">
                                        <p>"Someone created an Orgdesk account with " <strong>{email.clone()}</strong> ". Was it you?"</p>
                                        <KeepTypedValues><ActionForm action=confirm>
                                            <FormAlert message=form_error(confirm.value()) />
                                            <input type="hidden" name="token" value=token />
                                            <input type="hidden" name="next" value=next.get_untracked() />
                                            // For password managers: the account the password is for.
                                            <input type="hidden" name="username" autocomplete="username" value=email.clone() />
                                            <TextField
                                                label="Password"
                                                name="password"
                                                input_type="password"
                                                autocomplete="current-password"
                                                required=true
                                                hint="The password you chose for this account."
                                                error=field_error(confirm.value(), "password")
                                            />
                                            <SubmitButton label="Confirm my email" busy_label="Confirming…" />
                                        </ActionForm></KeepTypedValues>
                                        <ActionForm action=reject>
                                            <FormAlert message=form_error(reject.value()) />
                                            <input type="hidden" name="token" value=token_for_reject />
                                            <p class="field-hint">"Not you? The account is deleted, with anything it created, and your address is free again."</p>
                                            <SubmitButton label="This wasn't me" busy_label="Removing…" class="button danger" />
                                        </ActionForm>
                                    </AuthCard>
                                }
                                    .into_any(),
                                Err(err) => view! {
                                    <AuthCard title="Your email address could not be verified">
                                        <p role="alert">{err.to_string()}</p>
                                        <a href="/">"Go to the dashboard"</a>
                                    </AuthCard>
                                }
                                    .into_any(),
                            }
                        })
                    }}
                </Suspense>
            }
            .into_any()
        }
    }
    }
}
