//! Errors as `application/problem+json` (RFC 9457): a stable `type` per kind of error, a
//! title, the status, a sentence for people, and the field errors of the same rules the
//! dashboard's forms use.

use axum::{
    http::{header, HeaderName, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// One broken rule of the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field, as the request named it (`email`, `role`, `limit`).
    pub field: String,
    pub message: String,
}

/// What went wrong (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A stable identifier of the kind of error: one of `/api/docs#problem-…`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// An API error: its problem document and the headers that go with it.
#[derive(Debug)]
pub struct ApiError {
    /// Boxed: results carrying an error stay small.
    pub problem: Box<Problem>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// The kinds of error, with their status, `type` slug and title.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    InvalidRequest,
    Unauthenticated,
    InsufficientScope,
    Forbidden,
    NotFound,
    Conflict,
    IdempotencyMismatch,
    RateLimited,
    Unavailable,
    Internal,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 10] = [
        ProblemKind::InvalidRequest,
        ProblemKind::Unauthenticated,
        ProblemKind::InsufficientScope,
        ProblemKind::Forbidden,
        ProblemKind::NotFound,
        ProblemKind::Conflict,
        ProblemKind::IdempotencyMismatch,
        ProblemKind::RateLimited,
        ProblemKind::Unavailable,
        ProblemKind::Internal,
    ];

    pub fn status(self) -> StatusCode {
        match self {
            ProblemKind::InvalidRequest | ProblemKind::IdempotencyMismatch => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ProblemKind::Unauthenticated => StatusCode::UNAUTHORIZED,
            ProblemKind::InsufficientScope | ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            ProblemKind::InvalidRequest => "invalid-request",
            ProblemKind::Unauthenticated => "invalid-key",
            ProblemKind::InsufficientScope => "insufficient-scope",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::Conflict => "conflict",
            ProblemKind::IdempotencyMismatch => "idempotency-key-reused",
            ProblemKind::RateLimited => "rate-limited",
            ProblemKind::Unavailable => "unavailable",
            ProblemKind::Internal => "internal",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemKind::InvalidRequest => "The request broke a rule",
            ProblemKind::Unauthenticated => "Missing or invalid API key",
            ProblemKind::InsufficientScope => "The key's scopes do not allow this",
            ProblemKind::Forbidden => "Not allowed",
            ProblemKind::NotFound => "Not found",
            ProblemKind::Conflict => "Conflicts with the current state",
            ProblemKind::IdempotencyMismatch => "Idempotency-Key reused with other parameters",
            ProblemKind::RateLimited => "Too many requests",
            ProblemKind::Unavailable => "Temporarily unavailable",
            ProblemKind::Internal => "Internal error",
        }
    }

    /// The problem's `type`: a fragment of the API reference, where each is explained.
    pub fn type_uri(self) -> String {
        format!("/api/docs#problem-{}", self.slug())
    }
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            problem: Box::new(Problem {
                kind: kind.type_uri(),
                title: kind.title().to_string(),
                status: kind.status().as_u16(),
                detail: detail.into(),
                errors: Vec::new(),
            }),
            headers: Vec::new(),
        }
    }

    /// One field's broken rule.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::field(field, message).into()
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Unauthenticated, detail).header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"orgdesk\""),
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ProblemKind::NotFound, format!("{what} does not exist."))
    }
}

/// Which of the two field-error variants a problem came from.
enum ErrKind {
    Conflict,
    Other,
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        let err_kind = if matches!(err, AppError::Conflict(_)) {
            ErrKind::Conflict
        } else {
            ErrKind::Other
        };
        match err {
            AppError::Invalid(errors) | AppError::Conflict(errors) => {
                let kind = if matches!(err_kind, ErrKind::Conflict) {
                    ProblemKind::Conflict
                } else {
                    ProblemKind::InvalidRequest
                };
                let mut api = ApiError::new(kind, AppError::Invalid(errors.clone()).to_string());
                api.problem.errors = errors
                    .into_iter()
                    .map(|e| FieldProblem {
                        field: e.field,
                        message: e.message,
                    })
                    .collect();
                api
            }
            AppError::Unauthenticated => ApiError::unauthenticated(
                "The API key is not valid: it may be mistyped, revoked or expired.",
            ),
            AppError::Forbidden(message) => ApiError::new(ProblemKind::Forbidden, message),
            AppError::NotFound(message) => ApiError::new(ProblemKind::NotFound, message),
            AppError::TooManyAttempts(message) => ApiError::new(ProblemKind::RateLimited, message)
                .header(header::RETRY_AFTER, HeaderValue::from_static("60")),
            AppError::Busy(message) => ApiError::new(ProblemKind::Unavailable, message)
                .header(header::RETRY_AFTER, HeaderValue::from_static("5")),
            AppError::Request(message) => ApiError::new(ProblemKind::InvalidRequest, message),
            AppError::Internal => ApiError::new(
                ProblemKind::Internal,
                "Something went wrong on our side. Please try again in a moment.",
            ),
        }
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::from(err).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&*self.problem).unwrap_or_default();
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}
