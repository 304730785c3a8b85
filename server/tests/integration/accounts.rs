//! Accounts and sessions through the real router and a real database.

use crate::common::{spawn_app, spawn_app_with, Call, PASSWORD};
use app::error::AppError;
use app::server::entities::{session, user};
use axum::http::StatusCode;
use chrono::{Duration, Utc};
use sea_orm::{sea_query::Expr, ColumnTrait, EntityTrait, QueryFilter};

#[tokio::test]
async fn signing_up_creates_an_account_that_confirming_signs_in() {
    let app = spawn_app().await;
    let reply = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", " Ada Lovelace "),
                ("email", " Ada@Example.com "),
                ("password", PASSWORD),
            ],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.redirected_to(), Some("/verify-email?result=sent"));
    assert_eq!(
        reply.session_cookie().as_deref(),
        Some(""),
        "not signed in yet"
    );
    assert!(session::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .is_empty());
    let reply = app.confirm_email("Ada@Example.com", PASSWORD).await;
    assert_eq!(reply.redirected_to(), Some("/"));
    let cookie = reply.set_cookie_line().unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http must not get a Secure cookie: {cookie}"
    );
    let token = reply.session_cookie().unwrap();
    assert_eq!(token.len(), 64, "a 256-bit token, hex");

    let stored = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(stored.name, "Ada Lovelace");
    assert_eq!(stored.email, "Ada@Example.com");
    assert_eq!(stored.email_normalized, "ada@example.com");
    let hash = stored.password_hash.unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );

    let page = app.get("/settings", Some(&token)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("Ada Lovelace"),
        "the settings page shows the user"
    );
}

#[tokio::test]
async fn the_session_token_is_stored_only_as_its_hash() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    let stored = session::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_ne!(stored.token_hash, token);
    assert_eq!(stored.token_hash, app::server::tokens::hash_token(&token));
}

#[tokio::test]
async fn an_https_public_url_makes_the_cookie_secure() {
    let app = spawn_app_with(|c| c.public_url = "https://orgdesk.example.com".into()).await;
    let reply = app
        .send(
            Call::post(
                "/api/accounts/sign_up",
                &[
                    ("name", "Ada"),
                    ("email", "ada@example.com"),
                    ("password", PASSWORD),
                ],
            )
            .header("sec-fetch-site", "same-origin"),
        )
        .await;
    let line = reply
        .headers
        .get_all(axum::http::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-orgdesk_session="))
        .expect("the session cookie (see sessions.rs for its prefix)");
    assert!(line.contains("Secure"), "{line}");
}

#[tokio::test]
async fn sign_up_reports_every_broken_rule_by_field() {
    let app = spawn_app().await;
    let reply = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[("name", "   "), ("email", ""), ("password", "")],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply.field_error("name"), "Name is required.");
    assert_eq!(reply.field_error("email"), "Email is required.");
    assert_eq!(
        reply.field_error("password"),
        "Password must be at least 8 characters."
    );
    assert!(reply.session_cookie().is_none());
    assert_eq!(user::Entity::find().all(&app.db).await.unwrap().len(), 0);
}

