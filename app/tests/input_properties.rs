//! Every validator and parser of user input, given arbitrary text: it never panics, what
//! it accepts fits the database's columns and parses again to itself, and what it refuses
//! gets a message that names the field. (`cargo test -p app --features ssr`.)
#![cfg(feature = "ssr")]

use app::{
    accounts::rules::{normalize_email, safe_next_path, EmailAddress, PersonName, NAME_MAX_CHARS},
    domains::service::parse_domain,
    organizations::{
        profile::{parse_phone, parse_website},
        rules::{
            parse_overview, parse_x_handle, OrganizationName, ORG_NAME_MAX_CHARS,
            OVERVIEW_MAX_CHARS, WEBSITE_MAX_CHARS,
        },
    },
    server::{tokens::hash_token, Settings},
    sso::settings::parse_issuer,
    ui::list::{parse_search, SEARCH_MAX_CHARS},
};
use proptest::prelude::*;

/// Text a hostile or careless client might send: anything at all, long runs, and
/// near-misses of the valid forms with tricky characters mixed in.
fn hostile_text() -> impl Strategy<Value = String> {
    let tricky = prop_oneof![
        Just("\u{0}".to_string()),
        Just("\u{202E}".to_string()),
        Just("\u{301}".to_string()),
        Just("İ".to_string()),
        Just("ß".to_string()),
        Just("É".to_string()),
        Just("%".to_string()),
        Just("\\".to_string()),
        Just("//".to_string()),
        Just("@".to_string()),
        Just("xn--".to_string()),
        Just(" ".to_string()),
        Just("+".to_string()),
        "[a-zA-Z0-9]{1,8}",
    ];
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(tricky, 0..40).prop_map(|parts| parts.concat()),
        "[A-Za-zÉİß0-9._%+\u{301}-]{0,80}@[a-zA-Z0-9İ.-]{0,80}\\.[a-zA-Z]{0,6}",
        "(https?|ftp|javascript)://[a-zA-Z0-9İ.%-]{0,60}(/[ -~]{0,80})?",
        "\\+[0-9 ()-]{0,30}",
        "@?[A-Za-z0-9_]{0,20}",
        "[ -~]{0,300}",
        ".{0,3000}",
        // Near the length limits, with characters that grow when normalized: a URL path
        // percent-encodes, a dotted capital I lowercases to two characters.
        "https://example\\.com/[a-z é<>]{1900,2047}",
        "[a-zİ]{60}@[a-zİ]{60}\\.[a-zİ]{60}\\.[a-zİ]{60}\\.com",
        "[a-zİ]{1,64}@example\\.com",
        "[a-zİ]{60}@[a-z]{60}\\.[a-z]{60}\\.[a-z]{60}\\.com",
    ]
}

