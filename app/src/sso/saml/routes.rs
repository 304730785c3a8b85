//! The SAML endpoints (plain HTTP routes, not server functions): the SP metadata, the ACS
//! that receives the provider's POST (outside the cross-site guard: it comes from the
//! provider's site), and the same-site finish that checks the browser binding.

use axum::{
    body::Body,
    extract::{Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Redirect, Response},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};

use super::{
    attributes::proven_identity,
    flow::{self, Answered, TestReport},
    response::MAX_RESPONSE_BYTES,
    settings::provider_of,
};
use crate::{
    server::{
        entities::{organization, sso_connection},
        locks::lock_organization,
        session, AppState, Viewer,
    },
    sso::{
        browser::browser_cookie_name,
        callback::respond,
        finish::{conclude, Failed},
        flow::{Purpose, SsoFailure},
    },
};

fn failure_page(failure: SsoFailure, purpose: Option<Purpose>) -> Response {
    let notice = failure.notice().as_str();
    match purpose {
        Some(Purpose::Test) => {
            Redirect::to(&format!("{}&sso={notice}", crate::sso::SETTINGS_PAGE)).into_response()
        }
        _ => Redirect::to(&format!("/login?sso={notice}")).into_response(),
    }
}

/// GET /sso/saml/{organization}: the SP metadata (the SP entity ID is this URL). The
/// organization's first SP key is made on the first request, under its lock.
pub async fn sp_metadata(State(state): State<AppState>, Path(public_id): Path<String>) -> Response {
    let organization = match organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id.as_str()))
        .one(&state.reader)
        .await
    {
        Ok(Some(organization)) => organization,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(err) => {
            tracing::error!(error = %err, "SP metadata: organization lookup failed");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let keys = async {
        let txn = state.db.begin().await?;
        lock_organization(&txn, organization.id).await?;
        super::keys::keys_of(
            &txn,
            &state.secrets,
            organization.id,
            "Orgdesk SAML SP",
            chrono::Utc::now(),
        )
        .await?;
        let rows = super::keys::published_keys(&txn, organization.id).await?;
        txn.commit().await?;
        Ok::<_, crate::error::AppError>(rows)
    }
    .await;
    let Ok(keys) = keys else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let signs = provider_of(&state.reader, organization.id)
        .await
        .ok()
        .flatten()
        .is_none_or(|p| p.sign_requests);
    let xml = super::sp_metadata(
        &super::entity_id(&state.settings, &organization.public_id),
        &super::acs_url(&state.settings, &organization.public_id),
        &keys.into_iter().map(|k| k.certificate).collect::<Vec<_>>(),
        signs,
    );
    let mut response = xml.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/samlmetadata+xml"),
    );
    response
}

/// POST /sso/saml/{organization}/acs: the provider's answer (HTTP-POST binding).
pub async fn acs(
    State(state): State<AppState>,
    Path(public_id): Path<String>,
    request: Request,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_RESPONSE_BYTES) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The response is too large.").into_response();
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), MAX_RESPONSE_BYTES).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The response is too large.").into_response();
    };
    let encoded = form_urlencoded::parse(&body)
        .find(|(name, _)| name == "SAMLResponse")
        .map(|(_, value)| value.into_owned());
    let Some(encoded) = encoded else {
        return failure_page(SsoFailure::InvalidToken, None);
    };
    match flow::answer(&state, &public_id, &encoded, chrono::Utc::now()).await {
        // 303: the browser comes back with a GET, on this site, with its binding cookie.
        Answered::Verified { .. } => Redirect::to(super::FINISH_PATH).into_response(),
        Answered::Unsolicited {
            organization_public_id,
        } => {
            tracing::info!(
                "an unsolicited SAML response: a sign-in of Orgdesk's own starts instead"
            );
            Redirect::to(&format!("/sso/login/{organization_public_id}")).into_response()
        }
        Answered::Refused { failure, purpose } => failure_page(failure, purpose),
    }
}

/// GET /sso/saml/finish: the ACS's sign-in, ended for the browser that started it.
pub async fn finish(State(state): State<AppState>, request: Request<Body>) -> Response {
    let now = chrono::Utc::now();
    let secure = state.settings.secure_cookies();
    let signed_in = request
        .extensions()
        .get::<Viewer>()
        .and_then(|v| v.0.clone());
    let browser = session::cookie_value(request.headers(), browser_cookie_name(secure));
    let origin = session::SignInOrigin::new(
        session::SignInMethod::Sso,
        request.headers(),
        request
            .extensions()
            .get::<crate::server::ClientAddress>()
            .map(|a| a.0),
    );
    let (login, assertion) = match flow::take_answered(&state, browser.as_deref()).await {
        Ok(Some(answered)) => answered,
        Ok(None) => {
            return respond(
                Err(Failed {
                    failure: SsoFailure::InvalidState,
                    purpose: Purpose::Login,
                }),
                signed_in.is_some(),
                secure,
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "SAML finish: sign-in lookup failed");
            return failure_page(SsoFailure::Unreachable, None);
        }
    };
    let purpose = login.purpose;
    let fail = |failure| {
        respond(
            Err(Failed { failure, purpose }),
            signed_in.is_some(),
            secure,
        )
    };
    if login.expires_at <= now {
        return fail(SsoFailure::Expired);
    }
    let connection = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(login.organization_id))
        .one(&state.reader)
        .await;
    let provider = provider_of(&state.reader, login.organization_id).await;
    let (Ok(Some(connection)), Ok(Some(provider))) = (connection, provider) else {
        return fail(SsoFailure::Disabled);
    };
    match purpose {
        Purpose::Login if !connection.enabled => return fail(SsoFailure::Disabled),
        Purpose::Test if connection.updated_at > login.created_at => {
            return fail(SsoFailure::SettingsChanged)
        }
        _ => {}
    }
    let identity = proven_identity(&assertion, &provider);
    if purpose == Purpose::Test {
        flow::record_test(
            &state,
            &provider,
            TestReport::passed(&assertion, identity.as_ref(), now),
        )
        .await;
    }
    let Some(identity) = identity else {
        return fail(SsoFailure::NoEmail);
    };
    let finished = conclude(
        &state,
        &connection,
        &login,
        identity,
        signed_in.as_ref(),
        &origin,
        now,
    )
    .await;
    respond(finished, signed_in.is_some(), secure)
}
