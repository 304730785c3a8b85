//! The permission matrix: every server function that acts on an organization, called by
//! its owner, an admin, a member, a signed-out visitor and a member of another
//! organization; every function that acts on the caller's own account, called signed out.
//! Refusals must change nothing; the feature tests check what the allowed calls do. The
//! rows are checked against the server's registered routes, so a new server function
//! fails here until it has a row.

use crate::common::{spawn_app, Call, TestApp};
use app::{members::roles::Role, server::entities::invitation};
use axum::http::StatusCode;
use sea_orm::{EntityTrait, PaginatorTrait};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Owner,
    Admin,
    Member,
    SignedOut,
    Outsider,
}

use Caller::*;

const EVERYONE: [Caller; 5] = [Owner, Admin, Member, SignedOut, Outsider];

/// A server function, the form it is sent, and who may call it.
type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a [Caller]);

struct Fixture {
    org: String,
    sessions: Vec<(Caller, String)>,
    /// Mia's membership and a pending invitation, both in Acme.
    membership: String,
    invitation: String,
}

async fn fixture(app: &TestApp) -> Fixture {
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    let member = app.sign_up("Mia Member", "mia@example.com").await;
    let outsider = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&admin, &org, Role::Admin).await;
    app.join(&member, &org, Role::Member).await;
    app.create_organization(&outsider, "Elsewhere").await;
    let invited = app
        .send(
            Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", &org),
                    ("email", "pending@example.com"),
                    ("role", "member"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    let added = app.add_domain(&owner, &org, "acme.example").await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    app.publish_challenge(&org, "acme.example").await;
    let members: Option<app::members::views::MembersPage> = app
        .call_json(
            "/api/members/list",
            &[("query", "mia"), ("page", "1")],
            Some(&owner),
        )
        .await;
    let membership = members.unwrap().members[0].membership_id.to_string();
    let invitation = invitation::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    Fixture {
        org,
        sessions: vec![
            (Owner, owner),
            (Admin, admin),
            (Member, member),
            (Outsider, outsider),
        ],
        membership,
        invitation,
    }
}

/// A snapshot of everything a refused call must leave alone.
async fn snapshot(app: &TestApp) -> String {
    use app::server::entities::{
        audit_event, membership, organization, organization_domain, saml_provider, saml_sp_key,
        sso_connection, sso_login,
    };
    let orgs = organization::Entity::find().all(&app.db).await.unwrap();
    let sso = (
        sso_connection::Entity::find().all(&app.db).await.unwrap(),
        organization_domain::Entity::find()
            .all(&app.db)
            .await
            .unwrap(),
        sso_login::Entity::find().count(&app.db).await.unwrap(),
        saml_provider::Entity::find().all(&app.db).await.unwrap(),
        saml_sp_key::Entity::find().all(&app.db).await.unwrap(),
    );
    let members = membership::Entity::find().all(&app.db).await.unwrap();
    let invitations = invitation::Entity::find().all(&app.db).await.unwrap();
    let events = audit_event::Entity::find().count(&app.db).await.unwrap();
    let keys = app::server::entities::api_key::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.id, k.revoked_at))
        .collect::<Vec<_>>();
    format!(
        "{:?}\n{:?}\n{:?}\n{events}\n{sso:?}\n{keys:?}",
        orgs.iter()
            .map(|o| (&o.name, &o.overview, o.owner_count, o.two_factor_deadline))
            .collect::<Vec<_>>(),
        members.iter().map(|m| (m.id, &m.role)).collect::<Vec<_>>(),
        invitations
            .iter()
            .map(|i| (&i.status, &i.token_hash))
            .collect::<Vec<_>>()
    )
}

