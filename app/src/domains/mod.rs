//! Domains an organization proved it owns: an owner adds a domain, publishes the TXT record
//! Orgdesk shows, and verifies it; Orgdesk re-checks it daily. Only a verified domain routes
//! logins to the organization's identity provider, and lets SSO create or link accounts.

/// The Domains area of Organization Profile → Settings.
pub const SETTINGS_PAGE: &str = "/organization/profile?tab=settings&area=domains";

pub mod api;
#[cfg(feature = "ssr")]
pub mod lapse;
pub mod pages;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
