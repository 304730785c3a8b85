//! Directory sync (SCIM 2.0) as identity providers drive it, from their documented request
//! bodies (Entra's string booleans and capitalised ops, Okta's PUT to deactivate), and as
//! an attacker would: another organization's token and ids, a revoked token, an address
//! at a domain the organization does not own, the last owner, expensive filters and
//! parallel group changes.

use crate::common::{spawn_app, TestApp};
use app::{
    audit::events::EventKind,
    kinds::ActorKind,
    members::roles::Role,
    server::entities::{audit_event, mail_outbox, membership, scim_request, session, user},
};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

struct Synced {
    owner: String,
    org: String,
    token: String,
    domain: String,
}

async fn synced(app: &TestApp, domain: &str) -> Synced {
    let (owner, org) = app.sso_organization(domain).await;
    let token = app.scim_token(&owner, &org).await;
    Synced {
        owner,
        org,
        token,
        domain: domain.to_string(),
    }
}

fn new_user(email: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": email,
        "name": {"givenName": "Bea", "familyName": "Berg"},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "externalId": format!("ext-{email}"),
        "active": true
    })
}

async fn provision(app: &TestApp, token: &str, email: &str) -> String {
    let made = app
        .scim("POST", "/Users", token, Some(new_user(email)))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.json()["id"].as_str().unwrap().to_string()
}

async fn role_of(app: &TestApp, email: &str, org: &str) -> Option<Role> {
    let account = user::Entity::find()
        .filter(user::Column::Email.eq(email))
        .one(&app.db)
        .await
        .unwrap()?;
    let org = app::server::entities::organization::Entity::find()
        .filter(app::server::entities::organization::Column::PublicId.eq(org))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    membership::Entity::find()
        .filter(membership::Column::UserId.eq(account.id))
        .filter(membership::Column::OrganizationId.eq(org.id))
        .one(&app.db)
        .await
        .unwrap()
        .map(|m| m.role)
}

async fn events(app: &TestApp, kind: EventKind) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(kind))
        .all(&app.db)
        .await
        .unwrap()
}

fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH], "Operations": ops})
}

#[tokio::test]
async fn provisioned_people_become_members_and_deactivation_suspends_them() {
    let app = spawn_app().await;
    let Synced {
        org, token, domain, ..
    } = synced(&app, "sync-one.example").await;
    let email = format!("bea@{domain}");
    // Entra checks whether the user exists before creating it.
    let before = app
        .scim(
            "GET",
            &format!("/Users?filter=userName%20eq%20%22{email}%22"),
            &token,
            None,
        )
        .await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);
    assert_eq!(before.json()["totalResults"], json!(0));
    assert_eq!(
        before.headers.get("content-type").unwrap(),
        "application/scim+json"
    );
    let id = provision(&app, &token, &email).await;
    assert_eq!(role_of(&app, &email, &org).await, Some(Role::Member));
    let added = events(&app, EventKind::MemberAdded).await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].actor_kind, ActorKind::DirectorySync);
    let found = app
        .scim(
            "GET",
            &format!(
                "/Users?filter=userName%20eq%20%22{}%22",
                email.to_uppercase()
            ),
            &token,
            None,
        )
        .await
        .json();
    assert_eq!(found["totalResults"], json!(1));
    assert_eq!(found["Resources"][0]["id"], json!(id));
    assert_eq!(found["Resources"][0]["name"]["familyName"], json!("Berg"));

    // Entra: a capitalised op, no path, and "False" as a string.
    let off = app
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            &token,
            Some(patch(
                json!([{"op": "Replace", "value": {"active": "False"}}]),
            )),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(off.json()["active"], json!(false));
    assert_eq!(role_of(&app, &email, &org).await, None, "suspended");
    assert_eq!(events(&app, EventKind::MemberSuspended).await.len(), 1);

    // Okta: the whole user again with active true restores the membership.
    let mut whole = new_user(&email);
    whole["active"] = json!(true);
    let on = app
        .scim("PUT", &format!("/Users/{id}"), &token, Some(whole.clone()))
        .await;
    assert_eq!(on.status, StatusCode::OK, "{}", on.body);
    assert_eq!(role_of(&app, &email, &org).await, Some(Role::Member));
    assert_eq!(events(&app, EventKind::MemberRestored).await.len(), 1);
    // Okta deactivates with a PUT of the whole user too.
    whole["active"] = json!(false);
    let put_off = app
        .scim("PUT", &format!("/Users/{id}"), &token, Some(whole))
        .await;
    assert_eq!(put_off.status, StatusCode::OK, "{}", put_off.body);
    assert_eq!(role_of(&app, &email, &org).await, None);

    // DELETE deprovisions: the link goes, the account stays.
    let gone = app
        .scim("DELETE", &format!("/Users/{id}"), &token, None)
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.body);
    let again = app.scim("GET", &format!("/Users/{id}"), &token, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(
        again.json()["schemas"][0],
        json!("urn:ietf:params:scim:api:messages:2.0:Error")
    );
    assert!(user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .is_some());
    // Deleting an active person removes their membership (a removal, not a suspension).
    let other = format!("cy@{domain}");
    let other_id = provision(&app, &token, &other).await;
    let removed = app
        .scim("DELETE", &format!("/Users/{other_id}"), &token, None)
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);
    assert_eq!(role_of(&app, &other, &org).await, None);
    let removals = events(&app, EventKind::Removed).await;
    assert_eq!(removals.len(), 1);
    assert_eq!(removals[0].actor_kind, ActorKind::DirectorySync);
    // Every request is in the organization's log.
    assert!(scim_request::Entity::find().count(&app.db).await.unwrap() >= 7);
}

