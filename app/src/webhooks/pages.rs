//! Organization Profile → Webhooks (owners): add an endpoint (URL and events) and see its
//! signing secret once; per endpoint **Send test event**, **Delivery log** (with
//! **Redeliver**), **Rotate secret**, **Disable**/**Enable** and **Remove** (confirmed).
//! Plain forms: it all works without JavaScript.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{
    api::{
        current_webhooks, AddWebhook, DismissWebhookSecret, RedeliverWebhook, RemoveWebhook,
        RotateWebhookSecret, SendTestWebhook, SetWebhookEnabled,
    },
    events::WebhookEvent,
    views::{DeliveryLog, EndpointRow, NewSecretShown, WebhooksView},
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

pub const REMOVE_WEBHOOK_DIALOG: &str = "remove-webhook";

type WebhooksResource = Resource<Result<Option<WebhooksView>, AppError>>;

/// The tab's actions and data, made by the page outside every Suspend
/// (leptos-rs/leptos#3595).
#[derive(Clone, Copy)]
pub struct WebhooksState {
    add: ServerAction<AddWebhook>,
    dismiss: ServerAction<DismissWebhookSecret>,
    rotate: ServerAction<RotateWebhookSecret>,
    set_enabled: ServerAction<SetWebhookEnabled>,
    remove: ServerAction<RemoveWebhook>,
    test: ServerAction<SendTestWebhook>,
    redeliver: ServerAction<RedeliverWebhook>,
    webhooks: WebhooksResource,
    cancel: Memo<String>,
}

