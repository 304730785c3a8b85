//! Domain server functions: the Domains section of Organization Profile → Settings (owners
//! add, verify and remove; everyone sees which domains are verified).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::rules::DomainStatus;
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRow {
    pub domain: String,
    pub status: DomainStatus,
    /// Where the TXT record goes, and its value.
    pub record_name: String,
    pub record_value: String,
    /// RFC 3339.
    pub checked_at: Option<String>,
    pub verified_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainsView {
    pub organization_id: String,
    /// Owners: add, verify, remove, and the records to publish.
    pub can_manage: bool,
    /// Everyone sees the verified domains; owners see them all.
    pub domains: Vec<DomainRow>,
}

/// The current organization's domains, or None when the user belongs to none.
#[server(endpoint = "domains/list")]
pub async fn current_domains() -> Result<Option<DomainsView>, AppError> {
    use super::{
        rules::{challenge_name, challenge_value},
        service::domains_of,
    };
    use crate::{members::access::authorize_current, members::roles::Action};

    let Some(authorized) = authorize_current(Action::ViewOrganization).await? else {
        return Ok(None);
    };
    let can_manage = authorized.role.allows(Action::ManageSso);
    let domains = domains_of(&authorized.state.reader, authorized.org.id)
        .await?
        .into_iter()
        .filter(|d| can_manage || d.status == DomainStatus::Verified)
        .map(|d| DomainRow {
            record_name: challenge_name(&d.domain),
            record_value: challenge_value(&d.challenge),
            checked_at: d.checked_at.map(|t| t.to_rfc3339()),
            verified_at: d.verified_at.map(|t| t.to_rfc3339()),
            domain: d.domain,
            status: d.status,
        })
        .collect();
    Ok(Some(DomainsView {
        organization_id: authorized.org.public_id,
        can_manage,
        domains,
    }))
}

/// An owner's request about one domain: who asks, in which organization, the domain
/// normalized (or the field's error).
#[cfg(feature = "ssr")]
async fn owners_domain(
    organization_id: &str,
    domain: &str,
) -> Result<(crate::members::access::Authorized, String), AppError> {
    use super::service::parse_domain;
    use crate::{members::access::authorize_request, members::roles::Action};

    let authorized = authorize_request(organization_id, Action::ManageSso).await?;
    // Domains decide who signs in through the provider: a security change.
    crate::identity::proofs::require_fresh_proof(&authorized.user, chrono::Utc::now())?;
    let domain = parse_domain(domain).map_err(|message| AppError::field("domain", message))?;
    Ok((authorized, domain))
}

#[cfg(feature = "ssr")]
fn settings_page(saved: &str, domain: &str) -> String {
    format!(
        "{}&saved={saved}&domain={}",
        super::SETTINGS_PAGE,
        crate::ui::url::urlencode(domain)
    )
}

/// Adds a domain (pending until its TXT record is verified). Owners only.
#[server(endpoint = "domains/add")]
pub async fn add_domain(organization_id: String, domain: String) -> Result<(), AppError> {
    use super::service::add;
    use crate::members::access::Authorized;

    let (
        Authorized {
            state, user, org, ..
        },
        domain,
    ) = owners_domain(&organization_id, &domain).await?;
    add(
        &state.db,
        org.id,
        &(&user).into(),
        &domain,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&settings_page("domain-added", &domain));
    Ok(())
}

/// Looks the domain's TXT record up now; verified when it carries the challenge. Owners only.
#[server(endpoint = "domains/verify")]
pub async fn verify_domain(organization_id: String, domain: String) -> Result<(), AppError> {
    use super::service::verify;
    use crate::members::access::Authorized;

    let (
        Authorized {
            state, user, org, ..
        },
        domain,
    ) = owners_domain(&organization_id, &domain).await?;
    verify(&state, org.id, &(&user).into(), &domain, chrono::Utc::now()).await?;
    leptos_axum::redirect(&settings_page("domain-verified", &domain));
    Ok(())
}

/// Removes a domain; removing the last verified one switches SSO off. Owners only.
#[server(endpoint = "domains/remove")]
pub async fn remove_domain(organization_id: String, domain: String) -> Result<(), AppError> {
    use super::service::remove;
    use crate::members::access::Authorized;

    let (
        Authorized {
            state, user, org, ..
        },
        domain,
    ) = owners_domain(&organization_id, &domain).await?;
    remove(
        &state.db,
        org.id,
        &(&user).into(),
        &domain,
        chrono::Utc::now(),
    )
    .await?;
    leptos_axum::redirect(&settings_page("domain-removed", &domain));
    Ok(())
}
