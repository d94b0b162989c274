//! A live password-strength meter. zxcvbn runs in the browser, in a chunk of the wasm that is
//! loaded only when someone types a new password (`#[lazy]`); the server applies the same
//! rule (score 3 of 4, at least 12 characters) plus the common-password list when saving.

use leptos::prelude::*;

/// zxcvbn's score, 0–4.
#[leptos::lazy]
fn password_score(password: String) -> u8 {
    zxcvbn::zxcvbn(&password, &[]).score() as u8
}

fn verdict(len: usize, score: u8) -> &'static str {
    match (len, score) {
        (0, _) => "",
        (1..=11, _) => "Too short: use at least 12 characters.",
        (_, 0 | 1) => "Very weak: this would be easy to guess.",
        (_, 2) => "Weak: add another word or two that do not belong together.",
        (_, 3) => "Good: strong enough.",
        _ => "Strong.",
    }
}

/// A new-password field with its strength shown as the person types.
#[component]
pub fn NewPassword(
    id: &'static str,
    label: &'static str,
    #[prop(optional)] name: Option<&'static str>,
) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let score = RwSignal::new(0u8);
    let on_input = move |ev| {
        let value = event_target_value(&ev);
        typed.set(value.clone());
        leptos::task::spawn_local(async move {
            let s = password_score(value.clone()).await;
            // Only the answer for what is in the field now counts.
            if typed.get_untracked() == value {
                score.set(s);
            }
        });
    };
    let hint_id = format!("{id}-hint");
    let meter_id = format!("{id}-strength");
    let described = format!("{hint_id} {meter_id}");
    let len = move || typed.with(|t| t.chars().count());
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <p class="hint" id=hint_id>
                "At least 12 characters. A few unrelated words make a strong one."
            </p>
            <input
                id=id
                name=name.unwrap_or(id)
                type="password"
                autocomplete="new-password"
                aria-describedby=described
                required
                on:input=on_input
            />
            <meter
                class="strength"
                min="0"
                max="4"
                low="2.5"
                high="3.5"
                optimum="4"
                value=move || if len() < 12 { 0 } else { score.get() }
                aria-hidden="true"
            ></meter>
            <p class="strength-text" id=meter_id aria-live="polite">
                {move || verdict(len(), score.get())}
            </p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::verdict;

    #[test]
    fn the_words_follow_the_servers_rule() {
        assert_eq!(verdict(0, 4), "");
        assert!(verdict(11, 4).starts_with("Too short"));
        assert!(verdict(20, 2).starts_with("Weak"));
        assert!(verdict(20, 3).starts_with("Good"));
    }
}
