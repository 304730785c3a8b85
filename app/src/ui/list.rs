//! Pieces of paginated lists: the "N things" line and the page links.

use leptos::prelude::*;

/// The longest search term a list accepts: names and addresses are shorter, and a longer
/// term only costs the database.
pub const SEARCH_MAX_CHARS: usize = 100;

/// A list's search term, trimmed, at most [`SEARCH_MAX_CHARS`] characters.
pub fn parse_search(raw: &str) -> Result<String, String> {
    let term = raw.trim();
    let length = term.chars().count();
    if length > SEARCH_MAX_CHARS {
        return Err(format!(
            "Search must be at most {SEARCH_MAX_CHARS} characters (it has {length})."
        ));
    }
    if term.chars().any(char::is_control) {
        return Err("Search must not contain control characters.".into());
    }
    Ok(term.to_string())
}

/// A list page's `?q=` (search term, as typed) and `?page=` (1 when absent or not a number).
pub fn search_and_page() -> (Memo<String>, Memo<u64>) {
    let query = leptos_router::hooks::use_query_map();
    let search = Memo::new(move |_| query.with(|q| q.get("q").unwrap_or_default()));
    let page = Memo::new(move |_| {
        query.with(|q| {
            q.get("page")
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(1)
        })
    });
    (search, page)
}

/// "2026-11-23" from an RFC 3339 timestamp.
pub fn date_of(timestamp: &str) -> String {
    timestamp.chars().take(10).collect()
}

/// "2026-11-23 22:48 UTC" from an RFC 3339 timestamp in UTC (as the server sends them).
pub fn time_of(timestamp: &str) -> String {
    match (timestamp.get(..10), timestamp.get(11..16)) {
        (Some(date), Some(time)) => format!("{date} {time} UTC"),
        _ => timestamp.to_string(),
    }
}

/// "1 user", "23 users".
pub fn count_label(count: u64, singular: &str) -> String {
    format!("{count} {singular}{}", if count == 1 { "" } else { "s" })
}

/// Previous / "Page x of y" / Next; `href` gives a page's URL.
#[component]
pub fn Pagination(page: u64, pages: u64, href: impl Fn(u64) -> String + 'static) -> impl IntoView {
    view! {
        <nav class="pagination" aria-label="Pages">
            {(page > 1).then(|| view! { <a href=href(page - 1)>"Previous page"</a> })}
            <span>{format!("Page {page} of {pages}")}</span>
            {(page < pages).then(|| view! { <a href=href(page + 1)>"Next page"</a> })}
        </nav>
    }
}
