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
const ALL_SCOPES: [&str; 10] = [
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
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
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
        StatusCode::UNPROCESSABLE_ENTITY,
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
    ] {
        let operation = &paths[path][method];
        assert!(operation.is_object(), "{method} {path} is documented");
        let scopes = &operation["security"][0]["api_key"];
        let scope = scopes[0].as_str().unwrap();
        assert!(ALL_SCOPES.contains(&scope), "{method} {path}: {scope}");
    }
    // Unknown operations and methods answer as problems, not as the app's pages.
    let missing = app.api("GET", "/api/v1/nothing-here", None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.problem_type(), NOT_FOUND);
    let wrong_method = app.api("PUT", "/api/v1/organization", None, None).await;
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
