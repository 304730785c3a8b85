//! Form building blocks: a labelled field that shows its server error in place, a submit
//! button with a busy state, and a form-level alert.

use leptos::prelude::*;

use crate::error::AppError;

/// The message for one field from an action's last result (`action.value()`).
pub fn field_error<T, R>(result: R, field: &'static str) -> Signal<Option<String>>
where
    R: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        result.with(|r| match r {
            Some(Err(err)) => err.message_for(field),
            _ => None,
        })
    })
}

/// A message for errors that belong to no single field (throttling, lost session, ...).
pub fn form_error<T, R>(result: R) -> Signal<Option<String>>
where
    R: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        result.with(|r| match r {
            Some(Err(AppError::Invalid(_) | AppError::Conflict(_))) | Some(Ok(_)) | None => None,
            Some(Err(err)) => Some(err.to_string()),
        })
    })
}

/// A `<label>`led input; its error is announced and tied to it by `aria-describedby`.
#[component]
pub fn TextField(
    label: &'static str,
    /// The form field's name: the server function's argument.
    name: &'static str,
    #[prop(default = "text")] input_type: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] required: bool,
    #[prop(optional)] readonly: bool,
    #[prop(optional)] hint: Option<&'static str>,
    /// The keyboard a phone shows ("numeric" for codes).
    #[prop(optional)]
    inputmode: Option<&'static str>,
    /// What the element ids are made from, when two forms on a page share a field name.
    #[prop(optional)]
    id: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let ids = FieldIds::new(id.unwrap_or(name));
    let described_by = ids.described_by(hint.is_some(), error);
    view! {
        <div class="field">
            <label for=ids.input.clone()>{label}</label>
            <FieldHint ids=ids.clone() hint />
            <input
                id=ids.input.clone()
                name=name
                type=input_type
                autocomplete=autocomplete
                value=value
                maxlength=maxlength
                required=required
                readonly=readonly
                inputmode=inputmode
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described_by
            />
            <FieldError ids error />
        </div>
    }
}

/// The ids that tie a field's input to its hint and its error.
#[derive(Clone)]
struct FieldIds {
    input: String,
    hint: String,
    error: String,
}

impl FieldIds {
    fn new(name: &str) -> Self {
        let input = format!("field-{name}");
        Self {
            hint: format!("{input}-hint"),
            error: format!("{input}-error"),
            input,
        }
    }

    /// `aria-describedby`: the hint (if any) and the error (while there is one).
    fn described_by(
        &self,
        has_hint: bool,
        error: Signal<Option<String>>,
    ) -> impl Fn() -> Option<String> + Send + Sync + 'static {
        let (hint, error_id) = (self.hint.clone(), self.error.clone());
        move || {
            let ids: Vec<&str> = [
                has_hint.then_some(hint.as_str()),
                error.get().map(|_| error_id.as_str()),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    }
}

#[component]
fn FieldHint(ids: FieldIds, hint: Option<&'static str>) -> impl IntoView {
    hint.map(|text| view! { <p class="field-hint" id=ids.hint>{text}</p> })
}

#[component]
fn FieldError(ids: FieldIds, error: Signal<Option<String>>) -> impl IntoView {
    move || {
        error
            .get()
            .map(|message| view! { <p class="field-error" id=ids.error.clone()>{message}</p> })
    }
}

/// The submit button of a plain form. As an island it says it is working once the form is
/// sent and stops a second press from sending it again while the next page loads.
#[island]
pub fn SubmitButton(
    #[prop(into)] label: String,
    #[prop(into)] busy_label: String,
    /// "button danger" for actions that destroy something; "button primary" by default.
    #[prop(optional, into)]
    class: Option<String>,
) -> impl IntoView {
    let class = class.unwrap_or_else(|| "button primary".into());
    let sent = RwSignal::new(false);
    // A page restored from the back/forward cache may be sent again.
    let _restored = window_event_listener(leptos::ev::pageshow, move |ev| {
        if ev.persisted() {
            sent.set(false);
        }
    });
    let button = NodeRef::<leptos::html::Button>::new();
    // Enter in a field "clicks" the default button too, so clicks cover every submission.
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if sent.get_untracked() {
            ev.prevent_default();
        } else if let Some(form) = button.get().and_then(|b| b.form()) {
            // An invalid form is not sent: the browser shows why instead.
            sent.set(form.check_validity());
        }
    };
    view! {
        <button
            type="submit"
            class=class
            node_ref=button
            aria-disabled=move || sent.get().then_some("true")
            aria-busy=move || sent.get().then_some("true")
            on:click=on_click
        >
            {move || if sent.get() { busy_label.clone() } else { label.clone() }}
        </button>
    }
}

/// Keeps what the user typed into the form inside it when the server refuses it. The form
/// is a plain post, and a refused one comes back as a new page with the errors in place (the
/// server's `__path`/`__err` in the URL); as an island, the typed values are kept in the
/// tab's session storage on submit and put back into that page's form, then forgotten.
/// Passwords, one-time codes, hidden fields and files are never kept.
#[island]
pub fn KeepTypedValues(children: Children) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        if let Some(root) = root.get() {
            typed_values::restore(&root);
        }
    });
    view! {
        <div class="kept-form" node_ref=root on:submit=typed_values::keep>
            {children()}
        </div>
    }
}

pub use typed_values::forget_unless_refused as forget_typed_values_unless_refused;

/// The browser side of [`KeepTypedValues`].
mod typed_values {
    use leptos::prelude::*;
    use serde::{Deserialize, Serialize};
    use wasm_bindgen::JsCast;
    use web_sys::{HtmlFormElement, HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};

