//! Configuration in one typed struct, layered: defaults → `portal.toml` → `PORTAL_*` environment.

use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: SecretString,
    /// True when the database is the embedded SQLite file.
    pub embedded: bool,
    pub addr: SocketAddr,
    /// The public origin, e.g. `https://portal.example.org`; `https` turns on HSTS.
    pub public_url: Option<String>,
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    pub demo: bool,
    pub fixtures_dir: PathBuf,
    pub site_root: String,
    pub idle_timeout_minutes: u64,
    pub absolute_timeout_hours: u64,
    pub lockout_threshold: u32,
    /// Hours before a visit that its reminder email goes out.
    pub reminder_hours: u64,
    /// Hours before a visit after which patients can no longer cancel online.
    pub cancel_cutoff_hours: u64,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The key that seals secrets at rest (base64, 32 bytes). Without it, a key is generated
    /// into `data_dir/server.key` on first start; an https portal must configure it.
    pub server_key: Option<SecretString>,
    /// Clinic policy: patients must set up a second sign-in step.
    pub require_second_factor: bool,
}

/// The keys `portal.toml` may set (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    addr: Option<SocketAddr>,
    public_url: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    demo: Option<bool>,
    fixtures_dir: Option<PathBuf>,
    site_root: Option<String>,
    idle_timeout_minutes: Option<u64>,
    absolute_timeout_hours: Option<u64>,
    lockout_threshold: Option<u32>,
    reminder_hours: Option<u64>,
    cancel_cutoff_hours: Option<u64>,
    trusted_proxies: Option<Vec<String>>,
    server_key: Option<String>,
    require_second_factor: Option<bool>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse_env<T: std::str::FromStr>(name: &str) -> Result<Option<T>, String> {
    match env(name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} has a value that is not valid: {v:?}")),
    }
}

fn parse_bool_env(name: &str) -> Result<Option<bool>, String> {
    match env(name).map(|v| v.to_lowercase()) {
        None => Ok(None),
        Some(v) => match v.as_str() {
            "1" | "true" | "yes" | "on" => Ok(Some(true)),
            "0" | "false" | "no" | "off" => Ok(Some(false)),
            _ => Err(format!("{name} must be true or false, not {v:?}")),
        },
    }
}

