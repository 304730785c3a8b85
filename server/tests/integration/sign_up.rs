//! Signing up, written as the attacks on it: learning which addresses have accounts,
//! squatting an address, and a sign-up riding on someone's session.

use crate::common::{spawn_app, Call, Reply, TestApp, PASSWORD};
use crate::two_factor::subjects_to;
use app::{accounts::service::WRONG_EMAIL_OR_PASSWORD, server::entities::user};
use axum::http::{header, StatusCode};
use chrono::{Duration, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};

const TAKEN_NOTICE: &str = "Someone tried to create an Orgdesk account with your address";

async fn sign_up_form(app: &TestApp, email: &str, password: &str, session: Option<&str>) -> Reply {
    let call = Call::post(
        "/api/accounts/sign_up",
        &[
            ("name", "Mallory"),
            ("email", email),
            ("password", password),
        ],
    );
    app.send(match session {
        Some(session) => call.session(session),
        None => call,
    })
    .await
}

/// The cookies a reply sets, by name and value, without their attributes' order.
fn cookies(reply: &Reply) -> Vec<String> {
    let mut set: Vec<String> = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    set.sort();
    set
}

async fn account(app: &TestApp, email: &str) -> user::Model {
    user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(email))
        .one(&app.db)
        .await
        .unwrap()
        .expect("an account")
}

#[tokio::test]
async fn a_taken_address_is_answered_as_a_free_one_and_its_holder_is_told() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let before = account(&app, "ada@example.com").await;

    let taken = sign_up_form(&app, "ada@example.com", "another secret 42", None).await;
    let free = sign_up_form(&app, "nobody@example.com", "another secret 42", None).await;
    assert_eq!(taken.status, free.status);
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.body);
    assert_eq!(taken.location(), free.location());
    assert_eq!(taken.location(), Some("/verify-email?result=sent"));
    assert_eq!(taken.body, free.body);
    assert_eq!(cookies(&taken), cookies(&free));

    let after = account(&app, "ada@example.com").await;
    assert_eq!(after.name, before.name, "the holder's account is unchanged");
    assert_eq!(after.password_hash, before.password_hash);
    assert_eq!(
        subjects_to(&app, "ada@example.com")
            .await
            .iter()
            .filter(|s| s.as_str() == TAKEN_NOTICE)
            .count(),
        1,
        "the holder hears of the attempt"
    );
    // A flood of attempts is one notice per 15 minutes, not a flood of mail.
    sign_up_form(&app, "ada@example.com", "another secret 42", None).await;
    assert_eq!(
        subjects_to(&app, "ada@example.com")
            .await
            .iter()
            .filter(|s| s.as_str() == TAKEN_NOTICE)
            .count(),
        1
    );
}

#[tokio::test]
async fn logging_in_before_confirming_says_no_more_than_a_wrong_password() {
    let app = spawn_app().await;
    app.sign_up_pending("Ada", "ada@example.com").await;

    let right = app.log_in("ada@example.com", PASSWORD).await;
    let wrong = app.log_in("ada@example.com", "not the password").await;
    let unknown = app.log_in("nobody@example.com", PASSWORD).await;
    for reply in [&right, &wrong, &unknown] {
        assert_eq!(
            reply.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            reply.body
        );
        assert_eq!(reply.field_error("password"), WRONG_EMAIL_OR_PASSWORD);
        assert!(reply.session_cookie().is_none());
    }

    // The right password earns a new link, once the last one is a minute old.
    let links = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            use app::server::entities::email_verification;
            email_verification::Entity::find()
                .all(&db)
                .await
                .unwrap()
                .len()
        }
    };
    assert_eq!(links(&app).await, 1, "too soon for another");
    app::server::entities::email_verification::Entity::update_many()
        .col_expr(
            app::server::entities::email_verification::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::minutes(2)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    app.log_in("ada@example.com", "not the password").await;
    assert_eq!(links(&app).await, 1, "a wrong password earns nothing");
    app.log_in("ada@example.com", PASSWORD).await;
    assert_eq!(links(&app).await, 2);
}

#[tokio::test]
async fn confirming_an_address_needs_the_accounts_password() {
    let app = spawn_app().await;
    let reply = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Ada"),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/organizations"),
            ],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let link = app.mailed_link("ada@example.com", "/verify-email").await;
    assert!(link.ends_with("&next=%2Forganizations"), "{link}");
    let token = app.mailed_token("ada@example.com", "/verify-email").await;
    let token = token.split('&').next().unwrap().to_string();

    // The link alone (someone who reads the mailbox, a mail scanner) confirms nothing.
    let guessed = app
        .send(Call::post(
            "/api/accounts/verify_email",
            &[("token", &token), ("password", "not the password")],
        ))
        .await;
    assert_eq!(
        guessed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        guessed.body
    );
    assert!(guessed.session_cookie().is_none());
    assert!(account(&app, "ada@example.com")
        .await
        .email_verified_at
        .is_none());

    let confirmed = app
        .send(Call::post(
            "/api/accounts/verify_email",
            &[
                ("token", &token),
                ("password", PASSWORD),
                ("next", "/organizations"),
            ],
        ))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.location(), Some("/organizations"));
    let session = confirmed.session_cookie().expect("signed in");
    assert!(account(&app, "ada@example.com")
        .await
        .email_verified_at
        .is_some());
    assert_eq!(
        app.get("/settings", Some(&session)).await.status,
        StatusCode::OK
    );

    // Once only.
    let again = app
        .send(Call::post(
            "/api/accounts/verify_email",
            &[("token", &token), ("password", PASSWORD)],
        ))
        .await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.body);
}

#[tokio::test]
async fn a_sign_up_ends_the_session_the_browser_had() {
    let app = spawn_app().await;
    let bob = app.sign_up("Bob", "bob@example.com").await;
    let reply = sign_up_form(&app, "mallory@example.com", "another secret 42", Some(&bob)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.session_cookie().as_deref(),
        Some(""),
        "the cookie is cleared"
    );
    let gone = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&bob))
        .await;
    assert_eq!(gone.body, "null", "one browser, one account");
}
