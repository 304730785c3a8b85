//! The audit log: who did what in an organization (invitations, role changes, removals,
//! profile changes). Recorded in the same transaction as the change it describes; owners read
//! it on the Audit Log tab of Access Control.

pub mod api;
pub mod events;
#[cfg(feature = "ssr")]
pub mod export;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
