//! Server-only member changes, each inside the caller's transaction. Each starts by locking
//! the organization's row, so concurrent changes to one organization run one at a time and
//! see each other's results.

use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
};

use super::memberships::{index_member, void_invitations_beyond};
use super::{roles::Role, rules::member_key};
use crate::server::locks::{change_owner_count, lock_organization};
use crate::{
    error::AppError,
    server::entities::{member_search_term, membership, user},
};

/// Rewrites the member key of all the user's memberships after a name change.
pub async fn refresh_member_keys(
    txn: &impl ConnectionTrait,
    user_id: i32,
    name: &str,
    email_normalized: &str,
) -> Result<(), sea_orm::DbErr> {
    membership::Entity::update_many()
        .col_expr(
            membership::Column::MemberKey,
            Expr::value(member_key(name, email_normalized)),
        )
        .filter(membership::Column::UserId.eq(user_id))
        .exec(txn)
        .await?;
    // Their search terms follow the name.
    let memberships = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user_id))
        .all(txn)
        .await?;
    member_search_term::Entity::delete_many()
        .filter(
            member_search_term::Column::MembershipId
                .is_in(memberships.iter().map(|m| m.id).collect::<Vec<_>>()),
        )
        .exec(txn)
        .await?;
    for found in &memberships {
        index_member(txn, found.organization_id, found.id, name, email_normalized).await?;
    }
    Ok(())
}

/// Writes the search terms of memberships that have none (those from before the search
/// index, at server start), a thousand at a time. Returns how many it indexed.
pub async fn index_unindexed_members(db: &impl ConnectionTrait) -> Result<u64, sea_orm::DbErr> {
    use sea_orm::{
        sea_query::{Expr, Query},
        QueryOrder, QuerySelect,
    };
    let mut indexed = 0;
    let mut after = 0;
    loop {
        // NOT EXISTS, not NOT IN: PostgreSQL runs NOT IN over a subquery too large for
        // its work memory once per membership (hours at 100,000 members); this is an
        // anti-join on both databases, through the index on `membership_id`.
        let has_terms = Query::select()
            .expr(Expr::val(1))
            .from(member_search_term::Entity)
            .and_where(
                Expr::col((
                    member_search_term::Entity,
                    member_search_term::Column::MembershipId,
                ))
                .equals((membership::Entity, membership::Column::Id)),
            )
            .to_owned();
        let batch = membership::Entity::find()
            .filter(membership::Column::Id.gt(after))
            .filter(Expr::exists(has_terms).not())
            .order_by_asc(membership::Column::Id)
            .find_also_related(user::Entity)
            .limit(1000)
            .all(db)
            .await?;
        let Some((last, _)) = batch.last() else {
            return Ok(indexed);
        };
        // Onwards from here: each batch starts where the last ended.
        after = last.id;
        for (found, account) in batch {
            let Some(account) = account else { continue };
            index_member(
                db,
                found.organization_id,
                found.id,
                &account.name,
                &account.email_normalized,
            )
            .await?;
            indexed += 1;
        }
    }
}

/// Refuses a change of role or a removal from the dashboard or the API when the member's
/// role is the identity provider's: they were provisioned by directory sync and one of
/// the organization's groups is mapped to a role. The sentence names the group, or the
/// provider when none of theirs is mapped. (Directory sync itself changes them through
/// [`change_role`] and [`remove`] directly.)
pub async fn refuse_if_directory_managed(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    membership_id: i32,
) -> Result<(), AppError> {
    use crate::server::entities::{scim_group, scim_group_member, scim_user};
    use sea_orm::{QueryOrder, QuerySelect};

    let Some(target) = membership::Entity::find_by_id(membership_id)
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let Some(person) = scim_user::Entity::find()
        .filter(scim_user::Column::OrganizationId.eq(organization_id))
        .filter(scim_user::Column::UserId.eq(target.user_id))
        .one(txn)
        .await?
    else {
        return Ok(());
    };
    let any_mapped = scim_group::Entity::find()
        .filter(scim_group::Column::OrganizationId.eq(organization_id))
        .filter(scim_group::Column::Role.is_not_null())
        .limit(1)
        .one(txn)
        .await?
        .is_some();
    if !any_mapped {
        return Ok(());
    }
    let their_group: Option<String> = scim_group_member::Entity::find()
        .inner_join(scim_group::Entity)
        .filter(scim_group_member::Column::ScimUserId.eq(person.id))
        .filter(scim_group::Column::Role.is_not_null())
        .order_by_asc(scim_group::Column::DisplayNameNormalized)
        .select_only()
        .column(scim_group::Column::DisplayName)
        .into_tuple()
        .one(txn)
        .await?;
    Err(AppError::Forbidden(match their_group {
        Some(group) => format!(
            "{} gets their role from the identity provider's group “{group}”: change it there, or unmap the group under Settings → Directory sync (SCIM).",
            person.email
        ),
        None => format!(
            "{} is managed by the identity provider, which sets provisioned members' roles: change them there, or unmap every group under Settings → Directory sync (SCIM).",
            person.email
        ),
    }))
}

