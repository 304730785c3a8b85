//! Recording audit events, inside the transaction of the change they describe.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

use super::events::{ActorKind, AuditPage, AuditRow, EventKind, AUDIT_PAGE_SIZE};
use crate::{kinds::Role, server::entities::audit_event};

/// Who makes a change: a member through the dashboard, platform staff through a command,
/// or a program through the API with one of the organization's keys.
#[derive(Debug, Clone)]
pub enum Actor {
    User {
        id: i32,
        name: String,
    },
    /// A staff command (`server verify-domain`).
    Staff,
    ApiKey {
        id: i32,
        name: String,
    },
    /// The organization's identity provider, through directory sync (SCIM).
    DirectorySync,
}

impl Actor {
    /// How a notice names whoever made the change.
    pub fn display_name(&self) -> &str {
        match self {
            Actor::User { name, .. } => name,
            Actor::Staff => "Platform staff",
            Actor::ApiKey { name, .. } => name,
            Actor::DirectorySync => super::events::DIRECTORY_SYNC,
        }
    }
}

impl From<&crate::server::SignedIn> for Actor {
    fn from(user: &crate::server::SignedIn) -> Self {
        Actor::User {
            id: user.user_id,
            name: user.name.clone(),
        }
    }
}

/// An event about to be recorded: `NewEvent::new(org, actor, kind).about(email).role(r)`.
pub struct NewEvent {
    organization_id: i32,
    actor_id: Option<i32>,
    actor_name: String,
    actor_kind: ActorKind,
    kind: EventKind,
    subject: Option<String>,
    role: Option<Role>,
    previous_role: Option<Role>,
}

impl NewEvent {
    pub fn new(organization_id: i32, actor: &crate::server::SignedIn, kind: EventKind) -> Self {
        Self::by(organization_id, actor.user_id, &actor.name, kind)
    }

    /// An event whose actor is not the request's signed-in user (an SSO sign-in in progress).
    pub fn by(organization_id: i32, actor_id: i32, actor_name: &str, kind: EventKind) -> Self {
        Self {
            organization_id,
            actor_id: Some(actor_id),
            actor_name: actor_name.to_string(),
            actor_kind: ActorKind::User,
            kind,
            subject: None,
            role: None,
            previous_role: None,
        }
    }

    /// An event Orgdesk itself caused (the daily domain check, a policy taking effect).
    pub fn system(organization_id: i32, kind: EventKind) -> Self {
        Self::not_by_a_member(organization_id, ActorKind::System, kind)
    }

    /// An event of a staff command (`server reset-factors`, `server verify-domain`).
    pub fn staff(organization_id: i32, kind: EventKind) -> Self {
        Self::not_by_a_member(organization_id, ActorKind::Staff, kind)
    }

    /// An event of a program using one of the organization's API keys: the key's name is
    /// the actor's (the key is the organization's, not its creator's).
    pub fn api_key(organization_id: i32, key_name: &str, kind: EventKind) -> Self {
        Self {
            organization_id,
            actor_id: None,
            actor_name: key_name.to_string(),
            actor_kind: ActorKind::ApiKey,
            kind,
            subject: None,
            role: None,
            previous_role: None,
        }
    }

    /// An event of whoever `actor` is.
    pub fn of(organization_id: i32, actor: &Actor, kind: EventKind) -> Self {
        match actor {
            Actor::User { id, name } => Self::by(organization_id, *id, name, kind),
            Actor::Staff => Self::staff(organization_id, kind),
            Actor::ApiKey { name, .. } => Self::api_key(organization_id, name, kind),
            Actor::DirectorySync => {
                Self::not_by_a_member(organization_id, ActorKind::DirectorySync, kind)
            }
        }
    }

    fn not_by_a_member(organization_id: i32, actor_kind: ActorKind, kind: EventKind) -> Self {
        Self {
            organization_id,
            actor_id: None,
            // Kept for readers of the raw table; the log shows a fixed name by the kind.
            actor_name: AuditRow::actor_label(actor_kind, String::new(), false),
            actor_kind,
            kind,
            subject: None,
            role: None,
            previous_role: None,
        }
    }

    /// Whom the event is about (an email address, or a domain).
    pub fn about(mut self, subject: &str) -> Self {
        self.subject = Some(subject.to_string());
        self
    }

    pub fn role(mut self, role: Role) -> Self {
        self.role = Some(role);
        self
    }

    pub fn previous_role(mut self, role: Role) -> Self {
        self.previous_role = Some(role);
        self
    }

