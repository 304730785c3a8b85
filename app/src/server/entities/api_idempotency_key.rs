use sea_orm::entity::prelude::*;

/// A POST's `Idempotency-Key` and the answer it got, kept 24 hours.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub api_key_id: i32,
    pub idempotency_key: String,
    /// SHA-256 of the method, path and body: the same key with other parameters is refused.
    pub request_hash: String,
    /// None while the first request is still being answered.
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub response_location: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
