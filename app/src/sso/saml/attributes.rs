//! From a verified assertion to the person it names: the email, the name and the stable ID,
//! read from the attributes the owner mapped or, by default, the ones Okta, Microsoft Entra
//! ID and Google Workspace send unchanged.

use super::response::VerifiedAssertion;
use crate::{server::entities::saml_provider, sso::outcome::ProvenIdentity};

/// Email attributes read when none is mapped, in this order; then the NameID.
pub const EMAIL_ATTRIBUTES: [&str; 6] = [
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
    "email",
    "Email",
    "mail",
    "emailAddress",
];
pub const FIRST_NAME_ATTRIBUTES: [&str; 5] = [
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
    "firstName",
    "givenName",
    "first_name",
];
pub const LAST_NAME_ATTRIBUTES: [&str; 6] = [
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
    "lastName",
    "sn",
    "surname",
    "last_name",
];

/// The first value of the first attribute present among `names`.
fn first_value<'a>(assertion: &'a VerifiedAssertion, names: &[&str]) -> Option<&'a str> {
    names.iter().find_map(|name| {
        assertion
            .attributes
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, values)| values.iter().map(|v| v.trim()).find(|v| !v.is_empty()))
    })
}

fn mapped_or<'a>(configured: &'a Option<String>, defaults: &[&'a str]) -> Vec<&'a str> {
    match configured
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        Some(name) => vec![name],
        None => defaults.to_vec(),
    }
}

/// Who the assertion names, or `None` when it carries no usable email address.
pub fn proven_identity(
    assertion: &VerifiedAssertion,
    provider: &saml_provider::Model,
) -> Option<ProvenIdentity> {
    let email_names = mapped_or(&provider.email_attribute, &EMAIL_ATTRIBUTES);
    let email = first_value(assertion, &email_names)
        .or_else(|| {
            // The NameID counts as the address only by default, and only when it is one.
            provider
                .email_attribute
                .as_deref()
                .is_none_or(|c| c.trim().is_empty())
                .then_some(assertion.name_id.as_str())
        })
        .and_then(|raw| crate::accounts::rules::EmailAddress::parse(raw).ok())
        .map(|address| address.as_str().to_string())?;
    let first = first_value(
        assertion,
        &mapped_or(&provider.first_name_attribute, &FIRST_NAME_ATTRIBUTES),
    );
    let last = first_value(
        assertion,
        &mapped_or(&provider.last_name_attribute, &LAST_NAME_ATTRIBUTES),
    );
    let name = match (first, last) {
        (Some(first), Some(last)) => Some(format!("{first} {last}")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => None,
    };
    let subject = provider
        .user_id_attribute
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .and_then(|name| first_value(assertion, &[name]))
        .unwrap_or(assertion.name_id.as_str())
        .to_string();
    let mfa_values = provider.mfa_class_refs.as_deref().unwrap_or_default();
    let multi_factor = assertion
        .class_refs
        .iter()
        .any(|class| mfa_values.split_whitespace().any(|value| value == class));
    Some(ProvenIdentity {
        issuer: assertion.issuer.clone(),
        subject,
        email,
        name: name
            .as_deref()
            .and_then(crate::accounts::rules::shown_name_from_outside),
        multi_factor,
    })
}
