//! **Copy** buttons: text onto the clipboard (`navigator.clipboard.writeText`). As an island
//! the button appears once JavaScript runs; without it the text stays selectable as it is.

use leptos::prelude::*;

/// Copies `text`; resolves when the browser did (it may refuse, e.g. on plain http).
async fn copy(text: &str) -> Result<(), ()> {
    use wasm_bindgen::JsCast;
    let window = web_sys::window().ok_or(())?;
    let navigator = js_sys::Reflect::get(&window, &"navigator".into()).map_err(|_| ())?;
    let clipboard = js_sys::Reflect::get(&navigator, &"clipboard".into()).map_err(|_| ())?;
    let write: js_sys::Function = js_sys::Reflect::get(&clipboard, &"writeText".into())
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    let promise: js_sys::Promise = write
        .call1(&clipboard, &text.into())
        .map_err(|_| ())?
        .dyn_into()
        .map_err(|_| ())?;
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map(|_| ())
        .map_err(|_| ())
}

/// A button that copies `text`, and says whether it did.
#[island]
pub fn CopyButton(label: String, text: String) -> impl IntoView {
    let ready = RwSignal::new(false);
    Effect::new(move |_| ready.set(true));
    let outcome = RwSignal::new(None::<&'static str>);
    let press = move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move {
            outcome.set(Some(match copy(&text).await {
                Ok(()) => "Copied.",
                Err(()) => "This browser did not allow copying: select the text and copy it.",
            }));
        });
    };
    view! {
        <span class="copy" hidden=move || !ready.get()>
            <button type="button" class="button" on:click=press>{label}</button>
            " "
            <span role="status">{move || outcome.get()}</span>
        </span>
    }
}
