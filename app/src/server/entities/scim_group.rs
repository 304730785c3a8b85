use sea_orm::entity::prelude::*;

use crate::kinds::Role;

/// A group the organization's identity provider pushed; `role` is what an owner mapped it
/// to (none: the group gives no role).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_groups")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The SCIM `id`.
    pub public_id: String,
    pub organization_id: i32,
    pub display_name: String,
    pub display_name_normalized: String,
    pub external_id: Option<String>,
    pub role: Option<Role>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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
