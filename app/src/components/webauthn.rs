//! The browser side of passkeys: hands the server's JSON options to
//! `navigator.credentials`, and the credential back as JSON (`toJSON()`). Only in the
//! browser; on the server these answer an error and are never called.

/// Whether this browser offers passkeys at all.
pub fn supported() -> bool {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsValue;
        use leptos::web_sys::js_sys::Reflect;
        Reflect::get(
            &leptos::prelude::window(),
            &JsValue::from_str("PublicKeyCredential"),
        )
        .map(|v| !v.is_undefined())
        .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use leptos::web_sys::js_sys::{Function, JSON, Object, Promise, Reflect};

    fn get(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
        Reflect::get(target, &JsValue::from_str(key))
    }

    fn call(target: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
        let f: Function = get(target, method)?.dyn_into()?;
        match args {
            [] => f.call0(target),
            [a] => f.call1(target, a),
            _ => Err(JsValue::from_str("too many arguments")),
        }
    }

    fn message(e: JsValue) -> String {
        let name = get(&e, "name")
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" => "The passkey request was cancelled or timed out.".into(),
            "InvalidStateError" => "This passkey is already added to your account.".into(),
            "AbortError" => "aborted".into(),
            "" => "This browser could not use a passkey here.".into(),
            other => format!("This browser could not use a passkey here ({other})."),
        }
    }

    /// `navigator.credentials.create` or `.get` with options from the server.
    pub async fn ceremony(
        options_json: &str,
        create: bool,
        mediation: Option<&str>,
        signal: Option<&leptos::web_sys::AbortSignal>,
    ) -> Result<String, String> {
        let run = async {
            let options = JSON::parse(options_json)?;
            let public_key = get(&options, "publicKey")?;
            let window: JsValue = leptos::prelude::window().into();
            let pkc = get(&window, "PublicKeyCredential")?;
            let parser = if create {
                "parseCreationOptionsFromJSON"
            } else {
                "parseRequestOptionsFromJSON"
            };
            let parsed = call(&pkc, parser, &[&public_key])?;
            let arg = Object::new();
            Reflect::set(&arg, &JsValue::from_str("publicKey"), &parsed)?;
            if let Some(m) = mediation {
                Reflect::set(&arg, &JsValue::from_str("mediation"), &JsValue::from_str(m))?;
            }
            if let Some(s) = signal {
                Reflect::set(&arg, &JsValue::from_str("signal"), s)?;
            }
            let navigator = get(&window, "navigator")?;
            let credentials = get(&navigator, "credentials")?;
            let promise: Promise = call(
                &credentials,
                if create { "create" } else { "get" },
                &[&arg.into()],
            )?
            .dyn_into()?;
            let credential = wasm_bindgen_futures::JsFuture::from(promise).await?;
            let json = call(&credential, "toJSON", &[])?;
            JSON::stringify(&json)?
                .as_string()
                .ok_or_else(|| JsValue::from_str("no JSON"))
        };
        run.await.map_err(message)
    }

    /// Whether the browser can offer passkeys in the username field's autofill.
    pub async fn conditional_available() -> bool {
        let window: JsValue = leptos::prelude::window().into();
        let Ok(pkc) = get(&window, "PublicKeyCredential") else {
            return false;
        };
        let Ok(p) = call(&pkc, "isConditionalMediationAvailable", &[]) else {
            return false;
        };
        let Ok(p) = p.dyn_into::<Promise>() else {
            return false;
        };
        wasm_bindgen_futures::JsFuture::from(p)
            .await
            .map(|v| v.as_bool() == Some(true))
            .unwrap_or(false)
    }
}

/// Creates a passkey from the server's creation options; answers the credential as JSON.
pub async fn create(options_json: &str) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        browser::ceremony(options_json, true, None, None).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options_json;
        Err("Passkeys need JavaScript.".into())
    }
}

/// Asks for a passkey assertion from the server's request options.
pub async fn get(options_json: &str) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        browser::ceremony(options_json, false, None, None).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options_json;
        Err("Passkeys need JavaScript.".into())
    }
}

#[cfg(feature = "hydrate")]
pub use browser::{ceremony, conditional_available};