pub const LAST_OWNER: &str = "An organization needs at least one owner. Make someone else an owner first (or delete the organization).";

/// The membership `membership_id` of this organization; another organization's ID is
/// treated as unknown.
async fn member_of(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    membership_id: i32,
) -> Result<(membership::Model, user::Model, Role), AppError> {
    let (found, user) = membership::Entity::find_by_id(membership_id)
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .find_also_related(user::Entity)
        .one(txn)
        .await?
        .ok_or_else(|| {
            AppError::Forbidden("That user is not a member of this organization.".into())
        })?;
    let role = found.role;
    Ok((found, user.ok_or(AppError::Internal)?, role))
}

pub async fn change_role(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    membership_id: i32,
    new_role: Role,
) -> Result<Option<RoleChange>, AppError> {
    lock_organization(txn, organization_id).await?;
    let (target, user, old_role) = member_of(txn, organization_id, membership_id).await?;
    if old_role == new_role {
        return Ok(None);
    }
    if old_role == Role::Owner && !change_owner_count(txn, organization_id, -1).await? {
        return Err(AppError::Forbidden(LAST_OWNER.into()));
    }
    if new_role == Role::Owner {
        change_owner_count(txn, organization_id, 1).await?;
    }
    let user_id = target.user_id;
    let mut target: membership::ActiveModel = target.into();
    target.role = Set(new_role);
    target.update(txn).await?;
    void_invitations_beyond(
        txn,
        organization_id,
        user_id,
        Some(new_role),
        chrono::Utc::now(),
    )
    .await?;
    Ok(Some(RoleChange {
        email: user.email,
        from: old_role,
    }))
}

/// What a role change changed, for the audit log.
pub struct RoleChange {
    pub email: String,
    pub from: Role,
}

/// Removes a membership. `by` is the remover's role: only an owner removes an owner
/// (leaving passes Owner, as everyone may remove themselves). Returns the removed user's
/// email address.
pub async fn remove(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    membership_id: i32,
    by: Role,
) -> Result<String, AppError> {
    lock_organization(txn, organization_id).await?;
    let (target, user, role) = member_of(txn, organization_id, membership_id).await?;
    if role == Role::Owner {
        if by != Role::Owner {
            return Err(AppError::Forbidden("Admins cannot remove an owner.".into()));
        }
        if !change_owner_count(txn, organization_id, -1).await? {
            return Err(AppError::Forbidden(LAST_OWNER.into()));
        }
    }
    membership::Entity::delete_by_id(target.id)
        .exec(txn)
        .await?;
    user::Entity::update_many()
        .col_expr(
            user::Column::MembershipCount,
            Expr::col(user::Column::MembershipCount).sub(1),
        )
        .filter(user::Column::Id.eq(target.user_id))
        .exec(txn)
        .await?;
    void_invitations_beyond(
        txn,
        organization_id,
        target.user_id,
        None,
        chrono::Utc::now(),
    )
    .await?;
    Ok(user.email)
}

/// Adds the existing account with this address to the organization with `role` (the API's
/// direct add, allowed in SSO organizations too). Inside the caller's transaction. The
/// account must have proved its address: otherwise whoever registered someone else's
/// address before them would be let in under it.
pub async fn add_existing_account(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    email: &str,
    role: Role,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(membership::Model, user::Model), AppError> {
    lock_organization(txn, organization_id).await?;
    let normalized = crate::addresses::normalize_email(email);
    let account = user::Entity::find()
        .filter(user::Column::EmailNormalized.eq(normalized))
        .one(txn)
        .await?
        .filter(|account| account.email_verified_at.is_some())
        .ok_or_else(|| {
            AppError::NotFound(
                "No Orgdesk account with a confirmed address matches this email. Invite the person instead.".into(),
            )
        })?;
    let already = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(account.id))
        .one(txn)
        .await?;
    if already.is_some() {
        return Err(AppError::conflict(
            "email",
            "This person is already a member of the organization.",
        ));
    }
    let joined =
        super::memberships::join_organization(txn, account.id, organization_id, role, now).await?;
    Ok((joined, account))
}

/// The membership `membership_id` of this organization with its account (another
/// organization's ID is not found).
pub async fn membership_with_account(
    db: &impl ConnectionTrait,
    organization_id: i32,
    membership_id: i32,
) -> Result<Option<(membership::Model, user::Model)>, sea_orm::DbErr> {
    Ok(membership::Entity::find_by_id(membership_id)
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .find_also_related(user::Entity)
        .one(db)
        .await?
        .and_then(|(m, u)| Some((m, u?))))
}
