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
