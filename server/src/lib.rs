//! The Orgdesk server: configuration, database, middleware and the leptos_axum router.
//! `main.rs` is only the command line around [`serve`].

pub mod api_docs;
pub mod config;
pub mod db;
pub mod logos;
pub mod mail;
pub mod middleware;
pub mod secret_key;
pub mod staff;

use std::{net::SocketAddr, sync::Arc};

use app::{
    server::{AppState, AppStateParts},
    shell, App,
};
use axum::{extract::FromRef, routing::get, Router};
use leptos::{config::LeptosOptions, prelude::provide_context};
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::{limit::RequestBodyLimitLayer, timeout::TimeoutLayer, trace::TraceLayer};

pub use config::Config;

/// The router's state: the Leptos options (for rendering and static files) and what the
/// app's server functions use. Copied for each middleware of each request, so it is one
/// shared allocation.
#[derive(Clone)]
pub struct ServerState(Arc<ServerStateParts>);

/// What [`ServerState`] holds.
pub struct ServerStateParts {
    pub leptos: LeptosOptions,
    pub app: AppState,
    pub config: Arc<Config>,
}

impl std::ops::Deref for ServerState {
    type Target = ServerStateParts;
    fn deref(&self) -> &ServerStateParts {
        &self.0
    }
}

impl FromRef<ServerState> for AppState {
    fn from_ref(state: &ServerState) -> Self {
        state.app.clone()
    }
}

impl FromRef<ServerState> for LeptosOptions {
    fn from_ref(state: &ServerState) -> Self {
        state.leptos.clone()
    }
}

/// Server functions take form fields and small JSON bodies...
const MAX_REQUEST_BODY: usize = 64 * 1024;
/// ...except a logo upload: 2 MiB of image and the multipart framing around it...
const MAX_UPLOAD_BODY: usize = 2 * 1024 * 1024 + 64 * 1024;
/// ...and a SAML provider's metadata: up to 512 KiB of XML, which form encoding may triple.
const MAX_METADATA_FORM_BODY: usize = 2 * 1024 * 1024;

/// ...and a SCIM request: a group of thousands of members replaced at once.
const MAX_SCIM_BODY: usize = 1024 * 1024;

/// The most a request to `path` may carry.
fn body_limit(path: &str) -> usize {
    match path {
        "/api/organizations/upload_logo" => MAX_UPLOAD_BODY,
        "/api/sso/save_saml" | "/api/sso/upload_saml_metadata" => MAX_METADATA_FORM_BODY,
        scim if scim.starts_with(app::directory_sync::SCIM_BASE_PATH) => MAX_SCIM_BODY,
        _ => MAX_REQUEST_BODY,
    }
}

/// A request that takes longer (a provider that does not answer, a client that trickles
/// its body) is answered 408 and its work dropped.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// How often the mail worker looks for mail it was not woken for (queued by another
/// process, or due for a retry).
const MAIL_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// Connects to the database (migrating it) and builds the state the router runs on.
pub async fn state(config: Config) -> Result<ServerState, StartError> {
    let db::Connections { writer: db, reader } =
        db::connect_and_migrate(&config.database_url).await?;
    let dns = app::server::dns::DomainResolver::new(config.dns_resolver);
    let secrets = secret_key::load(&config)?;
    // Every sealed column under the current key (client secrets stored before sealing
    // existed, anything under a key being rotated out); a value no key opens stops the
    // start, naming the key it needs.
    let resealed = app::server::sealed::reseal_all(&db, &secrets).await?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            key = secrets.current_key_id(),
            "sealed stored secrets again"
        );
    }
    // Members from before the search index get their search terms.
    let indexed = app::members::service::index_unindexed_members(&db).await?;
    if indexed > 0 {
        tracing::info!(indexed, "indexed members for search");
    }
    Ok(ServerState(Arc::new(ServerStateParts {
        leptos: config.leptos.clone(),
        app: AppState::new(AppStateParts {
            db,
            reader,
            settings: Arc::new(config.app_settings()),
            mail_wakeup: Arc::new(tokio::sync::Notify::new()),
            identity: app::server::identity_providers::IdentityProviders::new(
                config.private_identity_providers,
            ),
            dns,
            secrets,
            rate_counts: Default::default(),
        }),
        config: Arc::new(config),
    })))
}

