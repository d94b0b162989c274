//! One file per page.

pub mod account;
pub mod activate;
pub mod activity;
pub mod home;
pub mod not_found;
pub mod placeholder;
pub mod recovery;
pub mod results;
pub mod second_step;
pub mod signin;
