//! The account rules, shared by the browser (early hints) and the server (the decision).
//! Each value is validated once, at the edge, into a type that cannot hold a bad value.

pub const NAME_MAX_CHARS: usize = 100;
pub const EMAIL_MAX_CHARS: usize = 254;
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_CHARS: usize = 72;

/// A person's display name: trimmed, 1 to 100 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Name is required.".into());
        }
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(format!("Name must be at most {NAME_MAX_CHARS} characters."));
        }
        check_shown_name("Name", name)?;
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A name that came from outside (an identity provider's `name` claim), made shown-safe
/// rather than refused: control and text-direction characters become spaces, runs of
/// spaces one, and it is cut to 100 characters. None when nothing readable is left or it
/// carries a web address (the caller falls back to the address's local part).
pub fn shown_name_from_outside(raw: &str) -> Option<String> {
    let bidi = |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_control() || bidi(c) { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(NAME_MAX_CHARS)
        .collect();
    PersonName::parse(&cleaned).ok().map(|name| name.0)
}

/// Names Orgdesk puts into emails and pages others read (a person's, an organization's)
/// must read as what they are: no control characters, no bidirectional overrides (which
/// make text display in another order than it is stored), and no web addresses (an
/// invitation email would otherwise carry a stranger's link).
pub fn check_shown_name(label: &str, name: &str) -> Result<(), String> {
    let bidi = |c: char| matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if name.chars().any(|c| c.is_control() || bidi(c)) {
        return Err(format!(
            "{label} must not contain control or text-direction characters."
        ));
    }
    let lowered = name.to_lowercase();
    if lowered.contains("://") || lowered.contains("www.") {
        return Err(format!("{label} must not contain a web address."));
    }
    Ok(())
}

/// One email address, trimmed; `normalized()` is the lowercased form that makes
/// addresses unique without regard to case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Parses `raw`, trimmed and composed (NFC).
    pub fn parse(raw: &str) -> Result<Self, String> {
        use unicode_normalization::UnicodeNormalization;
        let composed: String = raw.trim().nfc().collect();
        let email = composed.as_str();
        if email.is_empty() {
            return Err("Email is required.".into());
        }
        if email.chars().count() > EMAIL_MAX_CHARS {
            return Err(format!(
                "Email must be at most {EMAIL_MAX_CHARS} characters."
            ));
        }
        let options = email_address::Options::default()
            .without_display_text()
            .with_required_tld();
        email_address::EmailAddress::parse_with_options(email, options)
            .map_err(|_| "Email must be a single address like name@example.com.".to_string())?;
        #[cfg(feature = "ssr")]
        if email
            .rsplit_once('@')
            .is_some_and(|(_, domain)| ascii_domain(domain).is_none())
        {
            return Err("Email's domain must be a valid domain name.".into());
        }
        // Lowercasing can lengthen a letter (İ becomes i and a dot), and a domain's ASCII
        // form is longer than its letters: the stored form must fit the same column.
        if normalize_email(email).chars().count() > EMAIL_MAX_CHARS {
            return Err(format!(
                "Email must be at most {EMAIL_MAX_CHARS} characters."
            ));
        }
        Ok(Self(email.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// See [`normalize_email`].
    pub fn normalized(&self) -> String {
        normalize_email(&self.0)
    }
}

#[cfg(feature = "ssr")]
pub use crate::addresses::ascii_domain;
pub use crate::addresses::normalize_email;

/// A new password: 8 to 72 characters of any kind (spaces and any script included),
/// not containing the user's name or email address.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str, name: Option<&str>, email: Option<&str>) -> Result<Self, String> {
        let length = raw.chars().count();
        if length < PASSWORD_MIN_CHARS {
            return Err(format!(
                "Password must be at least {PASSWORD_MIN_CHARS} characters."
            ));
        }
        if length > PASSWORD_MAX_CHARS {
            return Err(format!(
                "Password must be at most {PASSWORD_MAX_CHARS} characters."
            ));
        }
        let lowered = raw.to_lowercase();
        let contains = |part: Option<&str>| {
            part.map(|p| p.trim().to_lowercase())
                .is_some_and(|p| !p.is_empty() && lowered.contains(&p))
        };
        if contains(name) {
            return Err("Password must not contain your name.".into());
        }
        if contains(email) {
            return Err("Password must not contain your email address.".into());
        }
        // Checked on the server only: the list stays out of the browser's bundle.
        #[cfg(feature = "ssr")]
        if super::common_passwords::is_common(raw) {
            return Err("Password is one of the most commonly used passwords, which attackers try first. Choose another.".into());
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Never print a password, even in a debug log.
impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

pub use crate::kinds::{SecondFactor, SignInMethod};

/// The longest `next` path kept (a longer one, which no page of Orgdesk has, goes home).
pub const NEXT_PATH_MAX_CHARS: usize = 400;

/// Where to go after logging in: only a path on this site, never another host
/// (an open redirect would let a phishing link borrow our login page).
pub fn safe_next_path(next: Option<&str>) -> String {
    match next.map(str::trim) {
        Some(path)
            if path.starts_with('/')
                && path.chars().count() <= NEXT_PATH_MAX_CHARS
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_a_provider_are_made_readable_or_dropped() {
        assert_eq!(
            shown_name_from_outside("  Ada\u{202E}\u{7}  Lovelace ").as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(shown_name_from_outside("\u{202E}\u{200F}"), None);
        assert_eq!(shown_name_from_outside("Visit https://evil.example"), None);
        assert_eq!(
            shown_name_from_outside(&"x".repeat(300)).map(|n| n.chars().count()),
            Some(NAME_MAX_CHARS)
        );
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(PersonName::parse("  Ada  ").unwrap().as_str(), "Ada");
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(100)).is_ok());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
    }

    #[test]
    fn emails_must_be_one_plausible_address() {
        assert_eq!(
            EmailAddress::parse(" Ada@Example.COM ")
                .unwrap()
                .normalized(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "Ada <ada@example.com>",
            "a@b.com, c@d.com",
        ] {
            assert!(
                EmailAddress::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(EmailAddress::parse(&long).unwrap_err().contains("254"));
    }

    #[test]
    fn passwords_follow_length_and_content_rules() {
        assert!(NewPassword::parse("1234567", None, None)
            .unwrap_err()
            .contains("at least 8"));
        assert!(NewPassword::parse("1234-5678", None, None).is_ok());
        assert!(NewPassword::parse(&"é".repeat(72), None, None).is_ok());
        assert!(NewPassword::parse(&"é".repeat(73), None, None)
            .unwrap_err()
            .contains("at most 72"));
        assert!(NewPassword::parse("with spaces ✓ ok", None, None).is_ok());
        assert!(NewPassword::parse("xxADAxx-secret", Some("Ada"), None)
            .unwrap_err()
            .contains("name"));
        assert!(
            NewPassword::parse("ada@example.com!", Some("Bob"), Some("Ada@Example.com"))
                .unwrap_err()
                .contains("email")
        );
    }

    #[test]
    fn shown_names_read_as_what_they_are() {
        assert!(PersonName::parse("Élodie O'Brien-Núñez").is_ok());
        for bad in [
            "Ann\u{202E}nimda",
            "Bob\u{2066}x",
            "Tab\there",
            "Visit https://evil.example",
            "www.evil.example",
        ] {
            assert!(PersonName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next_path(Some("/settings")), "/settings");
        assert_eq!(safe_next_path(Some("//evil.example")), "/");
        assert_eq!(safe_next_path(Some("https://evil.example")), "/");
        assert_eq!(safe_next_path(Some("/\\evil.example")), "/");
        assert_eq!(safe_next_path(None), "/");
        let long = format!("/{}", "a".repeat(NEXT_PATH_MAX_CHARS));
        assert_eq!(safe_next_path(Some(&long)), "/", "too long to keep");
    }
}
