use sea_orm::entity::prelude::*;

/// One message queued to an address, for the daily limit per recipient (kept a day).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_recipients")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The address, normalized (`accounts::rules::normalize_email`).
    pub recipient_key: String,
    pub queued_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
