//! Adapter from the I/O-free core (`Ruleset`, `Redactor`) to the shell's
//! [`Engine`] / [`BodyFilter`] traits. The rest of the shell only names the
//! core's plain-data `StreamSpec`; this is the only proxy module that holds
//! core logic, and everything about *what* is redacted stays in the core.

use std::path::PathBuf;
use std::sync::Arc;

use crate::core::{
    ActionKind, Format, Mode, PseudonymKey, RedactError, Redactor, Ruleset, StreamSpec,
};
use crate::proxy::body::{
    BodyFilter, Engine, EngineLoader, FilterError, FilterFinding, LegalBasis,
};

/// A compiled rule set plus the pseudonym key.
pub struct CoreEngine {
    rules: Arc<Ruleset>,
    key: PseudonymKey,
}

impl CoreEngine {
    /// Wraps a compiled rule set.
    pub fn new(rules: Arc<Ruleset>, key: PseudonymKey) -> CoreEngine {
        CoreEngine { rules, key }
    }
}

impl Engine for CoreEngine {
    fn version(&self) -> &str {
        self.rules.version()
    }

    fn open(&self, spec: &StreamSpec<'_>, boundary: Option<&str>) -> Box<dyn BodyFilter> {
        let r = match spec.format {
            Format::Multipart => self.rules.multipart_redactor(spec, boundary, &self.key),
            _ => self.rules.redactor(spec, &self.key),
        };
        Box::new(CoreFilter { r })
    }

    fn refuses(&self, spec: &StreamSpec<'_>) -> Option<FilterError> {
        self.rules.refusal(spec).map(err)
    }
}

struct CoreFilter {
    r: Redactor,
}

fn err(e: RedactError) -> FilterError {
    // The core's Display carries offsets, rule ids and field paths only.
    FilterError::new(e.reason_code(), e.to_string())
}

impl BodyFilter for CoreFilter {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), FilterError> {
        self.r.push(chunk, out).map_err(err)
    }
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), FilterError> {
        self.r.finish(out).map_err(err)
    }
    fn take_findings(&mut self) -> Vec<FilterFinding> {
        self.r
            .take_findings()
            .into_iter()
            .map(|f| FilterFinding {
                dropped: f.action == ActionKind::Drop,
                detector: f.detector,
            })
            .collect()
    }
    fn route_id(&self) -> &str {
        self.r.policy_id()
    }
    fn may_change(&self) -> bool {
        self.r.mode() != Mode::Shadow
    }
    fn expects_legal_basis(&self) -> bool {
        self.r.tags_tickets()
    }
    fn ticket_id(&self) -> Option<String> {
        self.r.ticket_id()
    }
    fn legal_basis(&self) -> Option<LegalBasis> {
        self.r.legal_basis().map(|d| LegalBasis {
            basis: d.basis.clone(),
            retention: d.retention.clone(),
            decided_by: d.decided_by.clone(),
        })
    }
}

/// Loads `rules_dir` with the shell-side loader and compiles it.
pub struct CoreLoader {
    /// The rules directory.
    pub dir: PathBuf,
    /// Pseudonym key for `hash` actions.
    pub key: PseudonymKey,
}

impl EngineLoader for CoreLoader {
    fn load(&self) -> Result<Arc<dyn Engine>, String> {
        let sources = crate::rules_dir::load(&self.dir).map_err(|e| format!("{e:#}"))?;
        let rules = Ruleset::compile(&sources).map_err(|e| e.to_string())?;
        Ok(Arc::new(CoreEngine::new(Arc::new(rules), self.key.clone())))
    }
}
