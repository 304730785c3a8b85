//! Recording audit events, inside the transaction of the change they describe.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, DbErr, Set};

use super::events::{ActorKind, AuditRow, EventKind};
use crate::{members::roles::Role, server::entities::audit_event};

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
        audit_event::ActiveModel {
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
        Ok(())
    }
}
