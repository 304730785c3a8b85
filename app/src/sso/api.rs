//! SSO server functions: the Settings tab's configuration (owners only), the test sign-in,
//! the on/off toggle, and the login page's email step.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The SSO part of Organization Profile → Settings, as the current user may see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoSettingsView {
    pub organization_id: String,
    pub enabled: bool,
    pub provider_name: Option<String>,
    /// The organization's verified domains: their users sign in through the provider.
    pub domains: Vec<String>,
    /// The configuration itself: owners only (never the client secret).
    pub owner: Option<SsoOwnerView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SsoOwnerView {
    /// What to copy into the identity provider.
    pub redirect_uri: String,
    pub login_url: String,
    pub configured: bool,
    /// The saved protocol: "oidc" or "saml".
    pub protocol: String,
    pub issuer_url: String,
    pub client_id: String,
    pub trust_emails: bool,
    /// The `acr` values that mean multi-factor authentication, space-separated.
    pub mfa_acr_values: String,
    /// The last passed test since the provider settings last changed.
    pub tested_email: Option<String>,
    /// RFC 3339.
    pub tested_at: Option<String>,
}

/// The current organization's SSO settings, or None when the user belongs to none.
#[server(endpoint = "sso/settings")]
pub async fn current_sso_settings() -> Result<Option<SsoSettingsView>, AppError> {
    use super::settings::{login_url, redirect_uri};
    use crate::{
        identity::routing::verified_domains_of, members::access::authorize_current,
        members::roles::Action, server::entities::sso_connection,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Some(authorized) = authorize_current(Action::ViewOrganization).await? else {
        return Ok(None);
    };
    let db = &authorized.state.reader;
    let connection = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(authorized.org.id))
        .one(db)
        .await?;
    let domains = verified_domains_of(db, authorized.org.id).await?;
    let owner = authorized
        .role
        .allows(Action::ManageSso)
        .then(|| SsoOwnerView {
            redirect_uri: redirect_uri(&authorized.state.settings),
            login_url: login_url(&authorized.state.settings, &authorized.org.public_id),
            configured: connection.is_some(),
            protocol: match connection.as_ref().map(|c| c.protocol) {
                Some(sso_connection::Protocol::Saml) => "saml".into(),
                _ => "oidc".into(),
            },
            issuer_url: connection
                .as_ref()
                .map(|c| c.issuer_url.clone())
                .unwrap_or_default(),
            client_id: connection
                .as_ref()
                .map(|c| c.client_id.clone())
                .unwrap_or_default(),
            trust_emails: connection.as_ref().is_some_and(|c| c.trust_emails),
            mfa_acr_values: connection
                .as_ref()
                .and_then(|c| c.mfa_acr_values.clone())
                .unwrap_or_default(),
            tested_email: connection.as_ref().and_then(|c| c.tested_email.clone()),
            tested_at: connection
                .as_ref()
                .and_then(|c| c.tested_at)
                .map(|t| t.to_rfc3339()),
        });
    Ok(Some(SsoSettingsView {
        organization_id: authorized.org.public_id,
        enabled: connection.as_ref().is_some_and(|c| c.enabled),
        provider_name: connection.map(|c| c.provider_name),
        domains,
        owner,
    }))
}

/// Saves the provider's settings. A change to the provider's issuer, client ID or secret
/// voids the last test and turns SSO off until a new test passes. Which users sign in there
/// is not set here: the organization's verified domains decide (see `domains`).
#[server(endpoint = "sso/save")]
pub async fn save_sso_settings(
    organization_id: String,
    provider_name: String,
    issuer_url: String,
    client_id: String,
    client_secret: String,
    trust_emails: Option<String>,
    #[server(default)] mfa_acr_values: Option<String>,
) -> Result<(), AppError> {
    use super::{
        lookup::connection_of,
        settings::{parse_provider_form, save_provider, ProviderForm},
    };
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };

    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    crate::identity::proofs::require_fresh_proof(&me, chrono::Utc::now())?;

    // Said with the other fields' rules; the save checks it again under its lock.
    let has_connection = connection_of(&state.reader, org.id).await?.is_some();
    let provider = parse_provider_form(
        ProviderForm {
            provider_name,
            issuer_url,
            client_id,
            client_secret,
            trust_emails,
            mfa_acr_values,
        },
        &state.settings,
        has_connection,
    )?;
    let turned_off = save_provider(
        &state.db,
        &state.secrets,
        org.id,
        &me,
        provider,
        chrono::Utc::now(),
    )
    .await?;
    let saved = if turned_off { "sso-retest" } else { "sso" };
    leptos_axum::redirect(&format!("{}&saved={saved}", super::SETTINGS_PAGE));
    Ok(())
}

