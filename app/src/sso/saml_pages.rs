//! The SAML 2.0 part of the Single sign-on settings: the values to copy into the provider
//! (each with a copy button, selectable without JavaScript), the SP certificates and their
//! rotation, the provider's metadata and attribute mapping, and the last test's assertion
//! inspector.

use leptos::prelude::*;

use super::saml_api::{
    current_saml_settings, CertificateView, InspectorView, RetireSpKey, RotateSpKey,
    SamlSettingsView, SaveSamlSettings,
};
use crate::{
    error::AppError,
    ui::{
        clipboard::CopyButton,
        form::{
            field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextArea, TextField,
        },
        list::{date_of, time_of},
    },
};

type SamlResource = Resource<Result<Option<SamlSettingsView>, AppError>>;

/// The SAML settings' actions and data, made outside every Suspend (leptos-rs/leptos#3595).
#[derive(Clone, Copy)]
pub struct SamlSettingsState {
    save: ServerAction<SaveSamlSettings>,
    rotate: ServerAction<RotateSpKey>,
    retire: ServerAction<RetireSpKey>,
    settings: SamlResource,
}

impl SamlSettingsState {
    /// `shown`: whether the Single sign-on area is open, with SAML chosen.
    pub fn new(shown: Memo<bool>) -> Self {
        let query = leptos_router::hooks::use_query_map();
        let wanted = Memo::new(move |_| {
            shown.get() && query.with(|q| q.get("protocol").as_deref() != Some("oidc"))
        });
        Self {
            save: ServerAction::new(),
            rotate: ServerAction::new(),
            retire: ServerAction::new(),
            settings: Resource::new(
                move || wanted.get(),
                |wanted| async move {
                    if wanted {
                        current_saml_settings().await
                    } else {
                        Ok(None)
                    }
                },
            ),
        }
    }
}

/// A value to copy into the provider: a read-only field and a copy button.
#[component]
fn CopyValue(label: &'static str, id: &'static str, value: String) -> impl IntoView {
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <div class="copy-row">
                <input id=id value=value.clone() readonly class="readonly-id" />
                <CopyButton label=format!("Copy {}", label.to_lowercase()) text=value />
            </div>
        </div>
    }
}

