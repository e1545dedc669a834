//! The I/O-free core: everything that decides *what* is personal data and
//! *what to do* with it. It takes bytes in chunks and returns bytes out; it
//! never imports tokio or hyper and never touches the file system, so it is
//! deterministic and tested without sockets.

pub mod action;
pub(crate) mod b64;
pub(crate) mod decode;
pub mod detect;
pub(crate) mod engine;
pub mod error;
pub mod finding;
pub(crate) mod json;
pub mod legal_basis;
pub(crate) mod multipart;
pub mod policy;
pub mod redactor;
pub mod ruleset;
pub(crate) mod scanner;
pub(crate) mod screen;
#[cfg(test)]
pub(crate) mod test_rng;

pub use action::PseudonymKey;
pub use error::{RedactError, RuleError, RuleErrors};
pub use finding::{ActionKind, Finding};
pub use legal_basis::LegalBasisDecision;
pub use policy::{Direction, Mode};
pub use redactor::{redact_all, Format, Redactor, StreamSpec};
pub use ruleset::{Example, RuleSource, Ruleset};
