//! The SSO configuration's rules: the values an owner copies into the identity provider,
//! and the issuer URL's checks.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

use crate::server::locks::lock_organization;
use crate::server::provider_http::check_provider_url;
use crate::{
    audit::{
        events::EventKind,
        service::{Actor, NewEvent},
    },
    error::{AppError, Validation},
    server::{
        entities::sso_connection::{self, Protocol},
        secrets::{SecretError, Secrets},
        Settings, SignedIn,
    },
};

/// The path the provider sends the browser back to.
pub const CALLBACK_PATH: &str = "/sso/callback";
/// The redirect URI the provider must know.
pub fn redirect_uri(settings: &Settings) -> String {
    settings.link(CALLBACK_PATH)
}

/// The organization's own login URL (a bookmark that starts its SSO sign-in).
pub fn login_url(settings: &Settings, public_id: &str) -> String {
    settings.link(&format!("/sso/login/{public_id}"))
}

/// The Single sign-on form as posted.
pub struct ProviderForm {
    pub provider_name: String,
    pub issuer_url: String,
    pub client_id: String,
    /// Empty keeps the saved secret (when there is one).
    pub client_secret: String,
    pub trust_emails: Option<String>,
    pub mfa_acr_values: Option<String>,
}

/// Checks the form, every field's rule at once (each error names its field).
pub fn parse_provider_form(
    form: ProviderForm,
    settings: &Settings,
    has_saved_connection: bool,
) -> Result<ProviderSettings, AppError> {
    let ProviderForm {
        provider_name,
        issuer_url,
        client_id,
        client_secret,
        trust_emails,
        mfa_acr_values,
    } = form;
    let mut validation = Validation::new();
    let provider_name = provider_name.trim().to_string();
    match provider_name.chars().count() {
        0 => validation.add("provider_name", "Provider name is required."),
        n if n > 100 => validation.add(
            "provider_name",
            "Provider name must be at most 100 characters.",
        ),
        // Shown on the login page: it must read as what it is.
        _ => {
            if let Err(message) =
                crate::accounts::rules::check_shown_name("Provider name", &provider_name)
            {
                validation.add("provider_name", message);
            }
        }
    }
    let issuer_url = validation.check("issuer_url", parse_issuer(&issuer_url, settings));
    let client_id = client_id.trim().to_string();
    match client_id.chars().count() {
        0 => validation.add("client_id", "Client ID is required."),
        n if n > 255 => validation.add("client_id", "Client ID must be at most 255 characters."),
        _ if client_id.chars().any(char::is_control) => validation.add(
            "client_id",
            "Client ID must not contain control characters.",
        ),
        _ => {}
    }
    let client_secret = client_secret.trim().to_string();
    if client_secret.chars().count() > 1000 {
        validation.add(
            "client_secret",
            "Client secret must be at most 1000 characters.",
        );
    } else if client_secret.chars().any(char::is_control) {
        validation.add(
            "client_secret",
            "Client secret must not contain control characters.",
        );
    }
    let mfa_acr_values = mfa_acr_values
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if mfa_acr_values.chars().count() > 500 {
        validation.add(
            "mfa_acr_values",
            "ACR values must be at most 500 characters in all.",
        );
    } else if mfa_acr_values.chars().any(char::is_control) {
        validation.add(
            "mfa_acr_values",
            "ACR values must not contain control characters.",
        );
    }
    // Said with the other fields' rules; the save checks it again under its lock.
    if client_secret.is_empty() && !has_saved_connection {
        validation.add("client_secret", "Client secret is required.");
    }
    validation.finish()?;
    let Some(issuer_url) = issuer_url else {
        return Err(AppError::Internal);
    };
    Ok(ProviderSettings {
        provider_name,
        issuer_url,
        client_id,
        client_secret: (!client_secret.is_empty()).then_some(client_secret),
        trust_emails: trust_emails.is_some_and(|v| !v.is_empty() && v != "false"),
        mfa_acr_values: (!mfa_acr_values.is_empty()).then_some(mfa_acr_values),
    })
}

