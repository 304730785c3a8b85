use sea_orm::entity::prelude::*;

pub use crate::kinds::DomainStatus;

/// A domain an organization added; it counts (routes logins, creates and links accounts)
/// only once verified by its DNS record.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organization_domains")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    /// Lower-case, punycode, no trailing dot; verified by one organization at most.
    pub domain: String,
    pub status: DomainStatus,
    /// The random part of the TXT record's value (public: it is published in DNS).
    pub challenge: String,
    /// Set exactly while verified (a CHECK says so).
    pub verified_at: Option<DateTimeUtc>,
    /// The last lookup, by an owner or the daily re-check.
    pub checked_at: Option<DateTimeUtc>,
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

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
