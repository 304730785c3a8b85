use sea_orm::entity::prelude::*;

/// An event to deliver, written in the transaction of the change it describes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_messages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    /// The `webhook-id` header (`msg_…`): the same on every attempt and redelivery, so a
    /// receiver can drop duplicates.
    pub public_id: String,
    pub event_type: String,
    /// The JSON body, exactly as signed.
    pub payload: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
