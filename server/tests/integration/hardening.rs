//! Hardening through the real router, written as what a hostile page or client would try:
//! framing a dialog, reading a secret link from a Referer, running injected script, caching
//! someone's page.

use crate::common::{spawn_app, spawn_app_with, Call};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
};

fn header_of(reply: &crate::common::Reply, name: header::HeaderName) -> &str {
    reply
        .headers
        .get(&name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} header"))
}

/// The nonce the CSP names for scripts.
fn csp_nonce(reply: &crate::common::Reply) -> String {
    let csp = header_of(reply, header::CONTENT_SECURITY_POLICY);
    csp.split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"))
        .to_string()
}

#[tokio::test]
async fn every_page_forbids_framing_foreign_script_and_referrers() {
    let app = spawn_app().await;
    let page = app.get("/login", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = header_of(&page, header::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'self'",
        "'wasm-unsafe-eval'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("'unsafe-inline'"), "{csp}");
    assert_eq!(header_of(&page, header::X_FRAME_OPTIONS), "DENY");
    assert_eq!(header_of(&page, header::REFERRER_POLICY), "same-origin");
    assert_eq!(header_of(&page, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    assert_eq!(header_of(&page, header::CACHE_CONTROL), "no-store");
    assert!(
        page.headers
            .get(header::STRICT_TRANSPORT_SECURITY)
            .is_none(),
        "no HSTS over plain http"
    );

    // The inline scripts carry this response's nonce; the next response has another.
    let nonce = csp_nonce(&page);
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(
        page.body.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script has the nonce"
    );
    let again = app.get("/login", None).await;
    assert_ne!(csp_nonce(&again), nonce, "a nonce is used once");
}

#[tokio::test]
async fn signed_in_pages_and_server_function_answers_are_never_cached() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let page = app.get("/settings", Some(&ada)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(header_of(&page, header::CACHE_CONTROL), "no-store");

    let answer = app
        .send(Call::post("/api/accounts/current_user", &[]).session(&ada))
        .await;
    assert_eq!(header_of(&answer, header::CACHE_CONTROL), "no-store");
    // A JSON answer can never run as a page.
    assert!(header_of(&answer, header::CONTENT_SECURITY_POLICY).contains("default-src 'none'"));
    assert_eq!(header_of(&answer, header::X_FRAME_OPTIONS), "DENY");
}

#[tokio::test]
async fn over_https_browsers_are_told_to_stay_on_https() {
    let app = spawn_app_with(|c| c.public_url = "https://orgdesk.example.com".into()).await;
    let page = app.get("/login", None).await;
    assert!(header_of(&page, header::STRICT_TRANSPORT_SECURITY).starts_with("max-age="));
    let csp = header_of(&page, header::CONTENT_SECURITY_POLICY);
    // Forms post only to Orgdesk, over https too (SSO leaves through the hand-off page).
    assert!(csp.ends_with("form-action 'self'"), "{csp}");
}

/// A 60,000-character search used to reach the database (and fail there on SQLite).
#[tokio::test]
async fn search_terms_are_capped_with_a_clear_message() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    app.create_organization(&ada, "Acme").await;
    let huge = "x".repeat(60_000);
    for path in ["/api/members/list", "/api/organizations/directory"] {
        let reply = app
            .send(Call::post(path, &[("query", &huge), ("page", "1")]).session(&ada))
            .await;
        assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
        assert!(
            reply
                .field_error("q")
                .contains("Search must be at most 100 characters"),
            "{path}: {}",
            reply.body
        );
    }
    let fine = app
        .send(
            Call::post(
                "/api/members/list",
                &[("query", &"x".repeat(100)), ("page", "1")],
            )
            .session(&ada),
        )
        .await;
    assert_eq!(fine.status, StatusCode::OK);
}

/// The 64 KiB limit used to look only at a declared Content-Length: a valid login padded
/// past the limit, sent without one, was read whole and signed in.
#[tokio::test]
async fn a_chunked_body_over_the_limit_is_not_read_past_it() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    let login = |padding: usize| {
        let mut chunks: Vec<Result<String, std::io::Error>> = vec![Ok(
            "email=ada%40example.com&password=correct+horse+battery&pad=".into(),
        )];
        chunks.extend((0..padding / 1024).map(|_| Ok("x".repeat(1024))));
        Request::post("/api/accounts/log_in")
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .header("sec-fetch-site", "same-origin")
            .body(Body::from_stream(futures::stream::iter(chunks)))
            .unwrap()
    };
    let small = app.reply(login(1024)).await;
    assert!(
        small.session_cookie().is_some(),
        "a small chunked login works: {}",
        small.body
    );
    let padded = app.reply(login(80 * 1024)).await;
    assert!(
        padded.status.is_client_error(),
        "refused, not processed: {} {}",
        padded.status,
        padded.body
    );
    assert!(padded.session_cookie().is_none());
}

/// Long `next` paths used to overflow a column at SSO sign-in on PostgreSQL.
#[tokio::test]
async fn an_overlong_next_path_goes_home_instead_of_failing() {
    let app = spawn_app().await;
    let domain = format!("long-{:08x}.test", rand::random::<u32>());
    app.sso_organization(&domain).await;
    let next = format!("/{}", "a".repeat(5_000));
    let started = app
        .send(Call::post(
            "/api/sso/continue_login",
            &[("email", &format!("lou@{domain}")), ("next", &next)],
        ))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert!(started.location().is_some(), "on to the provider");
}

/// A state-changing request with a session cookie but without the headers browsers add
/// (`Sec-Fetch-Site`, `Origin`) could be a victim's old browser driven by another site.
#[tokio::test]
async fn a_cookie_without_browser_origin_headers_needs_a_same_origin_referer() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let bare = |call: Call<'static>| call.without_header("sec-fetch-site");

    let refused = app
        .send(
            bare(Call::post(
                "/api/accounts/update_name",
                &[("name", "Mallory")],
            ))
            .session(&ada),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let foreign = app
        .send(
            bare(Call::post(
                "/api/accounts/update_name",
                &[("name", "Mallory")],
            ))
            .header("referer", "https://evil.example/form")
            .session(&ada),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN);
    let ours = app
        .send(
            bare(Call::post(
                "/api/accounts/update_name",
                &[("name", "Ada L.")],
            ))
            .header("referer", "http://localhost/settings")
            .session(&ada),
        )
        .await;
    assert_eq!(ours.status, StatusCode::OK, "{}", ours.body);
    // Without a cookie there is nobody to act for: scripts and tools may call in.
    let anonymous = app
        .send(bare(Call::post(
            "/api/accounts/request_password_reset",
            &[("email", "ada@example.com")],
        )))
        .await;
    assert_eq!(anonymous.status, StatusCode::OK, "{}", anonymous.body);
}

/// DNS rebinding: a page on another domain, pointed at Orgdesk's address, sends its own
/// domain as Host.
#[tokio::test]
async fn requests_for_another_host_name_are_refused() {
    let app = spawn_app().await;
    let rebound = Request::get("/login")
        .header(header::HOST, "rebind.evil.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.reply(rebound).await.status,
        StatusCode::MISDIRECTED_REQUEST
    );
    let health = Request::get("/health")
        .header(header::HOST, "10.0.0.7:3000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.reply(health).await.status, StatusCode::OK);

    let listed = spawn_app_with(|c| c.allowed_hosts = vec!["admin.example.com".into()]).await;
    let request = Request::get("/login")
        .header(header::HOST, "admin.example.com")
        .body(Body::empty())
        .unwrap();
    assert_eq!(listed.reply(request).await.status, StatusCode::OK);
}

/// Link tokens travel in query strings: request logs name the path only.
/// What the server logged while the guard lived (at debug level and above).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn start() -> (Captured, tracing::subscriber::DefaultGuard) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("debug")
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        // Another test's thread may have cached "nobody listens" for the request span
        // while this subscriber was being made: ask every call site again.
        tracing::callsite::rebuild_interest_cache();
        (captured, guard)
    }

    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

#[tokio::test]
async fn request_logs_never_contain_a_links_token() {
    let app = spawn_app().await;
    let secret = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let (captured, guard) = Captured::start();
    app.get(&format!("/reset-password?token={secret}"), None)
        .await;
    drop(guard);
    let logged = captured.text();
    assert!(logged.contains("path=/reset-password"), "{logged}");
    assert!(!logged.contains(secret), "a token reached the log");
}

#[tokio::test]
async fn the_mail_folder_log_names_the_file_not_the_link() {
    use app::server::entities::email_verification;
    use sea_orm::EntityTrait;

    let folder = tempfile::tempdir().unwrap();
    let mail_dir = folder.path().join("mail");
    let app = spawn_app_with(|c| {
        c.smtp_url = None;
        c.mail_dir = mail_dir.clone();
    })
    .await;
    app.sign_up_pending("Fay", "fay@example.com").await;
    let (captured, guard) = Captured::start();
    let worker = server::mail_worker(&app.state).expect("a mail worker");
    assert_eq!(worker.deliver_due(chrono::Utc::now()).await.unwrap(), 1);
    drop(guard);
    let logged = captured.text();
    let written = std::fs::read_dir(&mail_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let body = std::fs::read_to_string(&written).unwrap();
    assert!(
        body.contains("/verify-email?token="),
        "the file has the link"
    );
    assert!(
        logged.contains(&written.display().to_string()),
        "the log names the file: {logged}"
    );
    assert!(logged.contains("Confirm your email address for Orgdesk"));
    assert!(
        !logged.contains("token="),
        "a link reached the log: {logged}"
    );
    assert_eq!(
        email_verification::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Nine guesses sent at once used to all be checked: the count was read before the slow
/// hash and written after it.
#[tokio::test]
async fn parallel_password_guesses_are_counted_before_any_is_checked() {
    let app = spawn_app().await;
    app.sign_up("Ada", "ada@example.com").await;
    // Ada's own browser knows the account (its device cookie).
    let first = app.log_in("ada@example.com", crate::common::PASSWORD).await;
    let device = first.device_cookie().expect("a device cookie");
    let guesses = (0..9).map(|i| {
        let app = &app;
        async move {
            app.send(
                Call::post(
                    "/api/accounts/log_in",
                    &[
                        ("email", "ada@example.com"),
                        ("password", &format!("guess number {i}")),
                    ],
                )
                .client_at("203.0.113.9"),
            )
            .await
        }
    });
    let replies = futures::future::join_all(guesses).await;
    let checked = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        checked + refused,
        9,
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(checked <= 5, "{checked} guesses were checked");

    // The owner, from elsewhere, still gets in with her own browser: its attempts count
    // against it, not against the account the guesser ran up.
    let owner = app
        .send(
            Call::post(
                "/api/accounts/log_in",
                &[
                    ("email", "ada@example.com"),
                    ("password", crate::common::PASSWORD),
                ],
            )
            .client_at("198.51.100.20")
            .header("cookie", &format!("orgdesk_device={device}")),
        )
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.body);
}

#[tokio::test]
async fn the_current_password_check_in_user_settings_is_throttled_too() {
    let app = spawn_app().await;
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let reply = app
            .send(
                Call::post(
                    "/api/accounts/change_password",
                    &[
                        ("current_password", &format!("guess number {i}")),
                        ("new_password", "a brand new phrase"),
                    ],
                )
                .session(&ada),
            )
            .await;
        statuses.push(reply.status);
    }
    assert_eq!(statuses[..5], [StatusCode::UNPROCESSABLE_ENTITY; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sign_ups_from_one_client_address_are_rate_limited() {
    let app = spawn_app_with(|c| c.signups_per_address = 3).await;
    let sign_up = |n: u32, from: &'static str| {
        let app = &app;
        async move {
            app.send(
                Call::post(
                    "/api/accounts/sign_up",
                    &[
                        ("name", "Flood"),
                        ("email", &format!("flood{n}@example.com")),
                        ("password", crate::common::PASSWORD),
                    ],
                )
                .client_at(from),
            )
            .await
            .status
        }
    };
    for n in 0..3 {
        assert_eq!(sign_up(n, "203.0.113.50").await, StatusCode::OK);
    }
    assert_eq!(
        sign_up(3, "203.0.113.50").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        sign_up(4, "198.51.100.50").await,
        StatusCode::OK,
        "others still can"
    );
}

#[tokio::test]
async fn an_account_gets_at_most_five_verification_emails_a_day() {
    use app::server::entities::email_verification;
    use sea_orm::{sea_query::Expr, EntityTrait};

    let app = spawn_app().await;
    let vera = app
        .legacy_unverified_session("Vera", "vera@example.com")
        .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        // A minute apart, as far as the once-a-minute rule can tell.
        email_verification::Entity::update_many()
            .col_expr(
                email_verification::Column::CreatedAt,
                Expr::value(chrono::Utc::now() - chrono::Duration::minutes(2)),
            )
            .exec(&app.db)
            .await
            .unwrap();
        let reply = app
            .send(Call::post("/api/accounts/resend_verification", &[]).session(&vera))
            .await;
        statuses.push(reply.status);
    }
    // The sign-up's email and four resends make five; the fifth resend is refused.
    assert_eq!(statuses[..4], [StatusCode::OK; 4]);
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS);
}

/// Names travel into emails others receive: an invitation from "Ann" must not carry a
/// link or text that displays in another order than it is written.
#[tokio::test]
async fn names_with_links_or_direction_tricks_are_refused() {
    let app = spawn_app().await;
    let reply = app
        .send(Call::post(
            "/api/accounts/sign_up",
            &[
                ("name", "Support \u{202E}moc.evil"),
                ("email", "sneaky@example.com"),
                ("password", crate::common::PASSWORD),
            ],
        ))
        .await;
    assert!(
        reply.field_error("name").contains("text-direction"),
        "{}",
        reply.body
    );
    let ada = app.sign_up("Ada", "ada@example.com").await;
    let org = app
        .send(
            Call::post(
                "/api/organizations/create",
                &[("name", "Claim your prize at https://evil.example")],
            )
            .session(&ada),
        )
        .await;
    assert!(
        org.field_error("name").contains("web address"),
        "{}",
        org.body
    );
}

/// Expired rows that hold secrets (sessions, links, sign-ins in flight) or nothing useful
/// (old throttle rows, undeliverable mail) do not pile up.
#[tokio::test]
async fn the_sweep_removes_what_no_longer_serves() {
    use app::server::{
        entities::{
            login_failure, mail_outbox, mail_recipient, password_reset, session, sso_login,
        },
        sweep::sweep,
    };
    use chrono::{Duration, Utc};
    use sea_orm::{
        sea_query::Expr, ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
        Set,
    };

    let app = spawn_app().await;
    let now = Utc::now();
    let idle = app.sign_up("Ida", "ida@example.com").await;
    let live = app.sign_up("Liv", "liv@example.com").await;
    let idle_id = app.user_id(&idle).await;
    session::Entity::update_many()
        .col_expr(
            session::Column::LastSeenAt,
            Expr::value(now - Duration::days(15)),
        )
        .filter(session::Column::UserId.eq(idle_id))
        .exec(&app.db)
        .await
        .unwrap();
    app.send(Call::post(
        "/api/accounts/request_password_reset",
        &[("email", "liv@example.com")],
    ))
    .await;
    password_reset::Entity::update_many()
        .col_expr(
            password_reset::Column::ExpiresAt,
            Expr::value(now - Duration::minutes(1)),
        )
        .exec(&app.db)
        .await
        .unwrap();
    let org = app.create_organization(&live, "Acme").await;
    let org_id = app
        .membership_of(&live, &org)
        .await
        .unwrap()
        .organization_id;
    sso_login::ActiveModel {
        state_hash: Set("a".repeat(64)),
        browser_hash: Set("b".repeat(64)),
        organization_id: Set(org_id),
        purpose: Set(sso_login::Purpose::Login),
        started_by: Set(None),
        nonce: Set("n".into()),
        pkce_verifier: Set("v".into()),
        next_path: Set(None),
        created_at: Set(now - Duration::minutes(20)),
        expires_at: Set(now - Duration::minutes(10)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    login_failure::ActiveModel {
        scope: Set("pair:old|unknown".into()),
        failed_at: Set(now - Duration::hours(2)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    mail_recipient::ActiveModel {
        recipient_key: Set("gone@example.com".into()),
        queued_at: Set(now - Duration::days(3)),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
    mail_outbox::ActiveModel {
        recipient: Set("gone@example.com".into()),
        subject: Set("Verify".into()),
        text_body: Set("http://localhost/verify-email?token=secret".into()),
        html_body: Set("<a href=\"http://localhost/verify-email?token=secret\">".into()),
        created_at: Set(now - Duration::days(3)),
        attempts: Set(12),
        next_attempt_at: Set(now - Duration::days(2)),
        failed_at: Set(Some(now - Duration::days(2))),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();

    let swept = sweep(&app.db, now).await.unwrap();
    assert_eq!(swept.sessions, 1, "{swept:?}");
    assert_eq!(swept.sign_ins, 1, "{swept:?}");
    assert!(swept.links >= 1, "{swept:?}");
    assert_eq!(swept.throttle_rows, 2, "{swept:?}");
    assert_eq!(swept.failed_mail_bodies, 1, "{swept:?}");
    let still_signed_in: Option<app::accounts::api::UserView> = serde_json::from_str(
        &app.send(Call::post("/api/accounts/current_user", &[]).session(&live))
            .await
            .body,
    )
    .unwrap();
    assert!(still_signed_in.is_some(), "live sessions stay");
    assert_eq!(
        password_reset::Entity::find().count(&app.db).await.unwrap(),
        0
    );
    let failed = mail_outbox::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.recipient == "gone@example.com")
        .unwrap();
    assert!(!failed.text_body.contains("token"), "the link is gone");
    assert_eq!(
        sweep(&app.db, now).await.unwrap().failed_mail_bodies,
        0,
        "once"
    );
}

/// `?__err=` used to put any text an attacker chose into a page's alert.
#[tokio::test]
async fn a_form_error_in_a_foreign_link_is_dropped_before_the_page_shows_it() {
    let app = spawn_app().await;
    let planted = "/login?email=ada%40example.com&__path=%2Fapi%2Faccounts%2Flog_in&__err=eyJGb3JiaWRkZW4iOiJDYWxsIHN1cHBvcnQgYXQgKzEgNTU1IDAxMDAifQ%3D%3D";
    let from_elsewhere = Request::get(planted)
        .header(header::HOST, "localhost")
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    let reply = app.reply(from_elsewhere).await;
    assert!(reply.status.is_redirection(), "{}", reply.status);
    assert_eq!(reply.location(), Some("/login?email=ada%40example.com"));

    // The way back from Orgdesk's own form keeps it.
    let own = Request::get(planted)
        .header(header::HOST, "localhost")
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "same-origin")
        .body(Body::empty())
        .unwrap();
    let reply = app.reply(own).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.body.contains("Call support at +1 555 0100"),
        "the page shows the form's error (which is why a foreign one must not get there)"
    );
}

/// Dropping a foreign `__err` must not turn into an open redirect through a path that
/// starts with two slashes (a protocol-relative URL).
#[tokio::test]
async fn dropping_a_foreign_form_error_never_leaves_the_site() {
    let app = spawn_app().await;
    let request = Request::get("//evil.example/welcome?__err=eA%3D%3D")
        .header(header::HOST, "localhost")
        .header(header::ACCEPT, "text/html")
        .header("sec-fetch-site", "cross-site")
        .body(Body::empty())
        .unwrap();
    let reply = app.reply(request).await;
    if let Some(location) = reply.location() {
        assert!(
            location.starts_with('/') && !location.starts_with("//"),
            "{location}"
        );
    }
}

/// A TCP port on this machine that counts the connections it gets (and answers none).
async fn counting_listener() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (port, count)
}

async fn save_issuer(
    app: &crate::common::TestApp,
    owner: &str,
    org: &str,
    issuer: &str,
) -> crate::common::Reply {
    app.send(
        Call::post(
            "/api/sso/save",
            &[
                ("organization_id", org),
                ("provider_name", "Internal"),
                ("issuer_url", issuer),
                ("client_id", "orgdesk"),
                ("client_secret", "secret"),
            ],
        )
        .session(owner),
    )
    .await
}

#[tokio::test]
async fn an_identity_provider_on_an_internal_address_is_never_requested() {
    let app = spawn_app_with(|config| config.private_identity_providers = false).await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let (port, connections) = counting_listener().await;

    let refused = save_issuer(&app, &owner, &org, &format!("http://127.0.0.1:{port}")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.field_error("issuer_url"),
        "Issuer URL must start with https://."
    );
    for internal in [
        "https://127.0.0.1".to_string(),
        "https://[::1]".to_string(),
        "https://169.254.169.254/latest".to_string(),
        "https://10.0.0.1".to_string(),
        "https://[::ffff:192.168.0.1]".to_string(),
        "https://100.64.0.1".to_string(),
    ] {
        let refused = save_issuer(&app, &owner, &org, &internal).await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{internal}"
        );
        assert_eq!(
            refused.field_error("issuer_url"),
            "Issuer URL must be on a public address, not a loopback, private or link-local one.",
            "{internal}"
        );
    }

    // Another port is another service on the host: refused, whatever the address.
    let other_port = save_issuer(&app, &owner, &org, &format!("https://localhost:{port}")).await;
    assert_eq!(
        other_port.field_error("issuer_url"),
        format!("Issuer URL must use the https port 443, not port {port}.")
    );

    // A name is checked where it resolves: `localhost` (like a rebinding domain) resolves
    // to loopback, so the test sign-in fails without Orgdesk connecting there.
    let saved = save_issuer(&app, &owner, &org, "https://localhost").await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let tested = app
        .send(Call::post("/api/sso/test", &[("organization_id", &org)]).session(&owner))
        .await;
    assert_eq!(tested.status, StatusCode::FORBIDDEN, "{}", tested.body);
    assert!(
        tested.body.contains("could not be reached"),
        "{}",
        tested.body
    );
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no connection reached the internal address"
    );
}

#[tokio::test]
async fn a_login_start_uses_the_discovery_document_it_already_has() {
    use axum::{routing::get, Json, Router};
    use std::sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    };

    // A provider that counts how often it is asked for its metadata and keys.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let discoveries = Arc::new(AtomicUsize::new(0));
    let key_fetches = Arc::new(AtomicUsize::new(0));
    let document = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    });
    let provider = Router::new()
        .route(
            "/.well-known/openid-configuration",
            get({
                let discoveries = discoveries.clone();
                move || async move {
                    discoveries.fetch_add(1, Ordering::SeqCst);
                    Json(document)
                }
            }),
        )
        .route(
            "/jwks",
            get({
                let key_fetches = key_fetches.clone();
                move || async move {
                    key_fetches.fetch_add(1, Ordering::SeqCst);
                    Json(serde_json::json!({ "keys": [] }))
                }
            }),
        );
    tokio::spawn(async move { axum::serve(listener, provider).await });

    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let saved = save_issuer(&app, &owner, &org, &issuer).await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    for _ in 0..3 {
        let started = app
            .send(Call::post("/api/sso/test", &[("organization_id", &org)]).session(&owner))
            .await;
        assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    }
    assert_eq!(discoveries.load(Ordering::SeqCst), 1, "one discovery");
    assert_eq!(key_fetches.load(Ordering::SeqCst), 1, "one key fetch");
}

