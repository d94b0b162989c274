//! Accounts and signing in: passwords, throttles, sessions, activation and sign-in.

pub mod account;
pub mod activation;
pub mod factors;
pub mod hashing;
pub mod passkeys;
pub mod password;
pub mod recovery;
pub mod session;
pub mod signin;
pub mod throttle;
