//! Server-only organization work: memberships and the 400 limit, permission checks,
//! profile validation that needs parsers, and the queries behind the pages.

use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::rules::{NextStep, NextStepKind, StepStatus};
pub use crate::server::locks::{change_owner_count, lock_organization};
use crate::{
    error::AppError,
    members::roles::{Action, Role},
    server::entities::{membership, organization},
};

/// A random, unguessable organization ID: "org_" and 128 random bits in hex.
pub fn new_public_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("org_{}", hex::encode(bytes))
}

/// The organization with this public ID and the user's role in it, if they belong to it.
pub async fn membership_in(
    db: &impl ConnectionTrait,
    user_id: i32,
    public_id: &str,
) -> Result<Option<(organization::Model, membership::Model, Role)>, DbErr> {
    let found = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .find_also_related(organization::Entity)
        .filter(organization::Column::PublicId.eq(public_id))
        .one(db)
        .await?;
    Ok(found.and_then(|(membership, org)| {
        let role = membership.role;
        Some((org?, membership, role))
    }))
}

/// The user's current organization, membership and role as the session lookup read them
/// when this request began (no query): for pages and lists. A change to an organization
/// checks the membership again in its own transaction.
pub fn current_membership_of(
    user: &crate::server::SignedIn,
) -> Option<(organization::Model, membership::Model, Role)> {
    user.current.as_deref().map(|current| {
        (
            current.organization.clone(),
            current.membership.clone(),
            current.membership.role,
        )
    })
}

/// What a member without two-factor authentication reads where an organization that requires
/// it keeps them out.
pub fn two_factor_block_message(organization_name: &str) -> String {
    format!(
        "{organization_name} requires two-factor authentication. Set up an authenticator app in User Settings (Two-factor authentication); you can open {organization_name} again right after."
    )
}

/// Keeps a member without two-factor authentication out of an organization that requires it
/// once its grace period is over. The membership stays; the first refusal of a day is
/// audited.
pub async fn enforce_two_factor_policy(
    state: &crate::server::AppState,
    org: &organization::Model,
    user: &crate::server::SignedIn,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::{
        accounts::rules::SecondFactor,
        audit::{events::EventKind, service::NewEvent},
        server::entities::audit_event,
    };

    // Owners and admins of an organization that asks for it sign in with a passkey: codes
    // can be phished, a passkey answers only this site.
    if org.passkeys_for_admins
        && matches!(role, Role::Owner | Role::Admin)
        && user.second_factor != Some(SecondFactor::Passkey)
    {
        return Err(AppError::Forbidden(format!(
            "{} requires owners and admins to sign in with a passkey. Add one in User Settings (Two-factor authentication) if you have none, then log out and sign in with it.",
            org.name
        )));
    }
    let Some(deadline) = org.two_factor_deadline else {
        return Ok(());
    };
    if now < deadline || user.meets_two_factor_policy() {
        return Ok(());
    }
    let audited_today = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(org.id))
        .filter(audit_event::Column::Kind.eq(EventKind::BlockedByTwoFactor))
        .filter(audit_event::Column::ActorId.eq(user.user_id))
        .filter(audit_event::Column::CreatedAt.gt(now - chrono::Duration::days(1)))
        .one(&state.reader)
        .await?
        .is_some();
    if !audited_today {
        NewEvent::new(org.id, user, EventKind::BlockedByTwoFactor)
            .about(&user.email)
            .record(&state.db, now)
            .await?;
    }
    Err(AppError::Forbidden(two_factor_block_message(&org.name)))
}

/// [`current_membership_of`], for the pages and lists of the current organization: refused
/// when its two-factor policy keeps the user out.
pub async fn current_membership_allowed(
    user: &crate::server::SignedIn,
) -> Result<Option<(organization::Model, membership::Model, Role)>, AppError> {
    let Some(current) = current_membership_of(user) else {
        return Ok(None);
    };
    let state = crate::server::app_state()?;
    enforce_two_factor_policy(&state, &current.0, user, current.2, Utc::now()).await?;
    Ok(Some(current))
}

/// The organization and role, if the user belongs to it and the role allows `action`.
pub async fn authorize(
    db: &impl ConnectionTrait,
    user_id: i32,
    public_id: &str,
    action: Action,
) -> Result<(organization::Model, Role), AppError> {
    let Some((org, _, role)) = membership_in(db, user_id, public_id).await? else {
        return Err(AppError::Forbidden(
            "You are not a member of this organization.".into(),
        ));
    };
    if !role.allows(action) {
        return Err(AppError::Forbidden(refusal(action)));
    }
    Ok((org, role))
}

