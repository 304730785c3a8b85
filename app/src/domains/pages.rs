//! The Domains section of Organization Profile → Settings: owners add a domain, see the TXT
//! record to publish, verify it and remove it; everyone else sees the verified domains.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{
    api::{current_domains, AddDomain, DomainRow, DomainsView, RemoveDomain, VerifyDomain},
    rules::DomainStatus,
};
use crate::{
    error::AppError,
    ui::{
        form::{field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextField},
        list::time_of,
        modal::{close_href, modal_href, Modal, ModalCancel},
    },
};

pub const REMOVE_DOMAIN_DIALOG: &str = "remove-domain";

type DomainsResource = Resource<Result<Option<DomainsView>, AppError>>;

/// The section's actions and data, made by the page outside every Suspend
/// (leptos-rs/leptos#3595).
#[derive(Clone, Copy)]
pub struct DomainsState {
    add: ServerAction<AddDomain>,
    verify: ServerAction<VerifyDomain>,
    remove: ServerAction<RemoveDomain>,
    domains: DomainsResource,
}

impl DomainsState {
    /// `shown`: whether the Settings tab is open (the domains load only then).
    pub fn new(shown: Memo<bool>) -> Self {
        let add = ServerAction::<AddDomain>::new();
        let verify = ServerAction::<VerifyDomain>::new();
        let remove = ServerAction::<RemoveDomain>::new();
        let domains = Resource::new(
            move || shown.get(),
            |shown| async move {
                if shown {
                    current_domains().await
                } else {
                    Ok(None)
                }
            },
        );
        Self {
            add,
            verify,
            remove,
            domains,
        }
    }
}

/// What the section says after an add, a verify or a removal.
fn notice_from_query() -> impl Fn() -> Option<String> {
    let query = use_query_map();
    move || {
        query.with(|q| {
            let domain = q.get("domain").unwrap_or_default();
            match q.get("saved").as_deref() {
                Some("domain-added") => Some(format!(
                    "{domain} was added. Publish its TXT record at your DNS provider, then choose Verify."
                )),
                Some("domain-verified") => Some(format!("{domain} is verified.")),
                Some("domain-removed") => Some(format!("{domain} was removed.")),
                _ => None,
            }
        })
    }
}

