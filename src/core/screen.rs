//! A screen over the detectors tried at one kind of candidate.
//!
//! A digit run in a ticket is tried against a dozen number detectors
//! (national IDs, cards, phones, IP addresses, postcodes), and nearly every
//! digit run (an order number, an amount, a date) matches none of them.
//! Searching each detector's DFA in turn costs a start-state lookup and a
//! search per detector; the screen is one anchored multi-pattern DFA with
//! [`MatchKind::All`] semantics that walks the bytes once and answers
//! "which of these detectors can match here at all". Only those are then
//! searched with their own leftmost-first DFA, so results are exactly what
//! trying every detector would give: the screen never drops a match (every
//! anchored match of a pattern is also reported by the all-matches DFA), it
//! only skips searches that cannot succeed.

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::util::primitives::StateID;
use regex_automata::util::syntax;
use regex_automata::MatchKind;
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, Hir, HirKind, Look, Repetition};

use super::detect::StartStates;

/// One DFA over up to 64 detector patterns; pattern `i` is `members[i]`.
#[derive(Debug)]
pub(crate) struct Screen {
    dfa: dense::DFA<Vec<u32>>,
    /// Detector indices, in pattern order.
    pub members: Vec<u16>,
    /// Per state (by index): the members that match in it, so the walk
    /// reads one word at a match state instead of listing its patterns.
    matches: Vec<u64>,
    /// The anchored start states by the byte before the candidate.
    starts: StartStates,
    /// [`StartStates::fixed`]: where no member starts with a look-behind
    /// assertion (as no number detector does), the walk does not even look
    /// at the byte before, a third of a short walk.
    start: Option<StateID>,
}

/// Largest screen DFA for a single pattern. Patterns with large Unicode
/// classes (`\p{Lu}\p{Ll}+` after a postcode) or long repetitions (phone
/// numbers) blow up under all-matches semantics: determinizing them costs
/// more at every rule (re)load than the screen saves, so they are screened
/// by a smaller superset (see [`screen_pattern`]) or searched on their own.
/// 32 KiB lets the English street address (house number first) be screened
/// by its relaxed form (21 KiB); at 16 KiB only its house number was, and it
/// was searched at nearly every small number.
pub(crate) const MEMBER_LIMIT: usize = 32 << 10;
/// Largest screen DFA over all members.
pub(crate) const SCREEN_LIMIT: usize = 1 << 20;

/// The pattern a detector is screened with, the first that fits in
/// [`MEMBER_LIMIT`]: the pattern itself; its relaxed form (see [`relax`]);
/// the longest leading part of it (its top-level sequence cut short,
/// capture groups seen through). Each is a sound screen: it matches
/// everything the pattern matches (the part: a prefix of every anchored
/// match), so nothing is missed; the detector's own search then decides.
/// `None` when nothing fits.
pub(crate) fn screen_pattern(pattern: &str) -> Option<String> {
    let fits = |p: &str| Screen::build(&[(0, p)], MEMBER_LIMIT).is_some();
    if fits(pattern) {
        return Some(pattern.to_string());
    }
    let hir = byte_hir(pattern)?;
    let relaxed = relax(&hir, &any_non_ascii()?).to_string();
    if fits(&relaxed) {
        return Some(relaxed);
    }
    let mut items = Vec::new();
    flatten(&hir, &mut items);
    (1..items.len())
        .rev()
        .map(|n| Hir::concat(items[..n].to_vec()).to_string())
        .find(|p| fits(p))
}

/// Whether the screen for `pattern` (as [`screen_pattern`] gives it) lets
/// every digit-run start through: after any digit, whatever byte follows,
/// it reports a match. Such a screen turns no run away, only lengthens the
/// walk; the engine screens the detector by its digit minimum instead.
pub(crate) fn passes_every_digit(pattern: &str) -> bool {
    let Some(s) = Screen::build(&[(0, pattern)], MEMBER_LIMIT) else {
        return false;
    };
    (b'0'..=b'9').all(|digit| (0..=255).all(|next| s.matching(&[digit, next], 0, 1) == 1))
}

