//! What every API request passes before its handler, in one middleware: the key checked
//! once (its caller handed to the handler), the rate limits per key and per organization
//! (counted in the database, so every server process shares them), and `Idempotency-Key`
//! on POST (the first answer kept 24 hours and replayed; other parameters under the same
//! key refused; a parallel retry refused while the first is still running).

use axum::{
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{header, HeaderName, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, DurationRound, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait,
    QueryFilter, Set, SqlErr,
};
use sha2::{Digest, Sha256};

use super::problem::{ApiError, ProblemKind};
use crate::{
    api_keys::service::{authenticate, note_use, ApiCaller, KeyRefusal},
    server::{
        entities::{api_idempotency_key, api_rate_window},
        ApiRateLimits, AppState, ClientAddress,
    },
};

/// The window both limits count in.
const WINDOW_SECONDS: i64 = 60;
/// How long an `Idempotency-Key` and its answer are kept.
fn idempotency_lifetime() -> Duration {
    Duration::hours(24)
}
/// The largest answer kept for replay (the API's answers are far smaller).
const MAX_KEPT_RESPONSE: usize = 1024 * 1024;
/// The largest body read for the request's hash (the router's own limit is lower).
const MAX_HASHED_BODY: usize = 4 * 1024 * 1024;

const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
const RATE_LIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATE_LIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// The operations that need no key: the OpenAPI document (the path as the nested router
/// sees it, or whole). Nothing else is open: a handler's caller comes only from here.
fn is_open(path: &str) -> bool {
    matches!(path, "/openapi.json" | "/api/v1/openapi.json")
}

pub async fn gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if is_open(req.uri().path()) {
        return next.run(req).await;
    }
    let now = Utc::now();
    // Read before any await: a request's body is not Sync, so no reference to it may be held.
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_string);
    let address = req
        .extensions()
        .get::<ClientAddress>()
        .map(|ClientAddress(ip)| ip.to_string());
    let caller = match caller_of(&state, authorization.as_deref(), address.as_deref(), now).await {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let limits = match count_request(&state, &caller, now).await {
        Ok(limits) => limits,
        Err(err) => return ApiError::from(err).into_response(),
    };
    if let Some(refused) = limits.refusal() {
        return limits.with_headers(refused.into_response());
    }
    // The operation's scope, before its handler reads the body or the path's IDs: a key
    // without it learns nothing about them.
    let scope = req
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| super::document::scope_of(req.method().as_str(), path.as_str()));
    if let Some(scope) = scope {
        if let Err(refused) = super::auth::Caller(caller.clone()).require(scope) {
            return limits.with_headers(refused.into_response());
        }
    }
    req.extensions_mut().insert(caller.clone());
    let response = if req.method() == Method::POST && req.headers().contains_key(IDEMPOTENCY_KEY) {
        idempotent(&state, &caller, req, next, now).await
    } else {
        next.run(req).await
    };
    limits.with_headers(response)
}

