//! HTTP integration tests: the whole router, a fresh in-memory database with the demo data.

mod care;
mod helpers;
mod matrix;
mod pages;
mod record;
mod web;
