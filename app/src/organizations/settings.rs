//! Organization Profile → Settings: a navigation of areas, each its own page with its own URL
//! (`?tab=settings&area=…`), so an owner lands on what they came for and an email or an
//! audit event can link to it. Links, not scripts: it works without JavaScript, and a
//! screen reader hears a navigation landmark with the current area marked.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{api::ProfileView, policy, rules::Stage};
use crate::{
    accounts::factors::pages::{ProofBanner, ProofBannerState},
    directory_sync::pages::{DirectorySyncSection, DirectorySyncState},
    domains::pages::{DomainsSection, DomainsState},
    members::roles::Action,
    sso::pages::{SsoSettingsSection, SsoSettingsState},
    ui::modal::modal_href,
};

/// The areas of the organization's settings, in the navigation's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsArea {
    Security,
    Domains,
    SingleSignOn,
    DirectorySync,
    Delete,
}

impl SettingsArea {
    pub const ALL: [SettingsArea; 5] = [
        SettingsArea::Security,
        SettingsArea::Domains,
        SettingsArea::SingleSignOn,
        SettingsArea::DirectorySync,
        SettingsArea::Delete,
    ];

    /// Its name in the URL (`area=`).
    pub fn key(self) -> &'static str {
        match self {
            SettingsArea::Security => "security",
            SettingsArea::Domains => "domains",
            SettingsArea::SingleSignOn => "sso",
            SettingsArea::DirectorySync => "scim",
            SettingsArea::Delete => "delete",
        }
    }

    /// Its name in the navigation and the page title.
    pub fn label(self) -> &'static str {
        match self {
            SettingsArea::Security => "Security",
            SettingsArea::Domains => "Domains",
            SettingsArea::SingleSignOn => "Single sign-on",
            SettingsArea::DirectorySync => "Directory sync (SCIM)",
            SettingsArea::Delete => "Delete organization",
        }
    }

    /// Its page: each slice names its own, for the redirects of its server functions.
    pub fn page(self) -> &'static str {
        match self {
            SettingsArea::Security => policy::SETTINGS_PAGE,
            SettingsArea::Domains => crate::domains::SETTINGS_PAGE,
            SettingsArea::SingleSignOn => crate::sso::SETTINGS_PAGE,
            SettingsArea::DirectorySync => crate::directory_sync::SETTINGS_PAGE,
            SettingsArea::Delete => DELETE_PAGE,
        }
    }

    /// The area a URL's `area=` names; Security when it names none.
    pub fn named(key: Option<&str>) -> Self {
        Self::ALL
            .into_iter()
            .find(|area| Some(area.key()) == key)
            .unwrap_or(SettingsArea::Security)
    }
}

const DELETE_PAGE: &str = "/organization/profile?tab=settings&area=delete";

/// The area the URL selects (`?area=`), whether or not the Settings tab is open.
pub fn selected_area() -> Memo<SettingsArea> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| SettingsArea::named(q.get("area").as_deref())))
}

/// What the Settings tab's areas load; each loads only while its area is open.
#[derive(Clone, Copy)]
pub struct SettingsState {
    pub area: Memo<SettingsArea>,
    security: policy::pages::SecurityState,
    domains: DomainsState,
    sso: SsoSettingsState,
    directory_sync: DirectorySyncState,
    proof: ProofBannerState,
}

impl SettingsState {
    /// `on_settings`: whether the Settings tab is open. Made by the page outside every
    /// Suspend (leptos-rs/leptos#3595).
    pub fn new(on_settings: Memo<bool>) -> Self {
        let area = selected_area();
        let open = move |wanted: SettingsArea| {
            Memo::new(move |_| on_settings.get() && area.get() == wanted)
        };
        Self {
            area,
            security: policy::pages::SecurityState::new(open(SettingsArea::Security)),
            domains: DomainsState::new(open(SettingsArea::Domains)),
            sso: SsoSettingsState::new(open(SettingsArea::SingleSignOn)),
            directory_sync: DirectorySyncState::new(open(SettingsArea::DirectorySync)),
            // The Delete area shows no proof box (deleting asks for its own proof).
            proof: ProofBannerState::new(Signal::derive(move || {
                on_settings.get() && area.get() != SettingsArea::Delete
            })),
        }
    }
}

/// The Settings tab: the areas' navigation beside the open area.
#[component]
pub fn SettingsTab(state: SettingsState, profile: ProfileView) -> impl IntoView {
    let area = state.area.get();
    let section = match area {
        SettingsArea::Security => {
            view! { <policy::pages::SecuritySection state=state.security /> }.into_any()
        }
        SettingsArea::Domains => view! { <DomainsSection state=state.domains /> }.into_any(),
        SettingsArea::SingleSignOn => view! { <SsoSettingsSection state=state.sso /> }.into_any(),
        SettingsArea::DirectorySync => {
            view! { <DirectorySyncSection state=state.directory_sync /> }.into_any()
        }
        SettingsArea::Delete => view! { <DeleteOrganizationSection profile /> }.into_any(),
    };
    view! {
        <div class="settings-layout">
            <nav class="settings-nav" aria-label="Settings">
                <ul>
                    {SettingsArea::ALL
                        .into_iter()
                        .map(|each| {
                            let current = (each == area).then_some("page");
                            view! { <li><a href=each.page() aria-current=current>{each.label()}</a></li> }
                        })
                        .collect_view()}
                </ul>
            </nav>
            <div class="settings-area">
                {(area != SettingsArea::Delete)
                    .then(|| view! { <ProofBanner state=state.proof next=area.page() /> })}
                {section}
            </div>
        </div>
    }
}

/// The Delete organization area: for owners, before production.
#[component]
fn DeleteOrganizationSection(profile: ProfileView) -> impl IntoView {
    let can_delete = profile.role.allows(Action::DeleteOrganization);
    let in_production = profile.stage == Stage::Production;
    view! {
        <section class="card" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete organization"</h2>
            {match (can_delete, in_production) {
                (false, _) => view! { <p>"Only owners can delete the organization."</p> }.into_any(),
                (true, true) => view! {
                    <p>"Organizations in production cannot be deleted. Contact platform support."</p>
                }.into_any(),
                (true, false) => view! {
                    <p>"Deleting removes the organization, its members' access, its invitations and its logo."</p>
                    <a
                        class="button danger"
                        href=modal_href(
                            super::components::DELETE_ORGANIZATION_DIALOG,
                            &[("tab", "settings"), ("area", "delete")],
                        )
                    >
                        "Delete"
                    </a>
                }.into_any(),
            }}
        </section>
    }
}