#[tokio::test]
async fn every_organization_server_function_refuses_whoever_its_role_does_not_allow() {
    let app = spawn_app().await;
    let f = fixture(&app).await;
    let org = f.org.as_str();
    let (m, i) = (f.membership.as_str(), f.invitation.as_str());
    // (endpoint, form, who may call it)
    let matrix = organization_functions(org, m, i);
    for (path, form, allowed) in &matrix {
        for caller in EVERYONE.iter().filter(|c| !allowed.contains(c)) {
            let before = snapshot(&app).await;
            let session = f.sessions.iter().find(|(c, _)| c == caller);
            let session = session.map(|(_, session)| session.as_str());
            let reply = call_row(&app, path, form, session).await;
            let expected = if *caller == SignedOut {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(
                reply.status, expected,
                "{path} by {caller:?}: {}",
                reply.body
            );
            assert_eq!(
                snapshot(&app).await,
                before,
                "{path} by {caller:?} changed something"
            );
        }
    }

    // The lists read the caller's current organization; the role decides what is shown.
    let lists = organization_lists();
    for (path, form, allowed) in &lists {
        for caller in [Owner, Admin, Member, SignedOut] {
            let mut call = Call::post(path, form);
            if let Some((_, session)) = f.sessions.iter().find(|(c, _)| *c == caller) {
                call = call.session(session);
            }
            let reply = app.send(call).await;
            let expected = match caller {
                SignedOut => StatusCode::UNAUTHORIZED,
                c if allowed.contains(&c) => StatusCode::OK,
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(
                reply.status, expected,
                "{path} by {caller:?}: {}",
                reply.body
            );
            if expected == StatusCode::OK {
                assert!(
                    reply.body.contains("Acme") || !path.contains("members"),
                    "{path}"
                );
            }
        }
        // Oscar's lists are his own organization's: nothing of Acme's shows.
        let (_, oscar) = f.sessions.iter().find(|(c, _)| *c == Outsider).unwrap();
        let reply = app.send(Call::post(path, form).session(oscar)).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        for acme in [
            "Acme",
            "mia@example.com",
            "pending@example.com",
            "Olivia",
            "acme.example",
        ] {
            assert!(
                !reply.body.contains(acme),
                "{path} showed Oscar {acme}: {}",
                reply.body
            );
        }
    }
}

/// Sent as a multipart form with a small PNG.
const UPLOAD_LOGO: &str = "/api/organizations/upload_logo";
const UPLOAD_SAML_METADATA: &str = "/api/sso/upload_saml_metadata";

/// Calls a row's server function as the holder of `session` (or signed out).
async fn call_row(
    app: &TestApp,
    path: &str,
    form: &[(&str, &str)],
    session: Option<&str>,
) -> crate::common::Reply {
    if path == UPLOAD_LOGO {
        let logo = crate::organizations::png_image(16, 16);
        let file = [("logo", "logo.png", "image/png", logo.as_slice())];
        return app
            .send_multipart(path, session.unwrap_or_default(), form, &file)
            .await;
    }
    if path == UPLOAD_SAML_METADATA {
        let metadata = crate::common::saml::SamlIdp::new("https://idp.example/matrix").metadata();
        let file = [(
            "metadata_file",
            "idp.xml",
            "application/xml",
            metadata.as_bytes(),
        )];
        return app
            .send_multipart(path, session.unwrap_or_default(), form, &file)
            .await;
    }
    let mut call = Call::post(path, form);
    if let Some(session) = session {
        call = call.session(session);
    }
    app.send(call).await
}

/// Every server function that acts on an organization: (endpoint, form, who may call it).
fn organization_functions<'a>(org: &'a str, m: &'a str, i: &'a str) -> Vec<Row<'a>> {
    let rows: Vec<Row<'a>> = vec![
        (
            "/api/organizations/update_profile",
            vec![
                ("organization_id", org),
                ("name", "Renamed"),
                ("alert_email", ""),
                ("overview", "Changed"),
                ("sales_email", ""),
                ("phone", ""),
                ("website", ""),
                ("x_handle", ""),
            ],
            &[Owner],
        ),
        (
            "/api/organizations/delete",
            vec![("organization_id", org), ("confirm_name", "Acme")],
            &[Owner],
        ),
        (UPLOAD_LOGO, vec![("organization_id", org)], &[Owner]),
        (
            "/api/organizations/switch",
            vec![("organization_id", org)],
            &[Owner, Admin, Member],
        ),
        (
            "/api/members/change_role",
            vec![
                ("organization_id", org),
                ("membership_id", m),
                ("role", "admin"),
            ],
            &[Owner],
        ),
        (
            "/api/members/remove",
            vec![("organization_id", org), ("membership_id", m)],
            &[Owner, Admin],
        ),
        (
            "/api/members/leave",
            vec![("organization_id", org)],
            &[Owner, Admin, Member],
        ),
        (
            "/api/invitations/invite",
            vec![
                ("organization_id", org),
                ("email", "someone@example.com"),
                ("role", "member"),
            ],
            &[Owner, Admin],
        ),
        (
            "/api/invitations/resend",
            vec![("organization_id", org), ("invitation_id", i)],
            &[Owner, Admin],
        ),
        (
            "/api/invitations/revoke",
            vec![("organization_id", org), ("invitation_id", i)],
            &[Owner, Admin],
        ),
        (
            "/api/sso/save",
            vec![
                ("organization_id", org),
                ("provider_name", "Acme IdP"),
                ("issuer_url", "https://idp.example.com"),
                ("client_id", "orgdesk"),
                ("client_secret", "secret"),
            ],
            &[Owner],
        ),
        (
            "/api/domains/add",
            vec![("organization_id", org), ("domain", "acme-two.example")],
            &[Owner],
        ),
        // Its record is published: whoever may verify it, would.
        (
            "/api/domains/verify",
            vec![("organization_id", org), ("domain", "acme.example")],
            &[Owner],
        ),
        (
            "/api/domains/remove",
            vec![("organization_id", org), ("domain", "acme.example")],
            &[Owner],
        ),
        ("/api/sso/test", vec![("organization_id", org)], &[Owner]),
        (
            "/api/sso/save_saml",
            vec![
                ("organization_id", org),
                ("provider_name", "Acme SAML"),
                ("metadata_url", "https://idp.example.com/metadata"),
            ],
            &[Owner],
        ),
        (
            UPLOAD_SAML_METADATA,
            vec![("organization_id", org)],
            &[Owner],
        ),
        (
            "/api/sso/rotate_sp_key",
            vec![("organization_id", org)],
            &[Owner],
        ),
        // No such key: the owner hears so; nobody else gets that far.
        (
            "/api/sso/retire_sp_key",
            vec![("organization_id", org), ("key_id", "999999")],
            &[Owner],
        ),
        (
            "/api/sso/set_enabled",
            vec![("organization_id", org), ("enabled", "true")],
            &[Owner],
        ),
        (
            "/api/organizations/require_two_factor",
            vec![("organization_id", org), ("grace_days", "7")],
            &[Owner],
        ),
        (
            "/api/organizations/stop_requiring_two_factor",
            vec![("organization_id", org)],
            &[Owner],
        ),
        (
            "/api/organizations/set_passkeys_for_admins",
            vec![("organization_id", org), ("required", "false")],
            &[Owner],
        ),
        (
            "/api/api_keys/create",
            vec![
                ("organization_id", org),
                ("name", "Matrix key"),
                ("scopes[]", "view_organization"),
                ("expires", "90"),
            ],
            &[Owner, Admin],
        ),
        // No such key: owners and admins hear so; nobody else gets that far.
        (
            "/api/api_keys/revoke",
            vec![("organization_id", org), ("key_id", "999999")],
            &[Owner, Admin],
        ),
        (
            "/api/webhooks/add",
            vec![
                ("organization_id", org),
                ("url", "https://hooks.example.com/matrix"),
                ("events[]", "audit.event"),
            ],
            &[Owner],
        ),
        // No such endpoint or delivery: the owner hears so; nobody else gets that far.
        (
            "/api/webhooks/rotate",
            vec![("organization_id", org), ("endpoint_id", "999999")],
            &[Owner],
        ),
        (
            "/api/webhooks/test",
            vec![("organization_id", org), ("endpoint_id", "999999")],
            &[Owner],
        ),
        (
            "/api/webhooks/set_enabled",
            vec![
                ("organization_id", org),
                ("endpoint_id", "999999"),
                ("enabled", "false"),
            ],
            &[Owner],
        ),
        (
            "/api/webhooks/remove",
            vec![("organization_id", org), ("endpoint_id", "999999")],
            &[Owner],
        ),
        (
            "/api/webhooks/redeliver",
            vec![
                ("organization_id", org),
                ("endpoint_id", "999999"),
                ("delivery_id", "999999"),
            ],
            &[Owner],
        ),
        // Without SSO on the owner hears that it must be on; nobody else gets that far.
        (
            "/api/directory_sync/generate_token",
            vec![("organization_id", org)],
            &[Owner],
        ),
        // No such token or group: the owner hears so; nobody else gets that far.
        (
            "/api/directory_sync/revoke_token",
            vec![("organization_id", org), ("token_id", "999999")],
            &[Owner],
        ),
        (
            "/api/directory_sync/map_group",
            vec![
                ("organization_id", org),
                ("group_id", "no-such-group"),
                ("role", "admin"),
            ],
            &[Owner],
        ),
    ];
    rows
}

