//! Domains and single sign-on as an owner sets them up, and sign-ins through the test's
//! OpenID Connect provider.

use super::*;

impl TestApp {
    /// Adds `domain` to the organization; returns the reply.
    pub async fn add_domain(&self, owner: &str, public_id: &str, domain: &str) -> Reply {
        self.send(
            Call::post(
                "/api/domains/add",
                &[("organization_id", public_id), ("domain", domain)],
            )
            .session(owner),
        )
        .await
    }

    /// Publishes the domain's TXT challenge on the test DNS server.
    pub async fn publish_challenge(&self, public_id: &str, domain: &str) {
        use app::domains::rules::{challenge_name, challenge_value};
        let row = self.domain_row(public_id, domain).await;
        dns::dns_server()
            .publish(
                &challenge_name(&row.domain),
                &challenge_value(&row.challenge),
            )
            .await;
    }

    /// Presses Verify for the domain; returns the reply.
    pub async fn press_verify(&self, owner: &str, public_id: &str, domain: &str) -> Reply {
        self.send(
            Call::post(
                "/api/domains/verify",
                &[("organization_id", public_id), ("domain", domain)],
            )
            .session(owner),
        )
        .await
    }

    /// The whole proof, as an owner does it: add the domain, publish its record, verify.
    pub async fn verify_domain(&self, owner: &str, public_id: &str, domain: &str) {
        let added = self.add_domain(owner, public_id, domain).await;
        assert_eq!(added.status, StatusCode::OK, "add {domain}: {}", added.body);
        self.publish_challenge(public_id, domain).await;
        let verified = self.press_verify(owner, public_id, domain).await;
        assert_eq!(
            verified.status,
            StatusCode::OK,
            "verify {domain}: {}",
            verified.body
        );
    }

    /// Proves each of `domains` (space-separated) as an owner does, then saves the test
    /// provider as the organization's identity provider; returns the save's reply.
    pub async fn configure_sso(&self, owner: &str, public_id: &str, domains: &str) -> Reply {
        for domain in domains.split_whitespace() {
            self.verify_domain(owner, public_id, domain).await;
        }
        self.save_sso_settings(owner, public_id).await
    }

