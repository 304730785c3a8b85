//! Server-only invitation work: the rate limit, issuing and refreshing links, accepting
//! and declining, and the queries behind the pages.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    sea_query::Expr, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, TransactionTrait,
};

use crate::server::locks::lock_organization;
use crate::{
    audit::{events::EventKind, service::NewEvent},
    error::AppError,
    members::memberships::{join_organization, void_invitation},
    members::roles::Role,
    server::{
        entities::{
            audit_event,
            invitation::{self, InvitationStatus},
            membership, organization, user,
        },
        mail::{self, InvitationEmail},
        tokens::{hash_token, new_token},
        AppState, SignedIn,
    },
};

/// Who sends an invitation: a member through the dashboard, or a program with one of the
/// organization's API keys.
#[derive(Clone, Copy)]
pub enum Inviter<'a> {
    Member(&'a SignedIn),
    Key(&'a crate::api_keys::service::ApiCaller),
}

impl Inviter<'_> {
    pub fn actor(&self) -> crate::audit::service::Actor {
        match self {
            Inviter::Member(user) => (*user).into(),
            Inviter::Key(caller) => caller.actor(),
        }
    }

    fn user_id(&self) -> Option<i32> {
        match self {
            Inviter::Member(user) => Some(user.user_id),
            Inviter::Key(_) => None,
        }
    }

    /// How the email names the sender: the member, or the organization itself (with its
    /// alert address, when it has one) for a program's invitation.
    fn signature(&self, org: &organization::Model) -> (String, String) {
        match self {
            Inviter::Member(user) => (user.name.clone(), user.email.clone()),
            Inviter::Key(_) => (
                org.name.clone(),
                org.alert_email
                    .clone()
                    .unwrap_or_else(|| "sent through the Orgdesk API".into()),
            ),
        }
    }

    /// The inviter's role as it is now, inside the transaction after the organization's
    /// lock: a member's read again, a key's checked still valid (it acts as its scopes'
    /// role).
    pub async fn role_now(
        &self,
        txn: &impl ConnectionTrait,
        organization_id: i32,
        now: DateTime<Utc>,
    ) -> Result<Role, AppError> {
        match self {
            Inviter::Member(user) => {
                crate::members::access::reauthorize_locked(
                    txn,
                    organization_id,
                    user.user_id,
                    crate::members::roles::Action::ManageInvitations,
                )
                .await
            }
            Inviter::Key(caller) => {
                crate::api_keys::service::reauthorize_key_locked(txn, caller.key.id, now).await?;
                Ok(caller.acting_role())
            }
        }
    }
}

/// How long an invitation link works.
pub fn lifetime() -> Duration {
    Duration::days(7)
}

/// Invitations (new and resent) an organization may send per 24 hours: GitHub's rule, 50
/// while the organization is younger than a month, 500 after.
pub fn daily_limit(org: &organization::Model, now: DateTime<Utc>) -> u64 {
    if now - org.created_at < Duration::days(30) {
        50
    } else {
        500
    }
}

/// Refuses one more invitation when the organization sent its daily allowance. Call with
/// the organization locked, so two requests cannot both take the last one.
pub async fn check_rate_limit(
    txn: &impl ConnectionTrait,
    org: &organization::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let limit = daily_limit(org, now);
    let sent = audit_event::Entity::find()
        .filter(audit_event::Column::OrganizationId.eq(org.id))
        .filter(audit_event::Column::Kind.is_in([EventKind::Invited, EventKind::Resent]))
        .filter(audit_event::Column::CreatedAt.gt(now - Duration::hours(24)))
        .count(txn)
        .await?;
    if sent >= limit {
        return Err(AppError::TooManyAttempts(format!(
            "This organization has sent {limit} invitations in the last 24 hours, the most allowed. Try again tomorrow."
        )));
    }
    Ok(())
}

/// Whether someone with this (normalized) address already belongs to the organization.
pub async fn is_member(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    email_normalized: &str,
) -> Result<bool, DbErr> {
    let found = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .inner_join(user::Entity)
        .filter(user::Column::EmailNormalized.eq(email_normalized))
        .count(txn)
        .await?;
    Ok(found > 0)
}

