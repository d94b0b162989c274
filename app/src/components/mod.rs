//! Reusable pieces of the interface.

pub mod care;
pub mod factors;
pub mod form;
pub mod layout;
pub mod passkey_flows;
pub mod record;
pub mod strength;
pub mod webauthn;
