//! The test harness: the real router on a fresh database per test (SQLite by default,
//! PostgreSQL when TEST_DATABASE_URL names a server), driven without a socket.

pub mod api;
pub mod database;
pub mod dns;
pub mod http;
pub mod idp;
pub mod maildev;
pub mod saml;
pub mod saml_idp;
pub mod samlify;
pub mod scim;
pub mod sso;
pub mod steps;
pub mod webhooks;

pub use http::{Call, Reply};
pub use sso::hand_off_target;

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
    /// The folder holding the database file, removed when the test ends.
    Sqlite {
        _folder: tempfile::TempDir,
    },
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
            (url, TestDatabase::Sqlite { _folder: dir })
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
    config.private_webhook_destinations = true;
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
