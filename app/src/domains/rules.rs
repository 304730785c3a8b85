//! What a domain's verification looks like, for the server and the browser alike.

#[cfg(feature = "ssr")]
use sea_orm::sea_query::StringLen;
use serde::{Deserialize, Serialize};

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

/// Where a domain stands. Stored as its lower-case name (a CHECK in the database lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(
    feature = "ssr",
    sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")
)]
#[serde(rename_all = "snake_case")]
pub enum DomainStatus {
    /// Added; not checked yet.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "pending"))]
    Pending,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "verified"))]
    Verified,
    /// The last check did not find the record (or another organization verified it).
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "failed"))]
    Failed,
}

impl DomainStatus {
    pub fn label(self) -> &'static str {
        match self {
            DomainStatus::Pending => "Pending",
            DomainStatus::Verified => "Verified",
            DomainStatus::Failed => "Failed",
        }
    }
}

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
