//! Directory sync: a SCIM 2.0 service provider (RFC 7643, RFC 7644) through which an SSO
//! organization's identity provider manages its members. People it pushes become members
//! before their first sign-in; deactivated ones are suspended at once; its groups, mapped
//! to roles by an owner, decide the roles. Owners set it up under Organization Profile →
//! Settings → Directory sync (SCIM).

pub mod api;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod discovery;
#[cfg(feature = "ssr")]
pub mod filter;
#[cfg(feature = "ssr")]
pub mod groups;
#[cfg(feature = "ssr")]
pub mod membership_sync;
#[cfg(feature = "ssr")]
pub mod patch;
#[cfg(feature = "ssr")]
pub mod protocol;
#[cfg(feature = "ssr")]
pub mod routes;
#[cfg(feature = "ssr")]
pub mod tokens;
#[cfg(feature = "ssr")]
pub mod users;

/// Where the service provider answers, below the public URL.
pub const SCIM_BASE_PATH: &str = "/scim/v2";

/// The settings area of directory sync.
pub const SETTINGS_PAGE: &str = "/organization/profile?tab=settings&area=scim";
