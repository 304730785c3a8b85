//! A modal dialog with a URL of its own: `?dialog=<name>` opens it, so a link opens it with
//! or without JavaScript, and the server renders it open. Where JavaScript runs, focus
//! moves into it and stays there, and Escape closes it like Cancel.

use leptos::{html::Div, prelude::*};
use leptos_router::hooks::{use_location, use_query_map};

/// Where closing a modal goes (make it outside any `Suspend`: inside one, Leptos may run
/// the view where no router context is found): the same URL without `?dialog=` (a selected tab, say, stays)
/// and without any error a plain form post left in it.
pub fn close_href() -> Memo<String> {
    let location = use_location();
    Memo::new(move |_| {
        let search = location.search.get();
        let kept: Vec<(String, String)> =
            form_urlencoded::parse(search.trim_start_matches('?').as_bytes())
                .filter(|(key, _)| key != "dialog" && !key.starts_with("__"))
                .map(|(key, value)| (key.into_owned(), value.into_owned()))
                .collect();
        let path = location.pathname.get();
        if kept.is_empty() {
            path
        } else {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish();
            format!("{path}?{query}")
        }
    })
}

/// The href that opens the modal named `name` over the current page, keeping `keep`
/// (e.g. the selected tab) in the URL.
pub fn modal_href(name: &str, keep: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(keep.iter().copied());
    query.append_pair("dialog", name);
    format!("?{}", query.finish())
}

#[component]
pub fn Modal(
    /// The `dialog` query value that opens it.
    name: &'static str,
    title: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let query = use_query_map();
    let open = Memo::new(move |_| query.with(|q| q.get("dialog").as_deref() == Some(name)));
    let close_href = close_href();
    move || {
        let children = children.clone();
        open.get().then(|| {
            view! {
                <ModalDialog name=name.to_string() title=title.to_string() close_href=close_href.get()>
                    {children()}
                </ModalDialog>
            }
        })
    }
}

/// The open dialog. As an island, focus moves into it and stays there, and Escape goes to
/// `close_href` like Cancel.
#[island]
fn ModalDialog(
    name: String,
    title: String,
    close_href: String,
    children: Children,
) -> impl IntoView {
    let dialog = NodeRef::<Div>::new();
    let title_id = format!("{name}-title");

    Effect::new(move |_| {
        if let Some(dialog) = dialog.get() {
            focus_first(&dialog);
        }
    });
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            let _ = window().location().assign(&close_href);
        }
        "Tab" => {
            if let Some(dialog) = dialog.get() {
                if trap_focus(&dialog, ev.shift_key()) {
                    ev.prevent_default();
                }
            }
        }
        _ => {}
    };

    view! {
        <div class="modal-backdrop">
            <div
                class="modal"
                role="dialog"
                aria-modal="true"
                aria-labelledby=title_id.clone()
                node_ref=dialog
                on:keydown=on_keydown
            >
                <h2 id=title_id.clone()>{title}</h2>
                {children()}
            </div>
        </div>
    }
}

/// The Cancel link of a modal's form; `href` comes from [`close_href`].
#[component]
pub fn ModalCancel(href: Memo<String>) -> impl IntoView {
    view! {
        <a class="button" href=move || href.get()>
            "Cancel"
        </a>
    }
}

const FOCUSABLE: &str = "input:not([type=hidden]), textarea, select, button, a[href]";

fn focusables(dialog: &web_sys::HtmlElement) -> Vec<web_sys::HtmlElement> {
    use wasm_bindgen::JsCast;
    let Ok(nodes) = dialog.query_selector_all(FOCUSABLE) else {
        return Vec::new();
    };
    (0..nodes.length())
        .filter_map(|i| nodes.item(i))
        .filter_map(|node| node.dyn_into().ok())
        .collect()
}

fn focus_first(dialog: &web_sys::HtmlElement) {
    if let Some(first) = focusables(dialog).first() {
        let _ = first.focus();
    }
}

/// Wraps Tab from the last element to the first (and Shift+Tab back); true if it moved focus.
fn trap_focus(dialog: &web_sys::HtmlElement, backwards: bool) -> bool {
    use wasm_bindgen::JsCast;
    let items = focusables(dialog);
    let (Some(first), Some(last)) = (items.first(), items.last()) else {
        return false;
    };
    let active = document().active_element();
    let at = |el: &web_sys::HtmlElement| active.as_ref() == Some(el.unchecked_ref());
    if backwards && at(first) {
        let _ = last.focus();
        true
    } else if !backwards && at(last) {
        let _ = first.focus();
        true
    } else {
        false
    }
}
