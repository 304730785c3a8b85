//! The Audit Log tab of Access Control: events newest first, filterable by type.

use leptos::prelude::*;

use super::events::{AuditPage, EventKind};
use crate::{
    error::AppError,
    ui::list::{count_label, time_of, Pagination},
};

pub type AuditResource = Resource<Result<Option<AuditPage>, AppError>>;

/// The export of the whole log of the chosen type, as a file (GET, reading only).
fn export_href(format: &str, kind: &str) -> String {
    format!(
        "/access-control/audit/export?format={format}&kind={}",
        crate::ui::url::urlencode(kind)
    )
}

#[component]
pub fn AuditLogTab(events: AuditResource, kind: Memo<String>) -> impl IntoView {
    let page_href = move |target: u64| {
        format!(
            "/access-control?tab=audit&kind={}&page={target}",
            kind.get_untracked()
        )
    };
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
            <button type="submit" class="button">"Filter"</button>
        </form>
        <p class="row-actions">
            <a class="button small" href=move || export_href("csv", &kind.get())>"Export CSV"</a>
            <a class="button small" href=move || export_href("jsonl", &kind.get())>"Export JSON Lines"</a>
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
