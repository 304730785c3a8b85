use sea_orm::entity::prelude::*;

pub use crate::kinds::{ActorKind, EventKind, Role};

/// Something someone did in an organization, as it was at the time.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub actor_id: Option<i32>,
    pub actor_name: String,
    /// A member, Orgdesk itself or platform staff.
    pub actor_kind: ActorKind,
    /// One of `audit::EventKind`'s names.
    pub kind: EventKind,
    /// Whom it was about (an email address), when it was about someone.
    pub subject: Option<String>,
    pub role: Option<Role>,
    pub previous_role: Option<Role>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
}

impl ActiveModelBehavior for ActiveModel {}
