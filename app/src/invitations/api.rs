//! Invitation server functions: the Invited Users list, Invite user, Resend, Revoke, and
//! the invitee's side (what a link is, Accept Invitation, Decline). Every permission is
//! decided here.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{error::AppError, members::roles::Role};

use super::views::InvitationsPage;

/// The current organization's pending invitations (expired ones included, marked), newest
/// first, optionally filtered by email. Owners and admins.
#[server(endpoint = "invitations/list")]
pub async fn list_invitations(
    query: String,
    page: u64,
) -> Result<Option<InvitationsPage>, AppError> {
    use crate::{
        members::access::{authorize_current, Authorized},
        members::roles::Action,
    };

    let query = crate::ui::list::parse_search(&query)
        .map_err(|message| AppError::field("q", message))?
        .to_lowercase();
    let Some(Authorized { state, org, .. }) = authorize_current(Action::ManageInvitations).await?
    else {
        return Ok(None);
    };
    let found =
        super::service::invitations_page(&state.reader, org.id, &query, page, chrono::Utc::now())
            .await?;
    Ok(Some(found))
}

/// Invites `email` to the organization as `role`. Owners and admins (admins not as owner);
/// the inviter's own address must be verified.
#[server(endpoint = "invitations/invite")]
pub async fn invite_user(
    organization_id: String,
    email: String,
    role: String,
) -> Result<(), AppError> {
    use super::service;
    use crate::{
        accounts::rules::EmailAddress,
        error::Validation,
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };

    let Authorized {
        state,
        user,
        org,
        role: your_role,
    } = authorize_request(&organization_id, Action::ManageInvitations).await?;
    crate::sso::lookup::refuse_invitations_if_sso(&state.reader, org.id).await?;
    if !user.email_verified() {
        return Err(AppError::Forbidden(
            "Verify your email address before inviting others: open the link we emailed you, or send a new one from the banner at the top.".into(),
        ));
    }
    let mut validation = Validation::new();
    let email = validation.check("email", EmailAddress::parse(&email));
    let role = validation.check(
        "role",
        Role::parse(&role).ok_or_else(|| "Choose owner, admin or member.".to_string()),
    );
    if role.is_some_and(|role| !your_role.may_invite_as(role)) {
        validation.add(
            "role",
            "Only owners can invite an owner. Choose admin or member.",
        );
    }
    validation.finish()?;
    let (Some(email), Some(role)) = (email, role) else {
        return Err(AppError::Internal);
    };

    service::invite(
        &state,
        &org,
        service::Inviter::Member(&user),
        &email,
        role,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect("/access-control?tab=invited&saved=invited");
    Ok(())
}

/// Sends a pending (or expired) invitation again: a new link (the old one stops working)
/// and a new expiry.
#[server(endpoint = "invitations/resend")]
pub async fn resend_invitation(
    organization_id: String,
    invitation_id: i32,
) -> Result<(), AppError> {
    use super::service;
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageInvitations).await?;
    crate::sso::lookup::refuse_invitations_if_sso(&state.reader, org.id).await?;
    if !user.email_verified() {
        return Err(AppError::Forbidden(
            "Verify your email address before inviting others.".into(),
        ));
    }
    service::resend(
        &state,
        &org,
        service::Inviter::Member(&user),
        invitation_id,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect("/access-control?tab=invited&saved=resent");
    Ok(())
}

/// Withdraws a pending invitation; its link then says it was revoked.
#[server(endpoint = "invitations/revoke")]
pub async fn revoke_invitation(
    organization_id: String,
    invitation_id: i32,
) -> Result<(), AppError> {
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageInvitations).await?;
    super::service::revoke(
        &state,
        &org,
        super::service::Inviter::Member(&user),
        invitation_id,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect("/access-control?tab=invited&saved=revoked");
    Ok(())
}

/// Where an invitation link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkState {
    Pending,
    Expired,
    Accepted,
    Declined,
    Revoked,
}

/// Who opened the link, compared with the address it was sent to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Visitor {
    SignedOut { has_account: bool },
    Invitee,
    SomeoneElse { signed_in_as: String },
}

/// What the invitation page shows about a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationLink {
    pub state: LinkState,
    pub organization_name: String,
    pub inviter_name: Option<String>,
    pub email: String,
    pub role: Role,
    /// RFC 3339.
    pub expires_at: String,
    pub visitor: Visitor,
}

#[cfg(feature = "ssr")]
impl LinkState {
    /// Where `invite` stands at `now`.
    fn of(
        invite: &crate::server::entities::invitation::Model,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        use crate::server::entities::invitation::InvitationStatus;
        match invite.status {
            InvitationStatus::Accepted => LinkState::Accepted,
            InvitationStatus::Declined => LinkState::Declined,
            InvitationStatus::Revoked => LinkState::Revoked,
            InvitationStatus::Pending if invite.expires_at <= now => LinkState::Expired,
            InvitationStatus::Pending => LinkState::Pending,
        }
    }
}