/// Queues the invitation email carrying `token`.
pub async fn queue_email(
    txn: &impl ConnectionTrait,
    state: &crate::server::AppState,
    org: &organization::Model,
    invite: &invitation::Model,
    inviter: Inviter<'_>,
    token: &str,
    now: DateTime<Utc>,
) -> Result<mail::Queued, DbErr> {
    let link = state.settings.link(&format!("/invitation?token={token}"));
    let role = invite.role.label().to_lowercase();
    let (inviter_name, inviter_email) = inviter.signature(org);
    let email = mail::invitation_email(InvitationEmail {
        to: &invite.email,
        organization: &org.name,
        inviter_name: &inviter_name,
        inviter_email: &inviter_email,
        role: &role,
        link: &link,
        expires_at: invite.expires_at,
    });
    mail::enqueue(txn, email, now).await
}

/// Invites `email` to `org` as `role` on behalf of `inviter` (whose right to invite was
/// checked): refused when the address is a member or has a pending invitation; under the
/// organization's lock the inviter's role is read again and the daily limit counted; the
/// invitation, its audit event and its email are written together. Wake the mail worker
/// after.
pub async fn invite(
    state: &AppState,
    org: &organization::Model,
    inviter: Inviter<'_>,
    email: &crate::accounts::rules::EmailAddress,
    role: Role,
    now: DateTime<Utc>,
) -> Result<invitation::Model, AppError> {
    use sea_orm::{ActiveModelTrait, Set, SqlErr};

    // An invitation as owner makes an owner: a security change.
    if let (Inviter::Member(user), Role::Owner) = (inviter, role) {
        crate::identity::proofs::require_fresh_proof(user, now)?;
    }
    // Checked on a reader before the write transaction, which holds SQLite's only writer:
    // the partial unique index on pending invitations refuses a duplicate sent meanwhile.
    if is_member(&state.reader, org.id, &email.normalized()).await? {
        return Err(AppError::conflict(
            "email",
            format!("{} is already a member of {}.", email.as_str(), org.name),
        ));
    }
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(org.id))
        .filter(invitation::Column::EmailNormalized.eq(email.normalized()))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .one(&state.reader)
        .await?;
    if let Some(pending) = pending {
        return Err(already_pending(email.as_str(), pending.expires_at <= now));
    }

    let txn = state.db.begin().await?;
    // The daily limit counts under the organization's lock, so parallel requests cannot pass it.
    lock_organization(&txn, org.id).await?;
    // The inviter's role as it is now, under the lock (not as read before it).
    let your_role = inviter.role_now(&txn, org.id, now).await?;
    if !your_role.may_invite_as(role) {
        return Err(AppError::field(
            "role",
            "Only owners can invite an owner. Choose admin or member.",
        ));
    }
    check_rate_limit(&txn, org, now).await?;

    let (token, token_hash) = new_link_token();
    let invite = invitation::ActiveModel {
        organization_id: Set(org.id),
        email: Set(email.as_str().to_string()),
        email_normalized: Set(email.normalized()),
        role: Set(role),
        status: Set(invitation::InvitationStatus::Pending),
        token_hash: Set(token_hash),
        invited_by: Set(inviter.user_id()),
        created_at: Set(now),
        sent_at: Set(now),
        expires_at: Set(now + lifetime()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => already_pending(email.as_str(), false),
        _ => err.into(),
    })?;
    NewEvent::of(org.id, &inviter.actor(), EventKind::Invited)
        .about(&invite.email)
        .role(role)
        .record(&txn, now)
        .await?;
    queue_email(&txn, state, org, &invite, inviter, &token, now)
        .await?
        .or_refuse()?;
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(invite)
}