#[component]
pub fn SamlSettings(state: SamlSettingsState, provider_name: Option<String>) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                let provider_name = provider_name.clone();
                Suspend::new(async move {
                    match state.settings.await {
                        Ok(Some(view)) => view! { <SamlForms view state provider_name /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

fn expiry(certificate: &CertificateView) -> String {
    let when = format!(
        "{} {}",
        date_of(&certificate.not_after),
        time_of(&certificate.not_after)
    );
    if certificate.expired {
        format!("Expired {when}")
    } else {
        when
    }
}

#[component]
fn SamlForms(
    view: SamlSettingsView,
    state: SamlSettingsState,
    provider_name: Option<String>,
) -> impl IntoView {
    let SamlSettingsState {
        save,
        rotate,
        retire,
        ..
    } = state;
    let saved = save.value();
    let provider = view.provider.clone();
    let upload_url = <super::saml_api::UploadSamlMetadata as server_fn::ServerFn>::url();
    // The upload is a plain multipart form: its error comes back in the URL.
    let upload_error = crate::ui::form::url_error(
        <super::saml_api::UploadSamlMetadata as server_fn::ServerFn>::PATH,
        "metadata_file",
    );
    let id_for_save = view.organization_id.clone();
    let id_for_rotate = view.organization_id.clone();
    let sp_keys = view.sp_certificates.len();
    let organization_id = view.organization_id.clone();
    let sp_rows = view
        .sp_certificates
        .iter()
        .cloned()
        .map(|certificate| {
            let expires = expiry(&certificate);
            let retire_form = certificate.key_id.filter(|_| sp_keys > 1).map(|key_id| {
                let organization_id = organization_id.clone();
                view! {
                    <ActionForm action=retire>
                        <input type="hidden" name="organization_id" value=organization_id />
                        <input type="hidden" name="key_id" value=key_id.to_string() />
                        <SubmitButton label="Retire" busy_label="Retiring…" class="button" />
                    </ActionForm>
                }
            });
            view! {
                <tr>
                    <td><code class="fingerprint">{certificate.sha256}</code></td>
                    <td>{expires}</td>
                    <td>{retire_form}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <h3>"Values for your identity provider"</h3>
        <p class="field-hint">"Create a SAML 2.0 app at the provider with these values, or give it the SP metadata."</p>
        <CopyValue label="ACS URL" id="saml-acs-url" value=view.acs_url.clone() />
        <CopyValue label="SP entity ID" id="saml-entity-id" value=view.entity_id.clone() />
        <CopyValue label="NameID format" id="saml-name-id-format" value=view.name_id_format.clone() />
        <p><a href=view.metadata_url.clone() download="orgdesk-sp-metadata.xml">"Download the SP metadata"</a></p>

        <h4 id="sp-certificates-heading">"SP certificates"</h4>
        <p class="field-hint">"Orgdesk signs its requests with the newest and accepts assertions encrypted to any of them. Add a new one, give the provider the new metadata, then retire the old one."</p>
        <table class="table" aria-labelledby="sp-certificates-heading">
            <thead><tr><th scope="col">"SHA-256 fingerprint"</th><th scope="col">"Expires"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>{sp_rows}</tbody>
        </table>
        <FormAlert message=form_error(retire.value()) />
        <ActionForm action=rotate>
            <FormAlert message=form_error(rotate.value()) />
            <input type="hidden" name="organization_id" value=id_for_rotate />
            <SubmitButton label="Add a new SP certificate" busy_label="Making a key…" class="button" />
        </ActionForm>

        {provider.clone().map(|provider| {
            let rows = provider.certificates.iter().map(|c| {
                let expires = expiry(c);
                view! { <tr><td><code class="fingerprint">{c.sha256.clone()}</code></td><td>{c.subject.clone()}</td><td>{expires}</td></tr> }
            }).collect_view();
            let expiry_banner = provider.expires_soon.clone().map(|at| view! {
                <p class="form-alert" role="alert">
                    {format!("The provider's signing certificates expire on {} at {}. Sign-ins fail after that: upload the provider's new metadata, or give its metadata URL so Orgdesk fetches it daily.", date_of(&at), time_of(&at))}
                </p>
            });
            view! {
                {expiry_banner}
                <h3>"Identity provider"</h3>
                <dl class="facts">
                    <dt>"Entity ID"</dt><dd>{provider.entity_id.clone()}</dd>
                    <dt>"Sign-in URL (HTTP-Redirect)"</dt><dd>{provider.sso_url.clone()}</dd>
                    {provider.metadata_url.clone().map(|url| view! { <dt>"Metadata URL"</dt><dd>{url}" (fetched again every day)"</dd> })}
                </dl>
                <table class="table" aria-label="The provider's signing certificates">
                    <thead><tr><th scope="col">"SHA-256 fingerprint"</th><th scope="col">"Subject"</th><th scope="col">"Expires"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            }
        })}

        <h3>{if provider.is_some() { "Update the provider" } else { "Connect the provider" }}</h3>
        <form
            class="upload-form"
            method="post"
            enctype="multipart/form-data"
            action=upload_url
        >
            <input type="hidden" name="organization_id" value=view.organization_id.clone() />
            <div class="field">
                <label for="field-metadata_file">"Metadata file"</label>
                <p class="field-hint" id="field-metadata_file-hint">"The provider's metadata as an XML file (at most 512 KiB). Uploading keeps the name and attribute mapping below."</p>
                <input
                    id="field-metadata_file"
                    type="file"
                    name="metadata_file"
                    accept=".xml,application/xml,text/xml,application/samlmetadata+xml"
                    required=true
                    aria-describedby=if upload_error.is_some() { "field-metadata_file-hint field-metadata_file-error" } else { "field-metadata_file-hint" }
                    aria-invalid=upload_error.as_ref().map(|_| "true")
                />
                {upload_error.clone().map(|message| view! { <p class="field-error" id="field-metadata_file-error">{message}</p> })}
            </div>
            <button type="submit" class="button">"Upload metadata"</button>
        </form>
        <p class="field-hint">"Or paste it, or give its URL:"</p>
        <KeepTypedValues><ActionForm action=save>
            <FormAlert message=form_error(saved) />
            <input type="hidden" name="organization_id" value=id_for_save />
            <TextField label="Provider name" id="saml_provider_name" name="provider_name" value=provider_name.unwrap_or_default() maxlength=100 required=true hint="How the login page names it, e.g. Acme Okta." error=field_error(saved, "provider_name") />
            <TextField label="Metadata URL" name="metadata_url" input_type="url" value=provider.as_ref().and_then(|p| p.metadata_url.clone()).unwrap_or_default() hint="Where the provider publishes its metadata. Orgdesk fetches it now and every day. Leave empty to paste the XML instead." error=field_error(saved, "metadata_url") />
            <TextArea label="Metadata XML" name="metadata_xml" hint="Or paste the provider's metadata here (at most 512 KiB). Leave both empty to keep the saved metadata." error=field_error(saved, "metadata_xml") />
            <fieldset>
                <legend>"Attribute mapping"</legend>
                <p class="field-hint">"Leave empty for the usual names (Okta, Microsoft Entra ID and Google Workspace work unchanged): the email comes from the email claim or the NameID."</p>
                <TextField label="Email attribute" name="email_attribute" value=provider.as_ref().map(|p| p.email_attribute.clone()).unwrap_or_default() maxlength=255 error=field_error(saved, "email_attribute") />
                <TextField label="First name attribute" name="first_name_attribute" value=provider.as_ref().map(|p| p.first_name_attribute.clone()).unwrap_or_default() maxlength=255 error=field_error(saved, "first_name_attribute") />
                <TextField label="Last name attribute" name="last_name_attribute" value=provider.as_ref().map(|p| p.last_name_attribute.clone()).unwrap_or_default() maxlength=255 error=field_error(saved, "last_name_attribute") />
                <TextField label="Stable user ID attribute" name="user_id_attribute" value=provider.as_ref().map(|p| p.user_id_attribute.clone()).unwrap_or_default() maxlength=255 hint="Optional: an ID that never changes, when the NameID may." error=field_error(saved, "user_id_attribute") />
            </fieldset>
            <TextArea label="AuthnContextClassRef values that mean multi-factor authentication" name="mfa_class_refs" value=provider.as_ref().map(|p| p.mfa_class_refs.clone()).unwrap_or_default() maxlength=2000 hint="One per line. A sign-in with one of them satisfies an organization that requires two-factor authentication." error=field_error(saved, "mfa_class_refs") />
            <div class="field checkbox">
                <input type="checkbox" id="field-sign_requests" name="sign_requests" value="true" checked=provider.as_ref().is_none_or(|p| p.sign_requests) aria-describedby="field-sign_requests-hint" />
                <label for="field-sign_requests">"Sign authentication requests"</label>
                <p class="field-hint" id="field-sign_requests-hint">"With the newest SP certificate (RSA-SHA256). Turn off only for a provider that refuses signed requests."</p>
            </div>
            <div class="actions end">
                <SubmitButton label="Save" busy_label="Saving…" />
            </div>
        </ActionForm></KeepTypedValues>

        {view.last_test.clone().map(|report| view! { <Inspector report /> })}
    }
}

/// The last Test connection: what arrived and how Orgdesk read it, or why it was refused.
#[component]
fn Inspector(report: InspectorView) -> impl IntoView {
    let when = format!("{} {}", date_of(&report.at), time_of(&report.at));
    let attributes = report
        .attributes
        .iter()
        .map(|(name, values)| view! { <tr><th scope="row">{name.clone()}</th><td>{values.join(", ")}</td></tr> })
        .collect_view();
    let clock = report
        .clock_difference_seconds
        .map(|seconds| match seconds {
            0 => "The provider's clock agrees with Orgdesk's.".to_string(),
            s if s > 0 => format!("The provider's clock is {s} s ahead of Orgdesk's."),
            s => format!("The provider's clock is {} s behind Orgdesk's.", -s),
        });
    view! {
        <section class="inspector" aria-labelledby="inspector-heading">
            <h3 id="inspector-heading">"Last test: assertion inspector"</h3>
            <p>{format!("Tested {when}.")}</p>
            {report.failure.clone().map(|failure| view! { <p class="form-alert" role="alert">{failure}</p> })}
            {report.name_id.clone().map(|name_id| view! {
                <dl class="facts">
                    <dt>"NameID"</dt><dd>{name_id}</dd>
                    <dt>"NameID format"</dt><dd>{report.name_id_format.clone().unwrap_or_else(|| "(none)".into())}</dd>
                    <dt>"Email Orgdesk read"</dt><dd>{report.mapped_email.clone().unwrap_or_else(|| "(none)".into())}</dd>
                    <dt>"Name Orgdesk read"</dt><dd>{report.mapped_name.clone().unwrap_or_else(|| "(none)".into())}</dd>
                    <dt>"Signed"</dt><dd>{report.signed_elements.join(" and ")}{if report.encrypted { " (assertion encrypted)" } else { "" }}</dd>
                    <dt>"Verified by the certificate"</dt><dd><code class="fingerprint">{report.certificate.clone().unwrap_or_default()}</code></dd>
                    <dt>"AuthnContextClassRef"</dt><dd>{report.class_refs.join(", ")}{if report.multi_factor { " (counts as two-factor)" } else { "" }}</dd>
                    <dt>"Clock"</dt><dd>{clock.clone().unwrap_or_default()}</dd>
                </dl>
                <table class="table" aria-label="Attributes received">
                    <thead><tr><th scope="col">"Attribute"</th><th scope="col">"Values"</th></tr></thead>
                    <tbody>{attributes}</tbody>
                </table>
            })}
        </section>
    }
}
