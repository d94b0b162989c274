//! Passkey ceremonies as the pages run them: server options → browser → server answer.

use crate::api::security::{
    passkey_begin, passkey_finish, passkey_login_begin, passkey_login_finish,
    second_step_passkey_begin, second_step_passkey_finish,
};
use crate::components::webauthn;

fn text(e: crate::error::AppError) -> String {
    e.to_string()
}

/// Adds a passkey named `name`; answers fresh backup codes when it was the first factor.
pub async fn add_passkey(name: String) -> Result<Vec<String>, String> {
    if name.trim().is_empty() {
        return Err("Give the passkey a name first, like \"Pixel 8\" or \"YubiKey\".".into());
    }
    let options = passkey_begin().await.map_err(text)?;
    let credential = webauthn::create(&options).await?;
    passkey_finish(name, credential).await.map_err(text)
}

/// The second step of a sign-in with a passkey.
pub async fn second_step_with_passkey() -> Result<(), String> {
    let options = second_step_passkey_begin().await.map_err(text)?;
    let assertion = webauthn::get(&options).await?;
    second_step_passkey_finish(assertion).await.map_err(text)
}

/// "Sign in with a passkey": a discoverable credential, no username or password.
pub async fn sign_in_with_passkey() -> Result<(), String> {
    let options = passkey_login_begin().await.map_err(text)?;
    let assertion = webauthn::get(&options).await?;
    passkey_login_finish(assertion).await.map_err(text)
}

/// Offers passkeys in the username field's autofill (conditional mediation) until `signal`
/// aborts it. Answers Ok(true) when the person picked one and is signed in.
#[cfg(feature = "hydrate")]
pub async fn autofill_passkey(signal: &leptos::web_sys::AbortSignal) -> Result<bool, String> {
    if !webauthn::conditional_available().await {
        return Ok(false);
    }
    let options = passkey_login_begin().await.map_err(text)?;
    match webauthn::ceremony(&options, false, Some("conditional"), Some(signal)).await {
        Ok(assertion) => passkey_login_finish(assertion)
            .await
            .map(|_| true)
            .map_err(text),
        Err(e) if e == "aborted" => Ok(false),
        Err(e) => Err(e),
    }
}

/// Goes to a page with a full load, so the new session's cookie is used from the start.
pub fn go(path: &str) {
    let _ = leptos::prelude::window().location().set_href(path);
}
