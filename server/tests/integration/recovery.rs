//! "Forgot password?" through the real router and database, written as the attacks it must
//! withstand: probing which addresses have accounts, reusing or outliving a link, keeping a
//! session after the owner took the account back, and flooding a mailbox.

use crate::common::{spawn_app, Call, TestApp, PASSWORD};
use app::{
    error::AppError,
    server::entities::{mail_outbox, password_reset, session, user},
};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn request_reset(app: &TestApp, email: &str) -> crate::common::Reply {
    app.send(
        Call::post("/api/accounts/request_password_reset", &[("email", email)])
            .client_at("198.51.100.7"),
    )
    .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> crate::common::Reply {
    app.send(Call::post(
        "/api/accounts/reset_password",
        &[("token", token), ("new_password", password)],
    ))
    .await
}

async fn mails_to(app: &TestApp, email: &str) -> Vec<mail_outbox::Model> {
    mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.eq(email))
        .all(&app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_answer_is_the_same_whether_or_not_an_account_exists() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let known = request_reset(&app, "Ada@Example.com").await;
    let unknown = request_reset(&app, "nobody@example.com").await;
    assert_eq!(known.status, StatusCode::OK, "{}", known.body);
    assert_eq!(
        (known.status, known.location(), &known.body),
        (unknown.status, unknown.location(), &unknown.body)
    );
    assert_eq!(known.location(), Some("/forgot-password?sent=1"));
    assert!(mails_to(&app, "ada@example.com")
        .await
        .iter()
        .any(|m| m.subject == "Reset your Orgdesk password"));
    assert!(mails_to(&app, "nobody@example.com").await.is_empty());
    // A malformed address is a field error, for everyone alike.
    let bad = request_reset(&app, "not an address").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!bad.field_error("email").is_empty());
}

#[tokio::test]
async fn a_reset_link_works_once_for_an_hour_and_is_stored_only_hashed() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    request_reset(&app, "ada@example.com").await;
    let token = app.mailed_token("ada@example.com", "/reset-password").await;
    assert_eq!(token.len(), 64, "256 bits, hex");
    let stored = password_reset::Entity::find()
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.token_hash, app::server::tokens::hash_token(&token));
    assert!(stored.expires_at <= Utc::now() + Duration::hours(1));

    // Opening the page changes nothing.
    let page = app
        .get(&format!("/reset-password?token={token}"), None)
        .await;
    assert!(page.body.contains("ada@example.com") && page.body.contains("Set password"));
    assert_eq!(
        password_reset::Entity::find().count(&app.db).await.unwrap(),
        1
    );

    // The same rules as sign-up.
    let weak = reset(&app, &token, "password1").await;
    assert!(weak
        .field_error("new_password")
        .contains("most commonly used"));
    let done = reset(&app, &token, "a fresh passphrase").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.redirected_to(), Some("/settings?saved=password-reset"));
    assert!(done.session_cookie().is_some(), "this browser is signed in");
    assert!(app
        .log_in("ada@example.com", "a fresh passphrase")
        .await
        .session_cookie()
        .is_some());
    assert!(app
        .log_in("ada@example.com", PASSWORD)
        .await
        .session_cookie()
        .is_none());

    let again = reset(&app, &token, "another fresh passphrase").await;
    assert!(matches!(again.error(), AppError::Forbidden(m) if m.contains("not valid")));

    // A new link, an hour and a minute old, has expired.
    request_reset(&app, "ada@example.com").await;
    let late = app.mailed_token("ada@example.com", "/reset-password").await;
    password_reset::Entity::update_many()
        .col_expr(
            password_reset::Column::ExpiresAt,
            Expr::value(Utc::now() - Duration::minutes(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let expired = reset(&app, &late, "yet another passphrase").await;
    assert!(matches!(expired.error(), AppError::Forbidden(m) if m.contains("expired")));
}

#[tokio::test]
async fn a_reset_ends_every_session_and_mails_a_notice() {
    let app = spawn_app().await;
    let first = app.sign_up("Ada", "ada@example.com").await;
    let second = app
        .log_in("ada@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    request_reset(&app, "ada@example.com").await;
    let token = app.mailed_token("ada@example.com", "/reset-password").await;
    let done = reset(&app, &token, "a fresh passphrase").await;
    let fresh = done.session_cookie().unwrap();
    for old in [&first, &second] {
        let reply = app
            .send(Call::post("/api/accounts/current_user", &[]).session(old))
            .await;
        assert_eq!(reply.body, "null", "an old session survived the reset");
    }
    let rows = session::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].sign_in_method,
        app::accounts::rules::SignInMethod::Reset
    );
    assert_eq!(rows[0].token_hash, app::server::tokens::hash_token(&fresh));
    assert!(mails_to(&app, "ada@example.com")
        .await
        .iter()
        .any(|m| m.subject == "Your Orgdesk password was changed"));
}

#[tokio::test]
async fn reset_requests_are_throttled_per_address_and_per_client() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(
            request_reset(&app, "ada@example.com").await.status,
            StatusCode::OK
        );
    }
    let flooded = request_reset(&app, "ada@example.com").await;
    assert_eq!(flooded.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(matches!(flooded.error(), AppError::TooManyAttempts(m) if m.contains("minute")));
    let resets = mails_to(&app, "ada@example.com")
        .await
        .into_iter()
        .filter(|m| m.subject.contains("Reset"))
        .count();
    assert_eq!(resets, 3, "the mailbox gets no more");

    // One client asking for many addresses is stopped too (3 counted above).
    let mut last = StatusCode::OK;
    for n in 0..8 {
        last = request_reset(&app, &format!("someone{n}@example.com"))
            .await
            .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_reset_reclaims_an_address_someone_else_signed_up_with() {
    let app = spawn_app().await;
    let squatter = app.sign_up("Not Ada", "ada@example.com").await;
    request_reset(&app, "ada@example.com").await;
    let token = app.mailed_token("ada@example.com", "/reset-password").await;
    reset(&app, &token, "the real ada speaking").await;
    let ada = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert!(
        ada.email_verified_at.is_some(),
        "the link proved the mailbox"
    );
    let out = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&squatter))
        .await;
    assert_eq!(out.body, "null", "the squatter is signed out");
}

#[tokio::test]
async fn users_of_a_verified_sso_domain_are_sent_to_their_company_sign_in() {
    let app = spawn_app().await;
    let domain = format!("sso-{:08x}.test", rand::random::<u32>());
    app.sso_organization(&domain).await;
    let refused = request_reset(&app, &format!("pat@{domain}")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.field_error("email").contains("Test IdP"));
}
