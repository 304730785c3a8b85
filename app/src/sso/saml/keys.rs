//! Each organization's service-provider keys: RSA 2048 with a self-signed certificate
//! (providers pin it from the metadata; no CA is involved). The private key is sealed at
//! rest like the OpenID Connect client secret. A rotation adds a key; the old one stays
//! published and able to open assertions until it is retired, so a provider that has not
//! re-read the metadata keeps working meanwhile.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use chrono::{DateTime, Duration, Utc};
use openssl::{
    asn1::Asn1Time,
    bn::{BigNum, MsbOption},
    hash::MessageDigest,
    pkey::{PKey, Private},
    rsa::Rsa,
    x509::{X509Name, X509},
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::{
    error::AppError,
    server::{entities::saml_sp_key, secrets::Secrets},
};

/// How long a new SP certificate is valid.
pub const CERTIFICATE_DAYS: u32 = 3 * 365;

/// A key pair just made: PKCS#8 DER private key, certificate DER.
pub struct NewKey {
    pub private_key_der: Vec<u8>,
    pub certificate_der: Vec<u8>,
    pub not_after: DateTime<Utc>,
}

/// Makes an RSA 2048 key and a self-signed certificate naming `common_name`.
pub fn generate(common_name: &str, days: u32) -> Result<NewKey, openssl::error::ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509Name::builder()?;
    name.append_entry_by_text("CN", common_name)?;
    let name = name.build();
    let mut builder = X509::builder()?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_version(2)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    builder.set_not_before(&not_before)?;
    let not_after = Asn1Time::days_from_now(days)?;
    builder.set_not_after(&not_after)?;
    builder.sign(&key, MessageDigest::sha256())?;
    let certificate = builder.build();
    Ok(NewKey {
        private_key_der: key.private_key_to_pkcs8()?,
        certificate_der: certificate.to_der()?,
        not_after: asn1_to_utc(&not_after)
            .unwrap_or_else(|| Utc::now() + Duration::days(i64::from(days))),
    })
}

/// An ASN.1 time as a UTC instant.
pub fn asn1_to_utc(time: &openssl::asn1::Asn1TimeRef) -> Option<DateTime<Utc>> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(time).ok()?;
    DateTime::from_timestamp(i64::from(diff.days) * 86_400 + i64::from(diff.secs), 0)
}

/// What the sealed private key is bound to: its organization.
pub fn sealing_context(organization_id: i32) -> String {
    format!("saml_sp_keys.organization_id:{organization_id}")
}

/// A usable SP key.
pub struct SpKey {
    pub id: i32,
    pub private_key: PKey<Private>,
    pub certificate_der: Vec<u8>,
    pub not_after: DateTime<Utc>,
}

/// The organization's unretired keys, newest first.
pub async fn published_keys(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<Vec<saml_sp_key::Model>, sea_orm::DbErr> {
    saml_sp_key::Entity::find()
        .filter(saml_sp_key::Column::OrganizationId.eq(organization_id))
        .filter(saml_sp_key::Column::RetiredAt.is_null())
        .order_by_desc(saml_sp_key::Column::Id)
        .all(db)
        .await
}

/// Opens a stored key.
pub fn open_key(secrets: &Secrets, row: &saml_sp_key::Model) -> Result<SpKey, AppError> {
    let der = secrets
        .open(&row.private_key, &sealing_context(row.organization_id))
        .map_err(|err| {
            tracing::error!(error = %err, organization_id = row.organization_id, "cannot open an SP key");
            AppError::Internal
        })?;
    let der = STANDARD.decode(der).map_err(|_| AppError::Internal)?;
    let private_key = PKey::private_key_from_pkcs8(&der).map_err(|_| AppError::Internal)?;
    Ok(SpKey {
        id: row.id,
        private_key,
        certificate_der: STANDARD
            .decode(&row.certificate)
            .map_err(|_| AppError::Internal)?,
        not_after: row.not_after,
    })
}

/// Adds a new key for the organization (the first one, or the next of a rotation).
pub async fn add_key(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    common_name: &str,
    now: DateTime<Utc>,
) -> Result<saml_sp_key::Model, AppError> {
    let name = common_name.to_string();
    // RSA key generation takes tens of milliseconds: off the async threads.
    let made = tokio::task::spawn_blocking(move || generate(&name, CERTIFICATE_DAYS))
        .await
        .map_err(|_| AppError::Internal)?
        .map_err(|err| {
            tracing::error!(error = %err, "could not make an SP key");
            AppError::Internal
        })?;
    let sealed = secrets.seal(
        &STANDARD.encode(&made.private_key_der),
        &sealing_context(organization_id),
    );
    Ok(saml_sp_key::ActiveModel {
        organization_id: Set(organization_id),
        private_key: Set(sealed),
        certificate: Set(STANDARD.encode(&made.certificate_der)),
        not_after: Set(made.not_after),
        created_at: Set(now),
        retired_at: Set(None),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The organization's keys, made on first use. Callers hold the organization's lock or
/// accept that two first uses at once may make two keys (both valid, the newer signs).
pub async fn keys_of(
    db: &impl ConnectionTrait,
    secrets: &Secrets,
    organization_id: i32,
    common_name: &str,
    now: DateTime<Utc>,
) -> Result<Vec<SpKey>, AppError> {
    let mut rows = published_keys(db, organization_id).await?;
    if rows.is_empty() {
        rows.push(add_key(db, secrets, organization_id, common_name, now).await?);
    }
    rows.iter().map(|row| open_key(secrets, row)).collect()
}