/// The invitation behind a link, for anyone holding it; `None` for an unknown token
/// (never valid, or replaced by a resend).
#[server(endpoint = "invitations/show")]
pub async fn show_invitation(token: String) -> Result<Option<InvitationLink>, AppError> {
    use crate::server::{
        app_state,
        entities::{invitation, organization, user},
        tokens::hash_token,
        viewer,
    };
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let state = app_state()?;
    let found = invitation::Entity::find()
        .filter(invitation::Column::TokenHash.eq(hash_token(token.trim())))
        .find_also_related(organization::Entity)
        .one(&state.reader)
        .await?;
    let Some((invite, Some(org))) = found else {
        return Ok(None);
    };
    let state_of_link = LinkState::of(&invite, chrono::Utc::now());
    let inviter_name = match invite.invited_by {
        Some(id) => user::Entity::find_by_id(id)
            .one(&state.reader)
            .await?
            .map(|u| u.name),
        None => None,
    };
    let visitor = match viewer() {
        Some(me)
            if crate::accounts::rules::normalize_email(&me.email) == invite.email_normalized =>
        {
            Visitor::Invitee
        }
        Some(me) => Visitor::SomeoneElse {
            signed_in_as: me.email,
        },
        None => Visitor::SignedOut {
            has_account: user::Entity::find()
                .filter(user::Column::EmailNormalized.eq(invite.email_normalized.as_str()))
                .count(&state.reader)
                .await?
                > 0,
        },
    };
    Ok(Some(InvitationLink {
        state: state_of_link,
        organization_name: org.name,
        inviter_name,
        role: invite.role,
        email: invite.email,
        expires_at: invite.expires_at.to_rfc3339(),
        visitor,
    }))
}

/// Accept Invitation from the emailed link: joins the organization with the invited role
/// and makes it current. Only the invited address may accept; following the link proves it.
#[server(endpoint = "invitations/accept")]
pub async fn accept_invitation(token: String) -> Result<(), AppError> {
    use super::service::{self, Chosen};
    let me = crate::server::require_signed_in()?;
    let state = crate::server::app_state()?;
    let hash = crate::server::tokens::hash_token(token.trim());
    service::accept(&state, &me, Chosen::ByToken(&hash)).await?;
    leptos_axum::redirect("/organization?joined=1");
    Ok(())
}

/// Decline from the emailed link: the invitation closes; owners see it in the audit log.
#[server(endpoint = "invitations/decline")]
pub async fn decline_invitation(token: String) -> Result<(), AppError> {
    use super::service::{self, Chosen};
    let me = crate::server::require_signed_in()?;
    let state = crate::server::app_state()?;
    let hash = crate::server::tokens::hash_token(token.trim());
    service::decline(&state, &me, Chosen::ByToken(&hash)).await?;
    leptos_axum::redirect("/?declined=1");
    Ok(())
}

/// A pending invitation to the signed-in user's address, as the Welcome page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationForMe {
    pub id: i32,
    pub organization_name: String,
    pub inviter_name: Option<String>,
    pub role: Role,
    /// RFC 3339.
    pub expires_at: String,
}

/// Pending, unexpired invitations to the signed-in user's address, once that address is
/// verified, sent before it was (an unverified claim to an address must not reveal who
/// invited it). The emailed link works regardless: it proves the mailbox by itself.
#[server(endpoint = "invitations/mine")]
pub async fn my_invitations() -> Result<Vec<InvitationForMe>, AppError> {
    use crate::server::{
        app_state,
        entities::{invitation, organization, user},
        require_signed_in,
    };
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

    let me = require_signed_in()?;
    let state = app_state()?;
    // From the account row the session lookup read for this request.
    let Some(verified_at) = me.email_verified_at else {
        return Ok(Vec::new());
    };
    let found = invitation::Entity::find()
        .filter(
            invitation::Column::EmailNormalized
                .eq(crate::accounts::rules::normalize_email(&me.email)),
        )
        // Only what was sent to the address as its holder has proven it: whoever held
        // it before (a reassigned mailbox) does not see later invitations, nor the other way.
        .filter(invitation::Column::CreatedAt.lte(verified_at))
        .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
        .filter(invitation::Column::ExpiresAt.gt(chrono::Utc::now()))
        .order_by_desc(invitation::Column::SentAt)
        .find_also_related(organization::Entity)
        // The inviter's name in the same statement (a query per invitation before).
        .find_also_related(user::Entity)
        .all(&state.reader)
        .await?;
    let mine = found
        .into_iter()
        .filter_map(|(invite, org, inviter)| {
            Some(InvitationForMe {
                id: invite.id,
                organization_name: org?.name,
                inviter_name: inviter.map(|u| u.name),
                role: invite.role,
                expires_at: invite.expires_at.to_rfc3339(),
            })
        })
        .collect();
    Ok(mine)
}

/// Accept Invitation from the Welcome page (a verified address, no link needed).
#[server(endpoint = "invitations/accept_mine")]
pub async fn accept_my_invitation(invitation_id: i32) -> Result<(), AppError> {
    use super::service::{self, Chosen};
    use crate::server::entities::invitation;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let me = crate::server::require_signed_in()?;
    let state = crate::server::app_state()?;
    let not_proven = || {
        AppError::Forbidden(
            "Verify your email address first, or open the link in the invitation email.".into(),
        )
    };
    // From the account row the session lookup read for this request.
    let verified_at = me.email_verified_at.ok_or_else(not_proven)?;
    match invitation::Entity::find_by_id(invitation_id)
        .filter(invitation::Column::EmailNormalized.eq(crate::accounts::rules::normalize_email(&me.email)))
        .one(&state.reader)
        .await?
    {
        None => {
            return Err(AppError::Forbidden(service::unusable_message(
                None,
                chrono::Utc::now(),
            )))
        }
        // The proof of the address is older than the invitation (a mailbox can change
        // hands): only the emailed link, which proves the mailbox now, accepts it.
        Some(invite) if invite.created_at > verified_at => {
            return Err(AppError::Forbidden(
                "This invitation was sent after you confirmed your address: accept it with the link in its email.".into(),
            ))
        }
        Some(_) => {}
    }
    service::accept(&state, &me, Chosen::ById(invitation_id)).await?;
    leptos_axum::redirect("/organization?joined=1");
    Ok(())
}
