//! What a finished sign-in at a provider proved, and how the callback ended: the flow
//! produces them and the membership sync consumes them.

/// Who the provider says signed in, after every check.
#[derive(Debug, Clone)]
pub struct ProvenIdentity {
    /// The ID token's issuer: a subject names someone only together with it.
    pub issuer: String,
    pub subject: String,
    pub email: String,
    pub name: Option<String>,
    /// The ID token's `amr` says the person used more than a password at the provider
    /// (`mfa`, `otp` or `hwk`, RFC 8176): it counts as their second factor.
    pub multi_factor: bool,
}

/// The `amr` values (RFC 8176) that mean the provider asked for more than a password.
pub const MULTI_FACTOR_METHODS: [&str; 3] = ["mfa", "otp", "hwk"];

/// How a callback ended.
#[derive(Debug)]
pub enum Finished {
    /// A user signed in: the new session's token and where to go.
    SignedIn {
        session_token: String,
        redirect_to: String,
    },
    /// The provider reported no second factor and the account has one of Orgdesk's: the
    /// sign-in waits for it (the challenge cookie's token).
    SecondFactor { challenge_token: String },
    /// An owner's test passed.
    Tested { email: String },
}

/// Why a sign-in through a provider did not happen. Each has a message for the user; the
/// details go to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoFailure {
    /// Unknown, reused or tampered state, or another browser's callback.
    InvalidState,
    Expired,
    /// The provider answered with an error (the user cancelled, say).
    ProviderRefused,
    /// The provider could not be reached or its discovery document is unusable.
    Unreachable,
    /// The token exchange or the ID token's validation failed.
    InvalidToken,
    NoEmail,
    UnverifiedEmail,
    /// The email's domain is not one of the organization's.
    WrongDomain,
    /// SSO was turned off while the user was at the provider.
    Disabled,
    /// The settings were saved again while a test ran: that test proves nothing.
    SettingsChanged,
    /// Someone else is signed in in this browser: they must log out first.
    SignedInAsSomeoneElse,
}

impl SsoFailure {
    pub fn notice(self) -> super::SsoNotice {
        match self {
            SsoFailure::InvalidState => super::SsoNotice::InvalidState,
            SsoFailure::Expired => super::SsoNotice::Expired,
            SsoFailure::ProviderRefused => super::SsoNotice::ProviderRefused,
            SsoFailure::Unreachable => super::SsoNotice::Unreachable,
            SsoFailure::InvalidToken => super::SsoNotice::InvalidToken,
            SsoFailure::NoEmail => super::SsoNotice::NoEmail,
            SsoFailure::UnverifiedEmail => super::SsoNotice::UnverifiedEmail,
            SsoFailure::WrongDomain => super::SsoNotice::WrongDomain,
            SsoFailure::Disabled => super::SsoNotice::Disabled,
            SsoFailure::SettingsChanged => super::SsoNotice::SettingsChanged,
            SsoFailure::SignedInAsSomeoneElse => super::SsoNotice::SignedInAsSomeoneElse,
        }
    }
}
