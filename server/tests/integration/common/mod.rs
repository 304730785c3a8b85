//! The test harness: the real router on a fresh database per test (SQLite by default,
//! PostgreSQL when TEST_DATABASE_URL names a server), driven without a socket.

#![expect(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

pub mod dns;
pub mod idp;
pub mod maildev;

use std::{net::SocketAddr, path::Path};

use app::error::AppError;
use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{header, HeaderMap, Request, StatusCode},
    Router,
};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use server::{Config, ServerState};
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    pub state: ServerState,
    _database: TestDatabase,
}

/// A database that exists for one test.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
    /// Another server's database: the first server's guard drops it.
    Borrowed,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop is synchronous; the database is dropped on a runtime of its own.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for cleanup");
                runtime.block_on(async {
                    if let Ok(admin) = Database::connect(&admin_url).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Replaces the database name in a postgres URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let (prefix, _) = base
        .rsplit_once('/')
        .expect("a postgres URL names a database");
    match query {
        Some(query) => format!("{prefix}/{name}?{query}"),
        None => format!("{prefix}/{name}"),
    }
}

/// A fresh, empty database (no migrations run) and its URL; the guard drops it.
pub async fn empty_database() -> (String, TestDatabase) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if admin_url.starts_with("postgres") => {
            let name = format!("orgdesk_test_{:016x}", rand::random::<u64>());
            let admin = Database::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            (
                with_database(&admin_url, &name),
                TestDatabase::Postgres { admin_url, name },
            )
        }
        _ => {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Warnings and errors the server logs (a slow statement, a dropped request) go to the test's
/// captured output, so that a failed test shows them beside its assertion.
fn log_warnings_to_test_output() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("warn")
            .with_test_writer()
            .with_ansi(false)
            .try_init();
    });
}

/// Builds the app on a fresh database, letting the test adjust the configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    log_warnings_to_test_output();
    let (database_url, database) = empty_database().await;
    let mut config = Config::load_from(Path::new("/nonexistent/Leptos.toml"), |_| None)
        .expect("default configuration");
    config.database_url = database_url;
    config.public_url = "http://localhost".into();
    // The test identity provider listens on loopback over plain http.
    config.private_identity_providers = true;
    config.dns_resolver = Some(dns::dns_server().address);
    config.secret_key = Some(app::server::secrets::SecretKey::generate_hex());
    adjust(&mut config);
    // The harness's requests say `Host: localhost`, whatever public URL a test sets.
    config.allowed_hosts.push("localhost".into());
    let state: ServerState = server::state(config).await.expect("connect and migrate");
    TestApp {
        db: state.app.db.clone(),
        router: server::router(state.clone()),
        state,
        _database: database,
    }
}

impl TestApp {
    /// Starts the server again on the same database (as after a deploy), with the
    /// configuration adjusted; on failure the old server keeps running.
    pub async fn restart_with(
        &mut self,
        adjust: impl FnOnce(&mut Config),
    ) -> Result<(), server::StartError> {
        let mut config = (*self.state.config).clone();
        adjust(&mut config);
        let state = server::state(config).await?;
        self.db = state.app.db.clone();
        self.router = server::router(state.clone());
        self.state = state;
        Ok(())
    }
}

impl TestApp {
    /// A second server on this one's database, sharing nothing else with it (its own
    /// connections, caches and mail wake-ups), as a second process behind a load balancer.
    pub async fn another_process(&self) -> TestApp {
        let config = (*self.state.config).clone();
        let state = server::state(config).await.expect("a second server");
        TestApp {
            db: state.app.db.clone(),
            router: server::router(state.clone()),
            state,
            _database: TestDatabase::Borrowed,
        }
    }
}

/// What came back from a request.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The typed error a server function returned.
    pub fn error(&self) -> AppError {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not an AppError ({e}): {} {}", self.status, self.body))
    }

    pub fn field_error(&self, field: &str) -> String {
        self.error()
            .message_for(field)
            .unwrap_or_else(|| panic!("no error for {field}: {:?}", self.error()))
    }

    /// The value of the session cookie this response sets (empty when it removes it).
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookie_line()
            .map(|line| line.split(';').next().unwrap()["orgdesk_session=".len()..].to_string())
    }

    /// The known-device cookie this response sets, if any.
    pub fn device_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("orgdesk_device="))
            .and_then(|v| v.split(';').next())
            .map(str::to_string)
    }

    pub fn set_cookie_line(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("orgdesk_session="))
    }

    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap())
    }

    /// Where a server function told its client to go.
    pub fn redirected_to(&self) -> Option<&str> {
        self.location()
    }
}

