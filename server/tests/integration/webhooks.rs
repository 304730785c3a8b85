//! Webhooks as an owner sets them up and as a receiver (and an attacker) sees them: events
//! written with the change, signed (checked with the independent `standardwebhooks`
//! crate), retried, stopped by a 410, disabled after days of failures, never sent twice by
//! two processes, never sent into the server's own network.

use std::collections::HashMap;

use crate::common::{spawn_app, spawn_app_with, webhooks::Receiver, TestApp};
use app::{
    audit::events::EventKind,
    members::roles::Role,
    server::entities::{
        audit_event, mail_outbox,
        webhook_delivery::{self, DeliveryStatus},
        webhook_endpoint::{self, DisabledReason},
    },
};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

struct Owner {
    session: String,
    org: String,
}

async fn owner(app: &TestApp) -> Owner {
    let session = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&session, "Acme").await;
    Owner { session, org }
}

/// Adds an endpoint at the receiver and returns its ID and its secret (read once).
async fn endpoint(app: &TestApp, owner: &Owner, url: &str, events: &[&str]) -> (i32, String) {
    let added = app
        .add_webhook(&owner.session, &owner.org, url, events)
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    let view = app.webhooks_view(&owner.session, None).await;
    let secret = view.new_secret.expect("the secret is shown once").secret;
    let id = view.endpoints.last().unwrap().id;
    (id, secret)
}

async fn invite(app: &TestApp, owner: &Owner, email: &str) {
    let reply = app
        .send(
            crate::common::http::Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", owner.org.as_str()),
                    ("email", email),
                    ("role", "member"),
                ],
            )
            .session(&owner.session),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

fn verify(secret: &str, received: &crate::common::webhooks::Received) -> serde_json::Value {
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(received.body.as_bytes(), &received.headers)
        .unwrap_or_else(|err| panic!("the signature does not verify: {err}"));
    serde_json::from_str(&received.body).unwrap()
}

#[tokio::test]
async fn events_are_signed_and_delivered_once_written_with_the_change() {
    let app = spawn_app().await;
    let owner = owner(&app).await;
    let receiver = Receiver::start().await;
    let (_, secret) = endpoint(
        &app,
        &owner,
        &receiver.url,
        &["invitation.created", "audit.event"],
    )
    .await;
    // The secret is shown once: dismissed, it is gone from the page.
    app.send(crate::common::http::Call::post("/api/webhooks/dismiss", &[]).session(&owner.session))
        .await;
    assert!(app
        .webhooks_view(&owner.session, None)
        .await
        .new_secret
        .is_none());

    invite(&app, &owner, "ivy@example.com").await;
    assert_eq!(app.deliver_webhooks(Utc::now()).await, 3);
    let received = receiver.all();
    // webhook_added (audit.event), then the invitation as both of its types.
    let types: Vec<String> = received
        .iter()
        .map(|r| verify(&secret, r)["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["audit.event", "invitation.created", "audit.event"]);
    let invited = verify(&secret, &received[1]);
    assert_eq!(invited["data"]["organization_id"], owner.org.as_str());
    assert_eq!(invited["data"]["audit_event"]["subject"], "ivy@example.com");
    assert_eq!(invited["data"]["audit_event"]["kind"], "invited");
    // A forged body does not verify with the real headers.
    let mut forged = received[1].clone();
    forged.body = forged.body.replace("ivy@", "eve@");
    assert!(standardwebhooks::Webhook::new(&secret)
        .unwrap()
        .verify(forged.body.as_bytes(), &forged.headers)
        .is_err());
    // Delivered once: the next run finds nothing.
    assert_eq!(app.deliver_webhooks(Utc::now()).await, 0);
    assert_eq!(receiver.all().len(), 3);

    // A change that fails writes no event: inviting the same address again is refused.
    let again = app
        .send(
            crate::common::http::Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", owner.org.as_str()),
                    ("email", "ivy@example.com"),
                    ("role", "member"),
                ],
            )
            .session(&owner.session),
        )
        .await;
    assert_ne!(again.status, StatusCode::OK);
    assert_eq!(app.deliver_webhooks(Utc::now()).await, 0);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_a_410_disables_the_endpoint() {
    let app = spawn_app().await;
    let owner = owner(&app).await;
    let receiver = Receiver::start().await;
    let (id, secret) = endpoint(&app, &owner, &receiver.url, &["invitation.created"]).await;
    receiver.answer(&[500]);
    invite(&app, &owner, "ivy@example.com").await;
    let now = Utc::now();
    assert_eq!(app.deliver_webhooks(now).await, 1);
    let delivery = webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.response_status, Some(500));
    assert_eq!(
        delivery.response_body.as_deref(),
        Some("thanks from the receiver")
    );
    // Not before its 5 seconds, then again, with the same webhook-id.
    assert_eq!(app.deliver_webhooks(now + Duration::seconds(2)).await, 0);
    assert_eq!(app.deliver_webhooks(now + Duration::seconds(6)).await, 1);
    let received = receiver.all();
    assert_eq!(received.len(), 2);
    assert_eq!(
        received[0].headers["webhook-id"],
        received[1].headers["webhook-id"]
    );
    verify(&secret, &received[1]);
    let delivered = webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Succeeded);
    assert_eq!(delivered.attempts, 2);

    // The log shows it; Redeliver sends the same message again.
    let log = app
        .webhooks_view(&owner.session, Some(id))
        .await
        .log
        .unwrap();
    assert_eq!(log.rows[0].status, "Succeeded");
    assert_eq!(log.rows[0].response_status, Some(200));
    let redelivered = app
        .send(
            crate::common::http::Call::post(
                "/api/webhooks/redeliver",
                &[
                    ("organization_id", owner.org.as_str()),
                    ("endpoint_id", &id.to_string()),
                    ("delivery_id", &delivered.id.to_string()),
                ],
            )
            .session(&owner.session),
        )
        .await;
    assert_eq!(redelivered.status, StatusCode::OK, "{}", redelivered.body);

    // 410: disabled at once, audited, and later events are not queued for it.
    receiver.answer(&[410]);
    assert_eq!(app.deliver_webhooks(Utc::now()).await, 1);
    assert_eq!(
        receiver.all()[2].headers["webhook-id"],
        received[0].headers["webhook-id"]
    );
    let gone = webhook_endpoint::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!gone.enabled);
    assert_eq!(gone.disabled_reason, Some(DisabledReason::Gone));
    let disabled_events = audit_event::Entity::find()
        .filter(audit_event::Column::Kind.eq(EventKind::WebhookDisabled))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(disabled_events, 1);
    invite(&app, &owner, "ian@example.com").await;
    assert_eq!(app.deliver_webhooks(Utc::now()).await, 0);
    assert_eq!(receiver.all().len(), 3);
}

