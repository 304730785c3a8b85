//! Saving an organization's SAML provider. A new entity ID, sign-in URL, certificate set,
//! attribute mapping or MFA list is another provider setup: it voids the last test and turns
//! SSO off until a new test passes, as a changed OpenID Connect issuer does.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use super::metadata::ProviderMetadata;
use crate::{
    audit::{events::EventKind, service::NewEvent},
    error::AppError,
    server::{
        entities::{
            saml_provider,
            sso_connection::{self, Protocol},
        },
        locks::lock_organization,
        sealed::sso_client_secret_context,
        secrets::Secrets,
        SignedIn,
    },
};

/// The SAML settings as an owner saved them (the metadata already read and checked).
#[derive(Debug, Clone)]
pub struct SamlSettings {
    pub provider_name: String,
    pub metadata_xml: String,
    pub metadata_url: Option<String>,
    pub metadata: ProviderMetadata,
    pub email_attribute: Option<String>,
    pub first_name_attribute: Option<String>,
    pub last_name_attribute: Option<String>,
    pub user_id_attribute: Option<String>,
    /// One value per line or space.
    pub mfa_class_refs: Option<String>,
    pub sign_requests: bool,
}

/// Saves the organization's SAML provider and makes SAML its protocol. Returns whether SSO
/// was on and is now off.
pub async fn save_saml_provider(
    db: &impl TransactionTrait,
    secrets: &Secrets,
    organization_id: i32,
    owner: &SignedIn,
    input: SamlSettings,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let txn = db.begin().await?;
    lock_organization(&txn, organization_id).await?;
    let connection = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .one(&txn)
        .await?;
    let existing = saml_provider::Entity::find()
        .filter(saml_provider::Column::OrganizationId.eq(organization_id))
        .one(&txn)
        .await?;
    let certificates =
        serde_json::to_string(&input.metadata.certificates).map_err(|_| AppError::Internal)?;
    let provider_changed = existing.as_ref().is_none_or(|p| {
        p.entity_id != input.metadata.entity_id
            || p.sso_url != input.metadata.sso_url
            || p.signing_certificates != certificates
            || p.email_attribute != input.email_attribute
            || p.user_id_attribute != input.user_id_attribute
            || p.mfa_class_refs != input.mfa_class_refs
            || p.sign_requests != input.sign_requests
    }) || connection
        .as_ref()
        .is_none_or(|c| c.protocol != Protocol::Saml);
    let was_enabled = connection.as_ref().is_some_and(|c| c.enabled);
    if existing
        .as_ref()
        .is_some_and(|p| p.entity_id != input.metadata.entity_id)
        || connection
            .as_ref()
            .is_some_and(|c| c.protocol != Protocol::Saml)
    {
        // A link names a subject at one issuer: another provider's subjects are others.
        crate::identity::sso_links::drop_links_of(&txn, organization_id).await?;
    }
    match connection {
        Some(found) => {
            let mut active: sso_connection::ActiveModel = found.into();
            active.provider_name = Set(input.provider_name.clone());
            active.protocol = Set(Protocol::Saml);
            if provider_changed {
                active.enabled = Set(false);
                active.tested_at = Set(None);
                active.tested_email = Set(None);
            }
            active.updated_at = Set(now);
            active.update(&txn).await?;
        }
        None => {
            sso_connection::ActiveModel {
                organization_id: Set(organization_id),
                provider_name: Set(input.provider_name.clone()),
                protocol: Set(Protocol::Saml),
                issuer_url: Set(String::new()),
                client_id: Set(String::new()),
                client_secret: Set(
                    secrets.seal("", &sso_client_secret_context(organization_id, ""))
                ),
                trust_emails: Set(false),
                mfa_acr_values: Set(None),
                enabled: Set(false),
                tested_at: Set(None),
                tested_email: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
    }
    let mut active: saml_provider::ActiveModel = match existing {
        Some(found) => found.into(),
        None => saml_provider::ActiveModel {
            organization_id: Set(organization_id),
            created_at: Set(now),
            expiry_warned_days: Set(None),
            last_test: Set(None),
            ..Default::default()
        },
    };
    active.entity_id = Set(input.metadata.entity_id.clone());
    active.sso_url = Set(input.metadata.sso_url.clone());
    active.metadata_xml = Set(input.metadata_xml);
    active.metadata_fetched_at = Set(input.metadata_url.as_ref().map(|_| now));
    active.metadata_url = Set(input.metadata_url);
    active.signing_certificates = Set(certificates);
    active.certificates_expire_at = Set(input.metadata.expires_at());
    active.email_attribute = Set(input.email_attribute);
    active.first_name_attribute = Set(input.first_name_attribute);
    active.last_name_attribute = Set(input.last_name_attribute);
    active.user_id_attribute = Set(input.user_id_attribute);
    active.mfa_class_refs = Set(input.mfa_class_refs);
    active.sign_requests = Set(input.sign_requests);
    if provider_changed {
        active.expiry_warned_days = Set(None);
    }
    active.updated_at = Set(now);
    active.save(&txn).await?;
    super::keys::keys_of(&txn, secrets, organization_id, "Orgdesk SAML SP", now).await?;
    NewEvent::new(organization_id, owner, EventKind::SsoChanged)
        .about(&crate::sso::settings::shortened(
            &format!(
                "{}: SAML, entity ID {}",
                input.provider_name, input.metadata.entity_id
            ),
            crate::sso::settings::AUDIT_SUBJECT_MAX_CHARS,
        ))
        .record(&txn, now)
        .await?;
    let turned_off = was_enabled && provider_changed;
    if turned_off {
        NewEvent::new(organization_id, owner, EventKind::SsoDisabled)
            .record(&txn, now)
            .await?;
    }
    txn.commit().await?;
    Ok(turned_off)
}

/// The organization's SAML provider, if it has one.
pub async fn provider_of(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: i32,
) -> Result<Option<saml_provider::Model>, sea_orm::DbErr> {
    saml_provider::Entity::find()
        .filter(saml_provider::Column::OrganizationId.eq(organization_id))
        .one(db)
        .await
}
