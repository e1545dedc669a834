//! Detectors: what personal data looks like. A detector is data (from rule
//! files) compiled into an anchored regex, an optional validator and context
//! requirements. *Where* a detector is tried is decided by its [`Kind`]: the
//! engine finds candidate positions for all detectors in one cheap pass and
//! runs each regex only there.

pub mod gazetteer;
pub mod validate;
pub mod value_split;
pub(crate) mod word_end_pairs;
pub(crate) mod word_ends;

use std::sync::Arc;

use regex_automata::dfa::{dense, onepass, Automaton as _};
use regex_automata::meta::Regex;
use regex_automata::nfa::thompson::backtrack::BoundedBacktracker;
use regex_automata::util::captures::GroupInfo;
use regex_automata::util::primitives::StateID;
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, PatternID};

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
    /// How many kinds there are (for per-kind tables).
    pub const COUNT: usize = 9;
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
    /// The pattern as written, for multi-detector screens (see `core::screen`).
    pub pattern: String,
    /// Anchored for every kind but `Scan`.
    pub regex: Regex,
    pub validator: Option<validate::ValidatorFn>,
    pub min_digits: usize,
    pub max_digits: usize,
    /// The fewest digits a value its validator accepts holds (see
    /// [`validate::min_value_digits`]); 0 without such a promise.
    pub min_value_digits: usize,
    pub context: Vec<String>,
    pub require_context: bool,
    pub negative_context: Vec<String>,
    pub context_window: Option<usize>,
    pub triggers: Vec<String>,
    pub prefixes: Vec<String>,
    pub fields: Vec<String>,
    pub value_fields: Vec<String>,
    pub action: DetectorAction,
    /// Bytes a match can begin with (see [`Detector::first_bytes`]).
    pub first: [bool; 256],
    /// The longest match the pattern can have, if bounded (see
    /// [`Detector::max_match_len`]).
    pub max_len: Option<usize>,
    /// A fully compiled anchored DFA for the pattern, when it fits: it
    /// answers "is there a match here, and where does it end" in a few
    /// nanoseconds, so most candidates never reach the general regex engine.
    pub fast: Option<AnchoredDfa>,
    /// The engine that resolves the `value` group on a matched span, for
    /// patterns that have one (see [`CaptureEngine`]).
    pub captures: Option<CaptureEngine>,
    /// For a pattern that ends in its `value` group: where the group
    /// starts in a match the fast DFA found, without a capture engine.
    pub value_split: Option<value_split::ValueSplit>,
}

/// Resolves a detector's `value` group on the span its DFA matched. The
/// general (meta) regex engine pays thousands of instructions per call in
/// set-up alone; these run straight on the short span.
#[derive(Debug)]
pub enum CaptureEngine {
    /// One-pass patterns: group boundaries at DFA speed.
    OnePass(Box<onepass::DFA>),
    /// Any other pattern: a bounded backtracker, cheap on spans of a few
    /// dozen bytes (leftmost-first, like the meta engine).
    Backtrack(BoundedBacktracker),
}