impl Config {
    pub fn load() -> Result<Self, String> {
        let path = env("PORTAL_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| "portal.toml".into());
        let file: FileConfig = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?,
            Err(_) => FileConfig::default(),
        };
        let data_dir = env("PORTAL_DATA_DIR")
            .map(PathBuf::from)
            .or(file.data_dir)
            .unwrap_or_else(|| "data".into());
        let explicit_db = env("DATABASE_URL").or(file.database_url);
        let embedded = explicit_db
            .as_deref()
            .is_none_or(|u| u.starts_with("sqlite:"));
        let database_url = explicit_db
            .unwrap_or_else(|| format!("sqlite://{}/portal.db?mode=rwc", data_dir.display()));
        let addr = parse_env("PORTAL_ADDR")?
            .or(parse_env("LEPTOS_SITE_ADDR")?)
            .or(file.addr)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
        let proxies: Vec<String> = match env("PORTAL_TRUSTED_PROXIES") {
            Some(v) => v
                .split(',')
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .collect(),
            None => file.trusted_proxies.unwrap_or_default(),
        };
        let trusted_proxies = proxies
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|_| format!("trusted proxy {p:?} is not an IP address"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let public_url = env("PORTAL_PUBLIC_URL").or(file.public_url);
        // Demo data (with its published passwords) only when asked for, and never on https.
        let demo = parse_bool_env("PORTAL_DEMO")?
            .or(file.demo)
            .unwrap_or(false);
        if demo
            && public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        {
            return Err("PORTAL_DEMO cannot be on for a portal served over https: the demo accounts have published passwords".into());
        }
        let server_key = env("PORTAL_SERVER_KEY").or(file.server_key);
        if server_key.is_none()
            && public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        {
            return Err("PORTAL_SERVER_KEY must be set for a portal served over https (32 random bytes, base64), and be the same on every instance".into());
        }
        Ok(Self {
            server_key: server_key.map(Into::into),
            require_second_factor: parse_bool_env("PORTAL_REQUIRE_SECOND_FACTOR")?
                .or(file.require_second_factor)
                .unwrap_or(false),
            trusted_proxies,
            demo,
            data_dir,
            database_url: database_url.into(),
            embedded,
            addr,
            public_url,
            smtp_url: env("PORTAL_SMTP_URL").or(file.smtp_url).map(Into::into),
            mail_from: env("PORTAL_MAIL_FROM")
                .or(file.mail_from)
                .unwrap_or_else(|| "My Health Connection <no-reply@portal.localhost>".into()),
            fixtures_dir: env("PORTAL_DEMO_FIXTURES")
                .map(PathBuf::from)
                .or(file.fixtures_dir)
                .unwrap_or_else(|| "fixtures/demo".into()),
            site_root: env("LEPTOS_SITE_ROOT")
                .or(file.site_root)
                .unwrap_or_else(|| "target/site".into()),
            idle_timeout_minutes: parse_env("PORTAL_IDLE_TIMEOUT_MINUTES")?
                .or(file.idle_timeout_minutes)
                .unwrap_or(15),
            absolute_timeout_hours: parse_env("PORTAL_ABSOLUTE_TIMEOUT_HOURS")?
                .or(file.absolute_timeout_hours)
                .unwrap_or(12),
            lockout_threshold: parse_env("PORTAL_LOCKOUT_THRESHOLD")?
                .or(file.lockout_threshold)
                .unwrap_or(10),
            reminder_hours: parse_env("PORTAL_REMINDER_HOURS")?
                .or(file.reminder_hours)
                .unwrap_or(24),
            cancel_cutoff_hours: parse_env("PORTAL_CANCEL_CUTOFF_HOURS")?
                .or(file.cancel_cutoff_hours)
                .unwrap_or(24),
        })
    }

    pub fn settings(&self) -> Result<backend::Settings, String> {
        Ok(backend::Settings {
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout_minutes * 60),
            absolute_timeout: std::time::Duration::from_secs(self.absolute_timeout_hours * 3600),
            lockout_threshold: self.lockout_threshold,
            reminder_before: std::time::Duration::from_secs(self.reminder_hours * 3600),
            cancel_cutoff: std::time::Duration::from_secs(self.cancel_cutoff_hours * 3600),
            mail_from: self.mail_from.clone(),
            public_url: self.public_origin(),
            server_key: self.load_server_key()?,
            webauthn_rp_id: self.webauthn_rp_id()?,
            require_second_factor_for_patients: self.require_second_factor,
            // Text messages go to the outbox only: on for the demo, off otherwise.
            sms_enabled: self.demo,
            ..backend::Settings::default()
        })
    }

    /// Where people reach the portal, for links in email. On a loopback address that is
    /// `http://localhost:PORT`.
    pub fn public_origin(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None if self.addr.ip().is_loopback() => {
                format!("http://localhost:{}", self.addr.port())
            }
            None => format!("http://{}", self.addr),
        }
    }

    /// The WebAuthn relying party id: `PORTAL_WEBAUTHN_RP_ID`, else the public origin's host.
    fn webauthn_rp_id(&self) -> Result<String, String> {
        if let Some(id) = env("PORTAL_WEBAUTHN_RP_ID") {
            return Ok(id);
        }
        let origin = self.public_origin();
        let host = origin
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', ':']).next())
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("the public URL {origin:?} has no host"))?;
        Ok(host.to_owned())
    }

    /// The configured server key, or the one in `data_dir/server.key`, generated (readable by
    /// this user only) on first start.
    fn load_server_key(&self) -> Result<backend::crypto::ServerKey, String> {
        use backend::crypto::ServerKey;
        use secrecy::ExposeSecret;
        if let Some(k) = &self.server_key {
            return ServerKey::from_base64(k.expose_secret())
                .map_err(|e| format!("PORTAL_SERVER_KEY: {e}"));
        }
        let path = self.data_dir.join("server.key");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                ServerKey::from_base64(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.data_dir)
                    .map_err(|e| format!("cannot create {}: {e}", self.data_dir.display()))?;
                let key = ServerKey::random();
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts
                    .open(&path)
                    .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
                std::io::Write::write_all(&mut f, key.to_base64().as_bytes())
                    .and_then(|_| f.sync_all())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                tracing::info!(path = %path.display(), "generated a new server key");
                Ok(key)
            }
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Whether the portal is served over https (HSTS is sent only then).
    pub fn https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}
