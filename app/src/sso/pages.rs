//! The Single Sign-On section of Organization Profile → Settings: for owners the values to
//! copy into the provider, the provider's settings, Test connection and the on/off switch;
//! for everyone else whether SSO is on.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{
    api::{
        current_sso_settings, organization_login, OrganizationLoginView, SaveSsoSettings,
        SetSsoEnabled, SsoOwnerView, SsoSettingsView, StartOrganizationLogin, TestSsoConnection,
    },
    SsoNotice,
};
use crate::{
    error::AppError,
    ui::{
        form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
        list::{date_of, time_of},
    },
};

type SsoResource = Resource<Result<Option<SsoSettingsView>, AppError>>;

/// The section's actions and data, made by the page outside every Suspend
/// (leptos-rs/leptos#3595).
#[derive(Clone, Copy)]
pub struct SsoSettingsState {
    save: ServerAction<SaveSsoSettings>,
    test: ServerAction<TestSsoConnection>,
    toggle: ServerAction<SetSsoEnabled>,
    settings: SsoResource,
    saml: super::saml_pages::SamlSettingsState,
}

impl SsoSettingsState {
    /// `shown`: whether the Settings tab is open (the settings load only then).
    pub fn new(shown: Memo<bool>) -> Self {
        let save = ServerAction::<SaveSsoSettings>::new();
        let test = ServerAction::<TestSsoConnection>::new();
        let toggle = ServerAction::<SetSsoEnabled>::new();
        let settings = Resource::new(
            move || shown.get(),
            |shown| async move {
                if shown {
                    current_sso_settings().await
                } else {
                    Ok(None)
                }
            },
        );
        Self {
            save,
            test,
            toggle,
            settings,
            saml: super::saml_pages::SamlSettingsState::new(shown),
        }
    }
}

/// What the page says after a save, a toggle or a test round trip.
fn notice_from_query() -> impl Fn() -> Option<(bool, String)> {
    let query = use_query_map();
    move || {
        query.with(|q| {
            if let Some(notice) = q.get("sso").as_deref().and_then(SsoNotice::parse) {
                return Some((notice.is_failure(), notice.message()));
            }
            let text = match q.get("saved").as_deref() {
                Some("sso") => "The single sign-on settings were saved.",
                Some("sso-retest") => "The settings were saved. The provider changed, so single sign-on is off until a new test passes.",
                Some("sso-on") => "Single sign-on is on. Users of the organization's domains now sign in through the provider.",
                Some("sso-off") => "Single sign-on is off. Users sign in with their email and password.",
                Some("sp-key") => "The SP certificates were updated. Give the provider the new SP metadata.",
                _ => return None,
            };
            Some((false, text.to_string()))
        })
    }
}

