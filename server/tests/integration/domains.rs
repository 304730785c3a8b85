//! Domains proven by DNS, through the real router, a real DNS server (dns2 from npm) and a
//! real OpenID Connect provider; on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
//! Most tests are written as the attack they stop: a stranger claiming a domain they do not
//! own, taking over accounts there, or signing a visitor in from another site.

use crate::common::{dns::dns_server, spawn_app, Call, TestApp};
use app::{
    audit::events::EventKind,
    domains::{
        api::DomainsView,
        rules::{challenge_name, challenge_value, DomainStatus},
        service::recheck_due,
    },
    error::AppError,
    server::entities::{
        audit_event, mail_outbox, membership, organization, organization_domain, session,
        sso_connection, user,
    },
    sso::SsoNotice,
};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// A domain of its own per test: tests share one DNS server.
fn domain() -> String {
    format!("bigcorp-{:08x}.test", rand::random::<u32>())
}

async fn events(app: &TestApp, kind: EventKind) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(kind))
        .all(&app.db)
        .await
        .unwrap()
}

async fn domains_view(app: &TestApp, session: &str) -> DomainsView {
    app.call_json::<Option<DomainsView>>("/api/domains/list", &[], Some(session))
        .await
        .expect("a current organization")
}

async fn sso_enabled(app: &TestApp, public_id: &str) -> bool {
    let org = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(public_id))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(org.id))
        .one(&app.db)
        .await
        .unwrap()
        .is_some_and(|c| c.enabled)
}

/// The organization login page's button, then the provider as `email`, then the callback.
async fn sign_in_through(app: &TestApp, org: &str, email: &str) -> crate::common::Reply {
    let started = app
        .send(Call::post(
            "/api/sso/start_organization_login",
            &[("organization_id", org)],
        ))
        .await;
    let (authorization_url, browser) = app.provider_redirect(&started).await;
    let callback = crate::common::idp::identity_provider()
        .sign_in(&authorization_url, email)
        .await;
    app.sso_callback(&callback, &browser, None).await
}

/// An owner at `domain` with an organization; returns (owner's email, session, org).
async fn company(app: &TestApp, domain: &str, name: &str) -> (String, String, String) {
    let email = format!("owner-{:x}@{domain}", rand::random::<u32>());
    let session = app.sign_up("Olivia Owner", &email).await;
    let org = app.create_organization(&session, name).await;
    (email, session, org)
}

/// A company with SSO on for `domain`, proven the whole way.
async fn sso_company(app: &TestApp, domain: &str) -> (String, String, String) {
    let (email, owner, org) = company(app, domain, "BigCorp").await;
    let saved = app.configure_sso(&owner, &org, domain).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let tested = app.test_sso(&owner, &org, &email).await;
    assert_eq!(
        tested.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=tested")
    );
    let enabled = app.set_sso_enabled(&owner, &org, true).await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    (email, owner, org)
}

#[tokio::test]
async fn a_domain_counts_only_once_its_txt_record_carries_the_challenge() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, owner, org) = company(&app, "example.com", "BigCorp").await;

    let added = app
        .add_domain(&owner, &org, &format!(" @{}. ", domain.to_uppercase()))
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let row = app.domain_row(&org, &domain).await;
    assert_eq!(row.status, DomainStatus::Pending);
    assert_eq!(row.challenge.len(), 32, "128 random bits");
    let shown = &domains_view(&app, &owner).await.domains[0];
    assert_eq!(shown.record_name, format!("_orgdesk-challenge.{domain}"));
    assert_eq!(shown.record_value, challenge_value(&row.challenge));

    // Nothing published: refused, and the failed check is recorded.
    let nothing = app.press_verify(&owner, &org, &domain).await;
    assert_eq!(nothing.status, StatusCode::FORBIDDEN);
    assert!(
        matches!(nothing.error(), AppError::Forbidden(m) if m.contains("No TXT record")),
        "{}",
        nothing.body
    );
    let row = app.domain_row(&org, &domain).await;
    assert_eq!(row.status, DomainStatus::Failed);
    assert!(row.checked_at.is_some());

    // Another value at the right name proves nothing.
    dns_server()
        .publish(
            &challenge_name(&domain),
            "orgdesk-domain-verification=someone-elses",
        )
        .await;
    assert_eq!(
        app.press_verify(&owner, &org, &domain).await.status,
        StatusCode::FORBIDDEN
    );

    app.publish_challenge(&org, &domain).await;
    let verified = app.press_verify(&owner, &org, &domain).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    let row = app.domain_row(&org, &domain).await;
    assert_eq!(row.status, DomainStatus::Verified);
    assert!(row.verified_at.is_some());
    assert_eq!(events(&app, EventKind::DomainVerified).await.len(), 1);
    assert_eq!(events(&app, EventKind::DomainAdded).await.len(), 1);

    // Rules name the field.
    // (A clash with what is stored is a 409, still named by field.)
    for (input, message, status) in [
        ("", "Domain is required.", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "not a domain",
            "Domain must be a domain name",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            &*domain,
            "is already one of this organization's domains",
            StatusCode::CONFLICT,
        ),
    ] {
        let refused = app.add_domain(&owner, &org, input).await;
        assert_eq!(refused.status, status, "{input}");
        assert!(
            refused.field_error("domain").contains(message),
            "{}",
            refused.body
        );
    }
}

