//! The organization pages: Welcome (home), Manage Organizations, Overview, Organization
//! Profile, and the public directory.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

use super::{
    api::{
        current_overview, current_profile, directory, my_organizations, DeleteOrganization,
        ProfileView, SwitchOrganization, UpdateProfile,
    },
    components::{
        CreateOrganizationModal, DeleteOrganizationModal, LogoThumbnail, LogoUploader, NextSteps,
        OrganizationTable, NEW_ORGANIZATION_DIALOG,
    },
    rules::{Stage, ORG_NAME_MAX_CHARS, OVERVIEW_MAX_CHARS, X_HANDLE_MAX_CHARS},
    settings::{SettingsState, SettingsTab},
};
use crate::{
    api_keys::pages::{ApiKeysState, ApiKeysTab},
    invitations::pages::InvitationsForMe,
    members::roles::Action,
    sso::SsoNotice,
    ui::{
        form::{
            field_error, form_error, FormAlert, KeepTypedValues, SubmitButton, TextArea, TextField,
        },
        layout::CurrentUser,
        list::{count_label, Pagination},
        modal::modal_href,
        tabs::{selected_tab, TabList, TabPanel},
        url::urlencode,
    },
    webhooks::pages::{WebhooksState, WebhooksTab},
};

/// The Create New Organization button; opens the Add New Organization modal.
#[component]
fn CreateOrganizationButton() -> impl IntoView {
    view! {
        <a class="button primary" href=modal_href(NEW_ORGANIZATION_DIALOG, &[])>
            "Create New Organization"
        </a>
    }
}

