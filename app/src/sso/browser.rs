//! The cookie that binds an SSO sign-in to the browser that started it, and the hand-off
//! page's path: shared by the flow (which sets them) and the plain routes (which read
//! them), so neither imports the other.

use chrono::Duration;
use http::HeaderValue;

use crate::server::session;

/// Where a started sign-in sends the browser before the provider.
pub const CONTINUE_PATH: &str = "/sso/continue";

/// The cookie that ties a sign-in to the browser that started it.
const BROWSER_COOKIE: &str = "orgdesk_sso";

/// The browser cookie's name: over https with the `__Host-` prefix (secure, whole host, no
/// sibling site can plant it), as the session's.
pub fn browser_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-orgdesk_sso"
    } else {
        BROWSER_COOKIE
    }
}

/// How long a user may spend at the provider's login page.
pub fn login_lifetime() -> Duration {
    Duration::minutes(10)
}

/// `Set-Cookie` binding a sign-in to this browser (Lax: sent on the provider's top-level
/// redirect back to us). Path `/`, which the `__Host-` prefix requires.
pub fn browser_cookie(token: &str, secure: bool) -> HeaderValue {
    session::set_cookie(
        browser_cookie_name(secure),
        token,
        "/",
        cookie::time::Duration::minutes(login_lifetime().num_minutes()),
        secure,
    )
}

/// `Set-Cookie` that removes it (the sign-in ended, either way).
pub fn browser_cookie_removal(secure: bool) -> HeaderValue {
    session::set_cookie(
        browser_cookie_name(secure),
        "",
        "/",
        cookie::time::Duration::ZERO,
        secure,
    )
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