    pub async fn record(self, txn: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), DbErr> {
        let event = audit_event::ActiveModel {
            organization_id: Set(self.organization_id),
            actor_id: Set(self.actor_id),
            actor_name: Set(self.actor_name),
            actor_kind: Set(self.actor_kind),
            kind: Set(self.kind),
            subject: Set(self.subject),
            role: Set(self.role),
            previous_role: Set(self.previous_role),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        // Webhook subscribers hear of it in the same transaction.
        crate::webhooks::outbox::publish(txn, &event, now).await
    }
}

/// One page of `organization_id`'s events matching `filter`, newest first.
pub async fn audit_page(
    db: &impl ConnectionTrait,
    organization_id: i32,
    filter: &AuditFilter,
    page: u64,
) -> Result<AuditPage, DbErr> {
    use sea_orm::{PaginatorTrait, QueryOrder};

    let paginator = filtered(db, organization_id, filter)
        .await?
        .order_by_desc(audit_event::Column::CreatedAt)
        .order_by_desc(audit_event::Column::Id)
        .paginate(db, AUDIT_PAGE_SIZE);
    let counts = paginator.num_items_and_pages().await?;
    let pages = counts.number_of_pages.max(1);
    let page = page.clamp(1, pages);
    let rows = paginator.fetch_page(page - 1).await?;
    let events = rows_of(db, rows).await?;
    Ok(AuditPage {
        events,
        total: counts.number_of_items,
        page,
        pages,
    })
}

/// Stored events as the log shows them: each actor's address now (one lookup for all).
async fn rows_of(
    db: &impl ConnectionTrait,
    rows: Vec<audit_event::Model>,
) -> Result<Vec<AuditRow>, DbErr> {
    use crate::server::entities::user;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let actor_ids: Vec<i32> = rows.iter().filter_map(|e| e.actor_id).collect();
    let emails: std::collections::HashMap<i32, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(actor_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    Ok(rows
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
        .collect())
}

/// Which events a reader wants: of one kind, by one actor (a member's address, or an API
/// key's or Orgdesk's name), in a time range.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub kind: Option<EventKind>,
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Up to `limit` of the organization's events matching `filter`, newest first, older than
/// the event `before_id` when given (keyset paging: the API's cursor, the export's
/// batches).
pub async fn audit_events(
    db: &impl ConnectionTrait,
    organization_id: i32,
    filter: &AuditFilter,
    before_id: Option<i32>,
    limit: u64,
) -> Result<Vec<AuditRow>, DbErr> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};

    let mut select = filtered(db, organization_id, filter).await?;
    if let Some(before) = before_id {
        select = select.filter(audit_event::Column::Id.lt(before));
    }
    let rows = select
        .order_by_desc(audit_event::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    rows_of(db, rows).await
}

/// The organization's events matching `filter` (unordered).
async fn filtered(
    db: &impl ConnectionTrait,
    organization_id: i32,
    filter: &AuditFilter,
) -> Result<sea_orm::Select<audit_event::Entity>, DbErr> {
    use crate::server::entities::user;
    use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

    let mut select =
        audit_event::Entity::find().filter(audit_event::Column::OrganizationId.eq(organization_id));
    if let Some(kind) = filter.kind {
        select = select.filter(audit_event::Column::Kind.eq(kind));
    }
    if let Some(actor) = filter.actor.as_deref() {
        let by_address = user::Entity::find()
            .filter(user::Column::EmailNormalized.eq(crate::addresses::normalize_email(actor)))
            .one(db)
            .await?;
        let mut who = Condition::any().add(audit_event::Column::ActorName.eq(actor));
        if let Some(account) = by_address {
            who = who.add(audit_event::Column::ActorId.eq(account.id));
        }
        select = select.filter(who);
    }
    if let Some(since) = filter.since {
        select = select.filter(audit_event::Column::CreatedAt.gte(since));
    }
    if let Some(until) = filter.until {
        select = select.filter(audit_event::Column::CreatedAt.lt(until));
    }
    Ok(select)
}

/// A day typed in a filter (`2026-12-01`), or none when left empty.
fn day(raw: &str, field: &str) -> Result<Option<chrono::NaiveDate>, String> {
    match raw.trim() {
        "" => Ok(None),
        text => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| format!("{field} must be a date like 2026-12-01.")),
    }
}

/// The filter a reader typed (the Audit Log tab's fields, the export's query): an event
/// kind's name or empty, an actor (a member's address or a name) or empty, and the days
/// from and to (UTC, both inclusive) or empty. Each broken rule names its field.
pub fn parse_filter(
    kind: &str,
    actor: &str,
    from: &str,
    to: &str,
) -> Result<AuditFilter, crate::error::AppError> {
    let mut form = crate::error::Validation::new();
    let kind = form.check(
        "kind",
        match kind.trim() {
            "" => Ok(None),
            raw => EventKind::parse(raw)
                .map(Some)
                .ok_or_else(|| "Choose one of the listed event types.".to_string()),
        },
    );
    let actor = actor.trim();
    if actor.chars().count() > 254 {
        form.add("actor", "Actor must be at most 254 characters.");
    }
    let from = form.check("from", day(from, "From"));
    let to = form.check("to", day(to, "To"));
    if let (Some(Some(from)), Some(Some(to))) = (from, to) {
        if to < from {
            form.add("to", "To must be on or after From.");
        }
    }
    form.finish()?;
    Ok(AuditFilter {
        kind: kind.flatten(),
        actor: (!actor.is_empty()).then(|| actor.to_string()),
        since: from
            .flatten()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
        until: to
            .flatten()
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc()),
    })
}
