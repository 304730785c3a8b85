//! SAML server functions for the Single sign-on settings (owners only): what to copy into
//! the provider, saving the provider's metadata and attribute mapping, rotating the SP key.
//! Testing and enabling are the protocol-neutral functions of [`super::api`].

// A server function takes one argument per form field; the SAML form has ten, and the
// `#[server]` macro does not pass an item-level `expect` on to the code it generates.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::{MultipartData, MultipartFormData};

use crate::error::AppError;

/// A certificate as the settings list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateView {
    /// The SP key's row (SP certificates only), for retiring it.
    pub key_id: Option<i32>,
    pub sha256: String,
    pub subject: String,
    /// RFC 3339.
    pub not_after: String,
    pub expired: bool,
}

/// The provider as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlProviderView {
    pub entity_id: String,
    pub sso_url: String,
    pub metadata_url: Option<String>,
    pub certificates: Vec<CertificateView>,
    pub email_attribute: String,
    pub first_name_attribute: String,
    pub last_name_attribute: String,
    pub user_id_attribute: String,
    pub mfa_class_refs: String,
    pub sign_requests: bool,
    /// When the last signing certificate expires (RFC 3339), if within 30 days or past.
    pub expires_soon: Option<String>,
}

/// The last Test connection, for the assertion inspector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InspectorView {
    pub at: String,
    pub failure: Option<String>,
    pub name_id: Option<String>,
    pub name_id_format: Option<String>,
    pub attributes: Vec<(String, Vec<String>)>,
    pub mapped_email: Option<String>,
    pub mapped_name: Option<String>,
    pub signed_elements: Vec<String>,
    pub certificate: Option<String>,
    pub class_refs: Vec<String>,
    pub multi_factor: bool,
    pub clock_difference_seconds: Option<i64>,
    pub encrypted: bool,
}

/// The SAML part of the Single sign-on settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlSettingsView {
    pub organization_id: String,
    /// Whether SAML is the organization's protocol now.
    pub active: bool,
    pub acs_url: String,
    pub entity_id: String,
    /// The SP metadata's URL (the entity ID).
    pub metadata_url: String,
    pub name_id_format: String,
    pub sp_certificates: Vec<CertificateView>,
    pub provider: Option<SamlProviderView>,
    pub last_test: Option<InspectorView>,
}

/// The current organization's SAML settings, for its owners.
#[server(endpoint = "sso/saml_settings")]
pub async fn current_saml_settings() -> Result<Option<SamlSettingsView>, AppError> {
    use super::saml::{
        self, flow::TestReport, keys::published_keys, metadata::SigningCertificate,
        settings::provider_of,
    };
    use crate::{
        members::access::authorize_current,
        members::roles::Action,
        server::entities::sso_connection::{self, Protocol},
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Some(authorized) = authorize_current(Action::ManageSso).await? else {
        return Ok(None);
    };
    let now = chrono::Utc::now();
    let db = &authorized.state.reader;
    let settings = &authorized.state.settings;
    let public_id = &authorized.org.public_id;
    let active = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(authorized.org.id))
        .one(db)
        .await?
        .is_some_and(|c| c.protocol == Protocol::Saml);
    let certificate_view = |c: SigningCertificate| CertificateView {
        key_id: None,
        expired: c.not_after <= now,
        not_after: c.not_after.to_rfc3339(),
        sha256: c.sha256,
        subject: c.subject,
    };
    let sp_certificates = published_keys(db, authorized.org.id)
        .await?
        .into_iter()
        .filter_map(|key| {
            let read = saml::metadata::read_certificate(&key.certificate).ok()?;
            Some(CertificateView {
                key_id: Some(key.id),
                ..certificate_view(read)
            })
        })
        .collect();
    let provider = provider_of(db, authorized.org.id).await?;
    let last_test = provider
        .as_ref()
        .and_then(|p| p.last_test.as_deref())
        .and_then(|json| serde_json::from_str::<TestReport>(json).ok())
        .map(|report| InspectorView {
            at: report.at.to_rfc3339(),
            failure: report.failure,
            name_id: report.name_id,
            name_id_format: report.name_id_format,
            attributes: report.attributes,
            mapped_email: report.mapped_email,
            mapped_name: report.mapped_name,
            signed_elements: report.signed_elements,
            certificate: report.certificate,
            class_refs: report.class_refs,
            multi_factor: report.multi_factor,
            clock_difference_seconds: report.clock_difference_seconds,
            encrypted: report.encrypted,
        });
    let provider = provider.map(|p| SamlProviderView {
        certificates: serde_json::from_str::<Vec<SigningCertificate>>(&p.signing_certificates)
            .unwrap_or_default()
            .into_iter()
            .map(certificate_view)
            .collect(),
        entity_id: p.entity_id,
        sso_url: p.sso_url,
        metadata_url: p.metadata_url,
        email_attribute: p.email_attribute.unwrap_or_default(),
        first_name_attribute: p.first_name_attribute.unwrap_or_default(),
        last_name_attribute: p.last_name_attribute.unwrap_or_default(),
        user_id_attribute: p.user_id_attribute.unwrap_or_default(),
        mfa_class_refs: p.mfa_class_refs.unwrap_or_default(),
        sign_requests: p.sign_requests,
        expires_soon: (p.certificates_expire_at
            <= now + chrono::Duration::days(i64::from(saml::upkeep::WARN_DAYS[0])))
        .then(|| p.certificates_expire_at.to_rfc3339()),
    });
    Ok(Some(SamlSettingsView {
        organization_id: public_id.clone(),
        active,
        acs_url: saml::acs_url(settings, public_id),
        entity_id: saml::entity_id(settings, public_id),
        metadata_url: saml::entity_id(settings, public_id),
        name_id_format: saml::NAME_ID_FORMAT.to_string(),
        sp_certificates,
        provider,
        last_test,
    }))
}

