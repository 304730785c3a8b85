//! Building URLs for links and redirects.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Percent-encodes a value for a query parameter.
pub fn urlencode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `?next=` of the current URL: where to go after logging in.
pub fn next_param() -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| q.get("next").unwrap_or_default()))
}

/// `path`, carrying `?next=` along when there is one.
pub fn with_next(path: &'static str, next: Memo<String>) -> impl Fn() -> String + Send + Sync {
    move || match next.get() {
        n if n.is_empty() => path.to_string(),
        n => format!("{path}?next={}", urlencode(&n)),
    }
}
