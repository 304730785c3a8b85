//! `/webhooks`: the organization's webhook endpoints (needs `manage_webhooks`, an owner's
//! action). Each write is the dashboard's service function under the organization lock.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::{begin_write, Caller},
    extract::{ApiJson, ApiPath},
    problem::{ApiError, Problem},
};
use crate::{
    members::roles::Action,
    server::{entities::webhook_endpoint, AppState},
    webhooks::{
        events::parse_list,
        service::{
            add_endpoint, endpoint_of, endpoints_of, parse_new_endpoint, remove_endpoint,
            send_test_event,
        },
    },
};

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub id: i32,
    #[schema(example = "https://hooks.example.com/orgdesk")]
    pub url: String,
    /// Event types: `member.added`, `member.role_changed`, `member.removed`,
    /// `invitation.created`, `invitation.accepted`, `invitation.revoked`,
    /// `organization.updated`, `domain.verified`, `domain.failed`, `sso.enabled`,
    /// `sso.disabled`, `audit.event` (every audit event).
    pub events: Vec<String>,
    pub enabled: bool,
    /// `owner`, `gone` (answered 410) or `failing` (3 days of failures).
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<webhook_endpoint::Model> for Webhook {
    fn from(endpoint: webhook_endpoint::Model) -> Self {
        use webhook_endpoint::DisabledReason;
        Webhook {
            id: endpoint.id,
            events: parse_list(&endpoint.events)
                .into_iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            enabled: endpoint.enabled,
            disabled_reason: endpoint.disabled_reason.map(|reason| {
                match reason {
                    DisabledReason::Owner => "owner",
                    DisabledReason::Gone => "gone",
                    DisabledReason::Failing => "failing",
                }
                .to_string()
            }),
            created_at: endpoint.created_at,
            url: endpoint.url,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub data: Vec<Webhook>,
}

/// A new endpoint and its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewWebhookCreated {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: checks the `webhook-signature` header (Standard Webhooks). Not shown again.
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://` at a public address.
    #[schema(example = "https://hooks.example.com/orgdesk", max_length = 2048)]
    pub url: String,
    #[schema(example = json!(["member.added", "member.removed"]), min_items = 1)]
    pub events: Vec<String>,
}

/// Lists the endpoints.
#[utoipa::path(
    get,
    path = "/webhooks",
    tag = "Webhooks",
    operation_id = "listWebhooks",
    security(("api_key" = ["manage_webhooks"])),
    responses(
        (status = 200, description = "The endpoints", body = WebhookList),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<WebhookList>, ApiError> {
    let caller = caller.require(Action::ManageWebhooks)?;
    let data = endpoints_of(&state.reader, caller.organization.id)
        .await?
        .into_iter()
        .map(Webhook::from)
        .collect();
    Ok(Json(WebhookList { data }))
}

/// Adds an endpoint; the answer carries its signing secret, once.
#[utoipa::path(
    post,
    path = "/webhooks",
    tag = "Webhooks",
    operation_id = "createWebhook",
    request_body = NewWebhook,
    security(("api_key" = ["manage_webhooks"])),
    responses(
        (status = 201, description = "Added", body = NewWebhookCreated,
            headers(("Location" = String, description = "The endpoint"))),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field broke its rule (a URL inside the network, an unknown event type)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewWebhook>,
) -> Result<Response, ApiError> {
    let caller = caller.require(Action::ManageWebhooks)?;
    let new = parse_new_endpoint(
        &new.url,
        &new.events,
        state.settings.private_webhook_destinations,
    )
    .await?;
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    let (endpoint, secret) = add_endpoint(
        &txn,
        &state.secrets,
        caller.organization.id,
        &caller.actor(),
        new,
        None,
        now,
    )
    .await?;
    txn.commit().await?;
    let location = format!("/api/v1/webhooks/{}", endpoint.id);
    let mut response = (
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(NewWebhookCreated {
            webhook: endpoint.into(),
            secret,
        }),
    )
        .into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// Removes an endpoint with its delivery log.
#[utoipa::path(
    delete,
    path = "/webhooks/{webhook_id}",
    tag = "Webhooks",
    operation_id = "deleteWebhook",
    params(("webhook_id" = i32, Path, description = "The endpoint's ID")),
    security(("api_key" = ["manage_webhooks"])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(webhook_id): ApiPath<i32>,
) -> Result<StatusCode, ApiError> {
    let caller = caller.require(Action::ManageWebhooks)?;
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    remove_endpoint(
        &txn,
        caller.organization.id,
        webhook_id,
        &caller.actor(),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a `webhook.test` event to the endpoint.
#[utoipa::path(
    post,
    path = "/webhooks/{webhook_id}/test",
    tag = "Webhooks",
    operation_id = "testWebhook",
    params(("webhook_id" = i32, Path, description = "The endpoint's ID")),
    security(("api_key" = ["manage_webhooks"])),
    responses(
        (status = 202, description = "Queued: see the delivery log", body = Webhook),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn test_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(webhook_id): ApiPath<i32>,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    let caller = caller.require(Action::ManageWebhooks)?;
    let now = Utc::now();
    let txn = begin_write(&state, caller, now).await?;
    send_test_event(&txn, &caller.organization, webhook_id, now).await?;
    let endpoint = endpoint_of(&txn, caller.organization.id, webhook_id).await?;
    txn.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(endpoint.into())))
}
