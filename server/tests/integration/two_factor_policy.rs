//! Organizations that require two-factor authentication, through the real router and
//! database: the owner's list of who lacks it, the grace period (its end moved into the past
//! stands in for the clock), members kept out of that organization's every server function
//! but not of others, SSO sign-ins whose provider reported MFA, and the audit trail.

use crate::common::{spawn_app, Call, Reply, TestApp};
use app::{
    audit::events::EventKind,
    members::roles::Role,
    server::entities::{audit_event, mail_outbox, organization},
};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn require(app: &TestApp, owner: &str, org: &str, days: &str) -> Reply {
    app.send(
        Call::post(
            "/api/organizations/require_two_factor",
            &[("organization_id", org), ("grace_days", days)],
        )
        .session(owner),
    )
    .await
}

/// The grace period ends now (as if its days had passed).
async fn end_grace(app: &TestApp, public_id: &str) {
    organization::Entity::update_many()
        .col_expr(
            organization::Column::TwoFactorDeadline,
            Expr::value(Utc::now() - Duration::seconds(1)),
        )
        .col_expr(
            organization::Column::TwoFactorRequiredAt,
            Expr::value(Utc::now() - Duration::days(8)),
        )
        .filter(organization::Column::PublicId.eq(public_id))
        .exec(&app.db)
        .await
        .unwrap();
}

async fn events(app: &TestApp, kind: EventKind) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(kind))
        .all(&app.db)
        .await
        .unwrap()
}