#[tokio::test]
async fn a_domain_is_verified_by_one_organization_at_most() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, first, first_org) = company(&app, "example.com", "First").await;
    app.verify_domain(&first, &first_org, &domain).await;

    // A second organization may add it and publish its own challenge, but not verify it.
    let (_, second, second_org) = company(&app, "example.org", "Second").await;
    assert_eq!(
        app.add_domain(&second, &second_org, &domain).await.status,
        StatusCode::OK
    );
    app.publish_challenge(&second_org, &domain).await;
    let refused = app.press_verify(&second, &second_org, &domain).await;
    assert!(
        matches!(refused.error(), AppError::Forbidden(m) if m.contains("verified by another organization")),
        "{}",
        refused.body
    );
    assert_eq!(
        app.domain_row(&second_org, &domain).await.status,
        DomainStatus::Failed
    );

    // The database holds the rule too.
    let second_row = app.domain_row(&second_org, &domain).await;
    let forced = organization_domain::Entity::update_many()
        .col_expr(
            organization_domain::Column::Status,
            Expr::value(DomainStatus::Verified),
        )
        .col_expr(
            organization_domain::Column::VerifiedAt,
            Expr::value(Utc::now()),
        )
        .filter(organization_domain::Column::Id.eq(second_row.id))
        .exec(&app.db)
        .await;
    assert!(
        forced.is_err(),
        "a second verified row for {domain} is refused"
    );
    // And a verified row needs its time, an unverified one none.
    let inconsistent = organization_domain::Entity::update_many()
        .col_expr(
            organization_domain::Column::VerifiedAt,
            Expr::value(Utc::now()),
        )
        .filter(organization_domain::Column::Id.eq(second_row.id))
        .exec(&app.db)
        .await;
    assert!(inconsistent.is_err());
}

