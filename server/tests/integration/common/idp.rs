//! A real OpenID Connect provider for the tests: npm's oidc-provider, run by
//! end2end/identity-provider.mjs on a free loopback port, one per test binary. Its client is
//! registered for the harness's redirect URI, http://localhost/sso/callback.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Mutex, OnceLock},
};

use super::maildev::free_port;

pub const CLIENT_ID: &str = "orgdesk";
pub const CLIENT_SECRET: &str = "orgdesk-test-client-secret";
pub const REDIRECT_URI: &str = "http://localhost/sso/callback";

pub struct IdentityProvider {
    pub issuer: String,
    // Held so its stdin stays open: the provider exits when this process does.
    _child: Mutex<Child>,
}

/// The provider this test binary shares, started on first use.
pub fn identity_provider() -> &'static IdentityProvider {
    static PROVIDER: OnceLock<IdentityProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end");
        assert!(
            root.join("node_modules/oidc-provider").exists(),
            "oidc-provider is missing in end2end/node_modules: run `make test-tools` (npm ci in end2end/)"
        );
        let port = free_port();
        let mut child = Command::new("node")
            .arg(root.join("identity-provider.mjs"))
            .env("IDP_PORT", port.to_string())
            .env("IDP_REDIRECT_URIS", REDIRECT_URI)
            .env("IDP_EXIT_WITH_PARENT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the identity provider (node)");
        let stdout = child.stdout.take().expect("its stdout");
        let mut first_line = String::new();
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("the identity provider's first line");
        assert!(
            first_line.contains("listening"),
            "the identity provider did not start: {first_line}"
        );
        IdentityProvider {
            issuer: format!("http://127.0.0.1:{port}"),
            _child: Mutex::new(child),
        }
    })
}

impl IdentityProvider {
    /// Goes from Orgdesk's authorization URL through the provider's login form as `login`,
    /// like a browser, and returns where the provider sends the browser back (the path and
    /// query of the callback on Orgdesk).
    pub async fn sign_in(&self, authorization_url: &str, login: &str) -> String {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.url().as_str().starts_with("http://localhost/") {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .unwrap();
        let form_page = browser.get(authorization_url).send().await.unwrap();
        let page_url = form_page.url().clone();
        let html = form_page.text().await.unwrap();
        let action = html
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no login form at {page_url}: {html}"));
        let submit = page_url.join(action).unwrap();
        let back = browser
            .post(submit)
            .form(&[
                ("prompt", "login"),
                ("login", login),
                ("password", "anything"),
            ])
            .send()
            .await
            .unwrap();
        let location = back
            .headers()
            .get(reqwest::header::LOCATION)
            .unwrap_or_else(|| panic!("the provider did not redirect back: {}", back.status()))
            .to_str()
            .unwrap()
            .to_string();
        location
            .strip_prefix("http://localhost")
            .unwrap_or_else(|| panic!("redirected elsewhere: {location}"))
            .to_string()
    }
}
