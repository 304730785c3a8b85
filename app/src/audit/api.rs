//! Reading the audit log (owners only).

use leptos::prelude::*;

use super::events::AuditPage;
use crate::error::AppError;

/// The current organization's events matching the tab's filters (each may be empty: the
/// kind's name, an actor's address or name, the days from and to), newest first. Owners
/// only.
#[server(endpoint = "audit/list")]
pub async fn list_audit_events(
    kind: String,
    #[server(default)] actor: String,
    #[server(default)] from: String,
    #[server(default)] to: String,
    page: u64,
) -> Result<Option<AuditPage>, AppError> {
    use crate::{
        members::access::{authorize_current, Authorized},
        members::roles::Action,
    };

    let filter = super::service::parse_filter(&kind, &actor, &from, &to)?;
    let Some(Authorized { state, org, .. }) = authorize_current(Action::ReviewAuditEvents).await?
    else {
        return Ok(None);
    };
    Ok(Some(
        super::service::audit_page(&state.reader, org.id, &filter, page).await?,
    ))
}