#[tokio::test]
async fn one_address_gets_at_most_twenty_emails_a_day_whoever_sends_them() {
    use app::server::{entities::mail_outbox, mail::MAX_MESSAGES_PER_RECIPIENT_A_DAY};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let invite_from_new_organization = |n: u64| {
        let app = &app;
        let owner = owner.clone();
        async move {
            let org = app.create_organization(&owner, &format!("Spam {n}")).await;
            // The same inbox in other capitals is the same recipient.
            let to = if n.is_multiple_of(2) {
                "victim@example.com"
            } else {
                "VICTIM@Example.com"
            };
            app.send(
                Call::post(
                    "/api/invitations/invite",
                    &[("organization_id", &org), ("email", to), ("role", "member")],
                )
                .session(&owner),
            )
            .await
        }
    };
    for n in 0..MAX_MESSAGES_PER_RECIPIENT_A_DAY {
        let invited = invite_from_new_organization(n).await;
        assert_eq!(invited.status, StatusCode::OK, "{n}: {}", invited.body);
    }
    let refused = invite_from_new_organization(99).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("the most we send to one address"),
        "{}",
        refused.body
    );
    let queued = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Recipient.is_in(["victim@example.com", "VICTIM@Example.com"]))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(queued, MAX_MESSAGES_PER_RECIPIENT_A_DAY);
    // The refused invitation was not kept either.
    assert_eq!(
        app::server::entities::invitation::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        MAX_MESSAGES_PER_RECIPIENT_A_DAY
    );
}

