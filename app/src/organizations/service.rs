//! Server-only organization work: new organization IDs and the Overview's next steps.
//! (The profile: `profile.rs`; who may act in an organization: `members::access`.)

use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};

use super::rules::{NextStep, NextStepKind, StepStatus};
use crate::server::entities::organization;

/// A random, unguessable organization ID: "org_" and 128 random bits in hex.
pub fn new_public_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("org_{}", hex::encode(bytes))
}

/// Where a new organization stands on the steps the reference documentation names after
/// creating one: the profile (an overview and a way to reach the company), a logo, other
/// people (joined or invited), and, optionally, single sign-on.
pub async fn next_steps(
    db: &impl ConnectionTrait,
    org: &organization::Model,
    member_count: u64,
    now: DateTime<Utc>,
) -> Result<Vec<NextStep>, DbErr> {
    use crate::server::entities::{invitation, sso_connection};

    let filled = |value: &Option<String>| value.as_deref().is_some_and(|v| !v.trim().is_empty());
    let has_contact = filled(&org.alert_email) || filled(&org.sales_email) || filled(&org.phone);
    let profile_done = filled(&org.overview) && has_contact;
    let others = member_count > 1
        || invitation::Entity::find()
            .filter(invitation::Column::OrganizationId.eq(org.id))
            .filter(invitation::Column::Status.eq(invitation::InvitationStatus::Pending))
            .filter(invitation::Column::ExpiresAt.gt(now))
            .one(db)
            .await?
            .is_some();
    let sso = sso_connection::Entity::find()
        .filter(sso_connection::Column::OrganizationId.eq(org.id))
        .one(db)
        .await?;
    let status = |done: bool| {
        if done {
            StepStatus::Done
        } else {
            StepStatus::ToDo
        }
    };
    Ok(vec![
        NextStep {
            kind: NextStepKind::FillOutProfile,
            status: status(profile_done),
        },
        NextStep {
            kind: NextStepKind::UploadLogo,
            status: status(org.logo_hash.is_some()),
        },
        NextStep {
            kind: NextStepKind::InviteUsers,
            status: status(others),
        },
        NextStep {
            kind: NextStepKind::SetUpSingleSignOn,
            status: match sso {
                Some(connection) if connection.enabled => StepStatus::Done,
                Some(_) => StepStatus::Started,
                None => StepStatus::ToDo,
            },
        },
    ])
}

/// Whether `org` may be deleted by someone who typed `confirm_name`: never in production
/// (support does that), and only when the name is typed exactly. The dashboard and the API
/// ask the same.
pub fn check_deletable(
    org: &organization::Model,
    confirm_name: &str,
) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    if org.stage == super::rules::Stage::Production {
        return Err(AppError::Forbidden(
            "Organizations in production cannot be deleted. Contact platform support.".into(),
        ));
    }
    if confirm_name != org.name {
        return Err(AppError::field(
            "confirm_name",
            format!(
                "Type the organization's name exactly as shown: {}",
                org.name
            ),
        ));
    }
    Ok(())
}

/// Deletes the organization in `txn`: each member's count of organizations goes down, and
/// memberships, invitations, keys and the logo go with it (ON DELETE CASCADE).
pub async fn delete_organization(
    txn: &impl ConnectionTrait,
    organization_id: i32,
) -> Result<(), DbErr> {
    crate::members::memberships::release_memberships_of(txn, organization_id).await?;
    organization::Entity::delete_by_id(organization_id)
        .exec(txn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_ids_are_random_and_not_sequential() {
        let (a, b) = (new_public_id(), new_public_id());
        assert_ne!(a, b);
        assert!(a.starts_with("org_") && a.len() == 36);
    }
}
