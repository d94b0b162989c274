//! Sections that are planned but not built yet say so plainly.

use crate::UPCOMING;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn Placeholder() -> impl IntoView {
    let params = use_params_map();
    move || {
        let section = params.with(|p| p.get("section").unwrap_or_default());
        match UPCOMING.iter().find(|(path, _, _)| *path == section) {
            Some((_, title, what)) => view! {
                <Title text=*title />
                <h1>{*title}</h1>
                <p>{format!("{what}: not available yet in this version of the portal.")}</p>
            }
            .into_any(),
            None => view! {
                <Title text="Not found" />
                <h1>"Not found"</h1>
                <p>"There is no page at this address."</p>
            }
            .into_any(),
        }
    }
}