/// An optional one-line setting: trimmed, at most `max` characters, no control characters.
#[cfg(feature = "ssr")]
fn optional_line(
    validation: &mut crate::error::Validation,
    field: &str,
    label: &str,
    value: Option<String>,
    max: usize,
) -> Option<String> {
    let value = value.unwrap_or_default().trim().to_string();
    if value.chars().count() > max {
        validation.add(field, format!("{label} must be at most {max} characters."));
    } else if value.chars().any(char::is_control) {
        validation.add(
            field,
            format!("{label} must not contain control characters."),
        );
    }
    (!value.is_empty()).then_some(value)
}

/// Saves the organization's SAML provider from its metadata (pasted, or fetched from its
/// URL) and the attribute mapping, and makes SAML the organization's protocol. Any change
/// to who may sign in voids the last test and turns SSO off until a new test passes.
#[server(endpoint = "sso/save_saml")]
pub async fn save_saml_settings(
    organization_id: String,
    provider_name: String,
    #[server(default)] metadata_xml: Option<String>,
    #[server(default)] metadata_url: Option<String>,
    #[server(default)] email_attribute: Option<String>,
    #[server(default)] first_name_attribute: Option<String>,
    #[server(default)] last_name_attribute: Option<String>,
    #[server(default)] user_id_attribute: Option<String>,
    #[server(default)] mfa_class_refs: Option<String>,
    #[server(default)] sign_requests: Option<String>,
) -> Result<(), AppError> {
    use super::saml::{
        metadata::{parse_metadata, MAX_METADATA_BYTES},
        settings::{provider_of, save_saml_provider, SamlSettings},
    };
    use crate::{
        error::Validation,
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };

    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    let now = chrono::Utc::now();
    crate::identity::proofs::require_fresh_proof(&me, now)?;
    let https_only = state.settings.public_url.starts_with("https://");
    let mut validation = Validation::new();
    let provider_name = provider_name.trim().to_string();
    match provider_name.chars().count() {
        0 => validation.add("provider_name", "Provider name is required."),
        n if n > 100 => validation.add(
            "provider_name",
            "Provider name must be at most 100 characters.",
        ),
        _ => {
            if let Err(message) =
                crate::accounts::rules::check_shown_name("Provider name", &provider_name)
            {
                validation.add("provider_name", message);
            }
        }
    }
    let email_attribute = optional_line(
        &mut validation,
        "email_attribute",
        "Email attribute",
        email_attribute,
        255,
    );
    let first_name_attribute = optional_line(
        &mut validation,
        "first_name_attribute",
        "First name attribute",
        first_name_attribute,
        255,
    );
    let last_name_attribute = optional_line(
        &mut validation,
        "last_name_attribute",
        "Last name attribute",
        last_name_attribute,
        255,
    );
    let user_id_attribute = optional_line(
        &mut validation,
        "user_id_attribute",
        "User ID attribute",
        user_id_attribute,
        255,
    );
    let mfa_class_refs = mfa_class_refs
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("\n");
    if mfa_class_refs.chars().count() > 2000 {
        validation.add(
            "mfa_class_refs",
            "AuthnContextClassRef values must be at most 2000 characters in all.",
        );
    } else if mfa_class_refs.chars().any(|c| c.is_control() && c != '\n') {
        validation.add(
            "mfa_class_refs",
            "AuthnContextClassRef values must not contain control characters.",
        );
    }
    let metadata_xml = metadata_xml.filter(|x| !x.trim().is_empty());
    let metadata_url = metadata_url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    let saved = provider_of(&state.reader, org.id).await?;
    // Where the metadata comes from: the pasted XML, the URL (fetched now), or, with
    // neither, the saved provider's (a change of mapping alone).
    let source = match (metadata_xml, metadata_url) {
        (Some(_), Some(_)) => {
            validation.add(
                "metadata_url",
                "Give the provider's metadata one way: paste it or give its URL, not both.",
            );
            None
        }
        (Some(xml), None) => Some((xml, None)),
        (None, Some(raw)) => match check_metadata_url(&raw, &state) {
            Err(message) => {
                validation.add("metadata_url", message);
                None
            }
            Ok(url) => match state
                .identity
                .http
                .get_document(&url, MAX_METADATA_BYTES)
                .await
            {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(xml) => Some((xml, Some(raw))),
                    Err(_) => {
                        validation.add("metadata_url", "The metadata at that URL is not text.");
                        None
                    }
                },
                Err(reason) => {
                    validation.add(
                        "metadata_url",
                        format!("The metadata could not be fetched from that URL: {reason}."),
                    );
                    None
                }
            },
        },
        (None, None) => match &saved {
            Some(provider) => Some((provider.metadata_xml.clone(), provider.metadata_url.clone())),
            None => {
                validation.add(
                    "metadata_xml",
                    "Provider metadata is required: paste the XML or give its URL.",
                );
                None
            }
        },
    };
    let field = |url: &Option<String>| {
        if url.is_some() {
            "metadata_url"
        } else {
            "metadata_xml"
        }
    };
    let metadata = source
        .as_ref()
        .and_then(|(xml, url)| validation.check(field(url), parse_metadata(xml, https_only)));
    validation.finish()?;
    let (Some((metadata_xml, metadata_url)), Some(metadata)) = (source, metadata) else {
        return Err(AppError::Internal);
    };
    let turned_off = save_saml_provider(
        &state.db,
        &state.secrets,
        org.id,
        &me,
        SamlSettings {
            provider_name,
            metadata_xml,
            metadata_url,
            metadata,
            email_attribute,
            first_name_attribute,
            last_name_attribute,
            user_id_attribute,
            mfa_class_refs: (!mfa_class_refs.is_empty()).then_some(mfa_class_refs),
            sign_requests: sign_requests.is_some_and(|v| !v.is_empty() && v != "false"),
        },
        now,
    )
    .await?;
    let saved = if turned_off { "sso-retest" } else { "sso" };
    leptos_axum::redirect(&format!("{}&saved={saved}", super::SETTINGS_PAGE));
    Ok(())
}

