//! The public API's operations, written as a program and as an attacker use them: scopes,
//! another organization's IDs, the dashboard's rules on every write, cursor paging,
//! problem documents, and the OpenAPI document.

use crate::common::{spawn_app, TestApp};
use app::{
    audit::events::{ActorKind, EventKind},
    members::roles::Role,
    server::entities::{audit_event, membership, organization},
};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;

const SCOPE: &str = "/api/docs#problem-insufficient-scope";
const NOT_FOUND: &str = "/api/docs#problem-not-found";
const INVALID: &str = "/api/docs#problem-invalid-request";

/// Every scope a key may carry.
const ALL_SCOPES: [&str; 11] = [
    "view_organization",
    "manage_profile",
    "delete_organization",
    "view_roles",
    "manage_invitations",
    "remove_users",
    "manage_roles",
    "review_audit_events",
    "manage_sso",
    "manage_security",
    "manage_webhooks",
];

struct Acme {
    owner: String,
    org: String,
}

async fn acme(app: &TestApp) -> Acme {
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    Acme { owner, org }
}

async fn membership_of(app: &TestApp, email: &str) -> Option<membership::Model> {
    use app::server::entities::user;
    let account = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()?;
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(account.id))
        .one(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_key_with_every_scope_manages_members_through_the_dashboards_rules() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(&owner, &org, "Provisioning", &ALL_SCOPES)
        .await;
    app.sign_up("Ana Added", "ana@example.com").await;
    app.sign_up_pending("Uma Unconfirmed", "uma@example.com")
        .await;

    // Add an existing account directly.
    let added = app
        .api(
            "POST",
            "/api/v1/memberships",
            Some(&key),
            Some(json!({"email": "ANA@example.com", "role": "member"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let id = added.json()["id"].as_i64().unwrap();
    assert_eq!(
        added.location(),
        Some(format!("/api/v1/memberships/{id}").as_str())
    );
    assert_eq!(added.json()["email"], "ana@example.com");
    assert_eq!(added.json()["role"], "member");
    let again = app
        .api(
            "POST",
            "/api/v1/memberships",
            Some(&key),
            Some(json!({"email": "ana@example.com", "role": "member"})),
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.json()["errors"][0]["field"], "email");
    // An address nobody proved is not let in under it.
    let unconfirmed = app
        .api(
            "POST",
            "/api/v1/memberships",
            Some(&key),
            Some(json!({"email": "uma@example.com", "role": "admin"})),
        )
        .await;
    assert_eq!(
        unconfirmed.status,
        StatusCode::NOT_FOUND,
        "{}",
        unconfirmed.body
    );
    assert!(membership_of(&app, "uma@example.com").await.is_none());

    // Read it, change its role, remove it.
    let path = format!("/api/v1/memberships/{id}");
    let read = app.api("GET", &path, Some(&key), None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.json()["name"], "Ana Added");
    let promoted = app
        .api("PATCH", &path, Some(&key), Some(json!({"role": "admin"})))
        .await;
    assert_eq!(promoted.status, StatusCode::OK, "{}", promoted.body);
    assert_eq!(promoted.json()["role"], "admin");
    assert_eq!(
        membership_of(&app, "ana@example.com").await.unwrap().role,
        Role::Admin
    );
    let removed = app.api("DELETE", &path, Some(&key), None).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert!(membership_of(&app, "ana@example.com").await.is_none());
    let gone = app.api("GET", &path, Some(&key), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.problem_type(), NOT_FOUND);

    // The last owner stays, whatever the key may do.
    let owners_membership = membership_of(&app, "olivia@example.com").await.unwrap().id;
    let owners_path = format!("/api/v1/memberships/{owners_membership}");
    let demote = app
        .api(
            "PATCH",
            &owners_path,
            Some(&key),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(demote.status, StatusCode::FORBIDDEN, "{}", demote.body);
    let remove = app.api("DELETE", &owners_path, Some(&key), None).await;
    assert_eq!(remove.status, StatusCode::FORBIDDEN, "{}", remove.body);

    // Every change is audited as the key's.
    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::ActorKind.eq(ActorKind::ApiKey))
        .all(&app.db)
        .await
        .unwrap();
    let kinds: Vec<EventKind> = audited.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::MemberAdded,
            EventKind::RoleChanged,
            EventKind::Removed
        ]
    );
    assert!(audited.iter().all(|e| e.actor_name == "Provisioning"));
}

#[tokio::test]
async fn a_key_may_do_only_what_its_scopes_allow() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    app.join(&mia, &org, Role::Member).await;
    app.sign_up("Ana Added", "ana@example.com").await;
    let mia_id = membership_of(&app, "mia@example.com").await.unwrap().id;
    let reader = app
        .create_api_key(&owner, &org, "Reader", &["view_organization"])
        .await;
    let nothing = app
        .create_api_key(&owner, &org, "Profile only", &["manage_profile"])
        .await;
    let before = snapshot(&app).await;

    let m = format!("/api/v1/memberships/{mia_id}");
    for (method, path, body, key) in [
        (
            "PATCH",
            "/api/v1/organization",
            Some(json!({"name": "Pwned"})),
            &reader,
        ),
        (
            "POST",
            "/api/v1/memberships",
            Some(json!({"email": "ana@example.com", "role": "owner"})),
            &reader,
        ),
        ("PATCH", m.as_str(), Some(json!({"role": "owner"})), &reader),
        ("DELETE", m.as_str(), None, &reader),
        ("GET", "/api/v1/organization", None, &nothing),
        ("GET", "/api/v1/memberships", None, &nothing),
        ("GET", m.as_str(), None, &nothing),
    ] {
        let reply = app.api(method, path, Some(key), body).await;
        assert_eq!(
            reply.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            reply.body
        );
        assert_eq!(reply.problem_type(), SCOPE, "{method} {path}");
        assert_eq!(
            snapshot(&app).await,
            before,
            "{method} {path} changed something"
        );
    }
}

#[tokio::test]
async fn an_admins_key_cannot_touch_owners() {
    let app = spawn_app().await;
    let Acme { org, .. } = acme(&app).await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    app.join(&admin, &org, Role::Admin).await;
    app.sign_up("Ana Added", "ana@example.com").await;
    let key = app
        .create_api_key(
            &admin,
            &org,
            "Admin's",
            &["view_organization", "manage_invitations", "remove_users"],
        )
        .await;
    let before = snapshot(&app).await;
    let owners = membership_of(&app, "olivia@example.com").await.unwrap().id;
    let remove = app
        .api(
            "DELETE",
            &format!("/api/v1/memberships/{owners}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(remove.status, StatusCode::FORBIDDEN, "{}", remove.body);
    let add_owner = app
        .api(
            "POST",
            "/api/v1/memberships",
            Some(&key),
            Some(json!({"email": "ana@example.com", "role": "owner"})),
        )
        .await;
    assert_eq!(
        add_owner.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        add_owner.body
    );
    assert_eq!(add_owner.json()["errors"][0]["field"], "role");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn a_key_never_reaches_another_organization() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let oscar = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let elsewhere = app.create_organization(&oscar, "Elsewhere").await;
    let bea = app.sign_up("Bea Elsewhere", "bea@example.com").await;
    app.join(&bea, &elsewhere, Role::Member).await;
    let beas = membership_of(&app, "bea@example.com").await.unwrap().id;
    let oscars = membership_of(&app, "oscar@example.com").await.unwrap().id;
    let key = app
        .create_api_key(&owner, &org, "Acme all", &ALL_SCOPES)
        .await;
    let before = snapshot(&app).await;
    for id in [beas, oscars] {
        let path = format!("/api/v1/memberships/{id}");
        for (method, body) in [
            ("GET", None),
            ("PATCH", Some(json!({"role": "owner"}))),
            ("DELETE", None),
        ] {
            let reply = app.api(method, &path, Some(&key), body).await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                reply.body
            );
            assert!(!reply.body.contains("bea@") && !reply.body.contains("oscar@"));
        }
    }
    let list = app
        .api("GET", "/api/v1/memberships?limit=100", Some(&key), None)
        .await;
    assert!(!list.body.contains("bea@example.com") && !list.body.contains("Elsewhere"));
    let org_reply = app
        .api("GET", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(org_reply.json()["name"], "Acme");
    assert_eq!(snapshot(&app).await, before);
}

#[tokio::test]
async fn the_profile_changes_by_the_dashboards_rules() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(
            &owner,
            &org,
            "Profile",
            &["view_organization", "manage_profile"],
        )
        .await;
    let bad = app
        .api(
            "PATCH",
            "/api/v1/organization",
            Some(&key),
            Some(json!({"phone": "call me", "website": "javascript:alert(1)", "overview": "New"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.problem_type(), INVALID);
    let fields: Vec<String> = bad.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, ["phone", "website"]);
    let unchanged = organization::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.overview, None, "nothing half-written");

    let unknown = app
        .api(
            "PATCH",
            "/api/v1/organization",
            Some(&key),
            Some(json!({"id": "org_other"})),
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the ID is immutable"
    );
    let not_json = app
        .reply(
            axum::http::Request::patch("/api/v1/organization")
                .header("host", "localhost")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{name:"))
                .unwrap(),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::BAD_REQUEST);
    assert_eq!(not_json.problem_type(), INVALID);

    let good = app
        .api(
            "PATCH",
            "/api/v1/organization",
            Some(&key),
            Some(json!({"overview": "Health records", "phone": "+1 415 555 0123"})),
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert_eq!(good.json()["phone"], "+14155550123");
    assert_eq!(good.json()["name"], "Acme", "left out: unchanged");
    let cleared = app
        .api(
            "PATCH",
            "/api/v1/organization",
            Some(&key),
            Some(json!({"phone": ""})),
        )
        .await;
    assert_eq!(cleared.json()["phone"], serde_json::Value::Null);
    assert_eq!(cleared.json()["overview"], "Health records");
    let audited = audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(EventKind::ProfileChanged))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 2);
    assert!(audited.iter().all(|e| e.actor_kind == ActorKind::ApiKey));
}

#[tokio::test]
async fn members_page_by_cursor_in_both_directions() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    for i in 0..24 {
        let session = app
            .sign_up(&format!("Member {i:02}"), &format!("m{i:02}@example.com"))
            .await;
        app.join(&session, &org, Role::Member).await;
    }
    let key = app
        .create_api_key(&owner, &org, "Reader", &["view_organization"])
        .await;
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut next = Some("/api/v1/memberships?limit=10".to_string());
    while let Some(path) = next {
        let reply = app.api("GET", &path, Some(&key), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        let body = reply.json();
        let emails: Vec<String> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["email"].as_str().unwrap().to_string())
            .collect();
        assert!(emails.len() <= 10);
        seen.extend(emails.clone());
        pages.push((path, body["previous"].as_str().map(str::to_string), emails));
        next = body["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 25, "every member once: {seen:?}");
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), 25);
    assert_eq!(pages.len(), 3);
    // The last page's `previous` opens the page before it.
    let (_, previous, _) = &pages[2];
    let back = app
        .api("GET", previous.as_deref().unwrap(), Some(&key), None)
        .await;
    let back_emails: Vec<String> = back.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(back_emails, pages[1].2);
    // Searching narrows; bad parameters name themselves.
    let found = app
        .api("GET", "/api/v1/memberships?q=member%2007", Some(&key), None)
        .await;
    assert_eq!(found.json()["data"].as_array().unwrap().len(), 1);
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("after=bm90LWEtY3Vyc29y", "after"),
        ("after=%FF", "after"),
    ] {
        let reply = app
            .api(
                "GET",
                &format!("/api/v1/memberships?{query}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}: {}",
            reply.body
        );
        assert_eq!(reply.problem_type(), INVALID);
        assert_eq!(reply.json()["errors"][0]["field"], field, "{query}");
    }
    let unknown = app
        .api("GET", "/api/v1/memberships?offset=20", Some(&key), None)
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.body
    );
}

#[tokio::test]
async fn the_openapi_document_describes_every_operation() {
    let app = spawn_app().await;
    let reply = app.api("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        doc["components"]["securitySchemes"]["api_key"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/organization", "get"),
        ("/organization", "patch"),
        ("/memberships", "get"),
        ("/memberships", "post"),
        ("/memberships/{membership_id}", "get"),
        ("/memberships/{membership_id}", "patch"),
        ("/memberships/{membership_id}", "delete"),
        ("/invitations", "get"),
        ("/invitations", "post"),
        ("/invitations/{invitation_id}/resend", "post"),
        ("/invitations/{invitation_id}", "delete"),
        ("/domains", "get"),
        ("/domains", "post"),
        ("/domains/{domain}/verify", "post"),
        ("/audit-events", "get"),
        ("/roles", "get"),
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        let scopes = &operation["security"][0]["api_key"];
        let scope = scopes[0].as_str().unwrap();
        assert!(ALL_SCOPES.contains(&scope), "{method} {path}: {scope}");
    }
    // Unknown operations and methods answer as problems, not as the app's pages (and,
    // like every operation, only to a key).
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(&owner, &org, "Docs", &["view_organization"])
        .await;
    let keyless = app.api("GET", "/api/v1/nothing-here", None, None).await;
    assert_eq!(keyless.status, StatusCode::UNAUTHORIZED);
    // Only the document itself is open, not a path that ends like it.
    for path in [
        "/api/v1/memberships/openapi.json",
        "/api/v1/organization/openapi.json",
    ] {
        let reply = app.api("GET", path, None, None).await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{path}: {}",
            reply.body
        );
    }
    let missing = app
        .api("GET", "/api/v1/nothing-here", Some(&key), None)
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.problem_type(), NOT_FOUND);
    let wrong_method = app
        .api("PUT", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
}

