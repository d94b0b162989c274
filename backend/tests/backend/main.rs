//! The backend's integration tests, one binary: each module is one area.

mod activation;
mod audit_chain;
mod care_team;
#[allow(dead_code)]
mod common;
mod demo;
mod export;
mod factors;
mod health_record;
mod holds_and_marks;
mod import;
mod passkeys;
mod proxy;
mod proxy_views;
mod record_pages;
mod records;
mod recovery;
mod release;
mod sessions;
mod signin;
