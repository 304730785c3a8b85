//! The OpenID Connect round trip (authorization code flow with PKCE, state and nonce)
//! through the `openidconnect` crate, which validates the ID token: its signature against
//! the provider's published keys, issuer, audience, expiry and nonce. A passed test is
//! recorded here; a user's sign-in is handed to [`super::sync`].

use chrono::{DateTime, Utc};
use openidconnect::{
    core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims},
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use sea_orm::{sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

pub use super::outcome::{Finished, ProvenIdentity, MULTI_FACTOR_METHODS};
use super::{
    browser::login_lifetime,
    settings::{client_secret_of, redirect_uri},
    sync::{account_of, sign_in},
    SsoNotice,
};
use crate::{
    accounts::rules::safe_next_path,
    addresses::domain_of,
    domains::service::verified_domains_of,
    error::AppError,
    server::{
        entities::{sso_connection, sso_login},
        session,
        tokens::{hash_token, new_token},
        AppState, SignedIn,
    },
};

/// Why a sign-in through a provider did not happen. Each has a message for the user; the
/// details go to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// Unknown, reused or tampered state, or another browser's callback.
    InvalidState,
    Expired,
    /// The provider answered with an error (the user cancelled, say).
    ProviderRefused,
    /// The provider could not be reached or its discovery document is unusable.
    Unreachable,
    /// The token exchange or the ID token's validation failed.
    InvalidToken,
    NoEmail,
    UnverifiedEmail,
    /// The email's domain is not one of the organization's.
    WrongDomain,
    /// SSO was turned off while the user was at the provider.
    Disabled,
    /// The settings were saved again while a test ran: that test proves nothing.
    SettingsChanged,
    /// Someone else is signed in in this browser: they must log out first.
    SignedInAsSomeoneElse,
}

impl SsoFailure {
    pub fn notice(self) -> SsoNotice {
        match self {
            SsoFailure::InvalidState => SsoNotice::InvalidState,
            SsoFailure::Expired => SsoNotice::Expired,
            SsoFailure::ProviderRefused => SsoNotice::ProviderRefused,
            SsoFailure::Unreachable => SsoNotice::Unreachable,
            SsoFailure::InvalidToken => SsoNotice::InvalidToken,
            SsoFailure::NoEmail => SsoNotice::NoEmail,
            SsoFailure::UnverifiedEmail => SsoNotice::UnverifiedEmail,
            SsoFailure::WrongDomain => SsoNotice::WrongDomain,
            SsoFailure::Disabled => SsoNotice::Disabled,
            SsoFailure::SettingsChanged => SsoNotice::SettingsChanged,
            SsoFailure::SignedInAsSomeoneElse => SsoNotice::SignedInAsSomeoneElse,
        }
    }
}

fn unreachable_provider(err: impl std::fmt::Display) -> SsoFailure {
    tracing::warn!(error = %err, "identity provider discovery failed");
    SsoFailure::Unreachable
}

/// The connection's client secret, opened with the server's keys. A secret this server
/// cannot open (sealed with a key it was not given) is its operator's to fix: the log says
/// which key.
fn client_secret(
    state: &AppState,
    connection: &sso_connection::Model,
) -> Result<String, SsoFailure> {
    client_secret_of(&state.secrets, connection).map_err(|err| {
        tracing::error!(error = %err, organization_id = connection.organization_id, "cannot open an identity provider's client secret");
        SsoFailure::Unreachable
    })
}

async fn discover(
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
    let browser_token = new_token();
    sso_login::ActiveModel {
        state_hash: Set(hash_token(csrf.secret())),
        browser_hash: Set(hash_token(&browser_token)),
        organization_id: Set(connection.organization_id),
        purpose: Set(purpose),
        started_by: Set(started_by),
        nonce: Set(nonce.secret().clone()),
        pkce_verifier: Set(pkce_verifier.secret().clone()),
        next_path: Set(next.map(|n| safe_next_path(Some(n)))),
        authorization_url: Set(Some(url.to_string())),
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
        authorization_url: url.to_string(),
        browser_token,
    })
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

/// What the provider appended to the redirect URI.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// A callback that failed, and whether it was a test (the owner goes back to Settings).
#[derive(Debug)]
pub struct Failed {
    pub failure: SsoFailure,
    pub purpose: Purpose,
}