/// The lists of the current organization's tabs: (endpoint, form, who may read it).
fn organization_lists() -> [Row<'static>; 9] {
    let rows: [Row<'static>; 9] = [
        (
            "/api/members/list",
            vec![("query", ""), ("page", "1")],
            &[Owner, Admin, Member],
        ),
        (
            "/api/invitations/list",
            vec![("query", ""), ("page", "1")],
            &[Owner, Admin],
        ),
        (
            "/api/audit/list",
            vec![("kind", ""), ("page", "1")],
            &[Owner],
        ),
        ("/api/sso/settings", vec![], &[Owner, Admin, Member]),
        ("/api/sso/saml_settings", vec![], &[Owner]),
        ("/api/domains/list", vec![], &[Owner, Admin, Member]),
        // Members read that only owners and admins manage keys.
        ("/api/api_keys/list", vec![], &[Owner, Admin, Member]),
        // Members and admins read that only owners manage webhooks.
        ("/api/webhooks/list", vec![], &[Owner, Admin, Member]),
        // Members and admins read that only owners set directory sync up.
        ("/api/directory_sync/view", vec![], &[Owner, Admin, Member]),
    ];
    rows
}

#[tokio::test]
async fn an_organization_that_requires_two_factor_refuses_every_function_to_whoever_lacks_it() {
    use app::server::entities::organization;
    use sea_orm::{sea_query::Expr, ColumnTrait, QueryFilter};

    let app = spawn_app().await;
    let f = fixture(&app).await;
    // Required since last week, the grace period over; nobody in the fixture has a factor.
    let now = chrono::Utc::now();
    organization::Entity::update_many()
        .col_expr(
            organization::Column::TwoFactorRequiredAt,
            Expr::value(now - chrono::Duration::days(8)),
        )
        .col_expr(
            organization::Column::TwoFactorDeadline,
            Expr::value(now - chrono::Duration::seconds(1)),
        )
        .filter(organization::Column::PublicId.eq(f.org.as_str()))
        .exec(&app.db)
        .await
        .unwrap();
    let (owner, admin) = (&f.sessions[0].1, &f.sessions[1].1);
    // The first refusal of the day is audited; after it, refusals change nothing.
    for session in [owner, admin] {
        let first = app
            .send(Call::post("/api/members/list", &[("query", ""), ("page", "1")]).session(session))
            .await;
        assert_eq!(first.status, StatusCode::FORBIDDEN, "{}", first.body);
    }
    let org = f.org.as_str();
    let (m, i) = (f.membership.as_str(), f.invitation.as_str());
    for (path, form, allowed) in organization_functions(org, m, i)
        .iter()
        .chain(organization_lists().iter())
    {
        // Leaving stays open to every member (tested in two_factor_policy).
        if path.ends_with("/leave") {
            continue;
        }
        for (caller, session) in [(Owner, owner), (Admin, admin)] {
            if !allowed.contains(&caller) {
                continue;
            }
            let before = snapshot(&app).await;
            let reply = call_row(&app, path, form, Some(session)).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{path} by {caller:?}: {}",
                reply.body
            );
            assert!(
                reply
                    .body
                    .contains("Acme requires two-factor authentication"),
                "{path} by {caller:?}: {}",
                reply.body
            );
            assert_eq!(
                snapshot(&app).await,
                before,
                "{path} by {caller:?} changed something"
            );
        }
    }
}

