//! SeaORM entities: the rows of the tables that `migration/` creates.

pub mod audit_event;
pub mod email_verification;
pub mod factor_revocation;
pub mod invitation;
pub mod known_device;
pub mod login_failure;
pub mod mail_outbox;
pub mod mail_recipient;
pub mod member_search_term;
pub mod membership;
pub mod organization;
pub mod organization_domain;
pub mod organization_logo;
pub mod passkey;
pub mod password_reset;
pub mod recovery_code;
pub mod recovery_code_reveal;
pub mod session;
pub mod sso_connection;
pub mod sso_identity;
pub mod sso_login;
pub mod totp_authenticator;
pub mod two_factor_challenge;
pub mod user;
pub mod webauthn_ceremony;
