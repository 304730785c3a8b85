use sea_orm::entity::prelude::*;

/// A mailed **This wasn't me — remove it** link: it removes one newly added factor (an
/// authenticator app or a passkey) and ends every session of the account, once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "factor_revocations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// The link's token, as its SHA-256 only.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub user_id: i32,
    pub authenticator_id: Option<i32>,
    pub passkey_id: Option<i32>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
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
