//! The membership sync: the account an SSO sign-in is (found by the provider's subject,
//! else by address, which at a verified domain takes the account over), its membership
//! in the organization, and its session.

use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::Expr, ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};

use super::{
    outcome::{Finished, ProvenIdentity},
    SsoNotice,
};
use crate::server::locks::lock_organization;
use crate::{
    accounts::rules::{safe_next_path, NAME_MAX_CHARS},
    audit::{events::EventKind, service::NewEvent},
    error::AppError,
    identity::sign_in::{arrive, Arrival, SignInStep},
    members::memberships::join_organization,
    members::{roles::Role, service::refresh_member_keys},
    server::{
        entities::{membership, sso_connection, sso_identity, sso_login, user},
        session, AppState,
    },
};

/// The account an identity signs in as: the one linked to its subject, else the one with
/// its email address.
pub(super) async fn account_of(
    db: &impl ConnectionTrait,
    organization_id: i32,
    identity: &ProvenIdentity,
) -> Result<Option<i32>, sea_orm::DbErr> {
    let linked = crate::identity::sso_links::linked_account(
        db,
        organization_id,
        &identity.issuer,
        &identity.subject,
    )
    .await?;
    if let Some((_, account)) = linked {
        return Ok(Some(account.id));
    }
    Ok(user::Entity::find()
        .filter(
            user::Column::EmailNormalized
                .eq(crate::accounts::rules::normalize_email(&identity.email)),
        )
        .one(db)
        .await?
        .map(|u| u.id))
}

