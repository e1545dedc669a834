//! The compiled scan engine: detectors grouped by candidate kind, one
//! keyword automaton for triggers, context words and literal prefixes, and
//! the byte-class table of the candidate pass.
//!
//! Why candidate-first: one `RegexSet` (or alternation) of a dozen PII
//! patterns runs at a few tens of MB/s, while a table-driven byte pass plus
//! one Aho-Corasick keyword pass runs at hundreds of MB/s. So the engine finds
//! *where* something could start, cheaply, and runs each detector's small
//! anchored regex and validator only there.

use std::borrow::Cow;

use rustc_hash::FxHashMap as HashMap;

use aho_corasick::dfa::DFA;
use aho_corasick::MatchKind;
use regex_automata::dfa::Automaton as _;

use super::action::Renderer;
use super::detect::gazetteer::Gazetteer;
use super::detect::{Detector, Kind};
use super::ruleset::Settings;
use super::screen::{self, Screen};

/// Byte classes of the candidate pass.
pub(crate) const C_DIGIT: u8 = 1;
pub(crate) const C_SIGN: u8 = 2;
pub(crate) const C_AT: u8 = 4;
pub(crate) const C_UPPER: u8 = 8;
pub(crate) const C_HIGH: u8 = 16;
pub(crate) const C_HEX: u8 = 32;
pub(crate) const C_COLON: u8 = 64;
/// Bit of [`Engine::byte_info`] marking word bytes (letters, digits, UTF-8).
pub(crate) const IS_WORD: u8 = 0x80;

/// What a keyword-automaton pattern means, per detector index.
#[derive(Debug, Default, Clone)]
pub(crate) struct Keyword {
    pub len: usize,
    /// Case-sensitive literal to verify (prefixes only).
    pub exact: Option<Vec<u8>>,
    pub context_for: Vec<u16>,
    pub negative_for: Vec<u16>,
    pub trigger_for: Vec<u16>,
    pub prefix_for: Vec<u16>,
    /// Whether the word must stand alone (not inside a longer word).
    pub whole_word: bool,
}

/// Which detectors a JSON field name brings into context.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FieldCtx {
    /// Detectors whose context requirement the field satisfies.
    pub context_ok: Vec<u16>,
    /// A detector whose kind of data the whole value is.
    pub whole: Option<u16>,
}

/// Immutable, shareable engine built from detectors.
#[derive(Debug)]
pub(crate) struct Engine {
    pub detectors: Vec<Detector>,
    pub value_groups: Vec<Option<usize>>,
    pub keywords: Vec<Keyword>,
    pub ac: Option<DFA>,
    /// Bitmap of the (ASCII-lower-cased) first two bytes of every keyword:
    /// the automaton only starts where one of them begins a word.
    pub kw_pairs: Vec<u64>,
    /// Per byte: [`IS_WORD`] plus the candidate classes it can start.
    pub byte_info: [u8; 256],
    /// Detector indices per kind, indexed by `Kind as usize` (no hashing
    /// on the candidate path).
    by_kind: [Vec<u16>; Kind::COUNT],
    /// Number then postal detectors: what a digit-run candidate tries.
    pub numeric: Vec<u16>,
    /// One walk over a digit run telling which of `numeric` can match there.
    pub number_screen: Option<Screen>,
    /// Numeric detectors the screen leaves out: searched at every digit run.
    pub unscreened: Vec<u16>,
    pub number_min_digits: usize,
    pub gazetteer: Gazetteer,
    pub renderer: Renderer,
    pub max_token: usize,
    pub window: usize,
    pub max_window: usize,
    /// How far before its candidate position a match may start.
    pub back_reach: usize,
    field_exact: HashMap<String, FieldCtx>,
    field_globs: Vec<(String, u16, bool)>,
}