impl Detector {
    /// Compiles a rule's pattern. Every kind but `scan` is run anchored at a
    /// candidate position, which is what makes candidate-first matching fast.
    pub fn compile_pattern(pattern: &str, kind: Kind) -> Result<Regex, String> {
        let config = Regex::config()
            .match_kind(regex_automata::MatchKind::LeftmostFirst)
            .utf8_empty(false)
            // Unicode patterns (names, e-mail) build many lazy-DFA states;
            // a small cache is cleared and rebuilt over and over.
            .hybrid_cache_capacity(8 << 20);
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

    /// The bytes an anchored match of `pattern` can begin with, as a 256-bit
    /// set. The scanner skips a detector at candidates whose first byte is
    /// not in it, which avoids most regex calls (e.g. street patterns that
    /// start with a capital letter are never tried at digit runs). Computed
    /// from the pattern's lazy DFA over several look-behind contexts, so it
    /// is a safe superset; if anything fails, every byte is allowed.
    pub fn first_bytes(pattern: &str) -> [bool; 256] {
        use regex_automata::hybrid::dfa::DFA;
        use regex_automata::util::start;
        let all = [true; 256];
        let Ok(dfa) = DFA::builder()
            .syntax(syntax::Config::new().utf8(false))
            .build(pattern)
        else {
            return all;
        };
        let mut cache = dfa.create_cache();
        let mut set = [false; 256];
        for behind in [
            None,
            Some(b' '),
            Some(b'a'),
            Some(b'0'),
            Some(b'\n'),
            Some(b'-'),
            Some(0xC3),
        ] {
            let config = start::Config::new()
                .anchored(regex_automata::Anchored::Yes)
                .look_behind(behind);
            let Ok(sid) = dfa.start_state(&mut cache, &config) else {
                return all;
            };
            for b in 0..=255u8 {
                match dfa.next_state(&mut cache, sid, b) {
                    Ok(next) if next.is_dead() => {}
                    Ok(_) => set[b as usize] = true,
                    Err(_) => return all,
                }
            }
        }
        set
    }

    /// The longest match `pattern` can have, in bytes, if it has a bound.
    /// A `scan` detector's own pass uses it: once a search finds no match
    /// in the bytes so far, no match can start where a whole one would
    /// already have fit, so the next chunk's search starts after those
    /// bytes instead of `max_token` bytes back (4 KiB searched again for
    /// every 64-byte chunk).
    pub fn max_match_len(pattern: &str) -> Option<usize> {
        crate::core::screen::byte_hir(pattern)?
            .properties()
            .maximum_len()
    }

    /// Builds the anchored dense DFA for an anchored kind, if it stays small.
    pub fn fast_dfa(pattern: &str, kind: Kind) -> Option<AnchoredDfa> {
        if kind == Kind::Scan {
            return None;
        }
        let config = dense::Config::new()
            .start_kind(regex_automata::dfa::StartKind::Anchored)
            .match_kind(regex_automata::MatchKind::LeftmostFirst)
            .dfa_size_limit(Some(1 << 20))
            .determinize_size_limit(Some(2 << 20));
        dense::Builder::new()
            .configure(config)
            .syntax(syntax::Config::new().utf8(false))
            .build(pattern)
            .ok()
            .map(AnchoredDfa::new)
    }

    /// Builds the capture engine for a pattern with a `value` group (see
    /// [`Detector::captures`]); `None` if there is no such group.
    pub fn capture_engine(pattern: &str, kind: Kind) -> Option<CaptureEngine> {
        if kind == Kind::Scan || !pattern.contains("value>") {
            return None;
        }
        let syntax = syntax::Config::new().utf8(false);
        let has_value = |info: &GroupInfo| info.to_index(PatternID::ZERO, "value").is_some();
        if let Some(dfa) = onepass::DFA::builder()
            .syntax(syntax)
            .build(pattern)
            .ok()
            .filter(|dfa| has_value(dfa.get_nfa().group_info()))
        {
            return Some(CaptureEngine::OnePass(Box::new(dfa)));
        }
        BoundedBacktracker::builder()
            .syntax(syntax)
            .build(pattern)
            .ok()
            .filter(|bt| has_value(bt.get_nfa().group_info()))
            .map(CaptureEngine::Backtrack)
    }

    /// Builds the [`Detector::value_split`] of an anchored kind, if the
    /// pattern ends in its `value` group.
    pub fn value_split_of(pattern: &str, kind: Kind) -> Option<value_split::ValueSplit> {
        if kind == Kind::Scan || !pattern.contains("value>") {
            return None;
        }
        value_split::ValueSplit::build(pattern)
    }

    /// Index of the `value` capture group, if the pattern has one.
    pub fn value_group(&self) -> Option<usize> {
        self.regex
            .group_info()
            .to_index(regex_automata::PatternID::ZERO, "value")
    }
}

/// Where the leftmost-first match of anchored `dfa` at `from` ends, looking
/// no further than `to`: what `try_search_fwd` answers on that range,
/// without its set-up, which costs as much as the walk itself on the short
/// matches of an anchored detector. `None` if the DFA gives up.
pub(crate) fn match_end(
    fast: &AnchoredDfa,
    hay: &[u8],
    from: usize,
    to: usize,
) -> Option<Option<usize>> {
    let AnchoredDfa { dfa, starts } = fast;
    let mut sid = starts.at(hay, from)?;
    // The last match end so far, `to + 1` for none: a plain index keeps
    // the loop in registers (an `Option` made it copy them at each byte).
    let none = to + 1;
    let mut end = none;
    let bytes = &hay[..to];
    let mut i = from;
    while i < bytes.len() {
        sid = dfa.next_state(sid, bytes[i]);
        if dfa.is_special_state(sid) {
            if dfa.is_match_state(sid) {
                end = i;
            } else if dfa.is_dead_state(sid) {
                return Some((end != none).then_some(end));
            } else if dfa.is_quit_state(sid) {
                return None;
            }
        }
        i += 1;
    }
    sid = match hay.get(to) {
        Some(&b) => dfa.next_state(sid, b),
        None => dfa.next_eoi_state(sid),
    };
    if dfa.is_match_state(sid) {
        end = to;
    }
    (!dfa.is_quit_state(sid)).then_some((end != none).then_some(end))
}

/// The anchored start state of `dfa` after byte `behind` (`None`: at the
/// start of the text); `None` if the DFA gives up on that byte.
fn start_after(dfa: &dense::DFA<Vec<u32>>, behind: Option<u8>) -> Option<StateID> {
    let config = start::Config::new()
        .anchored(Anchored::Yes)
        .look_behind(behind);
    dfa.start_state(&config).ok()
}

/// The anchored start states of a detector's fast DFA by the byte before
/// the candidate, looked up once when the rules are compiled: the DFA's
/// own start-state lookup costs as much as a short walk, and a detector is
/// tried at thousands of candidates.
#[derive(Debug)]
pub struct StartStates {
    /// Indexed by the byte before; the last entry is for the text start.
    by_behind: Box<[Option<StateID>]>,
}

impl StartStates {
    pub fn of(dfa: &dense::DFA<Vec<u32>>) -> StartStates {
        let bytes = (0..=255).map(Some).chain([None]);
        StartStates {
            by_behind: bytes.map(|behind| start_after(dfa, behind)).collect(),
        }
    }

