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
use super::detect::word_end_pairs::WordEndPairs;
use super::detect::{Detector, Kind};
use super::ruleset::Settings;
use super::scanner::{digit_gate, escaped_somewhere};
use super::screen::{self, Screen};

/// Byte classes of the candidate pass.
pub(crate) const C_DIGIT: u8 = 1;
pub(crate) const C_SIGN: u8 = 2;
pub(crate) const C_AT: u8 = 4;
pub(crate) const C_UPPER: u8 = 8;
pub(crate) const C_HIGH: u8 = 16;
/// A colon: an IPv6 address starts at it (`::1`) or at most four hex
/// digits before it. Looking back from the colon is cheaper than looking
/// ahead from every word that starts with `a`–`f`.
pub(crate) const C_COLON: u8 = 64;
/// Bit of [`Engine::byte_info`] marking word bytes (letters, digits, UTF-8).
pub(crate) const IS_WORD: u8 = 0x80;
/// Bit of [`Engine::byte_info`] marking the word bytes some keyword starts
/// with: the other word starts (every number, for one) skip the keyword
/// filter.
pub(crate) const KW_START: u8 = 0x20;

/// What a keyword-automaton pattern means, per detector index.
#[derive(Debug, Default, Clone)]
pub(crate) struct Keyword {
    pub len: usize,
    /// Case-sensitive literal to verify (prefixes only).
    pub exact: Option<Vec<u8>>,
    pub context_for: DetectorSet,
    pub negative_for: DetectorSet,
    pub trigger_for: Vec<u16>,
    pub prefix_for: Vec<u16>,
    /// Whether the word must stand alone (not inside a longer word).
    pub whole_word: bool,
}

/// A set of detector indices, as bits. Context lists are asked about the
/// detector at hand for every candidate (about three times per candidate on
/// ticket JSON), where a linear search of a list cost more than the rest of
/// the context check. The bits grow with the highest member, so any number
/// of detectors fits.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct DetectorSet {
    words: Vec<u64>,
}

impl DetectorSet {
    pub const fn new() -> Self {
        DetectorSet { words: Vec::new() }
    }

    pub fn insert(&mut self, d: u16) {
        let (word, bit) = (d as usize / 64, d % 64);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        self.words[word] |= 1 << bit;
    }

    pub fn contains(&self, d: u16) -> bool {
        self.words
            .get(d as usize / 64)
            .is_some_and(|w| w >> (d % 64) & 1 != 0)
    }

    /// Only `insert` adds words, and it sets a bit in each it adds.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Members in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.words.len() * 64)
            .filter(|&d| self.words[d / 64] >> (d % 64) & 1 != 0)
            .map(|d| d as u16)
    }
}

impl Clone for DetectorSet {
    fn clone(&self) -> Self {
        DetectorSet {
            words: self.words.clone(),
        }
    }

    /// Keeps the allocation: the scanner sets its field context per value.
    fn clone_from(&mut self, source: &Self) {
        self.words.clone_from(&source.words);
    }
}

/// Which detectors a JSON field name brings into context.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FieldCtx {
    /// Detectors whose context requirement the field satisfies.
    pub context_ok: DetectorSet,
    /// A detector whose kind of data the whole value is.
    pub whole: Option<u16>,
}

