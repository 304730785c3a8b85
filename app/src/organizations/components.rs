//! Pieces of the organization pages: the Add New Organization modal, the list of the user's
//! organizations, the logo uploader and the delete confirmation.

use leptos::prelude::*;

use super::api::{
    CreateOrganization, DeleteOrganization, NextStep, NextStepKind, OrganizationSummary,
    StepStatus, SwitchOrganization,
};
use crate::accounts::factors::pages::ProofField;
use crate::ui::{
    form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
    modal::{close_href, Modal, ModalCancel},
};

pub const NEW_ORGANIZATION_DIALOG: &str = "new-organization";
pub const DELETE_ORGANIZATION_DIALOG: &str = "delete-organization";

/// The Add New Organization modal: name, Save.
#[component]
pub fn CreateOrganizationModal() -> impl IntoView {
    let cancel = close_href();
    let create = ServerAction::<CreateOrganization>::new();
    let result = create.value();
    view! {
        <Modal name=NEW_ORGANIZATION_DIALOG title="Add New Organization">
            <KeepTypedValues><ActionForm action=create>
                <FormAlert message=form_error(result) />
                <TextField
                    label="Organization name"
                    name="name"
                    maxlength=super::rules::ORG_NAME_MAX_CHARS
                    required=true
                    error=field_error(result, "name")
                />
                <div class="actions">
                    <ModalCancel href=cancel />
                    <SubmitButton label="Save" busy_label="Saving…" />
                </div>
            </ActionForm></KeepTypedValues>
        </Modal>
    }
}

/// A logo thumbnail, or the organization's initial when it has none.
#[component]
pub fn LogoThumbnail(
    name: String,
    logo_url: Option<String>,
    #[prop(default = "thumb")] class: &'static str,
    /// Beside the organization's name already: no text alternative, or it would be read twice.
    #[prop(optional)]
    decorative: bool,
) -> impl IntoView {
    match logo_url {
        Some(url) => {
            let alt = if decorative {
                String::new()
            } else {
                format!("{name} logo")
            };
            view! { <img class=class src=url alt=alt width="48" height="48" /> }.into_any()
        }
        None => {
            let initial = name
                .chars()
                .next()
                .unwrap_or('?')
                .to_uppercase()
                .to_string();
            view! { <span class=format!("{class} placeholder") aria-hidden="true">{initial}</span> }
                .into_any()
        }
    }
}

/// The organization the user acts on, at the top of the navigation; opens Manage
/// Organizations, where another can be chosen.
#[component]
pub fn CurrentOrganizationNav() -> impl IntoView {
    // Pages render only on the server (islands): the session middleware's reading is here.
    #[cfg(feature = "ssr")]
    let current = crate::server::viewer()
        .and_then(|user| user.current)
        .map(|current| super::api::CurrentOrganizationView::from(&*current));
    #[cfg(not(feature = "ssr"))]
    let current: Option<super::api::CurrentOrganizationView> = None;
    match current {
        Some(org) => view! {
            // Read as "Current organization, <name>": the logo is decoration.
            <a class="current-org" href="/organizations">
                <LogoThumbnail name=org.name.clone() logo_url=org.logo_url decorative=true />
                <span>
                    <span class="current-org-label">"Current organization"</span>
                    <span class="current-org-name">{org.name}</span>
                </span>
            </a>
        }
        .into_any(),
        None => view! {
            <a class="current-org" href="/organizations">
                <span class="current-org-label">"No organization yet"</span>
            </a>
        }
        .into_any(),
    }
}