#[tokio::test]
async fn deactivation_ends_the_sessions_of_an_address_at_the_verified_domain() {
    let app = spawn_app().await;
    let Synced {
        org, token, domain, ..
    } = synced(&app, "sync-sessions.example").await;
    let email = format!("carl@{domain}");
    // Carl signed in through the provider (an account, a membership, a session) before
    // the provider pushed him.
    let signed_in = app.sso_log_in(&email, &email).await;
    let carl = signed_in.session_cookie().expect("signed in");
    let id = provision(&app, &token, &email).await;
    assert_eq!(role_of(&app, &email, &org).await, Some(Role::Member));
    let account = user::Entity::find()
        .filter(user::Column::Email.eq(email.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    // Linked, not duplicated.
    assert_eq!(
        user::Entity::find()
            .filter(user::Column::EmailNormalized.eq(email.as_str()))
            .count(&app.db)
            .await
            .unwrap(),
        1
    );
    let sessions = || {
        session::Entity::find()
            .filter(session::Column::UserId.eq(account.id))
            .count(&app.db)
    };
    assert!(sessions().await.unwrap() >= 1);
    let off = app
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            &token,
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    assert_eq!(
        sessions().await.unwrap(),
        0,
        "every session of theirs ended"
    );
    let next_page = app.get("/organization/profile", Some(&carl)).await;
    assert!(
        next_page
            .location()
            .is_some_and(|to| to.starts_with("/login")),
        "{} {:?}",
        next_page.status,
        next_page.location()
    );
    // Signing in through the provider again does not bring the membership back.
    let again = app.sso_log_in(&email, &email).await;
    assert!(
        again.session_cookie().is_none(),
        "{} {}",
        again.status,
        again.body
    );
    assert_eq!(role_of(&app, &email, &org).await, None);
}

#[tokio::test]
async fn a_token_speaks_only_for_its_own_organization() {
    let app = spawn_app().await;
    let a = synced(&app, "sync-a.example").await;
    let b = synced(&app, "sync-b.example").await;
    let theirs = provision(&app, &b.token, "dan@sync-b.example").await;
    let group = app
        .scim(
            "POST",
            "/Groups",
            &b.token,
            Some(json!({"schemas": [GROUP], "displayName": "B team"})),
        )
        .await
        .json()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A's token on B's ids: not found, and nothing changes.
    for (method, path, body) in [
        ("GET", format!("/Users/{theirs}"), None),
        (
            "PUT",
            format!("/Users/{theirs}"),
            Some(new_user("dan@sync-b.example")),
        ),
        (
            "PATCH",
            format!("/Users/{theirs}"),
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        ),
        ("DELETE", format!("/Users/{theirs}"), None),
        ("GET", format!("/Groups/{group}"), None),
        (
            "PATCH",
            format!("/Groups/{group}"),
            Some(patch(
                json!([{"op": "add", "path": "members", "value": [{"value": theirs}]}]),
            )),
        ),
        ("DELETE", format!("/Groups/{group}"), None),
    ] {
        let reply = app.scim(method, &path, &a.token, body).await;
        assert!(
            matches!(
                reply.status,
                StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST
            ),
            "{method} {path}: {} {}",
            reply.status,
            reply.body
        );
    }
    assert_eq!(
        role_of(&app, "dan@sync-b.example", &b.org).await,
        Some(Role::Member)
    );
    // B's person named as a member of A's own group: no such User here.
    let smuggled = app
        .scim(
            "POST",
            "/Groups",
            &a.token,
            Some(json!({"schemas": [GROUP], "displayName": "A team", "members": [{"value": theirs}]})),
        )
        .await;
    assert_eq!(
        smuggled.status,
        StatusCode::BAD_REQUEST,
        "{}",
        smuggled.body
    );
    assert!(smuggled.json()["detail"]
        .as_str()
        .unwrap()
        .contains("no User"));
    let listed = app.scim("GET", "/Users", &a.token, None).await.json();
    assert_eq!(listed["totalResults"], json!(0));
    // B's address pushed through A's token: not at A's verified domains.
    let stranger = app
        .scim(
            "POST",
            "/Users",
            &a.token,
            Some(new_user("eve@sync-b.example")),
        )
        .await;
    assert_eq!(
        stranger.status,
        StatusCode::BAD_REQUEST,
        "{}",
        stranger.body
    );
    assert_eq!(stranger.json()["scimType"], json!("invalidValue"));
    assert!(stranger.json()["detail"]
        .as_str()
        .unwrap()
        .contains("sync-a.example"));
    let unverified = app
        .scim("POST", "/Users", &a.token, Some(new_user("eve@gmail.com")))
        .await;
    assert_eq!(unverified.status, StatusCode::BAD_REQUEST);
    assert!(user::Entity::find()
        .filter(user::Column::Email.eq("eve@gmail.com"))
        .one(&app.db)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_revoked_or_forged_token_is_refused() {
    let app = spawn_app().await;
    let Synced {
        owner, org, token, ..
    } = synced(&app, "sync-revoke.example").await;
    assert_eq!(
        app.scim("GET", "/Users", &token, None).await.status,
        StatusCode::OK
    );
    let view: Option<app::directory_sync::api::DirectorySyncView> = app
        .call_json("/api/directory_sync/view", &[], Some(&owner))
        .await;
    let id = view.unwrap().tokens[0].id.to_string();
    let revoked = app
        .send(
            crate::common::http::Call::post(
                "/api/directory_sync/revoke_token",
                &[("organization_id", org.as_str()), ("token_id", id.as_str())],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    let refused = app.scim("GET", "/Users", &token, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.headers.get("www-authenticate").unwrap(),
        "Bearer realm=\"scim\""
    );
    // A token with one character changed fails its checksum before any lookup.
    let mut forged = token.clone();
    forged.replace_range(10..11, if &token[10..11] == "a" { "b" } else { "a" });
    assert_eq!(
        app.scim("GET", "/Users", &forged, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.scim("GET", "/Users", "", None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // An API key is not a directory sync token.
    let key = app
        .create_api_key(&owner, &org, "Not SCIM", &["view_organization"])
        .await;
    assert_eq!(
        app.scim("GET", "/Users", &key, None).await.status,
        StatusCode::UNAUTHORIZED
    );
    // Two live tokens at most.
    app.scim_token(&owner, &org).await;
    app.scim_token(&owner, &org).await;
    let third = app.try_scim_token(&owner, &org).await;
    assert_eq!(third.status, StatusCode::FORBIDDEN, "{}", third.body);
}

#[tokio::test]
async fn a_token_needs_single_sign_on_on() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "No SSO").await;
    let refused = app.try_scim_token(&owner, &org).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("single sign-on"), "{}", refused.body);
    let Synced {
        owner, org, token, ..
    } = synced(&app, "sync-sso-off.example").await;
    // Turning SSO off pauses sync.
    let off = app.set_sso_enabled(&owner, &org, false).await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    let paused = app.scim("GET", "/Users", &token, None).await;
    assert_eq!(paused.status, StatusCode::FORBIDDEN, "{}", paused.body);
}

async fn group(app: &TestApp, token: &str, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    let made = app
        .scim(
            "POST",
            "/Groups",
            token,
            Some(json!({"schemas": [GROUP], "displayName": name, "members": members})),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.body);
    made.json()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn mapped_groups_decide_roles_and_the_dashboard_defers_to_them() {
    let app = spawn_app().await;
    let Synced {
        owner,
        org,
        token,
        domain,
    } = synced(&app, "sync-roles.example").await;
    let ann = format!("ann@{domain}");
    let ben = format!("ben@{domain}");
    let ann_id = provision(&app, &token, &ann).await;
    let ben_id = provision(&app, &token, &ben).await;
    let admins = group(&app, &token, "Org Admins", &[&ann_id]).await;
    // Unmapped: the group changes nothing.
    assert_eq!(role_of(&app, &ann, &org).await, Some(Role::Member));
    let mapped = app.map_group(&owner, &org, &admins, "admin").await;
    assert_eq!(mapped.status, StatusCode::OK, "{}", mapped.body);
    assert_eq!(role_of(&app, &ann, &org).await, Some(Role::Admin));
    assert_eq!(role_of(&app, &ben, &org).await, Some(Role::Member));
    // Ben joins the group through a PATCH: his role follows in the same request.
    let joined = app
        .scim(
            "PATCH",
            &format!("/Groups/{admins}"),
            &token,
            Some(patch(
                json!([{"op": "Add", "path": "members", "value": [{"value": ben_id}]}]),
            )),
        )
        .await;
    assert_eq!(joined.status, StatusCode::OK, "{}", joined.body);
    assert_eq!(role_of(&app, &ben, &org).await, Some(Role::Admin));
    // The dashboard refuses to change a directory-managed role, naming the group.
    let ben_membership = {
        let account = user::Entity::find()
            .filter(user::Column::Email.eq(ben.as_str()))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        membership::Entity::find()
            .filter(membership::Column::UserId.eq(account.id))
            .one(&app.db)
            .await
            .unwrap()
            .unwrap()
    };
    let edit = app
        .send(
            crate::common::http::Call::post(
                "/api/members/change_role",
                &[
                    ("organization_id", org.as_str()),
                    ("membership_id", &ben_membership.id.to_string()),
                    ("role", "member"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN, "{}", edit.body);
    assert!(edit.body.contains("Org Admins"), "{}", edit.body);
    assert_eq!(role_of(&app, &ben, &org).await, Some(Role::Admin));
    // Removing Ben from the group (Entra's filter form) makes him a member again.
    let left = app
        .scim(
            "PATCH",
            &format!("/Groups/{admins}"),
            &token,
            Some(patch(
                json!([{"op": "Remove", "path": format!("members[value eq \"{ben_id}\"]")}]),
            )),
        )
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    let after = app
        .scim("GET", &format!("/Groups/{admins}"), &token, None)
        .await
        .json();
    assert_eq!(after["members"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(role_of(&app, &ben, &org).await, Some(Role::Member));
    let changes = events(&app, EventKind::RoleChanged).await;
    assert!(changes
        .iter()
        .all(|e| e.actor_kind == ActorKind::DirectorySync));
    assert_eq!(changes.len(), 3);
    // With the only mapped group deleted, roles are the dashboard's again: Ann keeps
    // hers until an owner changes it, which is allowed now.
    let deleted = app
        .scim("DELETE", &format!("/Groups/{admins}"), &token, None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(role_of(&app, &ann, &org).await, Some(Role::Admin));
    let edit = app
        .send(
            crate::common::http::Call::post(
                "/api/members/change_role",
                &[
                    ("organization_id", org.as_str()),
                    ("membership_id", &ben_membership.id.to_string()),
                    ("role", "admin"),
                ],
            )
            .session(&owner),
        )
        .await;
    assert_eq!(edit.status, StatusCode::OK, "{}", edit.body);
    assert_eq!(role_of(&app, &ben, &org).await, Some(Role::Admin));
}

#[tokio::test]
async fn a_sync_never_removes_or_demotes_the_last_owner() {
    let app = spawn_app().await;
    let Synced {
        owner, org, token, ..
    } = synced(&app, "sync-owner.example").await;
    // The owner's own address is provisioned: linked to their account, still owner.
    let owner_email = user::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.email.ends_with("@sync-owner.example"))
        .unwrap()
        .email;
    let owner_id = provision(&app, &token, &owner_email).await;
    assert_eq!(role_of(&app, &owner_email, &org).await, Some(Role::Owner));
    let owners = group(&app, &token, "Owners", &[&owner_id]).await;
    let mapped = app.map_group(&owner, &org, &owners, "owner").await;
    assert_eq!(mapped.status, StatusCode::OK, "{}", mapped.body);
    // The provider drops the owner from the group: that would demote the last owner.
    let demote = app
        .scim(
            "PATCH",
            &format!("/Groups/{owners}"),
            &token,
            Some(patch(json!([{"op": "remove", "path": "members"}]))),
        )
        .await;
    assert_eq!(demote.status, StatusCode::CONFLICT, "{}", demote.body);
    assert!(demote.json()["detail"]
        .as_str()
        .unwrap()
        .contains("last owner"));
    // Nothing of the request stuck: still in the group, still owner.
    assert_eq!(role_of(&app, &owner_email, &org).await, Some(Role::Owner));
    let still = app
        .scim("GET", &format!("/Groups/{owners}"), &token, None)
        .await
        .json();
    assert_eq!(still["members"].as_array().unwrap().len(), 1);
    // Deactivating or deleting them is refused too.
    let off = app
        .scim(
            "PATCH",
            &format!("/Users/{owner_id}"),
            &token,
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        )
        .await;
    assert_eq!(off.status, StatusCode::CONFLICT, "{}", off.body);
    let delete = app
        .scim("DELETE", &format!("/Users/{owner_id}"), &token, None)
        .await;
    assert_eq!(delete.status, StatusCode::CONFLICT, "{}", delete.body);
    assert_eq!(role_of(&app, &owner_email, &org).await, Some(Role::Owner));
    // Each refusal is audited and the owners are told.
    let kept = events(&app, EventKind::LastOwnerKept).await;
    assert_eq!(kept.len(), 3);
    assert_eq!(kept[0].actor_kind, ActorKind::DirectorySync);
    let told = mail_outbox::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.subject.contains("last owner"))
        .count();
    assert_eq!(told, 3);
    // Mapping a group that would leave no owner is refused in the dashboard as well.
    let unmap = app.map_group(&owner, &org, &owners, "admin").await;
    assert_eq!(unmap.status, StatusCode::FORBIDDEN, "{}", unmap.body);
    assert_eq!(role_of(&app, &owner_email, &org).await, Some(Role::Owner));
}

#[tokio::test]
async fn expensive_or_malformed_filters_are_refused() {
    let app = spawn_app().await;
    let Synced { token, .. } = synced(&app, "sync-filter.example").await;
    let long = format!("userName%20eq%20%22{}%22", "a".repeat(10_000));
    let deep = format!("{}userName%20pr{}", "(".repeat(100), ")".repeat(100));
    for (filter, what) in [
        (long.as_str(), "longer than"),
        (deep.as_str(), "nests"),
        ("userName%20equals%20%22x%22", "character"),
        ("password%20eq%20%22x%22", "password"),
    ] {
        let reply = app
            .scim("GET", &format!("/Users?filter={filter}"), &token, None)
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["scimType"], json!("invalidFilter"));
        assert!(body["detail"].as_str().unwrap().contains(what), "{body}");
    }
}

#[tokio::test]
async fn filters_select_and_pages_count() {
    let app = spawn_app().await;
    let Synced { token, domain, .. } = synced(&app, "sync-list.example").await;
    for name in ["amy", "bob", "cal", "dee", "eli"] {
        provision(&app, &token, &format!("{name}@{domain}")).await;
    }
    let get = |query: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let reply = app
                .scim("GET", &format!("/Users?{query}"), &token, None)
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.body);
            reply.json()
        }
    };
    let some = get("filter=userName%20sw%20%22b%22%20or%20userName%20sw%20%22d%22".into()).await;
    assert_eq!(some["totalResults"], json!(2));
    let not = get("filter=not%20(userName%20sw%20%22a%22)%20and%20active%20eq%20true".into()).await;
    assert_eq!(not["totalResults"], json!(4));
    let valued =
        get("filter=emails%5Btype%20eq%20%22work%22%20and%20value%20co%20%22cal%40%22%5D".into())
            .await;
    assert_eq!(valued["totalResults"], json!(1));
    let page =
        get("startIndex=2&count=2&sortBy=userName&sortOrder=descending&attributes=userName".into())
            .await;
    assert_eq!(page["totalResults"], json!(5));
    assert_eq!(page["startIndex"], json!(2));
    let names: Vec<&str> = page["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap())
        .collect();
    assert_eq!(names, [format!("dee@{domain}"), format!("cal@{domain}")]);
    assert!(
        page["Resources"][0].get("emails").is_none(),
        "only the asked attributes"
    );
    assert!(page["Resources"][0].get("id").is_some());
}

#[tokio::test]
async fn parallel_group_patches_lose_no_member() {
    let app = spawn_app().await;
    let Synced { token, domain, .. } = synced(&app, "sync-parallel.example").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(provision(&app, &token, &format!("p{i}@{domain}")).await);
    }
    let team = group(&app, &token, "Everyone", &[]).await;
    let team_path = format!("/Groups/{team}");
    let sends = ids.chunks(2).map(|pair| {
        let members: Vec<Value> = pair.iter().map(|id| json!({"value": id})).collect();
        app.scim(
            "PATCH",
            &team_path,
            &token,
            Some(patch(
                json!([{"op": "add", "path": "members", "value": members}]),
            )),
        )
    });
    for reply in futures::future::join_all(sends).await {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let read = app
        .scim("GET", &format!("/Groups/{team}"), &token, None)
        .await
        .json();
    assert_eq!(read["members"].as_array().unwrap().len(), 20);
    // And a batch of 150 in one PATCH (Entra sends large groups in batches).
    let mut many = Vec::new();
    for i in 0..150 {
        many.push(provision(&app, &token, &format!("m{i}@{domain}")).await);
    }
    let batch: Vec<Value> = many.iter().map(|id| json!({"value": id})).collect();
    let added = app
        .scim(
            "PATCH",
            &format!("/Groups/{team}"),
            &token,
            Some(patch(
                json!([{"op": "Add", "path": "members", "value": batch}]),
            )),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let counted = app
        .scim(
            "GET",
            "/Groups?filter=displayName%20eq%20%22everyone%22",
            &token,
            None,
        )
        .await
        .json();
    assert_eq!(
        counted["Resources"][0]["members"].as_array().unwrap().len(),
        170
    );
}

#[tokio::test]
async fn discovery_says_what_is_supported() {
    let app = spawn_app().await;
    let Synced { token, .. } = synced(&app, "sync-discovery.example").await;
    let config = app
        .scim("GET", "/ServiceProviderConfig", &token, None)
        .await
        .json();
    assert_eq!(config["patch"]["supported"], json!(true));
    assert_eq!(config["bulk"]["supported"], json!(false));
    assert_eq!(config["filter"]["supported"], json!(true));
    let types = app.scim("GET", "/ResourceTypes", &token, None).await.json();
    assert_eq!(types["totalResults"], json!(2));
    let user_schema = app
        .scim("GET", &format!("/Schemas/{USER}"), &token, None)
        .await;
    assert_eq!(user_schema.status, StatusCode::OK);
    assert_eq!(user_schema.json()["id"], json!(USER));
    let group_type = app.scim("GET", "/ResourceTypes/Group", &token, None).await;
    assert_eq!(group_type.json()["endpoint"], json!("/Groups"));
    let unknown = app
        .scim("GET", "/Schemas/urn:example:nothing", &token, None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bulk = app.scim("POST", "/Bulk", &token, Some(json!({}))).await;
    assert_eq!(bulk.status, StatusCode::NOT_IMPLEMENTED);
    let junk = app
        .api_raw(
            "POST",
            "/scim/v2/Users",
            &token,
            "application/scim+json",
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(junk.status, StatusCode::BAD_REQUEST);
    assert_eq!(junk.json()["scimType"], json!("invalidSyntax"));
}

/// The conformance suite `scim2-tester` (PyPI, run through `scim2-cli`, installed in
/// `target/scim-venv` by `scripts/install-tools.sh --test`) against this server on a real
/// socket: every check must pass. The suite fills attributes with random values; it is told
/// (as its schemas' canonical values) what addresses this organization accepts, since an
/// address outside the verified domains is refused by design. Its randomness is seeded, so
/// a run is repeatable.
#[tokio::test]
async fn the_scim2_tester_conformance_suite_passes_every_check() {
    let python =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/scim-venv/bin/python3");
    if !python.exists() {
        eprintln!(
            "skipped: scim2-tester is not installed here (scripts/install-tools.sh --test puts it in target/scim-venv)"
        );
        return;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut app = spawn_app().await;
    let Synced { token, domain, .. } = synced(&app, "sync-conformance.example").await;
    // The same database, now reached at the socket's address (the suite follows the
    // resources' locations).
    app.restart_with(|config| config.public_url = base.clone())
        .await
        .unwrap();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    // The server's schemas, with the addresses it accepts as canonical values.
    let mut schemas = app.scim("GET", "/Schemas", &token, None).await.json()["Resources"].clone();
    let addresses: Vec<String> = (0..5000).map(|i| format!("person{i}@{domain}")).collect();
    for schema in schemas.as_array_mut().unwrap() {
        for attribute in schema["attributes"].as_array_mut().unwrap() {
            if attribute["name"] == "userName" {
                attribute["canonicalValues"] = json!(addresses);
            }
            if attribute["name"] == "emails" {
                for sub in attribute["subAttributes"].as_array_mut().unwrap() {
                    if sub["name"] == "value" {
                        sub["canonicalValues"] = json!(addresses);
                    }
                }
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let schemas_file = dir.path().join("schemas.json");
    std::fs::write(&schemas_file, schemas.to_string()).unwrap();
    let seed = std::env::var("SCIM_TESTER_SEED").unwrap_or_else(|_| "20261205".into());
    let script = format!(
        "import random, sys\nrandom.seed({seed})\nfrom scim2_cli import cli\nsys.exit(cli())"
    );
    let mut command = std::process::Command::new(&python);
    command
        .arg("-c")
        .arg(&script)
        .args(["--url", &format!("{base}/scim/v2")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--schemas", schemas_file.to_str().unwrap()])
        .args(["test", "--verbose"]);
    // On a blocking thread: this test's runtime keeps serving the suite's requests.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(output.status.success(), "scim2-tester failed:\n{report}");
}
