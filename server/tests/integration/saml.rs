//! SAML 2.0 through the real router and database, with responses signed by xmlsec: the
//! owner's set-up (metadata rules, the SP values, the test that must pass), the sign-in round
//! trip through the ACS and the same-site finish, and the attacks, each refused with no
//! session and nothing written.

use crate::common::{
    saml::{encode, SamlIdp, Shape, Signed, RSA_SHA1, RSA_SHA256},
    spawn_app, Reply, TestApp,
};
use app::{
    members::roles::Role,
    server::entities::{membership, organization, session, sso_connection, user},
    sso::SsoNotice,
};
use axum::http::StatusCode;
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

fn domain() -> String {
    format!("corp-{:08x}.test", rand::random::<u32>())
}

fn idp() -> SamlIdp {
    SamlIdp::new(&format!("https://idp.test/{:08x}", rand::random::<u32>()))
}

async fn user_by_email(app: &TestApp, email: &str) -> Option<user::Model> {
    user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email.to_lowercase()))
        .one(&app.db)
        .await
        .unwrap()
}

async fn role_of(app: &TestApp, user_id: i32, public_id: &str) -> Option<Role> {
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .filter(membership::Column::OrganizationId.eq(org.id))
        .one(&app.db)
        .await
        .unwrap()
        .map(|m| m.role)
}

async fn sessions(app: &TestApp) -> u64 {
    session::Entity::find().count(&app.db).await.unwrap()
}

/// A person at the domain starts a sign-in on the login page: the request's ID and their
/// browser's binding cookie.
async fn start(app: &TestApp, email: &str) -> (String, String) {
    app.saml_request(&app.sso_start(email).await).await
}

/// Posts `response`, follows the ACS's answer as `browser`, and returns both replies.
async fn deliver(app: &TestApp, org: &str, response: &str, browser: &str) -> (Reply, Reply) {
    let posted = app.post_acs(org, response).await;
    let finished = app.saml_finish(browser, None).await;
    (posted, finished)
}

/// Asserts a refused sign-in: no new session, nobody created, the browser sent back to
/// the login page.
async fn assert_refused(
    app: &TestApp,
    what: &str,
    posted: &Reply,
    finished: &Reply,
    email: &str,
    sessions_before: u64,
) {
    assert_ne!(
        posted.location(),
        Some(app::sso::saml::FINISH_PATH),
        "{what}: the ACS must refuse"
    );
    assert!(
        finished.session_cookie().is_none_or(|c| c.is_empty()),
        "{what}: no session"
    );
    assert_eq!(
        sessions(app).await,
        sessions_before,
        "{what}: no session row"
    );
    assert!(
        user_by_email(app, email).await.is_none(),
        "{what}: nobody created"
    );
}

#[tokio::test]
async fn a_first_saml_sign_in_creates_the_user_and_adds_them_as_member() {
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;
    let email = format!("sam.saml@{domain}");

    let (request_id, browser) = start(&app, &email).await;
    let mut shape = idp.shape(&org, &request_id, &email);
    shape.class_ref = "urn:test:mfa".into();
    let (posted, finished) = deliver(&app, &org, &idp.respond(&shape), &browser).await;
    assert_eq!(posted.status, StatusCode::SEE_OTHER, "{}", posted.body);
    assert_eq!(
        finished.location(),
        Some(format!("/?sso={}", SsoNotice::Joined.as_str()).as_str()),
        "{}",
        finished.body
    );
    let session = finished.session_cookie().expect("signed in");
    let sam = user_by_email(&app, &email).await.expect("created");
    assert_eq!(sam.name, "Sam Saml", "the name comes from the attributes");
    assert_eq!(role_of(&app, sam.id, &org).await, Some(Role::Member));
    assert_eq!(app.user_id(&session).await, sam.id);

    // The finish is used up: the same browser coming back signs nobody in again.
    let again = app.saml_finish(&browser, None).await;
    assert!(again.session_cookie().is_none_or(|c| c.is_empty()));

    // The owner's settings show the SP values and the last test's inspector.
    let settings: Option<app::sso::saml_api::SamlSettingsView> = app
        .call_json("/api/sso/saml_settings", &[], Some(&owner))
        .await;
    let settings = settings.expect("owners see it");
    assert!(settings.active);
    assert_eq!(
        settings.acs_url,
        format!("http://localhost/sso/saml/{org}/acs")
    );
    assert_eq!(
        settings.entity_id,
        format!("http://localhost/sso/saml/{org}")
    );
    assert_eq!(settings.sp_certificates.len(), 1);
    let provider = settings.provider.expect("saved");
    assert_eq!(provider.entity_id, idp.entity_id);
    assert_eq!(provider.certificates.len(), 1);
    let inspector = settings.last_test.expect("the test was recorded");
    assert_eq!(inspector.failure, None);
    assert_eq!(inspector.signed_elements, vec!["Assertion".to_string()]);
    assert_eq!(
        inspector.certificate,
        Some(provider.certificates[0].sha256.clone())
    );
    assert!(inspector
        .mapped_email
        .is_some_and(|e| e.starts_with("owner-")));
}

