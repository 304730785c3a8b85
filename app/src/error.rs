//! The one error type of Orgdesk's server functions.
//!
//! It crosses the network intact (JSON), so the UI can put a field's message next to that
//! field, and with JavaScript off it travels in the redirect URL the same way.

use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

/// A rule a submitted field broke, named by the form field's `name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// One or more fields broke their rules; nothing was changed.
    #[error("{}", invalid_summary(.0))]
    Invalid(Vec<FieldError>),
    /// The request was well formed but clashes with what is stored (the domain is already
    /// added, the person already a member): named by field like `Invalid`, answered 409.
    #[error("{}", invalid_summary(.0))]
    Conflict(Vec<FieldError>),
    #[error("Please log in to continue.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    /// The thing named does not exist (or not for this user).
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    TooManyAttempts(String),
    /// The server is at its limit for this kind of work; try again in a few seconds.
    #[error("{0}")]
    Busy(String),
    /// A failure on our side; the cause is in the server log, not in the user's face.
    #[error("Something went wrong on our side. Please try again in a moment.")]
    Internal,
    /// The request never reached the server function (network, malformed request).
    #[error("The request failed: {0}")]
    Request(String),
}

/// A single broken rule reads as itself (a list's search box has no field to show it
/// beside); several send the reader to the highlighted fields.
fn invalid_summary(errors: &[FieldError]) -> String {
    match errors {
        [only] => only.message.clone(),
        _ => "Please correct the highlighted fields.".into(),
    }
}

impl AppError {
    /// A single field's error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    /// A single field's clash with what is stored.
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        AppError::Conflict(vec![FieldError {
            field: field.to_string(),
            message: message.into(),
        }])
    }

    /// The message for `field`, if this error names it.
    pub fn message_for(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) | AppError::Conflict(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Request(value.to_string())
    }
}

/// Collects every broken rule of a form, so the user sees all of them at once.
#[derive(Debug, Default)]
pub struct Validation(Vec<FieldError>);

impl Validation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the value of a passed check, records the message of a failed one.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// `Ok(())` when every check passed.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self.0))
        }
    }
}

/// What a request reads when the database is restarting or out of connections.
pub const DATABASE_UNAVAILABLE: &str =
    "Orgdesk cannot reach its database right now. Please try again in a few seconds.";

/// Whether a database error is the database being away for a moment (a restart, a dropped
/// connection, a pool timeout, SQLite busy) rather than a fault: the request may simply be
/// tried again, so it answers 503 with `Retry-After`, never 500.
#[cfg(feature = "ssr")]
pub fn is_transient(err: &sea_orm::DbErr) -> bool {
    use sea_orm::{error::SqlxError, DbErr, RuntimeErr};
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx {
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::Protocol(_)
        | SqlxError::PoolTimedOut
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed => true,
        SqlxError::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: connection exceptions (08…), shutdown and restarts (57P01–57P03),
            // serialization failures and deadlocks; SQLite: busy (5) and locked (6).
            code.starts_with("08")
                || matches!(&*code, "57P01" | "57P02" | "57P03" | "40001" | "40P01")
                || matches!(&*code, "5" | "6" | "517" | "262")
        }
        _ => false,
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_transient(&err) {
            tracing::warn!(error = %err, "the database is unavailable for a moment");
            // A page rendering (or a server function answering) while the database is away
            // says so with its status: 503 and when to try again.
            if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(http::StatusCode::SERVICE_UNAVAILABLE);
                response.insert_header(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from_static("5"),
                );
            }
            return AppError::Busy(DATABASE_UNAVAILABLE.into());
        }
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

#[cfg(feature = "ssr")]
impl<E: std::error::Error> From<sea_orm::TransactionError<E>> for AppError
where
    AppError: From<E>,
{
    fn from(err: sea_orm::TransactionError<E>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(inner) => inner.into(),
        }
    }
}
