//! SSO organizations: an owner connects the organization to the company's identity
//! provider (OpenID Connect); users of its email domains then sign in there, and their
//! first sign-in adds them to the organization as members (the membership sync).

/// The Single sign-on area of Organization Profile → Settings.
pub const SETTINGS_PAGE: &str = "/organization/profile?tab=settings&area=sso";

pub mod api;
#[cfg(feature = "ssr")]
pub mod browser;
#[cfg(feature = "ssr")]
pub mod callback;
#[cfg(feature = "ssr")]
pub mod finish;
#[cfg(feature = "ssr")]
pub mod flow;
#[cfg(feature = "ssr")]
pub mod lookup;
#[cfg(feature = "ssr")]
pub mod outcome;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod saml;
pub mod saml_api;
pub mod saml_pages;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod sync;

/// What the pages say after a round trip to the provider, passed as `?sso=` so that no
/// text from a URL is ever shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsoNotice {
    /// Signed in and added to the organization as a member.
    Joined,
    /// Signed in, but not added: already in 400 organizations.
    Limit,
    /// A test sign-in passed.
    Tested,
    InvalidState,
    Expired,
    ProviderRefused,
    Unreachable,
    InvalidToken,
    NoEmail,
    UnverifiedEmail,
    WrongDomain,
    Disabled,
    SettingsChanged,
    SignedInAsSomeoneElse,
}

impl SsoNotice {
    pub const ALL: [SsoNotice; 14] = [
        SsoNotice::Joined,
        SsoNotice::Limit,
        SsoNotice::Tested,
        SsoNotice::InvalidState,
        SsoNotice::Expired,
        SsoNotice::ProviderRefused,
        SsoNotice::Unreachable,
        SsoNotice::InvalidToken,
        SsoNotice::NoEmail,
        SsoNotice::UnverifiedEmail,
        SsoNotice::WrongDomain,
        SsoNotice::Disabled,
        SsoNotice::SettingsChanged,
        SsoNotice::SignedInAsSomeoneElse,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SsoNotice::Joined => "joined",
            SsoNotice::Limit => "limit",
            SsoNotice::Tested => "tested",
            SsoNotice::InvalidState => "invalid-state",
            SsoNotice::Expired => "expired",
            SsoNotice::ProviderRefused => "refused",
            SsoNotice::Unreachable => "unreachable",
            SsoNotice::InvalidToken => "invalid-token",
            SsoNotice::NoEmail => "no-email",
            SsoNotice::UnverifiedEmail => "unverified-email",
            SsoNotice::WrongDomain => "wrong-domain",
            SsoNotice::Disabled => "disabled",
            SsoNotice::SettingsChanged => "settings-changed",
            SsoNotice::SignedInAsSomeoneElse => "signed-in-as-someone-else",
        }
    }

    pub fn parse(value: &str) -> Option<SsoNotice> {
        SsoNotice::ALL.into_iter().find(|n| n.as_str() == value)
    }

    /// Whether this reports a failure (shown as an alert rather than a status).
    pub fn is_failure(self) -> bool {
        !matches!(self, SsoNotice::Joined | SsoNotice::Tested)
    }

    pub fn message(self) -> String {
        match self {
            SsoNotice::Joined => "You signed in through your company's identity provider and joined its organization as a member. An owner or admin can change your role.".into(),
            SsoNotice::Limit => format!(
                "You are signed in, but you were not added to your company's organization: you already belong to {} organizations, the most one account can have. Leave one, then sign in again.",
                crate::members::rules::MAX_ORGANIZATIONS_PER_USER
            ),
            SsoNotice::Tested => "The test sign-in worked. You can turn single sign-on on.".into(),
            SsoNotice::InvalidState => "That sign-in link is not valid: it was used already, altered, or opened in another browser. Start again.".into(),
            SsoNotice::Expired => "The sign-in took too long (more than 10 minutes). Start again.".into(),
            SsoNotice::ProviderRefused => "The identity provider did not sign you in (it refused or you cancelled). Start again, or ask your administrator.".into(),
            SsoNotice::Unreachable => "The identity provider could not be reached or answered in a way Orgdesk cannot use. Try again in a moment; if it keeps happening, check the issuer URL.".into(),
            SsoNotice::InvalidToken => "The identity provider's answer did not pass the security checks (signature, issuer, audience, expiry or nonce), so nobody was signed in. Check the client ID and secret.".into(),
            SsoNotice::NoEmail => "The identity provider did not share an email address. Allow the email scope for Orgdesk at the provider.".into(),
            SsoNotice::UnverifiedEmail => "The identity provider did not mark your email address as verified, so Orgdesk cannot trust it. Ask your administrator.".into(),
            SsoNotice::WrongDomain => "The identity provider signed you in with an email address outside this organization's domains.".into(),
            SsoNotice::Disabled => "Single sign-on is off for this organization. Log in with your email and password.".into(),
            SsoNotice::SettingsChanged => "The SSO settings were saved while the test ran. Test the connection again.".into(),
            SsoNotice::SignedInAsSomeoneElse => "The identity provider signed in someone other than the person signed in here, so nothing changed. Log out first to sign in as that person.".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_notice_round_trips_through_its_query_value() {
        for notice in SsoNotice::ALL {
            assert_eq!(SsoNotice::parse(notice.as_str()), Some(notice));
        }
        assert_eq!(SsoNotice::parse("<script>"), None);
    }
}
