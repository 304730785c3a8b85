//! Reading the audit log (owners only).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::events::AuditRow;
use crate::error::AppError;

pub const AUDIT_PAGE_SIZE: u64 = 25;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditRow>,
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}

/// The current organization's events, newest first, optionally of one kind (`kind` empty:
/// all). Owners only.
#[server(endpoint = "audit/list")]
pub async fn list_audit_events(kind: String, page: u64) -> Result<Option<AuditPage>, AppError> {
    use super::events::EventKind;
    use crate::{
        members::roles::Action,
        organizations::service::{authorize_current, Authorized},
        server::entities::{audit_event, user},
    };
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

    let Some(Authorized { state, org, .. }) = authorize_current(Action::ReviewAuditEvents).await?
    else {
        return Ok(None);
    };
    let mut select =
        audit_event::Entity::find().filter(audit_event::Column::OrganizationId.eq(org.id));
    if !kind.is_empty() {
        let kind = EventKind::parse(&kind)
            .ok_or_else(|| AppError::field("kind", "Choose one of the listed event types."))?;
        select = select.filter(audit_event::Column::Kind.eq(kind));
    }
    let paginator = select
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .paginate(&state.reader, AUDIT_PAGE_SIZE);
    let counts = paginator.num_items_and_pages().await?;
    let pages = counts.number_of_pages.max(1);
    let page = page.clamp(1, pages);
    let rows = paginator.fetch_page(page - 1).await?;
    let actor_ids: Vec<i32> = rows.iter().filter_map(|e| e.actor_id).collect();
    let emails: std::collections::HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(actor_ids))
        .all(&state.reader)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let events = rows
        .into_iter()
        .map(|e| AuditRow {
            id: e.id,
            kind: e.kind,
            actor_email: e.actor_id.and_then(|id| emails.get(&id).cloned()),
            actor_kind: e.actor_kind,
            actor_name: AuditRow::actor_label(
                e.actor_kind,
                e.actor_name,
                e.actor_id.is_some_and(|id| emails.contains_key(&id)),
            ),
            subject: e.subject,
            role: e.role,
            previous_role: e.previous_role,
            at: e.created_at.to_rfc3339(),
        })
        .collect();
    Ok(Some(AuditPage {
        events,
        total: counts.number_of_items,
        page,
        pages,
    }))
}