/// The membership sync: finds or creates the user, links the provider's subject, adds the
/// user to the organization as member (unless at the 400 limit), and starts a session.
pub(super) async fn sign_in(
    state: &AppState,
    connection: &sso_connection::Model,
    login: &sso_login::Model,
    identity: ProvenIdentity,
    previous_session: Option<i32>,
    origin: &session::SignInOrigin,
    now: DateTime<Utc>,
) -> Result<Finished, AppError> {
    let organization_id = connection.organization_id;
    let email_normalized = crate::accounts::rules::normalize_email(&identity.email);
    let txn = state.db.begin().await?;
    // The organization first, as every membership change does (one lock order, no deadlock).
    lock_organization(&txn, organization_id).await?;
    let linked = crate::identity::sso_links::linked_account(
        &txn,
        organization_id,
        &identity.issuer,
        &identity.subject,
    )
    .await?
    .map(|(_, user)| user);
    let already_linked = linked.is_some();
    let existing = match linked {
        Some(user) => Some(user),
        None => {
            user::Entity::find()
                .filter(user::Column::EmailNormalized.eq(email_normalized.as_str()))
                .one(&txn)
                .await?
        }
    };
    let existing_account = existing.is_some();
    if let Some(account) = existing.as_ref().filter(|_| !already_linked) {
        // The organization's provider now speaks for this address. If the account never
        // proved it, whoever made it may have been someone else: what they made goes. A
        // proven account keeps its data, but factors enrolled before the link go (the
        // provider decides how its people prove themselves).
        if account.email_verified_at.is_none() {
            crate::accounts::sign_up::service::release_unproven_holdings(&txn, account.id).await?;
        } else {
            crate::identity::factors::wipe_factors(&txn, account.id).await?;
        }
    }
    let fallback_name = || {
        identity
            .email
            .split('@')
            .next()
            .unwrap_or("User")
            .chars()
            .take(NAME_MAX_CHARS)
            .collect::<String>()
    };
    let account = match existing {
        Some(account) => {
            let name = identity
                .name
                .clone()
                .unwrap_or_else(|| account.name.clone());
            let renamed = name != account.name;
            let mut active: user::ActiveModel = account.clone().into();
            active.name = Set(name.clone());
            // The provider is now the only way in. For an account linked just now this
            // also shuts out whoever created it with a password before the domain was
            // proven (a squatter would otherwise keep a way in for when SSO is off).
            active.password_hash = Set(None);
            active.email_verified_at = Set(Some(account.email_verified_at.unwrap_or(now)));
            active.updated_at = Set(now);
            let account = active.update(&txn).await?;
            if renamed {
                refresh_member_keys(&txn, account.id, &account.name, &account.email_normalized)
                    .await?;
            }
            account
        }
        None => {
            user::ActiveModel {
                name: Set(identity.name.clone().unwrap_or_else(fallback_name)),
                email: Set(identity.email.clone()),
                email_normalized: Set(email_normalized.clone()),
                password_hash: Set(None),
                email_verified_at: Set(Some(now)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?
        }
    };
    if !already_linked && existing_account {
        // The organization proved it owns the domain, so its provider speaks for the
        // mailbox: the account is taken over, with its data, and every session of it ends.
        session::end_all(&txn, account.id).await?;
        NewEvent::by(
            organization_id,
            account.id,
            &account.name,
            EventKind::AccountLinked,
        )
        .about(&account.email)
        .record(&txn, now)
        .await?;
        tracing::info!(
            user_id = account.id,
            organization_id,
            "SSO sign-in linked an existing account"
        );
    }
    if !already_linked {
        sso_identity::ActiveModel {
            organization_id: Set(organization_id),
            user_id: Set(account.id),
            issuer: Set(identity.issuer.clone()),
            subject: Set(identity.subject.clone()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }

    // Someone the directory deactivated is not let back in by signing in: their membership
    // stays suspended until the identity provider activates them again.
    if crate::server::entities::scim_user::Entity::find()
        .filter(crate::server::entities::scim_user::Column::OrganizationId.eq(organization_id))
        .filter(crate::server::entities::scim_user::Column::UserId.eq(account.id))
        .filter(crate::server::entities::scim_user::Column::Active.eq(false))
        .one(&txn)
        .await?
        .is_some()
    {
        return Err(AppError::Forbidden(
            "Your access to this organization is suspended by its identity provider. Ask your administrator."
                .into(),
        ));
    }
    let membership = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(organization_id))
        .filter(membership::Column::UserId.eq(account.id))
        .one(&txn)
        .await?;
    let mut notice = None;
    match membership {
        Some(found) => {
            // The organization the user signed in through becomes the current one.
            membership::Entity::update_many()
                .col_expr(membership::Column::SelectedAt, Expr::value(now))
                .filter(membership::Column::Id.eq(found.id))
                .exec(&txn)
                .await?;
        }
        None => match join_organization(&txn, account.id, organization_id, Role::Member, now).await
        {
            Ok(_) => {
                NewEvent::by(
                    organization_id,
                    account.id,
                    &account.name,
                    EventKind::Joined,
                )
                .about(&account.email)
                .role(Role::Member)
                .record(&txn, now)
                .await?;
                notice = Some(SsoNotice::Joined);
            }
            // Signed in all the same, and told why they were not added.
            Err(AppError::Forbidden(_)) => notice = Some(SsoNotice::Limit),
            Err(err) => return Err(err),
        },
    }
    let redirect_to = match (notice, login.next_path.as_deref()) {
        (Some(notice), _) => format!("/?sso={}", notice.as_str()),
        (None, Some(next)) => safe_next_path(Some(next)),
        (None, None) => "/".into(),
    };
    // The provider's multi-factor authentication counts as the second factor; without it,
    // an account that has one of Orgdesk's is asked for that (identity's door decides).
    let origin = if identity.multi_factor {
        origin
            .clone()
            .with_second_factor(crate::accounts::rules::SecondFactor::ProviderMfa)
    } else {
        origin.clone()
    };
    let arrival = Arrival {
        user_id: account.id,
        origin: &origin,
        previous_session,
        next: Some(redirect_to.clone()),
    };
    let session_token = match arrive(&txn, arrival, now).await? {
        SignInStep::Session(token) => token,
        SignInStep::SecondFactor(challenge_token) => {
            txn.commit().await?;
            return Ok(Finished::SecondFactor { challenge_token });
        }
    };
    txn.commit().await?;
    Ok(Finished::SignedIn {
        session_token,
        redirect_to,
    })
}