/// Sets up an authenticator app for `session` (through the pages, as a person would).
async fn set_up_app(app: &TestApp, session: &str) {
    let started = app
        .send(Call::post("/api/accounts/start_authenticator_setup", &[]).session(session))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    let page = app.get("/settings/two-factor/app", Some(session)).await;
    let from = page.body.find("class=\"secret-key\">").unwrap() + "class=\"secret-key\">".len();
    let secret = page.body[from..][..page.body[from..].find('<').unwrap()].replace(' ', "");
    let bytes = totp_rs::Secret::try_from_base32(&secret)
        .unwrap()
        .as_bytes()
        .to_vec();
    let code = totp_rs::Builder::new()
        .with_secret(bytes)
        .build()
        .unwrap()
        .generate(Utc::now().timestamp() as u64)
        .to_string();
    let confirmed = app
        .send(
            Call::post("/api/accounts/confirm_authenticator", &[("code", &code)]).session(session),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
}

#[tokio::test]
async fn the_owner_sees_who_lacks_it_and_members_get_a_grace_period_then_are_kept_out() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&mia, &org, Role::Member).await;
    let elsewhere = app.create_organization(&mia, "Mia's Own").await;
    // An owner without two-factor authentication cannot require it of others.
    let first = require(&app, &owner, &org, "7").await;
    assert_eq!(first.status, StatusCode::FORBIDDEN, "{}", first.body);
    assert!(first.body.contains("your own account first"));
    // Acme is Mia's current organization again.
    let switched = app
        .send(Call::post("/api/organizations/switch", &[("organization_id", &org)]).session(&mia))
        .await;
    assert_eq!(switched.status, StatusCode::OK, "{}", switched.body);
    set_up_app(&app, &owner).await;

    // Before switching it on, the owner sees who is not compliant: Mia, not the owner.
    let settings = app
        .get("/organization/profile?tab=settings", Some(&owner))
        .await;
    assert!(settings.body.contains("Security"), "{}", settings.body);
    assert!(settings
        .body
        .contains("1 member without two-factor authentication"));
    assert!(settings.body.contains("mia@example.com"));
    assert!(!settings.body.contains(">olivia@example.com<"));

    // Bad grace periods name the field and the rule; nothing changes.
    for bad in ["15", "-1", "a week", ""] {
        let refused = require(&app, &owner, &org, bad).await;
        assert!(
            refused.field_error("grace_days").contains("0 to 14"),
            "{bad}: {}",
            refused.body
        );
    }
    assert_eq!(events(&app, EventKind::TwoFactorRequired).await.len(), 0);

    let required = require(&app, &owner, &org, "7").await;
    assert_eq!(required.status, StatusCode::OK, "{}", required.body);
    let again = require(&app, &owner, &org, "3").await;
    assert_eq!(again.status, StatusCode::FORBIDDEN);
    // Mia hears of it by email; the owner, who has a factor, does not.
    let mails: Vec<String> = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Subject.eq("Acme requires two-factor authentication"))
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.recipient)
        .collect();
    assert_eq!(mails, vec!["mia@example.com".to_string()]);
    assert_eq!(events(&app, EventKind::TwoFactorRequired).await.len(), 1);

    // During the grace period Mia works as before, with a banner.
    let page = app.get("/organization", Some(&mia)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .body
        .contains("Acme requires two-factor authentication. Set up an authenticator app by"));
    let members = app
        .send(Call::post("/api/members/list", &[("query", ""), ("page", "1")]).session(&mia))
        .await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.body);

    // After it, Acme's pages and server functions are closed to her...
    end_grace(&app, &org).await;
    let page = app.get("/organization", Some(&mia)).await;
    assert!(
        page.body
            .contains("You keep your membership, but cannot open Acme"),
        "{}",
        page.body
    );
    for (path, form) in [
        ("/api/members/list", vec![("query", ""), ("page", "1")]),
        ("/api/organizations/overview", vec![]),
        ("/api/organizations/profile", vec![]),
        (
            "/api/organizations/switch",
            vec![("organization_id", org.as_str())],
        ),
        ("/api/invitations/list", vec![("query", ""), ("page", "1")]),
    ] {
        let refused = app.send(Call::post(path, &form).session(&mia)).await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{path}: {}",
            refused.body
        );
        assert!(
            refused
                .body
                .contains("Acme requires two-factor authentication"),
            "{path}"
        );
    }
    // ...but not her other organization, and she keeps the membership.
    let other = app
        .send(
            Call::post(
                "/api/organizations/switch",
                &[("organization_id", &elsewhere)],
            )
            .session(&mia),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
    let overview = app.get("/organization", Some(&mia)).await;
    assert!(overview.body.contains("Mia&#x27;s Own") || overview.body.contains("Mia's Own"));
    assert!(app.membership_of(&mia, &org).await.is_some());
    // Refusals are audited once a day, not once a request.
    let refused_again = app
        .send(Call::post("/api/organizations/switch", &[("organization_id", &org)]).session(&mia))
        .await;
    assert_eq!(refused_again.status, StatusCode::FORBIDDEN);
    let blocked = events(&app, EventKind::BlockedByTwoFactor).await;
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0].subject.as_deref(), Some("mia@example.com"));

    // Setting up an authenticator app lets her in at once, and Acme's log says so.
    set_up_app(&app, &mia).await;
    let back = app
        .send(Call::post("/api/organizations/switch", &[("organization_id", &org)]).session(&mia))
        .await;
    assert_eq!(back.status, StatusCode::OK, "{}", back.body);
    let added = events(&app, EventKind::FactorAdded).await;
    assert!(
        added.iter().any(|e| e.actor_name == "Mia Member"),
        "{added:?}"
    );
    let page = app.get("/organization", Some(&mia)).await;
    assert!(!page.body.contains("requires two-factor authentication"));

    // Stopping the requirement is audited too.
    let stopped = app
        .send(
            Call::post(
                "/api/organizations/stop_requiring_two_factor",
                &[("organization_id", &org)],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.body);
    assert_eq!(events(&app, EventKind::TwoFactorNotRequired).await.len(), 1);
}

#[tokio::test]
async fn a_member_kept_out_may_still_leave() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&mia, &org, Role::Member).await;
    set_up_app(&app, &owner).await;
    assert_eq!(
        require(&app, &owner, &org, "0").await.status,
        StatusCode::OK
    );
    let left = app
        .send(Call::post("/api/members/leave", &[("organization_id", &org)]).session(&mia))
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    assert!(app.membership_of(&mia, &org).await.is_none());
}

