//! deskguard: a privacy reverse proxy for support desks.
//!
//! - [`core`]: the I/O-free redaction core (detectors, streaming text/JSON
//!   rewriting, field policies). Decides what is personal data.
//! - [`rules_dir`]: reads a rules directory for the core.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod core;
pub mod proxy;
pub mod rules_dir;
pub mod telemetry;
