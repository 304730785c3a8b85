//! Invitations: owners and admins invite by email (Invited Users tab, Invite user modal);
//! the invitee follows the emailed link, signs up or logs in, and accepts on a welcome page.

pub mod api;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
pub mod views;
