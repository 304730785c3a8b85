//! Organization server functions: create, list and switch, the Overview, the profile and
//! its logo, deletion, and the public directory. Every permission is decided here.

// A server function takes one argument per form field; the profile form has eight, and the
// `#[server]` macro does not pass an item-level `allow` on to the code it generates.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use server_fn::codec::{MultipartData, MultipartFormData};

use super::rules::Stage;
use crate::{error::AppError, members::roles::Role};

/// Where an organization's logo is served; the hash makes each version its own URL.
pub fn logo_url(public_id: &str, hash: Option<&str>) -> Option<String> {
    hash.map(|hash| format!("/logos/{public_id}/{hash}.png"))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationSummary {
    pub public_id: String,
    pub name: String,
    pub role: Role,
    pub logo_url: Option<String>,
    /// The organization the user works in now.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewView {
    pub public_id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub stage: Stage,
    pub member_count: u64,
    pub role: Role,
    /// The setting-up steps, for owners only (others see the facts).
    pub next_steps: Option<Vec<NextStep>>,
}

pub use super::rules::{NextStep, NextStepKind, StepStatus};

/// The organization the user acts on, for the navigation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentOrganizationView {
    pub public_id: String,
    pub name: String,
    pub logo_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileView {
    pub public_id: String,
    pub name: String,
    pub logo_url: Option<String>,
    pub stage: Stage,
    pub role: Role,
    pub alert_email: String,
    pub overview: String,
    pub sales_email: String,
    pub phone: String,
    pub website: String,
    pub x_handle: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    pub name: String,
    pub logo_url: Option<String>,
    pub overview: String,
    pub website: Option<String>,
    pub x_handle: Option<String>,
    pub sales_email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryPage {
    pub entries: Vec<DirectoryEntry>,
    pub page: u64,
    pub pages: u64,
    pub total: u64,
}

/// Organizations per page of the public directory.
pub const DIRECTORY_PAGE_SIZE: u64 = 20;

/// Organizations per page of Manage Organizations and the Welcome page.
pub const MY_ORGANIZATIONS_PAGE_SIZE: u64 = 25;

/// One page of the signed-in user's organizations, and the current one wherever it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyOrganizationsPage {
    pub organizations: Vec<OrganizationSummary>,
    /// The organization the user works in now (also when it is on another page).
    pub current: Option<OrganizationSummary>,
    /// How many match the search (all of them without one).
    pub total: u64,
    pub page: u64,
    pub pages: u64,
}

/// The signed-in user's organizations by name, a page at a time, optionally those whose
/// name contains `query`. A user may belong to 400: a page is 25 rows, not all of them.
#[server(endpoint = "organizations/mine")]
pub async fn my_organizations(query: String, page: u64) -> Result<MyOrganizationsPage, AppError> {
    use crate::server::{
        app_state,
        entities::{membership, organization},
        like_pattern, require_signed_in,
    };
    use sea_orm::{
        sea_query::{Expr, Func, LikeExpr},
        ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    };

    let user = require_signed_in()?;
    let state = app_state()?;
    let query =
        crate::ui::list::parse_search(&query).map_err(|message| AppError::field("q", message))?;
    let current = crate::members::access::current_membership_of(&user);
    let current_id = current.as_ref().map(|(_, m, _)| m.id);
    let mut select = membership::Entity::find()
        .filter(membership::Column::UserId.eq(user.user_id))
        .find_also_related(organization::Entity);
    if !query.is_empty() {
        select = select.filter(
            Expr::expr(Func::lower(Expr::col((
                organization::Entity,
                organization::Column::Name,
            ))))
            .like(LikeExpr::new(like_pattern(&query.to_lowercase())).escape('\\')),
        );
    }
    let total = select.clone().count(&state.reader).await?;
    let pages = total.div_ceil(MY_ORGANIZATIONS_PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let summary = |membership: membership::Model, org: organization::Model| OrganizationSummary {
        logo_url: logo_url(&org.public_id, org.logo_hash.as_deref()),
        public_id: org.public_id,
        name: org.name,
        role: membership.role,
        current: Some(membership.id) == current_id,
    };
    let organizations = select
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .limit(MY_ORGANIZATIONS_PAGE_SIZE)
        .offset((page - 1) * MY_ORGANIZATIONS_PAGE_SIZE)
        .all(&state.reader)
        .await?
        .into_iter()
        .filter_map(|(membership, org)| Some(summary(membership, org?)))
        .collect();
    Ok(MyOrganizationsPage {
        organizations,
        current: current.map(|(org, membership, _)| summary(membership, org)),
        total,
        page,
        pages,
    })
}

/// Creates an organization with the user as its owner, makes it current, opens its Overview.
#[server(endpoint = "organizations/create")]
pub async fn create_organization(name: String) -> Result<(), AppError> {
    use super::{rules::OrganizationName, service};
    use crate::server::{app_state, entities::organization, require_signed_in};
    use sea_orm::{ActiveModelTrait, Set, TransactionTrait};

    let user = require_signed_in()?;
    let name =
        OrganizationName::parse(&name).map_err(|message| AppError::field("name", message))?;
    let state = app_state()?;
    let now = chrono::Utc::now();
    let txn = state.db.begin().await?;
    let org = organization::ActiveModel {
        public_id: Set(service::new_public_id()),
        name: Set(name.as_str().to_string()),
        stage: Set(Stage::Free),
        // The creator, added below, is its first owner.
        owner_count: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::members::memberships::add_membership(&txn, user.user_id, org.id, Role::Owner, now)
        .await?;
    crate::audit::service::NewEvent::new(org.id, &user, crate::audit::events::EventKind::Created)
        .record(&txn, now)
        .await?;
    txn.commit().await?;
    leptos_axum::redirect("/organization");
    Ok(())
}

/// Makes another of the user's organizations the current one.
#[server(endpoint = "organizations/switch")]
pub async fn switch_organization(organization_id: String) -> Result<(), AppError> {
    use crate::members::access::membership_in;
    use crate::server::{app_state, entities::membership, require_signed_in};
    use sea_orm::{ActiveModelTrait, Set};

    let user = require_signed_in()?;
    let state = app_state()?;
    let Some((org, found, _)) =
        membership_in(&state.reader, user.user_id, &organization_id).await?
    else {
        return Err(AppError::Forbidden(
            "You are not a member of this organization.".into(),
        ));
    };
    crate::members::access::enforce_two_factor_policy(
        &state,
        &org,
        &user,
        found.role,
        chrono::Utc::now(),
    )
    .await?;
    let mut found: membership::ActiveModel = found.into();
    found.selected_at = Set(chrono::Utc::now());
    found.update(&state.db).await?;
    leptos_axum::redirect("/organization");
    Ok(())
}

/// The organization the user works in now (name and logo for the navigation), or None: as
/// the session middleware read it with the session.
#[server(endpoint = "organizations/current")]
pub async fn current_organization() -> Result<Option<CurrentOrganizationView>, AppError> {
    let user = crate::server::require_signed_in()?;
    Ok(user.current.as_deref().map(CurrentOrganizationView::from))
}

#[cfg(feature = "ssr")]
impl From<&crate::server::CurrentMembership> for CurrentOrganizationView {
    fn from(current: &crate::server::CurrentMembership) -> Self {
        let org = current.organization.clone();
        CurrentOrganizationView {
            logo_url: logo_url(&org.public_id, org.logo_hash.as_deref()),
            public_id: org.public_id,
            name: org.name,
        }
    }
}

/// The current organization's Overview, or None when the user belongs to none.
#[server(endpoint = "organizations/overview")]
pub async fn current_overview() -> Result<Option<OverviewView>, AppError> {
    use super::service::next_steps;
    use crate::members::access::current_membership_allowed;
    use crate::server::{app_state, entities::membership, require_signed_in};
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

    let user = require_signed_in()?;
    let state = app_state()?;
    let Some((org, _, role)) = current_membership_allowed(&user).await? else {
        return Ok(None);
    };
    let member_count = membership::Entity::find()
        .filter(membership::Column::OrganizationId.eq(org.id))
        .count(&state.reader)
        .await?;
    let next_steps = if role.allows(crate::members::roles::Action::ManageProfile) {
        Some(next_steps(&state.reader, &org, member_count, chrono::Utc::now()).await?)
    } else {
        None
    };
    Ok(Some(OverviewView {
        logo_url: logo_url(&org.public_id, org.logo_hash.as_deref()),
        stage: org.stage,
        public_id: org.public_id,
        name: org.name,
        member_count,
        role,
        next_steps,
    }))
}

/// The current organization's profile, or None when the user belongs to none.
#[server(endpoint = "organizations/profile")]
pub async fn current_profile() -> Result<Option<ProfileView>, AppError> {
    use crate::members::access::current_membership_allowed;
    use crate::server::require_signed_in;

    let user = require_signed_in()?;
    let Some((org, _, role)) = current_membership_allowed(&user).await? else {
        return Ok(None);
    };
    Ok(Some(ProfileView {
        logo_url: logo_url(&org.public_id, org.logo_hash.as_deref()),
        stage: org.stage,
        public_id: org.public_id,
        name: org.name,
        role,
        alert_email: org.alert_email.unwrap_or_default(),
        overview: org.overview.unwrap_or_default(),
        sales_email: org.sales_email.unwrap_or_default(),
        phone: org.phone.unwrap_or_default(),
        website: org.website.unwrap_or_default(),
        x_handle: org.x_handle.unwrap_or_default(),
    }))
}

/// Saves the Organization Info. Owners only; a refused submit changes nothing.
#[server(endpoint = "organizations/update_profile")]
pub async fn update_profile(
    organization_id: String,
    name: String,
    alert_email: String,
    overview: String,
    sales_email: String,
    phone: String,
    website: String,
    x_handle: String,
) -> Result<(), AppError> {
    use super::profile::{parse_profile, save_profile, ProfileForm};
    use crate::members::{
        access::{authorize_request, Authorized},
        roles::Action,
    };

    let Authorized {
        state, user, org, ..
    } = authorize_request(&organization_id, Action::ManageProfile).await?;
    let profile = parse_profile(ProfileForm {
        name,
        alert_email,
        overview,
        sales_email,
        phone,
        website,
        x_handle,
    })?;
    save_profile(&state.db, org, &(&user).into(), profile, chrono::Utc::now()).await?;
    leptos_axum::redirect("/organization/profile?saved=info");
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoView {
    pub logo_url: String,
}

/// Replaces the organization's logo. Owners only. A multipart form: `organization_id`
/// first, then the `logo` file.
#[server(endpoint = "organizations/upload_logo", input = MultipartFormData)]
pub async fn upload_logo(data: MultipartData) -> Result<LogoView, AppError> {
    use super::logo;
    use crate::members::access::authorize;
    use crate::{
        members::roles::Action,
        server::{app_state, require_signed_in},
    };

    let user = require_signed_in()?;
    let multipart = data.into_inner().ok_or(AppError::Internal)?;
    let upload = logo::read_upload(multipart).await?;
    let organization_id = upload
        .organization_id
        .ok_or_else(|| AppError::Request("organization_id is missing".into()))?;
    let state = app_state()?;
    let (org, role) = authorize(
        &state.reader,
        user.user_id,
        &organization_id,
        Action::ManageProfile,
    )
    .await?;
    crate::members::access::enforce_two_factor_policy(
        &state,
        &org,
        &user,
        role,
        chrono::Utc::now(),
    )
    .await?;
    let (bytes, file_name, content_type) = (upload.bytes, upload.file_name, upload.content_type);
    let processed = crate::server::limits::LOGO_WORK
        .run(move || logo::process(&bytes, file_name.as_deref(), content_type.as_deref()))
        .await?
        .map_err(|message| AppError::field("logo", message))?;
    let public_id = org.public_id.clone();
    let hash = logo::save(
        &state.db,
        org,
        &(&user).into(),
        processed,
        chrono::Utc::now(),
    )
    .await?;
    // A plain form post (JavaScript off) goes back to the profile page.
    leptos_axum::redirect("/organization/profile?saved=logo");
    Ok(LogoView {
        logo_url: logo_url(&public_id, Some(&hash)).unwrap_or_default(),
    })
}

/// Deletes the organization with its memberships, invitations and logo. Owners only, only
/// before production, only when `confirm_name` is exactly the organization's name, and only
/// with a fresh proof of identity (`proof`: the password or an authenticator code, unless
/// the session gave one in the last 10 minutes).
#[server(endpoint = "organizations/delete")]
pub async fn delete_organization(
    organization_id: String,
    confirm_name: String,
    proof: Option<String>,
) -> Result<(), AppError> {
    use crate::members::access::{authorize_request, Authorized};
    use crate::members::roles::Action;
    use sea_orm::TransactionTrait;

    let Authorized { state, org, .. } =
        authorize_request(&organization_id, Action::DeleteOrganization).await?;
    super::service::check_deletable(&org, &confirm_name)?;
    crate::identity::proofs::require_recent_proof(
        &state,
        &crate::server::require_signed_in()?,
        proof.as_deref(),
        crate::server::throttle_address(),
        chrono::Utc::now(),
    )
    .await?;
    let txn = state.db.begin().await?;
    super::service::delete_organization(&txn, org.id).await?;
    txn.commit().await?;
    leptos_axum::redirect("/?deleted=1");
    Ok(())
}

/// The public directory: organizations that wrote a company overview, searchable by name.
#[server(endpoint = "organizations/directory")]
pub async fn directory(query: String, page: u64) -> Result<DirectoryPage, AppError> {
    use crate::server::{app_state, entities::organization};
    use sea_orm::{
        sea_query::{Expr, Func},
        ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    };

    let state = app_state()?;
    let mut select =
        organization::Entity::find().filter(organization::Column::Overview.is_not_null());
    let query =
        crate::ui::list::parse_search(&query).map_err(|message| AppError::field("q", message))?;
    if !query.is_empty() {
        let pattern = crate::server::like_pattern(&query.to_lowercase());
        select = select.filter(
            Expr::expr(Func::lower(Expr::col(organization::Column::Name)))
                .like(sea_orm::sea_query::LikeExpr::new(pattern).escape('\\')),
        );
    }
    let paginator = select
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .paginate(&state.reader, DIRECTORY_PAGE_SIZE);
    let counts = paginator.num_items_and_pages().await?;
    let page = page.clamp(1, counts.number_of_pages.max(1));
    let entries = paginator
        .fetch_page(page - 1)
        .await?
        .into_iter()
        .map(|org| DirectoryEntry {
            logo_url: logo_url(&org.public_id, org.logo_hash.as_deref()),
            name: org.name,
            overview: org.overview.unwrap_or_default(),
            website: org.website,
            x_handle: org.x_handle,
            sales_email: org.sales_email,
        })
        .collect();
    Ok(DirectoryPage {
        entries,
        page,
        pages: counts.number_of_pages.max(1),
        total: counts.number_of_items,
    })
}
