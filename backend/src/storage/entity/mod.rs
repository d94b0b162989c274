//! sea-orm entities, one per table of `migrations/`.

pub mod clinic;
pub mod patient;
pub mod user_account;
pub mod activation_code;
pub mod signup;
pub mod user_session;
pub mod throttle;
pub mod audit_event;
pub mod outbox;
pub mod diagnostic_report;
pub mod observation;
pub mod encounter;
pub mod problem;
pub mod allergy;
pub mod medication;
pub mod immunization;
pub mod portal_meta;
