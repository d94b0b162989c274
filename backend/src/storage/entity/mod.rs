//! sea-orm entities, one per table of `migrations/`.

pub mod activation_code;
pub mod allergy;
pub mod audit_event;
pub mod auth_factor;
pub mod auth_ticket;
pub mod backup_code;
pub mod clinic;
pub mod diagnostic_report;
pub mod encounter;
pub mod immunization;
pub mod medication;
pub mod observation;
pub mod outbox;
pub mod patient;
pub mod portal_meta;
pub mod problem;
pub mod signup;
pub mod throttle;
pub mod user_account;
pub mod user_session;