impl WebhooksState {
    /// `shown`: whether the tab is open (the endpoints load only then).
    pub fn new(shown: Memo<bool>) -> Self {
        let query = use_query_map();
        let endpoint =
            Memo::new(move |_| query.with(|q| q.get("endpoint").and_then(|id| id.parse().ok())));
        Self {
            add: ServerAction::new(),
            dismiss: ServerAction::new(),
            rotate: ServerAction::new(),
            set_enabled: ServerAction::new(),
            remove: ServerAction::new(),
            test: ServerAction::new(),
            redeliver: ServerAction::new(),
            webhooks: Resource::new(
                move || (shown.get(), endpoint.get()),
                |(shown, endpoint)| async move {
                    if shown {
                        current_webhooks(endpoint).await
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
            Some("added") => Some("The endpoint was added."),
            Some("rotated") => {
                Some("A new signing secret was made; the old one keeps signing for 24 hours.")
            }
            Some("enabled") => Some("The endpoint was enabled."),
            Some("disabled") => Some("The endpoint was disabled: no events are sent to it."),
            Some("removed") => Some("The endpoint was removed."),
            Some("test-sent") => Some("A test event is on its way: its delivery shows below."),
            Some("redelivered") => Some("The event is on its way again."),
            _ => None,
        })
    }
}

#[component]
pub fn WebhooksTab(state: WebhooksState) -> impl IntoView {
    let notice = notice_from_query();
    view! {
        <section class="card" aria-labelledby="webhooks-heading">
            <h2 id="webhooks-heading">"Webhooks"</h2>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <p>
                "Orgdesk posts each change to this organization to your endpoints as a signed JSON event ("
                <a href="https://www.standardwebhooks.com">"Standard Webhooks"</a>
                "): check the "<code>"webhook-signature"</code>" header with the endpoint's secret. "
                "Failed deliveries are retried for three days."
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match state.webhooks.await {
                        Ok(Some(view)) if view.can_manage => view! { <ManageWebhooks view state /> }.into_any(),
                        Ok(Some(_)) => view! { <p>"Only owners manage webhooks."</p> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <RemoveWebhookModal state />
    }
}

#[component]
fn ManageWebhooks(view: WebhooksView, state: WebhooksState) -> impl IntoView {
    let WebhooksView {
        organization_id,
        endpoints,
        new_secret,
        log,
        ..
    } = view;
    let add = state.add;
    let added = add.value();
    view! {
        {new_secret.map(|shown| view! { <NewSecret shown dismiss=state.dismiss /> })}
        <h3>"Endpoints"</h3>
        {if endpoints.is_empty() {
            view! { <p>"No webhook endpoints yet."</p> }.into_any()
        } else {
            let organization_id = organization_id.clone();
            view! { <EndpointsTable endpoints organization_id state /> }.into_any()
        }}
        {log.map(|log| view! { <DeliveryLogTable log organization_id=organization_id.clone() state /> })}
        <h3>"Add endpoint"</h3>
        <KeepTypedValues><ActionForm action=add>
            <FormAlert message=form_error(added) />
            <input type="hidden" name="organization_id" value=organization_id.clone() />
            <TextField label="Endpoint URL" name="url" input_type="url" maxlength=2048 required=true hint="Where Orgdesk posts the events, like https://hooks.example.com/orgdesk. It must be https at a public address." error=field_error(added, "url") />
            <fieldset aria-describedby="field-events-hint">
                <legend>"Events"</legend>
                <p class="field-hint" id="field-events-hint">"What to send. A SIEM takes every audit event."</p>
                {WebhookEvent::ALL.into_iter().map(|event| {
                    let id = format!("event-{}", event.as_str().replace('.', "-"));
                    view! {
                        <div class="field checkbox">
                            <input type="checkbox" id=id.clone() name="events[]" value=event.as_str() />
                            <label for=id>{event.label()}</label>
                        </div>
                    }
                }).collect_view()}
                {move || field_error(added, "events").get().map(|message| view! { <p class="field-error" role="alert">{message}</p> })}
            </fieldset>
            <div class="actions">
                <SubmitButton label="Add endpoint" busy_label="Adding…" class="button" />
            </div>
        </ActionForm></KeepTypedValues>
    }
}

/// The new secret, shown this once.
#[component]
fn NewSecret(shown: NewSecretShown, dismiss: ServerAction<DismissWebhookSecret>) -> impl IntoView {
    view! {
        <div class="notice" role="region" aria-labelledby="new-secret-heading">
            <h3 id="new-secret-heading">"The endpoint's signing secret"</h3>
            <p>{format!("Give it to the receiver at {} to check signatures. It is not shown again.", shown.url)}</p>
            <p><code class="secret" id="new-webhook-secret">{shown.secret.clone()}</code></p>
            <CopyButton label="Copy secret".to_string() text=shown.secret />
            <ActionForm action=dismiss>
                <div class="actions">
                    <SubmitButton label="I have copied the secret" busy_label="Hiding…" class="button" />
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
fn EndpointsTable(
    endpoints: Vec<EndpointRow>,
    organization_id: String,
    state: WebhooksState,
) -> impl IntoView {
    view! {
        <table class="table">
            <caption class="visually-hidden">"Webhook endpoints"</caption>
            <thead>
                <tr>
                    <th scope="col">"URL"</th>
                    <th scope="col">"Events"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Added"</th>
                    <th scope="col">"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {endpoints.into_iter().map(|endpoint| {
                    view! { <EndpointRowView endpoint organization_id=organization_id.clone() state /> }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn EndpointRowView(
    endpoint: EndpointRow,
    organization_id: String,
    state: WebhooksState,
) -> impl IntoView {
    let id = endpoint.id.to_string();
    let (badge, status) = if endpoint.enabled {
        ("badge done", "Enabled".to_string())
    } else {
        (
            "badge todo",
            endpoint
                .disabled_because
                .clone()
                .unwrap_or_else(|| "Disabled".into()),
        )
    };
    let log_href = format!(
        "{}&endpoint={id}#delivery-log-heading",
        super::WEBHOOKS_PAGE
    );
    let remove_href = modal_href(
        REMOVE_WEBHOOK_DIALOG,
        &[("tab", "webhooks"), ("remove", &id)],
    );
    let enabled = endpoint.enabled;
    let url = endpoint.url.clone();
    // Each action's form names the organization and the endpoint.
    let hidden = StoredValue::new((organization_id, id));
    let hidden = move || {
        let (organization_id, id) = hidden.get_value();
        view! {
            <input type="hidden" name="organization_id" value=organization_id />
            <input type="hidden" name="endpoint_id" value=id />
        }
    };
    view! {
        <tr>
            <th scope="row"><code>{endpoint.url.clone()}</code></th>
            <td>{endpoint.events.join(", ")}</td>
            <td><span class=badge>{status}</span></td>
            <td>{format!("{} by {}", time_of(&endpoint.created_at), endpoint.created_by)}</td>
            <td class="row-actions">
                <ActionForm action=state.test>
                    {hidden()}
                    <SubmitButton label="Send test event" busy_label="Sending…" class="button small" />
                </ActionForm>
                <a class="button small" href=log_href aria-label=format!("Delivery log of {url}")>"Delivery log"</a>
                <ActionForm action=state.rotate>
                    {hidden()}
                    <SubmitButton label="Rotate secret" busy_label="Rotating…" class="button small" />
                </ActionForm>
                <ActionForm action=state.set_enabled>
                    {hidden()}
                    <input type="hidden" name="enabled" value=(!enabled).to_string() />
                    <SubmitButton label=if enabled { "Disable" } else { "Enable" } busy_label="Saving…" class="button small" />
                </ActionForm>
                <a class="button small danger" href=remove_href aria-label=format!("Remove {}", endpoint.url)>"Remove"</a>
            </td>
        </tr>
    }
}

#[component]
fn DeliveryLogTable(
    log: DeliveryLog,
    organization_id: String,
    state: WebhooksState,
) -> impl IntoView {
    let endpoint_id = log.endpoint_id.to_string();
    view! {
        <h3 id="delivery-log-heading">{format!("Delivery log of {}", log.url)}</h3>
        {if log.rows.is_empty() {
            view! { <p>"No deliveries yet."</p> }.into_any()
        } else {
            view! {
                <table class="table" aria-labelledby="delivery-log-heading">
                    <thead>
                        <tr>
                            <th scope="col">"Event"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Time"</th>
                            <th scope="col">"Response code"</th>
                            <th scope="col">"Response"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {log.rows.into_iter().map(|row| {
                            let organization_id = organization_id.clone();
                            let endpoint_id = endpoint_id.clone();
                            view! {
                                <tr>
                                    <th scope="row"><code>{row.event_type}</code></th>
                                    <td>{format!("{} ({} attempt{})", row.status, row.attempts, if row.attempts == 1 { "" } else { "s" })}</td>
                                    <td>{time_of(&row.at)}</td>
                                    <td>{row.response_status.map(|s| s.to_string()).unwrap_or_else(|| "—".into())}</td>
                                    <td><code class="response">{row.response.unwrap_or_default()}</code></td>
                                    <td>
                                        <ActionForm action=state.redeliver>
                                            <input type="hidden" name="organization_id" value=organization_id />
                                            <input type="hidden" name="endpoint_id" value=endpoint_id />
                                            <input type="hidden" name="delivery_id" value=row.id.to_string() />
                                            <SubmitButton label="Redeliver" busy_label="Queuing…" class="button small" />
                                        </ActionForm>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

/// Confirms removing an endpoint (its log goes with it).
#[component]
fn RemoveWebhookModal(state: WebhooksState) -> impl IntoView {
    let cancel = state.cancel;
    let remove = state.remove;
    let result = remove.value();
    let query = use_query_map();
    let chosen = move || {
        query.with(|q| {
            q.get("remove")
                .and_then(|id| id.parse::<i32>().ok())
                .unwrap_or_default()
        })
    };
    view! {
        <Modal name=REMOVE_WEBHOOK_DIALOG title="Remove webhook endpoint">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let view = state.webhooks.await.ok().flatten().filter(|v| v.can_manage);
                    let id = chosen();
                    let row = view.as_ref().and_then(|v| v.endpoints.iter().find(|e| e.id == id).cloned());
                    let (Some(view), Some(row)) = (view, row) else {
                        return view! { <p>"That endpoint is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    view! {
                        <p>{format!("No more events go to {}, and its delivery log is deleted. This cannot be undone.", row.url)}</p>
                        <ActionForm action=remove>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=view.organization_id.clone() />
                            <input type="hidden" name="endpoint_id" value=row.id.to_string() />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Remove" busy_label="Removing…" class="button danger" />
                            </div>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Suspense>
        </Modal>
    }
}
