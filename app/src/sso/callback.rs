//! The plain HTTP routes of SSO (not server functions: browsers arrive by GET): the
//! hand-off page that sends a browser on to its provider, and the callback.

pub use super::browser::CONTINUE_PATH;
use super::{
    browser::{browser_cookie_name, browser_cookie_removal},
    finish::{self, CallbackParams, Failed},
    flow::{self, Finished, Purpose},
    SsoNotice,
};
use crate::server::{session, AppState, Viewer};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
};

fn settings_page(notice: SsoNotice) -> String {
    format!("{}&sso={}", super::SETTINGS_PAGE, notice.as_str())
}

/// GET /sso/continue: a page that sends the browser on to the provider of the sign-in it
/// started (found by its binding cookie, so no URL here can send anyone elsewhere). A
/// navigation, not a form's redirect: forms stay limited to `form-action 'self'`. Reading
/// it changes nothing.
pub async fn continue_to_provider(State(state): State<AppState>, request: Request) -> Response {
    let browser = session::cookie_value(
        request.headers(),
        browser_cookie_name(state.settings.secure_cookies()),
    );
    let pending =
        flow::pending_authorization_url(&state, browser.as_deref(), chrono::Utc::now()).await;
    match pending {
        Ok(Some(url)) => {
            let mut response = axum::response::Html(hand_off_page(&url)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Ok(None) => {
            Redirect::to(&format!("/login?sso={}", SsoNotice::Expired.as_str())).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "could not read a pending SSO sign-in");
            Redirect::to(&format!("/login?sso={}", SsoNotice::Unreachable.as_str())).into_response()
        }
    }
}

/// The hand-off page: an immediate refresh to the provider, and a link for browsers that
/// do not follow refreshes.
fn hand_off_page(url: &str) -> String {
    let url = html_escape(url);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <link rel=\"icon\" href=\"/favicon.svg\" type=\"image/svg+xml\">\
         <meta http-equiv=\"refresh\" content=\"0;url={url}\">\
         <title>Continuing to your identity provider · Orgdesk</title></head>\
         <body><main><h1>Continuing to your identity provider…</h1>\
         <p><a href=\"{url}\">Continue to your identity provider</a></p></main></body></html>"
    )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// GET /sso/callback: where the provider sends the browser back.
pub async fn callback(State(state): State<AppState>, request: Request) -> Response {
    let params = Query::<CallbackParams>::try_from_uri(request.uri())
        .map(|q| q.0)
        .unwrap_or_default();
    let signed_in = request
        .extensions()
        .get::<Viewer>()
        .and_then(|v| v.0.clone());
    let browser = session::cookie_value(
        request.headers(),
        browser_cookie_name(state.settings.secure_cookies()),
    );
    let origin = session::SignInOrigin::new(
        session::SignInMethod::Sso,
        request.headers(),
        request
            .extensions()
            .get::<crate::server::ClientAddress>()
            .map(|a| a.0),
    );
    let secure = state.settings.secure_cookies();
    let finished = finish::finish(
        &state,
        params,
        browser.as_deref(),
        signed_in.as_ref(),
        origin,
        chrono::Utc::now(),
    )
    .await;
    respond(finished, signed_in.is_some(), secure)
}

/// The answer to a finished sign-in, whatever the protocol: the session or second-factor
/// cookie and where to go, or the page that says what failed. Removes the browser binding.
pub fn respond(finished: Result<Finished, Failed>, signed_in: bool, secure: bool) -> Response {
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
        Ok(Finished::SecondFactor { challenge_token }) => {
            let mut response = Redirect::to("/login/two-factor").into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                crate::identity::sign_in::challenge_cookie(&challenge_token, secure),
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
        // The login page is for signed-out visitors: whoever is signed in hears it at home.
        Err(Failed { failure, .. }) if signed_in => {
            Redirect::to(&format!("/?sso={}", failure.notice().as_str())).into_response()
        }
        Err(Failed { failure, .. }) => {
            Redirect::to(&format!("/login?sso={}", failure.notice().as_str())).into_response()
        }
    };
    response
        .headers_mut()
        .append(header::SET_COOKIE, browser_cookie_removal(secure));
    response
}
