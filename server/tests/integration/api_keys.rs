//! Organization API keys: made and shown once, stored as a hash, refused alike when wrong,
//! revoked or expired, bounded by the maker's role, audited, warned about before expiry.

use crate::common::{spawn_app, Call, TestApp};
use app::{
    audit::events::{ActorKind, EventKind},
    members::roles::Role,
    server::entities::{api_key, audit_event, mail_outbox},
};
use axum::http::StatusCode;
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

const INVALID_KEY: &str = "/api/docs#problem-invalid-key";

async fn events(app: &TestApp, kind: EventKind) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(kind))
        .order_by_asc(audit_event::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_owner_makes_a_key_sees_it_once_and_a_program_uses_it() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let key = app
        .create_api_key(&owner, &org, "HR sync", &["view_organization"])
        .await;
    assert!(key.starts_with("odk_") && key.len() == 42, "{key}");

    // Stored as a hash only: the key itself is nowhere in the table.
    let stored = api_key::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_ne!(stored.secret_hash, key);
    assert!(key.starts_with(&stored.prefix) && stored.prefix.len() == 12);
    assert!(!format!("{stored:?}").contains(&key[4..]));
    assert_eq!(stored.scopes, "view_organization");
    assert!(stored.expires_at.is_some(), "90 days by default");

    // Shown until the person says they copied it, then never again.
    assert_eq!(
        app.revealed_api_key(&owner).await.as_deref(),
        Some(key.as_str())
    );
    let page = app
        .get("/organization/profile?tab=api-keys", Some(&owner))
        .await;
    assert!(
        page.body.contains(&key),
        "the page shows it without JavaScript"
    );
    assert_eq!(
        page.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let dismissed = app
        .send(Call::post("/api/api_keys/dismiss", &[]).session(&owner))
        .await;
    assert_eq!(dismissed.status, StatusCode::OK, "{}", dismissed.body);
    assert_eq!(app.revealed_api_key(&owner).await, None);
    let page = app
        .get("/organization/profile?tab=api-keys", Some(&owner))
        .await;
    assert!(!page.body.contains(&key));
    assert!(
        page.body.contains(&stored.prefix),
        "the list shows its prefix"
    );

    // Another session of the same owner never saw it.
    let other = app
        .log_in("olivia@example.com", crate::common::PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    assert_eq!(app.revealed_api_key(&other).await, None);

    for _ in 0..3 {
        let reply = app
            .api("GET", "/api/v1/organization", Some(&key), None)
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.json()["name"], "Acme");
        assert_eq!(reply.json()["id"], org.as_str());
    }
    let used = api_key::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert!(used.last_used_at.is_some());
    assert_eq!(used.last_used_address.as_deref(), Some("203.0.113.7"));
    assert_eq!(events(&app, EventKind::ApiKeyCreated).await.len(), 1);
    let first = events(&app, EventKind::ApiKeyFirstUsed).await;
    assert_eq!(first.len(), 1, "the first use is audited once");
    assert!(first[0].subject.as_deref().unwrap().contains("HR sync"));
}

#[tokio::test]
async fn wrong_revoked_and_expired_keys_are_refused_alike() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let key = app
        .create_api_key(&owner, &org, "CI", &["view_organization"])
        .await;
    let revoked_key = app
        .create_api_key(&owner, &org, "Old CI", &["view_organization"])
        .await;
    let expired_key = app
        .create_api_key(&owner, &org, "Temp", &["view_organization"])
        .await;

    // One character changed: the checksum catches it.
    let mut bytes = key.clone().into_bytes();
    bytes[8] = if bytes[8] == b'a' { b'b' } else { b'a' };
    let mistyped = String::from_utf8(bytes).unwrap();
    // Well formed, checksum right, never issued.
    let unknown = {
        let other = spawn_app().await;
        let s = other.sign_up("Eve", "eve@example.com").await;
        let o = other.create_organization(&s, "Elsewhere").await;
        other
            .create_api_key(&s, &o, "Eve's", &["view_organization"])
            .await
    };

    let revoke_id = api_key::Entity::find()
        .filter(api_key::Column::Name.eq("Old CI"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let revoked = app
        .send(
            Call::post(
                "/api/api_keys/revoke",
                &[("organization_id", &org), ("key_id", &revoke_id)],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    api_key::Entity::update_many()
        .col_expr(
            api_key::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(api_key::Column::Name.eq("Temp"))
        .exec(&app.db)
        .await
        .unwrap();

    let mut details = Vec::new();
    for (what, header) in [
        ("no header", None),
        (
            "a session cookie's token as a key",
            Some(format!("Bearer {owner}")),
        ),
        ("Basic", Some(format!("Basic {key}"))),
        ("mistyped", Some(format!("Bearer {mistyped}"))),
        ("never issued here", Some(format!("Bearer {unknown}"))),
        ("revoked", Some(format!("Bearer {revoked_key}"))),
        ("expired", Some(format!("Bearer {expired_key}"))),
        ("huge", Some(format!("Bearer odk_{}", "a".repeat(6000)))),
    ] {
        let mut request =
            axum::http::Request::get("/api/v1/organization").header("host", "localhost");
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let reply = app
            .reply(request.body(axum::body::Body::empty()).unwrap())
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            reply.body
        );
        assert_eq!(reply.problem_type(), INVALID_KEY, "{what}");
        assert!(
            reply.headers.get("www-authenticate").is_some(),
            "{what}: says how to authenticate"
        );
        assert!(
            !reply.body.contains("odk_a"),
            "{what}: the key is not echoed"
        );
        if header_is_a_key(what) {
            details.push(reply.json()["detail"].clone());
        }
    }
    // A caller learns nothing about which keys exist or were revoked.
    details.dedup();
    assert_eq!(details.len(), 1, "{details:?}");

    let ok = app
        .api("GET", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(ok.status, StatusCode::OK, "the right key still works");
    assert_eq!(events(&app, EventKind::ApiKeyRevoked).await.len(), 1);
}

fn header_is_a_key(what: &str) -> bool {
    matches!(
        what,
        "mistyped" | "never issued here" | "revoked" | "expired"
    )
}

#[tokio::test]
async fn a_session_cookie_alone_never_reaches_the_api() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    app.create_organization(&owner, "Acme").await;
    let request = axum::http::Request::get("/api/v1/organization")
        .header("host", "localhost")
        .header("cookie", format!("orgdesk_session={owner}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let reply = app.reply(request).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    assert!(!reply.body.contains("Acme"));
    // A cross-site form post with the cookie fares no better.
    let patch = axum::http::Request::patch("/api/v1/organization")
        .header("host", "localhost")
        .header("origin", "https://evil.example")
        .header("cookie", format!("orgdesk_session={owner}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#"{"name":"Pwned"}"#))
        .unwrap();
    let reply = app.reply(patch).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.body);
    let org = app::server::entities::organization::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(org.name, "Acme");
}

#[tokio::test]
async fn admins_make_and_revoke_only_keys_within_an_admins_actions() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    let member = app.sign_up("Mia Member", "mia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&admin, &org, Role::Admin).await;
    app.join(&member, &org, Role::Member).await;

    // Beyond an admin: refused, naming the field; nothing is made.
    let beyond = app
        .try_create_api_key(&admin, &org, "Escalate", &["remove_users", "manage_roles"])
        .await;
    assert_eq!(
        beyond.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        beyond.body
    );
    assert!(beyond
        .field_error("scopes")
        .contains("Manage organization roles"));
    // A key never mints keys, whoever asks.
    let minting = app
        .try_create_api_key(&owner, &org, "Minter", &["manage_api_keys"])
        .await;
    assert_eq!(minting.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(minting.field_error("scopes").contains("not a scope"));
    let none = app.try_create_api_key(&owner, &org, "Nothing", &[]).await;
    assert!(none.field_error("scopes").contains("at least one"));
    let nameless = app
        .try_create_api_key(&owner, &org, "   ", &["view_organization"])
        .await;
    assert!(nameless.field_error("name").contains("Enter a name"));
    assert_eq!(api_key::Entity::find().count(&app.db).await.unwrap(), 0);

    // Members make none.
    let by_member = app
        .try_create_api_key(&member, &org, "Mine", &["view_organization"])
        .await;
    assert_eq!(by_member.status, StatusCode::FORBIDDEN);

    app.create_api_key(
        &admin,
        &org,
        "Admin's",
        &["view_organization", "remove_users"],
    )
    .await;
    app.create_api_key(&owner, &org, "Owner's", &["manage_roles"])
        .await;
    let owners_id = api_key::Entity::find()
        .filter(api_key::Column::Name.eq("Owner's"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let refused = app
        .send(
            Call::post(
                "/api/api_keys/revoke",
                &[("organization_id", &org), ("key_id", &owners_id)],
            )
            .session(&admin),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let still = api_key::Entity::find()
        .filter(api_key::Column::Name.eq("Owner's"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(still.revoked_at.is_none());

    // The admin's list offers revoking their own kind of key only.
    let view: Option<app::api_keys::api::ApiKeysView> =
        app.call_json("/api/api_keys/list", &[], Some(&admin)).await;
    let view = view.unwrap();
    let revocable: Vec<_> = view
        .keys
        .iter()
        .filter(|k| k.can_revoke)
        .map(|k| k.name.as_str())
        .collect();
    assert_eq!(revocable, ["Admin's"]);
    // Members read that keys are for owners and admins, and see none of them.
    let view: Option<app::api_keys::api::ApiKeysView> = app
        .call_json("/api/api_keys/list", &[], Some(&member))
        .await;
    let view = view.unwrap();
    assert!(!view.can_manage && view.keys.is_empty());
}

#[tokio::test]
async fn another_organizations_key_cannot_be_revoked_or_seen() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let oscar = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let acme = app.create_organization(&owner, "Acme").await;
    let elsewhere = app.create_organization(&oscar, "Elsewhere").await;
    let key = app
        .create_api_key(&owner, &acme, "Acme CI", &["view_organization"])
        .await;
    let acme_key_id = api_key::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    // Oscar names Acme's key through his own organization.
    let reply = app
        .send(
            Call::post(
                "/api/api_keys/revoke",
                &[("organization_id", &elsewhere), ("key_id", &acme_key_id)],
            )
            .session(&oscar),
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{}", reply.body);
    let view: Option<app::api_keys::api::ApiKeysView> =
        app.call_json("/api/api_keys/list", &[], Some(&oscar)).await;
    assert!(view.unwrap().keys.is_empty());
    assert_eq!(app.revealed_api_key(&oscar).await, None);
    let ok = app
        .api("GET", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn a_key_keeps_working_when_its_maker_leaves() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let second = app.sign_up("Sam Second", "sam@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.join(&second, &org, Role::Owner).await;
    let key = app
        .create_api_key(&second, &org, "Sam's sync", &["view_organization"])
        .await;
    let left = app
        .send(Call::post("/api/members/leave", &[("organization_id", &org)]).session(&second))
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    let reply = app
        .api("GET", "/api/v1/organization", Some(&key), None)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let view: Option<app::api_keys::api::ApiKeysView> =
        app.call_json("/api/api_keys/list", &[], Some(&owner)).await;
    assert_eq!(view.unwrap().keys[0].created_by, "Sam Second");
}

#[tokio::test]
async fn parallel_first_uses_are_audited_once() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let key = app
        .create_api_key(&owner, &org, "Burst", &["view_organization"])
        .await;
    let second = app.another_process().await;
    let calls = (0..8).map(|i| {
        let (app, key) = (if i % 2 == 0 { &app } else { &second }, key.clone());
        async move {
            app.api("GET", "/api/v1/organization", Some(&key), None)
                .await
        }
    });
    for reply in futures::future::join_all(calls).await {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    assert_eq!(events(&app, EventKind::ApiKeyFirstUsed).await.len(), 1);
}

#[tokio::test]
async fn owners_are_warned_a_week_before_a_key_expires_and_its_expiry_is_audited() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    app.create_api_key(&owner, &org, "Nightly export", &["view_organization"])
        .await;
    let now = chrono::Utc::now();
    api_key::Entity::update_many()
        .col_expr(
            api_key::Column::ExpiresAt,
            Expr::value(now + chrono::Duration::days(6)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let warnings = || async {
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Subject.contains("An API key of Acme expires"))
            .all(&app.db)
            .await
            .unwrap()
    };
    // Two processes run their upkeep at once: one warning.
    let second = app.another_process().await;
    let (a, b) = tokio::join!(
        app::api_keys::service::run_upkeep(&app.state.app, now),
        app::api_keys::service::run_upkeep(&second.state.app, now)
    );
    assert_eq!(a.unwrap().warned + b.unwrap().warned, 1);
    let sent = warnings().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].recipient, "olivia@example.com");
    assert!(sent[0].text_body.contains("Nightly export"));

    // A week later it has expired: audited once, by Orgdesk.
    let later = now + chrono::Duration::days(7);
    app::api_keys::service::run_upkeep(&app.state.app, later)
        .await
        .unwrap();
    app::api_keys::service::run_upkeep(&app.state.app, later)
        .await
        .unwrap();
    let expired = events(&app, EventKind::ApiKeyExpired).await;
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].actor_kind, ActorKind::System);
    assert_eq!(warnings().await.len(), 1, "no second warning");
}
