//! Webhook server functions: Organization Profile → Webhooks (owners).

use leptos::prelude::*;

use super::views::WebhooksView;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::members::roles::Action;

/// The current organization's endpoints, the secret this session was just shown (once),
/// and the delivery log of `endpoint` when one is chosen.
#[server(endpoint = "webhooks/list")]
pub async fn current_webhooks(endpoint: Option<i32>) -> Result<Option<WebhooksView>, AppError> {
    use super::{
        events::parse_list,
        service::{delivery_log, endpoint_of, endpoints_of, revealed_secret},
        views::{DeliveryLog, DeliveryRow, EndpointRow, NewSecretShown},
    };
    use crate::{
        members::access::authorize_current,
        server::entities::{webhook_delivery::DeliveryStatus, webhook_endpoint::DisabledReason},
    };

    let Some(authorized) = authorize_current(Action::ViewOrganization).await? else {
        return Ok(None);
    };
    let mut view = WebhooksView {
        organization_id: authorized.org.public_id.clone(),
        can_manage: authorized.role.allows(Action::ManageWebhooks),
        endpoints: Vec::new(),
        new_secret: None,
        log: None,
    };
    if !view.can_manage {
        return Ok(Some(view));
    }
    // The primary: a secret or a test event written a moment ago must show.
    let db = &authorized.state.db;
    let org_id = authorized.org.id;
    view.endpoints = endpoints_of(db, org_id)
        .await?
        .into_iter()
        .map(|endpoint| EndpointRow {
            id: endpoint.id,
            events: parse_list(&endpoint.events)
                .into_iter()
                .map(|e| e.as_str().to_string())
                .collect(),
            enabled: endpoint.enabled,
            disabled_because: endpoint.disabled_reason.map(|reason| {
                match reason {
                    DisabledReason::Owner => "Disabled by an owner",
                    DisabledReason::Gone => "Disabled: the endpoint answered 410 Gone",
                    DisabledReason::Failing => "Disabled after 3 days of failed deliveries",
                }
                .to_string()
            }),
            created_by: endpoint.created_by_name,
            created_at: endpoint.created_at.to_rfc3339(),
            url: endpoint.url,
        })
        .collect();
    view.new_secret = revealed_secret(
        db,
        &authorized.state.secrets,
        org_id,
        authorized.user.session_id,
        chrono::Utc::now(),
    )
    .await?
    .map(|(endpoint, secret)| NewSecretShown {
        url: endpoint.url,
        secret,
    });
    if let Some(endpoint_id) = endpoint {
        let endpoint = endpoint_of(db, org_id, endpoint_id).await?;
        let rows = delivery_log(db, endpoint.id)
            .await?
            .into_iter()
            .map(|(delivery, event_type)| DeliveryRow {
                id: delivery.id,
                event_type,
                status: match delivery.status {
                    DeliveryStatus::Pending => "Pending",
                    DeliveryStatus::Succeeded => "Succeeded",
                    DeliveryStatus::Failed => "Failed",
                }
                .to_string(),
                attempts: delivery.attempts,
                at: delivery
                    .last_attempt_at
                    .unwrap_or(delivery.created_at)
                    .to_rfc3339(),
                response_status: delivery.response_status,
                response: delivery
                    .response_body
                    .filter(|body| !body.is_empty())
                    .or(delivery.last_error),
            })
            .collect();
        view.log = Some(DeliveryLog {
            endpoint_id: endpoint.id,
            url: endpoint.url,
            rows,
        });
    }
    Ok(Some(view))
}

/// Runs `work` in a transaction under the organization's lock, after checking again that
/// the signed-in user may manage its webhooks.
#[cfg(feature = "ssr")]
async fn as_owner<T>(
    organization_id: &str,
    work: impl for<'t> FnOnce(
        &'t sea_orm::DatabaseTransaction,
        &'t crate::members::access::Authorized,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<T, AppError>> + Send + 't>,
    >,
) -> Result<T, AppError> {
    use crate::{
        members::access::{authorize_request, reauthorize_locked},
        server::locks::lock_organization,
    };
    use sea_orm::TransactionTrait;

    let authorized = authorize_request(organization_id, Action::ManageWebhooks).await?;
    let txn = authorized.state.db.begin().await?;
    lock_organization(&txn, authorized.org.id).await?;
    reauthorize_locked(
        &txn,
        authorized.org.id,
        authorized.user.user_id,
        Action::ManageWebhooks,
    )
    .await?;
    let result = work(&txn, &authorized).await?;
    txn.commit().await?;
    Ok(result)
}

