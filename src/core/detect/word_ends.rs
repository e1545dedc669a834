//! A bit filter in front of a set of words.

/// A bit per (length, first byte, last byte) of a set of words. Most words
/// looked up in the name gazetteer and the validators' word lists are not
/// in them ("Please", "Order", "support"), and one bit test turns them away
/// before hashing: `false` is sure, `true` must be looked up. The empty
/// filter (`Default`) turns every non-empty word away.
#[derive(Debug, Default, Clone)]
pub(crate) struct WordEnds {
    bits: Box<[u64]>,
    /// `32 - log2(bits)`: a bit is the top of a 32-bit multiplicative hash.
    shift: u32,
}

impl WordEnds {
    /// A filter of `1 << log2_bits` bits (64 at least) over `words`. The
    /// empty word sets no bit; it is never turned away.
    pub fn new<'a>(log2_bits: u32, words: impl IntoIterator<Item = &'a [u8]>) -> WordEnds {
        let mut filter = WordEnds {
            bits: vec![0; 1 << (log2_bits.max(6) - 6)].into(),
            shift: 32 - log2_bits.max(6),
        };
        for w in words {
            if let [first, .., last] | [first @ last] = w {
                let bit = filter.bit(w.len(), *first, *last);
                filter.bits[bit >> 6] |= 1 << (bit & 63);
            }
        }
        filter
    }

    /// Whether `w` may be one of the words.
    pub fn may_hold(&self, w: &[u8]) -> bool {
        match w {
            [first, .., last] | [first @ last] => self.may_hold_ends(w.len(), *first, *last),
            [] => true,
        }
    }

    /// Whether a word of `len` bytes from `first` to `last` may be one of
    /// the words: for a caller that would have to build the word first
    /// (lower-case it) and asks before it does.
    pub fn may_hold_ends(&self, len: usize, first: u8, last: u8) -> bool {
        let bit = self.bit(len, first, last);
        self.bits
            .get(bit >> 6)
            .is_some_and(|word| word >> (bit & 63) & 1 != 0)
    }

    fn bit(&self, len: usize, first: u8, last: u8) -> usize {
        let h = (len as u32) | u32::from(first) << 8 | u32::from(last) << 16;
        (h.wrapping_mul(0x9E37_79B1) >> self.shift) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::WordEnds;

    /// Every word passes; words that differ in length or an end byte are
    /// mostly turned away (a filter that let everything through would
    /// save nothing); the empty filter holds nothing but the empty word.
    #[test]
    fn keeps_every_word_and_turns_most_others_away() {
        let words: Vec<String> = (0..300).map(|i| format!("w{i}x")).collect();
        let filter = WordEnds::new(12, words.iter().map(|w| w.as_bytes()));
        assert!(words.iter().all(|w| filter.may_hold(w.as_bytes())));
        assert!(filter.may_hold(b""));
        let others: Vec<String> = (0..300).map(|i| format!("v{i}yy")).collect();
        let passed = others
            .iter()
            .filter(|w| filter.may_hold(w.as_bytes()))
            .count();
        assert!(
            passed < others.len() / 4,
            "{passed} of {} passed",
            others.len()
        );
        let empty = WordEnds::default();
        assert!(!empty.may_hold(b"w1x") && empty.may_hold(b""));
    }
}
