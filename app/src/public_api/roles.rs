//! `/roles`: the permission matrix (needs `view_roles`): what each role may do, by the
//! same names a key's scopes use.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    auth::Caller,
    problem::{ApiError, Problem},
};
use crate::members::roles::{Action, Role};

/// A member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiRole {
    Owner,
    Admin,
    Member,
}

impl From<Role> for ApiRole {
    fn from(role: Role) -> Self {
        match role {
            Role::Owner => ApiRole::Owner,
            Role::Admin => ApiRole::Admin,
            Role::Member => ApiRole::Member,
        }
    }
}

impl From<ApiRole> for Role {
    fn from(role: ApiRole) -> Self {
        match role {
            ApiRole::Owner => Role::Owner,
            ApiRole::Admin => Role::Admin,
            ApiRole::Member => Role::Member,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RolePermissions {
    pub role: ApiRole,
    /// The actions the role allows (`manage_invitations`, …).
    pub actions: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoleList {
    pub data: Vec<RolePermissions>,
}

/// The roles and what each may do.
#[utoipa::path(
    get,
    path = "/roles",
    tag = "Organization",
    operation_id = "listRoles",
    security(("api_key" = ["view_roles"])),
    responses(
        (status = 200, description = "The permission matrix", body = RoleList),
        (status = 401, description = "Missing or invalid key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The key lacks the scope", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_roles(caller: Caller) -> Result<Json<RoleList>, ApiError> {
    caller.require(Action::ViewRoles)?;
    let data = Role::ALL
        .iter()
        .map(|role| RolePermissions {
            role: (*role).into(),
            actions: Action::ALL
                .into_iter()
                .filter(|action| role.allows(*action))
                .map(|action| action.as_str().to_string())
                .collect(),
        })
        .collect();
    Ok(Json(RoleList { data }))
}
