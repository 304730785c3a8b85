use sea_orm::entity::prelude::*;

/// One request of the organization's identity provider, for the troubleshooting log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scim_requests")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    pub at: DateTimeUtc,
    pub method: String,
    pub path: String,
    pub status: i32,
    /// The error's sentence, for a refused request.
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
