//! Server-only pieces of the app crate: the shared state server functions run against,
//! who is asking (resolved once per request by the session middleware), and the entities.
//! Nothing here reaches the wasm bundle.

pub mod dns;
pub mod entities;
pub mod identity_providers;
pub mod limits;
pub mod locks;
pub mod mail;
pub mod provider_http;
pub mod rate_counts;
pub mod sealed;
pub mod second_factor;
pub mod secrets;
pub mod session;
pub mod sweep;
pub mod tokens;

use std::{net::IpAddr, sync::Arc};

use axum::http::request::Parts;
use leptos::prelude::use_context;
use sea_orm::DatabaseConnection;

use crate::error::AppError;

/// What every server function may use; provided as Leptos context for each request.
/// Every request copies it several times (each middleware, the render's context): one
/// shared allocation makes a copy a reference count, not a copy of every handle in it.
#[derive(Clone)]
pub struct AppState(Arc<AppStateParts>);

impl AppState {
    pub fn new(parts: AppStateParts) -> Self {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppStateParts;
    fn deref(&self) -> &AppStateParts {
        &self.0
    }
}

/// The handles and settings inside [`AppState`].
pub struct AppStateParts {
    /// Every write and every transaction (on SQLite one connection, so writers queue here
    /// in order rather than in SQLite's busy handler).
    pub db: DatabaseConnection,
    /// Reads outside a transaction: pages and the checks before a write. On SQLite a
    /// pool of read-only connections, on PostgreSQL the same pool as `db`.
    pub reader: DatabaseConnection,
    pub settings: Arc<Settings>,
    /// Rung after a transaction that queued mail commits, so the worker sends it at once
    /// instead of at its next poll.
    pub mail_wakeup: Arc<tokio::sync::Notify>,
    /// Requests to identity providers (SSO) and what they published.
    pub identity: identity_providers::IdentityProviders,
    /// DNS lookups for domain verification.
    pub dns: dns::DomainResolver,
    /// The keys that seal stored secrets (identity providers' client secrets).
    pub secrets: secrets::Secrets,
    /// This process's leases on the public API's shared request counts.
    pub rate_counts: rate_counts::RateCounts,
}

impl AppState {
    pub fn wake_mail_worker(&self) {
        self.mail_wakeup.notify_one();
    }
}

/// The runtime settings the app crate needs (the server binary loads them).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where users reach Orgdesk, e.g. `https://orgdesk.example.com`.
    pub public_url: String,
    /// New accounts per client address in 15 minutes.
    pub signups_per_address: u64,
    /// The public API's requests per minute.
    pub api_rate_limits: ApiRateLimits,
    /// Identity providers may be on loopback and private addresses and use plain http
    /// (development and tests).
    pub private_identity_providers: bool,
    /// Webhook endpoints may be on loopback and private addresses and use plain http
    /// (development and tests).
    pub private_webhook_destinations: bool,
}

/// The public API's limits: requests per minute per key, and per organization (all its
/// keys together).
#[derive(Debug, Clone, Copy)]
pub struct ApiRateLimits {
    pub per_key: i32,
    pub per_organization: i32,
}

impl Settings {
    /// An absolute link to `path_and_query` for emails.
    pub fn link(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.public_url)
    }

    /// Cookies are `Secure` whenever users reach us over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// The signed-in user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub user_id: i32,
    pub session_id: i32,
    pub name: String,
    pub email: String,
    /// False for accounts that sign in only through an identity provider.
    pub has_password: bool,
    /// When they proved the address (a verification link or an invitation link); invitations
    /// sent to it before then are theirs.
    pub email_verified_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When they last proved who they are in this session: its sign-in, or a password or
    /// code asked again before a sensitive change (step-up).
    pub proved_at: chrono::DateTime<chrono::Utc>,
    /// The second factor this session signed in with, if any.
    pub second_factor: Option<crate::kinds::SecondFactor>,
    /// Since when the account's authenticator app is on, if it is (read with the session,
    /// so User Settings and the policies need no query of their own).
    pub authenticator_since: Option<chrono::DateTime<chrono::Utc>>,
    /// Whether the account has a passkey.
    pub has_passkey: bool,
    /// The organization they selected last and their membership of it, as the request
    /// began. Pages and lists read it; anything that changes an organization checks the
    /// membership again inside its transaction.
    /// (Shared: each use of the viewer copies `SignedIn`.)
    pub current: Option<Arc<CurrentMembership>>,
}

