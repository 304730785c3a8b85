//! Two-factor authentication: an authenticator app (TOTP) and single-use recovery codes,
//! asked for after the password at sign-in and again before sensitive changes (step-up).

pub mod api;
#[cfg(feature = "ssr")]
pub mod authenticator;
#[cfg(feature = "ssr")]
pub mod download;
pub mod not_me;
pub mod pages;
pub mod passkey_islands;
pub mod passkeys;
pub mod second_step;
#[cfg(feature = "ssr")]
pub mod sign_in;
