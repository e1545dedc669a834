//! Errors of the I/O-free core. They carry positions, rule ids and field
//! paths, never the data that was being inspected.

use thiserror::Error;

/// Why a rule set could not be compiled. Every variant names the file and the
/// line, so an operator can fix a bad rule without guessing; the running rules
/// stay in place while they do.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{file}:{line}: {reason}")]
pub struct RuleError {
    /// Rule file as named by the loader (a path relative to the rules directory).
    pub file: String,
    /// 1-based line of the offending item (1 when the whole file is at fault).
    pub line: usize,
    /// What is wrong, in words an operator can act on.
    pub reason: String,
}

/// All problems found in a rule set; compilation reports every one, not just the first.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct RuleErrors(pub Vec<RuleError>);

/// Why a body could not be redacted. The shell turns these into fail-closed
/// refusals (422 towards clients, 502 for upstream responses).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RedactError {
    /// The body is not valid JSON; `offset` is the byte position in the body.
    #[error("invalid JSON at byte {offset}: {reason}")]
    InvalidJson { offset: u64, reason: &'static str },
    /// A single token that must be inspected is longer than the configured cap,
    /// so it cannot be inspected with bounded memory.
    #[error("a token at byte {offset} is longer than the {limit}-byte inspection limit")]
    TokenTooLong { offset: u64, limit: usize },
    /// A detector whose action is `reject` found something.
    #[error("rejected by detector {detector} in {path}")]
    Rejected { detector: String, path: String },
    /// A field policy forbids fields that are present (strict mode): every
    /// forbidden path seen in the chunk that was being inspected.
    #[error("forbidden fields: {}", paths.join(", "))]
    ForbiddenFields { paths: Vec<String> },
    /// A `multipart/form-data` body that cannot be parsed (no boundary,
    /// over-long part headers, missing closing boundary, …).
    #[error("invalid multipart body at byte {offset}: {reason}")]
    InvalidMultipart { offset: u64, reason: &'static str },
    /// Base64 content that must be inspected is not valid base64.
    #[error("invalid base64 content in {path}")]
    InvalidBase64 { path: String },
    /// A binary attachment the policy refuses (`attachments = "refuse"`).
    #[error("binary attachment in {path} refused by the route's policy")]
    AttachmentRefused { path: String },
    /// Input ended in the middle of a value.
    #[error("body ended unexpectedly ({reason})")]
    Truncated { reason: &'static str },
    /// The route's policy refuses every request (`mode = "refuse"`).
    #[error("requests on this route are refused by policy {policy}")]
    RouteRefused { policy: String },
}

impl RedactError {
    /// A short, stable reason code for metrics labels and problem+json `type`s.
    pub fn reason_code(&self) -> &'static str {
        match self {
            RedactError::InvalidJson { .. } => "invalid_json",
            RedactError::TokenTooLong { .. } => "token_too_long",
            RedactError::Rejected { .. } => "rejected_content",
            RedactError::ForbiddenFields { .. } => "forbidden_field",
            RedactError::Truncated { .. } => "truncated_body",
            RedactError::InvalidMultipart { .. } => "invalid_multipart",
            RedactError::InvalidBase64 { .. } => "invalid_base64",
            RedactError::AttachmentRefused { .. } => "attachment_refused",
            RedactError::RouteRefused { .. } => "route_refused",
        }
    }
}
