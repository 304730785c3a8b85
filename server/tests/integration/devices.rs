//! Targeted lockout: strangers failing at an account from everywhere (an IPv6 block gives a
//! fresh address per guess) must not lock its owner out of the browsers they use, and each
//! stranger's next guess waits twice as long as the last.

use crate::common::{spawn_app, Call, Reply, TestApp, PASSWORD};
use app::{
    accounts::service::{authenticate, SignInRequest, ATTEMPTS_BEFORE_BACKOFF},
    error::AppError,
    server::{
        entities::known_device,
        session::{SignInMethod, SignInOrigin},
    },
};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn log_in_from(
    app: &TestApp,
    email: &str,
    password: &str,
    client: &str,
    device: Option<&str>,
) -> Reply {
    let mut call = Call::post(
        "/api/accounts/log_in",
        &[("email", email), ("password", password)],
    )
    .client_at(client);
    if let Some(device) = device {
        call = call.header("cookie", &format!("orgdesk_device={device}"));
    }
    app.send(call).await
}

/// Wrong passwords for `email` from 100 addresses, as a botnet would send them.
async fn strangers_fail_at(app: &TestApp, email: &str) {
    for i in 0..100 {
        let reply = log_in_from(
            app,
            email,
            "not-the-password",
            &format!("10.9.{}.{}", i / 250, i % 250 + 1),
            None,
        )
        .await;
        assert_ne!(reply.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn strangers_lock_an_account_for_unknown_browsers_but_not_for_its_owners_own() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let first = log_in_from(&app, "ada@example.com", PASSWORD, "192.0.2.10", None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let device = first
        .device_cookie()
        .expect("a right password makes the browser known");
    // A known browser is told nothing new the next time.
    let again = log_in_from(
        &app,
        "ada@example.com",
        PASSWORD,
        "192.0.2.10",
        Some(&device),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.device_cookie(), None);

    strangers_fail_at(&app, "ada@example.com").await;

    // A new browser, even with the right password and a clean address, waits...
    let stranger = log_in_from(&app, "ada@example.com", PASSWORD, "198.51.100.20", None).await;
    assert!(
        matches!(stranger.error(), AppError::TooManyAttempts(_)),
        "{}",
        stranger.body
    );
    assert!(stranger.session_cookie().is_none());
    // ...while Ada's own browser signs in, from wherever she is.
    let ada = log_in_from(
        &app,
        "ada@example.com",
        PASSWORD,
        "203.0.113.30",
        Some(&device),
    )
    .await;
    assert_eq!(ada.status, StatusCode::OK, "{}", ada.body);
    assert!(ada.session_cookie().is_some());
}

#[tokio::test]
async fn a_device_cookie_counts_only_for_its_own_account_and_is_itself_limited() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    app.sign_up("Bob", "bob@example.com").await;
    let bob = log_in_from(&app, "bob@example.com", PASSWORD, "192.0.2.11", None).await;
    let bobs_device = bob.device_cookie().expect("Bob's browser is known");

    // Bob's (or a thief's copy of Bob's) cookie is a stranger's at Ada's account.
    strangers_fail_at(&app, "ada@example.com").await;
    let borrowed = log_in_from(
        &app,
        "ada@example.com",
        PASSWORD,
        "192.0.2.11",
        Some(&bobs_device),
    )
    .await;
    assert!(matches!(borrowed.error(), AppError::TooManyAttempts(_)));

    // A known device guesses no faster than a stranger's browser first does.
    for _ in 0..5 {
        let wrong = log_in_from(
            &app,
            "bob@example.com",
            "guess",
            "192.0.2.12",
            Some(&bobs_device),
        )
        .await;
        assert!(
            wrong.error().message_for("password").is_some(),
            "{}",
            wrong.body
        );
    }
    let sixth = log_in_from(
        &app,
        "bob@example.com",
        PASSWORD,
        "192.0.2.13",
        Some(&bobs_device),
    )
    .await;
    assert!(matches!(sixth.error(), AppError::TooManyAttempts(_)));
}

#[tokio::test]
async fn a_password_reset_forgets_every_known_browser() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let first = log_in_from(&app, "ada@example.com", PASSWORD, "192.0.2.10", None).await;
    first.device_cookie().expect("known");
    let ada = app.user_id(&first.session_cookie().unwrap()).await;
    let known = || {
        known_device::Entity::find()
            .filter(known_device::Column::UserId.eq(ada))
            .count(&app.db)
    };
    assert_eq!(
        known().await.unwrap(),
        2,
        "the browser that confirmed the address, and this one"
    );

    let asked = app
        .send(Call::post(
            "/api/accounts/request_password_reset",
            &[("email", "ada@example.com")],
        ))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let token = app.mailed_token("ada@example.com", "/reset-password").await;
    let reset = app
        .send(Call::post(
            "/api/accounts/reset_password",
            &[
                ("token", &token),
                ("new_password", "a whole new passphrase 42"),
            ],
        ))
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    assert_eq!(
        known().await.unwrap(),
        0,
        "a browser that knew the old password is a stranger"
    );
}

/// The back-off itself, at the service with a clock of its own: after the free attempts,
/// each waits 1 s, 2 s, 4 s after the last failure; a refused attempt does not count.
#[tokio::test]
async fn unknown_browsers_back_off_exponentially() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let state = &app.state.app;
    let start = Utc::now();
    let attempt = |at: chrono::DateTime<Utc>, client: u8| async move {
        let origin = SignInOrigin {
            throttle_address: Some(format!("10.1.2.{client}").parse().unwrap()),
            ..SignInOrigin::new(SignInMethod::Password, &Default::default(), None)
        };
        authenticate(
            state,
            "ada@example.com",
            "wrong".into(),
            SignInRequest {
                device: None,
                previous_session: None,
                next: None,
                origin: &origin,
            },
            at,
        )
        .await
        .err()
        .expect("a wrong password never signs in")
    };
    let refused = |err: &AppError| matches!(err, AppError::TooManyAttempts(_));
    for i in 0..ATTEMPTS_BEFORE_BACKOFF {
        let err = attempt(start, i as u8 + 1).await;
        assert!(!refused(&err), "free attempt {i}: {err:?}");
    }
    let mut last = start;
    for wait in [1, 2, 4, 8] {
        let early = attempt(last + Duration::milliseconds(wait * 1000 - 500), 50).await;
        match &early {
            AppError::TooManyAttempts(message) => assert!(message.contains("second"), "{message}"),
            other => panic!("{wait} s had not passed: {other:?}"),
        }
        last += Duration::seconds(wait);
        let on_time = attempt(last, 60 + wait as u8).await;
        assert!(!refused(&on_time), "after {wait} s: {on_time:?}");
    }
}
