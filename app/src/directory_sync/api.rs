//! Directory sync's server functions: Organization Profile → Settings → Directory sync
//! (SCIM), for owners (the `ManageSso` action: provisioning is part of the organization's
//! sign-in set-up).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{error::AppError, kinds::Role};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: i32,
    pub created_by: String,
    /// RFC 3339.
    pub created_at: String,
    pub last_used_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRow {
    /// The SCIM id.
    pub id: String,
    pub name: String,
    pub members: u64,
    pub role: Option<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRow {
    /// RFC 3339.
    pub at: String,
    pub method: String,
    pub path: String,
    pub status: i32,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectorySyncView {
    pub organization_id: String,
    /// Owners set directory sync up; others see that only owners do.
    pub can_manage: bool,
    /// Directory sync needs single sign-on on.
    pub sso_enabled: bool,
    /// The SCIM base URL to paste into the identity provider.
    pub base_url: String,
    pub tokens: Vec<TokenRow>,
    /// The token this session just generated, until it says it copied it.
    pub new_token: Option<String>,
    pub provisioned: u64,
    pub groups: Vec<GroupRow>,
    pub requests: Vec<RequestRow>,
}

/// Requests the page shows of the log (the log keeps 1,000).
pub const REQUESTS_SHOWN: u64 = 50;

#[server(endpoint = "directory_sync/view")]
pub async fn current_directory_sync() -> Result<Option<DirectorySyncView>, AppError> {
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

    use crate::{
        members::{access::authorize_current, roles::Action},
        server::entities::{scim_group, scim_group_member, scim_request, scim_user},
    };

    let Some(authorized) = authorize_current(Action::ViewOrganization).await? else {
        return Ok(None);
    };
    let state = &authorized.state;
    let org = &authorized.org;
    let mut view = DirectorySyncView {
        organization_id: org.public_id.clone(),
        can_manage: authorized.role.allows(Action::ManageSso),
        sso_enabled: false,
        base_url: state.settings.link(super::SCIM_BASE_PATH),
        tokens: Vec::new(),
        new_token: None,
        provisioned: 0,
        groups: Vec::new(),
        requests: Vec::new(),
    };
    if !view.can_manage {
        return Ok(Some(view));
    }
    let db = &state.reader;
    view.sso_enabled = crate::identity::routing::enabled_connection(db, org.id)
        .await?
        .is_some();
    view.tokens = super::tokens::live_tokens(db, org.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            created_by: t.created_by_name,
            created_at: t.created_at.to_rfc3339(),
            last_used_at: t.last_used_at.map(|at| at.to_rfc3339()),
        })
        .collect();
    // The reveal reads the primary: it was written a moment ago.
    view.new_token = super::tokens::revealed_token(
        &state.db,
        &state.secrets,
        org.id,
        authorized.user.session_id,
        chrono::Utc::now(),
    )
    .await?;
    view.provisioned = scim_user::Entity::find()
        .filter(scim_user::Column::OrganizationId.eq(org.id))
        .count(db)
        .await?;
    let groups = scim_group::Entity::find()
        .filter(scim_group::Column::OrganizationId.eq(org.id))
        .order_by_asc(scim_group::Column::DisplayNameNormalized)
        .limit(500)
        .all(db)
        .await?;
    for group in groups {
        let members = scim_group_member::Entity::find()
            .filter(scim_group_member::Column::GroupId.eq(group.id))
            .count(db)
            .await?;
        view.groups.push(GroupRow {
            id: group.public_id,
            name: group.display_name,
            members,
            role: group.role,
        });
    }
    view.requests = scim_request::Entity::find()
        .filter(scim_request::Column::OrganizationId.eq(org.id))
        .order_by_desc(scim_request::Column::Id)
        .limit(REQUESTS_SHOWN)
        .all(db)
        .await?
        .into_iter()
        .map(|r| RequestRow {
            at: r.at.to_rfc3339(),
            method: r.method,
            path: r.path,
            status: r.status,
            detail: r.detail,
        })
        .collect();
    Ok(Some(view))
}

/// **Generate token**: shown once on the page that follows.
#[server(endpoint = "directory_sync/generate_token")]
pub async fn generate_scim_token(organization_id: String) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;

    use crate::{
        members::{
            access::{authorize_request, reauthorize_locked, Authorized},
            roles::Action,
        },
        server::locks::lock_organization,
    };

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    // A token speaks for the organization's membership: making one is a security change.
    crate::identity::proofs::require_fresh_proof(&user, chrono::Utc::now())?;
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    reauthorize_locked(&txn, org.id, user.user_id, Action::ManageSso).await?;
    super::tokens::generate(&txn, &state.secrets, org.id, &user, chrono::Utc::now()).await?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("{}&saved=token", super::SETTINGS_PAGE));
    Ok(())
}

