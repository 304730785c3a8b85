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

/// The audit log exported as CSV and JSON Lines: the whole filtered range, the owner's only,
/// with formulas in user-chosen names neutralized.
#[tokio::test]
async fn owners_export_the_filtered_log_as_csv_and_json_lines() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let admin = app.sign_up("=SUM(A1:A9)", "adam@example.com").await;
    app.join(&admin, &org, Role::Admin).await;
    // Thirty invitations by the admin.
    for i in 0..30 {
        let invited = app
            .send(
                Call::post(
                    "/api/invitations/invite",
                    &[
                        ("organization_id", &org),
                        ("email", &format!("person{i}@example.com")),
                        ("role", "member"),
                    ],
                )
                .session(&admin),
            )
            .await;
        assert_eq!(invited.status, StatusCode::OK, "{}", invited.body);
    }
    let oscar = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    app.create_organization(&oscar, "Elsewhere").await;

    let csv = app
        .get(
            "/access-control/audit/export?format=csv&kind=invited",
            Some(&owner),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(csv.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(csv.headers["cache-control"], "no-store");
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "time,kind,actor_kind,by,subject,role,event");
    assert_eq!(lines.len(), 31, "a header and every invitation");
    assert!(lines[1..].iter().all(|l| l.contains(",invited,")));
    // The admin's chosen name never reaches a cell as a formula.
    assert!(!csv.body.contains(",=SUM"), "{}", lines[1]);
    assert!(csv.body.contains("'=SUM"));
    assert!(!csv.body.contains("Oscar") && !csv.body.contains("Elsewhere"));

    let jsonl = app
        .get("/access-control/audit/export?format=jsonl", Some(&owner))
        .await;
    assert_eq!(jsonl.status, StatusCode::OK);
    let events: Vec<serde_json::Value> = jsonl
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 31, "created, and the thirty invitations");
    assert!(events
        .windows(2)
        .all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()));
    assert!(events.iter().any(|e| e["kind"] == "created"));

    // Filters: one actor, a day range that holds nothing.
    let by_owner = app
        .get(
            "/access-control/audit/export?format=jsonl&actor=olivia%40example.com",
            Some(&owner),
        )
        .await;
    assert!(by_owner
        .body
        .lines()
        .all(|l| l.contains("olivia@example.com")));
    let none = app
        .get(
            "/access-control/audit/export?format=jsonl&from=2001-01-01&to=2001-01-31",
            Some(&owner),
        )
        .await;
    assert_eq!(none.status, StatusCode::OK);
    assert!(none.body.is_empty());
    for (query, rule) in [
        ("format=xlsx", "Format must be csv or jsonl"),
        (
            "kind=dropped_tables",
            "Choose one of the listed event types",
        ),
        ("from=yesterday", "From must be a date"),
    ] {
        let refused = app
            .get(
                &format!("/access-control/audit/export?{query}"),
                Some(&owner),
            )
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(refused.body.contains(rule), "{query}: {}", refused.body);
    }

    // Admins and members read nothing; signed out goes to the login page.
    let by_admin = app
        .get("/access-control/audit/export?format=csv", Some(&admin))
        .await;
    assert_eq!(by_admin.status, StatusCode::FORBIDDEN);
    assert!(!by_admin.body.contains("person1@example.com"));
    let signed_out = app
        .get("/access-control/audit/export?format=csv", None)
        .await;
    assert!(signed_out.status.is_redirection(), "{}", signed_out.status);
    assert!(!signed_out.body.contains("person1@example.com"));
}

/// A log longer than one batch of the stream comes out whole, once, newest first.
#[tokio::test]
async fn a_long_log_is_exported_whole_across_batches() {
    use app::server::entities::{audit_event, organization};
    use sea_orm::Set;

    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let org_id = organization::Entity::find()
        .filter(organization::Column::PublicId.eq(org.as_str()))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let now = chrono::Utc::now();
    let rows = (0..1_234).map(|i| audit_event::ActiveModel {
        organization_id: Set(org_id),
        actor_id: Set(None),
        actor_name: Set("Orgdesk".into()),
        actor_kind: Set(ActorKind::System),
        kind: Set(EventKind::DomainUnverified),
        subject: Set(Some(format!("d{i}.example"))),
        created_at: Set(now),
        ..Default::default()
    });
    for chunk in rows.collect::<Vec<_>>().chunks(300) {
        audit_event::Entity::insert_many(chunk.to_vec())
            .exec(&app.db)
            .await
            .unwrap();
    }
    let export = app
        .get("/access-control/audit/export?format=jsonl", Some(&owner))
        .await;
    assert_eq!(export.status, StatusCode::OK);
    let ids: Vec<i64> = export
        .body
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert_eq!(ids.len(), 1_235, "created and the 1,234 inserted");
    assert!(
        ids.windows(2).all(|w| w[0] > w[1]),
        "newest first, none twice"
    );
}

#[tokio::test]
async fn the_audit_log_tab_filters_by_kind_actor_and_days_each_rule_named() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let mia = app.sign_up("Mia Member", "mia@example.com").await;
    app.join(&mia, &org, Role::Member).await;
    let left = app
        .send(Call::post("/api/members/leave", &[("organization_id", &org)]).session(&mia))
        .await;
    assert_eq!(left.status, StatusCode::OK, "{}", left.body);
    let list = |form: Vec<(&'static str, String)>| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let mut call = Call::post("/api/audit/list", &[]).session(&owner);
            call.form = form;
            app.send(call).await
        }
    };
    let read = |reply: crate::common::Reply| -> AuditPage {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        serde_json::from_str::<Option<AuditPage>>(&reply.body)
            .unwrap()
            .unwrap()
    };
    let today = chrono::Utc::now().date_naive().to_string();
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    let form = |kind: &str, actor: &str, from: &str, to: &str| {
        vec![
            ("kind", kind.to_string()),
            ("actor", actor.to_string()),
            ("from", from.to_string()),
            ("to", to.to_string()),
            ("page", "1".to_string()),
        ]
    };
    // By actor (an address): Mia's events only, her leaving among them.
    let by_mia = read(list(form("", "MIA@example.com", "", "")).await);
    assert!(!by_mia.events.is_empty());
    assert!(by_mia.events.iter().all(|e| e.by() == "mia@example.com"));
    assert!(by_mia.events.iter().any(|e| e.kind == EventKind::Left));
    // Today holds everything; tomorrow nothing.
    let all = read(list(form("", "", "", "")).await);
    let today_only = read(list(form("", "", &today, &today)).await);
    assert_eq!(today_only.total, all.total);
    assert_eq!(read(list(form("", "", &tomorrow, "")).await).total, 0);
    // Kind and actor together.
    let created = read(list(form("created", "olivia@example.com", "", "")).await);
    assert_eq!(created.total, 1);
    // Each broken rule names its field; several at once are all named.
    for (bad, field) in [
        (form("nonsense", "", "", ""), "kind"),
        (form("", &"x".repeat(255), "", ""), "actor"),
        (form("", "", "yesterday", ""), "from"),
        (form("", "", "", "2026-13-40"), "to"),
        (form("", "", &tomorrow, &today), "to"),
    ] {
        let reply = list(bad).await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field}: {}",
            reply.body
        );
        assert!(
            reply.body.contains(&format!("\"{field}\"")),
            "{field}: {}",
            reply.body
        );
    }
    // The export takes the same filters.
    let csv = app
        .get(
            &format!("/access-control/audit/export?format=csv&actor=mia%40example.com&from={today}&to={today}"),
            Some(&owner),
        )
        .await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 1 + by_mia.total as usize);
}