#[component]
pub fn DomainsSection(state: DomainsState) -> impl IntoView {
    let notice = notice_from_query();
    view! {
        <section class="card" aria-labelledby="domains-heading">
            <h2 id="domains-heading">"Domains"</h2>
            {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
            <p>
                "A domain counts once the organization proved it owns it, by publishing a DNS TXT record. "
                "Only verified domains sign in through the organization's identity provider. "
                "Orgdesk checks each verified domain daily; if its record disappears, the domain stops counting and the owners are told."
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match state.domains.await {
                        Ok(Some(view)) if view.can_manage => view! { <OwnerDomains view state /> }.into_any(),
                        Ok(Some(view)) => view! { <VerifiedDomains view /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
        <RemoveDomainModal state />
    }
}

/// Admins and members: which domains are verified.
#[component]
fn VerifiedDomains(view: DomainsView) -> impl IntoView {
    if view.domains.is_empty() {
        return view! { <p>"No verified domains. Only owners can add and verify domains."</p> }
            .into_any();
    }
    let names: Vec<String> = view.domains.into_iter().map(|d| d.domain).collect();
    view! {
        <p>"Verified: " {names.join(", ")}</p>
        <p class="field-hint">"Only owners can add and verify domains."</p>
    }
    .into_any()
}

#[component]
fn OwnerDomains(view: DomainsView, state: DomainsState) -> impl IntoView {
    let DomainsState { add, verify, .. } = state;
    let added = add.value();
    let organization_id = view.organization_id.clone();
    let rows = view.domains;
    view! {
        <KeepTypedValues><ActionForm action=add>
            <FormAlert message=form_error(added) />
            <input type="hidden" name="organization_id" value=view.organization_id />
            <TextField label="Domain" name="domain" maxlength=253 required=true hint="The part of your users' email addresses after the @, like example.com." error=field_error(added, "domain") />
            <div class="actions">
                <SubmitButton label="Add domain" busy_label="Adding…" class="button" />
            </div>
        </ActionForm></KeepTypedValues>
        <FormAlert message=form_error(verify.value()) />
        {if rows.is_empty() {
            view! { <p>"No domains yet."</p> }.into_any()
        } else {
            view! {
                <table class="table">
                    <caption class="visually-hidden">"Domains"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Domain"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"TXT record to publish"</th>
                            <th scope="col">"Last checked"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {rows.into_iter().map(|row| view! {
                            <DomainTableRow row organization_id=organization_id.clone() verify />
                        }).collect_view()}
                    </tbody>
                </table>
            }.into_any()
        }}
    }
}

#[component]
fn DomainTableRow(
    row: DomainRow,
    organization_id: String,
    verify: ServerAction<VerifyDomain>,
) -> impl IntoView {
    let (badge, badge_class) = match row.status {
        DomainStatus::Verified => (row.status.label(), "badge done"),
        DomainStatus::Pending => (row.status.label(), "badge"),
        DomainStatus::Failed => (row.status.label(), "badge todo"),
    };
    let verify_label = format!("Verify {}", row.domain);
    let remove_label = format!("Remove {}", row.domain);
    let remove_href = modal_href(
        REMOVE_DOMAIN_DIALOG,
        &[
            ("tab", "settings"),
            ("area", "domains"),
            ("domain", &row.domain),
        ],
    );
    let checked = row
        .checked_at
        .as_deref()
        .map(time_of)
        .unwrap_or_else(|| "Never".into());
    view! {
        <tr>
            <th scope="row">{row.domain.clone()}</th>
            <td><span class=badge_class>{badge}</span></td>
            <td class="dns-record">
                <span class="field-hint">"Name"</span>
                <code>{row.record_name}</code>
                <span class="field-hint">"Value"</span>
                <code>{row.record_value}</code>
            </td>
            <td>{checked}</td>
            <td>
                <div class="row-actions">
                    <ActionForm action=verify>
                        <input type="hidden" name="organization_id" value=organization_id />
                        <input type="hidden" name="domain" value=row.domain.clone() />
                        <button type="submit" class="button small" aria-label=verify_label disabled=move || verify.pending().get()>
                            "Verify"
                        </button>
                    </ActionForm>
                    <a class="button small danger" href=remove_href aria-label=remove_label>"Remove"</a>
                </div>
            </td>
        </tr>
    }
}

/// Confirms removing a domain (its users stop signing in through the provider).
#[component]
fn RemoveDomainModal(state: DomainsState) -> impl IntoView {
    let cancel = close_href();
    let remove = state.remove;
    let result = remove.value();
    let query = use_query_map();
    let chosen = move || query.with(|q| q.get("domain").unwrap_or_default());
    view! {
        <Modal name=REMOVE_DOMAIN_DIALOG title="Remove domain">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let view = state.domains.await.ok().flatten().filter(|v| v.can_manage);
                    let domain = chosen();
                    let row = view.as_ref().and_then(|v| v.domains.iter().find(|d| d.domain == domain).cloned());
                    let (Some(view), Some(row)) = (view, row) else {
                        return view! { <p>"That domain is not on this page any more."</p> <ModalCancel href=cancel /> }.into_any();
                    };
                    let consequence = if row.status == DomainStatus::Verified {
                        format!("Users at {} stop signing in through the identity provider. If it is the last verified domain, single sign-on is switched off.", row.domain)
                    } else {
                        format!("{} and its TXT record value are forgotten; adding it again gives a new value.", row.domain)
                    };
                    view! {
                        <p>{consequence}</p>
                        <ActionForm action=remove>
                            <FormAlert message=form_error(result) />
                            <input type="hidden" name="organization_id" value=view.organization_id.clone() />
                            <input type="hidden" name="domain" value=row.domain.clone() />
                            <div class="actions">
                                <ModalCancel href=cancel />
                                <SubmitButton label="Remove" busy_label="Removing…" class="button danger" />
                            </div>
                        </ActionForm>
                    }
                    .into_any()
                })}
            </Suspense>
        </Modal>
    }
}