#[tokio::test]
async fn three_days_of_failures_disable_the_endpoint_and_email_the_owners() {
    let app = spawn_app().await;
    let owner = owner(&app).await;
    let receiver = Receiver::start().await;
    let (id, _) = endpoint(&app, &owner, &receiver.url, &["invitation.created"]).await;
    receiver.answer(&[503; 20]);
    invite(&app, &owner, "ivy@example.com").await;
    let start = Utc::now();
    app.deliver_webhooks(start).await;
    app.deliver_webhooks(start + Duration::hours(1)).await;
    let failing = webhook_endpoint::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(failing.enabled && failing.failing_since.is_some());
    let mails_before = mail_outbox::Entity::find().count(&app.db).await.unwrap();
    app.deliver_webhooks(start + Duration::days(3) + Duration::hours(1))
        .await;
    let disabled = webhook_endpoint::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason, Some(DisabledReason::Failing));
    let notices = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq("olivia@example.com"))
        .filter(mail_outbox::Column::Subject.contains("webhook endpoint"))
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(notices.len(), 1, "{mails_before}");
    assert!(notices[0].text_body.contains(&receiver.url));
    // Enabled again by the owner, its failures are forgotten.
    let enabled = app
        .send(
            crate::common::http::Call::post(
                "/api/webhooks/set_enabled",
                &[
                    ("organization_id", owner.org.as_str()),
                    ("endpoint_id", &id.to_string()),
                    ("enabled", "true"),
                ],
            )
            .session(&owner.session),
        )
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    let back = webhook_endpoint::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(back.enabled && back.failing_since.is_none() && back.disabled_reason.is_none());
}

