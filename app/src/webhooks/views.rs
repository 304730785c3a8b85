//! What the Webhooks tab gets from its server functions.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointRow {
    pub id: i32,
    pub url: String,
    /// Event type names (`member.added`).
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it is off, as the page says it.
    pub disabled_because: Option<String>,
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
}

/// A secret just made, shown once to the session that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSecretShown {
    pub url: String,
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhooksView {
    pub organization_id: String,
    /// Only owners manage webhooks; others see that the tab is theirs.
    pub can_manage: bool,
    pub endpoints: Vec<EndpointRow>,
    pub new_secret: Option<NewSecretShown>,
    /// The endpoint whose delivery log is open, with its rows.
    pub log: Option<DeliveryLog>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryLog {
    pub endpoint_id: i32,
    pub url: String,
    pub rows: Vec<DeliveryRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRow {
    pub id: i32,
    pub event_type: String,
    /// Pending, Succeeded or Failed.
    pub status: String,
    pub attempts: i32,
    /// RFC 3339: the last attempt, or when it was queued.
    pub at: String,
    pub response_status: Option<i32>,
    /// The first 1 KiB of the answer, or the error.
    pub response: Option<String>,
}