/// What a match of `pattern` still holds after a word byte inside it, up
/// to its end, as a screen pattern: bytes of the pattern and then an ASCII
/// word boundary, where every match ends (the pattern ends with
/// `(?-u:\b)`). Its bytes must all be ASCII; of them only the word bytes
/// are taken: after a word byte, `[A]*\b` matches exactly where
/// `[A∩\w]*\b` does (the first non-word byte after the word bytes is a
/// boundary already, and a word byte not in `A` stops both without one),
/// and the screen's walk then stops at that non-word byte rather than run
/// on through the groups of a phone number. A digit gate followed by it is
/// a sound screen for a detector whose values hold at least the gate's
/// digits (see `engine::number_screen`). `None` for any other pattern.
pub(crate) fn boundary_tail(pattern: &str) -> Option<String> {
    let hir = byte_hir(pattern)?;
    let mut items = Vec::new();
    flatten(&hir, &mut items);
    if !matches!(items.last()?.kind(), HirKind::Look(Look::WordAscii)) {
        return None;
    }
    let mut bytes = [false; 128];
    ascii_bytes(&hir, &mut bytes)?;
    let word: String = (0u8..128)
        .filter(|&b| bytes[usize::from(b)] && (b.is_ascii_alphanumeric() || b == b'_'))
        .map(|b| format!(r"\x{b:02X}"))
        .collect();
    Some(if word.is_empty() {
        r"(?-u:\b)".to_string()
    } else {
        format!(r"(?-u:[{word}]*\b)")
    })
}

/// Marks in `bytes` every byte a match of `hir` can hold; `None` if one
/// can be non-ASCII.
fn ascii_bytes(hir: &Hir, bytes: &mut [bool; 128]) -> Option<()> {
    let mut mark = |lo: u32, hi: u32| -> Option<()> {
        for b in lo..=hi {
            *bytes.get_mut(usize::try_from(b).ok()?)? = true;
        }
        Some(())
    };
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => Some(()),
        HirKind::Literal(lit) => lit.0.iter().try_for_each(|&b| mark(b.into(), b.into())),
        HirKind::Class(Class::Unicode(c)) => c
            .ranges()
            .iter()
            .try_for_each(|r| mark(r.start().into(), r.end().into())),
        HirKind::Class(Class::Bytes(c)) => c
            .ranges()
            .iter()
            .try_for_each(|r| mark(r.start().into(), r.end().into())),
        HirKind::Repetition(r) => ascii_bytes(&r.sub, bytes),
        HirKind::Capture(c) => ascii_bytes(&c.sub, bytes),
        HirKind::Concat(items) | HirKind::Alternation(items) => {
            items.iter().try_for_each(|h| ascii_bytes(h, bytes))
        }
    }
}

/// `pattern` parsed as the screen and the engine read patterns: over
/// bytes (`utf8(false)`), so a pattern such as `(?-u:\xC3)` that need not
/// match valid UTF-8 parses too. `None` for a pattern that does not parse.
pub(crate) fn byte_hir(pattern: &str) -> Option<Hir> {
    regex_syntax::ParserBuilder::new()
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()
}

/// One non-ASCII UTF-8 character, any: what a Unicode class becomes in a
/// relaxed pattern.
fn any_non_ascii() -> Option<Hir> {
    byte_hir(r"(?-u:[\xC2-\xDF][\x80-\xBF]|[\xE0-\xEF][\x80-\xBF]{2}|[\xF0-\xF4][\x80-\xBF]{3})")
}

/// `hir` with every Unicode class widened to its ASCII part plus any
/// non-ASCII character: a superset of the language (so a sound screen)
/// whose all-matches DFA stays small, because `\p{Lu}\p{Ll}+` no longer
/// spells out thousands of code points. The ASCII part still screens:
/// `\p{Lu}` keeps rejecting `a`–`z`.
fn relax(hir: &Hir, non_ascii: &Hir) -> Hir {
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => {
            let wide = class.ranges().iter().any(|r| r.end() > '\x7f');
            if !wide {
                return hir.clone();
            }
            let mut ascii = class.clone();
            ascii.intersect(&ClassUnicode::new([ClassUnicodeRange::new('\0', '\x7f')]));
            if ascii.ranges().is_empty() {
                return non_ascii.clone();
            }
            Hir::alternation(vec![Hir::class(Class::Unicode(ascii)), non_ascii.clone()])
        }
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(relax(&r.sub, non_ascii)),
            ..r.clone()
        }),
        HirKind::Capture(c) => relax(&c.sub, non_ascii),
        HirKind::Concat(items) => Hir::concat(items.iter().map(|h| relax(h, non_ascii)).collect()),
        HirKind::Alternation(items) => {
            Hir::alternation(items.iter().map(|h| relax(h, non_ascii)).collect())
        }
        _ => hir.clone(),
    }
}

