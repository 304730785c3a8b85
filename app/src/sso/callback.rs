//! The plain HTTP route of SSO (not a server function: the provider sends the browser back
//! with a GET): the callback.

use super::{
    flow::{self, CallbackParams, Failed, Finished, Purpose},
    SsoNotice,
};
use crate::server::{session, AppState, Viewer};
use axum::{
    extract::{Query, Request, State},
    http::{header, HeaderValue},
    response::{IntoResponse, Redirect, Response},
};

/// `Set-Cookie` binding a sign-in to this browser (Lax: sent on the provider's top-level
/// redirect back to us). Path `/`, which the `__Host-` prefix requires.
pub fn browser_cookie(token: &str, secure: bool) -> HeaderValue {
    session::set_cookie(
        flow::browser_cookie_name(secure),
        token,
        "/",
        cookie::time::Duration::minutes(flow::login_lifetime().num_minutes()),
        secure,
    )
}

fn browser_cookie_removal(secure: bool) -> HeaderValue {
    session::set_cookie(
        flow::browser_cookie_name(secure),
        "",
        "/",
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
    let signed_in = request
        .extensions()
        .get::<Viewer>()
        .and_then(|v| v.0.clone());
    let browser = session::cookie_value(
        request.headers(),
        flow::browser_cookie_name(state.settings.secure_cookies()),
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
    let finished = flow::finish(
        &state,
        params,
        browser.as_deref(),
        signed_in.as_ref(),
        origin,
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
        Ok(Finished::SecondFactor { challenge_token }) => {
            let mut response = Redirect::to("/login/two-factor").into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                crate::accounts::two_factor::service::challenge_cookie(&challenge_token, secure),
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
        Err(Failed { failure, .. }) if signed_in.is_some() => {
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

#[cfg(test)]
mod tests {
    use super::browser_cookie;

    #[test]
    fn over_https_the_browser_cookie_is_a_host_cookie() {
        let secure = browser_cookie("abc", true);
        let secure = secure.to_str().unwrap();
        assert!(secure.starts_with("__Host-orgdesk_sso=abc"), "{secure}");
        assert!(
            secure.contains("Path=/;") || secure.ends_with("Path=/"),
            "{secure}"
        );
        assert!(secure.contains("Secure"), "{secure}");
        assert!(!secure.contains("Domain="), "{secure}");
        let plain = browser_cookie("abc", false);
        assert!(plain.to_str().unwrap().starts_with("orgdesk_sso=abc"));
    }
}