impl Engine {
    pub fn new(detectors: Vec<Detector>, gazetteer: Gazetteer, settings: &Settings) -> Engine {
        let mut by_kind: [Vec<u16>; Kind::COUNT] = Default::default();
        for (i, d) in detectors.iter().enumerate() {
            by_kind[d.kind as usize].push(i as u16);
        }
        let numeric: Vec<u16> = [Kind::Number, Kind::Postal]
            .iter()
            .flat_map(|&k| by_kind[k as usize].iter().copied())
            .collect();
        let (number_screen, unscreened) = number_screen(&detectors, &numeric);
        let (keywords, ac, kw_pairs) = build_keywords(&detectors);
        let mut class = [0u8; 256];
        let has = |k: Kind| !by_kind[k as usize].is_empty();
        if has(Kind::Number) || has(Kind::Postal) {
            class[b'0' as usize..=b'9' as usize].fill(C_DIGIT);
            class[b'+' as usize] = C_SIGN;
            class[b'(' as usize] = C_SIGN;
        }
        if has(Kind::Email) {
            class[b'@' as usize] |= C_AT;
        }
        if has(Kind::Iban) || has(Kind::Name) || has(Kind::Postal) {
            for b in b'A'..=b'Z' {
                class[b as usize] |= C_UPPER;
            }
        }
        if has(Kind::Name) || has(Kind::Postal) {
            for c in &mut class[0xC3..=0xC5] {
                *c |= C_HIGH;
            }
        }
        if has(Kind::Ipv6) {
            for b in (b'0'..=b'9').chain(b'a'..=b'f').chain(b'A'..=b'F') {
                class[b as usize] |= C_HEX;
            }
            class[b':' as usize] |= C_COLON;
        }
        for (b, c) in class.iter_mut().enumerate() {
            if (b as u8).is_ascii_alphanumeric() || b >= 0x80 {
                *c |= IS_WORD;
            }
        }
        let number_min_digits = detectors
            .iter()
            .filter(|d| matches!(d.kind, Kind::Number | Kind::Postal))
            .map(|d| d.min_digits)
            .min()
            .unwrap_or(usize::MAX);
        let value_groups = detectors.iter().map(Detector::value_group).collect();
        let max_window = detectors
            .iter()
            .filter_map(|d| d.context_window)
            .chain([settings.context_window])
            .max()
            .unwrap_or(48);
        let back_reach = if has(Kind::Email) { EMAIL_LOCAL_MAX } else { 0 };
        let mut field_exact: HashMap<String, FieldCtx> = HashMap::default();
        let mut field_globs = Vec::new();
        for (i, d) in detectors.iter().enumerate() {
            for (list, whole) in [(&d.fields, false), (&d.value_fields, true)] {
                for f in list {
                    if f.contains('*') {
                        field_globs.push((f.clone(), i as u16, whole));
                    } else {
                        let e = field_exact.entry(f.clone()).or_default();
                        add_field(e, i as u16, whole);
                    }
                }
            }
        }
        Engine {
            value_groups,
            keywords,
            ac,
            kw_pairs,
            byte_info: class,
            by_kind,
            numeric,
            number_screen,
            unscreened,
            number_min_digits,
            gazetteer,
            renderer: Renderer::new(&settings.mask_template, &settings.hash_template),
            max_token: settings.max_token,
            window: settings.context_window,
            max_window,
            back_reach,
            field_exact,
            field_globs,
            detectors,
        }
    }

    /// Whether a value made only of ASCII digits (a JSON number: ids,
    /// counts, timestamps) can hold no finding: no `scan` detector, no
    /// keyword or prefix starts with it, and the number screen rules out
    /// every detector that can start at a digit. The JSON rewriter then
    /// passes it without starting the scanner.
    pub fn digits_inert(&self, value: &[u8]) -> bool {
        let Some(&first) = value.first() else {
            return false;
        };
        if !value.iter().all(u8::is_ascii_digit)
            || value.len() >= self.max_token
            || !self.kind(Kind::Scan).is_empty()
            || (self.ac.is_some() && self.kw_pair(first, value.get(1).copied().unwrap_or(b' ')))
        {
            return false;
        }
        if value.len() < self.number_min_digits {
            return true;
        }
        let Some(screen) = &self.number_screen else {
            return false;
        };
        let unscreened_miss = |&d: &u16| {
            let det = &self.detectors[d as usize];
            let input = regex_automata::Input::new(value).anchored(regex_automata::Anchored::Yes);
            det.min_digits > value.len()
                || det
                    .fast
                    .as_ref()
                    .is_some_and(|dfa| matches!(dfa.try_search_fwd(&input), Ok(None)))
        };
        screen.matching(value, 0, value.len()) == 0 && self.unscreened.iter().all(unscreened_miss)
    }

    /// Whether a keyword may start with bytes `a`, `b`.
    #[inline]
    pub fn kw_pair(&self, a: u8, b: u8) -> bool {
        let i = pair_index(a, b);
        self.kw_pairs[i >> 6] & (1 << (i & 63)) != 0
    }

    pub fn detectors(&self) -> &[Detector] {
        &self.detectors
    }

    pub fn kind(&self, k: Kind) -> &[u16] {
        &self.by_kind[k as usize]
    }

