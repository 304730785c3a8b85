//! Accounts: sign up, log in and out, sessions, and User Settings.

pub mod api;
#[cfg(feature = "ssr")]
pub mod common_passwords;
pub mod factors;
pub mod pages;
pub mod recovery;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
pub mod sessions;
pub mod sign_up;
