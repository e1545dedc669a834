//! A filter on the last two letters of a word, in front of the anchored
//! patterns tried at words followed by a number (street addresses).

use regex_automata::dfa::Automaton as _;
use regex_automata::util::primitives::StateID;
use rustc_hash::FxHashMap as HashMap;

use super::AnchoredDfa;

/// The bytes a word is made of where the scanner reads one: ASCII letters
/// and every byte of a multi-byte character.
pub(crate) fn is_letter(b: u8) -> bool {
    b.is_ascii_alphabetic() || b >= 0x80
}

/// A bit per pair of bytes: whether a word ending in that pair of letters
/// can be the start of a match that goes on past the space after the word.
/// A street pattern (`\p{Lu}\p{Ll}*(?:gatan|vägen|…) [1-9]…`) cannot after
/// most words that are followed by a number ("Invoice 12", "Order 7",
/// "Requester 3"), and their last two letters tell: the scanner then queues
/// no postal candidate there, where the DFA would walk the word only to
/// die at the space.
#[derive(Debug, Clone)]
pub(crate) struct WordEndPairs {
    /// Indexed by `last_but_one << 8 | last`.
    bits: Box<[u64]>,
}

impl WordEndPairs {
    /// The filter that lets no pair through: the start of a union.
    pub fn empty() -> WordEndPairs {
        WordEndPairs {
            bits: vec![0; 1024].into(),
        }
    }

    /// The pairs after which anchored `fast` is still alive past the space
    /// that follows a word of two letters or more, from any start state.
    /// `None` if the pair cannot settle that no match starts at the word:
    /// the DFA can end a match inside a run of letters or right after it,
    /// or gives up (a quit byte, a look-behind it cannot start after).
    pub fn of(fast: &AnchoredDfa) -> Option<WordEndPairs> {
        let dfa = &fast.dfa;
        let letters: Vec<u8> = (0..=255).filter(|&b| is_letter(b)).collect();
        // Every state a run of letters reaches from a start state.
        let mut states: Vec<StateID> = Vec::new();
        let mut index: HashMap<StateID, usize> = HashMap::default();
        for &start in fast.starts.by_behind.iter() {
            let start = start?;
            if let std::collections::hash_map::Entry::Vacant(e) = index.entry(start) {
                e.insert(states.len());
                states.push(start);
            }
        }
        let mut i = 0;
        while let Some(&s) = states.get(i) {
            i += 1;
            for &b in &letters {
                let next = dfa.next_state(s, b);
                // A match state after a letter: a match ended before it.
                if dfa.is_quit_state(next) || dfa.is_match_state(next) {
                    return None;
                }
                if !dfa.is_dead_state(next) && !index.contains_key(&next) {
                    index.insert(next, states.len());
                    states.push(next);
                }
            }
        }
        // Per state: the last letters after which the space keeps it alive.
        let mut last_ok = vec![[0u64; 4]; states.len()];
        for (&s, ok) in states.iter().zip(&mut last_ok) {
            for &b in &letters {
                let next = dfa.next_state(s, b);
                if dfa.is_dead_state(next) {
                    continue;
                }
                let space = dfa.next_state(next, b' ');
                if dfa.is_quit_state(space) || dfa.is_match_state(space) {
                    return None;
                }
                if !dfa.is_dead_state(space) {
                    ok[usize::from(b >> 6)] |= 1 << (b & 63);
                }
            }
        }
        let mut pairs = WordEndPairs::empty();
        for &s in &states {
            for &b in &letters {
                let next = dfa.next_state(s, b);
                if dfa.is_dead_state(next) {
                    continue;
                }
                let row = usize::from(b) * 4;
                for (bits, ok) in pairs.bits[row..row + 4]
                    .iter_mut()
                    .zip(last_ok[index[&next]])
                {
                    *bits |= ok;
                }
            }
        }
        Some(pairs)
    }

    /// Adds the pairs of `other`: a word passes the union if it passes either.
    pub fn add(&mut self, other: &WordEndPairs) {
        for (bits, more) in self.bits.iter_mut().zip(other.bits.iter()) {
            *bits |= more;
        }
    }

    /// Whether a word ending in `last_but_one`, `last` may start a match.
    pub fn may_end(&self, last_but_one: u8, last: u8) -> bool {
        let pair = usize::from(last_but_one) << 8 | usize::from(last);
        self.bits[pair >> 6] >> (pair & 63) & 1 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::WordEndPairs;
    use crate::core::detect::{Detector, Kind};

    fn pairs(pattern: &str) -> Option<WordEndPairs> {
        WordEndPairs::of(&Detector::fast_dfa(pattern, Kind::Postal).expect("a DFA"))
    }

    /// Pairs the suffixes end in pass, others do not; a pattern that can
    /// end a match inside or right after a word has no filter.
    #[test]
    fn pairs_of_a_street_pattern() {
        let street = pairs(r"\p{Lu}\p{Ll}*(?:gatan|vägen) [1-9][0-9]*").expect("a filter");
        assert!(street.may_end(b'a', b'n') && street.may_end(b'e', b'n'));
        assert!(!street.may_end(b'e', b'r') && !street.may_end(b'c', b'e'));
        assert!(pairs(r"\p{Lu}\p{Ll}+").is_none());
        assert!(pairs(r"[A-Z][a-z]+(?: [0-9]+)?").is_none());
        assert!(pairs(r"[A-Z][a-z]*(?:väg) [0-9]").is_some());
    }
}
