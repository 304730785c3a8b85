//! Tabs whose selection lives in the URL (`?tab=`), so each tab can be linked to and works
//! without JavaScript; once hydrated, the arrow keys move between tabs.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The selected tab: `?tab=` if it names one of `keys`, else the first.
pub fn selected_tab(keys: &'static [&'static str]) -> Memo<&'static str> {
    let query = use_query_map();
    Memo::new(move |_| {
        let wanted = query.with(|q| q.get("tab"));
        keys.iter()
            .copied()
            .find(|key| wanted.as_deref() == Some(*key))
            .unwrap_or(keys[0])
    })
}

/// The tab list: `(key, label)` pairs; the selected tab controls the panel `panel-<key>`.
#[component]
pub fn TabList(
    label: &'static str,
    tabs: &'static [(&'static str, &'static str)],
    selected: Memo<&'static str>,
) -> impl IntoView {
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let step: isize = match ev.key().as_str() {
            "ArrowRight" => 1,
            "ArrowLeft" => -1,
            _ => return,
        };
        let current = tabs
            .iter()
            .position(|(key, _)| *key == selected.get_untracked())
            .unwrap_or(0) as isize;
        let next = (current + step).rem_euclid(tabs.len() as isize) as usize;
        if let Some(tab) = document().get_element_by_id(&format!("tab-{}", tabs[next].0)) {
            use wasm_bindgen::JsCast;
            if let Ok(tab) = tab.dyn_into::<web_sys::HtmlElement>() {
                ev.prevent_default();
                tab.click();
                let _ = tab.focus();
            }
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label=label on:keydown=on_keydown>
            {tabs
                .iter()
                .map(|(key, text)| {
                    let key = *key;
                    let is_selected = move || selected.get() == key;
                    view! {
                        <a
                            role="tab"
                            id=format!("tab-{key}")
                            href=format!("?tab={key}")
                            aria-selected=move || if is_selected() { "true" } else { "false" }
                            aria-controls=move || is_selected().then(|| format!("panel-{key}"))
                            class="tab"
                        >
                            {*text}
                        </a>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// The panel of the selected tab.
#[component]
pub fn TabPanel(key: &'static str, children: Children) -> impl IntoView {
    view! {
        <div role="tabpanel" id=format!("panel-{key}") aria-labelledby=format!("tab-{key}") class="tab-panel">
            {children()}
        </div>
    }
}
