use sea_orm::entity::prelude::*;

pub use crate::kinds::Stage;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organizations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The organization ID users see: random, immutable.
    #[sea_orm(unique)]
    pub public_id: String,
    pub name: String,
    /// Changed only by platform staff.
    pub stage: Stage,
    pub alert_email: Option<String>,
    pub overview: Option<String>,
    pub sales_email: Option<String>,
    /// E.164, e.g. +14155550123.
    pub phone: Option<String>,
    pub website: Option<String>,
    /// Without the leading @.
    pub x_handle: Option<String>,
    pub logo_hash: Option<String>,
    /// How many owners it has; the database keeps it at 1 or more.
    pub owner_count: i32,
    /// How many members it has, kept by a trigger on `memberships` (never written here).
    pub member_count: i32,
    /// When owners started requiring two-factor authentication (empty: not required).
    pub two_factor_required_at: Option<DateTimeUtc>,
    /// The end of the grace period: from then on, members without two-factor
    /// authentication cannot open the organization.
    pub two_factor_deadline: Option<DateTimeUtc>,
    /// Owners and admins must sign in with a passkey to open the organization.
    pub passkeys_for_admins: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
}

impl ActiveModelBehavior for ActiveModel {}
