//! Browser entry point: hydrates the islands (the interactive parts) of the HTML the server
//! rendered; the rest of each page is plain HTML with links and forms. Each island is a
//! wasm export of the `app` crate, which the island script calls by name.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    app::ui::form::forget_typed_values_unless_refused();
    leptos::mount::hydrate_islands();
    // Said on the page, so the browser suite waits for exactly this instead of guessing
    // from network quiet.
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "");
    }
}