#[tokio::test]
async fn sso_members_count_as_compliant_when_the_provider_reports_mfa() {
    let app = spawn_app().await;
    let (owner, org) = app.sso_organization("mfa-acme.test").await;
    set_up_app(&app, &owner).await;
    assert_eq!(
        require(&app, &owner, &org, "0").await.status,
        StatusCode::OK
    );

    // The provider reported a second factor (amr "otp"): in, and the session says how.
    let with_mfa = app
        .sso_log_in("mfa.ann@mfa-acme.test", "mfa.ann@mfa-acme.test")
        .await;
    let ann = with_mfa.session_cookie().expect("signed in");
    let members = app
        .send(Call::post("/api/members/list", &[("query", ""), ("page", "1")]).session(&ann))
        .await;
    assert_eq!(members.status, StatusCode::OK, "{}", members.body);
    let settings = app.get("/settings", Some(&ann)).await;
    assert!(
        settings
            .body
            .contains("Single sign-on + identity provider&#x27;s MFA")
            || settings
                .body
                .contains("Single sign-on + identity provider's MFA")
    );

    // A password alone at the provider: signed in, but kept out of Acme.
    let without = app
        .sso_log_in("bob@mfa-acme.test", "bob@mfa-acme.test")
        .await;
    let bob = without.session_cookie().expect("signed in");
    let refused = app
        .send(Call::post("/api/members/list", &[("query", ""), ("page", "1")]).session(&bob))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // Once Bob has Orgdesk's factor, an SSO sign-in without MFA asks for it.
    set_up_app(&app, &bob).await;
    let again = app
        .sso_log_in("bob@mfa-acme.test", "bob@mfa-acme.test")
        .await;
    assert_eq!(
        again.location(),
        Some("/login/two-factor"),
        "{}",
        again.body
    );
    assert!(again.session_cookie().is_none());
}

#[tokio::test]
async fn the_policy_changes_nothing_for_organizations_that_do_not_require_it() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let page = app
        .get("/organization/profile?tab=settings", Some(&owner))
        .await;
    assert!(page
        .body
        .contains("Two-factor authentication is not required."));
    assert!(page.body.contains("Require two-factor authentication"));
    let list = app
        .send(Call::post("/api/members/list", &[("query", ""), ("page", "1")]).session(&owner))
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(
        audit_event::Entity::find()
            .filter(audit_event::Column::Kind.eq(EventKind::BlockedByTwoFactor))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    let _ = org;
}

#[tokio::test]
async fn the_users_tab_shows_and_filters_by_two_factor_status() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&mia, &org, Role::Member).await;
    set_up_app(&app, &owner).await;
    let list = |filter: &'static str| {
        let owner = owner.clone();
        let app = &app;
        async move {
            app.send(
                Call::post(
                    "/api/members/list",
                    &[("query", ""), ("page", "1"), ("two_factor", filter)],
                )
                .session(&owner),
            )
            .await
        }
    };
    let page = |reply: Reply| -> app::members::views::MembersPage {
        serde_json::from_str::<Option<app::members::views::MembersPage>>(&reply.body)
            .unwrap()
            .unwrap()
    };
    let everyone = page(list("").await);
    assert_eq!(everyone.total, 2);
    let status: Vec<(String, Option<bool>)> = everyone
        .members
        .iter()
        .map(|m| (m.email.clone(), m.two_factor))
        .collect();
    assert!(
        status.contains(&("olivia@example.com".into(), Some(true))),
        "{status:?}"
    );
    assert!(
        status.contains(&("mia@example.com".into(), Some(false))),
        "{status:?}"
    );
    let on = page(list("on").await);
    assert_eq!((on.total, on.members.len()), (1, 1));
    assert_eq!(on.members[0].email, "olivia@example.com");
    let off = page(list("off").await);
    assert_eq!(off.members[0].email, "mia@example.com");
    assert_eq!(off.two_factor, "off");
    let bad = list("maybe").await;
    assert!(bad.field_error("two_factor").contains("on, off"));
    let tab = app
        .get("/access-control?tab=users&two_factor=off", Some(&owner))
        .await;
    assert!(tab.body.contains("Two-factor"));
    assert!(tab.body.contains("mia@example.com"));
    assert!(!tab.body.contains(">olivia@example.com<"));
}