/// Arbitrary text for the stack-wide input test (the app crate's property tests go deeper
/// per parser): anything, printable runs, long text, and address-like shapes.
fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        any::<String>(),
        "[ -~]{0,300}",
        ".{0,3000}",
        "[A-Za-zÉİ0-9._%+\u{301}-]{0,80}@[a-zA-Z0-9İ.-]{0,80}\\.[a-z]{0,6}",
        "(https?|javascript)://[a-zA-Z0-9.%-]{0,60}(/[ -~é]{0,2100})?",
        "\\+[0-9 ()-]{0,30}",
    ]
}

/// Every form field through the real server: whatever is sent, the answer is the change or
/// a field error naming that field, never a server error.
#[tokio::test]
async fn arbitrary_input_in_any_field_gets_a_field_error_never_a_server_error() {
    use proptest::{
        strategy::{Strategy, ValueTree},
        test_runner::TestRunner,
    };

    let app = spawn_app_with(|config| config.signups_per_address = 100_000).await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let mut runner = TestRunner::deterministic();
    let strategy = hostile_text();
    let mut next = || strategy.new_tree(&mut runner).unwrap().current();

    let profile_fields = [
        "name",
        "alert_email",
        "overview",
        "sales_email",
        "phone",
        "website",
        "x_handle",
    ];
    for _ in 0..40 {
        for field in profile_fields {
            let value = next();
            let mut form: Vec<(&str, &str)> = vec![("organization_id", &org)];
            for other in profile_fields {
                form.push((
                    other,
                    if other == field {
                        &value
                    } else if other == "name" {
                        "Acme"
                    } else {
                        ""
                    },
                ));
            }
            let reply = app
                .send(Call::post("/api/organizations/update_profile", &form).session(&owner))
                .await;
            match reply.status {
                StatusCode::OK => {}
                StatusCode::UNPROCESSABLE_ENTITY => {
                    assert!(
                        reply.error().message_for(field).is_some(),
                        "{field}={value:?}: {}",
                        reply.body
                    )
                }
                other => panic!("{field}={value:?}: {other} {}", reply.body),
            }
        }

        let (name, email) = (next(), next());
        let reply = app
            .send(Call::post(
                "/api/accounts/sign_up",
                &[
                    ("name", &name),
                    ("email", &email),
                    ("password", crate::common::PASSWORD),
                ],
            ))
            .await;
        match reply.status {
            StatusCode::OK => {}
            StatusCode::UNPROCESSABLE_ENTITY => {
                let error = reply.error();
                assert!(
                    error.message_for("name").is_some() || error.message_for("email").is_some(),
                    "name={name:?} email={email:?}: {}",
                    reply.body
                )
            }
            other => panic!("name={name:?} email={email:?}: {other} {}", reply.body),
        }

        for field in ["provider_name", "issuer_url", "client_id", "client_secret"] {
            let value = next();
            let mut form: Vec<(&str, &str)> = vec![("organization_id", &org)];
            for (other, valid) in [
                ("provider_name", "Okta"),
                ("issuer_url", "https://login.example.com"),
                ("client_id", "orgdesk"),
                ("client_secret", "secret"),
            ] {
                form.push((other, if other == field { &value } else { valid }));
            }
            let reply = app
                .send(Call::post("/api/sso/save", &form).session(&owner))
                .await;
            match reply.status {
                StatusCode::OK => {}
                StatusCode::UNPROCESSABLE_ENTITY => assert!(
                    reply.error().message_for(field).is_some(),
                    "{field}={value:?}: {}",
                    reply.body
                ),
                other => panic!("{field}={value:?}: {other} {}", reply.body),
            }
        }

        let invitee = next();
        let reply = app
            .send(
                Call::post(
                    "/api/invitations/invite",
                    &[
                        ("organization_id", org.as_str()),
                        ("email", &invitee),
                        ("role", "member"),
                    ],
                )
                .session(&owner),
            )
            .await;
        match reply.status {
            StatusCode::OK => {}
            StatusCode::UNPROCESSABLE_ENTITY => assert!(
                reply.error().message_for("email").is_some(),
                "email={invitee:?}: {}",
                reply.body
            ),
            other => panic!("email={invitee:?}: {other} {}", reply.body),
        }

        let (domain, term, token) = (next(), next(), next());
        for (path, form) in [
            (
                "/api/domains/add",
                vec![("organization_id", org.as_str()), ("domain", &domain)],
            ),
            ("/api/members/list", vec![("query", &term), ("page", "1")]),
            (
                "/api/organizations/directory",
                vec![("query", &term), ("page", "1")],
            ),
            ("/api/invitations/show", vec![("token", &token)]),
            ("/api/accounts/verify_email", vec![("token", &token)]),
            ("/api/accounts/password_reset_link", vec![("token", &token)]),
        ] {
            let reply = app.send(Call::post(path, &form).session(&owner)).await;
            assert!(
                !reply.status.is_server_error(),
                "{path} {form:?}: {} {}",
                reply.status,
                reply.body
            );
        }
    }
}