/// Immutable, shareable engine built from detectors.
#[derive(Debug)]
pub(crate) struct Engine {
    pub detectors: Vec<Detector>,
    pub value_groups: Vec<Option<usize>>,
    /// Per detector: whether any keyword is a context or negative word for
    /// it. Without one, no hit can decide its context.
    pub context_words: Vec<bool>,
    /// Per detector: whether its context is checked before its search (see
    /// [`context_first`]).
    pub context_first: Vec<bool>,
    pub keywords: Vec<Keyword>,
    pub ac: Option<DFA>,
    /// Where a keyword may begin: the automaton only starts at a word
    /// whose first bytes pass this filter.
    pub kw_starts: KeywordStarts,
    /// Per byte: [`IS_WORD`], [`KW_START`] and the candidate classes it
    /// can start.
    pub byte_info: [u8; 256],
    /// Detector indices per kind, indexed by `Kind as usize` (no hashing
    /// on the candidate path).
    by_kind: [Vec<u16>; Kind::COUNT],
    /// Number then postal detectors: what a digit-run candidate tries.
    pub numeric: Vec<u16>,
    /// One walk over a digit run telling which of `numeric` can match there.
    pub number_screen: Option<Screen>,
    /// Numeric detectors the screen leaves out (see [`number_screen`]):
    /// searched at every digit run with enough digits.
    pub unscreened: Vec<u16>,
    /// The members of `number_screen` (one bit each) it screens by their
    /// digit minimum (see [`digit_gate`]): that such a member passed means
    /// the run has the digits it needs.
    pub digit_gated: u64,
    pub number_min_digits: usize,
    /// The filter on the last two letters of a capitalised word followed
    /// by a number, in front of the postal detectors that can start at it
    /// (see [`WordEndPairs`]); `None` if one of them has no such filter.
    pub postal_word_ends: Option<WordEndPairs>,
    /// [`Engine::digits_inert`] of every string of one to three digits,
    /// numbered by [`short_digits_index`]: JSON bodies are full of small
    /// numbers (status, priority, counts), and the verdict depends on the
    /// digits alone.
    short_inert: Vec<bool>,
    pub gazetteer: Gazetteer,
    pub renderer: Renderer,
    /// Per detector: its mask placeholder, rendered once (a placeholder
    /// does not depend on the value).
    pub placeholders: Vec<Box<str>>,
    /// Per detector: whether its placeholder has no byte any encoding
    /// escapes, so it is copied without a per-byte check.
    pub plain_placeholders: Vec<bool>,
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
        let (number_screen, unscreened, digit_gated) =
            number_screen(&detectors, &numeric, settings.max_token);
        let (keywords, ac, kw_starts) = build_keywords(&detectors);
        let renderer = Renderer::new(&settings.mask_template, &settings.hash_template);
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
            class[b':' as usize] |= C_COLON;
        }
        for (b, c) in class.iter_mut().enumerate() {
            if is_word(b as u8) {
                *c |= IS_WORD;
                if ac.is_some() && kw_starts.may_begin_with(b as u8) {
                    *c |= KW_START;
                }
            }
        }
        let postal_word_ends =
            postal_word_ends(&detectors, &by_kind[Kind::Postal as usize], &class);
        let number_min_digits = detectors
            .iter()
            .filter(|d| matches!(d.kind, Kind::Number | Kind::Postal))
            .map(|d| d.min_digits)
            .min()
            .unwrap_or(usize::MAX);
        let value_groups: Vec<Option<usize>> =
            detectors.iter().map(Detector::value_group).collect();
        let mut context_words = vec![false; detectors.len()];
        for k in &keywords {
            for d in k.context_for.iter().chain(k.negative_for.iter()) {
                context_words[d as usize] = true;
            }
        }
        let context_first = detectors
            .iter()
            .zip(&value_groups)
            .map(|(d, group)| context_first(d, *group, settings.max_token))
            .collect();
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
        let placeholders: Vec<Box<str>> = detectors
            .iter()
            .map(|d| renderer.mask(&d.id).into())
            .collect();
        let mut engine = Engine {
            value_groups,
            context_words,
            context_first,
            keywords,
            ac,
            kw_starts,
            byte_info: class,
            by_kind,
            numeric,
            number_screen,
            unscreened,
            digit_gated,
            number_min_digits,
            postal_word_ends,
            gazetteer,
            plain_placeholders: placeholders
                .iter()
                .map(|p| !p.bytes().any(escaped_somewhere))
                .collect(),
            placeholders,
            renderer,
            max_token: settings.max_token,
            window: settings.context_window,
            max_window,
            back_reach,
            field_exact,
            field_globs,
            detectors,
            short_inert: Vec::new(),
        };
        engine.short_inert = (0..SHORT_DIGITS)
            .map(|k| engine.digits_inert_computed(&short_digits(k)))
            .collect();
        engine
    }

    /// Whether a value made only of ASCII digits (a JSON number: ids,
    /// counts, timestamps) can hold no finding: no `scan` detector, no
    /// keyword or prefix starts with it, and the number screen rules out
    /// every detector that can start at a digit. The JSON rewriter then
    /// passes it without starting the scanner.
    pub fn digits_inert(&self, value: &[u8]) -> bool {
        match short_digits_index(value) {
            Some(k) => self.short_inert[k],
            None => self.digits_inert_computed(value),
        }
    }

    /// [`Self::digits_inert`], computed rather than looked up.
    fn digits_inert_computed(&self, value: &[u8]) -> bool {
        let at = |i: usize| value.get(i).copied().unwrap_or(b' ');
        if value.is_empty()
            || !value.iter().all(u8::is_ascii_digit)
            || value.len() >= self.max_token
            || !self.kind(Kind::Scan).is_empty()
            || (self.ac.is_some() && self.kw_starts.may_start(value[0], at(1), at(2)))
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
                    .is_some_and(|fast| matches!(fast.dfa.try_search_fwd(&input), Ok(None)))
        };
        // A detector needing more digits than the number has is never tried
        // on it (see the scanner's `try_number`): a 4-digit id passes even
        // where a screen by a leading part (`[0-9]{1,5}`) lets it through.
        let mask = screen.matching(value, 0, value.len());
        screen
            .members_of(mask)
            .all(|d| self.detectors[d as usize].min_digits > value.len())
            && self.unscreened.iter().all(unscreened_miss)
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
            context_ok: DetectorSet::new(),
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

