#![recursion_limit = "512"]
//! The wasm entry point: hydrates the server-rendered page.

/// Hydration is asynchronous so that a lazily loaded page (a wasm chunk of its own, such as
/// every staff console page) is fetched before the page it rendered on the server is hydrated.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // `hydrate_from_async` starts the executor it runs on; this first task only waits for it.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        let owner = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        owner.forget();
        // Tests (and only tests) wait for this before they type into a page, so nothing they
        // type is lost to the first client-side render.
        let _ = body.set_attribute("data-hydrated", "");
    });
}
