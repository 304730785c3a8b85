//! Endpoints and their secrets: the rules every way in (the dashboard, the API) shares.
//! Callers hold the organization's lock (`lock_organization`) around each write.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};

use super::{
    events::{list_text, WebhookEvent},
    outbox, signing,
};
use crate::{
    audit::{
        events::EventKind,
        service::{Actor, NewEvent},
    },
    error::{AppError, Validation},
    server::{
        entities::{
            organization, webhook_delivery,
            webhook_endpoint::{self, DisabledReason},
            webhook_secret,
        },
        provider_http::is_public_address,
        sealed::webhook_secret_context,
        secrets::Secrets,
    },
};

/// Endpoints per organization.
pub const MAX_ENDPOINTS: u64 = 20;
/// How long a rotated-out secret still signs.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// How long a new secret is shown to the session that made it.
const REVEAL_MINUTES: i64 = 15;
/// Rows of the delivery log.
pub const LOG_SIZE: u64 = 50;

/// Checks an endpoint's URL: at most 2,048 characters, `https://` (plain http only where
/// `allow_private`), no user name or password in it, and a host that is, and whose name
/// resolves only to, public addresses. The worker checks each address again at connect
/// time (a name may change what it resolves to).
pub async fn parse_destination(text: &str, allow_private: bool) -> Result<url::Url, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter the endpoint's URL.".into());
    }
    if text.len() > 2048 {
        return Err("The URL must be at most 2,048 characters.".into());
    }
    let url = url::Url::parse(text)
        .map_err(|_| "Enter a full URL, like https://hooks.example.com/orgdesk.".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => {
            return Err("The URL must start with https:// (events are signed, not hidden).".into())
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "Leave the user name and password out of the URL: endpoints are checked by the signature."
                .into(),
        );
    }
    let Some(host) = url.host_str().filter(|host| !host.is_empty()) else {
        return Err("The URL needs a host name.".into());
    };
    if allow_private {
        return Ok(url);
    }
    let refused = "The URL must lead to a public address: loopback, private, link-local and cloud metadata addresses are refused.";
    let literal = match url.host() {
        Some(url::Host::Ipv4(v4)) => Some(std::net::IpAddr::V4(v4)),
        Some(url::Host::Ipv6(v6)) => Some(std::net::IpAddr::V6(v6)),
        _ => None,
    };
    if let Some(ip) = literal {
        return if is_public_address(ip) {
            Ok(url)
        } else {
            Err(refused.into())
        };
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<_> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| format!("{host} cannot be found: check the host name."))?
        .collect();
    if addresses.is_empty() || addresses.iter().any(|a| !is_public_address(a.ip())) {
        return Err(refused.into());
    }
    Ok(url)
}

