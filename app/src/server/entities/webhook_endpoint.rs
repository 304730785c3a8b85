use sea_orm::entity::prelude::*;

/// Why an endpoint stopped receiving events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum DisabledReason {
    /// An owner switched it off.
    #[sea_orm(string_value = "owner")]
    Owner,
    /// The receiver answered 410 Gone.
    #[sea_orm(string_value = "gone")]
    Gone,
    /// Every delivery failed for three days.
    #[sea_orm(string_value = "failing")]
    Failing,
}

/// An organization's webhook endpoint: where its events go.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub url: String,
    /// Event types, comma separated (`member.added,audit.event`).
    pub events: String,
    pub enabled: bool,
    pub disabled_reason: Option<DisabledReason>,
    pub disabled_at: Option<DateTimeUtc>,
    /// The first failed delivery since the last success.
    pub failing_since: Option<DateTimeUtc>,
    pub created_by_name: String,
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

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