/// Every server function that acts only on the caller's own account (or, for the
/// organization reads, their current organization): (endpoint, form). Signed out, each is
/// refused as unauthenticated before it reads or changes anything.
fn account_functions() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let token = ("token", "not-a-real-token");
    let proof = ("proof", "correct horse battery");
    vec![
        ("/api/accounts/update_name", vec![("name", "Mallory")]),
        (
            "/api/accounts/change_password",
            vec![
                ("current_password", "correct horse battery"),
                ("new_password", "a much longer new password"),
            ],
        ),
        ("/api/accounts/two_factor_status", vec![]),
        ("/api/accounts/proof_needed", vec![]),
        ("/api/accounts/confirm_its_you", vec![proof]),
        ("/api/accounts/start_authenticator_setup", vec![proof]),
        ("/api/accounts/authenticator_setup", vec![]),
        (
            "/api/accounts/confirm_authenticator",
            vec![("code", "123456")],
        ),
        ("/api/accounts/turn_off_authenticator", vec![proof]),
        ("/api/accounts/regenerate_recovery_codes", vec![proof]),
        ("/api/accounts/new_recovery_codes", vec![]),
        ("/api/accounts/saved_recovery_codes", vec![]),
        ("/api/accounts/my_passkeys", vec![]),
        ("/api/accounts/start_passkey_registration", vec![proof]),
        (
            "/api/accounts/finish_passkey_registration",
            vec![("ceremony", "1"), ("name", "Key"), ("credential", "{}")],
        ),
        (
            "/api/accounts/remove_passkey",
            vec![("passkey_id", "1"), proof],
        ),
        ("/api/accounts/start_passkey_proof", vec![]),
        (
            "/api/accounts/finish_passkey_proof",
            vec![("ceremony", "1"), ("credential", "{}")],
        ),
        ("/api/accounts/sessions", vec![]),
        ("/api/accounts/end_session", vec![("session_id", "1")]),
        ("/api/accounts/end_other_sessions", vec![]),
        ("/api/accounts/resend_verification", vec![]),
        ("/api/organizations/create", vec![("name", "Mine")]),
        (
            "/api/organizations/mine",
            vec![("query", ""), ("page", "1")],
        ),
        ("/api/organizations/current", vec![]),
        ("/api/organizations/overview", vec![]),
        ("/api/organizations/profile", vec![]),
        ("/api/organizations/security", vec![]),
        ("/api/invitations/mine", vec![]),
        ("/api/invitations/accept", vec![token]),
        ("/api/invitations/accept_mine", vec![("invitation_id", "1")]),
        ("/api/invitations/decline", vec![token]),
        ("/api/api_keys/dismiss", vec![]),
        ("/api/webhooks/dismiss", vec![]),
        ("/api/directory_sync/dismiss_token", vec![]),
    ]
}

