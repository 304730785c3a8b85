//! The outbox and its worker against a real SMTP server (maildev): queued in the request,
//! retried while the server is down, delivered when it is back, kept across a restart, sent
//! once by concurrent workers; and the mail folder when no SMTP server is configured.

use crate::common::{
    maildev::{free_port, MailDev},
    spawn_app_with, Call, TestApp,
};
use app::{members::roles::Role, server::entities::mail_outbox};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{EntityTrait, PaginatorTrait};

async fn queued(app: &TestApp) -> Vec<mail_outbox::Model> {
    mail_outbox::Entity::find().all(&app.db).await.unwrap()
}

/// An owner (verified through the outbox, before any delivery) and their organization.
async fn owner(app: &TestApp) -> (String, String) {
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    (owner, org)
}

async fn invite(app: &TestApp, (owner, org): &(String, String), email: &str) {
    let reply = app
        .send(
            Call::post(
                "/api/invitations/invite",
                &[
                    ("organization_id", org),
                    ("email", email),
                    ("role", Role::Member.as_str()),
                ],
            )
            .session(owner),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

fn worker(app: &TestApp) -> server::mail::MailWorker {
    server::mail_worker(&app.state).expect("a mail worker")
}

#[tokio::test]
async fn mail_waits_while_smtp_is_down_and_is_delivered_when_it_is_back() {
    let port = free_port();
    let app = spawn_app_with(|c| c.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    let owner = owner(&app).await;
    invite(&app, &owner, "new@example.com").await;
    // The owner's verification email and the invitation.
    let waiting = queued(&app).await.len();
    assert_eq!(waiting, 2);

    // Nobody listens on the port: nothing is sent, nothing is lost.
    let now = Utc::now();
    let worker = worker(&app);
    assert_eq!(worker.deliver_due(now).await.unwrap(), 0);
    let after = queued(&app).await;
    assert_eq!(after.len(), waiting);
    for message in &after {
        assert_eq!(message.attempts, 1);
        assert!(message.last_error.is_some());
        assert!(message.next_attempt_at > now, "retried later, not at once");
        assert!(message.sent_at.is_none() && message.failed_at.is_none());
    }

    // The server comes up; the retry, when due, delivers everything.
    let maildev = MailDev::start(port).await;
    assert_eq!(worker.deliver_due(now).await.unwrap(), 0, "not due yet");
    let due = now + server::mail::backoff(1) + Duration::seconds(1);
    assert_eq!(worker.deliver_due(due).await.unwrap(), waiting);
    assert!(queued(&app).await.is_empty());

    let received = maildev.messages().await;
    assert_eq!(received.len(), waiting);
    let invitation = received
        .iter()
        .find(|m| m.to.iter().any(|a| a.address == "new@example.com"))
        .expect("the invitation arrived");
    assert_eq!(
        invitation.subject,
        "Olivia Owner invited you to join Acme on Orgdesk"
    );
    let text = invitation.text.as_deref().unwrap();
    assert!(text.contains("Olivia Owner (olivia@example.com) invited you to join Acme"));
    assert!(text.contains("http://localhost/invitation?token="));
    let html = invitation.html.as_deref().unwrap();
    assert!(html.contains(">Accept<"), "{html}");
    assert!(html.contains("href=\"http://localhost/invitation?token="));
}

#[tokio::test]
async fn queued_mail_survives_a_restart_and_concurrent_workers_send_it_once() {
    let port = free_port();
    let maildev = MailDev::start(port).await;
    let smtp = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(|c| c.smtp_url = Some(smtp.clone())).await;
    let owner = owner(&app).await;
    for i in 0..9 {
        invite(&app, &owner, &format!("p{i}@example.com")).await;
    }
    let waiting = mail_outbox::Entity::find().count(&app.db).await.unwrap() as usize;
    assert_eq!(waiting, 10);

    // "Restart": new server states on the same database, as two processes would have.
    let mut config = (*app.state.config).clone();
    config.smtp_url = Some(smtp);
    let first = server::state(config.clone()).await.unwrap();
    let second = server::state(config).await.unwrap();
    let (a, b) = (
        server::mail_worker(&first).unwrap(),
        server::mail_worker(&second).unwrap(),
    );
    let now = Utc::now();
    let (sent_a, sent_b) = tokio::join!(a.deliver_due(now), b.deliver_due(now));
    assert_eq!(sent_a.unwrap() + sent_b.unwrap(), waiting);
    assert_eq!(maildev.messages().await.len(), waiting, "each message once");
    assert!(queued(&app).await.is_empty());
}

#[tokio::test]
async fn without_smtp_mail_is_written_to_the_mail_folder() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("mail");
    let app = spawn_app_with(|c| {
        c.smtp_url = None;
        c.mail_dir = path.clone();
    })
    .await;
    app.sign_up_pending("Fay", "fay@example.com").await;
    assert_eq!(worker(&app).deliver_due(Utc::now()).await.unwrap(), 1);
    let files: Vec<_> = std::fs::read_dir(&path).unwrap().collect();
    assert_eq!(files.len(), 1);
    let written = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(written.contains("Subject: Confirm your email address for Orgdesk"));
    assert!(written.contains("To: fay@example.com"));
    assert!(queued(&app).await.is_empty());
}