/// Why the server's state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    #[error("{0}")]
    SecretKey(#[from] secret_key::SecretKeyError),
    #[error("{0}")]
    Reseal(#[from] app::server::sealed::ResealError),
}

/// How often this process sweeps out expired sessions, links, sign-ins and throttle rows.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Deletes what no longer serves (expired sessions and links, old throttle rows, the
/// bodies of undeliverable mail) once an hour.
pub fn spawn_sweeps(state: &ServerState) {
    let db = state.app.db.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_EVERY);
        loop {
            ticks.tick().await;
            match app::server::sweep::sweep(&db, chrono::Utc::now()).await {
                Ok(swept) => tracing::debug!(?swept, "swept expired rows"),
                Err(err) => tracing::error!(error = %err, "the sweep failed"),
            }
            match app::public_api::gate::sweep(&db, chrono::Utc::now()).await {
                Ok(swept) => tracing::debug!(swept, "swept API rate windows and idempotency keys"),
                Err(err) => tracing::error!(error = %err, "the API sweep failed"),
            }
            match app::webhooks::service::sweep(&db, chrono::Utc::now()).await {
                Ok(swept) => tracing::debug!(swept, "swept old webhook events and secrets"),
                Err(err) => tracing::error!(error = %err, "the webhook sweep failed"),
            }
        }
    });
}

/// How often this process looks for verified domains due for their daily re-check.
const DOMAIN_RECHECK_POLL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Re-checks verified domains' DNS records in the background (each once a day; several
/// processes share the work through the database).
pub fn spawn_domain_rechecks(state: &ServerState) {
    let app = state.app.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(DOMAIN_RECHECK_POLL);
        loop {
            ticks.tick().await;
            match app::domains::service::recheck_due(&app, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(lapsed) => tracing::warn!(lapsed, "domains lost their verification"),
                Err(err) => tracing::error!(error = %err, "the daily domain re-check failed"),
            }
        }
    });
}

/// Fetches SAML providers' metadata URLs again daily and warns of expiring certificates
/// (several processes share the work through the database).
pub fn spawn_saml_upkeep(state: &ServerState) {
    let app = state.app.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(DOMAIN_RECHECK_POLL);
        loop {
            ticks.tick().await;
            match app::sso::saml::upkeep::run_due(&app, chrono::Utc::now()).await {
                Ok(upkeep) => tracing::debug!(?upkeep, "SAML upkeep"),
                Err(err) => tracing::error!(error = %err, "the SAML upkeep failed"),
            }
        }
    });
}

/// How often this process looks for API keys to warn about or record as expired.
const API_KEY_UPKEEP_POLL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Warns owners of API keys that expire within 7 days and audits expired keys (several
/// processes share the work through the database).
pub fn spawn_api_key_upkeep(state: &ServerState) {
    let app = state.app.clone();
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(API_KEY_UPKEEP_POLL);
        loop {
            ticks.tick().await;
            match app::api_keys::service::run_upkeep(&app, chrono::Utc::now()).await {
                Ok(upkeep) => tracing::debug!(?upkeep, "API key upkeep"),
                Err(err) => tracing::error!(error = %err, "the API key upkeep failed"),
            }
        }
    });
}

/// The mail worker for this state's database and settings.
pub fn mail_worker(state: &ServerState) -> Result<mail::MailWorker, mail::MailSetupError> {
    let transport =
        mail::Transport::from_settings(state.config.smtp_url.as_deref(), &state.config.mail_dir)?;
    mail::MailWorker::new(
        state.app.db.clone(),
        transport,
        &state.config.mail_from,
        state.app.mail_wakeup.clone(),
        MAIL_POLL,
    )
}

/// The app's routes, listed once per process. Listing them renders the app with resource
/// loading switched off for the whole process (a global flag in leptos_server), and a page
/// whose resource is first polled meanwhile on another thread never finishes
/// (leptos-rs/leptos#4773). Built once, before any router can serve, the window never
/// overlaps a render, however many routers a process builds (tests build one per test).
static ROUTES: std::sync::LazyLock<Vec<leptos_axum::AxumRouteListing>> =
    std::sync::LazyLock::new(|| generate_route_list(App));

