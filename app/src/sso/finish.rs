//! The provider's answer to the OpenID Connect round trip: the stored login is used up
//! (bound to this browser), the code is exchanged and the ID token checked by the
//! `openidconnect` crate (signature against the published keys, issuer, audience, expiry,
//! nonce), the address must be at one of the organization's verified domains; a passed test
//! is recorded here, a user's sign-in is handed to [`super::sync`].

use chrono::{DateTime, Utc};
use openidconnect::{
    core::{CoreClient, CoreUserInfoClaims},
    AccessTokenHash, AuthorizationCode, ClientId, ClientSecret, Nonce, OAuth2TokenResponse,
    PkceCodeVerifier, RedirectUrl, TokenResponse,
};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};

use super::{
    flow::{client_secret, discover, unreachable_provider, Purpose, SsoFailure},
    outcome::{Finished, ProvenIdentity, MULTI_FACTOR_METHODS},
    settings::redirect_uri,
    sync::{account_of, sign_in},
};
use crate::{
    addresses::domain_of,
    identity::routing::verified_domains_of,
    server::{
        entities::{sso_connection, sso_login},
        session,
        tokens::hash_token,
        AppState, SignedIn,
    },
};

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
    conclude(
        state,
        &connection,
        &login,
        identity,
        signed_in,
        &origin,
        now,
    )
    .await
}

/// The end of every sign-in at a provider, whatever the protocol, once the provider's answer
/// passed its checks: the address must be at one of the organization's verified domains and
/// a link must still speak for its account; then a test is recorded, or the user signed in
/// through [`super::sync`] (account, membership, second factor and session rules).
pub async fn conclude(
    state: &AppState,
    connection: &sso_connection::Model,
    login: &sso_login::Model,
    identity: ProvenIdentity,
    signed_in: Option<&SignedIn>,
    origin: &session::SignInOrigin,
    now: DateTime<Utc>,
) -> Result<Finished, Failed> {
    let purpose = login.purpose;
    let fail = |failure| Failed { failure, purpose };
    // Checked again at every sign-in: a domain counts only while the organization's proof
    // of it stands.
    let domains = verified_domains_of(&state.reader, connection.organization_id)
        .await
        .map_err(|_| fail(SsoFailure::Unreachable))?;
    if !domain_of(&identity.email).is_some_and(|d| domains.contains(&d)) {
        tracing::warn!(email = %identity.email, "SSO sign-in for an address outside the organization's verified domains");
        // Owners should see a provider that hands out addresses the organization does not own.
        if purpose == Purpose::Login {
            let _ = crate::audit::service::NewEvent::system(
                connection.organization_id,
                crate::audit::events::EventKind::SsoRefused,
            )
            .about(&identity.email)
            .record(&state.db, now)
            .await;
        }
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
                connection,
                login,
                identity,
                signed_in.map(|s| s.session_id),
                origin,
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