#[tokio::test]
async fn the_sp_metadata_names_the_acs_and_the_organizations_certificates() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@meta.test").await;
    let org = app.create_organization(&owner, "Meta").await;
    let metadata = app.get(&format!("/sso/saml/{org}"), None).await;
    assert_eq!(metadata.status, StatusCode::OK);
    assert_eq!(
        metadata.headers.get("content-type").unwrap(),
        "application/samlmetadata+xml"
    );
    assert!(metadata
        .body
        .contains(&format!(r#"entityID="http://localhost/sso/saml/{org}""#)));
    assert!(metadata.body.contains(&format!(
        r#"Location="http://localhost/sso/saml/{org}/acs""#
    )));
    assert!(metadata.body.contains(r#"WantAssertionsSigned="true""#));
    assert!(
        metadata.body.contains(r#"use="signing""#) && metadata.body.contains(r#"use="encryption""#)
    );
    // The same key on every read; another organization has another.
    let again = app.get(&format!("/sso/saml/{org}"), None).await;
    assert_eq!(metadata.body, again.body);
    let other = app.create_organization(&owner, "Other").await;
    let other = app.get(&format!("/sso/saml/{other}"), None).await;
    let certificate = |body: &str| {
        body.split("<ds:X509Certificate>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string()
    };
    assert_ne!(certificate(&metadata.body), certificate(&other.body));
    assert_eq!(
        app.get("/sso/saml/no-such-org", None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn bad_metadata_is_refused_by_its_rule_and_only_owners_save_it() {
    let app = spawn_app().await;
    let idp = idp();
    let owner = app.sign_up("Olivia Owner", "olivia@rules.test").await;
    let org = app.create_organization(&owner, "Rules").await;
    let no_certificate = idp.metadata().replace(
        &format!(r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#, idp.certificate),
        "",
    );
    let cases = [
        (no_certificate, "no signing certificate"),
        (
            format!(
                "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
                idp.metadata()
            ),
            "DOCTYPE",
        ),
        ("not xml at all".to_string(), "must be XML"),
        (
            format!(
                r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">{0}{0}</md:EntitiesDescriptor>"#,
                idp.metadata().replace(r#"<?xml version="1.0"?>"#, "")
            ),
            "describes 2",
        ),
    ];
    for (metadata, rule) in cases {
        let reply = app.save_saml(&owner, &org, &metadata).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{rule}: {}",
            reply.body
        );
        assert!(
            reply.field_error("metadata_xml").contains(rule),
            "{rule}: {}",
            reply.body
        );
    }
    assert_eq!(
        sso_connection::Entity::find().count(&app.db).await.unwrap(),
        0,
        "nothing saved"
    );
    // Metadata of 300 KiB is fine (ADFS sends large files); over 512 KiB is refused before
    // it is read.
    let padded = |size: usize| {
        idp.metadata().replace(
            "<md:IDPSSODescriptor",
            &format!("<!-- {} --><md:IDPSSODescriptor", "x".repeat(size)),
        )
    };
    let reply = app.save_saml(&owner, &org, &padded(600 * 1024)).await;
    assert_eq!(
        reply.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        reply.status
    );
    assert!(reply.field_error("metadata_xml").contains("512 KiB"));
    let reply = app.save_saml(&owner, &org, &padded(300 * 1024)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    sso_connection::Entity::delete_many()
        .exec(&app.db)
        .await
        .unwrap();

    // A member cannot save it.
    let member = app.sign_up("Mo Member", "mo@rules.test").await;
    app.join(&member, &org, Role::Member).await;
    let reply = app.save_saml(&member, &org, &idp.metadata()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app.save_saml(&owner, &org, &idp.metadata()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// The attacks on the ACS: each refused, nobody signed in, nothing written.
#[tokio::test]
async fn forged_altered_and_misdirected_responses_sign_nobody_in() {
    let app = spawn_app().await;
    let (domain, other_domain, idp) = (domain(), domain(), idp());
    let (_, org) = app.saml_organization(&domain, &idp).await;
    let (_, other_org) = app.saml_organization(&other_domain, &idp).await;
    let stranger = SamlIdp::new(&idp.entity_id);

    type Forge = Box<dyn Fn(&SamlIdp, Shape) -> String>;
    let cases: Vec<(&str, Forge)> = vec![
        (
            "no signature",
            Box::new(|idp, mut s| {
                s.signed = Signed::Neither;
                idp.respond(&s)
            }),
        ),
        (
            "a key not in the metadata, its own certificate in KeyInfo",
            Box::new(move |_, s| stranger.respond(&s)),
        ),
        (
            "rsa-sha1",
            Box::new(|idp, mut s| {
                s.algorithm = RSA_SHA1;
                idp.respond(&s)
            }),
        ),
        (
            "audience missing",
            Box::new(|idp, mut s| {
                s.audience = None;
                idp.respond(&s)
            }),
        ),
        (
            "another organization's audience",
            Box::new({
                let o = other_org.clone();
                move |idp, mut s| {
                    s.audience = Some(format!("http://localhost/sso/saml/{o}"));
                    idp.respond(&s)
                }
            }),
        ),
        (
            "another organization's recipient",
            Box::new({
                let o = other_org.clone();
                move |idp, mut s| {
                    s.recipient = format!("http://localhost/sso/saml/{o}/acs");
                    idp.respond(&s)
                }
            }),
        ),
        (
            "another organization's destination",
            Box::new({
                let o = other_org.clone();
                move |idp, mut s| {
                    s.destination = Some(format!("http://localhost/sso/saml/{o}/acs"));
                    idp.respond(&s)
                }
            }),
        ),
        (
            "issuer mismatch",
            Box::new(|idp, mut s| {
                s.issuer = "https://evil.test/idp".into();
                idp.respond(&s)
            }),
        ),
        (
            "expired",
            Box::new(|idp, mut s| {
                s.issued_ago = Duration::minutes(20);
                idp.respond(&s)
            }),
        ),
        (
            "issued 5 minutes ahead",
            Box::new(|idp, mut s| {
                s.issued_ago = Duration::minutes(-5);
                idp.respond(&s)
            }),
        ),
        (
            "InResponseTo unknown",
            Box::new(|idp, mut s| {
                s.in_response_to = Some("id-not-ours".into());
                idp.respond(&s)
            }),
        ),
        (
            "one changed signed character",
            Box::new(|idp, s| {
                let xml = idp.response_xml(&s, &idp.assertion_xml(&s));
                encode(&xml.replacen("Sam</saml:AttributeValue>", "Sal</saml:AttributeValue>", 1))
            }),
        ),
        (
            "a comment inside the signed NameID",
            Box::new(|idp, mut s| {
                let real = s.name_id.clone();
                s.name_id = format!("{real}<!---->.evil.test");
                idp.respond(&s)
            }),
        ),
        (
            "XSW: an unsigned assertion before the signed one",
            Box::new(|idp, s| {
                let signed = idp.assertion_xml(&s);
                let mut evil = s.clone();
                evil.signed = Signed::Neither;
                evil.name_id = "admin@evil.test".into();
                evil.assertion_id = "_evil".into();
                let forged = format!("{}{}", idp.assertion_xml(&evil), signed);
                encode(&idp.response_xml(&s, &forged))
            }),
        ),
        (
            "XSW: the signed assertion inside the forged one",
            Box::new(|idp, s| {
                let signed = idp.assertion_xml(&s);
                let mut evil = s.clone();
                evil.signed = Signed::Neither;
                evil.name_id = "admin@evil.test".into();
                let forged = idp.assertion_xml(&evil).replacen(
                    "</saml:Assertion>",
                    &format!("{signed}</saml:Assertion>"),
                    1,
                );
                encode(&idp.response_xml(&s, &forged))
            }),
        ),
        (
            "XSW: the signed response wrapped inside a forged one's Extensions",
            Box::new(|idp, mut s| {
                s.signed = Signed::Response;
                let signed = idp.response_xml(&s, &idp.assertion_xml(&s));
                let mut evil = s.clone();
                evil.signed = Signed::Neither;
                evil.name_id = "admin@evil.test".into();
                let forged = idp.response_xml(&evil, &idp.assertion_xml(&evil));
                encode(&forged.replacen(
                    "</saml:Issuer>",
                    &format!("</saml:Issuer><samlp:Extensions>{signed}</samlp:Extensions>"),
                    1,
                ))
            }),
        ),
        (
            "XSW: duplicate IDs, the forged assertion after the signed one",
            Box::new(|idp, s| {
                let signed = idp.assertion_xml(&s);
                let mut evil = s.clone();
                evil.signed = Signed::Neither;
                evil.name_id = "admin@evil.test".into();
                let forged = format!("{}{}", signed, idp.assertion_xml(&evil));
                encode(&idp.response_xml(&s, &forged))
            }),
        ),
        (
            "XSW: a forged assertion inside the response's Extensions",
            Box::new(|idp, s| {
                let mut evil = s.clone();
                evil.signed = Signed::Neither;
                evil.name_id = "admin@evil.test".into();
                let xml = idp.response_xml(&s, &idp.assertion_xml(&s));
                encode(&xml.replacen(
                    "</saml:Issuer>",
                    &format!(
                        "</saml:Issuer><samlp:Extensions>{}</samlp:Extensions>",
                        idp.assertion_xml(&evil)
                    ),
                    1,
                ))
            }),
        ),
        (
            "XSW: a forged assertion inside the signature's Object",
            Box::new(|idp, s| {
                let mut evil = s.clone();
                evil.signed = Signed::Neither;
                evil.name_id = "admin@evil.test".into();
                let xml = idp.response_xml(&s, &idp.assertion_xml(&s));
                encode(&xml.replacen(
                    "</ds:Signature>",
                    &format!(
                        "<ds:Object>{}</ds:Object></ds:Signature>",
                        idp.assertion_xml(&evil)
                    ),
                    1,
                ))
            }),
        ),
        (
            "hmac-sha1 named as the signature method",
            Box::new(|idp, s| {
                let xml = idp.response_xml(&s, &idp.assertion_xml(&s));
                encode(&xml.replace(RSA_SHA256.0, "http://www.w3.org/2000/09/xmldsig#hmac-sha1"))
            }),
        ),
        (
            "a DOCTYPE with entities",
            Box::new(|idp, s| {
                let xml = idp.response_xml(&s, &idp.assertion_xml(&s));
                encode(&format!("<!DOCTYPE r [<!ENTITY e \"x\">]>{xml}"))
            }),
        ),
    ];
    for (what, forge) in cases {
        let email = format!("victim-{:06x}@{domain}", rand::random::<u32>() & 0xffffff);
        let (request_id, browser) = start(&app, &email).await;
        let before = sessions(&app).await;
        let response = forge(&idp, idp.shape(&org, &request_id, &email));
        let (posted, finished) = deliver(&app, &org, &response, &browser).await;
        assert_refused(&app, what, &posted, &finished, &email, before).await;
    }
}

#[tokio::test]
async fn a_response_works_once_for_the_browser_that_asked_within_its_time() {
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (_, org) = app.saml_organization(&domain, &idp).await;
    let email = format!("ria@{domain}");

    // Two minutes of clock difference are accepted.
    let (request_id, browser) = start(&app, &email).await;
    let mut shape = idp.shape(&org, &request_id, &email);
    shape.issued_ago = Duration::seconds(-110);
    let response = idp.respond(&shape);
    let (posted, finished) = deliver(&app, &org, &response, &browser).await;
    assert_eq!(posted.location(), Some(app::sso::saml::FINISH_PATH));
    assert!(
        finished.session_cookie().is_some_and(|c| !c.is_empty()),
        "{:?}",
        finished.location()
    );

    // The same response again (a replay, also through a second server process) is refused.
    let sessions_before = sessions(&app).await;
    let replayed = app.post_acs(&org, &response).await;
    assert_ne!(replayed.location(), Some(app::sso::saml::FINISH_PATH));
    let second = app.another_process().await;
    let replayed = second.post_acs(&org, &response).await;
    assert_ne!(replayed.location(), Some(app::sso::saml::FINISH_PATH));
    // Even answering a new request of the same browser, the old assertion stays used.
    let (request_id, browser) = start(&app, &email).await;
    let mut reused = shape.clone();
    reused.in_response_to = Some(request_id);
    let (posted, _) = deliver(&app, &org, &idp.respond(&reused), &browser).await;
    assert_ne!(
        posted.location(),
        Some(app::sso::saml::FINISH_PATH),
        "replayed assertion ID"
    );
    assert_eq!(sessions(&app).await, sessions_before);

    // Another browser cannot finish what this one started.
    let (request_id, _browser) = start(&app, &email).await;
    let posted = app
        .post_acs(&org, &idp.respond(&idp.shape(&org, &request_id, &email)))
        .await;
    assert_eq!(posted.location(), Some(app::sso::saml::FINISH_PATH));
    let (_, thief) = start(&app, &format!("thief@{domain}")).await;
    let stolen = app.saml_finish(&thief, None).await;
    assert!(stolen.session_cookie().is_none_or(|c| c.is_empty()));
    assert_eq!(sessions(&app).await, sessions_before);

    // A provider's app tile (no InResponseTo) starts a sign-in of Orgdesk's own instead.
    let mut tile = idp.shape(&org, "unused", &email);
    tile.in_response_to = None;
    let posted = app.post_acs(&org, &idp.respond(&tile)).await;
    assert_eq!(
        posted.location(),
        Some(format!("/sso/login/{org}").as_str())
    );
    assert_eq!(sessions(&app).await, sessions_before);
}

#[tokio::test]
async fn an_address_outside_the_verified_domains_and_an_oversized_body_are_refused() {
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (_, org) = app.saml_organization(&domain, &idp).await;

    let (request_id, browser) = start(&app, &format!("lee@{domain}")).await;
    let outsider = "lee@elsewhere.test";
    let before = sessions(&app).await;
    let (posted, finished) = deliver(
        &app,
        &org,
        &idp.respond(&idp.shape(&org, &request_id, outsider)),
        &browser,
    )
    .await;
    assert_eq!(
        posted.location(),
        Some(app::sso::saml::FINISH_PATH),
        "the signature is fine"
    );
    assert_eq!(
        finished.location(),
        Some(format!("/login?sso={}", SsoNotice::WrongDomain.as_str()).as_str())
    );
    assert_eq!(sessions(&app).await, before);
    assert!(user_by_email(&app, outsider).await.is_none());
    let refused = app::server::entities::audit_event::Entity::find()
        .filter(
            app::server::entities::audit_event::Column::Kind
                .eq(app::audit::events::EventKind::SsoRefused),
        )
        .one(&app.db)
        .await
        .unwrap()
        .expect("the refusal is in the audit log");
    assert_eq!(refused.subject.as_deref(), Some(outsider));

    let big = "A".repeat(300 * 1024);
    let posted = app.post_acs(&org, &big).await;
    assert_eq!(posted.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn responses_as_real_providers_send_them_are_accepted() {
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;

    // The response signed instead of the assertion, or both; base64 wrapped at 76 columns.
    for (what, signed, wrap) in [
        ("response signed", Signed::Response, false),
        ("both signed", Signed::Both, false),
        ("line-wrapped base64", Signed::Assertion, true),
    ] {
        let email = format!("{}@{domain}", what.replace(' ', "-"));
        let (request_id, browser) = start(&app, &email).await;
        let mut shape = idp.shape(&org, &request_id, &email);
        shape.signed = signed;
        let mut response = idp.respond(&shape);
        if wrap {
            response = response
                .as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join("\r\n");
        }
        let (posted, finished) = deliver(&app, &org, &response, &browser).await;
        assert_eq!(
            posted.location(),
            Some(app::sso::saml::FINISH_PATH),
            "{what}"
        );
        assert!(
            finished.session_cookie().is_some_and(|c| !c.is_empty()),
            "{what}: {:?}",
            finished.location()
        );
    }

    // Rollover: the metadata lists the old and the new certificate; the provider signs with
    // the new one.
    let next = SamlIdp::new(&idp.entity_id);
    let both = idp.metadata().replace(
        "<md:NameIDFormat>",
        &format!(
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>"#,
            next.certificate
        ),
    );
    let saved = app.save_saml(&owner, &org, &both).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    // A new certificate set is another provider set-up: SSO is off until a new test.
    let started = app
        .send(
            crate::common::Call::post("/api/sso/test", &[("organization_id", &org)])
                .session(&owner),
        )
        .await;
    let owner_email = user::Entity::find_by_id(app.user_id(&owner).await)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .email;
    let tested = app
        .saml_round_trip(&next, &org, &started, &owner_email, Some(&owner))
        .await;
    assert_eq!(
        tested.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=tested")
    );
}

/// Test connection with a broken provider: the inspector says what to change, one sentence
/// per rule, and the organization's SSO stays as it was.
#[tokio::test]
async fn the_inspector_names_the_rule_each_bad_response_broke() {
    use app::sso::saml::response::ResponseFailure as F;
    let app = spawn_app().await;
    let (domain, other_domain, idp) = (domain(), domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;
    let (_, other_org) = app.saml_organization(&other_domain, &idp).await;
    let stranger = SamlIdp::new(&idp.entity_id);
    let email = format!("tester@{domain}");

    type Forge = Box<dyn Fn(&SamlIdp, Shape) -> String>;
    let cases: Vec<(F, Forge)> = vec![
        (
            F::Unsigned,
            Box::new(|idp, mut s| {
                s.signed = Signed::Neither;
                idp.respond(&s)
            }),
        ),
        (F::Signature, Box::new(move |_, s| stranger.respond(&s))),
        (
            F::Signature,
            Box::new(|idp, mut s| {
                s.algorithm = RSA_SHA1;
                idp.respond(&s)
            }),
        ),
        (
            F::Audience,
            Box::new(|idp, mut s| {
                s.audience = None;
                idp.respond(&s)
            }),
        ),
        (
            F::Audience,
            Box::new({
                let o = other_org.clone();
                move |idp, mut s| {
                    s.audience = Some(format!("http://localhost/sso/saml/{o}"));
                    idp.respond(&s)
                }
            }),
        ),
        (
            F::Recipient,
            Box::new({
                let o = other_org.clone();
                move |idp, mut s| {
                    s.recipient = format!("http://localhost/sso/saml/{o}/acs");
                    idp.respond(&s)
                }
            }),
        ),
        (
            F::Destination,
            Box::new({
                let o = other_org.clone();
                move |idp, mut s| {
                    s.destination = Some(format!("http://localhost/sso/saml/{o}/acs"));
                    idp.respond(&s)
                }
            }),
        ),
        (
            F::Issuer,
            Box::new(|idp, mut s| {
                s.issuer = "https://evil.test/idp".into();
                idp.respond(&s)
            }),
        ),
        (
            F::Expired,
            Box::new(|idp, mut s| {
                s.issued_ago = Duration::minutes(20);
                idp.respond(&s)
            }),
        ),
        (
            F::NotYetValid,
            Box::new(|idp, mut s| {
                s.issued_ago = Duration::minutes(-5);
                idp.respond(&s)
            }),
        ),
        (
            F::Comments,
            Box::new(|idp, mut s| {
                s.name_id = format!("{}<!---->.evil.test", s.name_id);
                idp.respond(&s)
            }),
        ),
        (
            F::AssertionCount(2),
            Box::new(|idp, s| {
                let signed = idp.assertion_xml(&s);
                let mut evil = s.clone();
                evil.signed = Signed::Neither;
                evil.assertion_id = "_evil".into();
                encode(&idp.response_xml(&s, &format!("{}{signed}", idp.assertion_xml(&evil))))
            }),
        ),
    ];
    for (expected, forge) in cases {
        let started = app
            .send(
                crate::common::Call::post("/api/sso/test", &[("organization_id", &org)])
                    .session(&owner),
            )
            .await;
        let (request_id, _) = app.saml_request(&started).await;
        let posted = app
            .post_acs(&org, &forge(&idp, idp.shape(&org, &request_id, &email)))
            .await;
        assert_eq!(
            posted.location(),
            Some(
                format!(
                    "/organization/profile?tab=settings&area=sso&sso={}",
                    SsoNotice::InvalidToken.as_str()
                )
                .as_str()
            )
            .filter(|_| !matches!(expected, F::Expired | F::NotYetValid))
            .or(Some(
                "/organization/profile?tab=settings&area=sso&sso=expired"
            )),
            "{expected:?}"
        );
        let settings: Option<app::sso::saml_api::SamlSettingsView> = app
            .call_json("/api/sso/saml_settings", &[], Some(&owner))
            .await;
        let inspector = settings.unwrap().last_test.expect("recorded");
        assert_eq!(inspector.failure, Some(expected.sentence()), "{expected:?}");
    }
    // A failed test leaves the running SSO alone.
    let connection = sso_connection::Entity::find()
        .filter(sso_connection::Column::ProviderName.eq("Test SAML"))
        .all(&app.db)
        .await
        .unwrap();
    assert!(connection.iter().all(|c| c.enabled));
}

#[tokio::test]
async fn the_single_sign_on_page_shows_the_saml_values_and_the_inspector() {
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;
    // SAML is the saved protocol: the page opens on it.
    let page = app
        .get("/organization/profile?tab=settings&area=sso", Some(&owner))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    for text in [
        "ACS URL",
        &format!("http://localhost/sso/saml/{org}/acs"),
        "SP entity ID",
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        "Download the SP metadata",
        "SP certificates",
        &idp.entity_id,
        "Last test: assertion inspector",
        "Attribute mapping",
        "Enable SSO",
    ] {
        assert!(page.body.contains(text), "the page shows {text}");
    }
    // The OpenID Connect form is one link away.
    let oidc = app
        .get(
            "/organization/profile?tab=settings&area=sso&protocol=oidc",
            Some(&owner),
        )
        .await;
    assert!(oidc.body.contains("Issuer URL") && !oidc.body.contains("ACS URL"));
}

/// Between two implementations: samlify (xml-crypto) checks Orgdesk's signed AuthnRequest
/// against the SP metadata, and Orgdesk checks samlify's signed assertion; the provider's
/// MFA class counts as the second factor; its app tile starts a sign-in of Orgdesk's own.
#[tokio::test]
async fn a_real_saml_provider_from_npm_signs_people_in() {
    use crate::common::samlify::samlify_provider;
    let app = spawn_app().await;
    let provider = samlify_provider();
    let domain = domain();
    let owner_email = format!("olivia.owner@{domain}");
    let owner = app.sign_up("Olivia Owner", &owner_email).await;
    let org = app.create_organization(&owner, "Acme npm").await;
    app.verify_domain(&owner, &org, &domain).await;
    // The administrator adds Orgdesk at the provider from its SP metadata...
    let sp_metadata = app.get(&format!("/sso/saml/{org}"), None).await.body;
    provider.register(&sp_metadata).await;
    // ...and the owner gives Orgdesk the provider's metadata.
    let saved = app
        .save_saml(&owner, &org, &provider.metadata().await)
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);

    let started = app
        .send(
            crate::common::Call::post("/api/sso/test", &[("organization_id", &org)])
                .session(&owner),
        )
        .await;
    let (url, browser) = app.provider_redirect(&started).await;
    assert!(
        url.contains("&Signature="),
        "Orgdesk signs its requests: {url}"
    );
    let (response, acs) = provider.sign_in(&url, &owner_email, false).await;
    assert_eq!(acs, format!("http://localhost/sso/saml/{org}/acs"));
    let posted = app.post_acs(&org, &response).await;
    assert_eq!(
        posted.location(),
        Some(app::sso::saml::FINISH_PATH),
        "{}",
        posted.body
    );
    let tested = app.saml_finish(&browser, Some(&owner)).await;
    assert_eq!(
        tested.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=tested")
    );
    let enabled = app.set_sso_enabled(&owner, &org, true).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);

    // A new person at the domain signs in through the provider's login page.
    let email = format!("ivy.ito@{domain}");
    let (url, browser) = app.provider_redirect(&app.sso_start(&email).await).await;
    let (response, _) = provider.sign_in(&url, &email, true).await;
    let posted = app.post_acs(&org, &response).await;
    assert_eq!(
        posted.location(),
        Some(app::sso::saml::FINISH_PATH),
        "{}",
        posted.body
    );
    let joined = app.saml_finish(&browser, None).await;
    assert_eq!(
        joined.location(),
        Some(format!("/?sso={}", SsoNotice::Joined.as_str()).as_str())
    );
    let ivy = user_by_email(&app, &email).await.expect("created");
    assert_eq!(ivy.name, "Ivy Ito");
    assert_eq!(role_of(&app, ivy.id, &org).await, Some(Role::Member));
    let session_row = session::Entity::find()
        .filter(session::Column::UserId.eq(ivy.id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        session_row.second_factor.is_some(),
        "the provider's MFA class counts as the second factor"
    );

    // The provider encrypts the assertion to the SP's certificate (the response unsigned,
    // the assertion signed inside): opened, then its own signature checked.
    let email = format!("enc.ryption@{domain}");
    let (url, browser) = app.provider_redirect(&app.sso_start(&email).await).await;
    let (response, _) = provider.sign_in_with(&url, &email, false, true).await;
    let xml = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &response).unwrap(),
    )
    .unwrap();
    assert!(
        xml.contains("EncryptedAssertion") && !xml.contains("<saml:Assertion"),
        "encrypted"
    );
    let posted = app.post_acs(&org, &response).await;
    assert_eq!(
        posted.location(),
        Some(app::sso::saml::FINISH_PATH),
        "{}",
        posted.body
    );
    let signed_in = app.saml_finish(&browser, None).await;
    assert!(
        signed_in.session_cookie().is_some_and(|c| !c.is_empty()),
        "{:?}",
        signed_in.location()
    );
    assert!(user_by_email(&app, &email).await.is_some());

    // The provider's app tile: an unsolicited response starts Orgdesk's own sign-in.
    let (tile, _) = provider
        .tile(&format!("http://localhost/sso/saml/{org}"))
        .await;
    let posted = app.post_acs(&org, &tile).await;
    assert_eq!(
        posted.location(),
        Some(format!("/sso/login/{org}").as_str())
    );
}

/// A sign-in started more than 10 minutes ago, and a provider whose every certificate has
/// expired: refused, each with its sentence.
#[tokio::test]
async fn an_expired_request_and_an_expired_certificate_are_refused() {
    use app::server::entities::{saml_provider, sso_login};
    use app::sso::saml::response::ResponseFailure;
    use sea_orm::{sea_query::Expr, ActiveModelTrait, Set};
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;
    let email = format!("late@{domain}");

    let (request_id, browser) = start(&app, &email).await;
    sso_login::Entity::update_many()
        .col_expr(
            sso_login::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - Duration::seconds(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let before = sessions(&app).await;
    let (posted, finished) = deliver(
        &app,
        &org,
        &idp.respond(&idp.shape(&org, &request_id, &email)),
        &browser,
    )
    .await;
    assert_eq!(
        posted.location(),
        Some(format!("/login?sso={}", SsoNotice::Expired.as_str()).as_str())
    );
    assert_refused(&app, "expired request", &posted, &finished, &email, before).await;

    // Every signing certificate expired (as the metadata says): the test says so.
    let provider = saml_provider::Entity::find()
        .filter(saml_provider::Column::EntityId.eq(idp.entity_id.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut certificates: Vec<app::sso::saml::metadata::SigningCertificate> =
        serde_json::from_str(&provider.signing_certificates).unwrap();
    for certificate in &mut certificates {
        certificate.not_after = chrono::Utc::now() - Duration::days(1);
    }
    let mut expired: saml_provider::ActiveModel = provider.into();
    expired.signing_certificates = Set(serde_json::to_string(&certificates).unwrap());
    expired.update(&app.db).await.unwrap();
    let started = app
        .send(
            crate::common::Call::post("/api/sso/test", &[("organization_id", &org)])
                .session(&owner),
        )
        .await;
    let (request_id, _) = app.saml_request(&started).await;
    let owner_email = user::Entity::find_by_id(app.user_id(&owner).await)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .email;
    app.post_acs(
        &org,
        &idp.respond(&idp.shape(&org, &request_id, &owner_email)),
    )
    .await;
    let settings: Option<app::sso::saml_api::SamlSettingsView> = app
        .call_json("/api/sso/saml_settings", &[], Some(&owner))
        .await;
    let settings = settings.unwrap();
    assert_eq!(
        settings.last_test.unwrap().failure,
        Some(ResponseFailure::CertificateExpired.sentence())
    );
    assert!(settings
        .provider
        .unwrap()
        .certificates
        .iter()
        .all(|c| c.expired));
}

/// Anyone can encrypt to the SP's public certificate: an encrypted assertion counts only
/// with its own valid signature, and only with RSA-OAEP key transport.
#[tokio::test]
async fn an_encrypted_assertion_counts_only_when_signed_inside() {
    use crate::common::saml::encrypt_assertion;
    const OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
    const PKCS1: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (_, org) = app.saml_organization(&domain, &idp).await;
    let metadata = app.get(&format!("/sso/saml/{org}"), None).await.body;
    let sp_certificate = metadata
        .split("<ds:X509Certificate>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();

    let cases = [
        ("signed, then encrypted", Signed::Assertion, OAEP, true),
        (
            "unsigned, encrypted by anyone",
            Signed::Neither,
            OAEP,
            false,
        ),
        (
            "signed, key wrapped with RSA PKCS#1 v1.5",
            Signed::Assertion,
            PKCS1,
            false,
        ),
    ];
    for (case, (what, signed, transport, accepted)) in cases.into_iter().enumerate() {
        let email = format!("case-{case}@{domain}");
        let (request_id, browser) = start(&app, &email).await;
        let mut shape = idp.shape(&org, &request_id, &email);
        shape.signed = signed;
        let encrypted = encrypt_assertion(&idp.assertion_xml(&shape), &sp_certificate, transport);
        let mut outer = shape.clone();
        outer.signed = Signed::Neither;
        let response = encode(&idp.response_xml(&outer, &encrypted));
        let before = sessions(&app).await;
        let (posted, finished) = deliver(&app, &org, &response, &browser).await;
        if accepted {
            assert_eq!(
                posted.location(),
                Some(app::sso::saml::FINISH_PATH),
                "{what}"
            );
            assert!(
                finished.session_cookie().is_some_and(|c| !c.is_empty()),
                "{what}"
            );
        } else {
            assert_refused(&app, what, &posted, &finished, &email, before).await;
        }
    }
}

/// A metadata document served over HTTP that the test can change (the provider's URL).
async fn serve_metadata(initial: String) -> (String, std::sync::Arc<std::sync::Mutex<String>>) {
    let document = std::sync::Arc::new(std::sync::Mutex::new(initial));
    let served = document.clone();
    let router = axum::Router::new().route(
        "/metadata",
        axum::routing::get(move || {
            let served = served.clone();
            async move { served.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{address}/metadata"), document)
}

/// The daily upkeep: a metadata URL's new certificate is taken (rollover, SSO stays on),
/// another provider at the URL turns SSO off, and owners and the alert email are warned
/// 30 and 7 days before the certificates expire, each once.
#[tokio::test]
async fn metadata_urls_are_fetched_daily_and_expiring_certificates_are_warned_of() {
    use app::server::entities::{audit_event, mail_outbox, saml_provider};
    use app::sso::saml::upkeep::run_due;
    use sea_orm::{sea_query::Expr, ActiveModelTrait, Set};
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;
    let (url, document) = serve_metadata(idp.metadata()).await;
    let saved = app
        .send(
            crate::common::Call::post(
                "/api/sso/save_saml",
                &[
                    ("organization_id", &org),
                    ("provider_name", "Test SAML"),
                    ("metadata_url", &url),
                    ("mfa_class_refs", "urn:test:mfa"),
                    ("sign_requests", "on"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let enabled = || async {
        sso_connection::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .enabled
    };
    assert!(enabled().await, "the same provider by URL keeps SSO on");
    let state = &app.state.app;
    let backdate = || async {
        saml_provider::Entity::update_many()
            .col_expr(
                saml_provider::Column::MetadataFetchedAt,
                Expr::value(chrono::Utc::now() - Duration::days(2)),
            )
            .exec(&app.db)
            .await
            .unwrap();
    };
    let provider = || async {
        saml_provider::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };

    // Nothing due yet: fetched today.
    assert_eq!(
        run_due(state, chrono::Utc::now()).await.unwrap().refetched,
        0
    );
    // The provider adds its next certificate: taken, SSO stays on, both count.
    let next = SamlIdp::new(&idp.entity_id);
    let both = idp.metadata().replace(
        "<md:NameIDFormat>",
        &format!(r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>"#, next.certificate),
    );
    *document.lock().unwrap() = both;
    backdate().await;
    assert_eq!(
        run_due(state, chrono::Utc::now()).await.unwrap().refetched,
        1
    );
    assert_eq!(
        serde_json::from_str::<Vec<serde_json::Value>>(&provider().await.signing_certificates)
            .unwrap()
            .len(),
        2
    );
    assert!(enabled().await, "a rollover keeps SSO on");
    let email = format!("rolled@{domain}");
    let (request_id, browser) = start(&app, &email).await;
    let (posted, finished) = deliver(
        &app,
        &org,
        &next.respond(&next.shape(&org, &request_id, &email)),
        &browser,
    )
    .await;
    assert_eq!(posted.location(), Some(app::sso::saml::FINISH_PATH));
    assert!(
        finished.session_cookie().is_some_and(|c| !c.is_empty()),
        "the new certificate signs people in"
    );

    // Expiry warnings: 30 days before, once; then 7 days before, once.
    let mut organization: organization::ActiveModel = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(org.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    organization.alert_email = Set(Some(format!("alerts@{domain}")));
    organization.update(&app.db).await.unwrap();
    let db = &app.db;
    let expire_in = |days: i64| async move {
        saml_provider::Entity::update_many()
            .col_expr(
                saml_provider::Column::CertificatesExpireAt,
                Expr::value(chrono::Utc::now() + Duration::days(days)),
            )
            .exec(db)
            .await
            .unwrap();
    };
    let warnings = || async {
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Subject.contains("SAML provider's certificate expires"))
            .all(&app.db)
            .await
            .unwrap()
    };
    expire_in(20).await;
    assert_eq!(run_due(state, chrono::Utc::now()).await.unwrap().warned, 1);
    assert_eq!(
        run_due(state, chrono::Utc::now()).await.unwrap().warned,
        0,
        "once"
    );
    let sent = warnings().await;
    let recipients: Vec<&str> = sent.iter().map(|m| m.recipient.as_str()).collect();
    assert_eq!(sent.len(), 2, "{recipients:?}");
    assert!(recipients.contains(&format!("alerts@{domain}").as_str()));
    let settings = app
        .get("/organization/profile?tab=settings&area=sso", Some(&owner))
        .await;
    assert!(
        settings.body.contains("signing certificates expire on"),
        "the banner"
    );
    expire_in(5).await;
    assert_eq!(run_due(state, chrono::Utc::now()).await.unwrap().warned, 1);
    assert_eq!(warnings().await.len(), 4);
    assert_eq!(
        audit_event::Entity::find()
            .filter(
                audit_event::Column::Kind.eq(app::audit::events::EventKind::SsoCertificateExpiring)
            )
            .count(&app.db)
            .await
            .unwrap(),
        2
    );

    // Another provider at the URL: SSO off until a new test.
    *document.lock().unwrap() = SamlIdp::new("https://idp.test/another").metadata();
    backdate().await;
    let upkeep = run_due(state, chrono::Utc::now()).await.unwrap();
    assert_eq!((upkeep.refetched, upkeep.switched_off), (1, 1));
    assert!(!enabled().await);
    assert_eq!(provider().await.entity_id, "https://idp.test/another");
}

/// SP keys: a new one is published beside the old (both in the metadata), the newest signs
/// requests, the old is retired once the provider has the new; the last one stays.
#[tokio::test]
async fn sp_keys_rotate_with_an_overlap() {
    use app::server::entities::saml_sp_key;
    use sea_orm::{ColumnTrait, QueryOrder};
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;
    let certificates = |metadata: &str| {
        metadata
            .matches("<md:KeyDescriptor use=\"signing\">")
            .count()
    };
    assert_eq!(
        certificates(&app.get(&format!("/sso/saml/{org}"), None).await.body),
        1
    );
    let call = |path: &'static str, form: Vec<(&'static str, String)>| {
        let owner = owner.clone();
        let app = &app;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.send(crate::common::Call::post(path, &form).session(&owner))
                .await
        }
    };
    let rotated = call(
        "/api/sso/rotate_sp_key",
        vec![("organization_id", org.clone())],
    )
    .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    assert_eq!(
        certificates(&app.get(&format!("/sso/saml/{org}"), None).await.body),
        2,
        "both published"
    );
    let keys = saml_sp_key::Entity::find()
        .order_by_asc(saml_sp_key::Column::Id)
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    // The newest key signs the requests: the redirect's signature verifies with it.
    let (url, _) = app
        .provider_redirect(&app.sso_start(&format!("kim@{domain}")).await)
        .await;
    let newest = samael::crypto::UrlVerifier::from_x509(&samael::crypto::CertificateDer::from(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &keys[1].certificate,
        )
        .unwrap(),
    ))
    .unwrap();
    let oldest = samael::crypto::UrlVerifier::from_x509(&samael::crypto::CertificateDer::from(
        base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            &keys[0].certificate,
        )
        .unwrap(),
    ))
    .unwrap();
    let url = url::Url::parse(&url).unwrap();
    assert!(newest.verify_signed_request_url(&url).unwrap());
    assert!(!oldest.verify_signed_request_url(&url).unwrap_or(false));
    // The old one retires; the last one cannot.
    let retired = call(
        "/api/sso/retire_sp_key",
        vec![
            ("organization_id", org.clone()),
            ("key_id", keys[0].id.to_string()),
        ],
    )
    .await;
    assert_eq!(retired.status, StatusCode::OK, "{}", retired.body);
    assert_eq!(
        certificates(&app.get(&format!("/sso/saml/{org}"), None).await.body),
        1
    );
    let last = call(
        "/api/sso/retire_sp_key",
        vec![
            ("organization_id", org.clone()),
            ("key_id", keys[1].id.to_string()),
        ],
    )
    .await;
    assert_eq!(
        last.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        last.body
    );
    // Another organization's key is not this owner's to retire.
    let (_, other) = app
        .saml_organization(&format!("other-{domain}"), &idp)
        .await;
    app.get(&format!("/sso/saml/{other}"), None).await;
    let foreign = saml_sp_key::Entity::find()
        .filter(saml_sp_key::Column::Id.gt(keys[1].id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let refused = call(
        "/api/sso/retire_sp_key",
        vec![
            ("organization_id", org.clone()),
            ("key_id", foreign.id.to_string()),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND, "{}", refused.body);
    assert!(saml_sp_key::Entity::find_by_id(foreign.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .retired_at
        .is_none());
}

/// The metadata as a file (a plain multipart form): saved like pasted metadata, keeping the
/// name and mapping; refused by the same rules, over 512 KiB, or sent as anything but a
/// multipart form.
#[tokio::test]
async fn provider_metadata_can_be_uploaded_as_a_file() {
    use app::server::entities::saml_provider;
    let app = spawn_app().await;
    let (domain, idp) = (domain(), idp());
    let (owner, org) = app.saml_organization(&domain, &idp).await;
    let path = "/api/sso/upload_saml_metadata";
    let upload = |bytes: Vec<u8>| {
        let (app, owner, org) = (&app, owner.clone(), org.clone());
        async move {
            app.send_multipart(
                path,
                &owner,
                &[("organization_id", &org)],
                &[("metadata_file", "idp.xml", "application/xml", &bytes)],
            )
            .await
        }
    };
    let next = SamlIdp::new("https://idp.test/next");
    let reply = upload(next.metadata().into_bytes()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let saved = saml_provider::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(saved.entity_id, "https://idp.test/next");
    assert_eq!(
        saved.mfa_class_refs.as_deref(),
        Some("urn:test:mfa"),
        "the mapping stays"
    );
    assert!(
        !sso_connection::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .enabled,
        "another provider: SSO is off until a new test"
    );
    for (bytes, rule) in [
        (b"<!DOCTYPE x><x/>".to_vec(), "DOCTYPE"),
        (vec![b' '; 600 * 1024], "512 KiB"),
        (Vec::new(), "Choose the provider's metadata file"),
        (vec![0xff, 0xfe, 0x00], "must be XML"),
    ] {
        let reply = upload(bytes).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{rule}: {}",
            reply.body
        );
        assert!(
            reply.field_error("metadata_file").contains(rule),
            "{rule}: {}",
            reply.body
        );
    }
    let not_multipart = app
        .send(crate::common::Call::post(path, &[("organization_id", &org)]).session(&owner))
        .await;
    assert_eq!(not_multipart.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        saml_provider::Entity::find()
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
            .entity_id,
        "https://idp.test/next",
        "nothing refused was saved"
    );
}
