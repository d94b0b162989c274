//! Pieces shared by the sign-in set-up and the Account page: an authenticator-app set-up
//! and a freshly made set of backup codes.

use domain::security::TotpSetup;
use leptos::prelude::*;

/// The QR code, the key typed by hand, and a link for an app on this device.
pub fn totp_setup_view(setup: TotpSetup) -> impl IntoView {
    view! {
        <div class="totp-setup">
            <ol>
                <li>"Open an authenticator app (for example Google Authenticator, Microsoft Authenticator, 1Password or Aegis)."</li>
                <li>"Scan this QR code, or enter the key below by hand."</li>
                <li>"Enter the 6-digit code the app shows."</li>
            </ol>
            <div class="qr" inner_html=setup.qr_svg></div>
            <p>
                "Key for typing by hand: "
                <code class="key" data-testid="totp-key">{setup.key_groups}</code>
            </p>
            <p>
                <a href=setup.otpauth_uri>"Open in an authenticator app on this device"</a>
            </p>
        </div>
    }
}

/// Backup codes, shown once, with a text download.
pub fn backup_codes_view(codes: Vec<String>) -> impl IntoView {
    let text = format!(
        "My Health Connection backup codes\n\nEach code works once, in place of your second sign-in step.\nKeep them somewhere safe and private.\n\n{}\n",
        codes.join("\n")
    );
    let href = format!(
        "data:text/plain;charset=utf-8,{}",
        text.replace('\n', "%0A").replace(' ', "%20")
    );
    view! {
        <div class="backup-codes" role="region" aria-labelledby="backup-heading">
            <h3 id="backup-heading">"Your backup codes"</h3>
            <p>
                "Each code works once if you cannot use your usual second step. "
                <strong>"They are shown only now:"</strong>
                " download or write them down and keep them somewhere safe."
            </p>
            <ul class="codes" data-testid="backup-codes">
                {codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}
            </ul>
            <a class="button secondary" href=href download="backup-codes.txt">
                "Download as a text file"
            </a>
        </div>
    }
}