/// The union of the [`WordEndPairs`] of the postal detectors that can
/// start at a capitalised word (a byte of class [`C_UPPER`] or [`C_HIGH`]
/// in `class`): the scanner queues such a word as a postal candidate only
/// if its last two letters pass. `None` if one of them has no filter.
fn postal_word_ends(
    detectors: &[Detector],
    postal: &[u16],
    class: &[u8; 256],
) -> Option<WordEndPairs> {
    let mut union = WordEndPairs::empty();
    for &d in postal {
        let det = &detectors[d as usize];
        let at_words = (0..256).any(|b| class[b] & (C_UPPER | C_HIGH) != 0 && det.first[b]);
        if at_words {
            union.add(&WordEndPairs::of(det.fast.as_ref()?)?);
        }
    }
    Some(union)
}

/// Whether the scanner may check `det`'s context before searching its
/// pattern, and skip the search when context rules it out (a phone number
/// after "ordernummer"). The outcome is the same as checking after the
/// search only when
/// - the value starts where the match does (no `value` group), since
///   context is judged at the value's start, and the anchored match starts
///   at the candidate;
/// - no match can be `max_token` bytes long (a bounded pattern, shorter):
///   such a match raises [`super::error::RedactError::TokenTooLong`], which
///   a skipped search would not;
/// - context can rule it out at all (required, or negative words): else
///   the early check would only cost a look-up.
fn context_first(det: &Detector, value_group: Option<usize>, max_token: usize) -> bool {
    value_group.is_none()
        && (det.require_context || !det.negative_context.is_empty())
        && shorter_than(det, max_token)
}

/// Whether every match of `det` is shorter than `max_token` bytes, so that
/// a search for it never raises [`super::error::RedactError::TokenTooLong`]
/// and skipping one that finds nothing changes nothing.
fn shorter_than(det: &Detector, max_token: usize) -> bool {
    screen::byte_hir(&det.pattern)
        .and_then(|hir| hir.properties().maximum_len())
        .is_some_and(|len| len < max_token)
}

