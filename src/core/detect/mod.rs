//! Detectors: what personal data looks like. A detector is data (from rule
//! files) compiled into an anchored regex, an optional validator and context
//! requirements. *Where* a detector is tried is decided by its [`Kind`]: the
//! engine finds candidate positions for all detectors in one cheap pass and
//! runs each regex only there.

pub mod gazetteer;
pub mod validate;

use std::sync::Arc;

use regex_automata::meta::Regex;
use regex_automata::util::syntax;

/// Where the engine looks for a detector's matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Start of a digit run, or `+`/`(` directly before a digit.
    Number,
    /// Anchored at the start of the local part before each `@`.
    Email,
    /// Word start matching `[A-Z]{2}[0-9]{2}`.
    Iban,
    /// Word start of 1–4 hex digits followed by `:`.
    Ipv6,
    /// Right after one of the detector's trigger words.
    Keyword,
    /// At one of the detector's case-sensitive literal prefixes.
    Prefix,
    /// At a capitalised word found in the name gazetteer.
    Name,
    /// At capitalised word starts and digit-run starts (addresses, postcodes).
    Postal,
    /// No prefilter: the engine runs the pattern over all text in its own pass.
    Scan,
}

impl Kind {
    /// Every kind name, for error messages.
    pub const NAMES: &'static [&'static str] = &[
        "number", "email", "iban", "ipv6", "keyword", "prefix", "name", "postal", "scan",
    ];

    /// Parses a kind name from a rule file.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "number" => Kind::Number,
            "email" => Kind::Email,
            "iban" => Kind::Iban,
            "ipv6" => Kind::Ipv6,
            "keyword" => Kind::Keyword,
            "prefix" => Kind::Prefix,
            "name" => Kind::Name,
            "postal" => Kind::Postal,
            "scan" => Kind::Scan,
            _ => return None,
        })
    }
}

/// What a detector does with what it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorAction {
    /// Typed placeholder (`[REDACTED:<id>]`).
    Mask,
    /// Keep the last `keep_last` letters/digits, star the others, keep separators.
    Partial { keep_last: usize },
    /// Keyed HMAC-SHA256 pseudonym.
    Hash,
    /// Refuse the whole body.
    Reject,
}

/// A compiled detector.
#[derive(Debug)]
pub struct Detector {
    pub id: Arc<str>,
    pub description: String,
    pub kind: Kind,
    /// Anchored for every kind but `Scan`.
    pub regex: Regex,
    pub validator: Option<validate::ValidatorFn>,
    pub min_digits: usize,
    pub max_digits: usize,
    pub context: Vec<String>,
    pub require_context: bool,
    pub negative_context: Vec<String>,
    pub context_window: Option<usize>,
    pub triggers: Vec<String>,
    pub prefixes: Vec<String>,
    pub fields: Vec<String>,
    pub value_fields: Vec<String>,
    pub action: DetectorAction,
}

impl Detector {
    /// Compiles a rule's pattern. Every kind but `scan` is run anchored at a
    /// candidate position, which is what makes candidate-first matching fast.
    pub fn compile_pattern(pattern: &str, kind: Kind) -> Result<Regex, String> {
        let config = Regex::config()
            .match_kind(regex_automata::MatchKind::LeftmostFirst)
            .utf8_empty(false);
        Regex::builder()
            .configure(config)
            .syntax(syntax::Config::new().utf8(false))
            .build(pattern)
            .map_err(|e| {
                let msg = e.to_string();
                msg.lines().last().unwrap_or(&msg).trim().to_string()
            })
            .and_then(|re| {
                if kind != Kind::Scan && re.is_match("") {
                    return Err("pattern matches the empty string".into());
                }
                Ok(re)
            })
    }

    /// Index of the `value` capture group, if the pattern has one.
    pub fn value_group(&self) -> Option<usize> {
        self.regex
            .group_info()
            .to_index(regex_automata::PatternID::ZERO, "value")
    }
}