/// The top-level sequence of `hir`, with nested sequences and capture
/// groups (which do not change what matches) opened up.
fn flatten(hir: &Hir, out: &mut Vec<Hir>) {
    match hir.kind() {
        HirKind::Concat(items) => items.iter().for_each(|h| flatten(h, out)),
        HirKind::Capture(c) => flatten(&c.sub, out),
        _ => out.push(hir.clone()),
    }
}

impl Screen {
    /// Builds the screen for `members` (detector index, pattern) within
    /// `limit` bytes of DFA. `None` when there are none, more than 64, or
    /// the DFA would be larger; the scanner then searches every member.
    pub fn build(members: &[(u16, &str)], limit: usize) -> Option<Screen> {
        if members.is_empty() || members.len() > 64 {
            return None;
        }
        let config = dense::Config::new()
            .start_kind(StartKind::Anchored)
            .match_kind(MatchKind::All)
            // Acceleration only pays in a library search loop; in the
            // screen's own walk an accelerated state is just one more
            // special state to stop at.
            .accelerate(false)
            .dfa_size_limit(Some(limit))
            .determinize_size_limit(Some(2 * limit));
        let patterns: Vec<&str> = members.iter().map(|&(_, p)| p).collect();
        let dfa = dense::Builder::new()
            .configure(config)
            .syntax(syntax::Config::new().utf8(false))
            .build_many(&patterns)
            .ok()?;
        let starts = StartStates::of(&dfa);
        Some(Screen {
            matches: match_table(&dfa),
            start: starts.fixed(),
            starts,
            dfa,
            members: members.iter().map(|&(d, _)| d).collect(),
        })
    }

    /// The members (detector indices) whose bits are set in `mask`, an
    /// answer of [`Screen::matching`], in pattern order. An undecided
    /// screen answers all ones: every member is named.
    pub fn members_of(&self, mask: u64) -> impl Iterator<Item = u16> + '_ {
        let mut mask = mask & (u64::MAX >> (64 - self.members.len()));
        std::iter::from_fn(move || {
            (mask != 0).then(|| {
                let i = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                self.members[i]
            })
        })
    }

    /// Bit `i` is set if `members[i]` has an anchored match starting at
    /// `start` and ending at or before `end` in `hay`. Bytes after `end`
    /// are only looked at for look-ahead, as a bounded search would.
    pub fn matching(&self, hay: &[u8], start: usize, end: usize) -> u64 {
        match self.walk(hay, start, end) {
            Walk::Settled(mask) => mask,
            Walk::Reached(mask, sid) => mask | self.at_end(hay, end, sid),
        }
    }

    /// [`Screen::matching`]'s answer if the walk settles it before `end`
    /// (a dead state, or every member matched), so that no byte from `end`
    /// on, nor where the haystack ends, can change it: the answer for any
    /// longer haystack with the same bytes up to `end`, and any end past it.
    /// With `complete` (`hay` will not grow before `end` is looked at, or
    /// already holds the byte at `end`), the walk's answer at `end` is as
    /// good: it is always given.
    #[inline]
    pub fn settled(&self, hay: &[u8], start: usize, end: usize, complete: bool) -> Option<u64> {
        match self.walk(hay, start, end) {
            Walk::Settled(mask) => Some(mask),
            Walk::Reached(mask, sid) if complete => Some(mask | self.at_end(hay, end, sid)),
            Walk::Reached(..) => None,
        }
    }

    /// The members matching once the walk that reached `end` in state
    /// `sid` takes the byte at `end`, or the end of the haystack.
    fn at_end(&self, hay: &[u8], end: usize, sid: StateID) -> u64 {
        let sid = match hay.get(end) {
            Some(&b) => self.dfa.next_state(sid, b),
            None => self.dfa.next_eoi_state(sid),
        };
        self.matched(sid)
    }

    /// The DFA walk over `hay[start..end]`. Always inlined: with two
    /// callers the compiler stopped inlining it into the candidate pass,
    /// which then paid a call at every digit run.
    #[inline(always)]
    fn walk(&self, hay: &[u8], start: usize, end: usize) -> Walk {
        let dfa = &self.dfa;
        let Some(mut sid) = self.start.or_else(|| self.starts.at(hay, start)) else {
            return Walk::Settled(u64::MAX);
        };
        let mut mask = 0u64;
        for &b in &hay[start..end] {
            sid = dfa.next_state(sid, b);
            if dfa.is_special_state(sid) {
                if dfa.is_dead_state(sid) {
                    return Walk::Settled(mask);
                }
                // A quit state answers all ones, and so does a match of
                // every member: either way nothing can change any more.
                mask |= self.matched(sid);
                if mask == u64::MAX {
                    return Walk::Settled(mask);
                }
            }
        }
        Walk::Reached(mask, sid)
    }

    /// [`pattern_mask`] of `sid`, from the table where it has the state.
    #[inline]
    fn matched(&self, sid: StateID) -> u64 {
        match self.matches.get(sid.as_usize() >> self.dfa.stride2()) {
            Some(&m) => m,
            None => pattern_mask(&self.dfa, sid),
        }
    }
}

