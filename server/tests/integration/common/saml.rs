//! The steps of a SAML sign-in as a browser takes them, against the test provider of
//! [`super::saml_idp`].

pub use super::saml_idp::*;
use super::*;

impl TestApp {
    /// Saves `idp` as the organization's SAML provider.
    pub async fn save_saml(&self, owner: &str, public_id: &str, metadata: &str) -> Reply {
        self.send(
            Call::post(
                "/api/sso/save_saml",
                &[
                    ("organization_id", public_id),
                    ("provider_name", "Test SAML"),
                    ("metadata_xml", metadata),
                    ("mfa_class_refs", "urn:test:mfa"),
                    ("sign_requests", "on"),
                ],
            )
            .session(owner),
        )
        .await
    }

    /// Posts a SAMLResponse to the organization's ACS from the provider's site.
    pub async fn post_acs(&self, public_id: &str, saml_response: &str) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("SAMLResponse", saml_response)
            .finish();
        let request = Request::post(format!("/sso/saml/{public_id}/acs"))
            .header(header::HOST, "localhost")
            .header(header::ORIGIN, "https://idp.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.reply(request).await
    }

    /// The ACS's redirect followed by the browser holding `browser` (and maybe a session).
    pub async fn saml_finish(&self, browser: &str, session: Option<&str>) -> Reply {
        self.sso_callback(app::sso::saml::FINISH_PATH, browser, session)
            .await
    }

    /// A started sign-in (a server function's reply) up to the provider: the request's ID and
    /// the browser's binding cookie.
    pub async fn saml_request(&self, started: &Reply) -> (String, String) {
        let (url, browser) = self.provider_redirect(started).await;
        let (_, id) = authn_request_of(&url);
        (id, browser)
    }

    /// The whole round trip: the response posted, then the finish as the browser.
    pub async fn saml_round_trip(
        &self,
        idp: &SamlIdp,
        public_id: &str,
        started: &Reply,
        email: &str,
        session: Option<&str>,
    ) -> Reply {
        let (request_id, browser) = self.saml_request(started).await;
        let posted = self
            .post_acs(
                public_id,
                &idp.respond(&idp.shape(public_id, &request_id, email)),
            )
            .await;
        assert_eq!(
            posted.location(),
            Some(app::sso::saml::FINISH_PATH),
            "the ACS accepts: {} {}",
            posted.status,
            posted.body
        );
        self.saml_finish(&browser, session).await
    }

    /// An organization whose owner (at `domain`) saved `idp`, tested it and turned SSO on.
    pub async fn saml_organization(&self, domain: &str, idp: &SamlIdp) -> (String, String) {
        let owner_email = format!("owner-{}@{domain}", rand::random::<u32>());
        let owner = self.sign_up("Olivia Owner", &owner_email).await;
        let public_id = self.create_organization(&owner, "Acme SAML").await;
        self.verify_domain(&owner, &public_id, domain).await;
        let saved = self.save_saml(&owner, &public_id, &idp.metadata()).await;
        assert_eq!(saved.status, StatusCode::OK, "save: {}", saved.body);
        let started = self
            .send(Call::post("/api/sso/test", &[("organization_id", &public_id)]).session(&owner))
            .await;
        let tested = self
            .saml_round_trip(idp, &public_id, &started, &owner_email, Some(&owner))
            .await;
        assert_eq!(
            tested.location(),
            Some("/organization/profile?tab=settings&area=sso&sso=tested"),
            "the test sign-in passes"
        );
        let enabled = self.set_sso_enabled(&owner, &public_id, true).await;
        assert_eq!(enabled.status, StatusCode::OK, "enable: {}", enabled.body);
        (owner, public_id)
    }
}