/// Checks the issuer URL: absolute, https, on a public address, no query or fragment
/// (plain http and internal addresses only with `private_identity_providers`, for
/// development). Names are checked again at every request, where they resolve
/// ([`super::provider_http`]). Returns the URL as typed: issuers are compared exactly, so a
/// trailing slash is kept.
pub fn parse_issuer(raw: &str, settings: &Settings) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Issuer URL is required.".into());
    }
    if raw.chars().count() > 500 {
        return Err("Issuer URL must be at most 500 characters.".into());
    }
    let url = url::Url::parse(raw).map_err(|_| {
        "Issuer URL must be a full URL, like https://login.example.com.".to_string()
    })?;
    match url.scheme() {
        "https" => {}
        "http" if settings.private_identity_providers => {}
        _ => return Err("Issuer URL must start with https://.".into()),
    }
    if url.host_str().is_none() || url.query().is_some() || url.fragment().is_some() {
        return Err("Issuer URL must be a plain URL with no query or fragment.".into());
    }
    match check_provider_url(&url, settings.private_identity_providers) {
        Ok(()) => {}
        Err(crate::server::provider_http::RefusedRequest::NotPort443(port)) => {
            return Err(format!(
                "Issuer URL must use the https port 443, not port {port}."
            ))
        }
        Err(_) => return Err(
            "Issuer URL must be on a public address, not a loopback, private or link-local one."
                .into(),
        ),
    }
    Ok(raw.to_string())
}

/// Where a connection's client secret is stored: what its seal is bound to.
fn secret_context(organization_id: i32, issuer_url: &str) -> String {
    crate::server::sealed::sso_client_secret_context(organization_id, issuer_url)
}

/// The connection's client secret, opened.
pub fn client_secret_of(
    secrets: &Secrets,
    connection: &sso_connection::Model,
) -> Result<String, SecretError> {
    secrets.open(
        &connection.client_secret,
        &secret_context(connection.organization_id, &connection.issuer_url),
    )
}

/// The identity provider's settings as an owner saved them (validated).
pub struct ProviderSettings {
    pub provider_name: String,
    pub issuer_url: String,
    pub client_id: String,
    /// `None` keeps the stored secret (required the first time).
    pub client_secret: Option<String>,
    pub trust_emails: bool,
    /// `acr` values meaning multi-factor authentication, space-separated (None: none).
    pub mfa_acr_values: Option<String>,
}

/// The audit log keeps this much of an event's subject.
pub(crate) const AUDIT_SUBJECT_MAX_CHARS: usize = 254;

/// What a save changes, old → new, for the audit log (never the secret itself).
fn changes_of(before: &sso_connection::Model, after: &ProviderSettings) -> Vec<String> {
    let on_off = |on: bool| if on { "on" } else { "off" };
    let acr = |values: &Option<String>| values.clone().unwrap_or_else(|| "(none)".into());
    let mut changes = Vec::new();
    if before.issuer_url != after.issuer_url {
        changes.push(format!(
            "issuer {} → {}",
            before.issuer_url, after.issuer_url
        ));
    }
    if before.client_id != after.client_id {
        changes.push(format!(
            "client ID {} → {}",
            before.client_id, after.client_id
        ));
    }
    if after.client_secret.is_some() {
        changes.push("client secret replaced".into());
    }
    if before.trust_emails != after.trust_emails {
        changes.push(format!(
            "trusted emails {} → {}",
            on_off(before.trust_emails),
            on_off(after.trust_emails)
        ));
    }
    if before.mfa_acr_values != after.mfa_acr_values {
        changes.push(format!(
            "MFA acr values {} → {}",
            acr(&before.mfa_acr_values),
            acr(&after.mfa_acr_values)
        ));
    }
    changes
}

