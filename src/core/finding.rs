//! Findings: what the core found and did, without the value itself.

use std::fmt;
use std::sync::Arc;

/// What was done to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Replaced by a typed placeholder.
    Mask,
    /// Partly masked (e.g. the last four card digits kept).
    Partial,
    /// Replaced by a keyed pseudonym.
    Hash,
    /// A field removed by a field policy.
    Drop,
    /// The body was refused.
    Reject,
    /// Shadow mode: found, but nothing was changed.
    Report,
}

impl ActionKind {
    /// The label used in metrics, audit events and `explain` output.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Mask => "mask",
            ActionKind::Partial => "partial",
            ActionKind::Hash => "hash",
            ActionKind::Drop => "drop",
            ActionKind::Reject => "reject",
            ActionKind::Report => "report",
        }
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing the core found. It deliberately has no field for the value:
/// findings feed metrics, audit logs and `explain`, none of which may carry
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Detector id (`se.personnummer`) or policy id (`policy.drop`).
    pub detector: Arc<str>,
    /// JSON field path (`ticket.comment.body`, `attachments[3].name`); empty in text mode.
    /// Shared: the findings in one value carry the same path.
    pub path: Arc<str>,
    /// Byte range in the input body (start inclusive, end exclusive).
    pub start: u64,
    pub end: u64,
    pub action: ActionKind,
}
