//! (ssr) The Organization Info: the parsers that need the server's libraries (phone
//! numbers, URLs, addresses), the whole form checked at once, and its save.

use chrono::{DateTime, Utc};

use crate::{error::AppError, server::entities::organization};

/// A phone number in international form, normalized to E.164 (e.g. +14155550123).
pub fn parse_phone(raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    const RULE: &str =
        "Phone must be an international number: + and the country code, e.g. +1 415 555 0123.";
    if !raw.starts_with('+') {
        return Err(RULE.into());
    }
    let number = phonenumber::parse(None, raw).map_err(|_| RULE.to_string())?;
    if !phonenumber::is_valid(&number) {
        return Err("Phone is not a valid number for its country code.".into());
    }
    Ok(Some(
        number.format().mode(phonenumber::Mode::E164).to_string(),
    ))
}

/// The public website: an absolute http(s) URL with a host.
pub fn parse_website(raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    const RULE: &str =
        "Public website must be an http:// or https:// address, e.g. https://example.com.";
    if raw.chars().count() > super::rules::WEBSITE_MAX_CHARS {
        return Err("Public website must be at most 2,048 characters.".into());
    }
    let url = url::Url::parse(raw).map_err(|_| RULE.to_string())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(RULE.into());
    }
    // Stored as parsed: special characters are percent-encoded, which can make a URL
    // longer than it was typed.
    let url = url.to_string();
    if url.chars().count() > super::rules::WEBSITE_MAX_CHARS {
        return Err(
            "Public website must be at most 2,048 characters once special characters are encoded."
                .into(),
        );
    }
    Ok(Some(url))
}

/// An optional single email address.
pub fn parse_optional_email(raw: &str, label: &str) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    crate::accounts::rules::EmailAddress::parse(raw)
        .map(|email| Some(email.as_str().to_string()))
        .map_err(|message| message.replacen("Email", label, 1))
}

/// The Organization Info form as posted.
pub struct ProfileForm {
    pub name: String,
    pub alert_email: String,
    pub overview: String,
    pub sales_email: String,
    pub phone: String,
    pub website: String,
    pub x_handle: String,
}

/// The Organization Info, each field checked by its rule.
pub struct Profile {
    pub name: super::rules::OrganizationName,
    pub alert_email: Option<String>,
    pub overview: Option<String>,
    pub sales_email: Option<String>,
    pub phone: Option<String>,
    pub website: Option<String>,
    pub x_handle: Option<String>,
}

/// Checks the form, every field's rule at once (each error names its field).
pub fn parse_profile(form: ProfileForm) -> Result<Profile, AppError> {
    use super::rules::{parse_overview, parse_x_handle, OrganizationName};
    use crate::error::Validation;

    let mut validation = Validation::new();
    let name = validation.check("name", OrganizationName::parse(&form.name));
    let alert_email = validation.check(
        "alert_email",
        parse_optional_email(&form.alert_email, "Alert email"),
    );
    let overview = validation.check("overview", parse_overview(&form.overview));
    let sales_email = validation.check(
        "sales_email",
        parse_optional_email(&form.sales_email, "Sales email"),
    );
    let phone = validation.check("phone", parse_phone(&form.phone));
    let website = validation.check("website", parse_website(&form.website));
    let x_handle = validation.check("x_handle", parse_x_handle(&form.x_handle));
    validation.finish()?;
    let (
        Some(name),
        Some(alert_email),
        Some(overview),
        Some(sales_email),
        Some(phone),
        Some(website),
        Some(x_handle),
    ) = (
        name,
        alert_email,
        overview,
        sales_email,
        phone,
        website,
        x_handle,
    )
    else {
        return Err(AppError::Internal);
    };
    Ok(Profile {
        name,
        alert_email,
        overview,
        sales_email,
        phone,
        website,
        x_handle,
    })
}

/// Saves `org`'s Organization Info, with its audit event.
pub async fn save_profile(
    db: &impl sea_orm::TransactionTrait,
    org: organization::Model,
    actor: &crate::audit::service::Actor,
    profile: Profile,
    now: DateTime<Utc>,
) -> Result<organization::Model, AppError> {
    use crate::audit::{events::EventKind, service::NewEvent};
    use sea_orm::{ActiveModelTrait, Set};

    let Profile {
        name,
        alert_email,
        overview,
        sales_email,
        phone,
        website,
        x_handle,
    } = profile;
    let mut org: organization::ActiveModel = org.into();
    org.name = Set(name.as_str().to_string());
    org.alert_email = Set(alert_email);
    org.overview = Set(overview);
    org.sales_email = Set(sales_email);
    org.phone = Set(phone);
    org.website = Set(website);
    org.x_handle = Set(x_handle);
    org.updated_at = Set(now);
    let txn = db.begin().await?;
    let org = org.update(&txn).await?;
    NewEvent::of(org.id, actor, EventKind::ProfileChanged)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(org)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_are_normalized_to_e164() {
        assert_eq!(
            parse_phone("+1 (415) 555-0123").unwrap().as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            parse_phone("+44 20 7946 0958").unwrap().as_deref(),
            Some("+442079460958")
        );
        assert_eq!(parse_phone("").unwrap(), None);
        assert!(parse_phone("415 555 0123")
            .unwrap_err()
            .contains("international"));
        assert!(parse_phone("+1 555").is_err());
        assert!(parse_phone("call me").is_err());
    }

    #[test]
    fn websites_must_be_http_urls() {
        assert_eq!(
            parse_website("https://acme.example/about")
                .unwrap()
                .as_deref(),
            Some("https://acme.example/about")
        );
        assert!(parse_website("acme.example").is_err());
        assert!(parse_website("javascript:alert(1)").is_err());
        assert!(parse_website("ftp://acme.example").is_err());
        assert_eq!(parse_website(" ").unwrap(), None);
    }

    #[test]
    fn optional_emails_name_their_field() {
        assert_eq!(parse_optional_email("", "Alert email").unwrap(), None);
        let err = parse_optional_email("a@b.com, c@d.com", "Alert email").unwrap_err();
        assert!(
            err.starts_with("Alert email must be a single address"),
            "{err}"
        );
    }
}