/// Inside a write transaction, after [`lock_organization`]: the caller's role read again. A
/// caller demoted or removed by a request that held the lock first is refused, not served
/// on the role [`authorize_request`] read before the lock.
pub async fn reauthorize_locked(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    user_id: i32,
    action: Action,
) -> Result<Role, AppError> {
    let role = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(user_id))
        .one(txn)
        .await?
        .map(|found| found.role)
        .ok_or_else(|| {
            AppError::Forbidden("You are no longer a member of this organization.".into())
        })?;
    if !role.allows(action) {
        return Err(AppError::Forbidden(refusal(action)));
    }
    Ok(role)
}

/// What a server function acting on an organization has once the request is allowed.
pub struct Authorized {
    pub state: crate::server::AppState,
    pub user: crate::server::SignedIn,
    pub org: organization::Model,
    pub role: Role,
}

/// The signed-in user may take `action` in the organization `public_id`: the one check at
/// the top of every server function that acts on an organization.
/// An organization that requires two-factor authentication refuses members without it here
/// once its grace period is over.
pub async fn authorize_request(public_id: &str, action: Action) -> Result<Authorized, AppError> {
    let authorized = authorize_request_for_leaving(public_id, action).await?;
    enforce_two_factor_policy(
        &authorized.state,
        &authorized.org,
        &authorized.user,
        authorized.role,
        Utc::now(),
    )
    .await?;
    Ok(authorized)
}

/// [`authorize_request`] without the two-factor policy: leaving an organization is always
/// open to its members.
pub async fn authorize_request_for_leaving(
    public_id: &str,
    action: Action,
) -> Result<Authorized, AppError> {
    let user = crate::server::require_signed_in()?;
    let state = crate::server::app_state()?;
    let (org, role) = authorize(&state.reader, user.user_id, public_id, action).await?;
    Ok(Authorized {
        state,
        user,
        org,
        role,
    })
}

/// Like [`authorize_request`], for the user's current organization (the lists of the
/// Access Control tabs); `None` when they belong to none.
pub async fn authorize_current(action: Action) -> Result<Option<Authorized>, AppError> {
    let user = crate::server::require_signed_in()?;
    let state = crate::server::app_state()?;
    let Some((org, _, role)) = current_membership_allowed(&user).await? else {
        return Ok(None);
    };
    if !role.allows(action) {
        return Err(AppError::Forbidden(refusal(action)));
    }
    Ok(Some(Authorized {
        state,
        user,
        org,
        role,
    }))
}

/// Where a new organization stands on the steps the reference documentation names after
/// creating one: the profile (an overview and a way to reach the company), a logo, other
/// people (joined or invited), and, optionally, single sign-on.
pub async fn next_steps(
    db: &impl ConnectionTrait,
    org: &organization::Model,
    member_count: u64,
    now: DateTime<Utc>,
) -> Result<Vec<NextStep>, DbErr> {
    use crate::server::entities::{invitation, sso_connection};

    let filled = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    let has_contact = filled(&org.alert_email) || filled(&org.sales_email) || filled(&org.phone);
    let profile_done = filled(&org.overview) && has_contact;
    let others = member_count > 1
        || invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(org.id))
            .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
            .filter(invitation::Column::ExpiresAt.gt(now))
            .one(db)
            .await?
            .is_some();
    let sso = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(org.id))
        .one(db)
        .await?;
    let status = |done: bool| {
        if done {
            StepStatus::Done
        } else {
            StepStatus::ToDo
        }
    };
    Ok(vec![
        NextStep {
            kind: NextStepKind::FillOutProfile,
            status: status(profile_done),
        },
        NextStep {
            kind: NextStepKind::UploadLogo,
            status: status(org.logo_hash.is_some()),
        },
        NextStep {
            kind: NextStepKind::InviteUsers,
            status: status(others),
        },
        NextStep {
            kind: NextStepKind::SetUpSingleSignOn,
            status: match sso {
                Some(connection) if connection.enabled => StepStatus::Done,
                Some(_) => StepStatus::Started,
                None => StepStatus::ToDo,
            },
        },
    ])
}

fn refusal(action: Action) -> String {
    match action {
        Action::ManageProfile => "Only owners can change the organization profile.".into(),
        Action::DeleteOrganization => "Only owners can delete the organization.".into(),
        Action::ManageSso => "Only owners can change single sign-on.".into(),
        other => format!("Your role does not allow this: {}.", other.description()),
    }
}

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
    user: &crate::server::SignedIn,
    profile: Profile,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
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
    NewEvent::new(org.id, user, EventKind::ProfileChanged)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(())
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

    #[test]
    fn public_ids_are_random_and_not_sequential() {
        let (a, b) = (new_public_id(), new_public_id());
        assert_ne!(a, b);
        assert!(a.starts_with("org_") && a.len() == 36);
    }
}