/// The Overview's "Next steps" for owners: each step the reference documentation names after
/// creating an organization, whether it is done, and a link to where it is done.
#[component]
pub fn NextSteps(steps: Vec<NextStep>) -> impl IntoView {
    let required: Vec<_> = steps
        .iter()
        .filter(|s| s.kind != NextStepKind::SetUpSingleSignOn)
        .collect();
    let done = required
        .iter()
        .filter(|s| s.status == StepStatus::Done)
        .count();
    let summary = format!("{done} of {} done", required.len());
    let sso_on = steps
        .iter()
        .any(|s| s.kind == NextStepKind::SetUpSingleSignOn && s.status == StepStatus::Done);
    view! {
        <section class="card" aria-labelledby="next-steps-heading">
            <h2 id="next-steps-heading">"Next steps"</h2>
            <p class="field-hint">{summary}</p>
            <ol class="next-steps">
                {steps.into_iter().map(|step| {
                    let (title, description, href) = step_text(step.kind, sso_on);
                    let (status, class) = match step.status {
                        StepStatus::Done => ("Done", "badge done"),
                        StepStatus::Started => ("Started", "badge"),
                        StepStatus::ToDo => ("To do", "badge todo"),
                    };
                    view! {
                        <li>
                            <div>
                                <a href=href>{title}</a>
                                {(step.kind == NextStepKind::SetUpSingleSignOn).then_some(" (optional)")}
                                <p class="field-hint">{description}</p>
                            </div>
                            <span class=class>{status}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}

/// A step's title, what it means, and the page where it is done.
fn step_text(kind: NextStepKind, sso_on: bool) -> (&'static str, &'static str, String) {
    match kind {
        NextStepKind::FillOutProfile => (
            "Fill out your organization profile",
            "A company overview and a contact (alert email, sales email or phone): your listing in the directory uses them.",
            "/organization/profile".into(),
        ),
        NextStepKind::UploadLogo => (
            "Upload your company logo",
            "Shown beside your organization's name here and in the directory.",
            "/organization/profile".into(),
        ),
        NextStepKind::InviteUsers if sso_on => (
            "Add users",
            "Your colleagues join when they first sign in through your identity provider.",
            "/access-control".into(),
        ),
        NextStepKind::InviteUsers => (
            "Invite users",
            "Invite colleagues by email; they join once they accept.",
            format!(
                "/access-control{}",
                crate::ui::modal::modal_href("invite", &[("tab", "invited")])
            ),
        ),
        NextStepKind::SetUpSingleSignOn => (
            "Set up single sign-on",
            "For companies with an identity provider: members sign in through it and join automatically.",
            crate::sso::SETTINGS_PAGE.into(),
        ),
    }
}

/// The user's organizations as a table: logo, name, role, and a way to make one current.
#[component]
pub fn OrganizationTable(
    organizations: Vec<OrganizationSummary>,
    /// Created by the page, outside any `Suspend`: Leptos may dispose what a `Suspend`
    /// creates while rendering on the server (leptos-rs/leptos#3595).
    switch: ServerAction<SwitchOrganization>,
) -> impl IntoView {
    view! {
        <FormAlert message=form_error(switch.value()) />
        <table class="table">
            <caption class="visually-hidden">"Your organizations"</caption>
            <thead>
                <tr>
                    <th scope="col">"Logo"</th>
                    <th scope="col">"Organization"</th>
                    <th scope="col">"Your role"</th>
                    <th scope="col">"Current"</th>
                </tr>
            </thead>
            <tbody>
                {organizations
                    .into_iter()
                    .map(|org| {
                        let name = org.name.clone();
                        view! {
                            <tr aria-current=org.current.then_some("true")>
                                <td><LogoThumbnail name=org.name.clone() logo_url=org.logo_url.clone() /></td>
                                <th scope="row">{org.name.clone()}</th>
                                <td>{org.role.label()}</td>
                                <td>
                                    {if org.current {
                                        view! { <span class="badge">"Current organization"</span> }.into_any()
                                    } else {
                                        view! {
                                            <ActionForm action=switch>
                                                <input type="hidden" name="organization_id" value=org.public_id.clone() />
                                                <button type="submit" class="button">
                                                    "Switch to " <span class="visually-hidden">{name}</span>
                                                </button>
                                            </ActionForm>
                                        }
                                            .into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// The delete confirmation: the exact name must be typed. Rendered outside the page's
/// Suspend (its modal state must outlive it); `target` loads the organization's (ID, name),
/// None unless the user may delete it.
#[component]
pub fn DeleteOrganizationModal(
    target: Resource<Option<(String, String)>>,
    delete: ServerAction<DeleteOrganization>,
) -> impl IntoView {
    let cancel = close_href();
    let result = delete.value();
    // Deleting asks again who is there, unless the session proved it in the last 10 minutes.
    let proof = Resource::new(|| (), |_| crate::accounts::factors::api::proof_needed());
    view! {
        <Modal name=DELETE_ORGANIZATION_DIALOG title="Delete organization">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let Some((public_id, name)) = target.await else {
                        return view! { <p>"Only owners can delete an organization, and only before production."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    let proof_request = proof.await.ok().flatten();
                    view! {
                        <p>
                            "This deletes " <strong>{name}</strong>
                            " with its members' access, its invitations and its logo. It cannot be undone."
                        </p>
                        <ActionForm action=delete>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=public_id />
                            <TextField
                                label="Type the organization name to confirm"
                                name="confirm_name"
                                required=true
                                error=field_error(result, "confirm_name")
                            />
                            <ProofField
                                id="proof-delete"
                                needs_proof=proof_request.is_some()
                                passkey=proof_request.as_ref().is_some_and(|r| r.passkey)
                                request=proof_request.map(|r| r.text).unwrap_or_default()
                                error=field_error(result, "proof")
                            />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Delete" busy_label="Deleting…" class="button danger" />
                            </div>
                        </ActionForm>
                    }.into_any()
                })}
            </Suspense>
        </Modal>
    }
}

/// The logo thumbnail as a file picker with Save Logo: a plain multipart form that comes
/// back to the profile page. As an island, the upload shows its progress and the new logo
/// replaces the old in place. `error` is the one a plain form post brought back.
#[island]
pub fn LogoUploader(
    public_id: String,
    name: String,
    logo_url: Option<String>,
    error: Option<String>,
) -> impl IntoView {
    use super::api::{LogoView, UploadLogo};
    use crate::error::AppError;
    use server_fn::ServerFn;

    // The logo just uploaded, shown instead of the one the page loaded with.
    let uploaded = RwSignal::new(None::<String>);
    // Upload progress in percent while a file is being sent.
    let progress = RwSignal::new(None::<u32>);
    let error = RwSignal::new(error);
    let logo = Signal::derive(move || uploaded.get().or_else(|| logo_url.clone()));
    let form = NodeRef::<leptos::html::Form>::new();

    let finish = move |status: u16, body: String| {
        progress.set(None);
        if (200..300).contains(&status) {
            match serde_json::from_str::<LogoView>(&body) {
                Ok(view) => uploaded.set(Some(view.logo_url)),
                Err(_) => error.set(Some("The upload failed. Try again.".into())),
            }
        } else {
            let message = serde_json::from_str::<AppError>(&body)
                .map(|err| err.message_for("logo").unwrap_or_else(|| err.to_string()))
                .unwrap_or_else(|_| "The upload failed. Try again.".into());
            error.set(Some(message));
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        let Some(form) = form.get() else { return };
        ev.prevent_default();
        error.set(None);
        progress.set(Some(0));
        if let Err(message) =
            upload_with_progress(&form, move |done| progress.set(Some(done)), finish)
        {
            progress.set(None);
            error.set(Some(message));
        }
    };

    let thumbnail_name = name.clone();
    view! {
        <form
            class="logo-form"
            method="post"
            enctype="multipart/form-data"
            action=UploadLogo::url()
            node_ref=form
            on:submit=on_submit
        >
            <input type="hidden" name="organization_id" value=public_id />
            <label for="logo-file" class="logo-picker">
                {move || view! { <LogoThumbnail name=thumbnail_name.clone() logo_url=logo.get() class="logo-large" /> }}
                <span>"Choose a logo image"</span>
            </label>
            <input
                id="logo-file"
                type="file"
                name="logo"
                class="file-input"
                accept="image/png,image/jpeg,image/gif,image/webp"
                aria-describedby="logo-hint"
                aria-invalid=move || error.get().map(|_| "true")
            />
            <p id="logo-hint" class="field-hint">
                "PNG, JPEG, GIF or WebP; at most 2 MiB and 4,096 × 4,096 pixels."
            </p>
            {move || progress.get().map(|done| view! {
                <progress max="100" value=done aria-label="Logo upload progress"></progress>
            })}
            {move || error.get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            <button type="submit" class="button" disabled=move || progress.get().is_some()>
                {move || if progress.get().is_some() { "Uploading…" } else { "Save Logo" }}
            </button>
        </form>
    }
}

/// Sends the form with XMLHttpRequest, which (unlike fetch) reports upload progress.
#[cfg(feature = "hydrate")]
fn upload_with_progress(
    form: &web_sys::HtmlFormElement,
    on_progress: impl Fn(u32) + 'static,
    on_done: impl FnOnce(u16, String) + 'static,
) -> Result<(), String> {
    use wasm_bindgen::{closure::Closure, JsCast};
    let failed = |_| "The upload could not start. Try again.".to_string();
    let data = web_sys::FormData::new_with_form(form).map_err(failed)?;
    let request = web_sys::XmlHttpRequest::new().map_err(failed)?;
    request.open("POST", &form.action()).map_err(failed)?;
    request
        .set_request_header("Accept", "application/json")
        .map_err(failed)?;
    let progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| {
            if ev.length_computable() && ev.total() > 0.0 {
                on_progress((100.0 * ev.loaded() / ev.total()) as u32);
            }
        });
    request
        .upload()
        .map_err(failed)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    progress.forget();
    let finished = request.clone();
    let mut on_done = Some(on_done);
    let loadend = Closure::<dyn FnMut()>::new(move || {
        if let Some(done) = on_done.take() {
            let body = finished.response_text().ok().flatten().unwrap_or_default();
            done(finished.status().unwrap_or(0), body);
        }
    });
    request.set_onloadend(Some(loadend.as_ref().unchecked_ref()));
    loadend.forget();
    request.send_with_opt_form_data(Some(&data)).map_err(failed)
}

#[cfg(not(feature = "hydrate"))]
fn upload_with_progress(
    _form: &web_sys::HtmlFormElement,
    _on_progress: impl Fn(u32) + 'static,
    _on_done: impl FnOnce(u16, String) + 'static,
) -> Result<(), String> {
    Err("Uploading needs the page to be loaded in a browser.".into())
}