/// Finishes a sign-in: takes its record (once), checks the browser, exchanges the code,
/// validates the ID token at `now`, then signs the user in (creating the account and the
/// membership as needed) or records a passed test.
pub async fn finish(
    state: &AppState,
    params: CallbackParams,
    browser_token: Option<&str>,
    signed_in: Option<&SignedIn>,
    origin: session::SignInOrigin,
    now: DateTime<Utc>,
) -> Result<Finished, Failed> {
    let login = take_login(state, params.state.as_deref())
        .await
        .map_err(|failure| Failed {
            failure,
            purpose: Purpose::Login,
        })?;
    let purpose = login.purpose;
    let fail = |failure| Failed { failure, purpose };
    if browser_token.map(hash_token).as_deref() != Some(login.browser_hash.as_str()) {
        tracing::warn!("SSO callback from a browser that did not start the sign-in");
        return Err(fail(SsoFailure::InvalidState));
    }
    if login.expires_at <= now {
        return Err(fail(SsoFailure::Expired));
    }
    if let Some(error) = params.error.as_deref() {
        tracing::info!(
            error,
            description = params.error_description.as_deref().unwrap_or(""),
            "the identity provider refused the sign-in"
        );
        return Err(fail(SsoFailure::ProviderRefused));
    }
    let Some(code) = params.code.filter(|c| !c.is_empty()) else {
        return Err(fail(SsoFailure::InvalidState));
    };
    let connection = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(login.organization_id))
        .one(&state.reader)
        .await
        .map_err(|_| fail(SsoFailure::Unreachable))?
        .ok_or(fail(SsoFailure::Disabled))?;
    match purpose {
        Purpose::Login if !connection.enabled => return Err(fail(SsoFailure::Disabled)),
        Purpose::Test if connection.updated_at > login.created_at => {
            return Err(fail(SsoFailure::SettingsChanged))
        }
        _ => {}
    }
    let identity = prove_identity(state, &connection, &login, code, now)
        .await
        .map_err(fail)?;
    // Checked again at every sign-in: a domain counts only while the organization's proof
    // of it stands.
    let domains = verified_domains_of(&state.reader, connection.organization_id)
        .await
        .map_err(|_| fail(SsoFailure::Unreachable))?;
    if !domain_of(&identity.email).is_some_and(|d| domains.contains(&d)) {
        tracing::warn!(email = %identity.email, "SSO sign-in for an address outside the organization's verified domains");
        return Err(fail(SsoFailure::WrongDomain));
    }
    // A link speaks for its account only while the account's own address is at one of
    // the verified domains too: otherwise it goes, and the sign-in is refused.
    if purpose == Purpose::Login {
        let linked = crate::identity::sso_links::linked_account(
            &state.reader,
            connection.organization_id,
            &identity.issuer,
            &identity.subject,
        )
        .await
        .map_err(|_| fail(SsoFailure::Unreachable))?;
        if let Some((link, account)) = linked {
            if !domain_of(&account.email).is_some_and(|d| domains.contains(&d)) {
                tracing::warn!(
                    user_id = account.id,
                    organization_id = connection.organization_id,
                    "an SSO link's account is outside the organization's verified domains: unlinked"
                );
                crate::identity::sso_links::unlink(&state.db, link.id)
                    .await
                    .map_err(|_| fail(SsoFailure::Unreachable))?;
                return Err(fail(SsoFailure::WrongDomain));
            }
        }
    }
    match purpose {
        Purpose::Test => {
            sso_connection::Entity::update_many()
                .col_expr(sso_connection::Column::TestedAt, Expr::value(now))
                .col_expr(
                    sso_connection::Column::TestedEmail,
                    Expr::value(identity.email.clone()),
                )
                .filter(sso_connection::Column::Id.eq(connection.id))
                .filter(sso_connection::Column::UpdatedAt.eq(connection.updated_at))
                .exec(&state.db)
                .await
                .map_err(|_| fail(SsoFailure::Unreachable))?;
            Ok(Finished::Tested {
                email: identity.email,
            })
        }
        Purpose::Login => {
            // Never silently swap one signed-in person for another: whoever is signed in
            // here must log out first (the organization login page offers that).
            if let Some(current) = signed_in {
                let account = account_of(&state.reader, connection.organization_id, &identity)
                    .await
                    .map_err(|_| fail(SsoFailure::Unreachable))?;
                if account != Some(current.user_id) {
                    return Err(fail(SsoFailure::SignedInAsSomeoneElse));
                }
            }
            sign_in(
                state,
                &connection,
                &login,
                identity,
                signed_in.map(|s| s.session_id),
                &origin,
                now,
            )
            .await
            .map_err(|err| {
                tracing::error!(error = %err, "SSO sign-in could not be recorded");
                fail(SsoFailure::Unreachable)
            })
        }
    }
}

