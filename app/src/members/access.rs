//! Who may do what in an organization: the membership a request acts through, the role's
//! permission (`roles::Action`), and the organization's two-factor and passkey policy. Every
//! server function that acts on an organization starts with [`authorize_request`] (or
//! [`authorize_current`] for the current organization's lists); a write re-reads the role
//! under the organization's lock with [`reauthorize_locked`].

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::roles::{Action, Role};
use crate::{
    error::AppError,
    server::entities::{membership, organization},
};

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
        audit::{events::EventKind, service::NewEvent},
        kinds::SecondFactor,
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

fn refusal(action: Action) -> String {
    match action {
        Action::ManageProfile => "Only owners can change the organization profile.".into(),
        Action::DeleteOrganization => "Only owners can delete the organization.".into(),
        Action::ManageSso => "Only owners can change single sign-on.".into(),
        other => format!("Your role does not allow this: {}.", other.description()),
    }
}
