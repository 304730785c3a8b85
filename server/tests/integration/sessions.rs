//! Sessions a person can see and end, through the real router and database: the Sessions
//! list, signing out another browser, the 30-day absolute lifetime, and the `__Host-`
//! cookie on https.

use crate::common::{spawn_app, spawn_app_with, Call, TestApp, PASSWORD};
use app::{accounts::sessions::SessionRow, server::entities::session};
use axum::http::{header, StatusCode};
use chrono::{Duration, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

async fn sessions(app: &TestApp, token: &str) -> Vec<SessionRow> {
    app.call_json("/api/accounts/sessions", &[], Some(token))
        .await
}

async fn alive(app: &TestApp, token: &str) -> bool {
    let reply = app
        .send(Call::post("/api/accounts/current_user", &[]).session(token))
        .await;
    reply.body != "null"
}

async fn log_in_from(app: &TestApp, agent: &str, address: &str) -> String {
    app.send(
        Call::post(
            "/api/accounts/log_in",
            &[("email", "ada@example.com"), ("password", PASSWORD)],
        )
        .header("user-agent", agent)
        .client_at(address),
    )
    .await
    .session_cookie()
    .expect("signed in")
}

#[tokio::test]
async fn the_list_shows_each_session_with_its_browser_address_and_way_in() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let laptop = log_in_from(&app, FIREFOX, "203.0.113.5").await;
    let rows = sessions(&app, &laptop).await;
    assert_eq!(rows.len(), 2);
    let this = &rows[0];
    assert!(this.current, "this browser's session comes first");
    assert_eq!(this.browser, "Firefox 128 on Linux");
    assert_eq!(this.client_address.as_deref(), Some("203.0.113.5"));
    assert_eq!(this.method, app::accounts::rules::SignInMethod::Password);
    assert!(!rows[1].current);

    let page = app.get("/settings", Some(&laptop)).await;
    assert!(page.body.contains("Firefox 128 on Linux") && page.body.contains("This browser"));
}

#[tokio::test]
async fn another_browser_is_signed_out_from_the_list_and_nobody_elses() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let laptop = log_in_from(&app, FIREFOX, "203.0.113.5").await;
    let phone = log_in_from(&app, "Mozilla/5.0 (iPhone)", "203.0.113.9").await;
    let bob = app.sign_up("Bob", "bob@example.com").await;

    let phone_id = sessions(&app, &phone)
        .await
        .into_iter()
        .find(|r| r.current)
        .unwrap()
        .id
        .to_string();
    // Bob cannot end Ada's session by its ID.
    let foreign = app
        .send(Call::post("/api/accounts/end_session", &[("session_id", &phone_id)]).session(&bob))
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert!(alive(&app, &phone).await);

    let ended = app
        .send(
            Call::post("/api/accounts/end_session", &[("session_id", &phone_id)]).session(&laptop),
        )
        .await;
    assert_eq!(ended.status, StatusCode::OK, "{}", ended.body);
    assert!(!alive(&app, &phone).await);
    assert!(alive(&app, &laptop).await);

    let others = app
        .send(Call::post("/api/accounts/end_other_sessions", &[]).session(&laptop))
        .await;
    assert_eq!(others.status, StatusCode::OK);
    assert_eq!(sessions(&app, &laptop).await.len(), 1);
    assert!(alive(&app, &bob).await, "Bob's sessions are his own");
}

#[tokio::test]
async fn a_session_ends_thirty_days_after_sign_in_however_busy() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    session::Entity::update_many()
        .col_expr(
            session::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::days(29)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert!(alive(&app, &token).await);
    session::Entity::update_many()
        .col_expr(
            session::Column::CreatedAt,
            Expr::value(Utc::now() - Duration::days(30) - Duration::minutes(1)),
        )
        .col_expr(session::Column::LastSeenAt, Expr::value(Utc::now()))
        .exec(&app.db)
        .await
        .unwrap();
    assert!(!alive(&app, &token).await);
    assert!(session::Entity::find()
        .filter(session::Column::Id.gt(0))
        .all(&app.db)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn over_https_the_session_cookie_is_a_host_cookie() {
    let app = spawn_app_with(|c| c.public_url = "https://orgdesk.example.com".into()).await;
    app.sign_up_pending("Ada", "ada@example.com").await;
    let reply = app.confirm_email("ada@example.com", PASSWORD).await;
    let line = reply
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-orgdesk_session="))
        .expect("a __Host- cookie");
    assert!(line.contains("Secure") && line.contains("Path=/") && !line.contains("Domain"));
    let token = line.split(';').next().unwrap()["__Host-orgdesk_session=".len()..].to_string();

    // The prefixed cookie signs in; the plain name (which a sibling site could plant) does not.
    let with_host = app
        .get_with_cookies("/settings", &format!("__Host-orgdesk_session={token}"))
        .await;
    assert_eq!(with_host.status, StatusCode::OK);
    let plain = app.get("/settings", Some(&token)).await;
    assert!(plain.status.is_redirection(), "{}", plain.status);
}

/// Two server processes on one database behind a round-robin balancer: a browser's
/// requests land on either, so sessions and throttles live in the database, not in a
/// process.
#[tokio::test]
async fn two_server_processes_on_one_database_serve_the_same_browser() {
    let first = spawn_app().await;
    let second = first.another_process().await;

    let ada = first.sign_up("Ada", "ada@example.com").await;
    assert!(
        alive(&second, &ada).await,
        "signed in through one, known to the other"
    );
    second.create_organization(&ada, "Analytical Engines").await;
    let profile = first.get("/organization/profile", Some(&ada)).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("Analytical Engines"));

    // Logging out through one ends the session for both.
    let out = second
        .send(Call::post("/api/accounts/log_out", &[]).session(&ada))
        .await;
    assert_eq!(out.status, StatusCode::OK, "{}", out.body);
    assert!(!alive(&first, &ada).await);

    // Wrong passwords count together, whichever process answers.
    for attempt in 0..5 {
        let process = if attempt % 2 == 0 { &first } else { &second };
        let reply = process.log_in("ada@example.com", "wrong password").await;
        assert!(reply.error().message_for("password").is_some());
    }
    for process in [&first, &second] {
        let reply = process.log_in("ada@example.com", PASSWORD).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    }
}