/// Organizations, memberships and their roles, and the count of audit events.
async fn snapshot(app: &TestApp) -> String {
    let orgs = organization::Entity::find().all(&app.db).await.unwrap();
    let members = membership::Entity::find().all(&app.db).await.unwrap();
    let events = audit_event::Entity::find().all(&app.db).await.unwrap();
    format!(
        "{:?}\n{:?}\n{}",
        orgs.iter()
            .map(|o| (&o.name, &o.overview, &o.phone, o.owner_count))
            .collect::<Vec<_>>(),
        members.iter().map(|m| (m.id, m.role)).collect::<Vec<_>>(),
        events
            .iter()
            .filter(|e| e.kind != EventKind::ApiKeyFirstUsed)
            .count()
    )
}

#[tokio::test]
async fn invitations_go_out_through_the_dashboards_rules() {
    use app::server::entities::{invitation, mail_outbox};

    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(&owner, &org, "HR sync", &["manage_invitations"])
        .await;
    let made = app
        .api(
            "POST",
            "/api/v1/invitations",
            Some(&key),
            Some(json!({"email": "new.hire@example.com", "role": "member"})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    let id = made.json()["id"].as_i64().unwrap();
    let mail = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq("new.hire@example.com"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(mail.len(), 1, "the invitation email is queued");
    assert!(mail[0].text_body.contains("/invitation?token="));
    // The same address twice, and an owner invitation from a key that cannot make owners.
    let twice = app
        .api(
            "POST",
            "/api/v1/invitations",
            Some(&key),
            Some(json!({"email": "new.hire@example.com", "role": "member"})),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);
    assert_eq!(twice.json()["errors"][0]["field"], "email");
    let owner_invite = app
        .api(
            "POST",
            "/api/v1/invitations",
            Some(&key),
            Some(json!({"email": "boss@example.com", "role": "owner"})),
        )
        .await;
    assert_eq!(owner_invite.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(owner_invite.json()["errors"][0]["field"], "role");

    let list = app
        .api("GET", "/api/v1/invitations", Some(&key), None)
        .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.json()["data"][0]["email"], "new.hire@example.com");
    assert_eq!(
        list.json()["data"][0]["invited_by"],
        serde_json::Value::Null
    );

    let token_before = invitation::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let resent = app
        .api(
            "POST",
            &format!("/api/v1/invitations/{id}/resend"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.body);
    let token_after = invitation::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        token_before.token_hash, token_after.token_hash,
        "a new link"
    );
    let revoked = app
        .api(
            "DELETE",
            &format!("/api/v1/invitations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.body);
    let again = app
        .api(
            "DELETE",
            &format!("/api/v1/invitations/{id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);

    // Another organization's invitation is unknown to this key.
    let oscar = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let elsewhere = app.create_organization(&oscar, "Elsewhere").await;
    let theirs = app
        .send(
            crate::common::Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", &elsewhere),
                    ("email", "friend@example.com"),
                    ("role", "member"),
                ],
            )
            .session(&oscar),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    let theirs = invitation::Entity::find()
        .filter(invitation::Column::Email.eq("friend@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    for (method, path) in [
        ("POST", format!("/api/v1/invitations/{}/resend", theirs.id)),
        ("DELETE", format!("/api/v1/invitations/{}", theirs.id)),
    ] {
        let reply = app.api(method, &path, Some(&key), None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let untouched = invitation::Entity::find_by_id(theirs.id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched, theirs);
    let listed = app
        .api("GET", "/api/v1/invitations", Some(&key), None)
        .await;
    assert!(!listed.body.contains("friend@example.com"));
}

#[tokio::test]
async fn an_sso_organization_sends_no_invitations_but_adds_accounts_directly() {
    let app = spawn_app().await;
    let (owner, org) = app.sso_organization("acme-sso.example").await;
    app.sign_up("Ana Added", "ana@example.com").await;
    let key = app
        .create_api_key(&owner, &org, "SCIM-ish", &["manage_invitations"])
        .await;
    let invited = app
        .api(
            "POST",
            "/api/v1/invitations",
            Some(&key),
            Some(json!({"email": "someone@example.com", "role": "member"})),
        )
        .await;
    assert_eq!(invited.status, StatusCode::FORBIDDEN, "{}", invited.body);
    let added = app
        .api(
            "POST",
            "/api/v1/memberships",
            Some(&key),
            Some(json!({"email": "ana@example.com", "role": "member"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
}

#[tokio::test]
async fn domains_are_added_and_verified_with_manage_sso_only() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let sso = app
        .create_api_key(
            &owner,
            &org,
            "DNS bot",
            &["view_organization", "manage_sso"],
        )
        .await;
    let reader = app
        .create_api_key(&owner, &org, "Reader", &["view_organization"])
        .await;
    let added = app
        .api(
            "POST",
            "/api/v1/domains",
            Some(&sso),
            Some(json!({"domain": "Acme-API.example"})),
        )
        .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    assert_eq!(added.json()["domain"], "acme-api.example");
    assert_eq!(added.json()["status"], "pending");
    let bad = app
        .api(
            "POST",
            "/api/v1/domains",
            Some(&sso),
            Some(json!({"domain": "co.uk"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.json()["errors"][0]["field"], "domain");
    let by_reader = app
        .api(
            "POST",
            "/api/v1/domains",
            Some(&reader),
            Some(json!({"domain": "x.example"})),
        )
        .await;
    assert_eq!(by_reader.problem_type(), SCOPE);

    // Not published yet: the state of the domain, said as a conflict.
    let early = app
        .api(
            "POST",
            "/api/v1/domains/acme-api.example/verify",
            Some(&sso),
            None,
        )
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT, "{}", early.body);
    // Readers see verified domains only, so nothing yet, and no challenge.
    let listed = app.api("GET", "/api/v1/domains", Some(&reader), None).await;
    assert_eq!(listed.json()["data"].as_array().unwrap().len(), 0);
    app.publish_challenge(&org, "acme-api.example").await;
    let verified = app
        .api(
            "POST",
            "/api/v1/domains/acme-api.example/verify",
            Some(&sso),
            None,
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.json()["status"], "verified");
    let listed = app.api("GET", "/api/v1/domains", Some(&reader), None).await;
    assert_eq!(listed.json()["data"][0]["domain"], "acme-api.example");
    let unknown = app
        .api(
            "POST",
            "/api/v1/domains/other.example/verify",
            Some(&sso),
            None,
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_audit_log_filters_and_pages_by_cursor() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(
            &owner,
            &org,
            "SIEM",
            &["review_audit_events", "manage_profile", "view_organization"],
        )
        .await;
    for i in 0..5 {
        let reply = app
            .api(
                "PATCH",
                "/api/v1/organization",
                Some(&key),
                Some(json!({"overview": format!("Version {i}")})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    let mut seen = Vec::new();
    let mut next = Some("/api/v1/audit-events?limit=2&kind=profile_changed".to_string());
    while let Some(path) = next {
        let page = app.api("GET", &path, Some(&key), None).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        for event in page.json()["data"].as_array().unwrap() {
            assert_eq!(event["kind"], "profile_changed");
            assert_eq!(event["actor_kind"], "api_key");
            seen.push(event["id"].as_i64().unwrap());
        }
        next = page.json()["next"].as_str().map(str::to_string);
    }
    assert_eq!(seen.len(), 5);
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "newest first: {seen:?}"
    );

    let by_owner = app
        .api(
            "GET",
            "/api/v1/audit-events?actor=olivia%40example.com",
            Some(&key),
            None,
        )
        .await;
    let kinds: Vec<&str> = by_owner.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .map(|k| Box::leak(k.into_boxed_str()) as &str)
        .collect();
    assert!(
        kinds.contains(&"created") && kinds.contains(&"api_key_created"),
        "{kinds:?}"
    );
    assert!(!kinds.contains(&"profile_changed"));
    let by_key = app
        .api("GET", "/api/v1/audit-events?actor=SIEM", Some(&key), None)
        .await;
    assert_eq!(by_key.json()["data"].as_array().unwrap().len(), 5);
    let future = app
        .api(
            "GET",
            "/api/v1/audit-events?since=2999-01-01T00:00:00Z",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(future.json()["data"].as_array().unwrap().len(), 0);
    for (query, field) in [
        ("kind=dropped_tables", "kind"),
        ("since=yesterday", "since"),
        ("after=-3", "after"),
        ("limit=500", "limit"),
    ] {
        let reply = app
            .api(
                "GET",
                &format!("/api/v1/audit-events?{query}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(reply.json()["errors"][0]["field"], field, "{query}");
    }
    // Another organization's events never show.
    let oscar = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    app.create_organization(&oscar, "Elsewhere").await;
    let all = app
        .api("GET", "/api/v1/audit-events?limit=100", Some(&key), None)
        .await;
    assert!(!all.body.contains("oscar@example.com") && !all.body.contains("Oscar"));
    // Without the scope: refused.
    let reader = app
        .create_api_key(&owner, &org, "Reader", &["view_organization"])
        .await;
    let refused = app
        .api("GET", "/api/v1/audit-events", Some(&reader), None)
        .await;
    assert_eq!(refused.problem_type(), SCOPE);
}

#[tokio::test]
async fn the_roles_read_as_the_permission_matrix() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(&owner, &org, "Roles", &["view_roles"])
        .await;
    let reply = app.api("GET", "/api/v1/roles", Some(&key), None).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let roles = reply.json();
    assert_eq!(roles["data"][2]["role"], "member");
    assert_eq!(roles["data"][2]["actions"], json!(["view_organization"]));
    assert!(roles["data"][1]["actions"]
        .as_array()
        .unwrap()
        .contains(&json!("remove_users")));
    let other = app
        .create_api_key(&owner, &org, "Other", &["view_organization"])
        .await;
    let refused = app.api("GET", "/api/v1/roles", Some(&other), None).await;
    assert_eq!(refused.problem_type(), SCOPE);
}

/// A POST with an Idempotency-Key, as a client retrying over a flaky network sends it.
async fn post_once(
    app: &TestApp,
    key: &str,
    idempotency_key: &str,
    body: serde_json::Value,
) -> crate::common::Reply {
    let request = axum::http::Request::post("/api/v1/invitations")
        .header("host", "localhost")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .header("idempotency-key", idempotency_key)
        .body(axum::body::Body::from(body.to_string()))
        .unwrap();
    app.reply(request).await
}

#[tokio::test]
async fn a_retried_post_with_an_idempotency_key_writes_once() {
    use app::server::entities::{invitation, mail_outbox};
    use sea_orm::PaginatorTrait;

    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(&owner, &org, "Retrying", &["manage_invitations"])
        .await;
    let body = json!({"email": "once@example.com", "role": "member"});
    let first = post_once(&app, &key, "7f0c6d1e-retry", body.clone()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let again = post_once(&app, &key, "7f0c6d1e-retry", body.clone()).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    assert_eq!(again.body, first.body, "the first answer, replayed");
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.location(), first.location());
    // The same key with other parameters: refused, nothing written.
    let other = post_once(
        &app,
        &key,
        "7f0c6d1e-retry",
        json!({"email": "twice@example.com", "role": "member"}),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        other.body
    );
    assert_eq!(
        other.problem_type(),
        "/api/docs#problem-idempotency-key-reused"
    );
    // Malformed keys name the header.
    for bad in ["", &"k".repeat(300)] {
        let reply = post_once(&app, &key, bad, body.clone()).await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert_eq!(reply.json()["errors"][0]["field"], "Idempotency-Key");
    }
    assert_eq!(invitation::Entity::find().count(&app.db).await.unwrap(), 1);
    assert_eq!(
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Recipient.eq("once@example.com"))
            .count(&app.db)
            .await
            .unwrap(),
        1,
        "one email"
    );

    // Parallel retries through two server processes: one invitation, whatever the order.
    let second = app.another_process().await;
    let body = json!({"email": "parallel@example.com", "role": "member"});
    let sends = (0..6).map(|i| {
        let (app, key, body) = (
            if i % 2 == 0 { &app } else { &second },
            key.clone(),
            body.clone(),
        );
        async move { post_once(app, &key, "parallel-1", body).await }
    });
    let replies = futures::future::join_all(sends).await;
    // Each answer is the first one's, "still running" (409), or, on SQLite, where two
    // processes' writers meet SQLite's own lock, "try again" (503).
    for reply in &replies {
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::CONFLICT,
                StatusCode::SERVICE_UNAVAILABLE,
            ]
            .contains(&reply.status),
            "{}: {}",
            reply.status,
            reply.body
        );
    }
    assert!(replies.iter().any(|r| r.status == StatusCode::CREATED));
    assert_eq!(
        invitation::Entity::find()
            .filter(invitation::Column::Email.eq("parallel@example.com"))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    // Another key's Idempotency-Key space is its own.
    let other_key = app
        .create_api_key(&owner, &org, "Other", &["manage_invitations"])
        .await;
    let theirs = post_once(
        &app,
        &other_key,
        "7f0c6d1e-retry",
        json!({"email": "third@example.com", "role": "member"}),
    )
    .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
}

#[tokio::test]
async fn rate_limits_are_shared_by_every_server_process() {
    let app = crate::common::spawn_app_with(|config| {
        config.api_key_requests_per_minute = 5;
        config.api_organization_requests_per_minute = 8;
    })
    .await;
    let second = app.another_process().await;
    let Acme { owner, org } = acme(&app).await;
    let first_key = app
        .create_api_key(&owner, &org, "First", &["view_organization"])
        .await;
    let second_key = app
        .create_api_key(&owner, &org, "Second", &["view_organization"])
        .await;
    // Five for the first key, alternating processes: all answered, counting down.
    for i in 0..5 {
        let process = if i % 2 == 0 { &app } else { &second };
        let reply = process
            .api("GET", "/api/v1/organization", Some(&first_key), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "request {i}: {}", reply.body);
        let remaining = reply.headers.get("ratelimit").unwrap().to_str().unwrap();
        assert!(
            remaining.starts_with(&format!("\"key\";r={};", 4 - i)),
            "{remaining}"
        );
        assert!(reply
            .headers
            .get("ratelimit-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("q=5"));
    }
    // The sixth, from either process: refused with when to come back.
    let refused = second
        .api("GET", "/api/v1/organization", Some(&first_key), None)
        .await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert_eq!(refused.problem_type(), "/api/docs#problem-rate-limited");
    let wait: i64 = refused
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait));
    // The organization's budget (8) is shared by its keys: the second key gets what is left.
    let mut answered = 0;
    for _ in 0..5 {
        let reply = app
            .api("GET", "/api/v1/organization", Some(&second_key), None)
            .await;
        if reply.status == StatusCode::OK {
            answered += 1;
        } else {
            assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
            assert!(reply.body.contains("organization"), "{}", reply.body);
        }
    }
    // 5 + 1 refused were counted for the organization; 2 of 8 remained.
    assert_eq!(answered, 2);
}

#[tokio::test]
async fn leased_counts_never_let_more_requests_through_than_the_limit() {
    // 100 a minute: each process leases a few places at a time from the shared count.
    let app = crate::common::spawn_app_with(|config| {
        config.api_key_requests_per_minute = 100;
        config.api_organization_requests_per_minute = 1_000;
    })
    .await;
    let second = app.another_process().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(&owner, &org, "Busy", &["view_organization"])
        .await;
    // All in one minute's window: near its end, wait for the next.
    let into_window = chrono::Utc::now().timestamp() % 60;
    if into_window > 50 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - into_window) as u64)).await;
    }
    // 160 requests at once, half to each process.
    let sends = (0..160).map(|i| {
        let process = if i % 2 == 0 { &app } else { &second };
        process.api("GET", "/api/v1/organization", Some(&key), None)
    });
    let replies = futures::future::join_all(sends).await;
    let answered = replies
        .iter()
        .filter(|reply| reply.status == StatusCode::OK)
        .count();
    let refused = replies
        .iter()
        .filter(|reply| reply.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(answered + refused, 160);
    // Never more than the limit; what one process leased and did not use is a few places.
    assert!(answered <= 100, "{answered} answered");
    assert!(answered >= 90, "only {answered} answered");
}

/// Everything a key could change anywhere, row by row (the keys' own bookkeeping aside).
async fn everything(app: &TestApp) -> String {
    use app::server::entities::{
        invitation, mail_outbox, organization_domain, organization_logo, sso_connection,
        webhook_endpoint,
    };
    use sea_orm::{EntityTrait, QueryOrder};

    /// Every row of `E`, in primary-key order (PostgreSQL returns updated rows last).
    async fn rows<E: EntityTrait>(app: &TestApp, key: E::Column) -> String
    where
        E::Model: std::fmt::Debug,
    {
        format!(
            "{:?}",
            E::find().order_by_asc(key).all(&app.db).await.unwrap()
        )
    }
    let events: Vec<_> = audit_event::Entity::find()
        .order_by_asc(audit_event::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            !matches!(
                e.kind,
                EventKind::ApiKeyFirstUsed | EventKind::ApiKeyCreated
            )
        })
        .collect();
    [
        rows::<organization::Entity>(app, organization::Column::Id).await,
        rows::<membership::Entity>(app, membership::Column::Id).await,
        rows::<invitation::Entity>(app, invitation::Column::Id).await,
        rows::<organization_domain::Entity>(app, organization_domain::Column::Id).await,
        rows::<sso_connection::Entity>(app, sso_connection::Column::Id).await,
        rows::<webhook_endpoint::Entity>(app, webhook_endpoint::Column::Id).await,
        rows::<organization_logo::Entity>(app, organization_logo::Column::OrganizationId).await,
        // The mail worker updates rows as it sends: their number is what a key could change.
        mail_outbox::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len()
            .to_string(),
        format!("{events:?}"),
    ]
    .join("\n")
}

/// One organization's member, invitation, domain and webhook endpoint.
struct Ids {
    membership: i32,
    invitation: i64,
    domain: &'static str,
    webhook: i64,
}

/// A documented operation's path with its parameters filled from `ids`.
fn concrete(path: &str, ids: &Ids) -> String {
    format!(
        "/api/v1{}",
        path.replace("{membership_id}", &ids.membership.to_string())
            .replace("{invitation_id}", &ids.invitation.to_string())
            .replace("{webhook_id}", &ids.webhook.to_string())
            .replace("{domain}", ids.domain)
    )
}

/// The permission matrix walked through the API: every action an owner or admin takes has
/// an operation; no operation answers a key lacking its scope (checked before anything is
/// read), and none reaches another organization's members, invitations or domains.
#[tokio::test]
async fn the_permission_matrix_walks_through_the_api() {
    use app::members::roles::Action;

    let operations = app::public_api::operations();
    for action in Action::ALL {
        let has_operation = operations.iter().any(|(_, _, scope)| *scope == action);
        if action == Action::ManageApiKeys {
            // A leaked key must not mint keys: keys are made in the dashboard only.
            assert!(!has_operation, "no operation may need manage_api_keys");
        } else {
            assert!(has_operation, "{action:?} has no API operation");
        }
    }
    for scope in ALL_SCOPES {
        assert!(Action::parse(scope).is_some(), "{scope}");
    }

    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    app.join(&mia, &org, Role::Member).await;
    let oscar = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let elsewhere = app.create_organization(&oscar, "Elsewhere").await;
    let bea = app.sign_up("Bea Elsewhere", "bea@example.com").await;
    app.join(&bea, &elsewhere, Role::Member).await;

    // In each organization: a member, a pending invitation, a pending domain and a webhook
    // endpoint.
    let mut ids = Vec::new();
    for (session, public_id, invitee, domain, member) in [
        (
            &owner,
            &org,
            "ivy@example.com",
            "acme.example",
            "mia@example.com",
        ),
        (
            &oscar,
            &elsewhere,
            "ezra@example.com",
            "elsewhere.example",
            "bea@example.com",
        ),
    ] {
        let key = app
            .create_api_key(session, public_id, "Setup", &ALL_SCOPES)
            .await;
        let invited = app
            .api(
                "POST",
                "/api/v1/invitations",
                Some(&key),
                Some(json!({"email": invitee, "role": "member"})),
            )
            .await;
        assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.body);
        let added = app
            .api(
                "POST",
                "/api/v1/domains",
                Some(&key),
                Some(json!({"domain": domain})),
            )
            .await;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
        let hook = app
            .api(
                "POST",
                "/api/v1/webhooks",
                Some(&key),
                Some(json!({"url": "https://hooks.example.com/matrix", "events": ["audit.event"]})),
            )
            .await;
        assert_eq!(hook.status, StatusCode::CREATED, "{}", hook.body);
        ids.push(Ids {
            membership: membership_of(&app, member).await.unwrap().id,
            invitation: invited.json()["id"].as_i64().unwrap(),
            domain,
            webhook: hook.json()["id"].as_i64().unwrap(),
        });
    }
    let [ours, theirs] = &ids[..] else {
        unreachable!()
    };

    // Each scope missing in turn: every operation needing it is refused, nothing changes.
    let before = everything(&app).await;
    for missing in ALL_SCOPES {
        let scopes: Vec<&str> = ALL_SCOPES.into_iter().filter(|s| *s != missing).collect();
        let key = app
            .create_api_key(&owner, &org, &format!("All but {missing}"), &scopes)
            .await;
        for (method, path, scope) in &operations {
            if scope.as_str() != missing {
                continue;
            }
            let path = concrete(path, ours);
            let reply = app.api(method, &path, Some(&key), Some(json!({}))).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{method} {path} without {missing}: {}",
                reply.body
            );
            assert_eq!(reply.problem_type(), SCOPE, "{method} {path}");
            assert!(reply.body.contains(missing), "{}", reply.body);
        }
    }
    assert_eq!(
        everything(&app).await,
        before,
        "a refused key changed something"
    );

    // Every scope, but another organization's IDs: not found, nothing changed.
    let all = app.create_api_key(&owner, &org, "All", &ALL_SCOPES).await;
    let mut with_ids = 0;
    for (method, path, _) in &operations {
        if !path.contains('{') {
            continue;
        }
        with_ids += 1;
        let theirs_path = concrete(path, theirs);
        let body = (method != "GET" && method != "DELETE").then(|| json!({"role": "owner"}));
        let reply = app.api(method, &theirs_path, Some(&all), body).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {theirs_path}: {}",
            reply.body
        );
        assert!(
            !reply.body.contains("bea@") && !reply.body.contains("ezra@"),
            "{}",
            reply.body
        );
    }
    assert!(with_ids >= 6, "operations on IDs: {with_ids}");
    assert_eq!(
        everything(&app).await,
        before,
        "another organization changed"
    );

    // A key with exactly one scope reads what that scope shows.
    for (method, path, scope) in operations.iter().filter(|(m, ..)| m == "GET") {
        let key = app
            .create_api_key(&owner, &org, &format!("Only {scope:?}"), &[scope.as_str()])
            .await;
        let path = concrete(path, ours);
        let reply = app.api(method, &path, Some(&key), None).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{method} {path}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn the_logo_security_and_sso_change_through_the_dashboards_rules() {
    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let key = app
        .create_api_key(
            &owner,
            &org,
            "Admin bot",
            &[
                "view_organization",
                "manage_profile",
                "manage_security",
                "manage_sso",
            ],
        )
        .await;

    // The logo: an image body, checked as an upload from the dashboard.
    let png = crate::organizations::png_image(64, 32);
    let uploaded = app
        .api_raw(
            "PUT",
            "/api/v1/organization/logo",
            &key,
            "image/png",
            png.clone(),
        )
        .await;
    assert_eq!(uploaded.status, StatusCode::OK, "{}", uploaded.body);
    let logo_url = uploaded.json()["logo_url"].as_str().unwrap().to_string();
    assert!(logo_url.contains(&org), "{logo_url}");
    let disguised = app
        .api_raw("PUT", "/api/v1/organization/logo", &key, "image/jpeg", png)
        .await;
    assert_eq!(disguised.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(disguised.json()["errors"][0]["field"], "logo");
    let svg = app
        .api_raw(
            "PUT",
            "/api/v1/organization/logo",
            &key,
            "image/svg+xml",
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>".to_vec(),
        )
        .await;
    assert_eq!(
        svg.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        svg.body
    );
    let huge = app
        .api_raw(
            "PUT",
            "/api/v1/organization/logo",
            &key,
            "image/png",
            vec![0; 3 * 1024 * 1024],
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", huge.body);
    let org_now = app
        .api("GET", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(org_now.json()["logo_url"], logo_url.as_str());

    // Two-factor authentication: required with a grace period, members emailed; again is
    // no change; out-of-range grace refused by rule.
    let too_long = app
        .api(
            "PATCH",
            "/api/v1/security",
            Some(&key),
            Some(json!({"two_factor_required": true, "grace_days": 15})),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(too_long.json()["errors"][0]["field"], "grace_days");
    for _ in 0..2 {
        let required = app
            .api(
                "PATCH",
                "/api/v1/security",
                Some(&key),
                Some(json!({"two_factor_required": true, "grace_days": 3})),
            )
            .await;
        assert_eq!(required.status, StatusCode::OK, "{}", required.body);
        assert_eq!(required.json()["two_factor_required"], true);
    }
    let read = app.api("GET", "/api/v1/security", Some(&key), None).await;
    assert_eq!(read.json()["two_factor_required"], true);
    assert!(read.json()["two_factor_deadline"].is_string());
    let stopped = app
        .api(
            "PATCH",
            "/api/v1/security",
            Some(&key),
            Some(json!({"two_factor_required": false})),
        )
        .await;
    assert_eq!(stopped.json()["two_factor_required"], false);

    // SSO: not set up, so it cannot be turned on; off stays off.
    let sso = app.api("GET", "/api/v1/sso", Some(&key), None).await;
    assert_eq!(sso.status, StatusCode::OK, "{}", sso.body);
    assert_eq!(sso.json()["configured"], false);
    let on = app
        .api(
            "PATCH",
            "/api/v1/sso",
            Some(&key),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(on.status, StatusCode::FORBIDDEN, "{}", on.body);
    assert!(on.body.contains("domain"), "{}", on.body);
    let off = app
        .api(
            "PATCH",
            "/api/v1/sso",
            Some(&key),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);

    let events: Vec<_> = audit_event::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.actor_kind == ActorKind::ApiKey && e.kind != EventKind::ApiKeyFirstUsed)
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        events,
        [
            EventKind::LogoChanged,
            EventKind::TwoFactorRequired,
            EventKind::TwoFactorNotRequired
        ]
    );
}

#[tokio::test]
async fn deleting_the_organization_needs_its_name_and_never_production() {
    use app::{organizations::rules::Stage, server::entities::api_key};
    use sea_orm::{ActiveModelTrait, Set};

    let app = spawn_app().await;
    let Acme { owner, org } = acme(&app).await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    app.join(&mia, &org, Role::Member).await;
    let key = app
        .create_api_key(&owner, &org, "Teardown", &["delete_organization"])
        .await;
    let wrong = app
        .api(
            "DELETE",
            "/api/v1/organization?confirm_name=acme",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        wrong.body
    );
    assert_eq!(wrong.json()["errors"][0]["field"], "confirm_name");
    let unnamed = app
        .api("DELETE", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);

    let acme_row = organization::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    let mut production: organization::ActiveModel = acme_row.clone().into();
    production.stage = Set(Stage::Production);
    production.update(&app.db).await.unwrap();
    let refused = app
        .api(
            "DELETE",
            "/api/v1/organization?confirm_name=Acme",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let mut free: organization::ActiveModel = acme_row.into();
    free.stage = Set(Stage::Free);
    free.update(&app.db).await.unwrap();

    let deleted = app
        .api(
            "DELETE",
            "/api/v1/organization?confirm_name=Acme",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert!(organization::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .is_none());
    assert!(membership_of(&app, "mia@example.com").await.is_none());
    assert!(api_key::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .is_none());
    // The key went with it.
    let after = app
        .api("GET", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_reference_page_runs_under_the_strict_policy_and_explains_every_problem() {
    use app::public_api::problem::ProblemKind;
    use axum::http::header;

    let app = spawn_app().await;
    let page = app.get("/api/docs", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let policy = page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'nonce-"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    // Every script is the nonce's, none inline; no inline style.
    assert_eq!(page.body.matches("<script").count(), 2);
    assert_eq!(
        page.body
            .matches(&format!("nonce=\"{nonce}\" src="))
            .count(),
        2
    );
    // Images may be data: here (Swagger UI's icons); scripts and styles no more than anywhere.
    assert!(policy.contains("img-src 'self' data:"), "{policy}");
    assert!(!page.body.contains("style="));
    for kind in ProblemKind::ALL {
        let anchor = format!("id=\"problem-{}\"", kind.slug());
        assert!(page.body.contains(&anchor), "{anchor}");
        assert!(kind.type_uri().starts_with("/api/docs#problem-"));
    }
    for file in ["swagger-ui-bundle.js", "swagger-ui.css", "orgdesk-docs.css"] {
        let reply = app.get(&format!("/api/docs/{file}"), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{file}");
    }
    let initializer = app.get("/api/docs/orgdesk-docs.js", None).await;
    assert!(
        initializer.body.contains("/api/v1/openapi.json"),
        "{}",
        initializer.body
    );
    // Swagger UI's own index page (unnonced scripts) and anything else are not served.
    for missing in [
        "/api/docs/index.html",
        "/api/docs/swagger-initializer.js",
        "/api/docs/..%2FCargo.toml",
        "/api/docs/nothing.js",
    ] {
        let reply = app.get(missing, None).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{missing}");
    }
}