/// The screen over the numeric detectors that can start at a digit run
/// (digit, `+` or `(`; the others never pass the first-byte check there),
/// the detectors it leaves out, and which of its members (one bit each) it
/// screens by their digit minimum.
///
/// A detector is screened by its pattern or a leading part of it (see
/// [`screen::screen_pattern`]). Where nothing fits, or the part lets every
/// digit through (the phone number's `[0-9]{1,5}`), it is screened by its
/// digit minimum instead (see [`digit_gate`]): it is tried only at runs
/// with that many digits anyway, and the screen then turns most runs away
/// before their digits are counted. Where its validator accepts no value
/// with fewer digits, its matches end at a word boundary and none reaches
/// `max_token` (no search of it can fail), the gate (which ends with a
/// digit) goes on to that boundary (see [`screen::boundary_tail`]): a
/// value is a run of the pattern's bytes holding the gate's digits, and a
/// match that ends earlier (`2024-05` of `2024-05-01T10:30`) would be
/// rejected anyway. Left out, and searched at every run with enough
/// digits, are those without a usable minimum.
fn number_screen(
    detectors: &[Detector],
    numeric: &[u16],
    max_token: usize,
) -> (Option<Screen>, Vec<u16>, u64) {
    let starts_at_digit = |det: &Detector| {
        det.first[b'0' as usize..=b'9' as usize].contains(&true)
            || det.first[b'+' as usize]
            || det.first[b'(' as usize]
    };
    let (mut screened, mut unscreened, mut gated) = (Vec::new(), Vec::new(), 0u64);
    for &d in numeric {
        let det = &detectors[d as usize];
        if !starts_at_digit(det) {
            continue;
        }
        let own = screen::screen_pattern(&det.pattern).filter(|p| !screen::passes_every_digit(p));
        if let Some(p) = own {
            screened.push((d, p));
        } else if let Some(gate) = digit_gate(det.min_digits) {
            gated |= 1u64.checked_shl(screened.len() as u32).unwrap_or(0);
            let tail = (det.min_value_digits >= det.min_digits && shorter_than(det, max_token))
                .then(|| screen::boundary_tail(&det.pattern))
                .flatten();
            screened.push((d, gate + tail.as_deref().unwrap_or("")));
        } else {
            unscreened.push(d);
        }
    }
    let screened: Vec<(u16, &str)> = screened.iter().map(|(d, p)| (*d, p.as_str())).collect();
    match Screen::build(&screened, screen::SCREEN_LIMIT) {
        Some(s) => (Some(s), unscreened, gated),
        None => (None, Vec::new(), 0),
    }
}

