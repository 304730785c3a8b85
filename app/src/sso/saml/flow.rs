//! A SAML sign-in from start to end. The start records the AuthnRequest's ID (hashed) with
//! the browser binding, like an OpenID Connect state. The ACS checks the provider's POST and
//! marks the sign-in answered with the verified assertion; the browser then comes back on a
//! same-site request ([`super::FINISH_PATH`]) whose cookie must match the binding before the
//! sign-in ends in [`crate::sso::finish::conclude`].

use chrono::{DateTime, Utc};
use sea_orm::{sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

use super::{
    keys, request,
    response::{self, Expected, ResponseFailure, VerifiedAssertion},
    settings::provider_of,
};
use crate::{
    server::entities::sso_login::Purpose,
    server::{
        entities::{organization, saml_assertion_id, saml_provider, sso_connection, sso_login},
        tokens::hash_token,
        AppState,
    },
    sso::outcome::SsoFailure,
};

/// Makes the AuthnRequest for `connection`'s provider. Returns the request ID (the
/// sign-in's secret: only its hash is stored) and the provider URL.
pub async fn authn_request(
    state: &AppState,
    connection: &sso_connection::Model,
    now: DateTime<Utc>,
) -> Result<request::AuthnRequestUrl, SsoFailure> {
    let unreachable = |what: &str, err: &dyn std::fmt::Display| {
        tracing::error!(error = %err, organization_id = connection.organization_id, "SAML {what} failed");
        SsoFailure::Unreachable
    };
    let provider = provider_of(&state.reader, connection.organization_id)
        .await
        .map_err(|e| unreachable("provider lookup", &e))?
        .ok_or(SsoFailure::Disabled)?;
    let organization = organization::Entity::find_by_id(connection.organization_id)
        .one(&state.reader)
        .await
        .map_err(|e| unreachable("organization lookup", &e))?
        .ok_or(SsoFailure::Disabled)?;
    let signing_key = if provider.sign_requests {
        keys::keys_of(
            &state.db,
            &state.secrets,
            connection.organization_id,
            "Orgdesk SAML SP",
            now,
        )
        .await
        .map_err(|e| unreachable("SP key lookup", &e))?
        .into_iter()
        .next()
    } else {
        None
    };
    request::authn_request_url(
        &super::entity_id(&state.settings, &organization.public_id),
        &super::acs_url(&state.settings, &organization.public_id),
        &provider,
        signing_key.as_ref(),
    )
    .map_err(|e| unreachable("AuthnRequest", &e))
}

/// How the ACS ended.
pub enum Answered {
    /// The sign-in is answered: send the browser to the finish page.
    Verified { purpose: Purpose },
    /// No `InResponseTo`: a provider's app tile. Start a sign-in of our own instead.
    Unsolicited { organization_public_id: String },
    /// Refused; a test's reason is kept for the inspector.
    Refused {
        failure: SsoFailure,
        purpose: Option<Purpose>,
    },
}

/// The ACS: checks the posted response for the organization `public_id` and marks the
/// sign-in it answers. Never creates a session: the browser binding is checked on the
/// same-site request that follows.
pub async fn answer(
    state: &AppState,
    public_id: &str,
    encoded_response: &str,
    now: DateTime<Utc>,
) -> Answered {
    let refused = |failure, purpose| Answered::Refused { failure, purpose };
    let organization = match organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(&state.reader)
        .await
    {
        Ok(Some(organization)) => organization,
        Ok(None) => return refused(SsoFailure::InvalidState, None),
        Err(err) => {
            tracing::error!(error = %err, "ACS: organization lookup failed");
            return refused(SsoFailure::Unreachable, None);
        }
    };
    let received = match response::receive(encoded_response) {
        Ok(received) => received,
        Err(misshapen) => {
            tracing::warn!(organization_id = organization.id, reason = %misshapen.failure.sentence(), "SAML response refused before it was read");
            // An owner's test hears why; the sign-in it claims to answer is used up.
            let purpose = match misshapen.in_response_to {
                Some(id) => use_up(state, organization.id, &id, &misshapen.failure, now).await,
                None => None,
            };
            return refused(SsoFailure::InvalidToken, purpose);
        }
    };
    let Some(in_response_to) = received.in_response_to.clone() else {
        return Answered::Unsolicited {
            organization_public_id: organization.public_id,
        };
    };
    let login = match sso_login::Entity::find()
        .filter(sso_login::Column::StateHash.eq(hash_token(&in_response_to)))
        .filter(sso_login::Column::OrganizationId.eq(organization.id))
        .filter(sso_login::Column::SamlIdentity.is_null())
        .one(&state.db)
        .await
    {
        Ok(Some(login)) if login.expires_at > now => login,
        Ok(Some(login)) => return refused(SsoFailure::Expired, Some(login.purpose)),
        Ok(None) => return refused(SsoFailure::InvalidState, None),
        Err(err) => {
            tracing::error!(error = %err, "ACS: sign-in lookup failed");
            return refused(SsoFailure::Unreachable, None);
        }
    };
    let purpose = login.purpose;
    let checked = check(state, &organization, &received, &in_response_to, now).await;
    let provider = provider_of(&state.reader, organization.id)
        .await
        .ok()
        .flatten();
    let assertion = match checked {
        Ok(assertion) => assertion,
        Err(failure) => {
            tracing::warn!(organization_id = organization.id, reason = %failure.sentence(), "SAML response refused");
            if purpose == Purpose::Test {
                if let Some(provider) = &provider {
                    record_test(state, provider, TestReport::failed(&failure, now)).await;
                }
            }
            // The request is used up either way: a refused answer is not retried.
            let _ = sso_login::Entity::delete_by_id(login.id)
                .exec(&state.db)
                .await;
            let failure = match failure {
                ResponseFailure::InResponseTo => SsoFailure::InvalidState,
                ResponseFailure::Expired | ResponseFailure::NotYetValid => SsoFailure::Expired,
                ResponseFailure::ProviderRefused(_) => SsoFailure::ProviderRefused,
                ResponseFailure::Busy => SsoFailure::Unreachable,
                _ => SsoFailure::InvalidToken,
            };
            return refused(failure, Some(purpose));
        }
    };
    // One use per assertion, across every server process: the unique key decides.
    let replay = saml_assertion_id::ActiveModel {
        assertion_hash: Set(hash_token(&format!(
            "{}\n{}",
            assertion.issuer, assertion.assertion_id
        ))),
        organization_id: Set(organization.id),
        expires_at: Set(assertion.usable_until),
        ..Default::default()
    }
    .insert(&state.db)
    .await;
    if replay.is_err() {
        tracing::warn!(
            organization_id = organization.id,
            "a SAML assertion was presented again: refused"
        );
        return refused(SsoFailure::InvalidState, Some(purpose));
    }
    let _ = saml_assertion_id::Entity::delete_many()
        .filter(saml_assertion_id::Column::ExpiresAt.lt(now))
        .exec(&state.db)
        .await;
    let Ok(json) = serde_json::to_string(&assertion) else {
        return refused(SsoFailure::Unreachable, Some(purpose));
    };
    let marked = sso_login::Entity::update_many()
        .col_expr(sso_login::Column::SamlIdentity, Expr::value(json))
        .filter(sso_login::Column::Id.eq(login.id))
        .filter(sso_login::Column::SamlIdentity.is_null())
        .exec(&state.db)
        .await;
    match marked {
        Ok(done) if done.rows_affected == 1 => Answered::Verified { purpose },
        Ok(_) => refused(SsoFailure::InvalidState, Some(purpose)),
        Err(err) => {
            tracing::error!(error = %err, "ACS: could not mark the sign-in answered");
            refused(SsoFailure::Unreachable, Some(purpose))
        }
    }
}

/// Removes the unanswered sign-in `request_id` names, recording `failure` when it was an
/// owner's test. Returns its purpose, if there was one.
async fn use_up(
    state: &AppState,
    organization_id: i32,
    request_id: &str,
    failure: &ResponseFailure,
    now: DateTime<Utc>,
) -> Option<Purpose> {
    let login = sso_login::Entity::find()
        .filter(sso_login::Column::StateHash.eq(hash_token(request_id)))
        .filter(sso_login::Column::OrganizationId.eq(organization_id))
        .filter(sso_login::Column::SamlIdentity.is_null())
        .one(&state.db)
        .await
        .ok()
        .flatten()?;
    let _ = sso_login::Entity::delete_by_id(login.id)
        .exec(&state.db)
        .await;
    if login.purpose == Purpose::Test {
        if let Ok(Some(provider)) = provider_of(&state.reader, organization_id).await {
            record_test(state, &provider, TestReport::failed(failure, now)).await;
        }
    }
    Some(login.purpose)
}

/// The response's checks, on a blocking thread under the limit on expensive work.
async fn check(
    state: &AppState,
    organization: &organization::Model,
    received: &response::ReceivedResponse,
    request_id: &str,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, ResponseFailure> {
    let provider = provider_of(&state.reader, organization.id)
        .await
        .ok()
        .flatten()
        .ok_or(ResponseFailure::Malformed)?;
    let certificates: Vec<super::metadata::SigningCertificate> =
        serde_json::from_str(&provider.signing_certificates)
            .map_err(|_| ResponseFailure::Malformed)?;
    let sp_keys = keys::published_keys(&state.reader, organization.id)
        .await
        .map_err(|_| ResponseFailure::Malformed)?
        .iter()
        .filter_map(|row| keys::open_key(&state.secrets, row).ok())
        .collect::<Vec<_>>();
    let sp_entity_id = super::entity_id(&state.settings, &organization.public_id);
    let acs_url = super::acs_url(&state.settings, &organization.public_id);
    let provider_entity_id = provider.entity_id.clone();
    let request_id = request_id.to_string();
    let received = received.clone();
    crate::server::limits::SAML_WORK
        .run(move || {
            response::verify(
                &received,
                &Expected {
                    sp_entity_id: &sp_entity_id,
                    acs_url: &acs_url,
                    provider_entity_id: &provider_entity_id,
                    certificates: &certificates,
                    request_id: &request_id,
                    sp_keys: &sp_keys,
                    now,
                },
            )
        })
        .await
        .map_err(|_| ResponseFailure::Busy)?
}

/// The answered sign-in of this browser, taken once: `None` when there is none (another
/// browser's, used already, or never answered).
pub async fn take_answered(
    state: &AppState,
    browser_token: Option<&str>,
) -> Result<Option<(sso_login::Model, VerifiedAssertion)>, sea_orm::DbErr> {
    let Some(browser_token) = browser_token else {
        return Ok(None);
    };
    let Some(login) = sso_login::Entity::find()
        .filter(sso_login::Column::BrowserHash.eq(hash_token(browser_token)))
        .filter(sso_login::Column::SamlIdentity.is_not_null())
        .one(&state.db)
        .await?
    else {
        return Ok(None);
    };
    let taken = sso_login::Entity::delete_by_id(login.id)
        .exec(&state.db)
        .await?;
    if taken.rows_affected == 0 {
        return Ok(None);
    }
    let assertion = login
        .saml_identity
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok());
    Ok(assertion.map(|assertion| (login, assertion)))
}

/// The last Test connection, for the assertion inspector.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestReport {
    pub at: DateTime<Utc>,
    /// Why it failed, in one sentence; `None` when it passed.
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
    /// The provider's clock minus ours, in seconds, at the assertion's issue.
    pub clock_difference_seconds: Option<i64>,
    pub encrypted: bool,
}

