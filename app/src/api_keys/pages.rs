//! Organization Profile → API keys: make a key (name, scopes, expiry), see it once, list
//! the keys with their last use, revoke one (confirmed). Plain forms: it all works without
//! JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{
    api::{
        current_api_keys, ApiKeyRow, ApiKeysView, CreateApiKey, DismissNewApiKey, KeyStatus,
        NewKeyShown, RevokeApiKey,
    },
    rules::{DEFAULT_EXPIRY, EXPIRY_CHOICES},
};
use crate::{
    error::AppError,
    ui::{
        clipboard::CopyButton,
        form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
        list::time_of,
        modal::{close_href, modal_href, Modal, ModalCancel},
    },
};

pub const REVOKE_KEY_DIALOG: &str = "revoke-api-key";

type KeysResource = Resource<Result<Option<ApiKeysView>, AppError>>;

/// The tab's actions and data, made by the page outside every Suspend
/// (leptos-rs/leptos#3595).
#[derive(Clone, Copy)]
pub struct ApiKeysState {
    create: ServerAction<CreateApiKey>,
    dismiss: ServerAction<DismissNewApiKey>,
    revoke: ServerAction<RevokeApiKey>,
    keys: KeysResource,
    cancel: Memo<String>,
}

impl ApiKeysState {
    /// `shown`: whether the tab is open (the keys load only then).
    pub fn new(shown: Memo<bool>) -> Self {
        Self {
            create: ServerAction::new(),
            dismiss: ServerAction::new(),
            revoke: ServerAction::new(),
            keys: Resource::new(
                move || shown.get(),
                |shown| async move {
                    if shown {
                        current_api_keys().await
                    } else {
                        Ok(None)
                    }
                },
            ),
            cancel: close_href(),
        }
    }
}

fn notice_from_query() -> impl Fn() -> Option<&'static str> {
    let query = use_query_map();
    move || {
        query.with(|q| match q.get("saved").as_deref() {
            Some("created") => Some("The key was created."),
            Some("revoked") => {
                Some("The key was revoked: requests with it are refused from now on.")
            }
            _ => None,
        })
    }
}

