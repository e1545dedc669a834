pub mod config;
pub mod proxy;
pub mod telemetry;
