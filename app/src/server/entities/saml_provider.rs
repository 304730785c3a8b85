use sea_orm::entity::prelude::*;

/// An organization's SAML identity provider, from the metadata its owner gave.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "saml_providers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub organization_id: i32,
    /// The provider's entity ID: every response's and assertion's Issuer must equal it.
    pub entity_id: String,
    /// Where AuthnRequests go (the HTTP-Redirect binding).
    pub sso_url: String,
    pub metadata_xml: String,
    /// Set when the metadata came from a URL: re-fetched daily.
    pub metadata_url: Option<String>,
    pub metadata_fetched_at: Option<DateTimeUtc>,
    /// JSON list of [`crate::sso::saml::metadata::SigningCertificate`].
    pub signing_certificates: String,
    /// When the last of the signing certificates expires.
    pub certificates_expire_at: DateTimeUtc,
    /// Attribute names; `None` reads the usual ones (see `saml::attributes`).
    pub email_attribute: Option<String>,
    pub first_name_attribute: Option<String>,
    pub last_name_attribute: Option<String>,
    pub user_id_attribute: Option<String>,
    /// `AuthnContextClassRef` values (one per line) that mean the provider asked for more
    /// than a password.
    pub mfa_class_refs: Option<String>,
    /// Whether AuthnRequests are signed with the organization's SP key.
    pub sign_requests: bool,
    pub expiry_warned_days: Option<i32>,
    /// JSON [`crate::sso::saml::inspector::TestReport`] of the last Test connection.
    pub last_test: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
