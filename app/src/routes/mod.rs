//! One file per page.

pub mod account;
pub mod activate;
pub mod activity;
pub mod allergies;
pub mod appointments;
pub mod downloads;
pub mod home;
pub mod immunizations;
pub mod medications;
pub mod messages;
pub mod not_found;
pub mod problems;
pub mod proxy;
pub mod proxy_accept;
pub mod recovery;
pub mod results;
pub mod second_step;
pub mod signin;
pub mod staff;
pub mod visits;
pub mod vitals;