/// The server functions anyone may call, and why: they start or finish a sign-in, act on
/// a link's token, or show what is public.
const OPEN_FUNCTIONS: [(&str, &str); 24] = [
    (
        "/api/accounts/current_user",
        "says who is signed in, if anyone",
    ),
    ("/api/accounts/log_in", "signing in"),
    (
        "/api/accounts/log_out",
        "ends the caller's own session, if any",
    ),
    ("/api/accounts/sign_up", "signing up"),
    (
        "/api/accounts/verification_link",
        "the emailed link's token",
    ),
    ("/api/accounts/verify_email", "the emailed link's token"),
    ("/api/accounts/reject_email", "the emailed link's token"),
    (
        "/api/accounts/request_password_reset",
        "the forgotten password",
    ),
    (
        "/api/accounts/password_reset_link",
        "the emailed link's token",
    ),
    ("/api/accounts/reset_password", "the emailed link's token"),
    (
        "/api/accounts/unrecognized_factor",
        "the emailed link's token",
    ),
    (
        "/api/accounts/remove_unrecognized_factor",
        "the emailed link's token",
    ),
    (
        "/api/accounts/pending_sign_in",
        "the waiting sign-in's cookie",
    ),
    (
        "/api/accounts/verify_sign_in_code",
        "the waiting sign-in's cookie",
    ),
    (
        "/api/accounts/use_recovery_code",
        "the waiting sign-in's cookie",
    ),
    (
        "/api/accounts/start_passkey_sign_in",
        "the waiting sign-in's cookie",
    ),
    (
        "/api/accounts/finish_passkey_sign_in",
        "the waiting sign-in's cookie",
    ),
    (
        "/api/accounts/start_passkey_login",
        "signing in with a passkey",
    ),
    (
        "/api/accounts/finish_passkey_login",
        "signing in with a passkey",
    ),
    ("/api/invitations/show", "the emailed link's token"),
    ("/api/organizations/directory", "the public directory"),
    ("/api/sso/continue_login", "signing in through a provider"),
    (
        "/api/sso/organization_login",
        "an organization's login page",
    ),
    (
        "/api/sso/start_organization_login",
        "signing in through a provider",
    ),
];

