//! The `mhc` binary's library: configuration, start-up and the HTTP surface.

pub mod assets;
pub mod config;
pub mod downloads;
pub mod feed;
pub mod messages;
pub mod web;

use backend::notify::{Mailer, OutboxMailer, SmtpMailer};
use backend::{Portal, SystemClock};
use config::Config;
use leptos::prelude::LeptosOptions;
use secrecy::ExposeSecret;
use std::sync::Arc;

/// Opens the database, applies migrations and builds the portal's services.
pub async fn open_portal(cfg: &Config) -> Result<Portal, String> {
    if cfg.embedded {
        std::fs::create_dir_all(&cfg.data_dir)
            .map_err(|e| format!("cannot create {}: {e}", cfg.data_dir.display()))?;
    }
    let db = backend::storage::connect(cfg.database_url.expose_secret())
        .await
        .map_err(|e| format!("cannot open the database: {e}"))?;
    backend::storage::migrate(&db)
        .await
        .map_err(|e| format!("migrations failed: {e}"))?;
    let clock = Arc::new(SystemClock);
    let mailer: Arc<dyn Mailer> = match &cfg.smtp_url {
        Some(url) => Arc::new(
            SmtpMailer::from_url(url.expose_secret(), &cfg.mail_from).map_err(|e| e.to_string())?,
        ),
        None => Arc::new(OutboxMailer::new(db.clone(), clock.clone())),
    };
    Ok(Portal::new(db, clock, cfg.settings()?, mailer))
}

/// Site settings for Leptos, with defaults that work from the repository root after a build.
/// File names carry content hashes when the build wrote them (see [`assets`]).
pub fn leptos_options(cfg: &Config) -> LeptosOptions {
    let output = std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "mhc".into());
    let pkg = std::env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".into());
    let hashed = assets::init(&cfg.site_root, &pkg, &output).is_some();
    let plain = std::path::Path::new(&cfg.site_root)
        .join(&pkg)
        .join(format!("{output}.js"));
    if !hashed && !plain.is_file() {
        tracing::warn!(
            "no built site in {}: pages will load without their script and style. Run `make build`, and keep hash.txt beside the mhc binary.",
            cfg.site_root
        );
    }
    LeptosOptions::builder()
        .output_name(output)
        .site_root(cfg.site_root.clone())
        .site_pkg_dir(pkg)
        .site_addr(cfg.addr)
        .hash_files(hashed)
        .build()
}
