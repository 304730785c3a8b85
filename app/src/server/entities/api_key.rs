use sea_orm::entity::prelude::*;

/// An organization's API key. Only the key's SHA-256 is kept; `prefix` is what the list
/// shows. Keys belong to the organization: they keep working when their creator leaves.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    /// The permission matrix's actions the key may take, comma separated (snake_case).
    pub scopes: String,
    pub created_by_id: Option<i32>,
    pub created_by_name: String,
    pub created_at: DateTimeUtc,
    pub expires_at: Option<DateTimeUtc>,
    /// Written at most once a minute.
    pub last_used_at: Option<DateTimeUtc>,
    pub last_used_address: Option<String>,
    pub revoked_at: Option<DateTimeUtc>,
    pub expiry_warned_at: Option<DateTimeUtc>,
    pub expiry_recorded_at: Option<DateTimeUtc>,
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