#[tokio::test]
async fn destinations_inside_the_network_are_refused() {
    let app = spawn_app_with(|config| config.private_webhook_destinations = false).await;
    let owner = owner(&app).await;
    for url in [
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:169.254.169.254]/hook",
        // A name that resolves to loopback.
        "https://localhost/hook",
        "http://hooks.example.com/plain",
        "https://user:password@hooks.example.com/",
        "file:///etc/passwd",
        "",
    ] {
        let reply = app
            .add_webhook(&owner.session, &owner.org, url, &["member.added"])
            .await;
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{url}: {}",
            reply.body
        );
        assert!(reply.body.contains("\"url\""), "{url}: {}", reply.body);
    }
    assert_eq!(
        webhook_endpoint::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );

    // An endpoint that got in anyway (added while the setting was on) is not contacted.
    let receiver = Receiver::start().await;
    let mut open = app.another_process().await;
    open.restart_with(|config| config.private_webhook_destinations = true)
        .await
        .unwrap();
    endpoint(&open, &owner, &receiver.url, &["invitation.created"]).await;
    invite(&app, &owner, "ivy@example.com").await;
    app.deliver_webhooks(Utc::now()).await;
    assert!(
        receiver.all().is_empty(),
        "the strict server posted to loopback"
    );
    let refused = webhook_delivery::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        refused
            .last_error
            .as_deref()
            .unwrap_or_default()
            .contains("Refused"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn two_processes_deliver_each_event_once() {
    let app = spawn_app().await;
    let owner = owner(&app).await;
    let receiver = Receiver::start().await;
    let (id, _) = endpoint(&app, &owner, &receiver.url, &["audit.event"]).await;
    for _ in 0..40 {
        let sent = app
            .send(
                crate::common::http::Call::post(
                    "/api/webhooks/test",
                    &[
                        ("organization_id", owner.org.as_str()),
                        ("endpoint_id", &id.to_string()),
                    ],
                )
                .session(&owner.session),
            )
            .await;
        assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    }
    let other = app.another_process().await;
    let now = Utc::now();
    let (a, b) = tokio::join!(app.deliver_webhooks(now), other.deliver_webhooks(now));
    assert_eq!(a + b, 41, "the added event and 40 tests");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for received in receiver.all() {
        let id = received.headers["webhook-id"].to_str().unwrap().to_string();
        *seen.entry(id).or_default() += 1;
    }
    assert_eq!(seen.len(), 41);
    assert!(seen.values().all(|n| *n == 1), "an event went twice");
}

#[tokio::test]
async fn a_rotated_secret_keeps_signing_for_a_day_beside_the_new_one() {
    let app = spawn_app().await;
    let owner = owner(&app).await;
    let receiver = Receiver::start().await;
    let (id, old) = endpoint(&app, &owner, &receiver.url, &["audit.event"]).await;
    let rotated = app
        .send(
            crate::common::http::Call::post(
                "/api/webhooks/rotate",
                &[
                    ("organization_id", owner.org.as_str()),
                    ("endpoint_id", &id.to_string()),
                ],
            )
            .session(&owner.session),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.body);
    let new = app
        .webhooks_view(&owner.session, None)
        .await
        .new_secret
        .unwrap()
        .secret;
    assert_ne!(new, old);
    app.deliver_webhooks(Utc::now()).await;
    let last = receiver.all().pop().unwrap();
    assert_eq!(
        last.headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    verify(&old, &last);
    verify(&new, &last);
}

#[tokio::test]
async fn only_owners_manage_webhooks_and_only_their_organizations() {
    let app = spawn_app().await;
    let owner = owner(&app).await;
    let receiver = Receiver::start().await;
    let (id, _) = endpoint(&app, &owner, &receiver.url, &["audit.event"]).await;
    let admin = app.sign_up("Adam Admin", "adam@example.com").await;
    app.join(&admin, &owner.org, Role::Admin).await;
    let by_admin = app
        .add_webhook(&admin, &owner.org, &receiver.url, &["audit.event"])
        .await;
    assert_eq!(by_admin.status, StatusCode::FORBIDDEN, "{}", by_admin.body);
    let admin_view = app.webhooks_view(&admin, None).await;
    assert!(!admin_view.can_manage && admin_view.endpoints.is_empty());

    // Another organization's owner, with Acme's endpoint ID.
    let oscar = app.sign_up("Oscar Outsider", "oscar@example.com").await;
    let elsewhere = app.create_organization(&oscar, "Elsewhere").await;
    for (path, extra) in [
        ("/api/webhooks/rotate", None),
        ("/api/webhooks/test", None),
        ("/api/webhooks/remove", None),
        ("/api/webhooks/set_enabled", Some(("enabled", "false"))),
    ] {
        let id = id.to_string();
        let mut form = vec![
            ("organization_id", elsewhere.as_str()),
            ("endpoint_id", id.as_str()),
        ];
        form.extend(extra);
        let reply = app
            .send(crate::common::http::Call::post(path, &form).session(&oscar))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{path}: {}",
            reply.body
        );
    }
    let still = webhook_endpoint::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert!(still.enabled);
    assert_eq!(
        webhook_delivery::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        1,
        "only the endpoint's own webhook_added event"
    );
    // The owner removes it; its log goes with it.
    let removed = app
        .send(
            crate::common::http::Call::post(
                "/api/webhooks/remove",
                &[
                    ("organization_id", owner.org.as_str()),
                    ("endpoint_id", &id.to_string()),
                ],
            )
            .session(&owner.session),
        )
        .await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.body);
    assert_eq!(
        webhook_delivery::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
}
