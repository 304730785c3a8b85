//! The OpenID Connect round trip (authorization code flow with PKCE, state and nonce)
//! through the `openidconnect` crate, which validates the ID token: its signature against
//! the provider's published keys, issuer, audience, expiry and nonce. A passed test is
//! started here; the provider's answer is checked in [`super::finish`].

use chrono::{DateTime, Utc};
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata},
    ClientId, ClientSecret, CsrfToken, Nonce, PkceCodeChallenge, RedirectUrl, Scope,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

pub use super::outcome::{Finished, ProvenIdentity, SsoFailure, MULTI_FACTOR_METHODS};
use super::{
    browser::login_lifetime,
    settings::{client_secret_of, redirect_uri},
};
use crate::{
    accounts::rules::safe_next_path,
    error::AppError,
    server::{
        entities::{
            sso_connection::{self, Protocol},
            sso_login,
        },
        tokens::{hash_token, new_token},
        AppState,
    },
};

pub(super) fn unreachable_provider(err: impl std::fmt::Display) -> SsoFailure {
    tracing::warn!(error = %err, "identity provider discovery failed");
    SsoFailure::Unreachable
}

/// The connection's client secret, opened with the server's keys. A secret this server
/// cannot open (sealed with a key it was not given) is its operator's to fix: the log says
/// which key.
pub(super) fn client_secret(
    state: &AppState,
    connection: &sso_connection::Model,
) -> Result<String, SsoFailure> {
    client_secret_of(&state.secrets, connection).map_err(|err| {
        tracing::error!(error = %err, organization_id = connection.organization_id, "cannot open an identity provider's client secret");
        SsoFailure::Unreachable
    })
}

pub(super) async fn discover(
    state: &AppState,
    connection: &sso_connection::Model,
) -> Result<CoreProviderMetadata, SsoFailure> {
    state
        .identity
        .metadata(connection)
        .await
        .map_err(unreachable_provider)
}

pub use crate::server::entities::sso_login::Purpose;

/// Where to send the browser, and the cookie value that binds the callback to it.
pub struct Started {
    pub authorization_url: String,
    pub browser_token: String,
}

/// Begins a sign-in at the provider: records state, nonce and PKCE verifier (used once, for
/// ten minutes) and returns the provider's authorization URL.
pub async fn start(
    state: &AppState,
    connection: &sso_connection::Model,
    purpose: Purpose,
    started_by: Option<i32>,
    login_hint: Option<&str>,
    next: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Started, SsoFailure> {
    let (secret, url, nonce, pkce_verifier) = match connection.protocol {
        Protocol::Saml => {
            // The AuthnRequest's ID plays the state's part: the response names it.
            let request = super::saml::flow::authn_request(state, connection, now).await?;
            (
                request.request_id,
                request.url,
                String::new(),
                String::new(),
            )
        }
        Protocol::OpenIdConnect => {
            let (url, csrf, nonce, verifier) =
                oidc_authorization(state, connection, login_hint).await?;
            (csrf, url, nonce, verifier)
        }
    };
    let browser_token = new_token();
    sso_login::ActiveModel {
        state_hash: Set(hash_token(&secret)),
        browser_hash: Set(hash_token(&browser_token)),
        organization_id: Set(connection.organization_id),
        purpose: Set(purpose),
        started_by: Set(started_by),
        nonce: Set(nonce),
        pkce_verifier: Set(pkce_verifier),
        next_path: Set(next.map(|n| safe_next_path(Some(n)))),
        authorization_url: Set(Some(url.clone())),
        saml_identity: Set(None),
        created_at: Set(now),
        expires_at: Set(now + login_lifetime()),
        ..Default::default()
    }
    .insert(&state.db)
    .await
    .map_err(|err| {
        tracing::error!(error = %err, "could not record an SSO sign-in");
        SsoFailure::Unreachable
    })?;
    // Sign-ins that were never finished are swept as new ones start.
    let _ = sso_login::Entity::delete_many()
        .filter(sso_login::Column::ExpiresAt.lt(now))
        .exec(&state.db)
        .await;
    Ok(Started {
        authorization_url: url,
        browser_token,
    })
}

/// The OpenID Connect authorization URL with its state, nonce and PKCE verifier.
async fn oidc_authorization(
    state: &AppState,
    connection: &sso_connection::Model,
    login_hint: Option<&str>,
) -> Result<(String, String, String, String), SsoFailure> {
    let metadata = discover(state, connection).await?;
    let redirect = RedirectUrl::new(redirect_uri(&state.settings)).map_err(unreachable_provider)?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(connection.client_id.clone()),
        Some(ClientSecret::new(client_secret(state, connection)?)),
    )
    .set_redirect_uri(redirect);
    let (pkce_challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(pkce_challenge);
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login_hint", hint.to_string());
    }
    let (url, csrf, nonce) = request.url();
    Ok((
        url.to_string(),
        csrf.secret().clone(),
        nonce.secret().clone(),
        pkce_verifier.secret().clone(),
    ))
}

/// SSO sign-ins one client may start at one organization in 15 minutes...
const SSO_STARTS_PER_CLIENT_AND_ORGANIZATION: u64 = 30;
/// ...and at all of them (per organization, not organization-wide: strangers cannot use up
/// an organization's sign-ins).
const SSO_STARTS_PER_CLIENT: u64 = 60;

/// Inside a server function: starts a sign-in at the provider, sets the cookie that binds
/// it to this browser, and answers with the redirect to the hand-off page
/// ([`super::callback::continue_to_provider`]), which sends the browser on: a form that
/// posted here never redirects to another origin, so pages can allow `form-action 'self'`
/// only. `refused` words a failure.
pub async fn send_to_provider(
    state: &AppState,
    connection: &sso_connection::Model,
    purpose: Purpose,
    started_by: Option<i32>,
    login_hint: Option<&str>,
    next: Option<&str>,
    refused: impl FnOnce(SsoFailure) -> AppError,
) -> Result<(), AppError> {
    // Each start keeps a row until it expires: one client starts a bounded number.
    if let Some(client) = crate::server::throttle_address() {
        crate::identity::throttles::count_request(
            &state.db,
            &[
                (
                    format!("sso-start:{}|{client}", connection.organization_id),
                    SSO_STARTS_PER_CLIENT_AND_ORGANIZATION,
                ),
                (format!("sso-start-from:{client}"), SSO_STARTS_PER_CLIENT),
            ],
            chrono::Utc::now(),
            "Too many sign-ins started from here. Please wait",
        )
        .await?;
    }
    let started = start(
        state,
        connection,
        purpose,
        started_by,
        login_hint,
        next,
        chrono::Utc::now(),
    )
    .await
    .map_err(refused)?;
    crate::server::append_response_header(
        http::header::SET_COOKIE,
        super::browser::browser_cookie(&started.browser_token, state.settings.secure_cookies()),
    );
    leptos_axum::redirect(super::browser::CONTINUE_PATH);
    Ok(())
}

/// The provider's authorization URL of the newest sign-in this browser started and has
/// not finished, if it is still on time.
pub async fn pending_authorization_url(
    state: &AppState,
    browser_token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<String>, sea_orm::DbErr> {
    use sea_orm::QueryOrder;

    let Some(browser_token) = browser_token else {
        return Ok(None);
    };
    let login = sso_login::Entity::find()
        .filter(sso_login::Column::BrowserHash.eq(hash_token(browser_token)))
        .filter(sso_login::Column::ExpiresAt.gt(now))
        .order_by_desc(sso_login::Column::Id)
        .one(&state.reader)
        .await?;
    Ok(login.and_then(|login| login.authorization_url))
}