    /// Saves the test provider as the organization's identity provider.
    pub async fn save_sso_settings(&self, owner: &str, public_id: &str) -> Reply {
        let provider = idp::identity_provider();
        self.send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", public_id),
                    ("provider_name", "Test IdP"),
                    ("issuer_url", &provider.issuer),
                    ("client_id", idp::CLIENT_ID),
                    ("client_secret", idp::CLIENT_SECRET),
                ],
            )
            .session(owner),
        )
        .await
    }

    /// Runs Test connection as `tester` at the provider; returns the callback's reply.
    pub async fn test_sso(&self, owner: &str, public_id: &str, tester: &str) -> Reply {
        let started = self
            .send(Call::post("/api/sso/test", &[("organization_id", public_id)]).session(owner))
            .await;
        assert_eq!(started.status, StatusCode::OK, "test: {}", started.body);
        self.through_provider(&started, tester, Some(owner)).await
    }

    pub async fn set_sso_enabled(&self, owner: &str, public_id: &str, enabled: bool) -> Reply {
        self.send(
            Call::post(
                "/api/sso/set_enabled",
                &[
                    ("organization_id", public_id),
                    ("enabled", if enabled { "true" } else { "false" }),
                ],
            )
            .session(owner),
        )
        .await
    }

    /// An organization whose owner (at `domain`) configured, tested and enabled SSO for
    /// `domain`. Returns the owner's session and the organization's public ID.
    pub async fn sso_organization(&self, domain: &str) -> (String, String) {
        let owner_email = format!("owner-{}@{domain}", rand::random::<u32>());
        let owner = self.sign_up("Olivia Owner", &owner_email).await;
        let public_id = self.create_organization(&owner, "Acme SSO").await;
        let saved = self.configure_sso(&owner, &public_id, domain).await;
        assert_eq!(saved.status, StatusCode::OK, "save: {}", saved.body);
        let tested = self.test_sso(&owner, &public_id, &owner_email).await;
        assert_eq!(
            tested.location(),
            Some("/organization/profile?tab=settings&area=sso&sso=tested"),
            "the test sign-in passes"
        );
        let enabled = self.set_sso_enabled(&owner, &public_id, true).await;
        assert_eq!(enabled.status, StatusCode::OK, "enable: {}", enabled.body);
        (owner, public_id)
    }

    /// The login page's email step for `email`: the reply that sends the browser on to
    /// the provider.
    pub async fn sso_start(&self, email: &str) -> Reply {
        let started = self
            .send(Call::post("/api/sso/continue_login", &[("email", email)]))
            .await;
        assert_eq!(started.status, StatusCode::OK, "continue: {}", started.body);
        started
    }

    /// The email step, then the provider's form as `login`, stopping before Orgdesk's
    /// callback: returns the callback's path and query, and the browser's binding cookie.
    pub async fn sso_until_callback(&self, email: &str, login: &str) -> (String, String) {
        let (authorization_url, browser) =
            self.provider_redirect(&self.sso_start(email).await).await;
        let callback = idp::identity_provider()
            .sign_in(&authorization_url, login)
            .await;
        (callback, browser)
    }

    /// The email step, the provider as `login`, then the callback: the reply that signs the
    /// user in (or sends them back to the login page).
    pub async fn sso_log_in(&self, email: &str, login: &str) -> Reply {
        let (callback, browser) = self.sso_until_callback(email, login).await;
        self.sso_callback(&callback, &browser, None).await
    }

    /// Follows a redirect to the provider (the reply of a server function that started a
    /// sign-in) through its login form as `login`, then Orgdesk's callback; returns the
    /// callback's reply.
    pub async fn through_provider(
        &self,
        started: &Reply,
        login: &str,
        session: Option<&str>,
    ) -> Reply {
        let (authorization_url, browser) = self.provider_redirect(started).await;
        let callback = idp::identity_provider()
            .sign_in(&authorization_url, login)
            .await;
        self.sso_callback(&callback, &browser, session).await
    }

    /// Orgdesk's SSO callback as the browser that started the sign-in.
    pub async fn sso_callback(
        &self,
        callback: &str,
        browser: &str,
        session: Option<&str>,
    ) -> Reply {
        let mut cookies = format!("orgdesk_sso={browser}");
        if let Some(token) = session {
            cookies.push_str(&format!("; orgdesk_session={token}"));
        }
        self.get_with_cookies(callback, &cookies).await
    }
}

impl TestApp {
    /// Where a started sign-in sends the browser (through Orgdesk's hand-off page), and
    /// the browser-binding cookie it set.
    pub async fn provider_redirect(&self, started: &Reply) -> (String, String) {
        assert_eq!(
            started.location(),
            Some("/sso/continue"),
            "no redirect to the hand-off page: {} {}",
            started.status,
            started.body
        );
        let browser = started
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .find_map(|v| v.strip_prefix("orgdesk_sso="))
            .and_then(|v| v.split(';').next())
            .expect("the sign-in sets its browser cookie")
            .to_string();
        let hand_off = self
            .get_with_cookies("/sso/continue", &format!("orgdesk_sso={browser}"))
            .await;
        (hand_off_target(&hand_off), browser)
    }
}

/// The provider URL an Orgdesk hand-off page refreshes to (its link says the same).
pub fn hand_off_target(page: &Reply) -> String {
    assert_eq!(page.status, StatusCode::OK, "hand-off page: {}", page.body);
    let refresh = page
        .body
        .split("http-equiv=\"refresh\" content=\"0;url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no refresh on the hand-off page: {}", page.body));
    refresh.replace("&amp;", "&").replace("&quot;", "\"")
}