    /// The anchored start state at `from`, after the byte before it.
    pub(crate) fn at(&self, hay: &[u8], from: usize) -> Option<StateID> {
        let behind = from.checked_sub(1).map_or(256, |i| usize::from(hay[i]));
        self.by_behind[behind]
    }

    /// The start state if it is the same whatever comes before (no
    /// look-behind assertion such as `^` or `\b`, no quit byte), so a walk
    /// need not look at the byte before at all.
    pub(crate) fn fixed(&self) -> Option<StateID> {
        let first = self.by_behind[0]?;
        self.by_behind
            .iter()
            .all(|&s| s == Some(first))
            .then_some(first)
    }
}

/// An anchored dense DFA with its start states (see [`StartStates`]): the
/// two are built together and always used together.
#[derive(Debug)]
pub struct AnchoredDfa {
    pub dfa: dense::DFA<Vec<u32>>,
    starts: StartStates,
}

impl AnchoredDfa {
    pub fn new(dfa: dense::DFA<Vec<u32>>) -> AnchoredDfa {
        AnchoredDfa {
            starts: StartStates::of(&dfa),
            dfa,
        }
    }
}

/// Runs `fast` anchored at `from` up to `to` and calls `at_end` with every
/// `i` in `from..=to` at which a match ends (the bytes after `to` still
/// decide look-ahead). Stops early where the DFA dies or `at_end` says
/// `None`; `None` if the DFA gives up (a quit byte) or `at_end` said so.
pub(crate) fn walk(
    fast: &AnchoredDfa,
    hay: &[u8],
    from: usize,
    to: usize,
    mut at_end: impl FnMut(usize) -> Option<()>,
) -> Option<()> {
    let AnchoredDfa { dfa, starts } = fast;
    let mut sid = starts.at(hay, from)?;
    // A dense DFA reports a match one byte late: the state reached on the
    // byte at `i` says whether a match ends at `i`.
    for (i, &b) in hay[from..to].iter().enumerate() {
        sid = dfa.next_state(sid, b);
        if dfa.is_special_state(sid) {
            if dfa.is_match_state(sid) {
                at_end(from + i)?;
            } else if dfa.is_dead_state(sid) {
                return Some(());
            } else if dfa.is_quit_state(sid) {
                return None;
            }
        }
    }
    sid = match hay.get(to) {
        Some(&b) => dfa.next_state(sid, b),
        None => dfa.next_eoi_state(sid),
    };
    if dfa.is_match_state(sid) {
        at_end(to)?;
    }
    (!dfa.is_quit_state(sid)).then_some(())
}
