//! The two plain HTTP routes of SSO (not server functions: the provider and bookmarks reach
//! them with a GET): the provider's callback, and an organization's login URL.

use axum::{
    extract::{Path, Query, Request, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::{
    service::{self, CallbackParams, Failed, Finished, Purpose, BROWSER_COOKIE},
    SsoNotice,
};
use crate::server::{entities::organization, session, AppState, Viewer};

/// `Set-Cookie` binding a sign-in to this browser, for the SSO routes only (Lax: sent on
/// the provider's top-level redirect back to us).
pub fn browser_cookie(token: &str, secure: bool) -> HeaderValue {
    session::set_cookie(
        BROWSER_COOKIE,
        token,
        "/sso",
        cookie::time::Duration::minutes(service::login_lifetime().num_minutes()),
        secure,
    )
}

fn browser_cookie_removal(secure: bool) -> HeaderValue {
    session::set_cookie(
        BROWSER_COOKIE,
        "",
        "/sso",
        cookie::time::Duration::ZERO,
        secure,
    )
}

fn settings_page(notice: SsoNotice) -> String {
    format!("/organization/profile?tab=settings&sso={}", notice.as_str())
}

/// GET /sso/callback: where the provider sends the browser back.
pub async fn callback(State(state): State<AppState>, request: Request) -> Response {
    let params = Query::<CallbackParams>::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let previous_session = request
        .extensions()
        .get::<Viewer>()
        .and_then(|v| v.0.as_ref())
        .map(|v| v.session_id);
    let browser = session::cookie_value(request.headers(), BROWSER_COOKIE);
    let secure = state.settings.secure_cookies();
    let finished = service::finish(
        &state,
        params,
        browser.as_deref(),
        previous_session,
        chrono::Utc::now(),
    )
    .await;
    let mut response = match finished {
        Ok(Finished::SignedIn {
            session_token,
            redirect_to,
        }) => {
            let mut response = Redirect::to(&redirect_to).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                session::cookie_header(&session_token, secure),
            );
            response
        }
        Ok(Finished::Tested { .. }) => {
            Redirect::to(&settings_page(SsoNotice::Tested)).into_response()
        }
        Err(Failed {
            failure,
            purpose: Purpose::Test,
        }) => Redirect::to(&settings_page(failure.notice())).into_response(),
        Err(Failed { failure, .. }) => {
            Redirect::to(&format!("/login?sso={}", failure.notice().as_str())).into_response()
        }
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, browser_cookie_removal(secure));
    response
}

/// GET /sso/login/{public_id}: the organization's login URL, which starts its SSO sign-in.
pub async fn login(State(state): State<AppState>, Path(public_id): Path<String>) -> Response {
    let now = chrono::Utc::now();
    let organization = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(&state.db)
        .await;
    let connection = match organization {
        Ok(Some(org)) => service::enabled_connection(&state.db, org.id)
            .await
            .ok()
            .flatten(),
        _ => None,
    };
    let Some((connection, _)) = connection else {
        return Redirect::to(&format!("/login?sso={}", SsoNotice::Disabled.as_str()))
            .into_response();
    };
    match service::start(&state, &connection, Purpose::Login, None, None, None, now).await {
        Ok(started) => {
            let mut response = Redirect::to(&started.authorization_url).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                browser_cookie(&started.browser_token, state.settings.secure_cookies()),
            );
            response
        }
        Err(failure) => {
            Redirect::to(&format!("/login?sso={}", failure.notice().as_str())).into_response()
        }
    }
}
