//! Two-factor pages: the User Settings section, setting up an authenticator app, the new
//! recovery codes (shown once), and the sign-in step that asks for a code.

use leptos::prelude::*;
use leptos_meta::Title;

use super::passkey_islands::{AddPasskey, ConfirmWithPasskey, UsePasskey};
use super::passkeys::{PasskeyRow, RemovePasskey};
use super::{
    api::{
        authenticator_setup, new_recovery_codes, proof_needed, two_factor_status,
        ConfirmAuthenticator, ConfirmItsYou, RegenerateRecoveryCodes, SavedRecoveryCodes,
        StartAuthenticatorSetup, TurnOffAuthenticator,
    },
    second_step::{pending_sign_in, UseRecoveryCode, VerifySignInCode},
};
use crate::{
    ui::layout::AuthCard,
    ui::{
        clipboard::CopyButton,
        form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
        list::time_of,
    },
};

/// The password-or-code field of a sensitive change, shown when the session has not proved
/// who its holder is in the last 10 minutes.
#[component]
pub fn ProofField(
    /// Names the field's ids (two forms on a page may ask for a proof).
    id: &'static str,
    needs_proof: bool,
    request: String,
    #[prop(into)] error: Signal<Option<String>>,
    /// The account has a passkey: offer it too (an island; needs JavaScript).
    #[prop(optional)]
    passkey: bool,
) -> impl IntoView {
    needs_proof.then(|| {
        view! {
            <p class="field-hint">{request}</p>
            <TextField
                label="Password or authentication code"
                name="proof"
                id
                input_type="password"
                autocomplete="current-password"
                required=true
                error
            />
            {passkey.then(|| view! { <ConfirmWithPasskey /> })}
        }
    })
}

/// What the "Confirm it's you" box reads and sends; made outside the page's Suspend
/// (leptos-rs/leptos#3595) and handed to [`ProofBanner`].
#[derive(Clone, Copy)]
pub struct ProofBannerState {
    needed: Resource<Result<Option<super::api::ProofRequest>, crate::error::AppError>>,
    confirm: ServerAction<ConfirmItsYou>,
}

impl ProofBannerState {
    /// `shown`: whether the page shows the box now (its tab is open, the viewer may make
    /// such changes); nothing is asked of the server otherwise.
    pub fn new(shown: Signal<bool>) -> Self {
        Self {
            needed: Resource::new(
                move || shown.get(),
                |shown| async move {
                    if shown {
                        proof_needed().await
                    } else {
                        Ok(None)
                    }
                },
            ),
            confirm: ServerAction::<ConfirmItsYou>::new(),
        }
    }
}

/// **Confirm it's you**, on pages with security changes, shown while the session has not
/// proved who its holder is in the last 10 minutes: those changes need it (like a
/// terminal's sudo). `next` is the page to come back to.
#[component]
pub fn ProofBanner(state: ProofBannerState, next: &'static str) -> impl IntoView {
    let result = state.confirm.value();
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                state.needed.await.ok().flatten().map(|request| view! {
                    <section class="card notice" aria-labelledby="proof-banner-heading">
                        <h2 id="proof-banner-heading">"Confirm it's you"</h2>
                        <p>"Security changes here (single sign-on, domains, two-factor rules, owners) need a proof that it's you from the last 10 minutes."</p>
                        <ActionForm action=state.confirm>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="next" value=next />
                            <ProofField id="proof-banner" needs_proof=true request=request.text passkey=request.passkey error=field_error(result, "proof") />
                            <SubmitButton label="Confirm" busy_label="Confirming…" class="button" />
                        </ActionForm>
                    </section>
                })
            })}
        </Suspense>
    }
}

