//! (ssr) Memberships as the database holds them: adding and joining (with the 400 limit and
//! owner counts), releasing an organization's members, and voiding the invitations a member
//! can no longer send. Organizations, invitations, SSO and accounts all join and leave
//! through here; this imports none of them.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, OnConflict, Query},
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set,
};

use super::{roles::Role, rules::search_terms};
use crate::{
    audit::{events::EventKind, service::NewEvent},
    error::AppError,
    members::rules::{limit_message, MAX_ORGANIZATIONS_PER_USER},
    server::{
        entities::{invitation, member_search_term, membership, user},
        locks::change_owner_count,
    },
};

/// Adds `user_id` to an organization, inside the caller's transaction (owner counts are the
/// caller's business: see [`join_organization`]). The user's
/// membership count goes up first: that write locks the user's row (so concurrent joins of
/// one user run one after another) and refuses a 401st membership.
pub async fn add_membership(
    txn: &impl ConnectionTrait,
    user_id: i32,
    organization_id: i32,
    role: Role,
    now: DateTime<Utc>,
) -> Result<membership::Model, AppError> {
    let counted = user::Entity::update_many()
        .col_expr(
            user::Column::MembershipCount,
            Expr::col(user::Column::MembershipCount).add(1),
        )
        .filter(user::Column::Id.eq(user_id))
        .filter(user::Column::MembershipCount.lt(MAX_ORGANIZATIONS_PER_USER as i32))
        .exec(txn)
        .await?;
    if counted.rows_affected == 0 {
        return Err(AppError::Forbidden(limit_message()));
    }
    let member = user::Entity::find_by_id(user_id)
        .one(txn)
        .await?
        .ok_or(AppError::Internal)?;
    let joined = membership::ActiveModel {
        organization_id: Set(organization_id),
        user_id: Set(user_id),
        role: Set(role),
        created_at: Set(now),
        selected_at: Set(now),
        member_key: Set(crate::members::rules::member_key(
            &member.name,
            &member.email_normalized,
        )),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    index_member(
        txn,
        organization_id,
        joined.id,
        &member.name,
        &member.email_normalized,
    )
    .await?;
    Ok(joined)
}

/// Adds a user to an existing organization: the membership, and the owner count when the
/// role is owner. (A new organization starts with its creator counted.)
pub async fn join_organization(
    txn: &impl ConnectionTrait,
    user_id: i32,
    organization_id: i32,
    role: Role,
    now: DateTime<Utc>,
) -> Result<membership::Model, AppError> {
    let membership = add_membership(txn, user_id, organization_id, role, now).await?;
    if role == Role::Owner {
        change_owner_count(txn, organization_id, 1).await?;
    }
    Ok(membership)
}

/// Lowers the membership count of everyone in the organization; call before deleting it.
pub async fn release_memberships_of(
    txn: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<(), DbErr> {
    user::Entity::update_many()
        .col_expr(
            user::Column::MembershipCount,
            Expr::col(user::Column::MembershipCount).sub(1),
        )
        .filter(
            user::Column::Id.in_subquery(
                Query::select()
                    .column(membership::Column::UserId)
                    .from(membership::Entity)
                    .and_where(membership::Column::OrganizationId.eq(organization_id))
                    .to_owned(),
            ),
        )
        .exec(txn)
        .await?;
    Ok(())
}

/// After `user_id`'s role in the organization changed (`None`: they are no longer a
/// member), revokes their pending invitations they could no longer send. Inside the
/// caller's transaction, with the organization locked.
pub async fn void_invitations_beyond(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    user_id: i32,
    role: Option<Role>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::InvitedBy.eq(user_id))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .all(txn)
        .await?;
    for invite in pending {
        let invited = invite.role;
        if !role.is_some_and(|r| r.may_invite_as(invited)) {
            void_invitation(txn, &invite, invited, now).await?;
        }
    }
    Ok(())
}

/// Revokes one pending invitation as Orgdesk's doing, audited (its inviter's authority or
/// the organization's policy no longer stands behind it).
pub async fn void_invitation(
    txn: &impl ConnectionTrait,
    invite: &invitation::Model,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let revoked = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(invitation::InvitationStatus::Revoked),
        )
        .col_expr(invitation::Column::ClosedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(invite.id))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .exec(txn)
        .await?;
    if revoked.rows_affected == 1 {
        NewEvent::system(invite.organization_id, EventKind::InvitationVoided)
            .about(&invite.email)
            .role(role)
            .record(txn, now)
            .await?;
    }
    Ok(())
}

/// Writes a membership's search terms (`rules::search_terms`); terms it already has are
/// kept.
pub async fn index_member(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    membership_id: i32,
    name: &str,
    email_normalized: &str,
) -> Result<(), sea_orm::DbErr> {
    let rows = search_terms(name, email_normalized)
        .into_iter()
        .map(|term| member_search_term::ActiveModel {
            organization_id: Set(organization_id),
            membership_id: Set(membership_id),
            term: Set(term),
            ..Default::default()
        });
    member_search_term::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([
                member_search_term::Column::MembershipId,
                member_search_term::Column::Term,
            ])
            .do_nothing()
            .to_owned(),
        )
        .do_nothing()
        .exec(txn)
        .await?;
    Ok(())
}

/// The organization's owners' accounts (whom notices about the organization go to).
pub async fn owners_of(
    db: &impl sea_orm::ConnectionTrait,
    organization_id: i32,
) -> Result<Vec<crate::server::entities::user::Model>, sea_orm::DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    Ok(crate::server::entities::membership::Entity::find()
        .filter(crate::server::entities::membership::Column::OrganizationId.eq(organization_id))
        .filter(crate::server::entities::membership::Column::Role.eq(super::roles::Role::Owner))
        .find_also_related(crate::server::entities::user::Entity)
        .all(db)
        .await?
        .into_iter()
        .filter_map(|(_, user)| user)
        .collect())
}
