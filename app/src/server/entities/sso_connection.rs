use sea_orm::entity::prelude::*;

/// The protocol an organization's identity provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(8))")]
pub enum Protocol {
    #[sea_orm(string_value = "oidc")]
    OpenIdConnect,
    #[sea_orm(string_value = "saml")]
    Saml,
}

/// An organization's identity provider (OpenID Connect or SAML 2.0).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sso_connections")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub organization_id: i32,
    /// How the login page and Access Control name the provider, e.g. "Acme Okta".
    pub provider_name: String,
    /// OpenID Connect or SAML 2.0; a SAML connection's provider is in `saml_providers` and
    /// the OpenID Connect columns below are empty.
    pub protocol: Protocol,
    pub issuer_url: String,
    pub client_id: String,
    /// Sent to the provider's token endpoint; never sent to a browser.
    pub client_secret: String,
    /// Take the provider's email claim for these domains even when it is not marked verified.
    pub trust_emails: bool,
    /// Only after a test sign-in passed (`tested_at`); the database checks it too.
    pub enabled: bool,
    pub tested_at: Option<DateTimeUtc>,
    /// Who the last test signed in as.
    pub tested_email: Option<String>,
    /// `acr` values (space-separated) the provider sends after multi-factor authentication.
    pub mfa_acr_values: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
