//! Request middleware: who the client is, cross-site request refusal, and sessions.

use std::net::SocketAddr;

use app::error::AppError;
use app::server::{
    session::{self, Resolved},
    throttle_bucket, ClientAddress, ThrottleAddress, Viewer,
};
use axum::{
    body::Body,
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};

use crate::ServerState;

/// Refuses requests addressed to a host that is not Orgdesk's: the public URL's host, the
/// `allowed-hosts` setting, and, when the public URL is on loopback, the other loopback
/// names with the same port. A page on another domain that a DNS-rebinding attack points
/// at 127.0.0.1 still sends its own domain as Host, so it reaches nothing. `/health` answers
/// whatever the Host, for load balancers.
pub async fn allowed_host(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    // HTTP/2 names the host in the request's authority rather than a Host header.
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !host_allowed(&host, &state.config.public_url, &state.config.allowed_hosts) {
        tracing::warn!(%host, "request for a host that is not Orgdesk's");
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "This server does not answer for that host name.",
        )
            .into_response();
    }
    next.run(req).await
}

fn host_allowed(host: &str, public_url: &str, allowed: &[String]) -> bool {
    let public_host = public_origin(public_url)
        .split_once("://")
        .map(|(_, h)| h.to_ascii_lowercase())
        .unwrap_or_default();
    if host == public_host || allowed.iter().any(|a| a == host) {
        return true;
    }
    let port_of = |h: &str| h.rsplit_once(':').map(|(_, p)| p.to_string());
    let name_of = |h: &str| {
        h.rsplit_once(':')
            .map_or(h.to_string(), |(name, _)| name.to_string())
    };
    let loopback = ["localhost", "127.0.0.1", "[::1]"];
    loopback.contains(&name_of(&public_host).as_str())
        && loopback.contains(&name_of(host).as_str())
        && port_of(host) == port_of(&public_host)
}

/// Leptos carries a form's error back to its page in the URL (`?__err=`, when JavaScript is
/// off), and the page shows it. Such a URL is trustworthy only on the way back from
/// Orgdesk's own form: a same-origin navigation. Anyone else's link (an email, another
/// site) could put any text into Orgdesk's alert, so its `__err` is dropped first.
pub async fn untrusted_form_errors(req: Request, next: Next) -> Response {
    let query = req.uri().query().unwrap_or("");
    let carries_error = form_urlencoded::parse(query.as_bytes()).any(|(key, _)| key == "__err");
    if !carries_error || !is_page_request(&req) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let same_origin = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some(site) => site == "same-origin",
        // Browsers without Fetch Metadata: the Referer must be this site's.
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            headers
                .get(header::REFERER)
                .and_then(|r| r.to_str().ok())
                .zip(host)
                .is_some_and(|(referer, host)| {
                    referer
                        .split_once("://")
                        .is_some_and(|(_, rest)| rest.split('/').next() == Some(host))
                })
        }
    };
    if same_origin {
        return next.run(req).await;
    }
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key != "__err" && key != "__path")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // One leading slash: "//evil.example/x" would leave the site (a protocol-relative URL).
    let mut target = format!("/{}", req.uri().path().trim_start_matches('/'));
    if !kept.is_empty() {
        target.push('?');
        target.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish(),
        );
    }
    Redirect::to(&target).into_response()
}

