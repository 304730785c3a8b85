//! The audit log as an attacker would like to read it: a member who names themselves
//! "Orgdesk" must not pass for Orgdesk, before or after their account is deleted.

use crate::common::{spawn_app, Call, TestApp};
use app::{
    audit::{
        events::AuditPage,
        events::{ActorKind, EventKind, DELETED_ACCOUNT},
    },
    members::roles::Role,
    server::entities::user,
};
use axum::http::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

async fn log(app: &TestApp, owner: &str) -> AuditPage {
    app.call_json::<Option<AuditPage>>(
        "/api/audit/list",
        &[("kind", ""), ("page", "1")],
        Some(owner),
    )
    .await
    .expect("the owner reads the log")
}

#[tokio::test]
async fn system_events_are_marked_and_a_deleted_account_never_shows_its_chosen_name() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let impostor = app.sign_up("Orgdesk", "mallory@example.com").await;
    app.join(&impostor, &org, Role::Member).await;
    let left = app
        .send(Call::post("/api/members/leave", &[("organization_id", &org)]).session(&impostor))
        .await;
    assert_eq!(left.status, StatusCode::OK, "leave: {}", left.body);
    // Staff verify a domain: an event no member caused.
    server::staff::verify_domain(&app.db, &org, "acme-audit.example")
        .await
        .unwrap();

    let page = log(&app, &owner).await;
    let left_row = page
        .events
        .iter()
        .find(|e| e.kind == EventKind::Left)
        .expect("the leave is logged");
    assert_eq!(left_row.actor_kind, ActorKind::User);
    // While the account lives, the log names it by its address, not its chosen name.
    assert_eq!(left_row.by(), "mallory@example.com");
    let staff_row = page
        .events
        .iter()
        .find(|e| e.kind == EventKind::DomainVerified)
        .expect("the staff verification is logged");
    assert_eq!(staff_row.actor_kind, ActorKind::Staff);
    assert_eq!(staff_row.by(), "Platform staff (system)");

    // The account goes (its foreign key keeps the event, without an actor).
    user::Entity::delete_many()
        .filter(user::Column::EmailNormalized.eq("mallory@example.com"))
        .exec(&app.db)
        .await
        .unwrap();
    let page = log(&app, &owner).await;
    let left_row = page
        .events
        .iter()
        .find(|e| e.kind == EventKind::Left)
        .expect("the event stays");
    assert_eq!(left_row.actor_name, DELETED_ACCOUNT);
    assert_eq!(left_row.by(), DELETED_ACCOUNT);
    assert!(
        left_row.describe().starts_with(DELETED_ACCOUNT),
        "{}",
        left_row.describe()
    );
    assert!(
        page.events
            .iter()
            .all(|e| e.actor_kind != ActorKind::User || !e.by().contains("Orgdesk")),
        "no member's row reads as Orgdesk"
    );
}