/// Adds an endpoint; the page then shows its signing secret once.
#[server(endpoint = "webhooks/add")]
pub async fn add_webhook(
    organization_id: String,
    url: String,
    #[server(default)] events: Vec<String>,
) -> Result<(), AppError> {
    use super::service::{add_endpoint, parse_new_endpoint};

    let me = crate::server::require_signed_in()?;
    let state = crate::server::app_state()?;
    // An endpoint receives the organization's events: adding one is a security change.
    crate::identity::proofs::require_fresh_proof(&me, chrono::Utc::now())?;
    let new =
        parse_new_endpoint(&url, &events, state.settings.private_webhook_destinations).await?;
    as_owner(&organization_id, move |txn, authorized| {
        Box::pin(async move {
            add_endpoint(
                txn,
                &authorized.state.secrets,
                authorized.org.id,
                &(&authorized.user).into(),
                new,
                Some(authorized.user.session_id),
                chrono::Utc::now(),
            )
            .await
            .map(|_| ())
        })
    })
    .await?;
    leptos_axum::redirect(&format!("{}&saved=added", super::WEBHOOKS_PAGE));
    Ok(())
}

/// A new signing secret (shown once); the old one keeps signing for 24 hours.
#[server(endpoint = "webhooks/rotate")]
pub async fn rotate_webhook_secret(
    organization_id: String,
    endpoint_id: i32,
) -> Result<(), AppError> {
    let me = crate::server::require_signed_in()?;
    crate::identity::proofs::require_fresh_proof(&me, chrono::Utc::now())?;
    as_owner(&organization_id, move |txn, authorized| {
        Box::pin(async move {
            super::service::rotate_secret(
                txn,
                &authorized.state.secrets,
                authorized.org.id,
                endpoint_id,
                &(&authorized.user).into(),
                Some(authorized.user.session_id),
                chrono::Utc::now(),
            )
            .await
            .map(|_| ())
        })
    })
    .await?;
    leptos_axum::redirect(&format!("{}&saved=rotated", super::WEBHOOKS_PAGE));
    Ok(())
}

/// **Enable** or **Disable** an endpoint.
#[server(endpoint = "webhooks/set_enabled")]
pub async fn set_webhook_enabled(
    organization_id: String,
    endpoint_id: i32,
    enabled: bool,
) -> Result<(), AppError> {
    as_owner(&organization_id, move |txn, authorized| {
        Box::pin(async move {
            super::service::set_enabled(
                txn,
                authorized.org.id,
                endpoint_id,
                &(&authorized.user).into(),
                enabled,
                chrono::Utc::now(),
            )
            .await
        })
    })
    .await?;
    let saved = if enabled { "enabled" } else { "disabled" };
    leptos_axum::redirect(&format!("{}&saved={saved}", super::WEBHOOKS_PAGE));
    Ok(())
}

/// Removes an endpoint with its delivery log.
#[server(endpoint = "webhooks/remove")]
pub async fn remove_webhook(organization_id: String, endpoint_id: i32) -> Result<(), AppError> {
    as_owner(&organization_id, move |txn, authorized| {
        Box::pin(async move {
            super::service::remove_endpoint(
                txn,
                authorized.org.id,
                endpoint_id,
                &(&authorized.user).into(),
                chrono::Utc::now(),
            )
            .await
        })
    })
    .await?;
    leptos_axum::redirect(&format!("{}&saved=removed", super::WEBHOOKS_PAGE));
    Ok(())
}

/// **Send test event** to one endpoint.
#[server(endpoint = "webhooks/test")]
pub async fn send_test_webhook(organization_id: String, endpoint_id: i32) -> Result<(), AppError> {
    as_owner(&organization_id, move |txn, authorized| {
        Box::pin(async move {
            super::service::send_test_event(txn, &authorized.org, endpoint_id, chrono::Utc::now())
                .await
        })
    })
    .await?;
    leptos_axum::redirect(&format!(
        "{}&endpoint={endpoint_id}&saved=test-sent",
        super::WEBHOOKS_PAGE
    ));
    Ok(())
}

/// **Redeliver** one delivery (the same message and `webhook-id`).
#[server(endpoint = "webhooks/redeliver")]
pub async fn redeliver_webhook(
    organization_id: String,
    endpoint_id: i32,
    delivery_id: i32,
) -> Result<(), AppError> {
    as_owner(&organization_id, move |txn, authorized| {
        Box::pin(async move {
            super::service::redeliver(txn, authorized.org.id, delivery_id, chrono::Utc::now()).await
        })
    })
    .await?;
    leptos_axum::redirect(&format!(
        "{}&endpoint={endpoint_id}&saved=redelivered",
        super::WEBHOOKS_PAGE
    ));
    Ok(())
}

/// **I have copied the secret**: not shown again.
#[server(endpoint = "webhooks/dismiss")]
pub async fn dismiss_webhook_secret() -> Result<(), AppError> {
    let me = crate::server::require_signed_in()?;
    let state = crate::server::app_state()?;
    super::service::dismiss_reveals(&state.db, me.session_id).await?;
    leptos_axum::redirect(super::WEBHOOKS_PAGE);
    Ok(())
}
