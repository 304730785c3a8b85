//! The Audit Log tab of Access Control: events newest first, filterable by type, actor and
//! days, and exported as filtered.

use leptos::prelude::*;

use super::events::{AuditPage, EventKind};
use crate::{
    error::AppError,
    ui::list::{count_label, time_of, Pagination},
};

pub type AuditResource = Resource<Result<Option<AuditPage>, AppError>>;

/// The Audit Log's filters as the URL carries them (each may be empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilters {
    pub kind: String,
    pub actor: String,
    pub from: String,
    pub to: String,
}

impl AuditFilters {
    /// The filters of the URL's query.
    pub fn from_query(query: &leptos_router::params::ParamsMap) -> Self {
        let get = |name: &str| query.get(name).unwrap_or_default();
        AuditFilters {
            kind: get("kind"),
            actor: get("actor"),
            from: get("from"),
            to: get("to"),
        }
    }

    /// The filters as query parameters (`kind=…&actor=…&from=…&to=…`).
    fn query(&self) -> String {
        use crate::ui::url::urlencode;
        format!(
            "kind={}&actor={}&from={}&to={}",
            urlencode(&self.kind),
            urlencode(&self.actor),
            urlencode(&self.from),
            urlencode(&self.to)
        )
    }
}

/// The export of the whole filtered log, as a file (GET, reading only).
fn export_href(format: &str, filters: &AuditFilters) -> String {
    format!(
        "/access-control/audit/export?format={format}&{}",
        filters.query()
    )
}

#[component]
pub fn AuditLogTab(events: AuditResource, filters: Memo<AuditFilters>) -> impl IntoView {
    let page_href = move |target: u64| {
        format!(
            "/access-control?tab=audit&{}&page={target}",
            filters.get_untracked().query()
        )
    };
    let kind = Memo::new(move |_| filters.get().kind);
    view! {
        <form method="get" action="/access-control" class="search">
            <input type="hidden" name="tab" value="audit" />
            <label for="audit-kind">"Event type"</label>
            <select id="audit-kind" name="kind">
                <option value="" selected=move || kind.get().is_empty()>"All events"</option>
                {EventKind::all()
                    .map(|k| view! {
                        <option value=k.as_str() selected=move || kind.get() == k.as_str()>{k.label()}</option>
                    })
                    .collect_view()}
            </select>
            <label for="audit-actor">"Actor"</label>
            <input id="audit-actor" name="actor" type="search" maxlength="254" placeholder="Email address or name"
                prop:value=move || filters.get().actor />
            <label for="audit-from">"From"</label>
            <input id="audit-from" name="from" type="date" prop:value=move || filters.get().from />
            <label for="audit-to">"To"</label>
            <input id="audit-to" name="to" type="date" prop:value=move || filters.get().to />
            <button type="submit" class="button">"Filter"</button>
        </form>
        <p class="row-actions">
            <a class="button small" href=move || export_href("csv", &filters.get())>"Export CSV"</a>
            <a class="button small" href=move || export_href("jsonl", &filters.get())>"Export JSON Lines"</a>
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(Some(log)) => view! {
                        <p>{count_label(log.total, "event")}</p>
                        <table class="table">
                            <caption class="visually-hidden">"Audit events, newest first"</caption>
                            <thead>
                                <tr>
                                    <th scope="col">"Time"</th>
                                    <th scope="col">"Type"</th>
                                    <th scope="col">"By"</th>
                                    <th scope="col">"Event"</th>
                                </tr>
                            </thead>
                            <tbody>
                                {log.events.into_iter().map(|event| view! {
                                    <tr>
                                        <td>{time_of(&event.at)}</td>
                                        <td>{event.kind.label()}</td>
                                        // The address, not only the name: anyone can rename
                                        // themselves to look like someone else.
                                        <td>{event.by()}</td>
                                        <td>{event.describe()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pagination page=log.page pages=log.pages href=page_href />
                    }
                        .into_any(),
                    Ok(None) => view! { <p>"You do not belong to any organization yet."</p> }.into_any(),
                    Err(err) => view! { <p role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