/// The attack of the issue: a stranger claims a company's domain and points SSO at an
/// identity provider they run. Without the DNS proof nothing of it takes effect.
#[tokio::test]
async fn a_stranger_who_claims_a_domain_without_proof_routes_and_takes_over_nobody() {
    let app = spawn_app().await;
    let domain = domain();
    // Alice already has an account at the company's domain.
    let alice_email = format!("alice@{domain}");
    let alice = app.sign_up("Alice", &alice_email).await;
    let alice_id = app.user_id(&alice).await;

    let (stranger_email, stranger, stranger_org) =
        company(&app, "stranger.example", "Totally BigCorp").await;
    assert_eq!(
        app.add_domain(&stranger, &stranger_org, &domain)
            .await
            .status,
        StatusCode::OK
    );
    let saved = app.save_sso_settings(&stranger, &stranger_org).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    // The stranger's own provider test passes only for addresses at verified domains.
    let tested = app.test_sso(&stranger, &stranger_org, &alice_email).await;
    assert_eq!(
        tested.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=wrong-domain")
    );
    let _ = stranger_email;
    // Even with a passed test, SSO does not turn on without a verified domain.
    sso_connection::Entity::update_many()
        .col_expr(sso_connection::Column::TestedAt, Expr::value(Utc::now()))
        .exec(&app.db)
        .await
        .unwrap();
    let enable = app.set_sso_enabled(&stranger, &stranger_org, true).await;
    assert!(
        matches!(enable.error(), AppError::Forbidden(m) if m.contains("Verify at least one domain")),
        "{}",
        enable.body
    );
    assert!(!sso_enabled(&app, &stranger_org).await);

    // Forced on in the database, it still routes nobody: logins at the domain get the
    // password step, and the organization's login page starts nothing.
    sso_connection::Entity::update_many()
        .col_expr(sso_connection::Column::Enabled, Expr::value(true))
        .exec(&app.db)
        .await
        .unwrap();
    let step = app
        .send(Call::post(
            "/api/sso/continue_login",
            &[("email", &alice_email)],
        ))
        .await;
    assert!(
        step.location().unwrap().starts_with("/login?email="),
        "{:?}",
        step.location()
    );
    let started = app
        .send(Call::post(
            "/api/sso/start_organization_login",
            &[("organization_id", &stranger_org)],
        ))
        .await;
    assert_eq!(started.status, StatusCode::FORBIDDEN, "{}", started.body);
    let logged_in = app.log_in(&alice_email, crate::common::PASSWORD).await;
    assert!(
        logged_in.session_cookie().is_some(),
        "Alice keeps her password"
    );
    // Someone who signs up at the domain after the claim is not captured either.
    let bob_email = format!("bob@{domain}");
    app.sign_up("Bob", &bob_email).await;
    let bob_again = app.log_in(&bob_email, crate::common::PASSWORD).await;
    assert!(
        bob_again.session_cookie().is_some(),
        "Bob logs in with his password"
    );

    // Her account is untouched.
    let stored = user::Entity::find_by_id(alice_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.is_some());
    assert!(
        session::Entity::find()
            .filter(session::Column::UserId.eq(alice_id))
            .count(&app.db)
            .await
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn a_provider_cannot_sign_in_an_address_at_a_domain_its_organization_did_not_verify() {
    let app = spawn_app().await;
    let (own, other) = (domain(), domain());
    let victim_email = format!("victim@{other}");
    let victim = app.sign_up("Victim", &victim_email).await;
    let victim_id = app.user_id(&victim).await;
    let (_, _, org) = sso_company(&app, &own).await;

    // The organization's provider vouches for the other domain's address: refused.
    let reply = sign_in_through(&app, &org, &victim_email).await;
    assert_eq!(
        reply.location(),
        Some(format!("/login?sso={}", SsoNotice::WrongDomain.as_str()).as_str())
    );
    assert_eq!(reply.session_cookie(), None);
    let stored = user::Entity::find_by_id(victim_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored.password_hash.is_some(),
        "the victim keeps their login"
    );

    // Invitation capture: another organization invites an address at that domain; the
    // provider vouching for it creates no account that could see or accept it.
    let (_, inviter, inviting_org) = company(&app, "example.org", "Real Partner").await;
    let target = format!("carol@{other}");
    let invited = app
        .send(
            Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", &inviting_org),
                    ("email", &target),
                    ("role", "member"),
                ],
            )
            .session(&inviter),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let reply = sign_in_through(&app, &org, &target).await;
    assert_eq!(reply.session_cookie(), None);
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::EmailNormalized.eq(target.as_str()))
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "no account exists to see the invitation"
    );
}

#[tokio::test]
async fn at_a_verified_domain_an_sso_sign_in_links_the_existing_account_and_ends_its_sessions() {
    let app = spawn_app().await;
    let domain = domain();
    // Alice signed up with a password before her company set up SSO, and joined an
    // organization of her own.
    let alice_email = format!("alice@{domain}");
    let alice = app.sign_up("Alice Archer", &alice_email).await;
    let alice_id = app.user_id(&alice).await;
    let own_org = app
        .create_organization(&alice, "Alice's side project")
        .await;

    let (_, _, org) = sso_company(&app, &domain).await;
    let signed_in = app.sso_log_in(&alice_email, &alice_email).await;
    let new_session = signed_in.session_cookie().expect("signed in");
    assert_eq!(
        app.user_id(&new_session).await,
        alice_id,
        "the same account"
    );

    // Her data stays; her password and every other session go.
    let memberships: Vec<i32> = membership::Entity::find()
        .filter(membership::Column::UserId.eq(alice_id))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.organization_id)
        .collect();
    assert_eq!(memberships.len(), 2, "{own_org} and {org}");
    let sessions = session::Entity::find()
        .filter(session::Column::UserId.eq(alice_id))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(sessions, 1, "only the new session is left");
    let old = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&alice))
        .await;
    assert_eq!(old.body, "null", "the old session is gone");
    let stored = user::Entity::find_by_id(alice_id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, None);
    let linked = events(&app, EventKind::AccountLinked).await;
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].subject.as_deref(), Some(alice_email.as_str()));

    // Signing in again links nothing more.
    app.sso_log_in(&alice_email, &alice_email).await;
    assert_eq!(events(&app, EventKind::AccountLinked).await.len(), 1);
}

