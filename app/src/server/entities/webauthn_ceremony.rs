use sea_orm::entity::prelude::*;

/// The server's half of a passkey registration or sign-in, between its two requests.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// SHA-256 (hex) of the token the browser sends back with its answer.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Empty for a sign-in with a passkey alone, until its answer names the account.
    pub user_id: Option<i32>,
    /// "register", "sign_in" (the second step of a sign-in) or "login" (a passkey alone).
    pub purpose: String,
    /// webauthn-rs's registration or authentication state as JSON (holds the challenge).
    pub state: String,
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
