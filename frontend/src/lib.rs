#![recursion_limit = "512"]
//! The wasm entry point: hydrates the server-rendered page.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Lazy routes (a wasm chunk per record section) need their chunk before hydrating.
    leptos::mount::hydrate_lazy(app::App);
}