/// The request's key, checked, and its use noted.
async fn caller_of(
    state: &AppState,
    authorization: Option<&str>,
    address: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ApiCaller, ApiError> {
    let invalid = || {
        ApiError::unauthenticated(
            "The API key is not valid: it may be mistyped, revoked or expired.",
        )
    };
    let presented = authorization
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .ok_or_else(|| {
            ApiError::unauthenticated("Send an organization API key: Authorization: Bearer odk_…")
        })?;
    let caller =
        authenticate(&state.reader, presented, now)
            .await
            .map_err(|refusal| match refusal {
                KeyRefusal::Lookup(err) => ApiError::from(err),
                refusal => {
                    tracing::info!(?refusal, "an API key was refused");
                    invalid()
                }
            })?;
    if let Err(err) = note_use(&state.db, &caller, address, now).await {
        // Bookkeeping: the request itself goes on.
        tracing::warn!(error = %err, key_id = caller.key.id, "an API key's use was not noted");
    }
    Ok(caller)
}

/// Where a request stands against both limits in this window.
struct Limits {
    allowed: ApiRateLimits,
    key_used: i32,
    organization_used: i32,
    resets_in: i64,
}

impl Limits {
    fn refusal(&self) -> Option<ApiError> {
        let ApiRateLimits {
            per_key,
            per_organization,
        } = self.allowed;
        let over = if self.key_used > per_key {
            Some(format!(
                "This key made more than {per_key} requests this minute."
            ))
        } else if self.organization_used > per_organization {
            Some(format!(
                "This organization's keys made more than {per_organization} requests this minute."
            ))
        } else {
            None
        };
        over.map(|detail| {
            ApiError::new(
                ProblemKind::RateLimited,
                format!("{detail} Try again in {} seconds.", self.resets_in),
            )
            .header(header::RETRY_AFTER, HeaderValue::from(self.resets_in))
        })
    }

    /// The `RateLimit-Policy` and `RateLimit` fields (draft-ietf-httpapi-ratelimit-headers):
    /// both policies, and what remains of each.
    fn with_headers(&self, mut response: Response) -> Response {
        let ApiRateLimits {
            per_key,
            per_organization,
        } = self.allowed;
        let policy = format!(
            "\"key\";q={per_key};w={WINDOW_SECONDS}, \"organization\";q={per_organization};w={WINDOW_SECONDS}"
        );
        let remaining = format!(
            "\"key\";r={};t={}, \"organization\";r={};t={}",
            (per_key - self.key_used).max(0),
            self.resets_in,
            (per_organization - self.organization_used).max(0),
            self.resets_in
        );
        let headers = response.headers_mut();
        for (name, value) in [(RATE_LIMIT_POLICY, policy), (RATE_LIMIT, remaining)] {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

/// Counts the request in this window for the key and for its organization, in the counts
/// every server process shares (see [`crate::server::rate_counts`]).
async fn count_request(
    state: &AppState,
    caller: &ApiCaller,
    now: DateTime<Utc>,
) -> Result<Limits, DbErr> {
    let allowed = state.settings.api_rate_limits;
    let window = now
        .duration_trunc(Duration::seconds(WINDOW_SECONDS))
        .unwrap_or(now);
    let counts = &state.rate_counts;
    let key_used = counts
        .count(
            &state.db,
            &format!("key:{}", caller.key.id),
            window,
            allowed.per_key,
        )
        .await?;
    let organization_used = counts
        .count(
            &state.db,
            &format!("organization:{}", caller.organization.id),
            window,
            allowed.per_organization,
        )
        .await?;
    Ok(Limits {
        allowed,
        key_used,
        organization_used,
        resets_in: (window + Duration::seconds(WINDOW_SECONDS) - now)
            .num_seconds()
            .max(1),
    })
}

/// Deletes windows and idempotency keys that no longer count (the hourly sweep).
pub async fn sweep(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    let windows = api_rate_window::Entity::delete_many()
        .filter(api_rate_window::Column::WindowStart.lt(now - Duration::hours(1)))
        .exec(db)
        .await?
        .rows_affected;
    let keys = api_idempotency_key::Entity::delete_many()
        .filter(api_idempotency_key::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    Ok(windows + keys)
}

fn request_hash(method: &Method, uri: &axum::http::Uri, body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_str().as_bytes());
    hash.update([0]);
    hash.update(uri.to_string().as_bytes());
    hash.update([0]);
    hash.update(body);
    hex::encode(hash.finalize())
}

/// A POST with an `Idempotency-Key`: the first request runs and its answer is kept; a
/// retry with the same parameters gets that answer again (`Idempotent-Replayed: true`); the
/// same key with other parameters is a 422; a retry while the first still runs is a 409.
/// An answer of 5xx is not kept: the request may be tried again.
async fn idempotent(
    state: &AppState,
    caller: &ApiCaller,
    req: Request,
    next: Next,
    now: DateTime<Utc>,
) -> Response {
    let given = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if given.is_empty() || given.len() > 255 || !given.bytes().all(|b| b.is_ascii_graphic()) {
        return ApiError::field(
            "Idempotency-Key",
            "Use 1 to 255 visible ASCII characters (a UUID, say).",
        )
        .into_response();
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_HASHED_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let mut error = ApiError::new(ProblemKind::InvalidRequest, "The request is too large.");
            error.problem.status = StatusCode::PAYLOAD_TOO_LARGE.as_u16();
            return error.into_response();
        }
    };
    let hash = request_hash(&parts.method, &parts.uri, &bytes);
    match claim(&state.db, caller.key.id, &given, &hash, now).await {
        Ok(Claim::Ours(id)) => {
            let response = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            keep(&state.db, id, response).await
        }
        Ok(Claim::Replay(kept)) => replay(kept),
        Ok(Claim::OtherParameters) => ApiError::new(
            ProblemKind::IdempotencyMismatch,
            "This Idempotency-Key was used with other parameters in the last 24 hours. Use a new key for a new request.",
        )
        .into_response(),
        Ok(Claim::Running) => ApiError::new(
            ProblemKind::Conflict,
            "A request with this Idempotency-Key is still being answered. Try again in a moment.",
        )
        .header(header::RETRY_AFTER, HeaderValue::from_static("1"))
        .into_response(),
        Err(err) => ApiError::from(err).into_response(),
    }
}

enum Claim {
    /// This request is the first: its row's ID.
    Ours(i32),
    Replay(api_idempotency_key::Model),
    OtherParameters,
    Running,
}

/// Inserts the key's row; the unique key (API key, Idempotency-Key) decides which of
/// parallel requests is first, in every server process.
async fn claim(
    db: &impl ConnectionTrait,
    api_key_id: i32,
    given: &str,
    hash: &str,
    now: DateTime<Utc>,
) -> Result<Claim, DbErr> {
    for _ in 0..2 {
        let inserted = api_idempotency_key::ActiveModel {
            api_key_id: Set(api_key_id),
            idempotency_key: Set(given.to_string()),
            request_hash: Set(hash.to_string()),
            created_at: Set(now),
            expires_at: Set(now + idempotency_lifetime()),
            ..Default::default()
        }
        .insert(db)
        .await;
        match inserted {
            Ok(row) => return Ok(Claim::Ours(row.id)),
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {}
            Err(err) => return Err(err),
        }
        let Some(existing) = api_idempotency_key::Entity::find()
            .filter(api_idempotency_key::Column::ApiKeyId.eq(api_key_id))
            .filter(api_idempotency_key::Column::IdempotencyKey.eq(given))
            .one(db)
            .await?
        else {
            continue;
        };
        if existing.expires_at <= now {
            // Older than 24 hours: forgotten, and the key is free again.
            api_idempotency_key::Entity::delete_by_id(existing.id)
                .exec(db)
                .await?;
            continue;
        }
        return Ok(if existing.request_hash != hash {
            Claim::OtherParameters
        } else if existing.response_status.is_none() {
            Claim::Running
        } else {
            Claim::Replay(existing)
        });
    }
    Ok(Claim::Running)
}

/// Keeps the first answer for replay; a 5xx is forgotten so the request may run again.
async fn keep(db: &impl ConnectionTrait, id: i32, response: Response) -> Response {
    let status = response.status();
    if status.is_server_error() {
        if let Err(err) = api_idempotency_key::Entity::delete_by_id(id).exec(db).await {
            tracing::warn!(error = %err, "an idempotency key was not released");
        }
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_KEPT_RESPONSE).await else {
        return ApiError::new(ProblemKind::Internal, "The answer could not be kept.")
            .into_response();
    };
    let location = parts
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let kept = api_idempotency_key::Entity::update_many()
        .col_expr(
            api_idempotency_key::Column::ResponseStatus,
            Expr::value(i32::from(status.as_u16())),
        )
        .col_expr(
            api_idempotency_key::Column::ResponseBody,
            Expr::value(String::from_utf8_lossy(&bytes).into_owned()),
        )
        .col_expr(
            api_idempotency_key::Column::ResponseLocation,
            Expr::value(location),
        )
        .filter(api_idempotency_key::Column::Id.eq(id))
        .exec(db)
        .await;
    if let Err(err) = kept {
        tracing::warn!(error = %err, "an idempotent answer was not kept");
    }
    Response::from_parts(parts, Body::from(bytes))
}

fn replay(kept: api_idempotency_key::Model) -> Response {
    let status = kept
        .response_status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let content_type = if status.is_client_error() {
        "application/problem+json"
    } else {
        "application/json"
    };
    let mut response = Response::builder().status(status).header(REPLAYED, "true");
    if status != StatusCode::NO_CONTENT {
        response = response.header(header::CONTENT_TYPE, content_type);
    }
    if let Some(location) = kept.response_location {
        response = response.header(header::LOCATION, location);
    }
    response
        .body(Body::from(kept.response_body.unwrap_or_default()))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