/// Records the client's address for login throttling: the connection's peer, or, behind a
/// trusted reverse proxy, the last address of X-Forwarded-For (the one the proxy saw).
pub async fn client_address(
    State(state): State<ServerState>,
    mut req: Request,
    next: Next,
) -> Response {
    let forwarded = state
        .config
        .trust_proxy
        .then(|| {
            req.headers()
                .get("x-forwarded-for")?
                .to_str()
                .ok()?
                .rsplit(',')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .flatten();
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    if let Some(address) = forwarded.or(peer) {
        req.extensions_mut().insert(ClientAddress(address));
        req.extensions_mut().insert(ThrottleAddress(throttle_bucket(
            address,
            state.config.ipv6_throttle_prefix,
        )));
    }
    next.run(req).await
}

/// Refuses state-changing requests that a browser sent from another site (CSRF).
/// Browsers mark every request with `Sec-Fetch-Site` (and POSTs with `Origin`). A request
/// carrying neither comes from a non-browser client or an old browser: without a session
/// cookie it can act for nobody; with one it passes only with a same-origin `Referer`.
pub async fn cross_site_guard(
    State(state): State<ServerState>,
    req: Request,
    next: Next,
) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && is_cross_site(&req, &state.config.public_url) {
        return (
            StatusCode::FORBIDDEN,
            "Cross-site request refused: this form must be submitted from Orgdesk itself.",
        )
            .into_response();
    }
    next.run(req).await
}

fn is_cross_site(req: &Request, public_url: &str) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    let scheme = if public_url.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    let host_origin = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("{scheme}://{host}"));
    let ours = |origin: &str| {
        origin == public_origin(public_url) || Some(origin) == host_origin.as_deref()
    };
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        return !ours(origin);
    }
    let carries_session = [true, false]
        .into_iter()
        .any(|secure| session::token_from(headers, secure).is_some());
    if !carries_session {
        return false;
    }
    let referer = headers
        .get(header::REFERER)
        .and_then(|r| r.to_str().ok())
        .map(public_origin);
    !referer.is_some_and(ours)
}

/// `scheme://host[:port]` of a URL.
fn public_origin(url: &str) -> &str {
    let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
    match url[after_scheme..].find('/') {
        Some(i) => &url[..after_scheme + i],
        None => url,
    }
}

/// Resolves the session cookie into a [`Viewer`] for the app, keeps the cookie's lifetime
/// in step with the session's, and sends signed-out page visits to the login page (and
/// back afterwards).
pub async fn sessions(State(state): State<ServerState>, mut req: Request, next: Next) -> Response {
    // Static files need no session: spare the database a lookup per asset.
    if is_static_file(req.uri().path()) {
        return next.run(req).await;
    }
    let secure = state.app.settings.secure_cookies();
    let token = session::token_from(req.headers(), secure);
    let mut cookie_update = None;
    let now = chrono::Utc::now();
    let user = match &token {
        None => None,
        Some(token) => match session::resolve(&state.app.reader, &state.app.db, token, now).await {
            Ok(Resolved::Active {
                user,
                refresh_cookie,
            }) => {
                if refresh_cookie {
                    cookie_update = Some(session::cookie_header(token, secure));
                }
                Some(user)
            }
            Ok(Resolved::Invalid) => {
                cookie_update = Some(session::removal_cookie_header(secure));
                None
            }
            Err(err) => {
                tracing::error!(error = %err, "session lookup failed");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    [(header::RETRY_AFTER, HeaderValue::from_static("5"))],
                    app::error::DATABASE_UNAVAILABLE,
                )
                    .into_response();
            }
        },
    };

    let mut response = if is_page_request(&req) {
        let path = req.uri().path();
        if user.is_none() && !app::is_public_page(path) {
            let next = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Some(
                Redirect::to(&format!("/login?next={}", app::ui::url::urlencode(next)))
                    .into_response(),
            )
        } else if user.is_some() && app::SIGNED_OUT_PAGES.contains(&path) {
            Some(Redirect::to("/").into_response())
        } else {
            None
        }
    } else {
        None
    };
    if response.is_none() {
        req.extensions_mut().insert(Viewer(user));
        response = Some(next.run(req).await);
    }
    let mut response = response.expect("set above");

    // A response that sets the session cookie itself (log in, log out) has the last word.
    if let Some(update) = cookie_update {
        if !sets_session_cookie(&response, secure) {
            response.headers_mut().append(header::SET_COOKIE, update);
        }
    }
    response
}

