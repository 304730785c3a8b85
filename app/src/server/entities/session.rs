use sea_orm::entity::prelude::*;

pub use crate::kinds::{SecondFactor, SignInMethod};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// SHA-256 (hex) of the token in the cookie; the token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub user_id: i32,
    /// When the person signed in; the session ends 30 days later at the latest.
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub sign_in_method: SignInMethod,
    /// The browser's User-Agent at sign-in, cut to 200 characters.
    pub user_agent: Option<String>,
    pub client_address: Option<String>,
    /// The second factor of the sign-in, for accounts that have one.
    pub second_factor: Option<SecondFactor>,
    /// When the holder last proved who they are (a password or a code asked again for a
    /// sensitive change); the sign-in itself counts when this is empty.
    pub proved_at: Option<DateTimeUtc>,
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