/// Deletes and returns the sign-in `state` names: a state works once.
async fn take_login(state: &AppState, raw: Option<&str>) -> Result<sso_login::Model, SsoFailure> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Err(SsoFailure::InvalidState);
    };
    let hash = hash_token(raw);
    let found = sso_login::Entity::find()
        .filter(sso_login::Column::StateHash.eq(hash.as_str()))
        .one(&state.reader)
        .await
        .map_err(|_| SsoFailure::Unreachable)?
        .ok_or(SsoFailure::InvalidState)?;
    let taken = sso_login::Entity::delete_many()
        .filter(sso_login::Column::Id.eq(found.id))
        .exec(&state.db)
        .await
        .map_err(|_| SsoFailure::Unreachable)?;
    if taken.rows_affected == 0 {
        // Another request used it first.
        return Err(SsoFailure::InvalidState);
    }
    Ok(found)
}

/// The code exchange and every check on what the provider returned.
async fn prove_identity(
    state: &AppState,
    connection: &sso_connection::Model,
    login: &sso_login::Model,
    code: String,
    now: DateTime<Utc>,
) -> Result<ProvenIdentity, SsoFailure> {
    let invalid = |what: &str, err: &dyn std::fmt::Display| {
        tracing::warn!(error = %err, "SSO {what} failed");
        // The provider may have rotated its keys: the next sign-in fetches them again.
        state.identity.forget(connection.id);
        SsoFailure::InvalidToken
    };
    let metadata = discover(state, connection).await?;
    let redirect = RedirectUrl::new(redirect_uri(&state.settings)).map_err(unreachable_provider)?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(connection.client_id.clone()),
        Some(ClientSecret::new(client_secret(state, connection)?)),
    )
    .set_redirect_uri(redirect);
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|e| invalid("token endpoint lookup", &e))?
        .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier.clone()))
        .request_async(&state.identity.http)
        .await
        .map_err(|e| invalid("code exchange", &e))?;
    let id_token = tokens
        .id_token()
        .ok_or_else(|| invalid("ID token lookup", &"no ID token in the response"))?;
    let verifier = client.id_token_verifier().set_time_fn(move || now);
    let claims = id_token
        .claims(&verifier, &Nonce::new(login.nonce.clone()))
        .map_err(|e| invalid("ID token validation", &e))?;
    if let Some(expected) = claims.access_token_hash() {
        let signing_alg = id_token
            .signing_alg()
            .map_err(|e| invalid("access token hash", &e))?;
        let signing_key = id_token
            .signing_key(&verifier)
            .map_err(|e| invalid("access token hash", &e))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), signing_alg, signing_key)
            .map_err(|e| invalid("access token hash", &e))?;
        if actual != *expected {
            return Err(invalid("access token hash", &"mismatch"));
        }
    }
    let multi_factor = claims.auth_method_refs().is_some_and(|methods| {
        methods
            .iter()
            .any(|method| MULTI_FACTOR_METHODS.contains(&method.as_str()))
    }) || claims.auth_context_ref().is_some_and(|acr| {
        connection
            .mfa_acr_values
            .as_deref()
            .is_some_and(|values| values.split_whitespace().any(|value| value == acr.as_str()))
    });
    let subject = claims.subject().clone();
    let mut email = claims.email().map(|e| e.as_str().to_string());
    let mut verified = claims.email_verified();
    let mut name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.as_str().to_string());
    // Providers that follow the core spec strictly put the profile claims in the UserInfo
    // response rather than the ID token; the crate checks its subject is the same.
    if email.is_none() {
        let info: CoreUserInfoClaims = client
            .user_info(tokens.access_token().clone(), Some(subject.clone()))
            .map_err(|e| invalid("userinfo lookup", &e))?
            .request_async(&state.identity.http)
            .await
            .map_err(|e| invalid("userinfo request", &e))?;
        email = info.email().map(|e| e.as_str().to_string());
        verified = info.email_verified();
        name = name.or_else(|| {
            info.name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().to_string())
        });
    }
    // Parsed like an address typed into a form: one plausible address, or none.
    let email = email
        .and_then(|e| crate::accounts::rules::EmailAddress::parse(&e).ok())
        .map(|e| e.as_str().to_string())
        .ok_or(SsoFailure::NoEmail)?;
    if verified != Some(true) && !connection.trust_emails {
        tracing::warn!(%email, "the identity provider did not mark the email verified");
        return Err(SsoFailure::UnverifiedEmail);
    }
    Ok(ProvenIdentity {
        issuer: claims.issuer().as_str().to_string(),
        subject: subject.as_str().to_string(),
        email,
        name: name
            .as_deref()
            .and_then(crate::accounts::rules::shown_name_from_outside),
        multi_factor,
    })
}
