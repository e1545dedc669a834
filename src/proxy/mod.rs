//! The I/O shell around the core: listeners, TLS, the upstream client, the
//! streaming body pipeline, limits, admin endpoints, reloads, and the demo.
//! Nothing here decides what is personal data.

pub mod admin;
pub mod body;
pub mod cert_expiry;
pub mod cli;
pub mod core_engine;
pub mod demo;
pub mod encoding;
pub mod framing;
pub mod handler;
pub mod headers;
pub mod limits;
pub mod problem;
pub mod reload;
pub mod server;
pub mod tls;
pub mod upstream;