/// Starts a test sign-in at the provider with the saved settings; the callback records the
/// result on the Settings tab.
#[server(endpoint = "sso/test")]
pub async fn test_sso_connection(organization_id: String) -> Result<(), AppError> {
    use super::flow::Purpose;
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
        server::entities::sso_connection,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    crate::identity::proofs::require_fresh_proof(&me, chrono::Utc::now())?;
    let Some(connection) = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(org.id))
        .one(&state.reader)
        .await?
    else {
        return Err(AppError::Forbidden(
            "Save the provider's settings before testing the connection.".into(),
        ));
    };
    // The owner may just have mended the provider: a failure remembered for anonymous
    // starts does not stand in the way of their test.
    state.identity.forget_failure(connection.id);
    super::flow::send_to_provider(
        &state,
        &connection,
        Purpose::Test,
        Some(me.user_id),
        None,
        None,
        |failure| AppError::Forbidden(failure.notice().message()),
    )
    .await
}

/// Turns SSO on (only after a passed test) or off.
#[server(endpoint = "sso/set_enabled")]
pub async fn set_sso_enabled(organization_id: String, enabled: bool) -> Result<(), AppError> {
    use crate::{
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
    if enabled {
        crate::identity::proofs::require_fresh_proof(&me, now)?;
    }
    super::settings::switch_sso(&state.db, &org, &(&me).into(), enabled, now).await?;
    let saved = if enabled { "sso-on" } else { "sso-off" };
    leptos_axum::redirect(&format!("{}&saved={saved}", super::SETTINGS_PAGE));
    Ok(())
}

/// The login page's first step: users of an SSO domain go to their provider; everyone
/// else comes back to the password step.
#[server(endpoint = "sso/continue_login")]
pub async fn continue_login(email: String, next: Option<String>) -> Result<(), AppError> {
    use super::flow::Purpose;
    use crate::identity::routing::connection_for_email;
    use crate::{
        accounts::rules::{safe_next_path, EmailAddress},
        server::app_state,
        ui::url::urlencode,
    };

    let email = EmailAddress::parse(&email).map_err(|message| AppError::field("email", message))?;
    let state = app_state()?;
    let next = next.filter(|n| !n.trim().is_empty());
    if let Some((connection, _)) = connection_for_email(&state.reader, email.as_str()).await? {
        return super::flow::send_to_provider(
            &state,
            &connection,
            Purpose::Login,
            None,
            Some(email.as_str()),
            next.as_deref(),
            |failure| AppError::field("email", failure.notice().message()),
        )
        .await;
    }
    let mut password_step = format!("/login?email={}", urlencode(email.as_str()));
    if let Some(next) = next {
        password_step.push_str(&format!(
            "&next={}",
            urlencode(&safe_next_path(Some(&next)))
        ));
    }
    leptos_axum::redirect(&password_step);
    Ok(())
}

/// What an organization's login page shows: whose sign-in it starts, and who is signed in
/// here now (they are signed out first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationLoginView {
    pub organization_id: String,
    pub organization_name: String,
    pub provider_name: String,
    /// The email of whoever is signed in in this browser.
    pub signed_in_as: Option<String>,
}

/// The organization login page's facts, or None when the organization does not sign in
/// through a provider (unknown, SSO off, or no verified domain).
#[server(endpoint = "sso/organization_login")]
pub async fn organization_login(
    organization_id: String,
) -> Result<Option<OrganizationLoginView>, AppError> {
    use crate::server::{app_state, viewer};

    let state = app_state()?;
    Ok(login_connection(&state.reader, &organization_id)
        .await?
        .map(|(connection, org)| OrganizationLoginView {
            organization_id: org.public_id,
            organization_name: org.name,
            provider_name: connection.provider_name,
            signed_in_as: viewer().map(|v| v.email),
        }))
}

/// The organization's enabled connection, if it has a verified domain its users come from.
#[cfg(feature = "ssr")]
async fn login_connection(
    db: &impl sea_orm::ConnectionTrait,
    public_id: &str,
) -> Result<
    Option<(
        crate::server::entities::sso_connection::Model,
        crate::server::entities::organization::Model,
    )>,
    AppError,
> {
    use crate::identity::routing::enabled_connection;
    use crate::{identity::routing::verified_domains_of, server::entities::organization};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let Some(org) = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if verified_domains_of(db, org.id).await?.is_empty() {
        return Ok(None);
    }
    enabled_connection(db, org.id).await
}

/// The organization login page's button (a POST, so no other site can start it): signs out
/// whoever is signed in here, then sends the browser to the organization's provider.
#[server(endpoint = "sso/start_organization_login")]
pub async fn start_organization_login(organization_id: String) -> Result<(), AppError> {
    use super::flow::Purpose;
    use crate::server::{app_state, session, viewer};

    let state = app_state()?;
    let Some((connection, _)) = login_connection(&state.reader, &organization_id).await? else {
        return Err(AppError::Forbidden(super::SsoNotice::Disabled.message()));
    };
    // The sign-in starts first: if the provider cannot be reached, nobody is signed out.
    super::flow::send_to_provider(
        &state,
        &connection,
        Purpose::Login,
        None,
        None,
        None,
        |failure| AppError::Forbidden(failure.notice().message()),
    )
    .await?;
    if let Some(current) = viewer() {
        session::end(&state.db, current.session_id).await?;
        crate::server::append_response_header(
            http::header::SET_COOKIE,
            session::removal_cookie_header(state.settings.secure_cookies()),
        );
    }
    Ok(())
}
