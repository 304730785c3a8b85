//! The Content-Security-Policy of every page: scripts only with this response's nonce
//! (Leptos puts it on its own inline scripts), WebAssembly allowed to compile, nothing
//! else from elsewhere, and no framing. The other security headers are set for every
//! response by the server's middleware.

use leptos::{nonce::use_nonce, prelude::use_context};

/// Sets this page's `Content-Security-Policy` header.
pub fn content_security_policy() {
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let nonce = use_nonce().map(|n| n.to_string()).unwrap_or_default();
    // A form that signs in through SSO ends in a redirect to the organization's identity
    // provider, which browsers check against form-action: any https origin (http too
    // while Orgdesk itself runs over plain http, as in development).
    let plain_http =
        use_context::<super::AppState>().is_some_and(|state| !state.settings.secure_cookies());
    let form_action = if plain_http {
        "'self' https: http:"
    } else {
        "'self' https:"
    };
    let policy = format!(
        "default-src 'self'; script-src 'nonce-{nonce}' 'strict-dynamic' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action {form_action}"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}