    const KEY: &str = "orgdesk-typed-values";

    /// What one sent form held: its action's path and its fields' values by name.
    #[derive(Serialize, Deserialize)]
    struct Kept {
        path: String,
        values: Vec<(String, String)>,
    }

    fn storage() -> Option<web_sys::Storage> {
        window().session_storage().ok().flatten()
    }

    fn path_of(form: &HtmlFormElement) -> Option<String> {
        web_sys::Url::new(&form.action())
            .ok()
            .map(|url| url.pathname())
    }

    /// The fields whose values are kept: text-like inputs, text areas and selects; never a
    /// one-time code (a second factor must not sit in the tab's storage).
    fn fields(form: &HtmlFormElement) -> Vec<web_sys::Element> {
        let controls = form.elements();
        (0..controls.length())
            .filter_map(|i| controls.item(i))
            .filter(|el| match el.dyn_ref::<HtmlInputElement>() {
                Some(input) => {
                    !matches!(
                        input.type_().as_str(),
                        "password" | "hidden" | "file" | "submit" | "button" | "checkbox" | "radio"
                    ) && input.autocomplete() != "one-time-code"
                }
                None => {
                    el.is_instance_of::<HtmlTextAreaElement>()
                        || el.is_instance_of::<HtmlSelectElement>()
                }
            })
            .collect()
    }

    fn value_of(el: &web_sys::Element) -> Option<(String, String)> {
        if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
            Some((input.name(), input.value()))
        } else if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
            Some((area.name(), area.value()))
        } else {
            el.dyn_ref::<HtmlSelectElement>()
                .map(|select| (select.name(), select.value()))
        }
    }

    fn set_value(el: &web_sys::Element, value: &str) {
        if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
            input.set_value(value);
        } else if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
            area.set_value(value);
        } else if let Some(select) = el.dyn_ref::<HtmlSelectElement>() {
            select.set_value(value);
        }
    }

    pub fn keep(ev: leptos::ev::SubmitEvent) {
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        let (Some(storage), Some(path)) = (storage(), path_of(&form)) else {
            return;
        };
        let values = fields(&form).iter().filter_map(value_of).collect();
        if let Ok(json) = serde_json::to_string(&Kept { path, values }) {
            let _ = storage.set_item(KEY, &json);
        }
    }

    /// Whether this page is a refused form post coming back (its URL names the server
    /// function, `__path`): the kept values wait for the form's island then.
    fn is_refusal(kept_path: Option<&str>) -> bool {
        let search = window().location().search().unwrap_or_default();
        form_urlencoded::parse(search.trim_start_matches('?').as_bytes())
            .any(|(key, value)| key == "__path" && kept_path.is_none_or(|path| value == path))
    }

    /// Called on every page load: a page that is not a refusal forgets the kept values, so
    /// what was typed is not left in the tab after a form was accepted.
    pub fn forget_unless_refused() {
        if !is_refusal(None) {
            if let Some(storage) = storage() {
                let _ = storage.remove_item(KEY);
            }
        }
    }

    /// Puts the kept values back if this page is the refusal of that very form; forgets them
    /// either way, so they never outlive the next page.
    pub fn restore(root: &web_sys::HtmlDivElement) {
        let Some(storage) = storage() else { return };
        let kept = storage.get_item(KEY).ok().flatten();
        let _ = storage.remove_item(KEY);
        let Some(kept) = kept.and_then(|json| serde_json::from_str::<Kept>(&json).ok()) else {
            return;
        };
        let refused = is_refusal(Some(&kept.path));
        let form = root
            .query_selector("form")
            .ok()
            .flatten()
            .and_then(|el| el.dyn_into::<HtmlFormElement>().ok());
        let Some(form) = form.filter(|form| refused && path_of(form) == Some(kept.path.clone()))
        else {
            return;
        };
        for el in fields(&form) {
            if let Some((name, _)) = value_of(&el) {
                if let Some((_, value)) = kept.values.iter().find(|(n, _)| *n == name) {
                    set_value(&el, value);
                }
            }
        }
    }
}

/// The alert for an error that is not about one field.
#[component]
pub fn FormAlert(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|text| view! { <p class="form-alert" role="alert">{text}</p> })
    }
}

/// A `<label>`led multi-line field, like [`TextField`].
#[component]
pub fn TextArea(
    label: &'static str,
    name: &'static str,
    #[prop(optional, into)] value: Option<String>,
    #[prop(optional)] maxlength: Option<usize>,
    #[prop(optional)] readonly: bool,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let ids = FieldIds::new(name);
    let described_by = ids.described_by(hint.is_some(), error);
    view! {
        <div class="field">
            <label for=ids.input.clone()>{label}</label>
            <FieldHint ids=ids.clone() hint />
            <textarea
                id=ids.input.clone()
                name=name
                rows="5"
                maxlength=maxlength
                readonly=readonly
                aria-invalid=move || error.get().map(|_| "true")
                aria-describedby=described_by
            >
                {value}
            </textarea>
            <FieldError ids error />
        </div>
    }
}

/// The error a plain form post (JavaScript off) brought back in the URL for the server
/// function at `path`: the message for `field`, or the general one.
pub fn url_error(path: &str, field: &str) -> Option<String> {
    use server_fn::error::ServerFnUrlError;
    let query = leptos_router::hooks::use_query_map().get_untracked();
    if query.get("__path").as_deref() != Some(path) {
        return None;
    }
    let error = ServerFnUrlError::<AppError>::decode_err(&query.get("__err")?);
    Some(
        error
            .message_for(field)
            .unwrap_or_else(|| error.to_string()),
    )
}