/// Marks the session behind `token` as signed in with a passkey (what a passkey sign-in
/// records; the browser suite signs in with a real one through Chromium's virtual
/// authenticator).
async fn signed_in_with_passkey(app: &TestApp, token: &str) {
    use app::server::entities::session;
    use sea_orm::ActiveEnum;
    session::Entity::update_many()
        .col_expr(
            session::Column::SecondFactor,
            Expr::value(app::accounts::rules::SecondFactor::Passkey.to_value()),
        )
        .filter(session::Column::TokenHash.eq(app::server::tokens::hash_token(token)))
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn passkeys_only_for_owners_and_admins_keeps_out_their_other_sessions_not_members() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let adam = app.sign_up("Adam Admin", "adam@example.com").await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&adam, &org, Role::Admin).await;
    app.join(&mia, &org, Role::Member).await;
    let set = |session: &str, required: &'static str| {
        let (session, org) = (session.to_string(), org.clone());
        let app = &app;
        async move {
            app.send(
                Call::post(
                    "/api/organizations/set_passkeys_for_admins",
                    &[("organization_id", org.as_str()), ("required", required)],
                )
                .session(&session),
            )
            .await
        }
    };
    // Not from a session without a passkey: the owner would lock themselves out.
    let refused = set(&owner, "true").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("Sign in with a passkey first"));
    assert!(set(&owner, "maybe")
        .await
        .field_error("required")
        .contains("true or false"));
    signed_in_with_passkey(&app, &owner).await;
    let on = set(&owner, "true").await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(events(&app, EventKind::PasskeysRequired).await.len(), 1);

    let list = |session: &str| {
        let session = session.to_string();
        let app = &app;
        async move {
            app.send(
                Call::post("/api/members/list", &[("query", ""), ("page", "1")]).session(&session),
            )
            .await
        }
    };
    // The admin's password-and-code session is kept out; the member is not asked.
    let admin = list(&adam).await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN, "{}", admin.body);
    assert!(admin
        .body
        .contains("requires owners and admins to sign in with a passkey"));
    assert_eq!(list(&mia).await.status, StatusCode::OK);
    assert_eq!(list(&owner).await.status, StatusCode::OK);
    // With a passkey session the admin is in.
    signed_in_with_passkey(&app, &adam).await;
    assert_eq!(list(&adam).await.status, StatusCode::OK);

    let off = set(&owner, "false").await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(events(&app, EventKind::PasskeysNotRequired).await.len(), 1);
}

#[tokio::test]
async fn an_acr_the_owner_named_counts_as_mfa_and_other_acr_values_do_not() {
    let app = spawn_app().await;
    let (owner, org) = app.sso_organization("acr-acme.test").await;
    set_up_app(&app, &owner).await;
    assert_eq!(
        require(&app, &owner, &org, "0").await.status,
        StatusCode::OK
    );
    let save = |acr: &'static str| {
        let (owner, org) = (owner.clone(), org.clone());
        let app = &app;
        async move {
            let provider = crate::common::idp::identity_provider();
            app.send(
                Call::post(
                    "/api/sso/save",
                    &[
                        ("organization_id", org.as_str()),
                        ("provider_name", "Test IdP"),
                        ("issuer_url", provider.issuer.as_str()),
                        ("client_id", crate::common::idp::CLIENT_ID),
                        ("client_secret", crate::common::idp::CLIENT_SECRET),
                        ("mfa_acr_values", acr),
                    ],
                )
                .session(&owner),
            )
            .await
        }
    };
    let list = |session: String| {
        let app = &app;
        async move {
            app.send(
                Call::post("/api/members/list", &[("query", ""), ("page", "1")]).session(&session),
            )
            .await
            .status
        }
    };
    // The provider sends acr "urn:example:mfa"; until the owner names it, it is no MFA.
    let before = app
        .sso_log_in("acr.cy@acr-acme.test", "acr.cy@acr-acme.test")
        .await
        .session_cookie()
        .expect("signed in");
    assert_eq!(list(before).await, StatusCode::FORBIDDEN);
    let saved = save("  urn:other:loa2   urn:example:mfa ").await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    // Which sign-ins count as MFA changed: SSO is off until a new test passes.
    assert_eq!(
        saved.location(),
        Some("/organization/profile?tab=settings&area=sso&saved=sso-retest")
    );
    let tested = app.test_sso(&owner, &org, "tester@acr-acme.test").await;
    assert_eq!(
        tested.location(),
        Some("/organization/profile?tab=settings&area=sso&sso=tested")
    );
    assert_eq!(
        app.set_sso_enabled(&owner, &org, true).await.status,
        StatusCode::OK
    );
    let bad = save("urn:\u{7}bell").await;
    assert!(bad
        .field_error("mfa_acr_values")
        .contains("control characters"));
    let after = app
        .sso_log_in("acr.cy@acr-acme.test", "acr.cy@acr-acme.test")
        .await
        .session_cookie()
        .expect("signed in");
    assert_eq!(list(after).await, StatusCode::OK);
}
