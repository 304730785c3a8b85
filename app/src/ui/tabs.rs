//! Tabs whose selection lives in the URL (`?tab=`), so each tab can be linked to and works
//! without JavaScript; the arrow keys move between tabs where JavaScript runs.

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
    let tabs = tabs
        .iter()
        .map(|(key, text)| (key.to_string(), text.to_string()))
        .collect();
    view! { <TabLinks label=label.to_string() tabs selected=selected.get().to_string() /> }
}

/// The tabs as links (each a URL of its own); as an island, the arrow keys move between them.
#[island]
fn TabLinks(label: String, tabs: Vec<(String, String)>, selected: String) -> impl IntoView {
    let keys: Vec<String> = tabs.iter().map(|(key, _)| key.clone()).collect();
    let current = selected.clone();
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let step: isize = match ev.key().as_str() {
            "ArrowRight" => 1,
            "ArrowLeft" => -1,
            _ => return,
        };
        // Manual activation (ARIA tabs pattern): the arrows move focus, Enter opens the tab, so
        // passing over a tab does not load its page.
        let focused = document().active_element().map(|el| el.id());
        let at = keys
            .iter()
            .position(|key| focused.as_deref() == Some(format!("tab-{key}").as_str()))
            .or_else(|| keys.iter().position(|key| *key == current))
            .unwrap_or(0) as isize;
        let next = (at + step).rem_euclid(keys.len() as isize) as usize;
        if let Some(tab) = document().get_element_by_id(&format!("tab-{}", keys[next])) {
            use wasm_bindgen::JsCast;
            if let Ok(tab) = tab.dyn_into::<web_sys::HtmlElement>() {
                ev.prevent_default();
                let _ = tab.focus();
            }
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label=label on:keydown=on_keydown>
            {tabs
                .into_iter()
                .map(|(key, text)| {
                    let is_selected = key == selected;
                    view! {
                        <a
                            role="tab"
                            id=format!("tab-{key}")
                            href=format!("?tab={key}")
                            aria-selected=if is_selected { "true" } else { "false" }
                            aria-controls=is_selected.then(|| format!("panel-{key}"))
                            class="tab"
                        >
                            {text}
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
