//! Sections that are planned but not built yet say so plainly.

use crate::UPCOMING;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

#[component]
pub fn Placeholder() -> impl IntoView {
    let location = use_location();
    move || {
        let path = location.pathname.get();
        let section = path.trim_start_matches('/');
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