/// The chosen event types (at least one, each known).
pub fn parse_events(chosen: &[String]) -> Result<Vec<WebhookEvent>, String> {
    let mut events = Vec::new();
    for name in chosen {
        let event = WebhookEvent::parse(name.trim())
            .ok_or_else(|| format!("{name} is not an event type."))?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    if events.is_empty() {
        return Err("Choose at least one event.".into());
    }
    Ok(events)
}

/// A new endpoint as its form or API body gave it, checked.
pub struct NewEndpoint {
    pub url: url::Url,
    pub events: Vec<WebhookEvent>,
}

/// Checks a new endpoint's fields, naming each field that broke its rule.
pub async fn parse_new_endpoint(
    url: &str,
    events: &[String],
    allow_private: bool,
) -> Result<NewEndpoint, AppError> {
    let mut form = Validation::new();
    let url = form.check("url", parse_destination(url, allow_private).await);
    let events = form.check("events", parse_events(events));
    form.finish()?;
    match (url, events) {
        (Some(url), Some(events)) => Ok(NewEndpoint { url, events }),
        _ => Err(AppError::Internal),
    }
}

/// Adds an endpoint with its first secret (returned, to show once; `reveal_to` is the
/// session that sees it on the page). Audited.
pub async fn add_endpoint(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    actor: &Actor,
    new: NewEndpoint,
    reveal_to: Option<i32>,
    now: DateTime<Utc>,
) -> Result<(webhook_endpoint::Model, String), AppError> {
    let existing = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(organization_id))
        .count(txn)
        .await?;
    if existing >= MAX_ENDPOINTS {
        return Err(AppError::field(
            "url",
            format!(
                "An organization has at most {MAX_ENDPOINTS} webhook endpoints: remove one first."
            ),
        ));
    }
    let endpoint = webhook_endpoint::ActiveModel {
        organization_id: Set(organization_id),
        url: Set(new.url.to_string()),
        events: Set(list_text(&new.events)),
        enabled: Set(true),
        created_by_name: Set(actor.display_name().to_string()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let secret = add_secret(txn, secrets, endpoint.id, reveal_to, now).await?;
    NewEvent::of(organization_id, actor, EventKind::WebhookAdded)
        .about(&endpoint.url)
        .record(txn, now)
        .await?;
    Ok((endpoint, secret))
}

async fn add_secret(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    endpoint_id: i32,
    reveal_to: Option<i32>,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let secret = signing::new_secret();
    webhook_secret::ActiveModel {
        endpoint_id: Set(endpoint_id),
        secret_sealed: Set(secrets.seal(&secret, &webhook_secret_context(endpoint_id))),
        created_at: Set(now),
        reveal_session_id: Set(reveal_to),
        reveal_until: Set(reveal_to.map(|_| now + Duration::minutes(REVEAL_MINUTES))),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    Ok(secret)
}

/// One of the organization's endpoints, or "not found" (another organization's IDs
/// included).
pub async fn endpoint_of(
    db: &impl ConnectionTrait,
    organization_id: i32,
    endpoint_id: i32,
) -> Result<webhook_endpoint::Model, AppError> {
    webhook_endpoint::Entity::find_by_id(endpoint_id)
        .filter(webhook_endpoint::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound("That webhook endpoint does not exist.".into()))
}

/// A new secret; the ones before keep signing for [`ROTATION_OVERLAP_HOURS`], so a
/// receiver has a day to switch. Audited.
pub async fn rotate_secret(
    txn: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    endpoint_id: i32,
    actor: &Actor,
    reveal_to: Option<i32>,
    now: DateTime<Utc>,
) -> Result<String, AppError> {
    let endpoint = endpoint_of(txn, organization_id, endpoint_id).await?;
    let overlap_ends = now + Duration::hours(ROTATION_OVERLAP_HOURS);
    webhook_secret::Entity::update_many()
        .col_expr(webhook_secret::Column::ExpiresAt, Expr::value(overlap_ends))
        .filter(webhook_secret::Column::EndpointId.eq(endpoint.id))
        .filter(
            Condition::any()
                .add(webhook_secret::Column::ExpiresAt.is_null())
                .add(webhook_secret::Column::ExpiresAt.gt(overlap_ends)),
        )
        .exec(txn)
        .await?;
    let secret = add_secret(txn, secrets, endpoint.id, reveal_to, now).await?;
    NewEvent::of(organization_id, actor, EventKind::WebhookSecretRotated)
        .about(&endpoint.url)
        .record(txn, now)
        .await?;
    Ok(secret)
}

/// Switches an endpoint on (its failures forgotten) or off. Audited when it changes.
pub async fn set_enabled(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    endpoint_id: i32,
    actor: &Actor,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let endpoint = endpoint_of(txn, organization_id, endpoint_id).await?;
    if endpoint.enabled == enabled {
        return Ok(());
    }
    let mut row: webhook_endpoint::ActiveModel = endpoint.clone().into();
    row.enabled = Set(enabled);
    row.disabled_reason = Set((!enabled).then_some(DisabledReason::Owner));
    row.disabled_at = Set((!enabled).then_some(now));
    row.failing_since = Set(None);
    row.updated_at = Set(now);
    row.update(txn).await?;
    let kind = if enabled {
        EventKind::WebhookEnabled
    } else {
        EventKind::WebhookDisabled
    };
    NewEvent::of(organization_id, actor, kind)
        .about(&endpoint.url)
        .record(txn, now)
        .await?;
    Ok(())
}

/// Removes an endpoint with its secrets and delivery log. Audited.
pub async fn remove_endpoint(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    endpoint_id: i32,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let endpoint = endpoint_of(txn, organization_id, endpoint_id).await?;
    webhook_endpoint::Entity::delete_by_id(endpoint.id)
        .exec(txn)
        .await?;
    NewEvent::of(organization_id, actor, EventKind::WebhookRemoved)
        .about(&endpoint.url)
        .record(txn, now)
        .await?;
    Ok(())
}

/// **Send test event** to one endpoint (enabled or not: testing is how an owner checks a
/// fix before switching it back on).
pub async fn send_test_event(
    txn: &impl ConnectionTrait,
    org: &organization::Model,
    endpoint_id: i32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let endpoint = endpoint_of(txn, org.id, endpoint_id).await?;
    outbox::queue_test_event(txn, &endpoint, &org.public_id, now).await?;
    Ok(())
}

/// **Redeliver** one delivery of the organization's.
pub async fn redeliver(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    delivery_id: i32,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let delivery = webhook_delivery::Entity::find_by_id(delivery_id)
        .one(txn)
        .await?
        .ok_or_else(|| AppError::NotFound("That delivery does not exist.".into()))?;
    endpoint_of(txn, organization_id, delivery.endpoint_id)
        .await
        .map_err(|_| AppError::NotFound("That delivery does not exist.".into()))?;
    outbox::redeliver(txn, &delivery, now).await?;
    Ok(())
}

/// The organization's endpoints, oldest first.
pub async fn endpoints_of(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Vec<webhook_endpoint::Model>, DbErr> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::OrganizationId.eq(organization_id))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await
}

/// An endpoint's newest deliveries with their event types.
pub async fn delivery_log(
    db: &impl ConnectionTrait,
    endpoint_id: i32,
) -> Result<Vec<(webhook_delivery::Model, String)>, DbErr> {
    use crate::server::entities::webhook_message;
    let rows = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::EndpointId.eq(endpoint_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(LOG_SIZE)
        .find_also_related(webhook_message::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(delivery, message)| {
            let event_type = message.map(|m| m.event_type).unwrap_or_default();
            (delivery, event_type)
        })
        .collect())
}

/// The secret this session was just shown for one of the organization's endpoints, if
/// it is still to be shown.
pub async fn revealed_secret(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    session_id: i32,
    now: DateTime<Utc>,
) -> Result<Option<(webhook_endpoint::Model, String)>, AppError> {
    let found = webhook_secret::Entity::find()
        .filter(webhook_secret::Column::RevealSessionId.eq(session_id))
        .filter(webhook_secret::Column::RevealUntil.gt(now))
        .order_by_desc(webhook_secret::Column::Id)
        .find_also_related(webhook_endpoint::Entity)
        .one(db)
        .await?;
    let Some((secret, Some(endpoint))) = found else {
        return Ok(None);
    };
    if endpoint.organization_id != organization_id {
        return Ok(None);
    }
    let plain = secrets
        .open(&secret.secret_sealed, &webhook_secret_context(endpoint.id))
        .map_err(|_| AppError::Internal)?;
    Ok(Some((endpoint, plain)))
}

/// **I have copied the secret**: this session's new secrets are not shown again.
pub async fn dismiss_reveals(db: &impl ConnectionTrait, session_id: i32) -> Result<(), DbErr> {
    webhook_secret::Entity::update_many()
        .col_expr(
            webhook_secret::Column::RevealSessionId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(
            webhook_secret::Column::RevealUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(webhook_secret::Column::RevealSessionId.eq(session_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The secrets that sign an endpoint's messages now (opened), newest first.
pub async fn signing_secrets(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    endpoint_id: i32,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DbErr> {
    let rows = webhook_secret::Entity::find()
        .filter(webhook_secret::Column::EndpointId.eq(endpoint_id))
        .filter(
            Condition::any()
                .add(webhook_secret::Column::ExpiresAt.is_null())
                .add(webhook_secret::Column::ExpiresAt.gt(now)),
        )
        .order_by_desc(webhook_secret::Column::Id)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            secrets
                .open(&row.secret_sealed, &webhook_secret_context(endpoint_id))
                .map_err(|err| {
                    tracing::error!(endpoint_id, error = %err, "a webhook secret cannot be opened");
                })
                .ok()
        })
        .collect())
}

/// How long delivered (or given-up) events stay in the delivery log.
pub const LOG_DAYS: i64 = 30;

/// The hourly upkeep: events older than [`LOG_DAYS`] with nothing left to send (their
/// deliveries go with them), secrets past their overlap, and reveals nobody read.
pub async fn sweep(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    use crate::server::entities::webhook_message;
    use sea_orm::sea_query::Query;

    let still_pending = Query::select()
        .column(webhook_delivery::Column::MessageId)
        .from(webhook_delivery::Entity)
        .and_where(
            webhook_delivery::Column::Status
                .eq(crate::server::entities::webhook_delivery::DeliveryStatus::Pending),
        )
        .to_owned();
    let messages = webhook_message::Entity::delete_many()
        .filter(webhook_message::Column::CreatedAt.lt(now - Duration::days(LOG_DAYS)))
        .filter(webhook_message::Column::Id.not_in_subquery(still_pending))
        .exec(db)
        .await?
        .rows_affected;
    let secrets = webhook_secret::Entity::delete_many()
        .filter(webhook_secret::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    webhook_secret::Entity::update_many()
        .col_expr(
            webhook_secret::Column::RevealSessionId,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(
            webhook_secret::Column::RevealUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(webhook_secret::Column::RevealUntil.lte(now))
        .exec(db)
        .await?;
    Ok(messages + secrets)
}
