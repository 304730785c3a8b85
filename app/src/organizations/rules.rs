//! Organization values and their rules. The ones a browser can check cheaply live here for
//! both sides; phone and URL parsing happen on the server (`service.rs`).

use serde::{Deserialize, Serialize};

pub const ORG_NAME_MAX_CHARS: usize = 100;
pub const OVERVIEW_MAX_CHARS: usize = 2000;
pub const X_HANDLE_MAX_CHARS: usize = 15;
pub const WEBSITE_MAX_CHARS: usize = 2048;

/// An organization's name: trimmed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrganizationName(String);

impl OrganizationName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Organization name is required.".into());
        }
        if name.chars().count() > ORG_NAME_MAX_CHARS {
            return Err(format!(
                "Organization name must be at most {ORG_NAME_MAX_CHARS} characters."
            ));
        }
        crate::accounts::rules::check_shown_name("Organization name", name)?;
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An X (Twitter) handle, stored without its leading @.
pub fn parse_x_handle(raw: &str) -> Result<Option<String>, String> {
    let handle = raw.trim();
    let handle = handle.strip_prefix('@').unwrap_or(handle);
    if handle.is_empty() {
        return if raw.trim().is_empty() {
            Ok(None)
        } else {
            Err("Twitter (X) handle needs at least one character after the @.".into())
        };
    }
    if handle.chars().count() > X_HANDLE_MAX_CHARS
        || !handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(
            "Twitter (X) handle must be 1 to 15 letters, digits or underscores, like @orgdesk."
                .into(),
        );
    }
    Ok(Some(handle.to_string()))
}

/// The company overview: free text up to 2,000 characters; empty means none.
pub fn parse_overview(raw: &str) -> Result<Option<String>, String> {
    let overview = raw.trim();
    if overview.chars().count() > OVERVIEW_MAX_CHARS {
        return Err(format!(
            "Company overview must be at most {OVERVIEW_MAX_CHARS} characters (it has {}).",
            overview.chars().count()
        ));
    }
    // Line breaks and tabs are text; other control characters are not (and PostgreSQL
    // refuses a NUL outright).
    if overview
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("Company overview must not contain control characters.".into());
    }
    Ok((!overview.is_empty()).then(|| overview.to_string()))
}

pub use crate::kinds::Stage;

/// One of the steps the reference documentation names after creating an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NextStepKind {
    FillOutProfile,
    UploadLogo,
    InviteUsers,
    SetUpSingleSignOn,
}

/// How far a step has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepStatus {
    ToDo,
    /// Begun but not finished (SSO configured but not switched on).
    Started,
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    pub kind: NextStepKind,
    pub status: StepStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organization_names_are_trimmed_and_bounded() {
        assert_eq!(
            OrganizationName::parse("  Acme  ").unwrap().as_str(),
            "Acme"
        );
        assert!(OrganizationName::parse(" ").is_err());
        assert!(OrganizationName::parse(&"a".repeat(100)).is_ok());
        assert!(OrganizationName::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn x_handles_lose_their_at_and_keep_their_rules() {
        assert_eq!(
            parse_x_handle("@acme_health").unwrap().as_deref(),
            Some("acme_health")
        );
        assert_eq!(parse_x_handle("acme").unwrap().as_deref(), Some("acme"));
        assert_eq!(parse_x_handle("  ").unwrap(), None);
        assert!(parse_x_handle("@").is_err());
        assert!(parse_x_handle("a".repeat(16).as_str()).is_err());
        assert!(parse_x_handle("acme-health").is_err());
        assert!(parse_x_handle("acmé").is_err());
    }

    #[test]
    fn overviews_are_bounded() {
        assert_eq!(parse_overview("").unwrap(), None);
        assert!(parse_overview(&"o".repeat(2000)).unwrap().is_some());
        assert!(parse_overview(&"o".repeat(2001)).is_err());
    }
}
