//! Events into the webhook outbox, inside the transaction of the change: the audit
//! recorder calls [`publish`] for every audit event, so a change that rolls back sends
//! nothing and a change that commits is never lost. Each subscribed, enabled endpoint gets
//! a delivery row the worker picks up.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Set,
};
use serde_json::json;

use super::events::{parse_list, WebhookEvent, TEST_EVENT};
use crate::server::entities::{
    audit_event, organization,
    webhook_delivery::{self, DeliveryStatus},
    webhook_endpoint, webhook_message,
};

/// A message's `webhook-id`: `msg_` and 128 random bits.
fn new_message_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("msg_{}", hex::encode(bytes))
}

/// Queues `event` for each endpoint of the organization subscribed to one of its types.
/// One query when no endpoint is (the usual case).
pub async fn publish(
    txn: &impl ConnectionTrait,
    event: &audit_event::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(event.organization_id))
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .all(txn)
        .await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let organization_id: Option<String> = organization::Entity::find_by_id(event.organization_id)
        .select_only()
        .column(organization::Column::PublicId)
        .into_tuple()
        .one(txn)
        .await?;
    let organization_id = organization_id.unwrap_or_default();
    let data = json!({
        "organization_id": organization_id,
        "audit_event": {
            "id": event.id,
            "kind": event.kind.as_str(),
            "actor_kind": event.actor_kind,
            "actor_name": event.actor_name,
            "subject": event.subject,
            "role": event.role.map(|role| role.as_str()),
            "previous_role": event.previous_role.map(|role| role.as_str()),
            "at": event.created_at,
        },
    });
    let types = WebhookEvent::named_for(event.kind)
        .iter()
        .copied()
        .chain([WebhookEvent::AuditEvent]);
    for event_type in types {
        let subscribers: Vec<i32> = endpoints
            .iter()
            .filter(|endpoint| parse_list(&endpoint.events).contains(&event_type))
            .map(|endpoint| endpoint.id)
            .collect();
        if !subscribers.is_empty() {
            queue(
                txn,
                event.organization_id,
                event_type.as_str(),
                data.clone(),
                &subscribers,
                now,
            )
            .await?;
        }
    }
    Ok(())
}

/// **Send test event**: a `webhook.test` message to one endpoint.
pub async fn queue_test_event(
    txn: &impl ConnectionTrait,
    endpoint: &webhook_endpoint::Model,
    organization_public_id: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let data = json!({
        "organization_id": organization_public_id,
        "message": "A test event from Orgdesk: this endpoint receives and verifies events.",
    });
    queue(
        txn,
        endpoint.organization_id,
        TEST_EVENT,
        data,
        &[endpoint.id],
        now,
    )
    .await
}

/// One message and a pending delivery of it to each of `endpoint_ids`.
async fn queue(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    event_type: &str,
    data: serde_json::Value,
    endpoint_ids: &[i32],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let payload = json!({
        "type": event_type,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
    .to_string();
    let message = webhook_message::ActiveModel {
        organization_id: Set(organization_id),
        public_id: Set(new_message_id()),
        event_type: Set(event_type.to_string()),
        payload: Set(payload),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    webhook_delivery::Entity::insert_many(endpoint_ids.iter().map(|endpoint_id| {
        webhook_delivery::ActiveModel {
            message_id: Set(message.id),
            endpoint_id: Set(*endpoint_id),
            status: Set(DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(now),
            created_at: Set(now),
            ..Default::default()
        }
    }))
    .exec(txn)
    .await?;
    Ok(())
}

/// **Redeliver**: the same message (same `webhook-id`) to the same endpoint again, as a
/// new delivery.
pub async fn redeliver(
    txn: &impl ConnectionTrait,
    delivery: &webhook_delivery::Model,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    webhook_delivery::ActiveModel {
        message_id: Set(delivery.message_id),
        endpoint_id: Set(delivery.endpoint_id),
        status: Set(DeliveryStatus::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(())
}
