//! The webhook worker: delivers what the outbox queued. Several server processes may run
//! one on the same database: a delivery is claimed by a conditional update before it is
//! sent (as the mail worker's messages are), so no two processes send it; a claim that
//! outlives a crashed worker runs out and the delivery goes again (receivers drop
//! duplicates by `webhook-id`).
//!
//! Each request: `POST` with the Standard Webhooks headers, through a client that
//! connects only to public addresses (unless the development setting allows private
//! ones), follows no redirect and uses no proxy, 15 seconds at most; the first 1 KiB of
//! the answer is kept for the delivery log. A 2xx is a success; a 410 disables the
//! endpoint; anything else is retried after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and then
//! daily, and an endpoint failing for three days is disabled and its owners emailed.

use std::{collections::HashMap, sync::Arc, time::Duration as StdDuration};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use openidconnect::reqwest;
use sea_orm::{
    sea_query::Expr, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait, TransactionTrait,
};

use super::{service::signing_secrets, signing::signature_header};
use crate::{
    audit::{events::EventKind, service::NewEvent},
    server::{
        entities::{
            organization,
            webhook_delivery::{self, DeliveryStatus},
            webhook_endpoint::{self, DisabledReason},
            webhook_message,
        },
        mail,
        provider_http::{check_provider_url, error_chain, PublicAddressesOnly},
        secrets::Secrets,
        AppState, Settings,
    },
};

/// The waits after the 1st, 2nd, … failed attempt; after the last the delivery fails.
pub const RETRY_WAITS: [i64; 9] = [
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    24 * 3600,
    24 * 3600,
    24 * 3600,
];
/// An endpoint failing this long (no success in between) is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 3;
/// How long a worker owns a claimed delivery (longer than a request may take).
const CLAIM_SECONDS: i64 = 60;
/// Deliveries claimed per database round trip, and sent at once.
const BATCH: u64 = 200;
const SENDING_AT_ONCE: usize = 32;
/// What the log keeps of an answer.
const ANSWER_KEPT: usize = 1024;

/// The wait after the `attempts`-th failure, or none when the retries are spent.
pub fn retry_wait(attempts: i32) -> Option<Duration> {
    let index = usize::try_from(attempts.max(1) - 1).ok()?;
    RETRY_WAITS
        .get(index)
        .map(|seconds| Duration::seconds(*seconds))
}

/// What one attempt came to.
enum Outcome {
    Delivered(u16, String),
    /// 410 Gone: the receiver asks for no more.
    Gone(String),
    Failed {
        status: Option<u16>,
        answer: Option<String>,
        error: String,
    },
}

pub struct WebhookWorker {
    db: DatabaseConnection,
    client: reqwest::Client,
    allow_private: bool,
    secrets: Secrets,
    settings: Arc<Settings>,
    poll: StdDuration,
}

impl WebhookWorker {
    pub fn new(state: &AppState, poll: StdDuration) -> Self {
        let allow_private = state.settings.private_webhook_destinations;
        let mut builder = reqwest::ClientBuilder::new()
            // A redirect would be a request to a URL nobody checked.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy from the environment would connect past the address check.
            .no_proxy()
            .user_agent("Orgdesk-Webhooks/1")
            .connect_timeout(StdDuration::from_secs(5))
            .timeout(StdDuration::from_secs(15));
        if !allow_private {
            builder = builder
                .https_only(true)
                .dns_resolver(Arc::new(PublicAddressesOnly));
        }
        WebhookWorker {
            db: state.db.clone(),
            client: builder.build().expect("the webhook HTTP client"),
            allow_private,
            secrets: state.secrets.clone(),
            settings: state.settings.clone(),
            poll,
        }
    }