/// `text`, cut to `max` characters with an ellipsis.
pub(crate) fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Saves the organization's provider. Another issuer, client ID or secret is another
/// provider setup: it voids the last test and switches SSO off until a new test passes.
/// Returns whether SSO was on and is now off.
pub async fn save_provider(
    db: &impl TransactionTrait,
    secrets: &Secrets,
    organization_id: i32,
    owner: &SignedIn,
    input: ProviderSettings,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let txn = db.begin().await?;
    lock_organization(&txn, organization_id).await?;
    let existing = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(organization_id))
        .one(&txn)
        .await?;
    // Who may sign in, and which sign-ins count as two-factor, change with any of these:
    // the last test no longer speaks for the settings.
    let provider_changed = existing.as_ref().is_none_or(|c| {
        c.protocol != Protocol::OpenIdConnect
            || c.issuer_url != input.issuer_url
            || c.client_id != input.client_id
            || c.trust_emails != input.trust_emails
            || c.mfa_acr_values != input.mfa_acr_values
            || input
                .client_secret
                .as_ref()
                .is_some_and(|secret| client_secret_of(secrets, c).ok().as_ref() != Some(secret))
    });
    // The stored secret was the old provider's: it never follows a new issuer or client.
    if existing
        .as_ref()
        .is_some_and(|c| c.issuer_url != input.issuer_url || c.client_id != input.client_id)
        && input.client_secret.is_none()
    {
        return Err(AppError::field(
            "client_secret",
            "Client secret is required again when the issuer or client ID changes: the saved one belongs to the previous provider.",
        ));
    }
    let changes = existing
        .as_ref()
        .map(|c| changes_of(c, &input))
        .unwrap_or_default();
    let was_enabled = existing.as_ref().is_some_and(|c| c.enabled);
    if existing
        .as_ref()
        .is_some_and(|c| c.issuer_url != input.issuer_url || c.protocol != Protocol::OpenIdConnect)
    {
        crate::identity::sso_links::drop_links_of(&txn, organization_id).await?;
    }
    match existing {
        Some(found) => {
            let mut active: sso_connection::ActiveModel = found.into();
            active.provider_name = Set(input.provider_name.clone());
            active.protocol = Set(Protocol::OpenIdConnect);
            active.issuer_url = Set(input.issuer_url.clone());
            active.client_id = Set(input.client_id);
            if let Some(secret) = input.client_secret {
                active.client_secret =
                    Set(secrets.seal(&secret, &secret_context(organization_id, &input.issuer_url)));
            }
            active.trust_emails = Set(input.trust_emails);
            active.mfa_acr_values = Set(input.mfa_acr_values);
            if provider_changed {
                active.enabled = Set(false);
                active.tested_at = Set(None);
                active.tested_email = Set(None);
            }
            active.updated_at = Set(now);
            active.update(&txn).await?;
        }
        None => {
            let Some(secret) = input.client_secret else {
                return Err(AppError::field(
                    "client_secret",
                    "Client secret is required.",
                ));
            };
            sso_connection::ActiveModel {
                organization_id: Set(organization_id),
                provider_name: Set(input.provider_name.clone()),
                protocol: Set(Protocol::OpenIdConnect),
                issuer_url: Set(input.issuer_url.clone()),
                client_id: Set(input.client_id),
                client_secret: Set(
                    secrets.seal(&secret, &secret_context(organization_id, &input.issuer_url))
                ),
                trust_emails: Set(input.trust_emails),
                mfa_acr_values: Set(input.mfa_acr_values),
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
    let subject = if changes.is_empty() {
        input.provider_name.clone()
    } else {
        format!("{}: {}", input.provider_name, changes.join("; "))
    };
    NewEvent::new(organization_id, owner, EventKind::SsoChanged)
        .about(&shortened(&subject, AUDIT_SUBJECT_MAX_CHARS))
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

/// Turns SSO on or off for `org` under its lock. On needs a verified domain and a passed
/// test, and voids the pending invitations (the provider decides who belongs from now on);
/// a change is audited, and asking for what already is changes nothing.
pub async fn switch_sso(
    db: &impl TransactionTrait,
    org: &crate::server::entities::organization::Model,
    me: &Actor,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::identity::routing::verified_domains_of;
    use sea_orm::sea_query::Expr;

    let txn = db.begin().await?;
    lock_organization(&txn, org.id).await?;
    if enabled && verified_domains_of(&txn, org.id).await?.is_empty() {
        return Err(AppError::Forbidden(
            "Verify at least one domain (Domains, above) before turning SSO on: only the users of verified domains sign in through the provider.".into(),
        ));
    }
    let mut update = sso_connection::Entity::update_many()
        .col_expr(sso_connection::Column::Enabled, Expr::value(enabled))
        .filter(sso_connection::Column::OrganizationId.eq(org.id))
        .filter(sso_connection::Column::Enabled.eq(!enabled));
    if enabled {
        update = update.filter(sso_connection::Column::TestedAt.is_not_null());
    }
    let changed = update.exec(&txn).await?.rows_affected > 0;
    if changed && enabled {
        // The provider decides who belongs from now on: invitations sent before go.
        crate::invitations::service::void_pending_invitations(&txn, org.id, now).await?;
    }
    if changed {
        let kind = if enabled {
            EventKind::SsoEnabled
        } else {
            EventKind::SsoDisabled
        };
        NewEvent::of(org.id, me, kind).record(&txn, now).await?;
    } else if enabled {
        let tested = sso_connection::Entity::find()
            .filter(sso_connection::Column::OrganizationId.eq(org.id))
            .one(&txn)
            .await?;
        match tested {
            None => {
                return Err(AppError::Forbidden(
                    "Save the provider's settings and test the connection before turning SSO on."
                        .into(),
                ))
            }
            Some(c) if c.tested_at.is_none() => {
                return Err(AppError::Forbidden(
                    "Test the connection before turning SSO on: a passed test sign-in makes sure nobody is locked out.".into(),
                ))
            }
            Some(_) => {} // already on
        }
    }
    txn.commit().await?;
    Ok(())
}
