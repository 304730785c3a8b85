//! Organization Profile → Settings → Security: owners require two-factor authentication of
//! every member. Members without it hear by email and see a banner during the grace period
//! the owner picks (0–14 days); after it they keep the membership but cannot open the
//! organization until they set one up (enforced in `members::access::enforce_two_factor_policy`).
//! Owners may also require owners and admins to sign in with a passkey.

pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
pub mod views;

/// The Security area of Organization Profile → Settings.
pub const SETTINGS_PAGE: &str = "/organization/profile?tab=settings&area=security";

use leptos::prelude::*;
use views::SecurityView;

use crate::error::AppError;

/// The Security section of the current organization.
#[server(endpoint = "organizations/security")]
pub async fn current_security_settings() -> Result<Option<SecurityView>, AppError> {
    use crate::{
        members::access::{authorize_current, Authorized},
        members::roles::Action,
    };

    let Some(Authorized {
        state, org, role, ..
    }) = authorize_current(Action::ViewOrganization).await?
    else {
        return Ok(None);
    };
    let sees_members = role.allows(Action::ManageSecurity);
    Ok(Some(
        service::security_view(&state.reader, org, sees_members).await?,
    ))
}

/// **Require two-factor authentication** (owners): members without it get an email and
/// `grace_days` (0–14) to set it up; after that they cannot open the organization.
#[server(endpoint = "organizations/require_two_factor")]
pub async fn require_two_factor(
    organization_id: String,
    grace_days: String,
) -> Result<(), AppError> {
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };
    use views::MAX_GRACE_DAYS;

    let days = grace_days
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|days| *days <= MAX_GRACE_DAYS)
        .ok_or_else(|| {
            AppError::field(
                "grace_days",
                format!("Grace period must be a whole number of days from 0 to {MAX_GRACE_DAYS}."),
            )
        })?;
    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSecurity).await?;
    // The owner who requires it goes first (and cannot lock themselves out).
    if !me.meets_two_factor_policy() {
        return Err(AppError::Forbidden(
            "Set up two-factor authentication for your own account first (User Settings → Two-factor authentication).".into(),
        ));
    }
    service::require_two_factor(
        &state,
        &state.db,
        &org,
        &(&me).into(),
        days,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&format!("{SETTINGS_PAGE}&saved=two-factor-required"));
    Ok(())
}

/// **Stop requiring two-factor authentication** (owners).
#[server(endpoint = "organizations/stop_requiring_two_factor")]
pub async fn stop_requiring_two_factor(organization_id: String) -> Result<(), AppError> {
    use crate::{
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };

    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSecurity).await?;
    let now = chrono::Utc::now();
    crate::identity::proofs::require_fresh_proof(&me, now)?;
    service::stop_requiring_two_factor(&state.db, &org, &(&me).into(), now).await?;
    leptos_axum::redirect(&format!("{SETTINGS_PAGE}&saved=two-factor-not-required"));
    Ok(())
}

/// **Require passkeys of owners and admins** (owners), or stop: owners and admins then open
/// the organization only from a session signed in with a passkey. The owner who switches it
/// on must be in such a session (no lock-out).
#[server(endpoint = "organizations/set_passkeys_for_admins")]
pub async fn set_passkeys_for_admins(
    organization_id: String,
    required: String,
) -> Result<(), AppError> {
    use crate::{
        accounts::rules::SecondFactor,
        members::access::{authorize_request, Authorized},
        members::roles::Action,
    };

    let required = match required.trim() {
        "true" => true,
        "false" => false,
        _ => {
            return Err(AppError::field(
                "required",
                "Required must be true or false.",
            ))
        }
    };
    let Authorized {
        state,
        user: me,
        org,
        ..
    } = authorize_request(&organization_id, Action::ManageSecurity).await?;
    if !required {
        crate::identity::proofs::require_fresh_proof(&me, chrono::Utc::now())?;
    }
    if required && me.second_factor != Some(SecondFactor::Passkey) {
        return Err(AppError::Forbidden(
            "Sign in with a passkey first (add one in User Settings, log out, and sign in with it): otherwise this would lock you out.".into(),
        ));
    }
    service::set_passkeys_for_admins(&state.db, &org, &me, required, chrono::Utc::now()).await?;
    let saved = if required {
        "passkeys-required"
    } else {
        "passkeys-not-required"
    };
    leptos_axum::redirect(&format!("{SETTINGS_PAGE}&saved={saved}"));
    Ok(())
}
