//! The staff console's pages, under `/staff`.

pub mod home;
pub mod inbox;
pub mod patients;
pub mod refills;
pub mod results;
pub mod schedule;
