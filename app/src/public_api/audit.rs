//! `/audit-events`: the organization's audit log (needs `review_audit_events`), newest
//! first, filtered by kind, actor and time, paged by cursor.

use axum::{extract::State, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Caller,
    extract::{given, id_cursor, next_link, page_limit, ApiQuery},
    problem::{ApiError, Problem},
    roles::ApiRole,
};
use crate::{
    audit::{
        events::{AuditRow, EventKind},
        service::{audit_events, AuditFilter},
    },
    error::Validation,
    members::roles::Action,
    server::AppState,
};

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: i32,
    /// The kind, e.g. `role_changed` (see the Audit Log's filter for them all).
    #[schema(example = "role_changed")]
    pub kind: String,
    /// `user`, `system`, `staff` or `api_key`.
    pub actor_kind: String,
    pub actor_name: String,
    /// A member's address now; none for Orgdesk, staff, keys and deleted accounts.
    pub actor_email: Option<String>,
    pub subject: Option<String>,
    pub role: Option<ApiRole>,
    pub previous_role: Option<ApiRole>,
    /// The event as the Audit Log reads it.
    pub description: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventList {
    pub data: Vec<AuditEvent>,
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Events per page, 1–100 (50 when left out).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// The `next` cursor of the page before.
    #[param(pattern = "^[1-9][0-9]{0,8}$")]
    pub after: Option<String>,
    /// One kind of event, e.g. `role_changed`.
    pub kind: Option<String>,
    /// A member's address, or an API key's name.
    #[param(max_length = 254)]
    pub actor: Option<String>,
    /// From this time (RFC 3339), inclusive.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// Until this time (RFC 3339), exclusive.
    #[param(format = DateTime)]
    pub until: Option<String>,
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "Use an RFC 3339 time, like 2026-12-01T00:00:00Z.".to_string())
}

impl From<AuditRow> for AuditEvent {
    fn from(row: AuditRow) -> Self {
        AuditEvent {
            description: row.describe(),
            id: row.id,
            kind: row.kind.as_str().to_string(),
            actor_kind: serde_json::to_value(row.actor_kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            actor_email: row.actor_email,
            actor_name: row.actor_name,
            subject: row.subject,
            role: row.role.map(ApiRole::from),
            previous_role: row.previous_role.map(ApiRole::from),
            at: DateTime::parse_from_rfc3339(&row.at)
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_default(),
        }
    }
}

/// The organization's audit events, newest first.
#[utoipa::path(
    get,
    path = "/audit-events",
    tag = "Audit log",
    operation_id = "listAuditEvents",
    params(AuditQuery),
    security(("api_key" = ["review_audit_events"])),
    responses(
        (status = 200, description = "A page of events", body = AuditEventList),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A parameter broke its rule", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_audit_events(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditEventList>, ApiError> {
    let caller = caller.require(Action::ReviewAuditEvents)?;
    // An empty search for an actor is no search; every other empty value breaks its rule.
    let query = AuditQuery {
        actor: given(query.actor),
        ..query
    };
    let mut checks = Validation::new();
    let limit = page_limit(&mut checks, query.limit, 50);
    let after = id_cursor(&mut checks, query.after.as_deref());
    let kind = match query.kind.as_deref() {
        None => None,
        Some(raw) => checks.check(
            "kind",
            EventKind::parse(raw)
                .map(Some)
                .ok_or_else(|| format!("“{raw}” is not a kind of audit event.")),
        ),
    }
    .flatten();
    let since = query
        .since
        .as_deref()
        .and_then(|raw| checks.check("since", parse_time(raw)));
    let until = query
        .until
        .as_deref()
        .and_then(|raw| checks.check("until", parse_time(raw)));
    if let Some(actor) = query.actor.as_deref() {
        if actor.chars().count() > 254 {
            checks.add("actor", "Use at most 254 characters.");
        }
    }
    checks.finish()?;
    let filter = AuditFilter {
        kind,
        actor: query.actor.clone().filter(|a| !a.trim().is_empty()),
        since,
        until,
    };
    let rows = audit_events(
        &state.reader,
        caller.organization.id,
        &filter,
        after,
        u64::from(limit) + 1,
    )
    .await?;
    let more = rows.len() > limit as usize;
    let data: Vec<AuditEvent> = rows
        .into_iter()
        .take(limit as usize)
        .map(AuditEvent::from)
        .collect();
    let next = more
        .then(|| data.last().map(|last| last.id))
        .flatten()
        .map(|last| {
            next_link(
                "/api/v1/audit-events",
                limit,
                last,
                &[
                    ("kind", query.kind.as_deref()),
                    ("actor", query.actor.as_deref()),
                    ("since", query.since.as_deref()),
                    ("until", query.until.as_deref()),
                ],
            )
        });
    Ok(Json(AuditEventList { data, next }))
}