impl SignedIn {
    /// Whether the account has a second factor set up.
    pub fn has_second_factor(&self) -> bool {
        self.authenticator_since.is_some() || self.has_passkey
    }

    /// Whether the user proved the address.
    pub fn email_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }

    /// Whether an organization that requires two-factor authentication lets this session in:
    /// the account has a second factor, or the session's identity provider reported
    /// multi-factor authentication.
    pub fn meets_two_factor_policy(&self) -> bool {
        self.has_second_factor()
            || self.second_factor == Some(crate::kinds::SecondFactor::ProviderMfa)
    }
}

/// The user's current organization and their membership of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentMembership {
    pub organization: entities::organization::Model,
    pub membership: entities::membership::Model,
}

/// Put in each request's extensions by the session middleware: `None` when signed out.
#[derive(Debug, Clone, Default)]
pub struct Viewer(pub Option<SignedIn>);

/// The client's IP address (behind a trusted proxy, from X-Forwarded-For).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

/// The client as throttles count it (put beside [`ClientAddress`] by the same middleware):
/// see [`throttle_bucket`].
#[derive(Debug, Clone, Copy)]
pub struct ThrottleAddress(pub IpAddr);

/// The address throttles count `address` under: IPv4 as it is (an IPv4-mapped IPv6 address
/// too); IPv6 by its network, its first `ipv6_prefix` bits. One subscriber usually holds a
/// whole /64, and would otherwise take a fresh address for every guess.
pub fn throttle_bucket(address: IpAddr, ipv6_prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u32::from(ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
                IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & mask))
            }
        },
    }
}

/// A `LIKE` pattern matching `query` anywhere, with `\\`, `%` and `_` taken literally
/// (use with `.escape('\\')`).
pub fn like_pattern(query: &str) -> String {
    format!(
        "%{}%",
        query
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

pub fn app_state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState was not provided to the server function");
        AppError::Internal
    })
}

fn request_parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// The signed-in user, if any.
pub fn viewer() -> Option<SignedIn> {
    request_parts()?.extensions.get::<Viewer>()?.0.clone()
}

/// The signed-in user, or `Unauthenticated`.
pub fn require_signed_in() -> Result<SignedIn, AppError> {
    viewer().ok_or(AppError::Unauthenticated)
}

/// The client as throttles count it: its IPv6 network, or its IPv4 address.
pub fn throttle_address() -> Option<IpAddr> {
    request_parts()?
        .extensions
        .get::<ThrottleAddress>()
        .map(|a| a.0)
}

pub fn client_address() -> Option<IpAddr> {
    request_parts()?
        .extensions
        .get::<ClientAddress>()
        .map(|a| a.0)
}

/// Adds a response header from inside a server function.
pub fn append_response_header(name: axum::http::HeaderName, value: axum::http::HeaderValue) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.append_header(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::throttle_bucket;
    use std::net::IpAddr;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_network_and_ipv4_as_they_are() {
        assert_eq!(
            throttle_bucket(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 64),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            throttle_bucket(ip("2001:db8:1:2::1"), 64),
            throttle_bucket(ip("2001:db8:1:2:ffff::9"), 64),
            "one /64 is one client"
        );
        assert_ne!(
            throttle_bucket(ip("2001:db8:1:2::1"), 64),
            throttle_bucket(ip("2001:db8:1:3::1"), 64)
        );
        assert_eq!(
            throttle_bucket(ip("2001:db8:1:2::1"), 48),
            ip("2001:db8:1::")
        );
        assert_eq!(throttle_bucket(ip("2001:db8::1"), 128), ip("2001:db8::1"));
        assert_eq!(throttle_bucket(ip("198.51.100.7"), 64), ip("198.51.100.7"));
        assert_eq!(
            throttle_bucket(ip("::ffff:198.51.100.7"), 64),
            ip("198.51.100.7"),
            "an IPv4-mapped address is its IPv4 address"
        );
    }
}