fn add_field(ctx: &mut FieldCtx, det: u16, whole: bool) {
    if whole {
        ctx.whole = Some(ctx.whole.map_or(det, |d| d.min(det)));
    } else {
        ctx.context_ok.insert(det);
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

/// A filter on the first bytes of the keywords: a bit
/// per first-two-bytes pair of every keyword, a bit per pair that is a
/// whole keyword or its start, and a hashed bit per first three bytes of
/// the longer ones. Words starting with a common pair ("th", "de", "vi")
/// but no keyword's first three bytes are passed over without starting the
/// automaton. A whole-word keyword of one or two letters counts only where
/// the word ends with it, so "v" and "hi" do not let "vises" or "hilsen"
/// through. Sound: every keyword occurrence the scanner would accept
/// passes (a hash collision only lets more through). Indexed by raw
/// bytes, with a bit set for every ASCII case variant of a keyword's
/// bytes: the scanner asks at every word start, and then folds nothing.
#[derive(Debug, Clone)]
pub(crate) struct KeywordStarts {
    /// Two bits per pair, side by side so one load answers both: whether
    /// a keyword starts with the pair ([`Self::PAIR`]), and whether the
    /// pair settles it without the third byte ([`Self::SHORT`]).
    pairs: Box<PairBits>,
    triples: Box<Bits>,
}

/// 2^16 two-bit entries: indexed by a `u16` pair, so lookups need no
/// bounds checks.
type PairBits = [u64; 1 << 11];

/// 2^16 bits: indexed by a `u16`, so lookups need no bounds checks.
type Bits = [u64; 1 << 10];

impl KeywordStarts {
    /// From the keywords and whether each must stand as a whole word.
    fn new(patterns: &[(Vec<u8>, bool)]) -> Self {
        let mut f = KeywordStarts {
            pairs: Box::new([0; 1 << 11]),
            triples: Box::new([0; 1 << 10]),
        };
        for (p, whole_word) in patterns {
            // The bytes that may follow the keyword where it is accepted:
            // a whole word ending in a word byte needs a non-word byte next.
            let ends = |last: u8| *whole_word && is_word(last);
            let may_follow = |last: u8| (0..=255u8).filter(move |&n| !ends(last) || !is_word(n));
            match p.as_slice() {
                [a] => {
                    for a in case_variants(*a) {
                        may_follow(a).for_each(|b| f.set_pair(pair_index(a, b), Self::SHORT));
                    }
                }
                [a, b] if ends(*b) => {
                    for pair in pair_variants(*a, *b) {
                        f.set_pair(pair, Self::PAIR);
                        may_follow(*b)
                            .for_each(|c| set(&mut f.triples, Self::triple_index(pair, c)));
                    }
                }
                [a, b] => {
                    for pair in pair_variants(*a, *b) {
                        f.set_pair(pair, Self::SHORT);
                    }
                }
                [a, b, c, ..] => {
                    for pair in pair_variants(*a, *b) {
                        f.set_pair(pair, Self::PAIR);
                        for c in case_variants(*c) {
                            set(&mut f.triples, Self::triple_index(pair, c));
                        }
                    }
                }
                [] => {}
            }
        }
        f
    }

    /// A pair's bit: some keyword starts with it.
    const PAIR: u64 = 1;
    /// A pair's bit: a keyword starts with it whatever byte follows (it
    /// is the whole keyword, or all of it the filter looks at). Set with
    /// [`Self::PAIR`].
    const SHORT: u64 = 2 | Self::PAIR;

    fn set_pair(&mut self, pair: u16, bits: u64) {
        self.pairs[usize::from(pair >> 5)] |= bits << ((pair & 31) * 2);
    }

    /// The two bits of `pair`.
    #[inline(always)]
    fn pair_bits(&self, pair: u16) -> u64 {
        self.pairs[usize::from(pair >> 5)] >> ((pair & 31) * 2) & 3
    }

    fn triple_index(pair: u16, c: u8) -> u16 {
        let h = u32::from(pair).wrapping_mul(0x9E37_79B1) ^ u32::from(c).wrapping_mul(0x85EB_CA77);
        (h >> 16) as u16
    }

    /// Whether a keyword may begin with byte `a` at all: some pair of
    /// `a` and a byte after it is set.
    pub fn may_begin_with(&self, a: u8) -> bool {
        let at = usize::from(a) << 3;
        self.pairs[at..at + 8].iter().any(|&bits| bits != 0)
    }

    /// Whether a keyword may begin with bytes `a`, `b`, `c` (past the end
    /// of a value, pass spaces).
    #[inline(always)]
    pub fn may_start(&self, a: u8, b: u8, c: u8) -> bool {
        let pair = pair_index(a, b);
        match self.pair_bits(pair) {
            0 => false,
            Self::SHORT => true,
            _ => get(&self.triples, Self::triple_index(pair, c)),
        }
    }
}

/// Letters, digits and UTF-8 bytes: the word bytes of word starts and
/// boundaries (the scanner, keyword starts, keyword rules).
pub(crate) fn is_word(b: u8) -> bool {
    WORD_BYTES[usize::from(b)]
}

/// [`is_word`] as a table: one load where keyword hits check their word
/// boundaries, instead of three range tests.
const WORD_BYTES: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b >= 0x80;
        b += 1;
    }
    t
};

fn set(bits: &mut Bits, i: u16) {
    bits[usize::from(i >> 6)] |= 1 << (i & 63);
}

#[inline(always)]
fn get(bits: &Bits, i: u16) -> bool {
    bits[usize::from(i >> 6)] & (1 << (i & 63)) != 0
}