/// The metadata URL's rules: absolute, https (http only where private providers are allowed,
/// in development), on a public address.
#[cfg(feature = "ssr")]
fn check_metadata_url(raw: &str, state: &crate::server::AppState) -> Result<url::Url, String> {
    if raw.chars().count() > 2048 {
        return Err("Metadata URL must be at most 2048 characters.".into());
    }
    let url = url::Url::parse(raw).map_err(|_| {
        "Metadata URL must be a full URL, like https://idp.example.com/metadata.".to_string()
    })?;
    match url.scheme() {
        "https" => {}
        "http" if state.settings.private_identity_providers => {}
        _ => return Err("Metadata URL must start with https://.".into()),
    }
    state.identity.http.check_url(&url).map_err(|_| {
        "Metadata URL must be on a public address, not a loopback, private or link-local one."
            .to_string()
    })?;
    Ok(url)
}

/// Adds a new SP key; the old ones stay published (and able to open assertions) until the
/// provider has the new certificate, then are retired with [`retire_sp_key`].
#[server(endpoint = "sso/rotate_sp_key")]
pub async fn rotate_sp_key(organization_id: String) -> Result<(), AppError> {
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };
    use sea_orm::TransactionTrait;

    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    let now = chrono::Utc::now();
    crate::identity::proofs::require_fresh_proof(&me, now)?;
    let txn = state.db.begin().await?;
    crate::server::locks::lock_organization(&txn, org.id).await?;
    let keys = super::saml::keys::published_keys(&txn, org.id).await?;
    if keys.len() >= 3 {
        return Err(AppError::field(
            "sp_key",
            "Retire an older SP certificate before adding another: at most 3 are published at once.",
        ));
    }
    super::saml::keys::add_key(&txn, &state.secrets, org.id, "Orgdesk SAML SP", now).await?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("{}&saved=sp-key", super::SETTINGS_PAGE));
    Ok(())
}

