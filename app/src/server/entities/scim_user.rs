use sea_orm::entity::prelude::*;

/// A person the organization's identity provider pushed, linked to their account. While
/// `active` is false their membership is suspended (deleted until they are active again).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The SCIM `id`.
    pub public_id: String,
    pub organization_id: i32,
    pub user_id: i32,
    pub user_name: String,
    /// `user_name` lowercased: SCIM's `userName` is not case-exact.
    pub user_name_normalized: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The primary address of `emails` (or `userName`): what filters on emails compare.
    /// The account linked at creation keeps its own address.
    pub email: String,
    /// `emails` as the provider sent them (a JSON array, checked).
    pub emails: String,
    pub name_formatted: Option<String>,
    pub active: bool,
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
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
