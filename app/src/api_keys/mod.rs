//! Organization API keys: owners (and admins, for keys that carry no more than an admin
//! may do) make keys for programs, each with scopes (the permission matrix's actions) and
//! an expiry; the key is shown once. The public API (`crate::public_api`) takes them.

/// Organization Profile → API keys.
pub const KEYS_PAGE: &str = "/organization/profile?tab=api-keys";

pub mod api;
pub mod pages;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod token;