#[component]
pub fn SsoSettingsSection(state: SsoSettingsState) -> impl IntoView {
    let notice = notice_from_query();
    view! {
        <section class="card" aria-labelledby="sso-heading">
            <h2 id="sso-heading">"Single Sign-On"</h2>
            {move || notice().map(|(failure, text)| if failure {
                view! { <p class="form-alert" role="alert">{text}</p> }.into_any()
            } else {
                view! { <p class="notice" role="status">{text}</p> }.into_any()
            })}
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match state.settings.await {
                        Ok(Some(settings)) => match settings.owner.clone() {
                            Some(owner) => view! { <OwnerSsoSettings settings owner state /> }.into_any(),
                            None => view! { <SsoStatus settings /> }.into_any(),
                        },
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Admins and members: whether SSO is on, never its configuration.
#[component]
fn SsoStatus(settings: SsoSettingsView) -> impl IntoView {
    match (settings.enabled, settings.provider_name) {
        (true, Some(provider)) => view! {
            <p>
                "Single sign-on is on: members sign in through " <strong>{provider}</strong>
                " with addresses at " {settings.domains.join(", ")} "."
            </p>
            <p class="field-hint">"Only owners can change single sign-on."</p>
        }
        .into_any(),
        _ => view! {
            <p>"Single sign-on is off. Owners can connect the organization to its identity provider here."</p>
        }
        .into_any(),
    }
}

#[component]
fn OwnerSsoSettings(
    settings: SsoSettingsView,
    owner: SsoOwnerView,
    state: SsoSettingsState,
) -> impl IntoView {
    let query = use_query_map();
    let shown_protocol = query
        .with_untracked(|q| q.get("protocol"))
        .filter(|p| p == "oidc" || p == "saml")
        .unwrap_or_else(|| owner.protocol.clone());
    let enabled = settings.enabled;
    let tested = owner.tested_at.is_some();
    let status = match (enabled, &owner.tested_at, &owner.tested_email) {
        (true, ..) => "On".to_string(),
        (false, Some(at), Some(email)) => format!(
            "Off. The last test signed in as {email} on {} at {}.",
            date_of(at),
            time_of(at)
        ),
        (false, _, _) if owner.configured => {
            "Off. Test the connection before turning it on.".into()
        }
        _ => "Off. Not configured yet.".into(),
    };
    let domains = if settings.domains.is_empty() {
        "No verified domain yet: add and verify one under Domains before turning SSO on."
            .to_string()
    } else {
        format!(
            "Users at {} sign in through the provider.",
            settings.domains.join(", ")
        )
    };
    let saml = shown_protocol == "saml";
    let protocol_link = move |value: &'static str, label: &'static str| {
        // "true", not "page": the page is the settings area; this marks the chosen protocol.
        let current = shown_protocol_is(value, saml).then_some("true");
        view! {
            <li><a href=format!("{}&protocol={value}", super::SETTINGS_PAGE) aria-current=current>{label}</a></li>
        }
    };
    let organization_id = settings.organization_id.clone();
    view! {
        <p><strong>"Status: "</strong>{status}</p>
        <p>{domains}</p>
        <nav class="protocol-nav" aria-label="Protocol">
            <p id="protocol-label">"Protocol your provider speaks:"</p>
            <ul aria-labelledby="protocol-label">
                {protocol_link("oidc", "OpenID Connect")}
                {protocol_link("saml", "SAML 2.0")}
            </ul>
        </nav>
        {if saml {
            view! { <super::saml_pages::SamlSettings state=state.saml provider_name=settings.provider_name.clone().filter(|_| owner.protocol == "saml") /> }.into_any()
        } else {
            view! { <OidcSettings settings owner state /> }.into_any()
        }}
        <TestAndTurnOn organization_id enabled tested state />
    }
}

fn shown_protocol_is(value: &str, saml: bool) -> bool {
    (value == "saml") == saml
}

/// The OpenID Connect values and form.
#[component]
fn OidcSettings(
    settings: SsoSettingsView,
    owner: SsoOwnerView,
    state: SsoSettingsState,
) -> impl IntoView {
    let saved = state.save.value();
    let save = state.save;
    let id_for_save = settings.organization_id.clone();
    let secret_hint = if owner.configured && owner.protocol == "oidc" {
        "Saved and never shown again. Leave empty to keep it."
    } else {
        "Orgdesk keeps it on the server and never shows it again."
    };
    let provider_name = settings
        .provider_name
        .clone()
        .filter(|_| owner.protocol == "oidc")
        .unwrap_or_default();
    view! {
        <h3>"Values for your identity provider"</h3>
        <p class="field-hint">"Register Orgdesk at the provider as an OpenID Connect web application with these values."</p>
        <div class="field">
            <label for="sso-redirect-uri">"Redirect URI"</label>
            <input id="sso-redirect-uri" value=owner.redirect_uri readonly class="readonly-id" />
        </div>
        <div class="field">
            <label for="sso-login-url">"Organization login URL"</label>
            <p class="field-hint" id="sso-login-url-hint">"Where the provider's app tile or a bookmark should point: it starts this organization's sign-in."</p>
            <input id="sso-login-url" value=owner.login_url readonly class="readonly-id" aria-describedby="sso-login-url-hint" />
        </div>

        <h3>"Identity provider"</h3>
        <KeepTypedValues><ActionForm action=save>
            <FormAlert message=form_error(saved) />
            <input type="hidden" name="organization_id" value=id_for_save />
            <TextField label="Provider name" name="provider_name" value=provider_name maxlength=100 required=true hint="How the login page names it, e.g. Acme Okta." error=field_error(saved, "provider_name") />
            <TextField label="Issuer URL" name="issuer_url" input_type="url" value=owner.issuer_url.clone() required=true hint="The provider's OpenID Connect issuer, e.g. https://acme.okta.com." error=field_error(saved, "issuer_url") />
            <TextField label="Client ID" name="client_id" value=owner.client_id.clone() maxlength=255 required=true error=field_error(saved, "client_id") />
            <SecretField required=!(owner.configured && owner.protocol == "oidc") hint=secret_hint error=field_error(saved, "client_secret") />
            <div class="field checkbox">
                <input type="checkbox" id="field-trust_emails" name="trust_emails" value="true" checked=owner.trust_emails aria-describedby="field-trust_emails-hint" />
                <label for="field-trust_emails">"Trust the provider's email addresses at the verified domains"</label>
                <p class="field-hint" id="field-trust_emails-hint">"Only for providers that never mark addresses verified. Otherwise an address counts only when the provider says it is verified."</p>
            </div>
            <TextField
                label="ACR values that mean multi-factor authentication"
                name="mfa_acr_values"
                value=owner.mfa_acr_values.clone()
                maxlength=500
                hint="Optional, separated by spaces: the acr values your provider sends after multi-factor authentication. Sign-ins whose amr says mfa, otp or hwk always count. They satisfy an organization that requires two-factor authentication."
                error=field_error(saved, "mfa_acr_values")
            />
            <div class="actions end">
                <SubmitButton label="Save" busy_label="Saving…" />
            </div>
        </ActionForm></KeepTypedValues>
    }
}

/// Test connection and the on/off switch: the same for both protocols.
#[component]
fn TestAndTurnOn(
    organization_id: String,
    enabled: bool,
    tested: bool,
    state: SsoSettingsState,
) -> impl IntoView {
    let SsoSettingsState { test, toggle, .. } = state;
    let id_for_test = organization_id.clone();
    let id_for_toggle = organization_id;
    view! {
        <h3>"Test and turn on"</h3>
        <p>"Test connection sends you to the provider to sign in once. It checks the whole round trip and changes nobody's access; SSO can be turned on only after a test passes, so nobody is locked out."</p>
        <ActionForm action=test>
            <FormAlert message=form_error(test.value()) />
            <input type="hidden" name="organization_id" value=id_for_test />
            <SubmitButton label="Test connection" busy_label="Opening the provider…" class="button" />
        </ActionForm>
        <ActionForm action=toggle>
            <FormAlert message=form_error(toggle.value()) />
            <input type="hidden" name="organization_id" value=id_for_toggle />
            <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" } />
            <div class="switch-row">
                <button
                    type="submit"
                    class="switch"
                    role="switch"
                    id="sso-switch"
                    aria-checked=if enabled { "true" } else { "false" }
                    aria-describedby="sso-switch-hint"
                    disabled=move || toggle.pending().get()
                >
                    <span class="switch-track" aria-hidden="true"><span class="switch-thumb"></span></span>
                    "Enable SSO"
                </button>
                <p class="field-hint" id="sso-switch-hint">
                    {if enabled {
                        "On. Turning it off sends users back to passwords: people who only ever signed in through the provider have none, so they cannot log in until it is on again."
                    } else if tested {
                        "Off. The connection passed its test."
                    } else {
                        "Off. Test the connection first."
                    }}
                </p>
            </div>
        </ActionForm>
    }
}

/// The client secret's field: like a `TextField`, but emptied after every save, so the
/// secret does not linger in the page (the section is rebuilt in place, which would keep
/// what was typed).
#[component]
fn SecretField(
    required: bool,
    hint: &'static str,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let described_by = move || {
        if error.get().is_some() {
            "field-client_secret-hint field-client_secret-error"
        } else {
            "field-client_secret-hint"
        }
    };
    view! {
        <div class="field">
            <label for="field-client_secret">"Client secret"</label>
            <p class="field-hint" id="field-client_secret-hint">{hint}</p>
            <input
                id="field-client_secret"
                name="client_secret"
                type="password"
                autocomplete="off"
                maxlength=1000
                required=required
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described_by
            />
            {move || error.get().map(|message| view! {
                <p class="field-error" id="field-client_secret-error">{message}</p>
            })}
        </div>
    }
}

/// `/sso/login/<organization id>`: an organization's login URL (an app tile at the provider,
/// a bookmark). A page with a button rather than a redirect, so that no other site can sign
/// a visitor in (or out) by linking here.
#[component]
pub fn OrganizationLoginPage() -> impl IntoView {
    let params = leptos_router::hooks::use_params_map();
    let organization_id =
        Memo::new(move |_| params.with(|p| p.get("organization_id").unwrap_or_default()));
    let login = Resource::new(move || organization_id.get(), organization_login);
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let start = ServerAction::<StartOrganizationLogin>::new();
    view! {
        <leptos_meta::Title text="Single sign-on · Orgdesk" />
        <crate::accounts::pages::AuthCard title="Single sign-on">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match login.await {
                        Ok(Some(view)) => view! { <OrganizationLogin view start /> }.into_any(),
                        Ok(None) => view! {
                            <p role="alert">"This organization does not sign in through an identity provider. Log in with your email instead."</p>
                            <a href="/login">"Go to the login page"</a>
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </crate::accounts::pages::AuthCard>
    }
}

#[component]
fn OrganizationLogin(
    view: OrganizationLoginView,
    start: ServerAction<StartOrganizationLogin>,
) -> impl IntoView {
    let label = if view.signed_in_as.is_some() {
        "Log out and continue"
    } else {
        "Continue"
    };
    view! {
        <p>
            "Sign in to " <strong>{view.organization_name.clone()}</strong> " through "
            <strong>{view.provider_name.clone()}</strong> ", your company's identity provider."
        </p>
        {view.signed_in_as.clone().map(|email| view! {
            <p class="notice-info">
                "You are signed in as " <strong>{email}</strong>
                ". Continuing signs you out here first."
            </p>
        })}
        <ActionForm action=start>
            <FormAlert message=form_error(start.value()) />
            <input type="hidden" name="organization_id" value=view.organization_id />
            <SubmitButton label busy_label="Opening the provider…" />
        </ActionForm>
        <p class="auth-switch"><a href="/login">"Log in with your email instead"</a></p>
    }
}
