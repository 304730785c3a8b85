//! Members of an organization and their roles.

#[cfg(feature = "ssr")]
pub mod access;
pub mod api;
#[cfg(feature = "ssr")]
pub mod listing;
#[cfg(feature = "ssr")]
pub mod memberships;
pub mod modals;
pub mod pages;
pub mod roles;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
pub mod views;
