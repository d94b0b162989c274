//! One file per page.

pub mod account;
pub mod activate;
pub mod home;
pub mod not_found;
pub mod placeholder;
pub mod results;
pub mod signin;
