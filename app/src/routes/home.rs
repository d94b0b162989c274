//! Home: what needs attention.

use domain::session::Me;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn Home() -> impl IntoView {
    let first = use_context::<Me>()
        .map(|m| m.first_name)
        .unwrap_or_default();
    view! {
        <Title text="Home" />
        <h1>{format!("Welcome, {first}")}</h1>
        <section class="cards" aria-label="Your health at a glance">
            <article class="card">
                <h2>"Test results"</h2>
                <p>"See your lab results with their reference ranges and what is out of range."</p>
                <A href="/results">"View test results"</A>
            </article>
            <article class="card">
                <h2>"Emergencies"</h2>
                <p>"This portal is not for emergencies. If you need urgent help, call 911."</p>
            </article>
        </section>
    }
}
