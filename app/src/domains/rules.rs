//! What a domain's verification looks like, for the server and the browser alike.

/// The label under the domain where the TXT record goes.
pub const CHALLENGE_LABEL: &str = "_orgdesk-challenge";
/// The start of the TXT record's value; the rest is the domain's random challenge.
pub const CHALLENGE_PREFIX: &str = "orgdesk-domain-verification=";
/// At most this many domains per organization.
pub const MAX_DOMAINS: usize = 20;

/// Where the TXT record must be published for `domain`.
pub fn challenge_name(domain: &str) -> String {
    format!("{CHALLENGE_LABEL}.{domain}")
}

/// The TXT record's whole value for a challenge.
pub fn challenge_value(challenge: &str) -> String {
    format!("{CHALLENGE_PREFIX}{challenge}")
}

pub use crate::kinds::DomainStatus;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_to_publish_names_the_domain_and_the_challenge() {
        assert_eq!(
            challenge_name("bigcorp.example"),
            "_orgdesk-challenge.bigcorp.example"
        );
        assert_eq!(
            challenge_value("0123abcd"),
            "orgdesk-domain-verification=0123abcd"
        );
    }
}