/// Server functions answer every error with 500; this gives the expected ones the status
/// that says what happened (422 bad input, 401, 403, 429), so logs, proxies and browsers
/// tell a refused form from a fault. Only error responses are read, and they are small.
pub async fn error_status(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "Internal error").into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = match error {
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Busy(_) => {
                parts
                    .headers
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Request(_) => StatusCode::BAD_REQUEST,
            AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// A browser navigation to a page (not a server function, not an asset).
fn is_page_request(req: &Request) -> bool {
    let path = req.uri().path();
    matches!(*req.method(), Method::GET | Method::HEAD)
        && !path.starts_with("/api/")
        && !is_static_file(path)
}

/// The built bundle under /pkg/ and the files of public/ (all named with an extension).
fn is_static_file(path: &str) -> bool {
    path.starts_with("/pkg/") || path.rsplit('/').next().unwrap_or("").contains('.')
}

fn sets_session_cookie(response: &Response, secure: bool) -> bool {
    let prefix = format!("{}=", session::cookie_name(secure));
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v: &HeaderValue| v.to_str().ok())
        .any(|v| v.starts_with(&prefix))
}

/// Caching of the site's static files. With hashed names (`hash-files`, release builds)
/// a file under `/pkg/` never changes under its name: browsers keep it a year without
/// asking. Unhashed files (development builds) are revalidated on every use, and the other
/// public files (the icon) kept an hour.
pub async fn asset_caching(State(state): State<ServerState>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let policy = if !is_static_file(path) || path.starts_with("/api/") {
        None
    } else if path.starts_with(&format!("/{}/", state.leptos.site_pkg_dir)) {
        Some(if state.leptos.hash_files {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        })
    } else {
        Some("public, max-age=3600")
    };
    let mut response = next.run(req).await;
    let cacheable = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    // Logos say their own caching.
    let said = response.headers().contains_key(header::CACHE_CONTROL);
    if let (Some(policy), true, false) = (policy, cacheable, said) {
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
        // The same name answers brotli, gzip or plain bytes: caches must keep them apart.
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// The security headers of every response, in one place. A page's Content-Security-Policy
/// names a nonce made here for this response (the app's context hands it to Leptos, which
/// puts it on its inline scripts): scripts run only with it, WebAssembly may compile,
/// nothing else loads from elsewhere, and nothing frames the page. Any other answer gets a
/// policy that allows nothing, so a JSON or plain answer can never run as a page.
pub async fn security_headers(
    State(state): State<ServerState>,
    mut req: Request,
    next: Next,
) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let docs = req.uri().path() == "/api/docs";
    let nonce = leptos::nonce::Nonce::new();
    req.extensions_mut().insert(nonce.clone());
    let mut response = next.run(req).await;
    let secure = state.app.settings.secure_cookies();
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("text/html"));
    if is_html {
        // Forms post only here: an SSO start answers with Orgdesk's hand-off page
        // (/sso/continue), which navigates on to the provider.
        // The API reference's stylesheet (Swagger UI's) draws its icons as data: images.
        let images = if docs { "'self' data:" } else { "'self'" };
        let policy = format!(
            "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
             style-src 'self'; img-src {images}; object-src 'none'; base-uri 'none'; \
             frame-ancestors 'none'; form-action 'self'"
        );
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    // The Remove, Leave, Revoke and Delete dialogs open from a URL: never in a frame.
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // Invitation, verification and reset links carry secrets in their URL: no other site
    // ever sees one in a Referer. Same-origin requests keep it, because a form posted
    // without JavaScript comes back to its page (with its errors) by the Referer.
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    if secure {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        );
    }
    // Pages and server-function answers are about someone: no cache keeps them. Static
    // files and logos set their own caching.
    if (api || is_html) && !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::public_origin;

    #[test]
    fn only_orgdesks_host_names_are_answered() {
        use super::host_allowed;
        let none: &[String] = &[];
        assert!(host_allowed(
            "orgdesk.example.com",
            "https://orgdesk.example.com",
            none
        ));
        assert!(!host_allowed(
            "evil.example",
            "https://orgdesk.example.com",
            none
        ));
        assert!(host_allowed(
            "admin.example.com",
            "https://orgdesk.example.com",
            &["admin.example.com".to_string()]
        ));
        // On loopback, every loopback name with the same port; a rebinding domain never.
        assert!(host_allowed(
            "localhost:3000",
            "http://127.0.0.1:3000",
            none
        ));
        assert!(!host_allowed(
            "localhost:4000",
            "http://127.0.0.1:3000",
            none
        ));
        assert!(!host_allowed(
            "rebind.evil.example:3000",
            "http://127.0.0.1:3000",
            none
        ));
        assert!(!host_allowed("", "http://127.0.0.1:3000", none));
    }

    #[test]
    fn public_origin_drops_the_path() {
        assert_eq!(
            public_origin("https://orgdesk.example.com/base"),
            "https://orgdesk.example.com"
        );
        assert_eq!(
            public_origin("http://127.0.0.1:3000"),
            "http://127.0.0.1:3000"
        );
    }
}