#[tokio::test]
async fn passwords_people_actually_guess_are_refused_in_any_case() {
    let app = spawn_app().await;
    for guessed in ["password1", "Qwertyuiop", "ILOVEYOU", "baseball"] {
        let reply = app
            .send(Call::post(
                "/api/accounts/sign_up",
                &[
                    ("name", "Ada"),
                    ("email", "ada@example.com"),
                    ("password", guessed),
                ],
            ))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{guessed}");
        assert!(
            reply
                .field_error("password")
                .contains("one of the most commonly used passwords"),
            "{guessed}: {}",
            reply.body
        );
    }
    assert_eq!(user::Entity::find().all(&app.db).await.unwrap().len(), 0);

    // Changing the password follows the same rule.
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let changed = app
        .send(
            Call::post(
                "/api/accounts/change_password",
                &[("current_password", PASSWORD), ("new_password", "SunShine")],
            )
            .session(&ada),
        )
        .await;
    assert_eq!(changed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(changed
        .field_error("new_password")
        .contains("most commonly used"));
}

#[tokio::test]
async fn sign_up_refuses_oversized_and_malformed_fields() {
    let app = spawn_app().await;
    let long_name = "n".repeat(101);
    let long_email = format!("{}@example.com", "e".repeat(250));
    let long_password = "p".repeat(73);
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            &long_name,
            "ada@example.com",
            PASSWORD,
            "name",
            "Name must be at most 100 characters.",
        ),
        (
            "Ada",
            &long_email,
            PASSWORD,
            "email",
            "Email must be at most 254 characters.",
        ),
        (
            "Ada",
            "ada@",
            PASSWORD,
            "email",
            "Email must be a single address like name@example.com.",
        ),
        (
            "Ada",
            "ada@example.com, bob@example.com",
            PASSWORD,
            "email",
            "Email must be a single address like name@example.com.",
        ),
        (
            "Ada",
            "ada@example.com",
            &long_password,
            "password",
            "Password must be at most 72 characters.",
        ),
        (
            "Ada",
            "ada@example.com",
            "short",
            "password",
            "Password must be at least 8 characters.",
        ),
        (
            "Ada",
            "ada@example.com",
            "my name is ADA!",
            "password",
            "Password must not contain your name.",
        ),
        (
            "Bob",
            "ada@example.com",
            "xx ada@example.com",
            "password",
            "Password must not contain your email address.",
        ),
    ];
    for (name, email, password, field, message) in cases {
        let reply = app
            .send(Call::post(
                "/api/accounts/sign_up",
                &[("name", name), ("email", email), ("password", password)],
            ))
            .await;
        assert_eq!(
            reply.field_error(field),
            *message,
            "case {field}: {message}"
        );
    }
    assert_eq!(user::Entity::find().all(&app.db).await.unwrap().len(), 0);
}

