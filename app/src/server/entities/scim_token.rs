use sea_orm::entity::prelude::*;

/// A directory-sync bearer token of an organization: only its SHA-256 is kept. A new
/// token is also kept sealed until it has been shown once to the session that made it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub secret_hash: String,
    pub created_by_id: Option<i32>,
    pub created_by_name: String,
    pub created_at: DateTimeUtc,
    /// Written at most once a minute.
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub token_sealed: Option<String>,
    pub reveal_session_id: Option<i32>,
    pub reveal_until: Option<DateTimeUtc>,
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