fn pair_index(a: u8, b: u8) -> u16 {
    u16::from_be_bytes([a, b])
}

/// The bytes equal to `b` up to ASCII case (`b` itself, and its other
/// case if it is a letter): the keyword automaton folds ASCII case.
fn case_variants(b: u8) -> impl Iterator<Item = u8> + Clone {
    (0..=255u8).filter(move |x| x.eq_ignore_ascii_case(&b))
}

/// The pair indices of `a`, `b` in every ASCII case.
fn pair_variants(a: u8, b: u8) -> impl Iterator<Item = u16> {
    case_variants(a).flat_map(move |a| case_variants(b).map(move |b| pair_index(a, b)))
}

fn build_keywords(detectors: &[Detector]) -> (Vec<Keyword>, Option<DFA>, KeywordStarts) {
    let mut index: HashMap<Vec<u8>, usize> = HashMap::default();
    let mut keywords: Vec<Keyword> = Vec::new();
    let mut patterns: Vec<(Vec<u8>, bool)> = Vec::new();
    let mut add = |word: &str, exact: bool, det: u16, role: fn(&mut Keyword, u16)| {
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
            patterns.push((bytes.clone(), !exact));
            keywords.push(Keyword {
                len: bytes.len(),
                exact: exact.then(|| bytes.clone()),
                whole_word: !exact,
                ..Keyword::default()
            });
            keywords.len() - 1
        });
        role(&mut keywords[i], det);
    };
    fn push_new(list: &mut Vec<u16>, det: u16) {
        if !list.contains(&det) {
            list.push(det);
        }
    }
    for (i, d) in detectors.iter().enumerate() {
        let i = i as u16;
        for w in &d.context {
            add(w, false, i, |k, d| k.context_for.insert(d));
        }
        for w in &d.negative_context {
            add(w, false, i, |k, d| k.negative_for.insert(d));
        }
        for w in &d.triggers {
            add(w, false, i, |k, d| push_new(&mut k.trigger_for, d));
        }
        for w in &d.prefixes {
            add(w, true, i, |k, d| push_new(&mut k.prefix_for, d));
        }
    }
    let starts = KeywordStarts::new(&patterns);
    if patterns.is_empty() {
        return (keywords, None, starts);
    }
    let patterns: Vec<&[u8]> = patterns.iter().map(|(p, _)| p.as_slice()).collect();
    // Anchored: the scanner runs the automaton only at word starts, where
    // it dies after a byte or two unless a keyword really begins there. That
    // is much cheaper than a transition per byte over the whole body.
    let dfa = DFA::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .start_kind(aho_corasick::StartKind::Anchored)
        .build(&patterns)
        .ok();
    (keywords, dfa, starts)
}

/// How many strings of one to three digits there are.
const SHORT_DIGITS: usize = 10 + 100 + 1000;

/// The number of a string of one to three ASCII digits: `0`..`9` are 0..10,
/// `00`..`99` 10..110, `000`..`999` 110..1110.
fn short_digits_index(value: &[u8]) -> Option<usize> {
    let base = match value.len() {
        1 => 0,
        2 => 10,
        3 => 110,
        _ => return None,
    };
    let mut n = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + usize::from(b - b'0');
    }
    Some(base + n)
}

