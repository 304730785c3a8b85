//! Members of an organization and their roles.

pub mod api;
pub mod roles;
#[cfg(feature = "ssr")]
pub mod service;
