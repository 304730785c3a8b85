//! axum's JSON, query and path extractors, refusing bad input as a problem document (the
//! field and the rule) instead of axum's plain text.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

use super::problem::{ApiError, ProblemKind};

fn refused(status: StatusCode, detail: String) -> ApiError {
    let mut error = ApiError::new(ProblemKind::InvalidRequest, detail);
    // 400 malformed JSON, 413 too large, 415 not JSON, 422 well-formed but wrong.
    error.problem.status = status.as_u16();
    error
}

/// A JSON body (`Content-Type: application/json`).
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(value)| ApiJson(value))
            .map_err(|rejection| refused(rejection.status(), rejection.body_text()))
    }
}

/// The query string.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| refused(StatusCode::UNPROCESSABLE_ENTITY, rejection.body_text()))
    }
}

/// A path parameter; a value of the wrong shape is a 404 (no such resource), not a 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|_| ApiError::new(ProblemKind::NotFound, "No such resource."))
    }
}

/// A query parameter sent empty (`?after=`) means the same as one left out.
pub fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A list's `limit`: 1 to 100, `default` when left out; otherwise the field's rule.
pub fn page_limit(checks: &mut crate::error::Validation, limit: Option<u32>, default: u32) -> u32 {
    let limit = limit.unwrap_or(default);
    if !(1..=100).contains(&limit) {
        checks.add("limit", "Use a limit from 1 to 100.");
    }
    limit.clamp(1, 100)
}

/// A list's `after`, the ID its `next` link gave; otherwise the field's rule.
pub fn id_cursor(checks: &mut crate::error::Validation, raw: Option<&str>) -> Option<i32> {
    raw.and_then(|raw| {
        checks.check(
            "after",
            raw.parse::<i32>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| "Use the `next` link this list gave.".to_string()),
        )
    })
}

/// The link to a list's next page: `path?limit=…&after=…` and the filters it was given.
pub fn next_link(path: &str, limit: u32, after: i32, filters: &[(&str, Option<&str>)]) -> String {
    let mut link = form_urlencoded::Serializer::new(String::new());
    link.append_pair("limit", &limit.to_string());
    link.append_pair("after", &after.to_string());
    for (name, value) in filters {
        if let Some(value) = value {
            link.append_pair(name, value);
        }
    }
    format!("{path}?{}", link.finish())
}

/// The image types a logo may be sent as.
pub const IMAGE_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/// An image body (`Content-Type: image/png`, `image/jpeg`, `image/gif` or `image/webp`),
/// at most axum's 2 MiB body limit (the logo's limit).
pub struct ApiImage {
    pub bytes: axum::body::Bytes,
    pub content_type: String,
}

impl<S: Send + Sync> FromRequest<S> for ApiImage {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(|value| value.trim().to_ascii_lowercase())
            .filter(|value| IMAGE_TYPES.contains(&value.as_str()))
            .ok_or_else(|| {
                refused(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "Send the image with Content-Type {}.",
                        IMAGE_TYPES.join(", ")
                    ),
                )
            })?;
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                // The server's body limit cut the stream (its error arrives wrapped, so
                // axum cannot always tell it from a broken connection; nobody reads the
                // answer to the latter).
                axum::extract::rejection::BytesRejection::FailedToBufferBody(_) => refused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "The image is larger than 2 MiB.".into(),
                ),
                other => refused(other.status(), other.body_text()),
            })?;
        Ok(ApiImage {
            bytes,
            content_type,
        })
    }
}