/// The string numbered `k` by [`short_digits_index`].
fn short_digits(k: usize) -> Vec<u8> {
    let (width, n) = match k {
        0..10 => (1, k),
        10..110 => (2, k - 10),
        _ => (3, k - 110),
    };
    format!("{n:0width$}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::{short_digits, short_digits_index, DetectorSet, KeywordStarts, SHORT_DIGITS};
    use crate::core::ruleset::{RuleSource, Ruleset};
    use crate::core::test_rng::xorshift;

    /// The bit set answers as the plain list it replaced would, for sets
    /// past one word of bits (operator rule sets with many detectors).
    #[test]
    fn detector_set_agrees_with_a_list() {
        let mut seed = 0x9e37_79b9_u64;
        for round in 0..200 {
            let mut set = DetectorSet::new();
            let mut list: Vec<u16> = Vec::new();
            let span = [3, 64, 65, 130, 1000][round % 5];
            for _ in 0..round % 17 {
                xorshift(&mut seed);
                let d = (seed >> 8) as u16 % span;
                set.insert(d);
                if !list.contains(&d) {
                    list.push(d);
                }
            }
            for d in 0..span + 70 {
                assert_eq!(set.contains(d), list.contains(&d), "{list:?} {d}");
            }
            list.sort_unstable();
            assert_eq!(set.iter().collect::<Vec<_>>(), list);
            assert_eq!(set.is_empty(), list.is_empty());
            let mut copy = DetectorSet::new();
            copy.insert(999);
            copy.clone_from(&set);
            assert_eq!(copy, set);
        }
    }

    /// The table of short numbers answers as the computation, for every
    /// string of one to three digits, with rules under which some of them
    /// can hold a finding (a short number detector, a keyword starting
    /// with digits) and others cannot.
    #[test]
    fn short_digit_verdicts_agree_with_the_computation() {
        let text = r#"
[[detector]]
id = "t.short"
description = "d"
kind = "number"
pattern = '[2-4][0-9]{1,2}'
min_digits = 2
action = "mask"
must_match = ["42"]

[[detector]]
id = "t.keyword"
description = "d"
kind = "keyword"
triggers = ["911 "]
pattern = '[0-9]{4}'
action = "mask"
must_match = ["911 1234"]
"#;
        let source = RuleSource {
            path: "t.toml".into(),
            text: text.into(),
        };
        let engine = Ruleset::compile(&[source]).expect("compiles").engine;
        let mut verdicts = [0; 2];
        for k in 0..SHORT_DIGITS {
            let digits = short_digits(k);
            assert_eq!(short_digits_index(&digits), Some(k));
            let inert = engine.digits_inert(&digits);
            assert_eq!(inert, engine.digits_inert_computed(&digits), "{digits:?}");
            verdicts[usize::from(inert)] += 1;
        }
        assert!(verdicts[0] > 0 && verdicts[1] > 0, "{verdicts:?}");
        for other in [&b""[..], b"1234", b"1a", b"-1", b" 1"] {
            assert_eq!(short_digits_index(other), None);
        }
    }

    #[test]
    fn context_goes_first_only_where_it_cannot_change_the_outcome() {
        let rule = |id: &str, pattern: &str, negative: &str| {
            let example = "1".repeat(if id == "t.window-long" { 64 } else { 8 });
            format!(
                r#"
[[detector]]
id = "{id}"
description = "d"
kind = "number"
pattern = '{pattern}'
negative_context = [{negative}]
action = "mask"
must_match = ["{example}"]
"#
            )
        };
        let text = [
            "[settings]\nmax_token = 64\n".to_string(),
            rule("t.bounded", "[0-9]{8}", r#""order""#),
            rule("t.no-negative", "[0-9]{8}", ""),
            rule("t.unbounded", "[0-9]+", r#""order""#),
            rule("t.window-long", "[0-9]{64}", r#""order""#),
            rule("t.value", "(?P<value>[0-9]{8})", r#""order""#),
        ]
        .concat();
        let source = RuleSource {
            path: "t.toml".into(),
            text,
        };
        let rules = Ruleset::compile(&[source]).expect("compiles");
        let first: Vec<(&str, bool)> = rules
            .engine
            .detectors
            .iter()
            .zip(&rules.engine.context_first)
            .map(|(d, &first)| (&*d.id, first))
            .collect();
        assert_eq!(
            first,
            [
                ("t.bounded", true),
                ("t.no-negative", false),
                ("t.unbounded", false),
                ("t.window-long", false),
                ("t.value", false),
            ]
        );
    }

    #[test]
    fn keyword_starts_pass_every_keyword_in_any_ascii_case() {
        let words = [
            "v",
            "hi",
            "kr",
            "hilsen",
            "telefon",
            "eyJ",
            "Ärende",
            "my password is",
        ];
        let f = KeywordStarts::new(&words.map(|w| (w.as_bytes().to_vec(), w != "eyJ")));
        let at = |w: &[u8], i: usize| w.get(i).copied().unwrap_or(b' ');
        for w in words {
            for w in [
                w.to_string(),
                w.to_ascii_uppercase(),
                w.to_ascii_lowercase(),
            ] {
                let b = w.as_bytes();
                assert!(f.may_start(b[0], at(b, 1), at(b, 2)), "{w}");
            }
        }
        // A one- or two-letter whole word passes where the word ends with
        // it, not at the start of a longer word ("vises", "hix"), unless a
        // longer keyword starts that way ("hilsen").
        assert!(f.may_start(b'v', b',', b'x'));
        assert!(f.may_start(b'h', b'i', b'.'));
        assert!(!f.may_start(b'v', b'i', b's'));
        assert!(!f.may_start(b'h', b'i', b'x'));
        assert!(f.may_start(b'h', b'i', b'l'));
        // No keyword starts with "th" or "de"; "tex" shares only "te".
        assert!(!f.may_start(b't', b'h', b'e'));
        assert!(!f.may_start(b'd', b'e', b'n'));
        assert!(!f.may_start(b't', b'e', b'x'));
        assert!(!f.may_start(b'e', b'y', b'e'));
    }

    /// The first-byte test the byte table carries ([`super::KW_START`])
    /// passes every byte the three-byte filter can pass, and turns away
    /// bytes no keyword starts with.
    #[test]
    fn keyword_first_bytes_cover_the_keyword_starts() {
        let keywords: [(&[u8], bool); 5] = [
            (b"v", true),
            (b"hi", true),
            (b"\xC3\x84rende", true),
            (b"eyJ", false),
            (b"my password is", true),
        ];
        let f = KeywordStarts::new(&keywords.map(|(k, w)| (k.to_vec(), w)));
        for a in 0..=255u8 {
            let any = (0..=255u8).any(|b| {
                [b' ', b'a', b'l', b'J']
                    .iter()
                    .any(|&c| f.may_start(a, b, c))
            });
            assert!(!any || f.may_begin_with(a), "{a:#x}");
        }
        for a in [b'v', b'V', b'h', b'H', 0xC3, b'e', b'm', b'M'] {
            assert!(f.may_begin_with(a), "{a:#x}");
        }
        for a in [b'1', b'a', b'x', b'E' + 1, b' '] {
            assert!(!f.may_begin_with(a), "{a:#x}");
        }
    }

    /// The filter never drops a word start where the scanner would accept
    /// a keyword: checked against the general rule (keyword matches case
    /// folded at the start; a whole word ending in a word byte is followed
    /// by a non-word byte) on every three-byte start over a small alphabet.
    #[test]
    fn keyword_starts_pass_every_accepted_hit() {
        let keywords: [(&[u8], bool); 7] = [
            (b"v", true),
            (b"hi", true),
            (b"a-", true),
            (b"k", false),
            (b"ab", false),
            (b"vid", true),
            (b"b.c", true),
        ];
        let f = KeywordStarts::new(&keywords.map(|(k, w)| (k.to_vec(), w)));
        let alphabet = b"vViIhHdDaAbBkKcx-. \xC3";
        for &a in alphabet {
            for &b in alphabet {
                for &c in alphabet {
                    let text = [a, b, c];
                    let next = |i: usize| text.get(i).copied().unwrap_or(b' ');
                    let accepted = keywords.iter().any(|&(k, whole)| {
                        let n = k.len();
                        text[..n].eq_ignore_ascii_case(k)
                            && !(whole && super::is_word(k[n - 1]) && super::is_word(next(n)))
                    });
                    if accepted {
                        assert!(f.may_start(a, b, c), "{:?}", String::from_utf8_lossy(&text));
                    }
                }
            }
        }
    }
}