#[component]
pub fn ApiKeysTab(state: ApiKeysState) -> impl IntoView {
    let notice = notice_from_query();
    view! {
        <section class="card" aria-labelledby="api-keys-heading">
            <h2 id="api-keys-heading">"API keys"</h2>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <p>
                "A key lets a program use the Orgdesk API for this organization: "
                <code>"Authorization: Bearer odk_…"</code>
                " on requests to "<code>"/api/v1"</code>". "
                "The key belongs to the organization and keeps working when the person who made it leaves; it does only what its scopes allow. "
                <a href="/api/docs">"API reference"</a>
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match state.keys.await {
                        Ok(Some(view)) if view.can_manage => view! { <ManageKeys view state /> }.into_any(),
                        Ok(Some(_)) => view! { <p>"Only owners and admins make and revoke API keys."</p> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <RevokeKeyModal state />
    }
}

#[component]
fn ManageKeys(view: ApiKeysView, state: ApiKeysState) -> impl IntoView {
    let ApiKeysView {
        organization_id,
        grantable,
        keys,
        new_key,
        ..
    } = view;
    let create = state.create;
    let created = create.value();
    view! {
        {new_key.map(|shown| view! { <NewKey shown dismiss=state.dismiss /> })}
        <h3>"Create API key"</h3>
        <KeepTypedValues><ActionForm action=create>
            <FormAlert message=form_error(created) />
            <input type="hidden" name="organization_id" value=organization_id.clone() />
            <TextField label="Key name" name="name" maxlength=100 required=true hint="What uses it, like “HR sync” or “CI deploy”." error=field_error(created, "name") />
            <fieldset aria-describedby="field-scopes-hint">
                <legend>"Scopes"</legend>
                <p class="field-hint" id="field-scopes-hint">"What the key may do. You can give only what your role may do."</p>
                {grantable.into_iter().map(|scope| {
                    let id = format!("scope-{}", scope.as_str());
                    view! {
                        <div class="field checkbox">
                            <input type="checkbox" id=id.clone() name="scopes[]" value=scope.as_str() />
                            <label for=id>{scope.description()}</label>
                        </div>
                    }
                }).collect_view()}
                {move || field_error(created, "scopes").get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            </fieldset>
            <div class="field">
                <label for="field-expires">"Expires"</label>
                <select id="field-expires" name="expires">
                    {EXPIRY_CHOICES.into_iter().map(|(value, label)| view! {
                        <option value=value selected=value == DEFAULT_EXPIRY>{label}</option>
                    }).collect_view()}
                </select>
                {move || field_error(created, "expires").get().map(|message| view! { <p class="field-error">{message}</p> })}
            </div>
            <div class="actions">
                <SubmitButton label="Create API key" busy_label="Creating…" class="button" />
            </div>
        </ActionForm></KeepTypedValues>
        <h3>"Keys"</h3>
        {if keys.is_empty() {
            view! { <p>"No API keys yet."</p> }.into_any()
        } else {
            view! { <KeysTable keys /> }.into_any()
        }}
    }
}

/// The new key, shown this once: selectable text, and a copy button where JavaScript runs.
#[component]
fn NewKey(shown: NewKeyShown, dismiss: ServerAction<DismissNewApiKey>) -> impl IntoView {
    view! {
        <div class="notice" role="region" aria-labelledby="new-key-heading">
            <h3 id="new-key-heading">{format!("Your new key “{}”", shown.name)}</h3>
            <p>"Copy it now and keep it somewhere safe: Orgdesk keeps only a fingerprint of it and cannot show it again."</p>
            <p><code class="secret" id="new-api-key">{shown.key.clone()}</code></p>
            <CopyButton label="Copy key".to_string() text=shown.key />
            <ActionForm action=dismiss>
                <div class="actions">
                    <SubmitButton label="I have copied the key" busy_label="Hiding…" class="button" />
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn KeysTable(keys: Vec<ApiKeyRow>) -> impl IntoView {
    view! {
        <table class="table">
            <caption class="visually-hidden">"API keys"</caption>
            <thead>
                <tr>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Key"</th>
                    <th scope="col">"Scopes"</th>
                    <th scope="col">"Created by"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Expires"</th>
                    <th scope="col">"Last used"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {keys.into_iter().map(|key| view! { <KeyRow key /> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn KeyRow(key: ApiKeyRow) -> impl IntoView {
    let badge = match key.status {
        KeyStatus::Active => "badge done",
        KeyStatus::Expired | KeyStatus::Revoked => "badge todo",
    };
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
    let last_used = match (&key.last_used_at, &key.last_used_address) {
        (Some(at), Some(address)) => format!("{} from {address}", time_of(at)),
        (Some(at), None) => time_of(at),
        (None, _) => "Never".into(),
    };
    let revoke_href = modal_href(
        REVOKE_KEY_DIALOG,
        &[("tab", "api-keys"), ("key", &key.id.to_string())],
    );
    let revoke_label = format!("Revoke {}", key.name);
    view! {
        <tr>
            <th scope="row">{key.name.clone()}</th>
            <td><code>{format!("{}…", key.prefix)}</code></td>
            <td>{scopes.join(", ")}</td>
            <td>{key.created_by}</td>
            <td>{time_of(&key.created_at)}</td>
            <td>{key.expires_at.as_deref().map(time_of).unwrap_or_else(|| "Never".into())}</td>
            <td>{last_used}</td>
            <td><span class=badge>{key.status.label()}</span></td>
            <td>
                {key.can_revoke.then(|| view! {
                    <a class="button small danger" href=revoke_href aria-label=revoke_label>"Revoke"</a>
                })}
            </td>
        </tr>
    }
}

/// Confirms revoking a key (programs using it stop working at once).
#[component]
fn RevokeKeyModal(state: ApiKeysState) -> impl IntoView {
    let cancel = state.cancel;
    let revoke = state.revoke;
    let result = revoke.value();
    let query = use_query_map();
    let chosen = move || {
        query.with(|q| {
            q.get("key")
                .and_then(|id| id.parse::<i32>().ok())
                .unwrap_or_default()
        })
    };
    view! {
        <Modal name=REVOKE_KEY_DIALOG title="Revoke API key">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let view = state.keys.await.ok().flatten().filter(|v| v.can_manage);
                    let id = chosen();
                    let row = view.as_ref().and_then(|v| v.keys.iter().find(|k| k.id == id && k.can_revoke).cloned());
                    let (Some(view), Some(row)) = (view, row) else {
                        return view! { <p>"That key is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    view! {
                        <p>{format!("Programs that use “{}” ({}…) get “invalid key” from their next request. This cannot be undone.", row.name, row.prefix)}</p>
                        <ActionForm action=revoke>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=view.organization_id.clone() />
                            <input type="hidden" name="key_id" value=row.id.to_string() />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Revoke" busy_label="Revoking…" class="button danger" />
                            </div>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Suspense>
        </Modal>
    }
}
