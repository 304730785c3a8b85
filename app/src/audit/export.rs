//! GET /access-control/audit/export: the current organization's audit log, filtered like
//! the Audit Log tab, as CSV or JSON Lines, streamed in batches (a long log never sits in
//! memory whole). Owners only (review audit events), the organization's two-factor policy
//! applied; reading only.

use axum::{
    body::{Body, Bytes},
    extract::{Query, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use serde::Deserialize;

use super::{
    events::AuditRow,
    service::{audit_events, AuditFilter},
};
use crate::{
    members::{
        access::{current_membership_of, enforce_two_factor_policy},
        roles::Action,
    },
    server::{AppState, Viewer},
};

pub const EXPORT_PATH: &str = "/access-control/audit/export";
/// Events read per query while streaming.
const BATCH: u64 = 500;

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    /// `csv` (the default) or `jsonl`.
    #[serde(default)]
    pub format: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub actor: String,
    /// From this day (UTC), inclusive: `YYYY-MM-DD`.
    #[serde(default)]
    pub from: String,
    /// To this day (UTC), inclusive.
    #[serde(default)]
    pub to: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, message).into_response()
}

/// The filter the query asks for, or the rule it broke.
fn filter_of(query: &ExportQuery) -> Result<(Format, AuditFilter), String> {
    let format = match query.format.as_str() {
        "" | "csv" => Format::Csv,
        "jsonl" => Format::JsonLines,
        _ => return Err("Format must be csv or jsonl.".into()),
    };
    let filter = super::service::parse_filter(&query.kind, &query.actor, &query.from, &query.to)
        .map_err(|err| err.to_string())?;
    Ok((format, filter))
}

/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, a tab or a return
/// first) starts with an apostrophe instead: names and addresses come from users.
fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

fn csv_lines(rows: &[AuditRow], header: bool) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    if header {
        let _ = writer.write_record([
            "time",
            "kind",
            "actor_kind",
            "by",
            "subject",
            "role",
            "event",
        ]);
    }
    for row in rows {
        let actor_kind = serde_json::to_value(row.actor_kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writer.write_record([
            row.at.clone(),
            row.kind.as_str().to_string(),
            actor_kind,
            cell(&row.by()),
            cell(row.subject.as_deref().unwrap_or_default()),
            row.role.map(|r| r.as_str().to_string()).unwrap_or_default(),
            cell(&row.describe()),
        ]);
    }
    writer.into_inner().unwrap_or_default()
}

fn json_lines(rows: &[AuditRow]) -> Vec<u8> {
    let mut out = Vec::new();
    for row in rows {
        let line = serde_json::json!({
            "id": row.id,
            "at": row.at,
            "kind": row.kind.as_str(),
            "actor_kind": row.actor_kind,
            "actor_name": row.actor_name,
            "actor_email": row.actor_email,
            "subject": row.subject,
            "role": row.role,
            "previous_role": row.previous_role,
            "event": row.describe(),
        });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

pub async fn export(
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
    request: Request,
) -> Response {
    let Some(me) = request
        .extensions()
        .get::<Viewer>()
        .and_then(|viewer| viewer.0.clone())
    else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "Log in to export the audit log.".into(),
        );
    };
    let Some((org, _, role)) = current_membership_of(&me) else {
        return refuse(
            StatusCode::NOT_FOUND,
            "You do not belong to any organization yet.".into(),
        );
    };
    if !role.allows(Action::ReviewAuditEvents) {
        return refuse(
            StatusCode::FORBIDDEN,
            "Only owners can export the audit log.".into(),
        );
    }
    if let Err(err) = enforce_two_factor_policy(&state, &org, &me, role, Utc::now()).await {
        return refuse(StatusCode::FORBIDDEN, err.to_string());
    }
    let (format, filter) = match filter_of(&query) {
        Ok(found) => found,
        Err(rule) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, rule),
    };
    let organization_id = org.id;
    // Each step reads the batch older than the last one sent; a failed read ends the file
    // (and is logged), as a dropped connection would.
    let batches = futures::stream::unfold(
        (state, filter, None::<i32>, true, false),
        move |(state, filter, before, first, done)| async move {
            if done {
                return None;
            }
            match audit_events(&state.reader, organization_id, &filter, before, BATCH).await {
                Ok(rows) => {
                    let last = rows.last().map(|r| r.id);
                    let finished = (rows.len() as u64) < BATCH;
                    let bytes = match format {
                        Format::Csv => csv_lines(&rows, first),
                        Format::JsonLines => json_lines(&rows),
                    };
                    Some((
                        Ok::<Bytes, std::io::Error>(Bytes::from(bytes)),
                        (state, filter, last.or(before), false, finished),
                    ))
                }
                Err(err) => {
                    tracing::error!(error = %err, "the audit export stopped");
                    Some((
                        Err(std::io::Error::other("the audit export stopped")),
                        (state, filter, before, false, true),
                    ))
                }
            }
        },
    );
    let (content_type, extension) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::JsonLines => ("application/jsonl; charset=utf-8", "jsonl"),
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"orgdesk-audit-{}.{extension}\"",
                    org.public_id
                ),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        Body::from_stream(batches),
    )
        .into_response()
}