/// Every route: the app's pages and server functions behind the middleware, plus a bare
/// health check for load balancers.
pub fn router(state: ServerState) -> Router {
    let routes = ROUTES.clone();
    let context = {
        let app_state = state.app.clone();
        move || {
            provide_context(app_state.clone());
            // The nonce the security-headers middleware named in this response's CSP, for
            // Leptos's inline scripts (replacing the one leptos_axum made up).
            let nonce = leptos::prelude::use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<leptos::nonce::Nonce>().cloned());
            if let Some(nonce) = nonce {
                provide_context(nonce);
            }
        }
    };
    let app_routes = Router::new()
        // The provider's callback sits behind the session middleware like the pages: it
        // must know who, if anyone, is signed in in this browser.
        .route("/sso/callback", get(app::sso::callback::callback))
        .route(
            app::sso::callback::CONTINUE_PATH,
            get(app::sso::callback::continue_to_provider),
        )
        .route(
            app::sso::saml::FINISH_PATH,
            get(app::sso::saml::routes::finish),
        )
        .route(
            app::audit::export::EXPORT_PATH,
            get(app::audit::export::export),
        )
        .route(
            "/settings/two-factor/recovery-codes/download",
            get(app::accounts::factors::download::recovery_codes_file),
        )
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = state.leptos.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            ServerState,
            _,
        >(context, shell))
        .layer(axum::middleware::from_fn(middleware::error_status))
        .layer(axum::middleware::from_fn(middleware::untrusted_form_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::sessions,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::cross_site_guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::client_address,
        ))
        .layer(axum::middleware::from_fn(limit_small_bodies))
        .layer(RequestBodyLimitLayer::new(MAX_UPLOAD_BODY))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(axum::middleware::map_response(log_timeouts));
    // The public API: bearer keys only (no session, no cookies, so no cross-site guard);
    // its own body limit and problem documents.
    let public_api = Router::new()
        .nest("/api/v1", app::public_api::router(&state.app))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::client_address,
        ))
        .layer(axum::middleware::from_fn(limit_small_bodies))
        .layer(RequestBodyLimitLayer::new(MAX_UPLOAD_BODY))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state.app.clone());
    // Directory sync (SCIM): bearer tokens only, like the public API.
    let scim = Router::new()
        .nest(
            app::directory_sync::SCIM_BASE_PATH,
            app::directory_sync::routes::router(&state.app),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::client_address,
        ))
        .layer(axum::middleware::from_fn(limit_small_bodies))
        .layer(RequestBodyLimitLayer::new(MAX_UPLOAD_BODY))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .with_state(state.app.clone());
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .merge(public_api)
        .merge(scim)
        // The API reference: a static page and Swagger UI's files (no session).
        .route("/api/docs", get(api_docs::page))
        .route("/api/docs/{file}", get(api_docs::file))
        .route("/logos/{public_id}/{file}", get(logos::serve_logo))
        // SAML: the SP metadata, and the ACS, which the provider's site posts to (so it sits
        // outside the cross-site guard; it never creates a session, the finish page does).
        .route(
            "/sso/saml/{public_id}",
            get(app::sso::saml::routes::sp_metadata),
        )
        .route(
            "/sso/saml/{public_id}/acs",
            axum::routing::post(app::sso::saml::routes::acs),
        )
        .merge(app_routes)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::asset_caching,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::allowed_host,
        ))
        // Spans name the path only: query strings carry link tokens, which logs must not.
        .layer(TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            },
        ))
        .with_state(state)
}

/// A request dropped by the timeout is a warning (inside the request's span, which names
/// the path): the 408 alone would say nothing about where the time went.
async fn log_timeouts(response: axum::response::Response) -> axum::response::Response {
    if response.status() == http::StatusCode::REQUEST_TIMEOUT {
        tracing::warn!("no answer within {REQUEST_TIMEOUT:?}: the request was dropped");
    }
    response
}

/// Refuses bodies over their path's [`body_limit`]: at once by their declared length, and
/// by the bytes actually read when they declare none (a chunked body stops being read at
/// the limit, and the request fails).
async fn limit_small_bodies(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Multipart server functions (server_fn panics on a body that is not multipart).
    let upload = matches!(
        req.uri().path(),
        "/api/organizations/upload_logo" | "/api/sso/upload_saml_metadata"
    );
    let limit = body_limit(req.uri().path());
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if !upload && declared.is_some_and(|length| length > limit) {
        return (
            http::StatusCode::PAYLOAD_TOO_LARGE,
            "The request is too large.",
        )
            .into_response();
    }
    if upload {
        // server_fn panics on an upload that is not a multipart form with a boundary: refuse
        // it here, as its codec would have.
        let multipart = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|content_type| multer::parse_boundary(content_type).is_ok());
        if !multipart {
            return (
                http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "This upload must be sent as a multipart form (multipart/form-data with a boundary).",
            )
                .into_response();
        }
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}

/// How often the webhook worker looks for due deliveries (events are queued by whichever
/// process made the change).
const WEBHOOK_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// The webhook worker of this process.
pub fn webhook_worker(state: &ServerState) -> app::webhooks::worker::WebhookWorker {
    app::webhooks::worker::WebhookWorker::new(&state.app, WEBHOOK_POLL)
}

/// Serves until Ctrl-C or SIGTERM, finishing requests in flight.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let addr = config.leptos.site_addr;
    let state = state(config).await?;
    let worker = mail_worker(&state)?;
    match &state.config.smtp_url {
        Some(_) => tracing::info!("mail goes out through SMTP_URL"),
        None => tracing::info!(
            "no SMTP_URL: mail is written to {} and logged",
            state.config.mail_dir.display()
        ),
    }
    worker.spawn();
    webhook_worker(&state).spawn();
    spawn_domain_rechecks(&state);
    spawn_saml_upkeep(&state);
    spawn_api_key_upkeep(&state);
    spawn_sweeps(&state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!("Orgdesk is listening on http://{addr}");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
