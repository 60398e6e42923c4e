//! The `patron` binary's library: configuration, startup, the HTTP API, use cases, jobs and the CLI.
//! Tests start the real server through [`startup::run`] on port 0.

pub mod app;
pub mod cli;
pub mod config;
pub mod console;
pub mod crypto;
pub mod delivery;
pub mod demo;
pub mod http;
pub mod jobs;
pub mod listrak_cli;
pub mod metrics;
pub mod startup;
