//! Reading the audit log (owners only).

use leptos::prelude::*;

use super::events::AuditPage;
use crate::error::AppError;

/// The current organization's events, newest first, optionally of one kind (`kind` empty:
/// all). Owners only.
#[server(endpoint = "audit/list")]
pub async fn list_audit_events(kind: String, page: u64) -> Result<Option<AuditPage>, AppError> {
    use super::events::EventKind;
    use crate::{
        members::access::{authorize_current, Authorized},
        members::roles::Action,
    };

    let kind = match kind.as_str() {
        "" => None,
        kind => Some(
            EventKind::parse(kind)
                .ok_or_else(|| AppError::field("kind", "Choose one of the listed event types."))?,
        ),
    };
    let Some(Authorized { state, org, .. }) = authorize_current(Action::ReviewAuditEvents).await?
    else {
        return Ok(None);
    };
    Ok(Some(
        super::service::audit_page(&state.reader, org.id, kind, page).await?,
    ))
}