impl TestReport {
    pub fn failed(failure: &ResponseFailure, now: DateTime<Utc>) -> Self {
        TestReport {
            at: now,
            failure: Some(failure.sentence()),
            name_id: None,
            name_id_format: None,
            attributes: Vec::new(),
            mapped_email: None,
            mapped_name: None,
            signed_elements: Vec::new(),
            certificate: None,
            class_refs: Vec::new(),
            multi_factor: false,
            clock_difference_seconds: None,
            encrypted: false,
        }
    }

    pub fn passed(
        assertion: &VerifiedAssertion,
        identity: Option<&crate::sso::outcome::ProvenIdentity>,
        now: DateTime<Utc>,
    ) -> Self {
        TestReport {
            at: now,
            failure: identity.is_none().then(|| {
                "The assertion carries no email address Orgdesk can use: map the email attribute, or send the address as the NameID.".to_string()
            }),
            name_id: Some(assertion.name_id.clone()),
            name_id_format: assertion.name_id_format.clone(),
            attributes: assertion.attributes.clone(),
            mapped_email: identity.map(|i| i.email.clone()),
            mapped_name: identity.and_then(|i| i.name.clone()),
            signed_elements: assertion.signed_elements.clone(),
            certificate: Some(assertion.certificate.clone()),
            class_refs: assertion.class_refs.clone(),
            multi_factor: identity.is_some_and(|i| i.multi_factor),
            clock_difference_seconds: Some((assertion.issue_instant - now).num_seconds()),
            encrypted: assertion.encrypted,
        }
    }
}

/// Keeps `report` as the provider's last test.
pub async fn record_test(state: &AppState, provider: &saml_provider::Model, report: TestReport) {
    let Ok(json) = serde_json::to_string(&report) else {
        return;
    };
    if let Err(err) = saml_provider::Entity::update_many()
        .col_expr(saml_provider::Column::LastTest, Expr::value(json))
        .filter(saml_provider::Column::Id.eq(provider.id))
        .exec(&state.db)
        .await
    {
        tracing::error!(error = %err, "could not record a SAML test");
    }
}