/// Where a screen's walk over its window stopped.
enum Walk {
    /// The answer, whatever follows.
    Settled(u64),
    /// The window's end, with the members matched so far and the state.
    Reached(u64, StateID),
}

/// The members matching in state `sid`, one bit per pattern; all ones in
/// the quit state (undecided: every member may match).
fn pattern_mask(dfa: &dense::DFA<Vec<u32>>, sid: StateID) -> u64 {
    if dfa.is_quit_state(sid) {
        return u64::MAX;
    }
    if !dfa.is_match_state(sid) {
        return 0;
    }
    (0..dfa.match_len(sid)).fold(0, |m, i| m | 1 << dfa.match_pattern(sid, i).as_usize())
}

/// [`pattern_mask`] of the dead and quit states and of the match states
/// after them (a dense DFA numbers its match states right after those two;
/// a state missing from the table is looked up by [`pattern_mask`]).
fn match_table(dfa: &dense::DFA<Vec<u32>>) -> Vec<u64> {
    (0usize..)
        .map_while(|i| {
            let sid = StateID::new(i << dfa.stride2()).ok()?;
            (i < 2 || dfa.is_match_state(sid)).then(|| pattern_mask(dfa, sid))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex_automata::util::start;
    use regex_automata::Anchored;

    #[test]
    fn reports_exactly_the_patterns_that_can_match() {
        let s = Screen::build(
            &[
                (7, r"[0-9]{6}-[0-9]{4}"),
                (3, r"[0-9]{3}(?-u:\b)"),
                (9, r"\+[0-9]+"),
            ],
            SCREEN_LIMIT,
        )
        .expect("builds");
        assert_eq!(s.members, vec![7, 3, 9]);
        assert_eq!(s.matching(b"811218-9876 x", 0, 13), 0b001);
        // `[0-9]{3}\b` needs the boundary: "1234" has none after 3 digits.
        assert_eq!(s.matching(b"1234", 0, 4), 0);
        assert_eq!(s.matching(b"123 ", 0, 4), 0b010);
        // The boundary after the window's end is looked at, as a bounded search does.
        assert_eq!(s.matching(b"123x", 0, 3), 0);
        assert_eq!(s.matching(b"a+46", 1, 4), 0b100);
        assert_eq!(s.matching(b"order", 0, 5), 0);
        let members = |mask| s.members_of(mask).collect::<Vec<_>>();
        assert_eq!(members(0b101), vec![7, 9]);
        assert_eq!(members(0), Vec::<u16>::new());
        // An undecided screen (all ones) names every member, and no more.
        assert_eq!(members(u64::MAX), vec![7, 3, 9]);
    }

    #[test]
    fn match_table_covers_every_match_state() {
        let s = Screen::build(
            &[
                (0, r"[0-9]{6}-[0-9]{4}"),
                (1, r"[0-9]{3}"),
                (2, r"[0-9]+ ?[0-9]{2}"),
            ],
            SCREEN_LIMIT,
        )
        .expect("builds");
        let config = start::Config::new().anchored(Anchored::Yes);
        let mut seen_match = false;
        for hay in [&b"811218-9876 "[..], b"123 45", b"9", b"12345678901234"] {
            let mut sid = s.dfa.start_state(&config).expect("start");
            for &b in hay.iter().chain([b' '].iter()) {
                sid = s.dfa.next_state(sid, b);
                if s.dfa.is_match_state(sid) {
                    seen_match = true;
                    let i = sid.as_usize() >> s.dfa.stride2();
                    assert_eq!(s.matches.get(i), Some(&pattern_mask(&s.dfa, sid)));
                }
            }
        }
        assert!(seen_match);
    }

    /// [`Screen::matching`] as the DFA's own state tests spell it out.
    fn matching_by_the_dfa(s: &Screen, hay: &[u8], start: usize, end: usize) -> u64 {
        let dfa = &s.dfa;
        let config = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(start.checked_sub(1).map(|i| hay[i]));
        let Ok(mut sid) = dfa.start_state(&config) else {
            return u64::MAX;
        };
        let mut mask = 0u64;
        for &b in &hay[start..end] {
            sid = dfa.next_state(sid, b);
            if dfa.is_dead_state(sid) {
                return mask;
            }
            if dfa.is_quit_state(sid) {
                return u64::MAX;
            }
            mask |= pattern_mask(dfa, sid);
        }
        sid = match hay.get(end) {
            Some(&b) => dfa.next_state(sid, b),
            None => dfa.next_eoi_state(sid),
        };
        if dfa.is_quit_state(sid) {
            return u64::MAX;
        }
        mask | pattern_mask(dfa, sid)
    }

    #[test]
    fn matching_agrees_with_the_dfa_state_tests() {
        let patterns = [
            r"[0-9]{6}-[0-9]{4}(?-u:\b)",
            r"[0-9]{3}",
            r"\+?[0-9]{1,5}(?:[ .-]?[0-9]{1,5}){1,7}(?-u:\b)",
            r"(?m:^)[0-9]{4}",
            r"[0-9]+ ?[0-9]{2}$",
        ];
        let members: Vec<(u16, &str)> = (0u16..).zip(patterns).collect();
        // Every member matching: the walk may stop at all ones.
        let all: Vec<(u16, &str)> = (0u16..64).map(|i| (i, "[0-9]")).collect();
        let screens = [&members[..], &members[..1], &all[..]]
            .map(|m| Screen::build(m, SCREEN_LIMIT).expect("builds"));
        let texts = [
            "811218-9876 x",
            "Ring 070-123 45 67.",
            "+46 70 123 45 67\n2024",
            "12 345",
            "1234",
            "a1234-5678-9012 \u{e9}9",
        ];
        for s in &screens {
            for text in texts {
                let hay = text.as_bytes();
                for start in 0..hay.len() {
                    for end in start..=hay.len() {
                        let answer = s.matching(hay, start, end);
                        assert_eq!(
                            answer,
                            matching_by_the_dfa(s, hay, start, end),
                            "{text:?} {start}..{end}"
                        );
                        // A settled answer holds for every longer window.
                        assert_eq!(s.settled(hay, start, end, true), Some(answer));
                        if let Some(settled) = s.settled(hay, start, end, false) {
                            for later in end..=hay.len() {
                                let full = matching_by_the_dfa(s, hay, start, later);
                                assert_eq!(settled, full, "{text:?} {start}..{end}..{later}");
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(screens[2].matching(b"7", 0, 1), u64::MAX);
        // Both ways to the start state are taken: `^` needs the look-behind.
        assert!(screens[0].start.is_none());
        assert!(screens[1].start.is_some());
    }

    #[test]
    fn too_many_patterns_is_no_screen() {
        let many: Vec<(u16, &str)> = (0..65).map(|i| (i, "a")).collect();
        assert!(Screen::build(&many, SCREEN_LIMIT).is_none());
    }

    #[test]
    fn large_patterns_are_screened_by_a_leading_part() {
        // Fits: screened as written.
        let pnr = r"[0-9]{6}-[0-9]{4}";
        assert_eq!(screen_pattern(pnr).as_deref(), Some(pnr));
        // A postcode and a capitalised city: the Unicode classes would blow
        // the all-matches DFA up; relaxed to ASCII part + any non-ASCII
        // character, it fits.
        let postcode = r"(?P<value>[0-9]{4} +\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+)?)[ \t]*[,.]";
        let part = screen_pattern(postcode).expect("a relaxed form fits");
        assert_ne!(part, postcode);
        let s = Screen::build(&[(0, &part)], MEMBER_LIMIT).expect("fits");
        // Sound: what the whole pattern matches, the part matches too.
        assert_eq!(s.matching("1234 Århus,".as_bytes(), 0, 12), 1);
        assert_eq!(s.matching(b"1234 Oslo.", 0, 10), 1);
        // And it still screens: four digits and a space are needed.
        assert_eq!(s.matching(b"123 Oslo.", 0, 9), 0);
        assert_eq!(s.matching(b"1234-05", 0, 7), 0);
        // The ASCII part of \p{Lu} still screens: a lower-case city is out.
        assert_eq!(s.matching(b"1234 oslo.", 0, 10), 0);
    }

    #[test]
    fn a_screen_that_turns_no_digit_away_is_told_apart() {
        // The phone number's screen is a leading part: one to five digits.
        let phone = r"\+?(?:\([0-9]{1,4}\)|[0-9]{1,5})(?:[ .-]?(?:\(0\) ?)?(?:\([0-9]{1,4}\)|[0-9]{1,5})){1,7}(?-u:\b)";
        let part = screen_pattern(phone).expect("a leading part fits");
        assert!(passes_every_digit(&part));
        assert!(passes_every_digit(r"[0-9]+"));
        // Each of these turns some digit, or some byte after it, away.
        for pattern in [r"[0-9]{6}-[0-9]{4}", r"[1-9][0-9]*", r"[0-9](?-u:\b)"] {
            assert!(!passes_every_digit(pattern), "{pattern}");
        }
    }

    #[test]
    fn a_boundary_tail_runs_to_the_final_word_boundary() {
        let tail =
            boundary_tail(r"\+?[0-9]{1,5}(?:[ .-]?[0-9]{1,5}){1,7}(?-u:\b)").expect("a tail");
        let s = Screen::build(&[(0, &format!("[0-9]{{3}}{tail}"))], MEMBER_LIMIT).expect("fits");
        assert_eq!(s.matching(b"12345 ", 0, 6), 1);
        assert_eq!(s.matching(b"123 45x", 0, 7), 1);
        // No boundary after the third digit, nor anywhere the tail reaches.
        assert_eq!(s.matching(b"12345T", 0, 6), 0);
        assert_eq!(s.matching(b"1234x5 ", 0, 7), 0);
        assert_eq!(s.matching(b"123", 0, 3), 1);
        // No word byte in the pattern: the boundary alone.
        assert_eq!(
            boundary_tail(r"[ .-]{2}(?-u:\b)").as_deref(),
            Some(r"(?-u:\b)")
        );
        // Only a pattern of ASCII bytes ending at a word boundary has one.
        for pattern in [
            r"[0-9]{3}",
            r"[0-9]+(?-u:\b)x",
            r"\p{Lu}[0-9]+(?-u:\b)",
            r"[0-9]+|[0-9]{2}(?-u:\b)",
        ] {
            assert!(boundary_tail(pattern).is_none(), "{pattern}");
        }
    }

    #[test]
    fn patterns_too_large_to_screen_are_refused_within_the_limit() {
        let street = r"[0-9]{3} ?[0-9]{2} +\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+)?";
        assert!(Screen::build(&[(0, street)], MEMBER_LIMIT).is_none());
        assert!(Screen::build(&[(0, r"[0-9]{6}-[0-9]{4}")], MEMBER_LIMIT).is_some());
    }
}
