//! Shared helpers for integration tests that need external services.
pub mod rt;
