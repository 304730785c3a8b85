//! Members of an organization and their roles.

pub mod api;
pub mod pages;
pub mod roles;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
