//! Accounts and signing in: passwords, throttles, sessions, activation and sign-in.

pub mod activation;
pub mod password;
pub mod session;
pub mod signin;
pub mod throttle;
