//! Browser entry point: hydrates the islands (the interactive parts) of the HTML the server
//! rendered; the rest of each page is plain HTML with links and forms.

// Linked for its islands: each is a wasm export the island script calls by name.
extern crate app as _;

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
}