/// A request as the app's own pages send it.
pub struct Call<'a> {
    pub path: &'a str,
    pub form: Vec<(&'a str, String)>,
    pub session: Option<&'a str>,
    pub headers: Vec<(&'static str, String)>,
    pub client: Option<SocketAddr>,
}

impl<'a> Call<'a> {
    pub fn post(path: &'a str, form: &[(&'a str, &str)]) -> Self {
        Self {
            path,
            form: form.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            session: None,
            // What the app's own server function client sends.
            headers: vec![
                ("sec-fetch-site", "same-origin".into()),
                ("accept", "application/json".into()),
            ],
            client: None,
        }
    }

    pub fn session(mut self, token: &'a str) -> Self {
        self.session = Some(token);
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self.headers.push((name, value.to_string()));
        self
    }

    pub fn without_header(mut self, name: &'static str) -> Self {
        self.headers.retain(|(n, _)| *n != name);
        self
    }

    pub fn client_at(mut self, address: &str) -> Self {
        self.client = Some(format!("{address}:40000").parse().unwrap());
        self
    }
}

impl TestApp {
    pub async fn send(&self, call: Call<'_>) -> Reply {
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(call.form.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        let mut request = Request::post(call.path)
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some(token) = call.session {
            request = request.header(header::COOKIE, format!("orgdesk_session={token}"));
        }
        let mut request = request.body(Body::from(body)).unwrap();
        if let Some(client) = call.client {
            request.extensions_mut().insert(ConnectInfo(client));
        }
        self.reply(request).await
    }

    pub async fn get(&self, path: &str, session: Option<&str>) -> Reply {
        let mut request = Request::get(path)
            .header(header::HOST, "localhost")
            .header(header::ACCEPT, "text/html");
        if let Some(token) = session {
            request = request.header(header::COOKIE, format!("orgdesk_session={token}"));
        }
        self.reply(request.body(Body::empty()).unwrap()).await
    }

    /// Sends a request built by the test as it is.
    pub async fn reply(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Signs a new user up and returns their session token.
    /// Signs up as a person does: the form, then the mailed link confirmed with the
    /// password. Returns the session cookie the confirmation sets.
    pub async fn sign_up(&self, name: &str, email: &str) -> String {
        self.sign_up_pending(name, email).await;
        let confirmed = self.confirm_email(email, PASSWORD).await;
        assert_eq!(
            confirmed.status,
            StatusCode::OK,
            "confirming failed: {}",
            confirmed.body
        );
        confirmed
            .session_cookie()
            .expect("confirming the address signs in")
    }

    /// Only the sign-up form: the account waits for its address to be confirmed, signed
    /// out.
    pub async fn sign_up_pending(&self, name: &str, email: &str) -> Reply {
        let reply = self
            .send(Call::post(
                "/api/accounts/sign_up",
                &[("name", name), ("email", email), ("password", PASSWORD)],
            ))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "sign up failed: {}",
            reply.body
        );
        assert_eq!(reply.redirected_to(), Some("/verify-email?result=sent"));
        assert!(
            reply.session_cookie().is_none_or(|c| c.is_empty()),
            "a sign-up alone never signs in"
        );
        reply
    }

    /// Presses "Confirm my email" on the newest verification link mailed to `email`.
    pub async fn confirm_email(&self, email: &str, password: &str) -> Reply {
        let token = self.mailed_token(email, "/verify-email").await;
        let token = token.split('&').next().unwrap_or_default().to_string();
        self.send(Call::post(
            "/api/accounts/verify_email",
            &[("token", &token), ("password", password)],
        ))
        .await
    }

    /// A session of an account whose address was never confirmed, as servers before
    /// confirmation-first sign-up made them (those sessions may still be live).
    pub async fn legacy_unverified_session(&self, name: &str, email: &str) -> String {
        self.sign_up_pending(name, email).await;
        let user_id = self.user_id_by_email(email).await;
        let origin = app::server::session::SignInOrigin::new(
            app::server::session::SignInMethod::Password,
            &Default::default(),
            None,
        );
        let txn = sea_orm::TransactionTrait::begin(&self.db).await.unwrap();
        let token = app::server::session::start(&txn, user_id, &origin)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        token
    }

    /// Sends a multipart form: text fields, then files as (field, file name, type, bytes).
    pub async fn send_multipart(
        &self,
        path: &str,
        session: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &str, &[u8])],
    ) -> Reply {
        const BOUNDARY: &str = "orgdesk-test-boundary-7d1f";
        let mut body = Vec::new();
        for (name, value) in fields {
            body.extend_from_slice(
                format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, file_name, content_type, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        let request = Request::post(path)
            .header(header::HOST, "localhost")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .header(header::ACCEPT, "application/json")
            .header("sec-fetch-site", "same-origin")
            .header(header::COOKIE, format!("orgdesk_session={session}"))
            .body(Body::from(body))
            .unwrap();
        self.reply(request).await
    }

    /// Calls a server function and decodes its JSON answer.
    pub async fn call_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        session: Option<&str>,
    ) -> T {
        let mut call = Call::post(path, form);
        if let Some(token) = session {
            call = call.session(token);
        }
        let reply = self.send(call).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.body);
        serde_json::from_str(&reply.body).unwrap_or_else(|e| panic!("{path}: {e}: {}", reply.body))
    }

    /// Creates an organization as the session's user and returns its public ID.
    pub async fn create_organization(&self, session: &str, name: &str) -> String {
        let reply = self
            .send(Call::post("/api/organizations/create", &[("name", name)]).session(session))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "create failed: {}",
            reply.body
        );
        let mine: app::organizations::api::MyOrganizationsPage = self
            .call_json(
                "/api/organizations/mine",
                &[("query", ""), ("page", "1")],
                Some(session),
            )
            .await;
        mine.current
            .expect("the new organization is current")
            .public_id
    }

    /// The user behind a session.
    /// The id of the account at `email` (normalized).
    pub async fn user_id_by_email(&self, email: &str) -> i32 {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        app::server::entities::user::Entity::find()
            .filter(app::server::entities::user::Column::EmailNormalized.eq(email.to_lowercase()))
            .one(&self.db)
            .await
            .unwrap()
            .expect("an account at this address")
            .id
    }

    pub async fn user_id(&self, session: &str) -> i32 {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        app::server::entities::session::Entity::find()
            .filter(
                app::server::entities::session::Column::TokenHash
                    .eq(app::server::tokens::hash_token(session)),
            )
            .one(&self.db)
            .await
            .unwrap()
            .expect("a live session")
            .user_id
    }

    /// The session user's membership in the organization, if any.
    pub async fn membership_of(
        &self,
        session: &str,
        public_id: &str,
    ) -> Option<app::server::entities::membership::Model> {
        use app::server::entities::{membership, organization};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let user_id = self.user_id(session).await;
        let org = organization::Entity::find()
            .filter(organization::Column::PublicId.eq(public_id))
            .one(&self.db)
            .await
            .unwrap()
            .expect("the organization");
        membership::Entity::find()
            .filter(membership::Column::UserId.eq(user_id))
            .filter(membership::Column::OrganizationId.eq(org.id))
            .one(&self.db)
            .await
            .unwrap()
    }

    /// Adds a user to an organization with a role, as an accepted invitation would.
    pub async fn join(&self, session: &str, public_id: &str, role: app::members::roles::Role) {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
        let user_id = self.user_id(session).await;
        let org = app::server::entities::organization::Entity::find()
            .filter(app::server::entities::organization::Column::PublicId.eq(public_id))
            .one(&self.db)
            .await
            .unwrap()
            .unwrap();
        let txn = self.db.begin().await.unwrap();
        app::members::memberships::join_organization(
            &txn,
            user_id,
            org.id,
            role,
            chrono::Utc::now(),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
    }

    /// The link (from the public URL up to the end of its line) in the newest queued
    /// message to `to` whose link path starts with `path`.
    pub async fn mailed_link(&self, to: &str, path: &str) -> String {
        use app::server::entities::mail_outbox;
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        // Any public URL: the path after its host.
        let has_path = |line: &str| {
            line.split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].starts_with(path)))
                .unwrap_or(false)
        };
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Recipient.eq(to))
            .order_by_desc(mail_outbox::Column::Id)
            .all(&self.db)
            .await
            .unwrap()
            .into_iter()
            .find_map(|m| {
                m.text_body
                    .lines()
                    .find(|line| line.starts_with("http") && has_path(line))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| panic!("no queued message to {to} with a {path} link"))
    }

    /// The token in the newest `path` link mailed to `to`.
    pub async fn mailed_token(&self, to: &str, path: &str) -> String {
        let link = self.mailed_link(to, path).await;
        link.split("token=").nth(1).expect("a token").to_string()
    }

    pub async fn log_in(&self, email: &str, password: &str) -> Reply {
        self.send(Call::post(
            "/api/accounts/log_in",
            &[("email", email), ("password", password)],
        ))
        .await
    }

    /// GET as a browser carrying `cookies` (e.g. "orgdesk_sso=…; orgdesk_session=…").
    pub async fn get_with_cookies(&self, path: &str, cookies: &str) -> Reply {
        let request = Request::get(path)
            .header(header::HOST, "localhost")
            .header(header::ACCEPT, "text/html")
            .header(header::COOKIE, cookies);
        self.reply(request.body(Body::empty()).unwrap()).await
    }

    /// Proves each of `domains` (space-separated) as an owner does, then saves the test
    /// provider as the organization's identity provider; returns the save's reply.
    pub async fn configure_sso(&self, owner: &str, public_id: &str, domains: &str) -> Reply {
        for domain in domains.split_whitespace() {
            self.verify_domain(owner, public_id, domain).await;
        }
        self.save_sso_settings(owner, public_id).await
    }

    /// Saves the test provider as the organization's identity provider.
    pub async fn save_sso_settings(&self, owner: &str, public_id: &str) -> Reply {
        let provider = idp::identity_provider();
        self.send(
            Call::post(
                "/api/sso/save",
                &[
                    ("organization_id", public_id),
                    ("provider_name", "Test IdP"),
                    ("issuer_url", &provider.issuer),
                    ("client_id", idp::CLIENT_ID),
                    ("client_secret", idp::CLIENT_SECRET),
                ],
            )
            .session(owner),
        )
        .await
    }

    /// Adds `domain` to the organization; returns the reply.
    pub async fn add_domain(&self, owner: &str, public_id: &str, domain: &str) -> Reply {
        self.send(
            Call::post(
                "/api/domains/add",
                &[("organization_id", public_id), ("domain", domain)],
            )
            .session(owner),
        )
        .await
    }

    /// The domain's row as stored.
    pub async fn domain_row(
        &self,
        public_id: &str,
        domain: &str,
    ) -> app::server::entities::organization_domain::Model {
        use app::server::entities::{organization, organization_domain};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let org = organization::Entity::find()
            .filter(organization::Column::PublicId.eq(public_id))
            .one(&self.db)
            .await
            .unwrap()
            .expect("the organization");
        organization_domain::Entity::find()
            .filter(organization_domain::Column::OrganizationId.eq(org.id))
            // As typed: stored in its ASCII form.
            .filter(
                organization_domain::Column::Domain
                    .eq(app::accounts::rules::ascii_domain(domain).unwrap_or_default()),
            )
            .one(&self.db)
            .await
            .unwrap()
            .expect("the domain was added")
    }

    /// Publishes the domain's TXT challenge on the test DNS server.
    pub async fn publish_challenge(&self, public_id: &str, domain: &str) {
        use app::domains::rules::{challenge_name, challenge_value};
        let row = self.domain_row(public_id, domain).await;
        dns::dns_server()
            .publish(
                &challenge_name(&row.domain),
                &challenge_value(&row.challenge),
            )
            .await;
    }

    /// Presses Verify for the domain; returns the reply.
    pub async fn press_verify(&self, owner: &str, public_id: &str, domain: &str) -> Reply {
        self.send(
            Call::post(
                "/api/domains/verify",
                &[("organization_id", public_id), ("domain", domain)],
            )
            .session(owner),
        )
        .await
    }

    /// The whole proof, as an owner does it: add the domain, publish its record, verify.
    pub async fn verify_domain(&self, owner: &str, public_id: &str, domain: &str) {
        let added = self.add_domain(owner, public_id, domain).await;
        assert_eq!(added.status, StatusCode::OK, "add {domain}: {}", added.body);
        self.publish_challenge(public_id, domain).await;
        let verified = self.press_verify(owner, public_id, domain).await;
        assert_eq!(
            verified.status,
            StatusCode::OK,
            "verify {domain}: {}",
            verified.body
        );
    }

    /// Follows a redirect to the provider (the reply of a server function that started a
    /// sign-in) through its login form as `login`, then Orgdesk's callback; returns the
    /// callback's reply.
    pub async fn through_provider(
        &self,
        started: &Reply,
        login: &str,
        session: Option<&str>,
    ) -> Reply {
        let (authorization_url, browser) = self.provider_redirect(started).await;
        let callback = idp::identity_provider()
            .sign_in(&authorization_url, login)
            .await;
        self.sso_callback(&callback, &browser, session).await
    }

    /// Orgdesk's SSO callback as the browser that started the sign-in.
    pub async fn sso_callback(
        &self,
        callback: &str,
        browser: &str,
        session: Option<&str>,
    ) -> Reply {
        let mut cookies = format!("orgdesk_sso={browser}");
        if let Some(token) = session {
            cookies.push_str(&format!("; orgdesk_session={token}"));
        }
        self.get_with_cookies(callback, &cookies).await
    }

    /// Runs Test connection as `tester` at the provider; returns the callback's reply.
    pub async fn test_sso(&self, owner: &str, public_id: &str, tester: &str) -> Reply {
        let started = self
            .send(Call::post("/api/sso/test", &[("organization_id", public_id)]).session(owner))
            .await;
        assert_eq!(started.status, StatusCode::OK, "test: {}", started.body);
        self.through_provider(&started, tester, Some(owner)).await
    }

    pub async fn set_sso_enabled(&self, owner: &str, public_id: &str, enabled: bool) -> Reply {
        self.send(
            Call::post(
                "/api/sso/set_enabled",
                &[
                    ("organization_id", public_id),
                    ("enabled", if enabled { "true" } else { "false" }),
                ],
            )
            .session(owner),
        )
        .await
    }

    /// An organization whose owner (at `domain`) configured, tested and enabled SSO for
    /// `domain`. Returns the owner's session and the organization's public ID.
    pub async fn sso_organization(&self, domain: &str) -> (String, String) {
        let owner_email = format!("owner-{}@{domain}", rand::random::<u32>());
        let owner = self.sign_up("Olivia Owner", &owner_email).await;
        let public_id = self.create_organization(&owner, "Acme SSO").await;
        let saved = self.configure_sso(&owner, &public_id, domain).await;
        assert_eq!(saved.status, StatusCode::OK, "save: {}", saved.body);
        let tested = self.test_sso(&owner, &public_id, &owner_email).await;
        assert_eq!(
            tested.location(),
            Some("/organization/profile?tab=settings&sso=tested"),
            "the test sign-in passes"
        );
        let enabled = self.set_sso_enabled(&owner, &public_id, true).await;
        assert_eq!(enabled.status, StatusCode::OK, "enable: {}", enabled.body);
        (owner, public_id)
    }

    /// The login page's email step for `email`: the reply that sends the browser on to
    /// the provider.
    pub async fn sso_start(&self, email: &str) -> Reply {
        let started = self
            .send(Call::post("/api/sso/continue_login", &[("email", email)]))
            .await;
        assert_eq!(started.status, StatusCode::OK, "continue: {}", started.body);
        started
    }

    /// The email step, then the provider's form as `login`, stopping before Orgdesk's
    /// callback: returns the callback's path and query, and the browser's binding cookie.
    pub async fn sso_until_callback(&self, email: &str, login: &str) -> (String, String) {
        let (authorization_url, browser) =
            self.provider_redirect(&self.sso_start(email).await).await;
        let callback = idp::identity_provider()
            .sign_in(&authorization_url, login)
            .await;
        (callback, browser)
    }

    /// The email step, the provider as `login`, then the callback: the reply that signs the
    /// user in (or sends them back to the login page).
    pub async fn sso_log_in(&self, email: &str, login: &str) -> Reply {
        let (callback, browser) = self.sso_until_callback(email, login).await;
        self.sso_callback(&callback, &browser, None).await
    }
}

impl TestApp {
    /// Where a started sign-in sends the browser (through Orgdesk's hand-off page), and
    /// the browser-binding cookie it set.
    pub async fn provider_redirect(&self, started: &Reply) -> (String, String) {
        assert_eq!(
            started.location(),
            Some("/sso/continue"),
            "no redirect to the hand-off page: {} {}",
            started.status,
            started.body
        );
        let browser = started
            .headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .find_map(|v| v.strip_prefix("orgdesk_sso="))
            .and_then(|v| v.split(';').next())
            .expect("the sign-in sets its browser cookie")
            .to_string();
        let hand_off = self
            .get_with_cookies("/sso/continue", &format!("orgdesk_sso={browser}"))
            .await;
        (hand_off_target(&hand_off), browser)
    }
}

/// The provider URL an Orgdesk hand-off page refreshes to (its link says the same).
pub fn hand_off_target(page: &Reply) -> String {
    assert_eq!(page.status, StatusCode::OK, "hand-off page: {}", page.body);
    let refresh = page
        .body
        .split("http-equiv=\"refresh\" content=\"0;url=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no refresh on the hand-off page: {}", page.body));
    refresh.replace("&amp;", "&").replace("&quot;", "\"")
}