/// User Settings → Two-factor authentication.
#[component]
pub fn TwoFactorSection() -> impl IntoView {
    let status = Resource::new(|| (), |_| two_factor_status());
    let start = ServerAction::<StartAuthenticatorSetup>::new();
    let turn_off = ServerAction::<TurnOffAuthenticator>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let remove = ServerAction::<RemovePasskey>::new();
    view! {
        <section class="card" aria-labelledby="two-factor-heading">
            <h2 id="two-factor-heading">"Two-factor authentication"</h2>
            <p>"A second step at sign-in: after your password, a code from an authenticator app on your phone, or a passkey. Someone who learns your password still cannot sign in."</p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(status) => {
                            let needs = status.needs_proof;
                            let request = status.proof_request.clone();
                            let (request_off, request_keys, request_codes, request_setup, request_add) =
                                (request.clone(), request.clone(), request.clone(), request.clone(), request);
                            let any_factor = status.authenticator_since.is_some() || !status.passkeys.is_empty();
                            view! {
                                // One passkey proof covers every change below for 10 minutes.
                                {(needs && !status.passkeys.is_empty()).then(|| view! { <ConfirmWithPasskey /> })}
                                <h3>"Authenticator app"</h3>
                                {match status.authenticator_since.clone() {
                                    None => view! {
                                        <p><strong>"Authenticator app: off"</strong></p>
                                        <KeepTypedValues><ActionForm action=start>
                                            <FormAlert message=form_error(start.value()) />
                                            <ProofField id="proof-setup" needs_proof=needs request=request_setup error=field_error(start.value(), "proof") />
                                            <SubmitButton label="Set up authenticator app" busy_label="Starting…" />
                                        </ActionForm></KeepTypedValues>
                                    }
                                        .into_any(),
                                    Some(since) => view! {
                                        <p><strong>"Authenticator app: on"</strong> " since " {time_of(&since)}</p>
                                        <KeepTypedValues><ActionForm action=turn_off>
                                            <FormAlert message=form_error(turn_off.value()) />
                                            <ProofField id="proof-turn-off" needs_proof=needs request=request_off error=field_error(turn_off.value(), "proof") />
                                            <SubmitButton label="Turn off authenticator app" busy_label="Turning off…" class="button danger" />
                                        </ActionForm></KeepTypedValues>
                                    }
                                        .into_any(),
                                }}
                                <h3>"Passkeys"</h3>
                                <PasskeyList passkeys=status.passkeys.clone() remove needs_proof=needs request=request_keys />
                                <AddPasskey needs_proof=needs request=request_add />
                                {any_factor.then(|| view! {
                                    <h3>"Recovery codes"</h3>
                                    <p>
                                        {format!(
                                            "Recovery codes: {} of 10 left. Each signs you in once if you lose your phone or passkey.",
                                            status.recovery_codes_left,
                                        )}
                                    </p>
                                    <KeepTypedValues><ActionForm action=regenerate>
                                        <FormAlert message=form_error(regenerate.value()) />
                                        <ProofField id="proof-codes" needs_proof=needs request=request_codes error=field_error(regenerate.value(), "proof") />
                                        <SubmitButton label="Generate new recovery codes" busy_label="Generating…" class="button" />
                                    </ActionForm></KeepTypedValues>
                                })}
                            }
                                .into_any()
                        }
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// The account's passkeys, and removing one (a single form: a choice, then the proof).
#[component]
fn PasskeyList(
    passkeys: Vec<PasskeyRow>,
    remove: ServerAction<RemovePasskey>,
    needs_proof: bool,
    request: String,
) -> impl IntoView {
    if passkeys.is_empty() {
        return view! { <p>"No passkeys yet. A passkey signs you in with your device's screen lock or a security key, and cannot be phished."</p> }.into_any();
    }
    let options = passkeys.clone();
    view! {
        <table class="table">
            <caption class="visually-hidden">"Passkeys"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Added"</th>
                    <th scope="col">"Last used"</th>
                </tr>
            </thead>
            <tbody>
                {passkeys
                    .into_iter()
                    .map(|key| view! {
                        <tr>
                            <th scope="row">{key.name}</th>
                            <td>{time_of(&key.created_at)}</td>
                            <td>{key.last_used_at.as_deref().map(time_of).unwrap_or_else(|| "Never".into())}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <KeepTypedValues><ActionForm action=remove>
            <FormAlert message=form_error(remove.value()) />
            <div class="field">
                <label for="passkey-to-remove">"Passkey to remove"</label>
                <select id="passkey-to-remove" name="passkey_id">
                    {options
                        .into_iter()
                        .map(|key| view! { <option value=key.id.to_string()>{key.name}</option> })
                        .collect_view()}
                </select>
            </div>
            <ProofField id="proof-passkey" needs_proof request error=field_error(remove.value(), "proof") />
            <SubmitButton label="Remove passkey" busy_label="Removing…" class="button danger" />
        </ActionForm></KeepTypedValues>
    }
    .into_any()
}

/// `/settings/two-factor/app`: scan the QR code (or type the secret), then confirm with the
/// app's first code.
#[component]
pub fn AuthenticatorSetupPage() -> impl IntoView {
    let setup = Resource::new(|| (), |_| authenticator_setup());
    let confirm = ServerAction::<ConfirmAuthenticator>::new();
    let result = confirm.value();
    view! {
        <Title text="Set up authenticator app · Orgdesk" />
        <h1>"Set up authenticator app"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match setup.await {
                    Ok(Some(setup)) => view! {
                        <section class="card" aria-labelledby="scan-heading">
                            <h2 id="scan-heading">"1. Add Orgdesk to your app"</h2>
                            <p>"Scan this QR code with an authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Aegis)."</p>
                            <div class="qr-code" role="img" aria-label="QR code to add Orgdesk to your authenticator app" inner_html=setup.qr_svg></div>
                            <p>"Cannot scan it? Type the setup key into the app instead, as a time-based key for " <strong>{setup.account}</strong> "."</p>
                            <p>"Setup key: " <code class="secret-key">{setup.secret}</code></p>
                        </section>
                        <section class="card" aria-labelledby="confirm-heading">
                            <h2 id="confirm-heading">"2. Enter the code the app shows"</h2>
                            <ActionForm action=confirm>
                                <FormAlert message=form_error(result) />
                                <TextField
                                    label="Authentication code"
                                    name="code"
                                    autocomplete="one-time-code"
                                    inputmode="numeric"
                                    maxlength=12
                                    required=true
                                    hint="6 digits; a new one every 30 seconds."
                                    error=field_error(result, "code")
                                />
                                <SubmitButton label="Turn on" busy_label="Checking…" />
                            </ActionForm>
                        </section>
                        <p><a href="/settings">"Cancel"</a></p>
                    }
                        .into_any(),
                    Ok(None) => view! {
                        <p>"No authenticator app is being set up. Start from User Settings."</p>
                        <p><a href="/settings">"Back to User Settings"</a></p>
                    }
                        .into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/settings/two-factor/recovery-codes`: the new codes, once (until saved, 15 minutes).
#[component]
pub fn RecoveryCodesPage() -> impl IntoView {
    let codes = Resource::new(|| (), |_| new_recovery_codes());
    let saved = ServerAction::<SavedRecoveryCodes>::new();
    view! {
        <Title text="Recovery codes · Orgdesk" />
        <h1>"Recovery codes"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match codes.await {
                    Ok(Some(codes)) => view! {
                        <p class="notice" role="status">"Two-factor authentication is on."</p>
                        <section class="card" aria-labelledby="codes-heading">
                            <h2 id="codes-heading">"Save these codes now"</h2>
                            <p>"If you lose your phone, each code signs you in once. Keep them somewhere safe, like a password manager. This page shows them only now."</p>
                            <ul class="recovery-codes" aria-label="Recovery codes">
                                {codes.iter().cloned().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
                            </ul>
                            <p>
                                <a class="button" href="/settings/two-factor/recovery-codes/download" download="orgdesk-recovery-codes.txt">
                                    "Download as a text file"
                                </a>
                                " "
                                <CopyButton label="Copy codes".to_string() text=codes.join("\n") />
                            </p>
                            <ActionForm action=saved>
                                <FormAlert message=form_error(saved.value()) />
                                <SubmitButton label="I have saved my recovery codes" busy_label="Saving…" />
                            </ActionForm>
                        </section>
                    }
                        .into_any(),
                    Ok(None) => view! {
                        <p>"Recovery codes are shown once, right after they are made. To see new ones, generate them again in User Settings: the old ones stop working."</p>
                        <p><a href="/settings">"Back to User Settings"</a></p>
                    }
                        .into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// `/login/two-factor`: after the password (or a reset link), the code from the app, or a
/// recovery code.
#[component]
pub fn TwoFactorSignInPage() -> impl IntoView {
    let pending = Resource::new(|| (), |_| pending_sign_in());
    let verify = ServerAction::<VerifySignInCode>::new();
    let recover = ServerAction::<UseRecoveryCode>::new();
    view! {
        <Title text="Two-factor authentication · Orgdesk" />
        <AuthCard title="Two-factor authentication">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match pending.await {
                        Ok(Some(pending)) => view! {
                            <p>"Signing in as " <strong>{pending.email}</strong> "."</p>
                            {pending.has_passkeys.then(|| view! {
                                <p>"Use the passkey or security key you added to your account."</p>
                                <UsePasskey />
                            })}
                            {pending.has_authenticator.then(|| view! {
                            <p>"Open your authenticator app and enter the code it shows for Orgdesk."</p>
                            <KeepTypedValues><ActionForm action=verify>
                                <FormAlert message=form_error(verify.value()) />
                                <TextField
                                    label="Authentication code"
                                    name="code"
                                    autocomplete="one-time-code"
                                    inputmode="numeric"
                                    maxlength=12
                                    required=true
                                    error=field_error(verify.value(), "code")
                                />
                                <SubmitButton label="Verify" busy_label="Verifying…" />
                            </ActionForm></KeepTypedValues>
                            })}
                            <details class="recovery" open=move || recover.value().with(|v| matches!(v, Some(Err(_))))>
                                <summary>"Lost your phone? Use a recovery code"</summary>
                                <KeepTypedValues><ActionForm action=recover>
                                    <FormAlert message=form_error(recover.value()) />
                                    <TextField
                                        label="Recovery code"
                                        name="recovery_code"
                                        autocomplete="off"
                                        maxlength=40
                                        required=true
                                        hint="One of the codes you saved when you turned on two-factor authentication, like abcd-1234-efgh-5678. Each works once."
                                        error=field_error(recover.value(), "recovery_code")
                                    />
                                    <SubmitButton label="Verify recovery code" busy_label="Verifying…" class="button" />
                                </ActionForm></KeepTypedValues>
                            </details>
                        }
                            .into_any(),
                        Ok(None) => view! {
                            <p role="alert">"This sign-in has expired or was already used. Log in again."</p>
                            <p><a href="/login">"Log in"</a></p>
                        }
                            .into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </AuthCard>
    }
}
