//! Security and behaviour settings with their defaults (SECURITY.md gives the rules).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Settings {
    pub idle_timeout: Duration,
    pub absolute_timeout: Duration,
    /// Consecutive failures after which a sign-in name locks.
    pub lockout_threshold: u32,
    /// Failures allowed before the escalating wait starts.
    pub free_failures: u32,
    pub max_backoff: Duration,
    /// Failed sign-ins allowed per IP address per window.
    pub ip_failure_limit: u32,
    pub ip_window: Duration,
    pub activation_code_ttl: Duration,
    pub activation_tries_per_hour: u32,
    pub signup_ttl: Duration,
    pub email_code_ttl: Duration,
    pub argon2_m_kib: u32,
    pub argon2_t: u32,
    pub argon2_p: u32,
    /// Threads that hash passwords (fewer than the cores); more hashes wait in a short queue.
    pub hash_concurrency: usize,
    /// The longest a hash waits for a thread; the queue is sized to it, and what does not fit
    /// is answered "busy" at once.
    pub hash_queue_wait: Duration,
    pub mail_from: String,
    pub portal_name: String,
    /// Where the portal is reached, for links in email (`https://portal.example.org`).
    pub public_url: String,
    /// The key that seals secrets at rest (TOTP seeds).
    pub server_key: crate::crypto::ServerKey,
    /// Clinic policy: patients must enrol a second factor (staff always must).
    pub require_second_factor_for_patients: bool,
    /// Changes to sign-in details need a password proven this recently.
    pub reauth_window: Duration,
    /// How long a sign-in may wait for its second factor.
    pub second_factor_ttl: Duration,
    /// Wrong second-factor codes allowed per sign-in before it must start again.
    pub second_factor_tries: u32,
    /// The WebAuthn relying party id: the site's domain (`localhost` in development). The
    /// origin passkeys must come from is `public_url`.
    pub webauthn_rp_id: String,
    /// Whether text messages can be sent. Only the outbox sender exists yet (development and
    /// tests), so production leaves this off until a provider is wired in.
    pub sms_enabled: bool,
    pub reset_token_ttl: Duration,
    pub one_time_code_ttl: Duration,
    /// Patients may cancel or reschedule online until this long before a visit.
    pub cancel_cutoff: Duration,
    /// A reminder email goes out this long before a visit.
    pub reminder_before: Duration,
    /// The earliest a patient can book: this long from now.
    pub booking_notice: Duration,
    /// How far ahead slots are offered.
    pub booking_horizon: Duration,
    /// How long a waitlist offer stays open.
    pub offer_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(15 * 60),
            absolute_timeout: Duration::from_secs(12 * 3600),
            lockout_threshold: 10,
            free_failures: 3,
            max_backoff: Duration::from_secs(30),
            ip_failure_limit: 100,
            ip_window: Duration::from_secs(15 * 60),
            activation_code_ttl: Duration::from_secs(14 * 24 * 3600),
            activation_tries_per_hour: 5,
            signup_ttl: Duration::from_secs(30 * 60),
            email_code_ttl: Duration::from_secs(10 * 60),
            argon2_m_kib: 19_456,
            argon2_t: 2,
            argon2_p: 1,
            hash_concurrency: crate::auth::hashing::default_workers(),
            hash_queue_wait: Duration::from_millis(700),
            mail_from: "My Health Connection <no-reply@portal.localhost>".into(),
            portal_name: "My Health Connection".into(),
            public_url: "http://localhost:3000".into(),
            server_key: crate::crypto::ServerKey::random(),
            require_second_factor_for_patients: false,
            reauth_window: Duration::from_secs(5 * 60),
            second_factor_ttl: Duration::from_secs(10 * 60),
            second_factor_tries: 5,
            webauthn_rp_id: "localhost".into(),
            sms_enabled: true,
            reset_token_ttl: Duration::from_secs(3600),
            one_time_code_ttl: Duration::from_secs(10 * 60),
            cancel_cutoff: Duration::from_secs(24 * 3600),
            reminder_before: Duration::from_secs(24 * 3600),
            booking_notice: Duration::from_secs(2 * 3600),
            booking_horizon: Duration::from_secs(60 * 24 * 3600),
            offer_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

impl Settings {
    /// Cheap hashing parameters for tests; everything else as in production.
    pub fn for_tests() -> Self {
        Self {
            argon2_m_kib: 64,
            argon2_t: 1,
            ..Self::default()
        }
    }
}