/// Sends a pending (or expired) invitation again: a new link (the old one stops working)
/// and a new expiry. Another organization's invitation, or one no longer pending, is not
/// found.
pub async fn resend(
    state: &AppState,
    org: &organization::Model,
    inviter: Inviter<'_>,
    invitation_id: i32,
    now: DateTime<Utc>,
) -> Result<invitation::Model, AppError> {
    use sea_orm::{ActiveModelTrait, Set};

    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    let your_role = inviter.role_now(&txn, org.id, now).await?;
    let invite = invitation::Entity::find_by_id(invitation_id)
        .filter(invitation::Column::OrganizationId.eq(org.id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound("That invitation is no longer pending.".into()))?;
    if !your_role.may_invite_as(invite.role) {
        return Err(AppError::Forbidden(
            "Only owners can send an invitation to become an owner.".into(),
        ));
    }
    check_rate_limit(&txn, org, now).await?;
    let (token, token_hash) = new_link_token();
    let mut refreshed: invitation::ActiveModel = invite.into();
    refreshed.token_hash = Set(token_hash);
    refreshed.sent_at = Set(now);
    refreshed.expires_at = Set(now + lifetime());
    let invite = refreshed.update(&txn).await?;
    NewEvent::of(org.id, &inviter.actor(), EventKind::Resent)
        .about(&invite.email)
        .record(&txn, now)
        .await?;
    queue_email(&txn, state, org, &invite, inviter, &token, now)
        .await?
        .or_refuse()?;
    txn.commit().await?;
    state.wake_mail_worker();
    Ok(invite)
}

/// Withdraws a pending invitation; its link then says it was revoked. Another
/// organization's invitation, or one no longer pending, is not found.
pub async fn revoke(
    state: &AppState,
    org: &organization::Model,
    inviter: Inviter<'_>,
    invitation_id: i32,
    now: DateTime<Utc>,
) -> Result<invitation::Model, AppError> {
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    inviter.role_now(&txn, org.id, now).await?;
    let revoked = invitation::Entity::update_many()
        .col_expr(
            invitation::Column::Status,
            Expr::value(InvitationStatus::Revoked),
        )
        .col_expr(invitation::Column::ClosedAt, Expr::value(now))
        .filter(invitation::Column::Id.eq(invitation_id))
        .filter(invitation::Column::OrganizationId.eq(org.id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .exec(&txn)
        .await?;
    if revoked.rows_affected != 1 {
        return Err(AppError::NotFound(
            "That invitation is no longer pending.".into(),
        ));
    }
    let invite = invitation::Entity::find_by_id(invitation_id)
        .one(&txn)
        .await?
        .ok_or(AppError::Internal)?;
    NewEvent::of(org.id, &inviter.actor(), EventKind::Revoked)
        .about(&invite.email)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(invite)
}

/// The refusal of a second pending invitation to one address.
fn already_pending(email: &str, expired: bool) -> AppError {
    let message = if expired {
        format!("The invitation to {email} has expired. Use Resend on the Invited Users tab to send a new link.")
    } else {
        format!("{email} already has a pending invitation. Use Resend on the Invited Users tab to send it again.")
    };
    AppError::conflict("email", message)
}

/// A fresh token and its hash.
pub fn new_link_token() -> (String, String) {
    let token = new_token();
    let hash = hash_token(&token);
    (token, hash)
}

/// How the invitee names the invitation: the emailed link's token (hashed), or its ID on
/// the Welcome page (then only invitations to the invitee's own address match).
#[derive(Clone, Copy)]
pub enum Chosen<'a> {
    ByToken(&'a str),
    ById(i32),
}

impl Chosen<'_> {
    fn filter(self, me: &SignedIn) -> Condition {
        match self {
            Chosen::ByToken(hash) => Condition::all().add(invitation::Column::TokenHash.eq(hash)),
            Chosen::ById(id) => Condition::all().add(invitation::Column::Id.eq(id)).add(
                invitation::Column::EmailNormalized
                    .eq(crate::accounts::rules::normalize_email(&me.email)),
            ),
        }
    }
}

/// Marks the chosen invitation `status` (accepted or declined) if it is pending and
/// unexpired, and returns it; otherwise says why not. The write comes first in the
/// transaction: it takes the row's lock, so of two concurrent accepts exactly one changes
/// the row and the other finds it accepted.
async fn close(
    txn: &impl ConnectionTrait,
    me: &SignedIn,
    chosen: Chosen<'_>,
    status: InvitationStatus,
    now: DateTime<Utc>,
) -> Result<invitation::Model, AppError> {
    let updated = invitation::Entity::update_many()
        .col_expr(invitation::Column::Status, Expr::value(status))
        .col_expr(invitation::Column::ClosedAt, Expr::value(now))
        .filter(chosen.filter(me))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(now))
        .exec(txn)
        .await?;
    let found = invitation::Entity::find()
        .filter(chosen.filter(me))
        .one(txn)
        .await?;
    let invite = match found {
        Some(invite) if updated.rows_affected == 1 => invite,
        other => return Err(AppError::Forbidden(unusable_message(other.as_ref(), now))),
    };
    if invite.email_normalized != crate::accounts::rules::normalize_email(&me.email) {
        return Err(AppError::Forbidden(format!(
            "This invitation was sent to {}, but you are logged in as {}. Log out and log in (or create an account) with {} to accept it.",
            invite.email, me.email, invite.email
        )));
    }
    Ok(invite)
}

/// Accepts: the membership with the invited role (current from now on), the address marked
/// verified, the audit event; all or nothing. An invitation carries only the authority its
/// inviter still has: one they could no longer send is revoked instead.
pub async fn accept(state: &AppState, me: &SignedIn, chosen: Chosen<'_>) -> Result<(), AppError> {
    let now = Utc::now();
    // Which organization, read before the transaction: its first statement must be a write
    // (SQLite cannot turn a reading transaction into a writing one under contention).
    let organization_id = invitation::Entity::find()
        .filter(chosen.filter(me))
        .one(&state.reader)
        .await?
        .map(|found| found.organization_id);
    let txn = state.db.begin().await?;
    // The organization first, as every member change does: the inviter's role cannot change
    // under this check, and one lock order means no deadlock.
    if let Some(organization_id) = organization_id {
        lock_organization(&txn, organization_id).await?;
    }
    let invite = close(&txn, me, chosen, InvitationStatus::Accepted, now).await?;
    let role = invite.role;
    if !inviter_may_still_grant(&txn, &invite, role).await? {
        drop(txn);
        let txn = state.db.begin().await?;
        lock_organization(&txn, invite.organization_id).await?;
        void_invitation(&txn, &invite, role, now).await?;
        txn.commit().await?;
        return Err(AppError::Forbidden(format!(
            "This invitation is no longer valid: the person who sent it can no longer invite you as {}. Ask an owner or admin of the organization for a new one.",
            role.label()
        )));
    }
    // Sent before the organization's single sign-on was on: its identity provider decides
    // who belongs now, and an invitation must not add someone from outside it.
    if let Some((connection, _)) =
        crate::identity::routing::enabled_connection(&txn, invite.organization_id).await?
    {
        drop(txn);
        let txn = state.db.begin().await?;
        lock_organization(&txn, invite.organization_id).await?;
        void_invitation(&txn, &invite, role, now).await?;
        txn.commit().await?;
        return Err(AppError::Forbidden(format!(
            "This invitation is no longer valid: the organization now signs in through {}. Its members join by signing in there.",
            connection.provider_name
        )));
    }
    if is_member(&txn, invite.organization_id, &invite.email_normalized).await? {
        return Err(AppError::Forbidden(
            "You already belong to this organization.".into(),
        ));
    }
    // Fails at the 400-organization limit; the rollback leaves the invitation pending.
    join_organization(&txn, me.user_id, invite.organization_id, role, now).await?;
    user::Entity::update_many()
        .col_expr(user::Column::EmailVerifiedAt, Expr::value(now))
        .filter(user::Column::Id.eq(me.user_id))
        .filter(user::Column::EmailVerifiedAt.is_null())
        .exec(&txn)
        .await?;
    NewEvent::new(invite.organization_id, me, EventKind::Accepted)
        .about(&invite.email)
        .role(role)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Whether the invitation's sender is still a member whose role may invite as `role`.
async fn inviter_may_still_grant(
    txn: &impl ConnectionTrait,
    invite: &invitation::Model,
    role: Role,
) -> Result<bool, DbErr> {
    let Some(inviter) = invite.invited_by else {
        return Ok(false);
    };
    let found = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(invite.organization_id))
        .filter(membership::Column::UserId.eq(inviter))
        .one(txn)
        .await?;
    Ok(found
        .map(|m| m.role)
        .is_some_and(|inviter_role| inviter_role.may_invite_as(role)))
}

/// Revokes a pending invitation whose inviter lost the authority to send it.
/// Revokes every pending invitation of the organization, each audited: its single sign-on
/// turned on, and its identity provider decides who belongs now. Inside the caller's
/// transaction, with the organization locked. Returns how many.
pub async fn void_pending_invitations(
    txn: &impl ConnectionTrait,
    organization_id: i32,
    now: DateTime<Utc>,
) -> Result<usize, DbErr> {
    let pending = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .all(txn)
        .await?;
    for invite in &pending {
        void_invitation(txn, invite, invite.role, now).await?;
    }
    Ok(pending.len())
}

pub async fn decline(state: &AppState, me: &SignedIn, chosen: Chosen<'_>) -> Result<(), AppError> {
    let now = Utc::now();
    let txn = state.db.begin().await?;
    let invite = close(&txn, me, chosen, InvitationStatus::Declined, now).await?;
    NewEvent::new(invite.organization_id, me, EventKind::Declined)
        .about(&invite.email)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Why a link cannot be used (not pending, expired, unknown), in the user's words.
pub fn unusable_message(found: Option<&invitation::Model>, now: DateTime<Utc>) -> String {
    match found {
        None => "This invitation link is not valid. It may have been replaced by a newer email; use the link in the most recent one.".into(),
        Some(i) if i.status == InvitationStatus::Accepted => "This invitation was already accepted.".into(),
        Some(i) if i.status == InvitationStatus::Declined => "This invitation was declined.".into(),
        Some(i) if i.status == InvitationStatus::Revoked => "This invitation was revoked. Ask the organization for a new one.".into(),
        Some(i) if i.expires_at <= now => "This invitation has expired. Ask the organization to resend it.".into(),
        Some(_) => "This invitation cannot be used.".into(),
    }
}

/// One page of `organization_id`'s pending invitations (expired ones included, marked),
/// newest first, filtered by `query` (lower-case, parsed) in their addresses.
pub async fn invitations_page(
    db: &impl ConnectionTrait,
    organization_id: i32,
    query: &str,
    page: u64,
    now: DateTime<Utc>,
) -> Result<super::views::InvitationsPage, AppError> {
    use super::views::{InvitationRow, InvitationsPage, INVITATIONS_PAGE_SIZE};
    use crate::server::like_pattern;
    use sea_orm::{sea_query::LikeExpr, QueryOrder};

    let mut select = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .find_also_related(user::Entity);
    if !query.is_empty() {
        select = select.filter(
            invitation::Column::EmailNormalized
                .like(LikeExpr::new(like_pattern(query)).escape('\\')),
        );
    }
    let paginator = select
        .order_by_desc(invitation::Column::SentAt)
        .order_by_desc(invitation::Column::Id)
        .paginate(db, INVITATIONS_PAGE_SIZE);
    let counts = paginator.num_items_and_pages().await?;
    let pages = counts.number_of_pages.max(1);
    let page = page.clamp(1, pages);
    let invitations = paginator
        .fetch_page(page - 1)
        .await?
        .into_iter()
        .map(|(i, inviter)| InvitationRow {
            id: i.id,
            role: i.role,
            email: i.email,
            invited_by: inviter.map(|u| u.name),
            sent_at: i.sent_at.to_rfc3339(),
            expires_at: i.expires_at.to_rfc3339(),
            expired: i.expires_at <= now,
        })
        .collect();
    Ok(InvitationsPage {
        invitations,
        total: counts.number_of_items,
        page,
        pages,
    })
}

/// Up to `limit` of the organization's pending invitations (expired ones included,
/// marked), newest first, older than the invitation `before_id` when given (the API's
/// keyset paging), filtered by `query` (lower-case, parsed) in their addresses.
pub async fn pending_invitations(
    db: &impl ConnectionTrait,
    organization_id: i32,
    query: &str,
    before_id: Option<i32>,
    limit: u64,
    now: DateTime<Utc>,
) -> Result<Vec<super::views::InvitationRow>, DbErr> {
    use super::views::InvitationRow;
    use crate::server::like_pattern;
    use sea_orm::{sea_query::LikeExpr, QueryOrder, QuerySelect};

    let mut select = invitation::Entity::find()
        .filter(invitation::Column::OrganizationId.eq(organization_id))
        .filter(invitation::Column::Status.eq(InvitationStatus::Pending))
        .find_also_related(user::Entity);
    if !query.is_empty() {
        select = select.filter(
            invitation::Column::EmailNormalized
                .like(LikeExpr::new(like_pattern(query)).escape('\\')),
        );
    }
    if let Some(before) = before_id {
        select = select.filter(invitation::Column::Id.lt(before));
    }
    Ok(select
        .order_by_desc(invitation::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .into_iter()
        .map(|(i, inviter)| InvitationRow {
            id: i.id,
            role: i.role,
            email: i.email,
            invited_by: inviter.map(|u| u.name),
            sent_at: i.sent_at.to_rfc3339(),
            expires_at: i.expires_at.to_rfc3339(),
            expired: i.expires_at <= now,
        })
        .collect())
}
