//! Password hashing: argon2id on the hashing pool (`server::limits`), and a check that
//! costs the same whether or not the account exists.

use std::sync::OnceLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};

use crate::{error::AppError, server::limits::PASSWORD_WORK};

/// argon2id at OWASP's recommended minimum: 19 MiB of memory, 2 passes, 1 lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes on a blocking thread: a hash takes tens of milliseconds of CPU, which would
/// otherwise stall every other request on this async worker.
pub async fn hash_password(password: &str) -> Result<String, AppError> {
    let password = password.to_owned();
    PASSWORD_WORK
        .run(move || {
            let salt = SaltString::generate(&mut OsRng);
            hasher()
                .hash_password(password.as_bytes(), &salt)
                .map(|hash| hash.to_string())
        })
        .await?
        .map_err(|err| {
            tracing::error!(error = %err, "password hashing failed");
            AppError::Internal
        })
}

/// A hash of a password nobody knows, verified against when the account does not exist
/// (or has no password), so that an unknown email costs the same time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(b"no account has this password", &salt)
            .expect("hashing a constant succeeds")
            .to_string()
    })
}

/// Whether `candidate` matches `stored`; always does the full argon2 work.
pub async fn verify_password(stored: Option<String>, candidate: String) -> Result<bool, AppError> {
    PASSWORD_WORK
        .run(move || {
            let has_real_hash = stored.is_some();
            let stored = stored.unwrap_or_else(|| dummy_hash().to_owned());
            let matches = PasswordHash::new(&stored)
                .map(|parsed| {
                    hasher()
                        .verify_password(candidate.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false);
            has_real_hash && matches
        })
        .await
}