    /// Runs until the process ends.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let Err(err) = self.deliver_due(Utc::now()).await {
                    tracing::error!(error = %err, "the webhook worker cannot read its deliveries");
                }
                tokio::time::sleep(self.poll).await;
            }
        })
    }

    /// Sends every delivery due at `now`; returns how many attempts were made.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<usize, DbErr> {
        let mut attempted = 0;
        loop {
            let claimed = self.claim_due(now).await?;
            if claimed.is_empty() {
                return Ok(attempted);
            }
            attempted += claimed.len();
            let messages = self.messages_of(&claimed).await?;
            let endpoints = self.endpoints_of(&claimed).await?;
            let mut secrets = HashMap::new();
            for endpoint in endpoints.values().filter(|e| e.enabled) {
                let signing = signing_secrets(&self.db, &self.secrets, endpoint.id, now).await?;
                secrets.insert(endpoint.id, signing);
            }
            let outcomes: Vec<(webhook_delivery::Model, Outcome)> = futures::stream::iter(claimed)
                .map(|delivery| {
                    let message = messages.get(&delivery.message_id);
                    let endpoint = endpoints.get(&delivery.endpoint_id);
                    let signing = secrets.get(&delivery.endpoint_id);
                    async move {
                        let outcome = match (message, endpoint, signing) {
                            (Some(message), Some(endpoint), Some(signing)) if endpoint.enabled => {
                                self.send(endpoint, message, signing).await
                            }
                            _ => Outcome::Failed {
                                status: None,
                                answer: None,
                                error: "The endpoint is disabled.".into(),
                            },
                        };
                        (delivery, outcome)
                    }
                })
                .buffer_unordered(SENDING_AT_ONCE)
                .collect()
                .await;
            for (delivery, outcome) in outcomes {
                let enabled = endpoints
                    .get(&delivery.endpoint_id)
                    .is_some_and(|endpoint| endpoint.enabled);
                self.record(&delivery, outcome, enabled, now).await?;
            }
        }
    }

    /// Claims up to [`BATCH`] due deliveries in one conditional update, so a delivery
    /// another worker claimed first is not returned.
    async fn claim_due(&self, now: DateTime<Utc>) -> Result<Vec<webhook_delivery::Model>, DbErr> {
        let claimable = || {
            Condition::all()
                .add(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
                .add(webhook_delivery::Column::NextAttemptAt.lte(now))
                .add(
                    Condition::any()
                        .add(webhook_delivery::Column::ClaimedUntil.is_null())
                        .add(webhook_delivery::Column::ClaimedUntil.lt(now)),
                )
        };
        let due = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Id)
            .filter(claimable())
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
            .order_by_asc(webhook_delivery::Column::Id)
            .limit(BATCH)
            .into_query();
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::ClaimedUntil,
                Expr::value(now + Duration::seconds(CLAIM_SECONDS)),
            )
            .filter(webhook_delivery::Column::Id.in_subquery(due))
            // Again: between the choice and the update another worker may have won.
            .filter(claimable())
            .exec_with_returning(&self.db)
            .await
    }

    async fn messages_of(
        &self,
        deliveries: &[webhook_delivery::Model],
    ) -> Result<HashMap<i32, webhook_message::Model>, DbErr> {
        let ids: Vec<i32> = deliveries.iter().map(|d| d.message_id).collect();
        Ok(webhook_message::Entity::find()
            .filter(webhook_message::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|message| (message.id, message))
            .collect())
    }

    async fn endpoints_of(
        &self,
        deliveries: &[webhook_delivery::Model],
    ) -> Result<HashMap<i32, webhook_endpoint::Model>, DbErr> {
        let ids: Vec<i32> = deliveries.iter().map(|d| d.endpoint_id).collect();
        Ok(webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Id.is_in(ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|endpoint| (endpoint.id, endpoint))
            .collect())
    }

    async fn send(
        &self,
        endpoint: &webhook_endpoint::Model,
        message: &webhook_message::Model,
        signing: &[String],
    ) -> Outcome {
        let failed = |error: String| Outcome::Failed {
            status: None,
            answer: None,
            error,
        };
        let url = match url::Url::parse(&endpoint.url) {
            Ok(url) => url,
            Err(err) => return failed(format!("The URL cannot be read: {err}")),
        };
        // An address written into the URL never reaches the resolver: checked here.
        if !self.allow_private {
            if let Err(err) = check_provider_url(&url, false) {
                if !matches!(
                    err,
                    crate::server::provider_http::RefusedRequest::NotPort443(_)
                ) {
                    return failed(format!("Refused: {err}"));
                }
            }
        }
        if signing.is_empty() {
            return failed("The endpoint has no signing secret.".into());
        }
        // The time of sending, not of the event: receivers refuse old timestamps.
        let timestamp = Utc::now().timestamp();
        let signature = signature_header(signing, &message.public_id, timestamp, &message.payload);
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &message.public_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.payload.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => return failed(truncate(&error_chain(&err), 500)),
        };
        let status = response.status().as_u16();
        let mut answer = Vec::new();
        while answer.len() < ANSWER_KEPT {
            match response.chunk().await {
                Ok(Some(chunk)) => answer.extend_from_slice(&chunk),
                _ => break,
            }
        }
        answer.truncate(ANSWER_KEPT);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        match status {
            200..=299 => Outcome::Delivered(status, answer),
            410 => Outcome::Gone(answer),
            _ => Outcome::Failed {
                status: Some(status),
                answer: Some(answer),
                error: format!("The endpoint answered HTTP {status}."),
            },
        }
    }

    /// Writes an attempt's result, and what it means for the endpoint, in one transaction.
    async fn record(
        &self,
        delivery: &webhook_delivery::Model,
        outcome: Outcome,
        endpoint_enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let attempts = delivery.attempts + 1;
        let txn = self.db.begin().await?;
        let update = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
            .col_expr(webhook_delivery::Column::LastAttemptAt, Expr::value(now))
            .col_expr(
                webhook_delivery::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_delivery::Column::Id.eq(delivery.id));
        match outcome {
            Outcome::Delivered(status, answer) => {
                update
                    .col_expr(
                        webhook_delivery::Column::Status,
                        Expr::value(DeliveryStatus::Succeeded),
                    )
                    .col_expr(
                        webhook_delivery::Column::ResponseStatus,
                        Expr::value(i32::from(status)),
                    )
                    .col_expr(webhook_delivery::Column::ResponseBody, Expr::value(answer))
                    .col_expr(
                        webhook_delivery::Column::LastError,
                        Expr::value(Option::<String>::None),
                    )
                    .exec(&txn)
                    .await?;
                webhook_endpoint::Entity::update_many()
                    .col_expr(
                        webhook_endpoint::Column::FailingSince,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .filter(webhook_endpoint::Column::Id.eq(delivery.endpoint_id))
                    .filter(webhook_endpoint::Column::FailingSince.is_not_null())
                    .exec(&txn)
                    .await?;
            }
            Outcome::Gone(answer) => {
                update
                    .col_expr(
                        webhook_delivery::Column::Status,
                        Expr::value(DeliveryStatus::Failed),
                    )
                    .col_expr(webhook_delivery::Column::ResponseStatus, Expr::value(410))
                    .col_expr(webhook_delivery::Column::ResponseBody, Expr::value(answer))
                    .col_expr(
                        webhook_delivery::Column::LastError,
                        Expr::value("The endpoint answered 410 Gone: it was disabled."),
                    )
                    .exec(&txn)
                    .await?;
                self.disable(&txn, delivery.endpoint_id, DisabledReason::Gone, now)
                    .await?;
            }
            Outcome::Failed {
                status,
                answer,
                error,
            } => {
                let next = retry_wait(attempts).filter(|_| endpoint_enabled);
                let status_after = if next.is_some() {
                    DeliveryStatus::Pending
                } else {
                    DeliveryStatus::Failed
                };
                update
                    .col_expr(webhook_delivery::Column::Status, Expr::value(status_after))
                    .col_expr(
                        webhook_delivery::Column::NextAttemptAt,
                        Expr::value(now + next.unwrap_or_default()),
                    )
                    .col_expr(
                        webhook_delivery::Column::ResponseStatus,
                        Expr::value(status.map(i32::from)),
                    )
                    .col_expr(webhook_delivery::Column::ResponseBody, Expr::value(answer))
                    .col_expr(webhook_delivery::Column::LastError, Expr::value(error))
                    .exec(&txn)
                    .await?;
                if endpoint_enabled {
                    self.note_failure(&txn, delivery.endpoint_id, now).await?;
                }
            }
        }
        txn.commit().await
    }

    /// The endpoint's first failure since its last success is remembered; three days of
    /// them disable it.
    async fn note_failure(
        &self,
        txn: &impl ConnectionTrait,
        endpoint_id: i32,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::FailingSince, Expr::value(now))
            .filter(webhook_endpoint::Column::Id.eq(endpoint_id))
            .filter(webhook_endpoint::Column::FailingSince.is_null())
            .exec(txn)
            .await?;
        let failing_long = webhook_endpoint::Entity::find_by_id(endpoint_id)
            .filter(
                webhook_endpoint::Column::FailingSince
                    .lte(now - Duration::days(DISABLE_AFTER_DAYS)),
            )
            .one(txn)
            .await?;
        if failing_long.is_some() {
            self.disable(txn, endpoint_id, DisabledReason::Failing, now)
                .await?;
        }
        Ok(())
    }

    /// Disables an endpoint (once: a conditional update), audits it, fails its pending
    /// deliveries, and, after days of failures, emails the owners.
    async fn disable(
        &self,
        txn: &impl ConnectionTrait,
        endpoint_id: i32,
        reason: DisabledReason,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let changed = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Enabled, Expr::value(false))
            .col_expr(
                webhook_endpoint::Column::DisabledReason,
                Expr::value(reason),
            )
            .col_expr(webhook_endpoint::Column::DisabledAt, Expr::value(now))
            .col_expr(webhook_endpoint::Column::UpdatedAt, Expr::value(now))
            .filter(webhook_endpoint::Column::Id.eq(endpoint_id))
            .filter(webhook_endpoint::Column::Enabled.eq(true))
            .exec_with_returning(txn)
            .await?;
        let Some(endpoint) = changed.into_iter().next() else {
            return Ok(());
        };
        webhook_delivery::Entity::update_many()
            .col_expr(
                webhook_delivery::Column::Status,
                Expr::value(DeliveryStatus::Failed),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value("The endpoint was disabled."),
            )
            .filter(webhook_delivery::Column::EndpointId.eq(endpoint.id))
            .filter(webhook_delivery::Column::Status.eq(DeliveryStatus::Pending))
            .filter(webhook_delivery::Column::ClaimedUntil.is_null())
            .exec(txn)
            .await?;
        NewEvent::system(endpoint.organization_id, EventKind::WebhookDisabled)
            .about(&endpoint.url)
            .record(txn, now)
            .await?;
        tracing::warn!(endpoint_id, ?reason, "a webhook endpoint was disabled");
        if reason == DisabledReason::Failing {
            self.email_owners(txn, &endpoint, now).await?;
        }
        Ok(())
    }

    async fn email_owners(
        &self,
        txn: &impl ConnectionTrait,
        endpoint: &webhook_endpoint::Model,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let Some(org) = organization::Entity::find_by_id(endpoint.organization_id)
            .one(txn)
            .await?
        else {
            return Ok(());
        };
        let page = self.settings.link(super::WEBHOOKS_PAGE);
        for owner in crate::members::memberships::owners_of(txn, org.id).await? {
            let text = format!(
                "Hello {},\n\nEvery delivery to the webhook endpoint {} of {} has failed for {DISABLE_AFTER_DAYS} days, so Orgdesk disabled it. Events are not sent to it until it is enabled again.\n\nSee its delivery log, fix the receiver, send a test event and enable it: {page}\n\n— Orgdesk",
                owner.name, endpoint.url, org.name,
            );
            let subject = format!("A webhook endpoint of {} was disabled", org.name);
            // A full inbox for the day skips the notice; the page says it too.
            let _ =
                mail::enqueue(txn, mail::plain_notice(&owner.email, subject, text), now).await?;
        }
        Ok(())
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_from_five_seconds_to_a_day_then_stop() {
        assert_eq!(retry_wait(1), Some(Duration::seconds(5)));
        assert_eq!(retry_wait(2), Some(Duration::minutes(5)));
        assert_eq!(retry_wait(9), Some(Duration::hours(24)));
        assert_eq!(retry_wait(10), None);
        let total: i64 = RETRY_WAITS.iter().sum();
        // The retries outlast the three days after which a failing endpoint is disabled.
        assert!(total > DISABLE_AFTER_DAYS * 24 * 3600);
    }
}
