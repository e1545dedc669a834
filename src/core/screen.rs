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
use regex_automata::util::{start, syntax};
use regex_automata::{Anchored, MatchKind};

/// One DFA over up to 64 detector patterns; pattern `i` is `members[i]`.
#[derive(Debug)]
pub(crate) struct Screen {
    dfa: dense::DFA<Vec<u32>>,
    /// Detector indices, in pattern order.
    pub members: Vec<u16>,
}

/// A screen is skipped (every member is searched) above this many states'
/// worth of memory: building it would cost more than it saves.
const SIZE_LIMIT: usize = 8 << 20;

impl Screen {
    /// Builds the screen for `members` (detector index, pattern). `None`
    /// when there are none, more than 64, or the DFA would be too large;
    /// the scanner then searches every member.
    pub fn build(members: &[(u16, &str)]) -> Option<Screen> {
        if members.is_empty() || members.len() > 64 {
            return None;
        }
        let config = dense::Config::new()
            .start_kind(StartKind::Anchored)
            .match_kind(MatchKind::All)
            .dfa_size_limit(Some(SIZE_LIMIT))
            .determinize_size_limit(Some(2 * SIZE_LIMIT));
        let patterns: Vec<&str> = members.iter().map(|&(_, p)| p).collect();
        let dfa = dense::Builder::new()
            .configure(config)
            .syntax(syntax::Config::new().utf8(false))
            .build_many(&patterns)
            .ok()?;
        Some(Screen {
            dfa,
            members: members.iter().map(|&(d, _)| d).collect(),
        })
    }

    /// Bit `i` is set if `members[i]` has an anchored match starting at
    /// `start` and ending at or before `end` in `hay`. Bytes after `end`
    /// are only looked at for look-ahead, as a bounded search would.
    pub fn matching(&self, hay: &[u8], start: usize, end: usize) -> u64 {
        let dfa = &self.dfa;
        let behind = start.checked_sub(1).map(|i| hay[i]);
        let config = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(behind);
        let Ok(mut sid) = dfa.start_state(&config) else {
            return u64::MAX;
        };
        let mut mask = 0u64;
        for &b in &hay[start..end] {
            sid = dfa.next_state(sid, b);
            if dfa.is_special_state(sid) {
                if dfa.is_dead_state(sid) {
                    return mask;
                }
                if dfa.is_quit_state(sid) {
                    return u64::MAX;
                }
                mask |= self.matched(sid);
            }
        }
        sid = match hay.get(end) {
            Some(&b) => dfa.next_state(sid, b),
            None => dfa.next_eoi_state(sid),
        };
        if dfa.is_quit_state(sid) {
            return u64::MAX;
        }
        mask | self.matched(sid)
    }

    fn matched(&self, sid: regex_automata::util::primitives::StateID) -> u64 {
        let dfa = &self.dfa;
        if !dfa.is_match_state(sid) {
            return 0;
        }
        (0..dfa.match_len(sid)).fold(0, |m, i| m | 1 << dfa.match_pattern(sid, i).as_usize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_exactly_the_patterns_that_can_match() {
        let s = Screen::build(&[
            (7, r"[0-9]{6}-[0-9]{4}"),
            (3, r"[0-9]{3}(?-u:\b)"),
            (9, r"\+[0-9]+"),
        ])
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
    }

    #[test]
    fn too_many_patterns_is_no_screen() {
        let many: Vec<(u16, &str)> = (0..65).map(|i| (i, "a")).collect();
        assert!(Screen::build(&many).is_none());
    }
}
