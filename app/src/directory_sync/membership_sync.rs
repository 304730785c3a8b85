//! What the directory decides about a provisioned person's membership, applied inside the
//! transaction of the SCIM request that changed it:
//! - inactive: no membership (suspended; it comes back when they are active again), and
//!   where their address is at one of the organization's verified domains, no session;
//! - active: a membership whose role is the highest of their groups' mapped roles (member
//!   when none of their groups is mapped) once any group is mapped; before that, the role
//!   they have (member when they join).
//!
//! The last owner is never removed or demoted by a sync: [`SyncRefusal::LastOwner`], which
//! the caller answers 409 after the transaction rolled back and records on its own.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::protocol::ScimError;
use crate::{
    addresses::domain_of,
    audit::{events::EventKind, service::Actor, service::NewEvent},
    error::AppError,
    identity::routing::verified_domains_of,
    members::{
        memberships::join_organization,
        roles::Role,
        service::{change_role, remove, LAST_OWNER},
    },
    server::{
        entities::{membership, scim_group, scim_group_member, scim_user},
        mail, session,
    },
};

/// Why a sync could not be applied.
#[derive(Debug)]
pub enum SyncRefusal {
    /// The change would remove or demote the organization's last owner (their address).
    LastOwner(String),
    Scim(ScimError),
}

impl<E: Into<ScimError>> From<E> for SyncRefusal {
    fn from(err: E) -> Self {
        SyncRefusal::Scim(err.into())
    }
}

/// Ranks roles for "the highest of their groups".
fn rank(role: Role) -> u8 {
    match role {
        Role::Owner => 3,
        Role::Admin => 2,
        Role::Member => 1,
    }
}

/// Whether any of the organization's groups is mapped to a role: from then on the
/// directory manages provisioned members' roles.
pub async fn roles_are_mapped(
    db: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<bool, sea_orm::DbErr> {
    Ok(scim_group::Entity::find()
        .filter(scim_group::Column::OrganizationId.eq(organization_id))
        .filter(scim_group::Column::Role.is_not_null())
        .limit(1)
        .one(db)
        .await?
        .is_some())
}

/// The highest mapped role of the person's groups.
async fn mapped_role(
    db: &impl ConnectionTrait,
    scim_user_id: i32,
) -> Result<Option<Role>, sea_orm::DbErr> {
    let roles: Vec<Option<Role>> = scim_group_member::Entity::find()
        .inner_join(scim_group::Entity)
        .filter(scim_group_member::Column::ScimUserId.eq(scim_user_id))
        .filter(scim_group::Column::Role.is_not_null())
        .select_only()
        .column(scim_group::Column::Role)
        .into_tuple()
        .all(db)
        .await?;
    Ok(roles.into_iter().flatten().max_by_key(|role| rank(*role)))
}

/// How the person came to be synced: a new link, or a change to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Provisioned,
    Updated {
        was_active: bool,
    },
    /// The User was deleted: their membership is removed, not suspended.
    Deprovisioned,
}

/// Brings the person's membership in line with the directory (see the module's rules).
/// Inside the caller's transaction, after the organization's lock.
pub async fn apply(
    txn: &impl ConnectionTrait,
    person: &scim_user::Model,
    change: Change,
    now: DateTime<Utc>,
) -> Result<(), SyncRefusal> {
    let organization_id = person.organization_id;
    let current = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(person.user_id))
        .one(txn)
        .await?;
    let actor = Actor::DirectorySync;
    if !person.active {
        if let Some(current) = current {
            remove(txn, organization_id, current.id, Role::Owner)
                .await
                .map_err(|err| last_owner_or(err, person))?;
            let kind = if change == Change::Deprovisioned {
                EventKind::Removed
            } else {
                EventKind::MemberSuspended
            };
            NewEvent::of(organization_id, &actor, kind)
                .about(&person.email)
                .role(current.role)
                .record(txn, now)
                .await?;
        }
        end_sessions_at_verified_domain(txn, person).await?;
        return Ok(());
    }
    let mapped = roles_are_mapped(txn, organization_id).await?;
    let from_groups = if mapped {
        Some(mapped_role(txn, person.id).await?.unwrap_or(Role::Member))
    } else {
        None
    };
    match current {
        None => {
            let role = from_groups.unwrap_or(Role::Member);
            join_organization(txn, person.user_id, organization_id, role, now).await?;
            let kind = match change {
                Change::Updated { was_active: false } => EventKind::MemberRestored,
                _ => EventKind::MemberAdded,
            };
            NewEvent::of(organization_id, &actor, kind)
                .about(&person.email)
                .role(role)
                .record(txn, now)
                .await?;
        }
        Some(current) => {
            let Some(target) = from_groups.filter(|role| *role != current.role) else {
                return Ok(());
            };
            change_role(txn, organization_id, current.id, target)
                .await
                .map_err(|err| last_owner_or(err, person))?;
            NewEvent::of(organization_id, &actor, EventKind::RoleChanged)
                .about(&person.email)
                .role(target)
                .previous_role(current.role)
                .record(txn, now)
                .await?;
        }
    }
    Ok(())
}

fn last_owner_or(err: AppError, person: &scim_user::Model) -> SyncRefusal {
    match err {
        AppError::Forbidden(message) if message == LAST_OWNER => {
            SyncRefusal::LastOwner(person.email.clone())
        }
        other => SyncRefusal::Scim(other.into()),
    }
}

/// A suspended person whose address is at one of the organization's verified domains is
/// the company's to shut out: every session of theirs ends.
async fn end_sessions_at_verified_domain(
    txn: &impl ConnectionTrait,
    person: &scim_user::Model,
) -> Result<(), sea_orm::DbErr> {
    let Some(domain) = domain_of(&person.email) else {
        return Ok(());
    };
    if verified_domains_of(txn, person.organization_id)
        .await?
        .contains(&domain)
    {
        session::end_all(txn, person.user_id).await?;
    }
    Ok(())
}

/// The sentence a refused sync answers with.
pub fn last_owner_detail(email: &str) -> String {
    format!(
        "{email} is the organization's last owner: directory sync cannot remove or demote them. Make another member an owner first, or map one of their groups to Owner."
    )
}

/// Records a refused removal or demotion of the last owner and tells the owners, in its
/// own transaction (the request's rolled back).
pub async fn note_last_owner_kept(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    organization_name: &str,
    email: &str,
    settings: &crate::server::Settings,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    NewEvent::of(
        organization_id,
        &Actor::DirectorySync,
        EventKind::LastOwnerKept,
    )
    .about(email)
    .record(txn, now)
    .await?;
    let page = settings.link(super::SETTINGS_PAGE);
    for owner in crate::members::memberships::owners_of(txn, organization_id).await? {
        let text = format!(
            "Hello {},\n\nThe identity provider of {organization_name} asked Orgdesk to remove or demote {email}, the organization's last owner. Orgdesk refused: an organization needs an owner.\n\nMake another member an owner, or map one of their groups to Owner: {page}\n\n— Orgdesk",
            owner.name,
        );
        let subject =
            format!("Directory sync could not change the last owner of {organization_name}");
        // A full inbox for the day skips the notice; the audit log has it.
        let _ = mail::enqueue(txn, mail::plain_notice(&owner.email, subject, text), now).await?;
    }
    Ok(())
}
