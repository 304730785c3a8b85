use sea_orm::entity::prelude::*;

/// One of an organization's service-provider keys: it signs AuthnRequests and opens
/// encrypted assertions. The newest unretired key signs; every unretired key is published
/// and may open an assertion (the overlap of a rotation).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "saml_sp_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    /// PKCS#8 DER, base64, sealed with the server's keys.
    pub private_key: String,
    /// The self-signed certificate, base64 DER.
    pub certificate: String,
    pub not_after: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub retired_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
