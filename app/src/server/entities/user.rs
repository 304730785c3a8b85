use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub name: String,
    pub email: String,
    #[sea_orm(unique)]
    pub email_normalized: String,
    /// None for accounts that sign in only through an identity provider.
    pub password_hash: Option<String>,
    pub email_verified_at: Option<DateTimeUtc>,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// How many organizations the user belongs to; the database caps it at 400.
    pub membership_count: i32,
    /// The random handle passkeys know the account by (made at its first passkey).
    pub passkey_handle: Option<String>,
    /// Consecutive wrong second-step codes after a right password; at the limit the second
    /// step stays locked until a password reset.
    pub code_failures: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
    #[sea_orm(has_many = "super::membership::Entity")]
    Membership,
}

impl ActiveModelBehavior for ActiveModel {}

/// How long an account may stay unverified: after it, it loses its sessions, and a new
/// sign-up for its address replaces it.
pub fn unverified_grace() -> chrono::Duration {
    chrono::Duration::days(7)
}

impl Model {
    /// Whether the account never proved its address within the grace period.
    pub fn is_stale_unverified(&self, now: DateTimeUtc) -> bool {
        self.email_verified_at.is_none() && self.created_at + unverified_grace() <= now
    }
}