/// Stops publishing an SP key (the provider has the newer certificate). The last key stays.
#[server(endpoint = "sso/retire_sp_key")]
pub async fn retire_sp_key(organization_id: String, key_id: i32) -> Result<(), AppError> {
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
        server::entities::saml_sp_key,
    };
    use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    let now = chrono::Utc::now();
    crate::identity::proofs::require_fresh_proof(&me, now)?;
    let txn = state.db.begin().await?;
    crate::server::locks::lock_organization(&txn, org.id).await?;
    let keys = super::saml::keys::published_keys(&txn, org.id).await?;
    if !keys.iter().any(|k| k.id == key_id) {
        return Err(AppError::NotFound(
            "No such SP certificate in this organization.".into(),
        ));
    }
    if keys.len() == 1 {
        return Err(AppError::field(
            "sp_key",
            "The only SP certificate cannot be retired: add a new one first.",
        ));
    }
    saml_sp_key::Entity::update_many()
        .col_expr(saml_sp_key::Column::RetiredAt, Expr::value(now))
        .filter(saml_sp_key::Column::Id.eq(key_id))
        .filter(saml_sp_key::Column::OrganizationId.eq(org.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("{}&saved=sp-key", super::SETTINGS_PAGE));
    Ok(())
}

/// The metadata file's form field, and the most of it that is read.
#[cfg(feature = "ssr")]
const METADATA_FILE: &str = "metadata_file";

/// Reads the upload form: the organization and the file, refusing a file over 512 KiB as
/// soon as the bytes read pass it.
#[cfg(feature = "ssr")]
async fn read_metadata_upload(
    mut multipart: multer::Multipart<'static>,
) -> Result<(Option<String>, Vec<u8>), AppError> {
    use super::saml::metadata::MAX_METADATA_BYTES;
    let malformed = |_| AppError::field(METADATA_FILE, "The upload was interrupted. Try again.");
    let (mut organization_id, mut bytes) = (None, Vec::new());
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("organization_id") => {
                organization_id = Some(field.text().await.map_err(malformed)?);
            }
            Some(METADATA_FILE) => {
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_METADATA_BYTES {
                        return Err(AppError::field(
                            METADATA_FILE,
                            "Provider metadata must be at most 512 KiB.",
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok((organization_id, bytes))
}

/// Saves the provider from an uploaded metadata file (a plain multipart form, so it works
/// without JavaScript), keeping the saved name, attribute mapping and MFA values.
#[server(endpoint = "sso/upload_saml_metadata", input = MultipartFormData)]
pub async fn upload_saml_metadata(data: MultipartData) -> Result<(), AppError> {
    use super::saml::{
        metadata::parse_metadata,
        settings::{provider_of, save_saml_provider, SamlSettings},
    };
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
        server::entities::sso_connection::{self, Protocol},
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    crate::server::require_signed_in()?;
    let multipart = data.into_inner().ok_or(AppError::Internal)?;
    let (organization_id, bytes) = read_metadata_upload(multipart).await?;
    let organization_id =
        organization_id.ok_or_else(|| AppError::Request("organization_id is missing".into()))?;
    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    let now = chrono::Utc::now();
    crate::identity::proofs::require_fresh_proof(&me, now)?;
    if bytes.is_empty() {
        return Err(AppError::field(
            METADATA_FILE,
            "Choose the provider's metadata file (XML) to upload.",
        ));
    }
    let xml = String::from_utf8(bytes).map_err(|_| {
        AppError::field(
            METADATA_FILE,
            "Provider metadata must be XML: an EntityDescriptor from your identity provider.",
        )
    })?;
    let https_only = state.settings.public_url.starts_with("https://");
    let metadata = parse_metadata(&xml, https_only)
        .map_err(|message| AppError::field(METADATA_FILE, message))?;
    let saved = provider_of(&state.reader, org.id).await?;
    let provider_name = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(org.id))
        .one(&state.reader)
        .await?
        .filter(|c| c.protocol == Protocol::Saml)
        .map(|c| c.provider_name)
        .unwrap_or_else(|| "Identity provider".into());
    let turned_off = save_saml_provider(
        &state.db,
        &state.secrets,
        org.id,
        &me,
        SamlSettings {
            provider_name,
            metadata_xml: xml,
            metadata_url: None,
            metadata,
            email_attribute: saved.as_ref().and_then(|p| p.email_attribute.clone()),
            first_name_attribute: saved.as_ref().and_then(|p| p.first_name_attribute.clone()),
            last_name_attribute: saved.as_ref().and_then(|p| p.last_name_attribute.clone()),
            user_id_attribute: saved.as_ref().and_then(|p| p.user_id_attribute.clone()),
            mfa_class_refs: saved.as_ref().and_then(|p| p.mfa_class_refs.clone()),
            sign_requests: saved.as_ref().is_none_or(|p| p.sign_requests),
        },
        now,
    )
    .await?;
    let saved = if turned_off { "sso-retest" } else { "sso" };
    leptos_axum::redirect(&format!("{}&saved={saved}", super::SETTINGS_PAGE));
    Ok(())
}