#[tokio::test]
async fn a_verified_domain_whose_record_disappears_lapses_and_its_owners_are_told() {
    let app = spawn_app().await;
    let domain = domain();
    let (owner_email, owner, org) = sso_company(&app, &domain).await;
    let now = Utc::now();

    // Within a day nothing is looked up again.
    assert_eq!(recheck_due(&app.state.app, now).await.unwrap(), 0);
    // A day later the record still stands: it stays verified.
    assert_eq!(
        recheck_due(&app.state.app, now + Duration::hours(25))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.domain_row(&org, &domain).await.status,
        DomainStatus::Verified
    );

    dns_server().unpublish(&challenge_name(&domain)).await;
    let later = now + Duration::hours(50);
    assert_eq!(recheck_due(&app.state.app, later).await.unwrap(), 1);
    // Claimed once: a second worker finds nothing to do.
    assert_eq!(recheck_due(&app.state.app, later).await.unwrap(), 0);
    let row = app.domain_row(&org, &domain).await;
    assert_eq!(row.status, DomainStatus::Failed);
    assert_eq!(row.verified_at, None);
    assert_eq!(events(&app, EventKind::DomainUnverified).await.len(), 1);
    assert!(
        !sso_enabled(&app, &org).await,
        "SSO needs a verified domain"
    );
    let mail = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(owner_email.as_str()))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.subject.contains("no longer verified"))
        .expect("the owner is told");
    assert!(mail.text_body.contains(&challenge_name(&domain)));
    assert!(mail.text_body.contains("Single sign-on was switched off"));

    // Users at the domain are no longer routed to the provider.
    let step = app
        .send(Call::post(
            "/api/sso/continue_login",
            &[("email", &format!("someone@{domain}"))],
        ))
        .await;
    assert!(step.location().unwrap().starts_with("/login?email="));
    // Turning SSO back on needs the proof again.
    let enable = app.set_sso_enabled(&owner, &org, true).await;
    assert_eq!(enable.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_sign_in_checks_the_domain_again() {
    let app = spawn_app().await;
    let (first, second) = (domain(), domain());
    let (_, owner, org) = sso_company(&app, &first).await;
    app.verify_domain(&owner, &org, &second).await;
    // The second domain's record disappears; the daily check has not run yet.
    organization_domain::Entity::update_many()
        .col_expr(
            organization_domain::Column::Status,
            Expr::value(DomainStatus::Failed),
        )
        .col_expr(
            organization_domain::Column::VerifiedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(organization_domain::Column::Domain.eq(second.as_str()))
        .exec(&app.db)
        .await
        .unwrap();
    assert!(
        sso_enabled(&app, &org).await,
        "the first domain still stands"
    );
    let email = format!("sam@{second}");
    let reply = sign_in_through(&app, &org, &email).await;
    assert_eq!(
        reply.location(),
        Some(format!("/login?sso={}", SsoNotice::WrongDomain.as_str()).as_str())
    );
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::EmailNormalized.eq(email))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn removing_the_last_verified_domain_switches_sso_off() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, owner, org) = sso_company(&app, &domain).await;
    let removed = app
        .send(
            Call::post(
                "/api/domains/remove",
                &[("organization_id", &org), ("domain", &domain)],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert!(!sso_enabled(&app, &org).await);
    assert_eq!(events(&app, EventKind::DomainRemoved).await.len(), 1);
    assert_eq!(events(&app, EventKind::SsoDisabled).await.len(), 1);
    let missing = app
        .send(
            Call::post(
                "/api/domains/verify",
                &[("organization_id", &org), ("domain", &domain)],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn platform_staff_verify_a_domain_by_hand_but_never_one_verified_elsewhere() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, _, org) = company(&app, "example.com", "BigCorp").await;
    let said = server::staff::verify_domain(&app.db, &org, &domain.to_uppercase())
        .await
        .unwrap();
    assert!(said.contains("is now verified"), "{said}");
    assert_eq!(
        app.domain_row(&org, &domain).await.status,
        DomainStatus::Verified
    );
    let staff_event = &events(&app, EventKind::DomainVerified).await[0];
    assert_eq!(staff_event.actor_name, "Platform staff");
    assert_eq!(staff_event.actor_id, None);

    let (_, _, other) = company(&app, "example.org", "Other").await;
    let refused = server::staff::verify_domain(&app.db, &other, &domain).await;
    assert!(refused
        .unwrap_err()
        .to_string()
        .contains("verified by another organization"));
}

/// Login CSRF: the organization login URL used to sign a visitor in on a plain GET, so any
/// web page could log its visitors into an account of the attacker's choosing.
#[tokio::test]
async fn the_organization_login_url_is_a_page_whose_button_only_this_site_can_press() {
    let app = spawn_app().await;
    let domain = domain();
    let (_, _, org) = sso_company(&app, &domain).await;

    let page = app.get(&format!("/sso/login/{org}"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("BigCorp") && page.body.contains("Test IdP"));
    assert_eq!(page.location(), None, "no redirect to the provider");
    assert!(page
        .headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("orgdesk_sso=")));

    // Another site's form posting to the button is refused.
    let cross_site = app
        .send(
            Call::post(
                "/api/sso/start_organization_login",
                &[("organization_id", &org)],
            )
            .header("sec-fetch-site", "cross-site"),
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    // This site's button starts the sign-in.
    let started = app
        .send(Call::post(
            "/api/sso/start_organization_login",
            &[("organization_id", &org)],
        ))
        .await;
    let (authorization_url, _) = app.provider_redirect(&started).await;
    assert!(authorization_url.starts_with(&crate::common::idp::identity_provider().issuer));

    // An organization without SSO says so and starts nothing.
    let (_, _, plain) = company(&app, "example.com", "Plain").await;
    let page = app.get(&format!("/sso/login/{plain}"), None).await;
    assert!(page
        .body
        .contains("does not sign in through an identity provider"));
}

#[tokio::test]
async fn the_callback_never_swaps_the_signed_in_person_for_another() {
    let app = spawn_app().await;
    let domain = domain();
    sso_company(&app, &domain).await;
    let bob = app.sign_up("Bob", "bob@example.com").await;
    let bob_id = app.user_id(&bob).await;

    // Bob's browser finishes a sign-in as Carol (started before Bob signed in, say).
    let carol = format!("carol@{domain}");
    let (callback, browser) = app.sso_until_callback(&carol, &carol).await;
    let reply = app.sso_callback(&callback, &browser, Some(&bob)).await;
    assert_eq!(
        reply.location(),
        Some(format!("/?sso={}", SsoNotice::SignedInAsSomeoneElse.as_str()).as_str())
    );
    assert_eq!(reply.session_cookie(), None);
    assert_eq!(app.user_id(&bob).await, bob_id, "Bob is still signed in");
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::EmailNormalized.eq(carol.as_str()))
            .count(&app.db)
            .await
            .unwrap(),
        0,
        "nothing was created for Carol"
    );
}

#[tokio::test]
async fn admins_and_members_see_only_the_verified_domains() {
    let app = spawn_app().await;
    let (verified, pending) = (domain(), domain());
    let (_, owner, org) = company(&app, "example.com", "BigCorp").await;
    app.verify_domain(&owner, &org, &verified).await;
    app.add_domain(&owner, &org, &pending).await;
    let member = app.sign_up("Mia", "mia@example.com").await;
    app.join(&member, &org, app::members::roles::Role::Member)
        .await;
    let seen = domains_view(&app, &member).await;
    assert!(!seen.can_manage);
    assert_eq!(
        seen.domains
            .iter()
            .map(|d| d.domain.as_str())
            .collect::<Vec<_>>(),
        [verified.as_str()]
    );
    let owners = domains_view(&app, &owner).await;
    assert_eq!(owners.domains.len(), 2);
}