/// A site folder with one hashed wasm file and its brotli-compressed copy.
fn site_with_a_hashed_bundle() -> tempfile::TempDir {
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(
        site.path().join("pkg/orgdesk.0a1b2c.wasm"),
        "raw wasm bytes",
    )
    .unwrap();
    std::fs::write(
        site.path().join("pkg/orgdesk.0a1b2c.wasm.br"),
        "brotli bytes",
    )
    .unwrap();
    site
}

async fn get_asset(
    app: &crate::common::TestApp,
    path: &str,
    encodings: Option<&str>,
) -> crate::common::Reply {
    let mut request = Request::get(path).header(header::HOST, "localhost");
    if let Some(encodings) = encodings {
        request = request.header(header::ACCEPT_ENCODING, encodings);
    }
    app.reply(request.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn hashed_assets_go_out_precompressed_and_are_kept_for_good() {
    let site = site_with_a_hashed_bundle();
    let root = site.path().display().to_string();
    let app = spawn_app_with(|config| {
        config.leptos.site_root = root.into();
        config.leptos.hash_files = true;
    })
    .await;

    let compressed = get_asset(&app, "/pkg/orgdesk.0a1b2c.wasm", Some("gzip, br")).await;
    assert_eq!(compressed.status, StatusCode::OK);
    assert_eq!(header_of(&compressed, header::CONTENT_ENCODING), "br");
    assert_eq!(compressed.body, "brotli bytes");
    assert_eq!(
        header_of(&compressed, header::CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(header_of(&compressed, header::VARY).contains("accept-encoding"));

    // A client that takes no compression gets the file itself.
    let plain = get_asset(&app, "/pkg/orgdesk.0a1b2c.wasm", None).await;
    assert_eq!(plain.body, "raw wasm bytes");
    assert!(plain.headers.get(header::CONTENT_ENCODING).is_none());

    // A missing file is not cached as if it existed.
    let missing = get_asset(&app, "/pkg/orgdesk.ffffff.wasm", Some("br")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_ne!(
        missing
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("public, max-age=31536000, immutable")
    );
}

#[tokio::test]
async fn unhashed_assets_are_revalidated_on_every_use() {
    let site = site_with_a_hashed_bundle();
    let root = site.path().display().to_string();
    let app = spawn_app_with(|config| {
        config.leptos.site_root = root.into();
        config.leptos.hash_files = false;
    })
    .await;
    let reply = get_asset(&app, "/pkg/orgdesk.0a1b2c.wasm", Some("br")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(header_of(&reply, header::CACHE_CONTROL), "no-cache");
}

/// A statement waiting on a lock, a runaway statement or a transaction a bug left open would
/// hold a connection and its locks past the request's own 30 s: PostgreSQL ends them. The
/// settings are read back through the server's own pool.
#[tokio::test]
async fn postgres_ends_statements_and_transactions_that_would_outlive_a_request() {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    let app = spawn_app().await;
    if app.db.get_database_backend() != DbBackend::Postgres {
        println!(
            "skipped on SQLite: these are PostgreSQL's settings (the PostgreSQL run checks them)"
        );
        return;
    }
    for (setting, expected) in [
        ("statement_timeout", "20s"),
        ("lock_timeout", "10s"),
        ("idle_in_transaction_session_timeout", "1min"),
    ] {
        let shown = app
            .db
            .query_one(Statement::from_string(
                DbBackend::Postgres,
                format!("SHOW {setting}"),
            ))
            .await
            .unwrap()
            .unwrap();
        let value: String = shown.try_get("", setting).unwrap();
        assert_eq!(value, expected, "{setting}");
    }
}

#[tokio::test]
async fn a_logo_upload_that_is_not_a_multipart_form_is_refused_not_a_crash() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    // The server function's codec would panic without a boundary: each is answered 415.
    for content_type in [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
        Some("text/plain; boundary=x"),
    ] {
        let mut request = Request::post("/api/organizations/upload_logo")
            .header(header::HOST, "localhost")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, format!("orgdesk_session={owner}"));
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let body = format!("organization_id={org}");
        let reply = app.reply(request.body(Body::from(body)).unwrap()).await;
        assert_eq!(
            reply.status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}: {}",
            reply.body
        );
        assert!(reply.body.contains("multipart/form-data"), "{}", reply.body);
    }
}

/// The database goes away (a restart, a dropped pool): every kind of route answers 503 with
/// `Retry-After`, never 500, and says nothing of the cause.
#[tokio::test]
async fn a_database_that_goes_away_answers_503_with_retry_after_never_500() {
    let app = spawn_app().await;
    let owner = app.sign_up("Olivia Owner", "olivia@example.com").await;
    let org = app.create_organization(&owner, "Acme").await;
    let key = app
        .create_api_key(&owner, &org, "Sync", &["view_organization"])
        .await;
    // Every connection of this server's pools gone at once.
    app.state.app.reader.clone().close().await.unwrap();
    app.state.app.db.clone().close().await.unwrap();

    let public_page = app.get("/directory", None).await;
    let open_function = app
        .send(Call::post(
            "/api/organizations/directory",
            &[("query", ""), ("page", "1")],
        ))
        .await;
    let signed_in_page = app.get("/organization", Some(&owner)).await;
    let signed_in_function = app
        .send(Call::post("/api/organizations/current", &[]).session(&owner))
        .await;
    let api = app
        .api("GET", "/api/v1/organization", Some(&key), None)
        .await;
    for (what, reply) in [
        ("a public page", &public_page),
        ("an open server function", &open_function),
        ("a signed-in page", &signed_in_page),
        ("a signed-in server function", &signed_in_function),
        ("the API", &api),
    ] {
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{what}: {}",
            reply.body
        );
        assert_eq!(header_of(reply, header::RETRY_AFTER), "5", "{what}");
        assert!(
            !reply.body.to_lowercase().contains("pool"),
            "{what} names no internals: {}",
            reply.body
        );
    }
    assert_eq!(api.problem_type(), "/api/docs#problem-unavailable");
}
