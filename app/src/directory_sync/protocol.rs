//! What SCIM says on the wire: its media type, its error documents (RFC 7644 §3.12), list
//! responses, and the lenient reading of values that providers send in other shapes
//! (Entra's `"active": "False"`).

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use sea_orm::{
    ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect, Select,
};
use serde_json::{json, Value};

use super::filter::Filter;
use crate::error::AppError;

pub const MEDIA_TYPE: &str = "application/scim+json";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A refused SCIM request: its status, `scimType` and a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// 400 `invalidValue`: a value broke its rule.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidValue"), detail)
    }

    /// 400 `invalidSyntax`: the body is not the JSON SCIM expects.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidSyntax"), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("invalidPath"), detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some("noTarget"), detail)
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, Some("uniqueness"), detail)
    }

    /// 409 without a `scimType`: the request clashes with a rule of Orgdesk's.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, None, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, None, detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, None, detail)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "Something went wrong on Orgdesk's side; the request may be retried.",
        )
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.as_u16().to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

impl From<sea_orm::DbErr> for ScimError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "directory sync: database error");
        ScimError::internal()
    }
}

impl From<AppError> for ScimError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Invalid(_) => ScimError::invalid_value(err.to_string()),
            AppError::Conflict(_) => ScimError::uniqueness(err.to_string()),
            AppError::Forbidden(detail) => ScimError::conflict(detail),
            AppError::NotFound(detail) => ScimError::not_found(detail),
            AppError::TooManyAttempts(detail) | AppError::Busy(detail) => {
                ScimError::new(StatusCode::TOO_MANY_REQUESTS, None, detail)
            }
            AppError::Unauthenticated => ScimError::unauthorized(err.to_string()),
            AppError::Internal | AppError::Request(_) => ScimError::internal(),
        }
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body().to_string()).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
        // The log reads the sentence back (see `routes::log_request`).
        response.extensions_mut().insert(self);
        response
    }
}

/// A SCIM document as a response.
pub fn document(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    response
}

/// A `ListResponse` of one page.
pub fn list(resources: Vec<Value>, total: u64, start_index: u64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// What a list request asks for (RFC 7644 §3.4.2): a filter, an order and a window.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    pub filter: Option<&'a Filter>,
    pub sort_by: Option<&'a str>,
    pub descending: bool,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
}

impl ListQuery<'_> {
    /// The same filter and order over another window.
    pub fn window(self, start_index: u64, count: u64) -> Self {
        ListQuery {
            start_index,
            count,
            ..self
        }
    }
}

/// One page of `select` as `query` asks, ordered by `column` (then by `id`, so pages are
/// stable), with the total it was cut from.
pub async fn page<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    column: E::Column,
    id: E::Column,
    query: &ListQuery<'_>,
) -> Result<(Vec<E::Model>, u64), DbErr>
where
    E::Model: Sync,
{
    let total = select.clone().count(db).await?;
    if query.count == 0 {
        return Ok((Vec::new(), total));
    }
    let ordered = if query.descending {
        select.order_by_desc(column)
    } else {
        select.order_by_asc(column)
    };
    let rows = ordered
        .order_by_asc(id)
        .offset(query.start_index.saturating_sub(1))
        .limit(query.count)
        .all(db)
        .await?;
    Ok((rows, total))
}

/// A boolean as providers send it: `true`, or `"True"`/`"true"` as a string (Entra).
pub fn lenient_bool(value: &Value, attribute: &str) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value(format!(
            "{attribute} must be true or false."
        ))),
    }
}

/// An optional string attribute: absent or null is None; anything but a string is refused.
pub fn optional_string(
    value: Option<&Value>,
    attribute: &str,
    max_chars: usize,
) -> Result<Option<String>, ScimError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.chars().count() > max_chars {
                return Err(ScimError::invalid_value(format!(
                    "{attribute} must be at most {max_chars} characters."
                )));
            }
            if trimmed.chars().any(char::is_control) {
                return Err(ScimError::invalid_value(format!(
                    "{attribute} must not contain control characters."
                )));
            }
            Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
        }
        Some(_) => Err(ScimError::invalid_value(format!(
            "{attribute} must be a string."
        ))),
    }
}

/// The attribute of `object` named `name`, ignoring case (SCIM attribute names are
/// case-insensitive).
pub fn attribute<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}

/// `attributes` and `excludedAttributes` (RFC 7644 §3.9) applied to a resource: `id` and
/// `schemas` are always returned.
pub fn project(mut resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Some(object) = resource.as_object_mut() else {
        return resource;
    };
    let always = |key: &str| key == "id" || key == "schemas";
    let short = |path: &str| -> String {
        // A path may carry its schema: the attribute follows the last colon.
        path.rsplit(':').next().unwrap_or(path).to_ascii_lowercase()
    };
    if !attributes.is_empty() {
        let wanted: Vec<String> = attributes.iter().map(|a| short(a)).collect();
        object.retain(|key, value| {
            if always(key) {
                return true;
            }
            let key = key.to_ascii_lowercase();
            if wanted.contains(&key) {
                return true;
            }
            let subs: Vec<&str> = wanted
                .iter()
                .filter_map(|w| w.strip_prefix(&format!("{key}.")))
                .collect();
            if subs.is_empty() {
                return false;
            }
            if let Some(inner) = value.as_object_mut() {
                inner.retain(|sub, _| subs.iter().any(|s| s.eq_ignore_ascii_case(sub)));
            }
            true
        });
    }
    for path in excluded.iter().map(|a| short(a)) {
        match path.split_once('.') {
            Some((parent, sub)) => {
                if let Some(inner) = object
                    .iter_mut()
                    .find(|(k, _)| k.eq_ignore_ascii_case(parent))
                    .and_then(|(_, v)| v.as_object_mut())
                {
                    inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                }
            }
            None => object.retain(|k, _| always(k) || !k.eq_ignore_ascii_case(&path)),
        }
    }
    resource
}

/// A comma-separated attribute list parameter.
pub fn attribute_list(raw: Option<&str>) -> Vec<String> {
    raw.map(|raw| {
        raw.split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_sends_booleans_as_strings() {
        assert!(!lenient_bool(&json!("False"), "active").unwrap());
        assert!(lenient_bool(&json!("True"), "active").unwrap());
        assert!(lenient_bool(&json!(true), "active").unwrap());
        assert!(lenient_bool(&json!("no"), "active").is_err());
    }

    #[test]
    fn projection_keeps_id_and_the_asked_attributes() {
        let user = json!({
            "schemas": [USER_SCHEMA], "id": "1", "userName": "a@example.com",
            "name": {"givenName": "A", "familyName": "B"}, "active": true
        });
        let only = project(
            user.clone(),
            &["userName".into(), "name.familyName".into()],
            &[],
        );
        assert_eq!(
            only,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a@example.com",
                   "name": {"familyName": "B"}})
        );
        let without = project(user, &[], &["active".into(), "name.givenName".into()]);
        assert_eq!(
            without,
            json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "a@example.com",
                   "name": {"familyName": "B"}})
        );
    }
}
