//! Organizations: create, switch, the Overview, the profile with its logo, deletion, the
//! public directory, and the staff's stage changes.

pub mod access_control;
pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod logo;
pub mod pages;
pub mod policy;
#[cfg(feature = "ssr")]
pub mod profile;
pub mod rules;
#[cfg(feature = "ssr")]
pub mod service;
pub mod settings;
