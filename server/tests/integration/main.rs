//! The server's integration tests, one module per feature, linked into one test binary:
//! thirteen binaries each linking the whole app cost a link apiece on every change.
//! `common` is the harness (the real router on a fresh database per test).

// Helpers outside `#[test]` functions unwrap too: a panic in a test is its failure.
#![expect(clippy::unwrap_used, reason = "a panic in a test is its failure")]

mod common;

mod accounts;
mod api;
mod api_keys;
mod audit;
mod config;
mod devices;
mod directory_sync;
mod domain_proofs;
mod domains;
mod hardening;
mod identity;
mod invitations;
mod mail;
mod members;
mod migrations;
mod organizations;
mod permissions;
mod recovery;
mod saml;
mod services;
mod sessions;
mod sign_in_door;
mod sign_up;
mod sso;
mod two_factor;
mod two_factor_policy;
mod webhooks;
