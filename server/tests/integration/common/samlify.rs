//! A real SAML identity provider from npm: samlify behind the login page of
//! end2end/saml-identity-provider.mjs, on a free loopback port, one per test binary. Its
//! signatures are xml-crypto's, not xmlsec's: what passes here passes between two
//! implementations.

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Mutex, OnceLock},
};

use super::maildev::free_port;

pub struct SamlifyProvider {
    pub base: String,
    // Held so its stdin stays open: the provider exits when this process does.
    _child: Mutex<Child>,
}

/// The provider this test binary shares, started on first use.
pub fn samlify_provider() -> &'static SamlifyProvider {
    static PROVIDER: OnceLock<SamlifyProvider> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../end2end");
        assert!(
            root.join("node_modules/samlify").exists(),
            "samlify is missing in end2end/node_modules: run `make test-tools` (npm ci in end2end/)"
        );
        let port = free_port();
        let mut child = Command::new("node")
            .arg(root.join("saml-identity-provider.mjs"))
            .env("SAML_IDP_PORT", port.to_string())
            .env("IDP_EXIT_WITH_PARENT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the SAML identity provider (node)");
        let stdout = child.stdout.take().expect("its stdout");
        let mut stdout = BufReader::new(stdout);
        let mut first_line = String::new();
        stdout
            .read_line(&mut first_line)
            .expect("the SAML identity provider's first line");
        // Its schema validator (xmllint compiled to JavaScript) writes to stdout on every
        // check: keep reading, or its next write breaks the pipe and ends the provider.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        assert!(
            first_line.contains("listening"),
            "the SAML identity provider did not start: {first_line}"
        );
        SamlifyProvider {
            base: format!("http://127.0.0.1:{port}"),
            _child: Mutex::new(child),
        }
    })
}

/// The value of the hidden field `name` in an HTML page.
fn hidden_value(html: &str, name: &str) -> String {
    html.split(&format!("name=\"{name}\" value=\""))
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no {name} in the page: {html}"))
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

impl SamlifyProvider {
    /// The provider's metadata, as an owner downloads it.
    pub async fn metadata(&self) -> String {
        reqwest::get(format!("{}/metadata", self.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Registers Orgdesk's SP (its metadata), as an administrator adds the app.
    pub async fn register(&self, sp_metadata: &str) {
        let reply = reqwest::Client::new()
            .post(format!("{}/sp", self.base))
            .body(sp_metadata.to_string())
            .send()
            .await
            .unwrap();
        assert!(
            reply.status().is_success(),
            "register: {}",
            reply.text().await.unwrap()
        );
    }

    /// Follows Orgdesk's AuthnRequest URL through the login form as `email`; returns the
    /// SAMLResponse the provider's page posts to the ACS, and that ACS URL.
    pub async fn sign_in(
        &self,
        authn_request_url: &str,
        email: &str,
        mfa: bool,
    ) -> (String, String) {
        self.sign_in_with(authn_request_url, email, mfa, false)
            .await
    }

    /// As [`Self::sign_in`]; `encrypt`: the provider encrypts the assertion to the SP.
    pub async fn sign_in_with(
        &self,
        authn_request_url: &str,
        email: &str,
        mfa: bool,
        encrypt: bool,
    ) -> (String, String) {
        let browser = reqwest::Client::new();
        let form = browser.get(authn_request_url).send().await.unwrap();
        let status = form.status();
        let html = form.text().await.unwrap();
        assert!(
            status.is_success(),
            "the provider refused the request: {html}"
        );
        let key = hidden_value(&html, "key");
        let mut fields = vec![("key", key.as_str()), ("email", email)];
        if mfa {
            fields.push(("mfa", "on"));
        }
        if encrypt {
            fields.push(("encrypt", "on"));
        }
        let posted = browser
            .post(format!("{}/login", self.base))
            .form(&fields)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        Self::posted_response(&posted)
    }

    /// The app tile: an unsolicited response for whoever signed in last.
    pub async fn tile(&self, sp_entity_id: &str) -> (String, String) {
        let url =
            url::Url::parse_with_params(&format!("{}/tile", self.base), &[("sp", sp_entity_id)])
                .unwrap();
        let page = reqwest::get(url).await.unwrap().text().await.unwrap();
        Self::posted_response(&page)
    }

    fn posted_response(page: &str) -> (String, String) {
        let action = page
            .split("action=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("no form to the ACS: {page}"))
            .replace("&amp;", "&");
        (hidden_value(page, "SAMLResponse"), action)
    }
}