/// **I have copied the token**.
#[server(endpoint = "directory_sync/dismiss_token")]
pub async fn dismiss_scim_token() -> Result<(), AppError> {
    use crate::server::{app_state, require_signed_in};

    let me = require_signed_in()?;
    let state = app_state()?;
    super::tokens::dismiss_reveals(&state.db, me.session_id).await?;
    leptos_axum::redirect(super::SETTINGS_PAGE);
    Ok(())
}

/// **Revoke**: the provider's requests with it are refused from the next one.
#[server(endpoint = "directory_sync/revoke_token")]
pub async fn revoke_scim_token(organization_id: String, token_id: i32) -> Result<(), AppError> {
    use sea_orm::TransactionTrait;

    use crate::{
        members::{
            access::{authorize_request, reauthorize_locked, Authorized},
            roles::Action,
        },
        server::locks::lock_organization,
    };

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    reauthorize_locked(&txn, org.id, user.user_id, Action::ManageSso).await?;
    super::tokens::revoke(&txn, org.id, token_id, &user, chrono::Utc::now()).await?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("{}&saved=revoked", super::SETTINGS_PAGE));
    Ok(())
}

/// Maps one of the provider's groups to a role (`owner`, `admin`, `member`) or to none
/// (empty). The roles of every provisioned member are recomputed in the same transaction;
/// a mapping that would leave the organization without an owner is refused.
#[server(endpoint = "directory_sync/map_group")]
pub async fn map_directory_group(
    organization_id: String,
    group_id: String,
    #[server(default)] role: String,
) -> Result<(), AppError> {
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set, TransactionTrait};

    use crate::{
        audit::{events::EventKind, service::NewEvent},
        members::{
            access::{authorize_request, reauthorize_locked, Authorized},
            roles::Action,
        },
        server::{
            entities::{scim_group, scim_user},
            locks::lock_organization,
        },
    };

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageSso).await?;
    let role = match role.as_str() {
        "" => None,
        other => Some(Role::parse(other).ok_or_else(|| {
            AppError::field("role", "Role must be owner, admin, member or none.")
        })?),
    };
    let now = chrono::Utc::now();
    let txn = state.db.begin().await?;
    lock_organization(&txn, org.id).await?;
    reauthorize_locked(&txn, org.id, user.user_id, Action::ManageSso).await?;
    let group = scim_group::Entity::find()
        .filter(scim_group::Column::OrganizationId.eq(org.id))
        .filter(scim_group::Column::PublicId.eq(group_id.as_str()))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::NotFound("That group is not in this organization's directory.".into())
        })?;
    if group.role == role {
        leptos_axum::redirect(super::SETTINGS_PAGE);
        return Ok(());
    }
    let name = group.display_name.clone();
    let mut changed: scim_group::ActiveModel = group.into();
    changed.role = Set(role);
    changed.updated_at = Set(now);
    changed.update(&txn).await?;
    let mut event = NewEvent::new(org.id, &user, EventKind::ScimGroupMapped).about(&name);
    if let Some(role) = role {
        event = event.role(role);
    }
    event.record(&txn, now).await?;
    // Mapping the first group (or unmapping the last) changes who manages every
    // provisioned member's role: all are recomputed.
    let everyone: Vec<i32> = scim_user::Entity::find()
        .filter(scim_user::Column::OrganizationId.eq(org.id))
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    if let Err(refused) = super::groups::resync(&txn, everyone, now).await {
        return Err(match refused {
            super::membership_sync::SyncRefusal::LastOwner(email) => {
                AppError::Forbidden(super::membership_sync::last_owner_detail(&email))
            }
            super::membership_sync::SyncRefusal::Scim(err) => {
                tracing::warn!(detail = %err.detail, "a group mapping could not be applied");
                AppError::Forbidden(err.detail)
            }
        });
    }
    txn.commit().await?;
    state.wake_mail_worker();
    leptos_axum::redirect(&format!("{}&saved=mapped", super::SETTINGS_PAGE));
    Ok(())
}