/// Home after login: the user's organizations, and Create New Organization at the bottom left.
#[component]
pub fn WelcomePage() -> impl IntoView {
    let CurrentUser(user) = expect_context::<CurrentUser>();
    let query = use_query_map();
    let notice = move || {
        query.with(|q| {
            if q.get("deleted").is_some() {
                Some("The organization was deleted.")
            } else if q.get("left").is_some() {
                Some("You left the organization.")
            } else if q.get("declined").is_some() {
                Some("You declined the invitation.")
            } else {
                None
            }
        })
    };
    // After a first sign-in through the identity provider (joined, or not: the 400 limit).
    let sso_notice = move || query.with(|q| q.get("sso").as_deref().and_then(SsoNotice::parse));
    view! {
        <Title text="Welcome · Orgdesk" />
        <h1>"Welcome, " {user.map(|u| u.name).unwrap_or_default()}</h1>
        {move || notice().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        {move || sso_notice().map(|notice| if notice.is_failure() {
            view! { <p class="form-alert" role="alert">{notice.message()}</p> }.into_any()
        } else {
            view! { <p class="notice" role="status">{notice.message()}</p> }.into_any()
        })}
        <InvitationsForMe />
        <MyOrganizations
            path="/"
            heading="Your organizations"
            empty=|| view! {
                <section class="card" aria-labelledby="no-org-heading">
                    <h2 id="no-org-heading">"Your account needs an organization"</h2>
                    <p>
                        "Everything in Orgdesk happens in an organization. Create one for your company, "
                        "or open the invitation a colleague sent to your email address to join theirs."
                    </p>
                </section>
            }
        />
        <div class="page-footer-actions">
            <CreateOrganizationButton />
        </div>
        <CreateOrganizationModal />
    }
}

/// User menu → Manage Organizations: every organization of the user; switch the current one.
#[component]
pub fn ManageOrganizationsPage() -> impl IntoView {
    view! {
        <Title text="Manage Organizations · Orgdesk" />
        <h1>"Organizations"</h1>
        <MyOrganizations
            path="/organizations"
            empty=|| view! { <p>"You do not belong to any organization yet."</p> }
        />
        <div class="page-footer-actions">
            <CreateOrganizationButton />
        </div>
        <CreateOrganizationModal />
    }
}

/// The user's organizations a page at a time (`?q=` searches by name, `?page=`), with
/// Switch to; `empty` when the user has none. `path` is the page's own, for its links.
#[component]
fn MyOrganizations(
    path: &'static str,
    #[prop(optional)] heading: Option<&'static str>,
    #[prop(into)] empty: ViewFn,
) -> impl IntoView {
    let (search, page) = crate::ui::list::search_and_page();
    let organizations = Resource::new(
        move || (search.get(), page.get()),
        |(q, page)| my_organizations(q, page),
    );
    // Made here, outside the Suspend (leptos-rs/leptos#3595).
    let switch = ServerAction::<SwitchOrganization>::new();
    let page_href = move |target: u64| {
        format!(
            "{path}?q={}&page={target}",
            urlencode(&search.get_untracked())
        )
    };
    view! {
        <Transition fallback=|| view! { <p>"Loading your organizations…"</p> }>
            {move || {
                let empty = empty.clone();
                Suspend::new(async move {
                    match organizations.await {
                        Ok(list) if list.total == 0 && search.get_untracked().is_empty() => empty.run(),
                        Ok(list) => {
                            // Searching is offered once there is more than a page.
                            let searchable = list.pages > 1 || !search.get_untracked().is_empty();
                            view! {
                                <section aria-label=heading.unwrap_or("Your organizations")>
                                    {heading.map(|text| view! { <h2>{text}</h2> })}
                                    {searchable.then(|| view! {
                                        <form method="get" action=path class="search" role="search">
                                            <label for="organization-search">"Search your organizations by name"</label>
                                            <input id="organization-search" type="search" name="q" maxlength=crate::ui::list::SEARCH_MAX_CHARS value=move || search.get() />
                                            <button type="submit" class="button">"Search"</button>
                                        </form>
                                        <p>{count_label(list.total, "organization")}</p>
                                    })}
                                    <OrganizationTable organizations=list.organizations switch />
                                    {(list.pages > 1).then(|| view! { <Pagination page=list.page pages=list.pages href=page_href /> })}
                                </section>
                            }
                                .into_any()
                        }
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

/// Shown where a page needs a current organization and the user has none.
#[component]
fn NoOrganization() -> impl IntoView {
    view! {
        <p>"You do not belong to any organization yet."</p>
        <a class="button primary" href=format!("/{}", modal_href(NEW_ORGANIZATION_DIALOG, &[]))>
            "Create New Organization"
        </a>
    }
}

/// The current organization at a glance.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| current_overview());
    view! {
        <Title text="Overview · Orgdesk" />
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(Some(org)) => view! {
                        <div class="org-heading">
                            <LogoThumbnail name=org.name.clone() logo_url=org.logo_url.clone() class="logo-large" />
                            <h1>{org.name.clone()}</h1>
                        </div>
                        <p class="page-subtitle">"Overview"</p>
                        <dl class="facts">
                            <dt>"Organization ID"</dt>
                            <dd><code>{org.public_id.clone()}</code></dd>
                            <dt>"Stage"</dt>
                            <dd>{org.stage.label()}</dd>
                            <dt>"Members"</dt>
                            <dd>{org.member_count}</dd>
                            <dt>"Your role"</dt>
                            <dd>{org.role.label()}</dd>
                        </dl>
                        {org.next_steps.map(|steps| view! { <NextSteps steps /> })}
                    }.into_any(),
                    Ok(None) => view! { <h1>"Overview"</h1> <NoOrganization /> }.into_any(),
                    Err(err) => view! { <h1>"Overview"</h1> <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

const PROFILE_TABS: &[(&str, &str)] = &[
    ("info", "Organization Info"),
    ("settings", "Settings"),
    ("api-keys", "API keys"),
    ("webhooks", "Webhooks"),
];
const PROFILE_TAB_KEYS: &[&str] = &["info", "settings", "api-keys", "webhooks"];

/// The Organization Profile's title for its `?tab=` and `?area=`.
fn profile_title(tab: Option<&str>, area: Option<&str>) -> String {
    match tab {
        Some("settings") => format!(
            "{} · Organization Profile · Orgdesk",
            crate::organizations::settings::SettingsArea::named(area).label()
        ),
        Some("api-keys") => "API keys · Organization Profile · Orgdesk".to_string(),
        Some("webhooks") => "Webhooks · Organization Profile · Orgdesk".to_string(),
        _ => "Organization Profile · Orgdesk".to_string(),
    }
}

/// User menu → Organization Profile: Organization Info (default) and Settings.
#[component]
pub fn OrganizationProfilePage() -> impl IntoView {
    // Made here, outside the Suspend below (see OrganizationTable).
    let update = ServerAction::<UpdateProfile>::new();
    let profile = Resource::new(|| (), |_| current_profile());
    let tab = selected_tab(PROFILE_TAB_KEYS);
    // A plain string, read once: the head is written after the page's reactive values may
    // be disposed (a closure over them panicked under load), and every tab is a page load.
    let title = leptos_router::hooks::use_query_map()
        .with_untracked(|q| profile_title(q.get("tab").as_deref(), q.get("area").as_deref()));
    let on_settings = Memo::new(move |_| tab.get() == "settings");
    let settings = SettingsState::new(on_settings);
    let on_keys = Memo::new(move |_| tab.get() == "api-keys");
    let keys = ApiKeysState::new(on_keys);
    let on_webhooks = Memo::new(move |_| tab.get() == "webhooks");
    let webhooks = WebhooksState::new(on_webhooks);
    // Made here, outside the Suspend below (see OrganizationTable).
    let delete = ServerAction::<DeleteOrganization>::new();
    // The organization the delete modal may delete: only an owner's, only before production.
    let target = Resource::new(
        || (),
        move |_| async move {
            profile
                .await
                .ok()
                .flatten()
                .filter(|p| {
                    p.role.allows(Action::DeleteOrganization) && p.stage != Stage::Production
                })
                .map(|p| (p.public_id, p.name))
        },
    );
    view! {
        <Title text=title />
        <h1>"Organization Profile"</h1>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match profile.await {
                    Ok(Some(profile)) => view! {
                        <TabList label="Organization Profile" tabs=PROFILE_TABS selected=tab />
                        {move || {
                            let profile = profile.clone();
                            if tab.get() == "settings" {
                                view! { <TabPanel key="settings"><SettingsTab state=settings profile /></TabPanel> }.into_any()
                            } else if tab.get() == "api-keys" {
                                view! { <TabPanel key="api-keys"><ApiKeysTab state=keys /></TabPanel> }.into_any()
                            } else if tab.get() == "webhooks" {
                                view! { <TabPanel key="webhooks"><WebhooksTab state=webhooks /></TabPanel> }.into_any()
                            } else {
                                view! { <TabPanel key="info"><OrganizationInfo profile update /></TabPanel> }.into_any()
                            }
                        }}
                    }.into_any(),
                    Ok(None) => view! { <NoOrganization /> }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <DeleteOrganizationModal target delete />
    }
}

/// The Organization Info tab: the logo and the details; read-only unless the user is an owner.
#[component]
fn OrganizationInfo(profile: ProfileView, update: ServerAction<UpdateProfile>) -> impl IntoView {
    let result = update.value();
    let can_edit = profile.role.allows(Action::ManageProfile);
    let readonly = !can_edit;
    let logo_error = || crate::ui::form::url_error(super::api::UploadLogo::PATH, "logo");
    let query = use_query_map();
    let saved = move || {
        query.with(|q| match q.get("saved").as_deref() {
            Some("info") => Some("The organization profile was saved."),
            Some("logo") => Some("The logo was saved."),
            _ => None,
        })
    };
    let ProfileView {
        public_id,
        name,
        logo_url,
        alert_email,
        overview,
        sales_email,
        phone,
        website,
        x_handle,
        ..
    } = profile;
    view! {
        {move || saved().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        {readonly.then(|| view! {
            <p class="notice-info">"Only owners can change the organization profile. You can view it."</p>
        })}
        <section class="card" aria-labelledby="logo-heading">
            <h2 id="logo-heading">"Logo"</h2>
            {if can_edit {
                view! { <LogoUploader public_id=public_id.clone() name=name.clone() logo_url error=logo_error() /> }.into_any()
            } else {
                view! { <LogoThumbnail name=name.clone() logo_url class="logo-large" /> }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="info-heading">
            <h2 id="info-heading">"Organization Info"</h2>
            <KeepTypedValues>
                <ActionForm action=update>
                    <FormAlert message=form_error(result) />
                    <input type="hidden" name="organization_id" value=public_id.clone() />
                    <TextField label="Organization name" name="name" value=name maxlength=ORG_NAME_MAX_CHARS required=true readonly error=field_error(result, "name") />
                    <div class="field">
                        <label for="field-public-id">"Organization ID"</label>
                        <p class="field-hint" id="public-id-hint">"Assigned by Orgdesk; it never changes."</p>
                        <input id="field-public-id" value=public_id readonly aria-describedby="public-id-hint" class="readonly-id" />
                    </div>
                    <TextField label="Alert email" name="alert_email" input_type="email" value=alert_email readonly hint="One address; system alerts go there." error=field_error(result, "alert_email") />
                    <TextArea label="Company overview" name="overview" value=overview maxlength=OVERVIEW_MAX_CHARS readonly hint="The purpose or mission of your company; shown in the public directory." error=field_error(result, "overview") />
                    <TextField label="Sales email" name="sales_email" input_type="email" value=sales_email readonly error=field_error(result, "sales_email") />
                    <TextField label="Phone" name="phone" input_type="tel" autocomplete="tel" value=phone readonly hint="International format, e.g. +1 415 555 0123." error=field_error(result, "phone") />
                    <TextField label="Public website" name="website" input_type="url" value=website readonly hint="https://…" error=field_error(result, "website") />
                    <TextField label="Twitter (X) handle" name="x_handle" value=x_handle maxlength=X_HANDLE_MAX_CHARS + 1 readonly hint="Like @orgdesk." error=field_error(result, "x_handle") />
                    {can_edit.then(|| view! {
                        <div class="actions end">
                            <SubmitButton label="Submit" busy_label="Saving…" />
                        </div>
                    })}
                </ActionForm>
            </KeepTypedValues>
        </section>
    }
}

/// The public directory of organizations (no login needed).
#[component]
pub fn DirectoryPage() -> impl IntoView {
    let (search, page) = crate::ui::list::search_and_page();
    let results = Resource::new(
        move || (search.get(), page.get()),
        |(q, page)| directory(q, page),
    );
    let page_href = move |target: u64| {
        let q = search.get();
        if q.is_empty() {
            format!("/directory?page={target}")
        } else {
            format!(
                "/directory?q={}&page={target}",
                crate::ui::url::urlencode(&q)
            )
        }
    };
    view! {
        <Title text="Organization directory · Orgdesk" />
        <header class="public-header">
            <a class="brand" href="/">"Orgdesk"</a>
            <nav aria-label="Account">
                <a href="/login">"Log in"</a>
            </nav>
        </header>
        <main id="main" class="public-page">
            <h1>"Organization directory"</h1>
            <form method="get" action="/directory" class="search" role="search">
                <label for="directory-search">"Search organizations by name"</label>
                <input id="directory-search" type="search" name="q" maxlength=crate::ui::list::SEARCH_MAX_CHARS value=move || search.get() />
                <button type="submit" class="button">"Search"</button>
            </form>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match results.await {
                        Ok(found) if found.entries.is_empty() => view! {
                            <p>"No organizations match."</p>
                        }.into_any(),
                        Ok(found) => view! {
                            <p>{count_label(found.total, "organization")}</p>
                            <table class="table">
                                <caption class="visually-hidden">"Organizations"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"Logo"</th>
                                        <th scope="col">"Organization"</th>
                                        <th scope="col">"Overview"</th>
                                        <th scope="col">"Contact"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {found.entries.into_iter().map(|entry| view! {
                                        <tr>
                                            <td><LogoThumbnail name=entry.name.clone() logo_url=entry.logo_url /></td>
                                            <th scope="row">{entry.name}</th>
                                            <td class="overview">{entry.overview}</td>
                                            <td>
                                                <ul class="contact">
                                                    {entry.website.map(|url| view! { <li><a href=url.clone() rel="nofollow noopener">{url.clone()}</a></li> })}
                                                    {entry.x_handle.map(|handle| view! { <li><a href=format!("https://x.com/{handle}") rel="nofollow noopener">{format!("@{handle}")}</a></li> })}
                                                    {entry.sales_email.map(|email| view! { <li><a href=format!("mailto:{email}")>{email.clone()}</a></li> })}
                                                </ul>
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            <Pagination page=found.page pages=found.pages href=page_href />
                        }.into_any(),
                        Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}
