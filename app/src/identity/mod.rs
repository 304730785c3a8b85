//! Identity: who someone is and what proves it, below every feature slice. Server-only; it
//! imports only the database layer (`server`), `audit` and `error`, so every way in
//! (password, reset link, passkey, SSO) can use it without a knot.

pub mod address_proofs;
pub mod authenticator;
pub mod code_guesses;
pub mod devices;
pub mod factors;
pub mod passwords;
pub mod proofs;
pub mod recovery_codes;
pub mod routing;
pub mod sign_in;
pub mod sso_links;
pub mod throttles;
