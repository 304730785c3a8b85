//! Organizations: create, switch, the Overview, the profile with its logo, deletion, the
//! public directory, and the staff's stage changes.

pub mod api;
pub mod components;
#[cfg(feature = "ssr")]
pub mod logo;
pub mod pages;
pub mod rules;
pub mod security;
#[cfg(feature = "ssr")]
pub mod service;
