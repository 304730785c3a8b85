//! How email addresses and domains are compared: one normal form for each, used by the
//! accounts, invitations, domains and SSO alike and by the database layer's mail limits.
//! Both builds; imports nothing of the app.

/// The form of an address that makes accounts and invitations unique: trimmed, composed
/// (NFC, so an "É" typed as E plus a combining accent is the same letter) and lowercased
/// by Unicode's rules. SQLite's lower() folds only ASCII (and PostgreSQL's depends on the
/// database's locale), so every comparison goes through this one function; the database
/// checks the ASCII part (see the `email_case` migration).
pub fn normalize_email(raw: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let lowered = raw.trim().nfc().collect::<String>().to_lowercase();
    // On the server the domain is also in its ASCII form, so `bücher.example` and
    // `xn--bcher-kva.example` are one domain wherever addresses are compared or routed.
    // (The browser's copy only checks lengths; the server decides.)
    #[cfg(feature = "ssr")]
    if let Some((local, domain)) = lowered.rsplit_once('@') {
        if let Some(ascii) = ascii_domain(domain) {
            return format!("{local}@{ascii}");
        }
    }
    lowered
}

/// A domain name in its one ASCII form (IDNA, UTS #46: lower-case, punycode), the way URLs
/// write it; `None` when it is not a valid domain name. Every comparison of domains, in
/// addresses, claims and routing, goes through it.
#[cfg(feature = "ssr")]
pub fn ascii_domain(raw: &str) -> Option<String> {
    let raw = raw.trim().trim_end_matches('.');
    if raw.is_empty() {
        return None;
    }
    idna::domain_to_ascii(raw)
        .ok()
        .filter(|d| !d.is_empty() && d.len() <= 253)
}

#[cfg(feature = "ssr")]
/// The domain of an email address, lower-case.
pub fn domain_of(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    ascii_domain(domain)
}
