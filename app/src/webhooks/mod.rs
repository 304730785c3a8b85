//! Webhooks: every change to an organization pushed to the company's systems as a signed
//! event. Owners add endpoints (Organization Profile → Webhooks) with the event types they
//! want; each event is written in the transaction of the change (`outbox`, called by the
//! audit recorder, which every change goes through) and delivered by a worker with the
//! Standard Webhooks headers (`signing`, `worker`), retried with backoff, through a client
//! that reaches only public addresses.

/// Organization Profile → Webhooks.
pub const WEBHOOKS_PAGE: &str = "/organization/profile?tab=webhooks";

pub mod api;
pub mod events;
#[cfg(feature = "ssr")]
pub mod outbox;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod signing;
pub mod views;
#[cfg(feature = "ssr")]
pub mod worker;