    /// What a JSON field name (last path segment) brings into context:
    /// borrowed unless glob fields add to it (no allocation per value).
    pub fn field_ctx(&self, key: &str) -> Cow<'_, FieldCtx> {
        static NONE: FieldCtx = FieldCtx {
            context_ok: Vec::new(),
            whole: None,
        };
        let mut ctx = Cow::Borrowed(self.field_exact.get(key).unwrap_or(&NONE));
        for (glob, det, whole) in &self.field_globs {
            if glob_match(glob, key) {
                add_field(ctx.to_mut(), *det, *whole);
            }
        }
        ctx
    }
}

/// The screen over the numeric detectors that can start at a digit run
/// (digit, `+` or `(`; the others never pass the first-byte check there),
/// each by its pattern or a leading part of it (see
/// [`screen::screen_pattern`]), and those for which nothing fits: these are
/// searched at every digit run.
fn number_screen(detectors: &[Detector], numeric: &[u16]) -> (Option<Screen>, Vec<u16>) {
    let starts_at_digit = |det: &Detector| {
        det.first[b'0' as usize..=b'9' as usize].contains(&true)
            || det.first[b'+' as usize]
            || det.first[b'(' as usize]
    };
    let (mut screened, mut unscreened) = (Vec::new(), Vec::new());
    for &d in numeric {
        let det = &detectors[d as usize];
        if !starts_at_digit(det) {
            continue;
        }
        match screen::screen_pattern(&det.pattern) {
            Some(p) => screened.push((d, p)),
            None => unscreened.push(d),
        }
    }
    let screened: Vec<(u16, &str)> = screened.iter().map(|(d, p)| (*d, p.as_str())).collect();
    match Screen::build(&screened, screen::SCREEN_LIMIT) {
        Some(s) => (Some(s), unscreened),
        None => (None, Vec::new()),
    }
}

fn add_field(ctx: &mut FieldCtx, det: u16, whole: bool) {
    if whole {
        ctx.whole = Some(ctx.whole.map_or(det, |d| d.min(det)));
    } else if !ctx.context_ok.contains(&det) {
        ctx.context_ok.push(det);
    }
}

fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.len() >= head.len() + tail.len() && text.starts_with(head) && text.ends_with(tail)
        }
    }
}

/// Longest e-mail local part the engine walks back over from an `@`.
pub(crate) const EMAIL_LOCAL_MAX: usize = 64;

fn pair_index(a: u8, b: u8) -> usize {
    (usize::from(a.to_ascii_lowercase()) << 8) | usize::from(b.to_ascii_lowercase())
}

fn build_keywords(detectors: &[Detector]) -> (Vec<Keyword>, Option<DFA>, Vec<u64>) {
    let mut index: HashMap<Vec<u8>, usize> = HashMap::default();
    let mut keywords: Vec<Keyword> = Vec::new();
    let mut patterns: Vec<Vec<u8>> = Vec::new();
    let mut add = |word: &str, exact: bool, det: u16, role: fn(&mut Keyword) -> &mut Vec<u16>| {
        let bytes = word.as_bytes().to_vec();
        if bytes.is_empty() {
            return;
        }
        let key = if exact {
            [b"\x00".as_slice(), &bytes].concat()
        } else {
            bytes.to_ascii_lowercase()
        };
        let i = *index.entry(key).or_insert_with(|| {
            patterns.push(bytes.clone());
            keywords.push(Keyword {
                len: bytes.len(),
                exact: exact.then(|| bytes.clone()),
                whole_word: !exact,
                ..Keyword::default()
            });
            keywords.len() - 1
        });
        let list = role(&mut keywords[i]);
        if !list.contains(&det) {
            list.push(det);
        }
    };
    for (i, d) in detectors.iter().enumerate() {
        let i = i as u16;
        for w in &d.context {
            add(w, false, i, |k| &mut k.context_for);
        }
        for w in &d.negative_context {
            add(w, false, i, |k| &mut k.negative_for);
        }
        for w in &d.triggers {
            add(w, false, i, |k| &mut k.trigger_for);
        }
        for w in &d.prefixes {
            add(w, true, i, |k| &mut k.prefix_for);
        }
    }
    let mut pairs = vec![0u64; 1024];
    for p in &patterns {
        let seconds: Vec<u8> = match p.get(1) {
            Some(&b) => vec![b],
            None => (0..=255).collect(),
        };
        for b in seconds {
            let i = pair_index(p[0], b);
            pairs[i >> 6] |= 1 << (i & 63);
        }
    }
    if patterns.is_empty() {
        return (keywords, None, pairs);
    }
    // Anchored: the scanner runs the automaton only at word starts, where
    // it dies after a byte or two unless a keyword really begins there. That
    // is much cheaper than a transition per byte over the whole body.
    let dfa = DFA::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .start_kind(aho_corasick::StartKind::Anchored)
        .build(&patterns)
        .ok();
    (keywords, dfa, pairs)
}
