use sea_orm::entity::prelude::*;

/// Whether the sign-in is a user logging in or an owner testing the configuration. Stored
/// with the sign-in in flight as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(10))")]
pub enum Purpose {
    #[sea_orm(string_value = "login")]
    Login,
    #[sea_orm(string_value = "test")]
    Test,
}

/// A sign-in in flight: made when the browser is sent to the provider, used once by the
/// callback, useless after `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_logins")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    /// SHA-256 of the `state` parameter.
    #[sea_orm(unique)]
    pub state_hash: String,
    /// SHA-256 of the cookie set on the browser that started it.
    pub browser_hash: String,
    pub organization_id: i32,
    /// A login, or an owner trying the configuration.
    pub purpose: Purpose,
    pub started_by: Option<i32>,
    pub nonce: String,
    pub pkce_verifier: String,
    pub next_path: Option<String>,
    /// The provider's authorization URL, for the hand-off page (`/sso/continue`).
    pub authorization_url: Option<String>,
    /// SAML: who the ACS verified (JSON), waiting for this browser to come back on the
    /// site. The provider's POST carries no same-site cookie, so the browser binding is
    /// checked on the next, same-site request.
    pub saml_identity: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