#[tokio::test]
async fn emails_are_unique_without_regard_to_case() {
    let app = spawn_app().await;
    app.sign_up("Ada", "Ada@Example.com").await;
    let reply = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Imposter"),
                ("email", "  ada@EXAMPLE.com "),
                ("password", PASSWORD),
            ],
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.redirected_to(), Some("/verify-email?result=sent"));
    assert_eq!(user::Entity::find().all(&app.db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn addresses_with_non_ascii_capitals_are_one_account_in_any_case_or_form() {
    let app = spawn_app().await;
    app.sign_up("Élodie", "Élodie@Exemple.fr").await;
    let stored = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(stored.email, "Élodie@Exemple.fr", "shown as typed");
    assert_eq!(stored.email_normalized, "élodie@exemple.fr");

    // The same address in lower case, in capitals, and with the accent as a combining
    // character (what some keyboards send) is the same account.
    for same in [
        "élodie@exemple.fr",
        "ÉLODIE@EXEMPLE.FR",
        "E\u{301}lodie@exemple.fr",
    ] {
        let reply = app
            .send(Call::post(
                "/api/accounts/sign_up",
                &[
                    ("name", "Imposter"),
                    ("email", same),
                    ("password", PASSWORD),
                ],
            ))
            .await;
        assert_eq!(
            reply.redirected_to(),
            Some("/verify-email?result=sent"),
            "{same}: {}",
            reply.body
        );
        let logged_in = app.log_in(same, PASSWORD).await;
        assert_eq!(
            logged_in.status,
            StatusCode::OK,
            "{same}: {}",
            logged_in.body
        );
    }
    assert_eq!(user::Entity::find().all(&app.db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn logging_in_starts_a_new_session_each_time() {
    let app = spawn_app().await;
    let first = app.sign_up("Ada", "ada@example.com").await;
    let reply = app.log_in("  ADA@example.com ", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let second = reply.session_cookie().unwrap();
    assert_ne!(first, second);
    assert_eq!(app.get("/", Some(&second)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn logging_in_again_ends_the_browsers_previous_session() {
    let app = spawn_app().await;
    let first = app.sign_up("Ada", "ada@example.com").await;
    let reply = app
        .send(
            Call::post(
                "/api/accounts/log_in",
                &[("email", "ada@example.com"), ("password", PASSWORD)],
            )
            .session(&first),
        )
        .await;
    let second = reply.session_cookie().unwrap();
    assert_ne!(first, second);
    assert_eq!(
        app.get("/", Some(&first)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_message() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let wrong_password = app.log_in("ada@example.com", "not the password").await;
    let unknown_email = app.log_in("nobody@example.com", PASSWORD).await;
    assert_eq!(
        wrong_password.field_error("password"),
        app::accounts::service::WRONG_EMAIL_OR_PASSWORD
    );
    assert_eq!(wrong_password.error(), unknown_email.error());
    assert!(wrong_password.session_cookie().is_none());
}

#[tokio::test]
async fn logging_in_needs_both_fields() {
    let app = spawn_app().await;
    let reply = app.log_in("  ", "").await;
    assert_eq!(reply.field_error("email"), "Email is required.");
    assert_eq!(reply.field_error("password"), "Password is required.");
}

#[tokio::test]
async fn logging_out_ends_the_session() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    let reply = app
        .send(Call::post("/api/accounts/log_out", &[]).session(&token))
        .await;
    assert_eq!(reply.redirected_to(), Some("/login"));
    assert_eq!(
        reply.session_cookie().as_deref(),
        Some(""),
        "the cookie is removed"
    );
    assert_eq!(session::Entity::find().all(&app.db).await.unwrap().len(), 0);
    let page = app.get("/settings", Some(&token)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_signed_out_visit_goes_to_login_and_remembers_the_page() {
    let app = spawn_app().await;
    let page = app.get("/settings?tab=x", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/login?next=%2Fsettings%3Ftab%3Dx"));

    let login = app.get("/login?next=%2Fsettings", None).await;
    assert_eq!(login.status, StatusCode::OK);
    assert!(login.body.contains(r#"name="next""#) && login.body.contains(r#"value="/settings""#));

    app.sign_up("Ada", "ada@example.com").await;
    let reply = app
        .send(Call::post(
            "/api/accounts/log_in",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "/settings"),
            ],
        ))
        .await;
    assert_eq!(reply.redirected_to(), Some("/settings"));
}

#[tokio::test]
async fn login_never_redirects_to_another_site() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let reply = app
        .send(Call::post(
            "/api/accounts/log_in",
            &[
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", "//evil.example/"),
            ],
        ))
        .await;
    assert_eq!(reply.redirected_to(), Some("/"));
}

#[tokio::test]
async fn a_signed_in_visit_to_login_goes_to_the_dashboard() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    let page = app.get("/login", Some(&token)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/"));
}

#[tokio::test]
async fn a_forged_session_cookie_is_refused_and_cleared() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let forged = "ab".repeat(32);
    let page = app.get("/settings", Some(&forged)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.session_cookie().as_deref(), Some(""));
    let reply = app
        .send(Call::post("/api/accounts/update_name", &[("name", "Mallory")]).session(&forged))
        .await;
    assert_eq!(reply.error(), AppError::Unauthenticated);
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_session_idle_for_fourteen_days_has_expired() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    set_last_seen(&app, Utc::now() - Duration::days(13)).await;
    assert_eq!(
        app.get("/", Some(&token)).await.status,
        StatusCode::OK,
        "13 days idle is fine"
    );

    set_last_seen(&app, Utc::now() - Duration::days(14) - Duration::minutes(1)).await;
    let page = app.get("/", Some(&token)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        session::Entity::find().all(&app.db).await.unwrap().len(),
        0,
        "the expired session is deleted"
    );
}

#[tokio::test]
async fn using_a_session_renews_it() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    let long_ago = Utc::now() - Duration::days(10);
    set_last_seen(&app, long_ago).await;
    let page = app.get("/", Some(&token)).await;
    assert_eq!(
        page.session_cookie().as_deref(),
        Some(token.as_str()),
        "the cookie's lifetime is renewed"
    );
    let stored = session::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert!(stored.last_seen_at > long_ago + Duration::days(9));
}

async fn set_last_seen(app: &crate::common::TestApp, at: chrono::DateTime<Utc>) {
    session::Entity::update_many()
        .col_expr(session::Column::LastSeenAt, Expr::value(at))
        .exec(&app.db)
        .await
        .unwrap();
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = spawn_app().await;
    let form = [
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("password", PASSWORD),
    ];

    let by_fetch_metadata = app
        .send(Call::post("/api/accounts/sign_up", &form).header("sec-fetch-site", "cross-site"))
        .await;
    assert_eq!(by_fetch_metadata.status, StatusCode::FORBIDDEN);

    let by_origin = app
        .send(
            Call::post("/api/accounts/sign_up", &form)
                .without_header("sec-fetch-site")
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(by_origin.status, StatusCode::FORBIDDEN);
    assert!(by_origin.body.contains("Cross-site request refused"));
    assert_eq!(
        user::Entity::find().all(&app.db).await.unwrap().len(),
        0,
        "nothing was created"
    );

    let same_origin = app
        .send(
            Call::post("/api/accounts/sign_up", &form)
                .without_header("sec-fetch-site")
                .header("origin", "http://localhost"),
        )
        .await;
    assert_eq!(same_origin.status, StatusCode::OK, "{}", same_origin.body);
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_account() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    for _ in 0..5 {
        let reply = app.log_in("ada@example.com", "wrong password").await;
        assert!(reply.error().message_for("password").is_some());
    }
    let reply = app.log_in("ada@example.com", PASSWORD).await;
    match reply.error() {
        AppError::TooManyAttempts(message) => {
            assert!(
                message.starts_with("Too many failed login attempts."),
                "{message}"
            )
        }
        other => panic!("expected throttling, got {other:?}"),
    }
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        reply.session_cookie().is_none(),
        "even the right password waits"
    );
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled_per_client_address() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    for i in 0..20 {
        let email = format!("guess{i}@example.com");
        let reply = app
            .send(
                Call::post(
                    "/api/accounts/log_in",
                    &[("email", &email), ("password", "guess")],
                )
                .client_at("203.0.113.7"),
            )
            .await;
        assert!(reply.error().message_for("password").is_some());
    }
    let from_same = app
        .send(
            Call::post(
                "/api/accounts/log_in",
                &[("email", "ada@example.com"), ("password", PASSWORD)],
            )
            .client_at("203.0.113.7"),
        )
        .await;
    assert!(matches!(from_same.error(), AppError::TooManyAttempts(_)));
    let from_elsewhere = app
        .send(
            Call::post(
                "/api/accounts/log_in",
                &[("email", "ada@example.com"), ("password", PASSWORD)],
            )
            .client_at("198.51.100.1"),
        )
        .await;
    assert_eq!(
        from_elsewhere.status,
        StatusCode::OK,
        "{}",
        from_elsewhere.body
    );
}

#[tokio::test]
async fn right_passwords_from_one_address_do_not_use_up_its_allowance() {
    // An office behind one address: more sign-ins than the address's failure limit.
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    for i in 0..25 {
        let reply = app
            .send(
                Call::post(
                    "/api/accounts/log_in",
                    &[("email", "ada@example.com"), ("password", PASSWORD)],
                )
                .client_at("203.0.113.8"),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "login {i}: {}", reply.body);
    }
}

#[tokio::test]
async fn changing_the_name() {
    let app = spawn_app().await;
    let token = app.sign_up("Ada", "ada@example.com").await;
    let reply = app
        .send(
            Call::post("/api/accounts/update_name", &[("name", "  Countess Ada ")]).session(&token),
        )
        .await;
    assert_eq!(reply.redirected_to(), Some("/settings?saved=name"));
    let stored = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(stored.name, "Countess Ada");

    for (name, message) in [
        ("", "Name is required."),
        (&*"x".repeat(101), "Name must be at most 100 characters."),
    ] {
        let reply = app
            .send(Call::post("/api/accounts/update_name", &[("name", name)]).session(&token))
            .await;
        assert_eq!(reply.field_error("name"), message);
    }
    let stored = user::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(
        stored.name, "Countess Ada",
        "a refused change leaves the name alone"
    );

    let signed_out = app
        .send(Call::post("/api/accounts/update_name", &[("name", "X")]))
        .await;
    assert_eq!(signed_out.error(), AppError::Unauthenticated);
}

#[tokio::test]
async fn changing_the_password_ends_the_other_sessions() {
    let app = spawn_app().await;
    let here = app.sign_up("Ada", "ada@example.com").await;
    let elsewhere = app
        .log_in("ada@example.com", PASSWORD)
        .await
        .session_cookie()
        .unwrap();
    let new_password = "a brand new secret";

    let wrong = app
        .send(
            Call::post(
                "/api/accounts/change_password",
                &[
                    ("current_password", "not it"),
                    ("new_password", new_password),
                ],
            )
            .session(&here),
        )
        .await;
    assert_eq!(
        wrong.field_error("current_password"),
        "Current password is incorrect."
    );

    let weak = app
        .send(
            Call::post(
                "/api/accounts/change_password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", "ada-is-me-123"),
                ],
            )
            .session(&here),
        )
        .await;
    assert_eq!(
        weak.field_error("new_password"),
        "Password must not contain your name."
    );

    let reply = app
        .send(
            Call::post(
                "/api/accounts/change_password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", new_password),
                ],
            )
            .session(&here),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.redirected_to(), Some("/settings?saved=password"));

    assert_eq!(
        app.get("/", Some(&here)).await.status,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        app.get("/", Some(&elsewhere)).await.status,
        StatusCode::SEE_OTHER,
        "the other ended"
    );
    assert!(app
        .log_in("ada@example.com", PASSWORD)
        .await
        .session_cookie()
        .is_none());
    assert!(app
        .log_in("ada@example.com", new_password)
        .await
        .session_cookie()
        .is_some());
}

#[tokio::test]
async fn plain_html_forms_get_redirects_with_errors_in_the_url() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let ok = app
        .send(
            Call::post(
                "/api/accounts/log_in",
                &[("email", "ada@example.com"), ("password", PASSWORD)],
            )
            .header("accept", "text/html")
            .header("referer", "http://localhost/login"),
        )
        .await;
    assert_eq!(ok.status, StatusCode::FOUND);
    assert_eq!(ok.location(), Some("/"));
    assert!(ok.session_cookie().is_some());

    let failed = app
        .send(
            Call::post(
                "/api/accounts/log_in",
                &[("email", "ada@example.com"), ("password", "nope")],
            )
            .header("accept", "text/html")
            .header(
                "referer",
                "http://localhost/login?email=ada%40example.com&next=%2Fsettings",
            ),
        )
        .await;
    assert_eq!(failed.status, StatusCode::FOUND);
    let location = failed.location().unwrap();
    assert!(
        location
            .starts_with("http://localhost/login?email=ada%40example.com&next=%2Fsettings&__path="),
        "{location}"
    );
    assert!(location.contains("__err="), "{location}");
    // The browser follows the redirect from its own form: a same-origin navigation.
    let back = axum::http::Request::get(location.trim_start_matches("http://localhost"))
        .header("host", "localhost")
        .header("accept", "text/html")
        .header("sec-fetch-site", "same-origin")
        .body(axum::body::Body::empty())
        .unwrap();
    let page = app.reply(back).await;
    assert!(
        page.body.contains("The email or password is incorrect."),
        "the error shows in place"
    );
}

#[tokio::test]
async fn users_are_found_by_normalized_email() {
    let app = spawn_app().await;
    app.sign_up("Ada", "Ada@Example.com").await;
    let found = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq("ada@example.com"))
        .one(&app.db)
        .await
        .unwrap();
    assert!(found.is_some());
}

/// Squatting: someone signs up with an address that is not theirs. The mailbox's owner gets
/// the verification email and answers "This wasn't me".
#[tokio::test]
async fn this_wasnt_me_deletes_the_squatters_account_and_what_it_created() {
    use app::server::entities::{membership, organization};
    use sea_orm::PaginatorTrait;

    let app = spawn_app().await;
    let squatter = app
        .legacy_unverified_session("Not Victor", "victor@example.com")
        .await;
    let squatted_org = app.create_organization(&squatter, "Fake Victor Inc").await;
    // Someone real joined that organization; they stay, it goes.
    let bystander = app.sign_up("Bea", "bea@example.com").await;
    app.join(&bystander, &squatted_org, app::members::roles::Role::Member)
        .await;
    let token = app
        .mailed_token("victor@example.com", "/verify-email")
        .await;

    let page = app.get(&format!("/verify-email?token={token}"), None).await;
    assert!(page.body.contains("victor@example.com"), "{}", page.body);
    assert!(
        page.body.contains("Confirm my email"),
        "opening the link changes nothing"
    );
    let rejected = app
        .send(Call::post(
            "/api/accounts/reject_email",
            &[("token", &token)],
        ))
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.body);
    assert_eq!(
        rejected.redirected_to(),
        Some("/verify-email?result=rejected")
    );

    assert_eq!(
        user::Entity::find()
            .filter(user::Column::EmailNormalized.eq("victor@example.com"))
            .count(&app.db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        organization::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    let bea = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq("bea@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bea.membership_count, 0,
        "Bea's count follows her memberships"
    );
    assert_eq!(membership::Entity::find().count(&app.db).await.unwrap(), 0);
    let gone = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&squatter))
        .await;
    assert_eq!(gone.body, "null", "the squatter is signed out");

    // The address is free for its owner, and the used link is dead.
    app.sign_up("Victor", "victor@example.com").await;
    let reused = app
        .send(Call::post(
            "/api/accounts/reject_email",
            &[("token", &token)],
        ))
        .await;
    assert_eq!(reused.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_confirmed_account_is_not_deleted_by_this_wasnt_me() {
    let app = spawn_app().await;
    app.sign_up_pending("Vic", "vic@example.com").await;
    let token = app.mailed_token("vic@example.com", "/verify-email").await;
    // Confirmed meanwhile (another way), the link unused.
    app::server::entities::user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(Utc::now()))
        .exec(&app.db)
        .await
        .unwrap();
    let refused = app
        .send(Call::post(
            "/api/accounts/reject_email",
            &[("token", &token)],
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(user::Entity::find().all(&app.db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_account_left_unverified_for_a_week_loses_its_sessions_and_its_address() {
    let app = spawn_app().await;
    let squatter = app
        .legacy_unverified_session("Not Wanda", "wanda@example.com")
        .await;
    let old_id = app.user_id(&squatter).await;
    let verified = app.sign_up("Vera", "vera@example.com").await;

    // Six days on, still theirs: a new sign-up is answered as any other, and changes nothing.
    let backdate = |days: i64| {
        let db = app.db.clone();
        async move {
            user::Entity::update_many()
                .col_expr(
                    user::Column::CreatedAt,
                    Expr::value(Utc::now() - Duration::days(days)),
                )
                .exec(&db)
                .await
                .unwrap();
        }
    };
    backdate(6).await;
    let sign_up = |password: &'static str| {
        Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Wanda"),
                ("email", "wanda@example.com"),
                ("password", password),
            ],
        )
    };
    let taken = app.send(sign_up(PASSWORD)).await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.body);
    assert_eq!(taken.redirected_to(), Some("/verify-email?result=sent"));
    assert_eq!(app.user_id_by_email("wanda@example.com").await, old_id);

    backdate(8).await;
    let gone = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&squatter))
        .await;
    assert_eq!(gone.body, "null", "an unverified week ends its sessions");
    let kept = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&verified))
        .await;
    assert!(kept.body.contains("Vera"), "verified accounts keep theirs");

    let replaced = app.send(sign_up(PASSWORD)).await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);
    let wanda = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq("wanda@example.com"))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(wanda.id, old_id, "a new account, not the squatter's");
    assert_eq!(wanda.name, "Wanda");
}