#[tokio::test]
async fn every_server_function_has_a_row_in_the_matrix() {
    use std::collections::BTreeSet;

    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    let mut rows: Vec<&str> = organization_functions("o", "m", "i")
        .iter()
        .map(|(path, _, _)| *path)
        .chain(organization_lists().iter().map(|(path, _, _)| *path))
        .chain(account_functions().iter().map(|(path, _)| *path))
        .chain(OPEN_FUNCTIONS.iter().map(|(path, _)| *path))
        .collect();
    let listed: BTreeSet<String> = rows.iter().map(|path| path.to_string()).collect();
    rows.sort_unstable();
    let twice: Vec<_> = rows.windows(2).filter(|w| w[0] == w[1]).collect();
    assert!(twice.is_empty(), "rows listed twice: {twice:?}");
    let missing: Vec<_> = registered.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "server functions without a row in the permission matrix (add each to the table \
         of who may call it): {missing:?}"
    );
    let stale: Vec<_> = listed.difference(&registered).collect();
    assert!(stale.is_empty(), "rows for no server function: {stale:?}");
}

#[tokio::test]
async fn every_account_function_refuses_a_signed_out_caller_and_changes_nothing() {
    let app = spawn_app().await;
    // Organizations, members and an invitation the refused calls must leave alone.
    let _fixture = fixture(&app).await;
    let users = || async {
        use app::server::entities::{passkey, session, user};
        (
            user::Entity::find().all(&app.db).await.unwrap(),
            session::Entity::find().count(&app.db).await.unwrap(),
            passkey::Entity::find().count(&app.db).await.unwrap(),
        )
    };
    for (path, form) in account_functions() {
        let before = (snapshot(&app).await, users().await);
        let reply = app.send(Call::post(path, &form)).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{path} signed out: {}",
            reply.body
        );
        assert!(
            (snapshot(&app).await, users().await) == before,
            "{path} signed out changed something"
        );
    }
}