fn development() -> Settings {
    Settings {
        public_url: "http://localhost".into(),
        signups_per_address: 10,
        api_rate_limits: app::server::ApiRateLimits {
            per_key: 600,
            per_organization: 1200,
        },
        private_identity_providers: false,
        private_webhook_destinations: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn person_names(raw in hostile_text()) {
        match PersonName::parse(&raw) {
            Ok(name) => {
                prop_assert!((1..=NAME_MAX_CHARS).contains(&name.as_str().chars().count()));
                prop_assert_eq!(PersonName::parse(name.as_str()), Ok(name.clone()));
            }
            Err(message) => prop_assert!(message.starts_with("Name "), "{}", message),
        }
    }

    #[test]
    fn organization_names(raw in hostile_text()) {
        match OrganizationName::parse(&raw) {
            Ok(name) => {
                prop_assert!((1..=ORG_NAME_MAX_CHARS).contains(&name.as_str().chars().count()));
                prop_assert_eq!(OrganizationName::parse(name.as_str()), Ok(name.clone()));
            }
            Err(message) => prop_assert!(message.starts_with("Organization name "), "{}", message),
        }
    }

    #[test]
    fn emails(raw in hostile_text()) {
        match EmailAddress::parse(&raw) {
            Ok(email) => {
                // Both forms fit their 254-character columns.
                prop_assert!(email.as_str().chars().count() <= 254);
                prop_assert!(email.normalized().chars().count() <= 254, "{}", email.normalized());
                prop_assert_eq!(normalize_email(&email.normalized()), email.normalized());
                prop_assert_eq!(EmailAddress::parse(email.as_str()), Ok(email.clone()));
            }
            Err(message) => prop_assert!(message.starts_with("Email "), "{}", message),
        }
    }

    #[test]
    fn phones(raw in hostile_text()) {
        match parse_phone(&raw) {
            Ok(Some(phone)) => {
                prop_assert!(phone.starts_with('+') && phone[1..].chars().all(|c| c.is_ascii_digit()));
                prop_assert_eq!(parse_phone(&phone), Ok(Some(phone.clone())));
            }
            Ok(None) => prop_assert!(raw.trim().is_empty()),
            Err(message) => prop_assert!(message.starts_with("Phone "), "{}", message),
        }
    }

    #[test]
    fn websites(raw in hostile_text()) {
        match parse_website(&raw) {
            Ok(Some(url)) => {
                prop_assert!(url.chars().count() <= WEBSITE_MAX_CHARS, "{} characters", url.chars().count());
                prop_assert!(url.starts_with("http://") || url.starts_with("https://"));
                prop_assert_eq!(parse_website(&url), Ok(Some(url.clone())));
            }
            Ok(None) => prop_assert!(raw.trim().is_empty()),
            Err(message) => prop_assert!(message.starts_with("Public website "), "{}", message),
        }
    }

    #[test]
    fn x_handles(raw in hostile_text()) {
        match parse_x_handle(&raw) {
            Ok(Some(handle)) => {
                prop_assert!((1..=15).contains(&handle.len()));
                prop_assert!(handle.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            }
            Ok(None) => prop_assert!(raw.trim().is_empty()),
            Err(message) => prop_assert!(message.starts_with("Twitter (X) handle "), "{}", message),
        }
    }

    #[test]
    fn overviews(raw in hostile_text()) {
        match parse_overview(&raw) {
            Ok(Some(text)) => {
                prop_assert!(text.chars().count() <= OVERVIEW_MAX_CHARS);
                prop_assert!(!text.contains('\0'), "PostgreSQL refuses NUL in text");
            }
            Ok(None) => prop_assert!(raw.trim().is_empty()),
            Err(message) => prop_assert!(message.starts_with("Company overview "), "{}", message),
        }
    }

    #[test]
    fn domains(raw in hostile_text()) {
        match parse_domain(&raw) {
            Ok(domain) => {
                prop_assert!(domain.len() <= 253 && domain.is_ascii());
                prop_assert_eq!(domain.to_ascii_lowercase(), domain.clone());
                prop_assert_eq!(parse_domain(&domain), Ok(domain.clone()));
            }
            Err(message) => {
                prop_assert!(message.starts_with("Domain "), "{}", message);
                // The refusal quotes the entry, but never at length.
                prop_assert!(message.chars().count() < 200);
            }
        }
    }

    #[test]
    fn search_terms(raw in hostile_text()) {
        match parse_search(&raw) {
            Ok(term) => {
                prop_assert!(term.chars().count() <= SEARCH_MAX_CHARS);
                prop_assert!(!term.chars().any(char::is_control));
            }
            Err(message) => prop_assert!(message.starts_with("Search "), "{}", message),
        }
    }

    #[test]
    fn next_paths_stay_on_this_site(raw in hostile_text()) {
        let path = safe_next_path(Some(&raw));
        prop_assert!(path.starts_with('/'));
        prop_assert!(!path.starts_with("//") && !path.contains('\\'));
        prop_assert!(!path.chars().any(char::is_control));
        prop_assert!(path.chars().count() <= 400);
    }

    #[test]
    fn tokens_of_any_shape_hash_to_a_fixed_size(raw in hostile_text()) {
        let hash = hash_token(&raw);
        prop_assert_eq!(hash.len(), 64);
        prop_assert!(hash.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn issuer_urls(raw in hostile_text()) {
        match parse_issuer(&raw, &development()) {
            Ok(issuer) => {
                prop_assert!(issuer.starts_with("https://"));
                prop_assert!(issuer.chars().count() <= 500);
            }
            Err(message) => prop_assert!(message.starts_with("Issuer URL "), "{}", message),
        }
    }
}

#[test]
fn an_address_that_grows_when_lowercased_still_fits_its_column() {
    // 64 dotted capital I's lowercase to 128 characters.
    let domain = format!(
        "{}.{}.{}.com",
        "a".repeat(61),
        "b".repeat(61),
        "c".repeat(61)
    );
    let raw = format!("{}@{domain}", "İ".repeat(64));
    assert!(raw.chars().count() <= 254);
    match EmailAddress::parse(&raw) {
        Ok(email) => assert!(email.normalized().chars().count() <= 254),
        Err(message) => assert!(message.starts_with("Email "), "{message}"),
    }
    let short = EmailAddress::parse("İlkay@example.com").expect("a non-ASCII capital");
    assert_eq!(short.normalized(), "i\u{307}lkay@example.com");
}
