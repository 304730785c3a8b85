//! Accounts: sign up, log in and out, sessions, and User Settings.

pub mod api;
pub mod pages;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
