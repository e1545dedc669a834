//! Name gazetteer: given names, surnames, surname morphology and the guard
//! list of ordinary words that are also names. Data comes from rule files.

use rustc_hash::FxHashSet as HashSet;

use super::word_ends::WordEnds;

/// Word lists used by the name validators. Lookups are exact and
/// case-sensitive on purpose: names are written capitalised, and the
/// capitalisation is part of the evidence.
#[derive(Debug, Default, Clone)]
pub struct Gazetteer {
    given: HashSet<String>,
    surnames: HashSet<String>,
    not_names: HashSet<String>,
    /// Given names and surnames together: the candidate test on every
    /// capitalised word is one lookup. Keyed by bytes so the scanner looks
    /// a word up without validating it as UTF-8 first.
    names: HashSet<Box<[u8]>>,
    /// The filter in front of `names`: most capitalised words are no name.
    name_ends: WordEnds,
    /// Surname suffixes by their last byte: a word is compared only with
    /// the few suffixes that end like it.
    suffixes: Vec<Vec<String>>,
    /// The filter in front of `suffixes` (see [`SuffixTails`]).
    suffix_tails: SuffixTails,
}

impl Gazetteer {
    /// Builds a gazetteer from word lists (as read from the gazetteer files).
    pub fn from_lists(
        given: &[&str],
        surnames: &[&str],
        not_names: &[&str],
        suffixes: &[&str],
    ) -> Self {
        let set = |l: &[&str]| {
            l.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let (given, surnames): (HashSet<String>, HashSet<String>) = (set(given), set(surnames));
        let names: HashSet<Box<[u8]>> = given
            .union(&surnames)
            .map(|s| s.as_bytes().into())
            .collect();
        // 16384 bits: the thousand or so shipped names set few of them.
        let name_ends = WordEnds::new(14, names.iter().map(|w| &**w));
        Gazetteer {
            names,
            name_ends,
            given,
            surnames,
            not_names: set(not_names),
            suffixes: {
                let mut by_last = vec![Vec::new(); 256];
                for s in suffixes.iter().map(|s| s.trim()) {
                    if let Some(&last) = s.as_bytes().last() {
                        by_last[usize::from(last)].push(s.to_string());
                    }
                }
                by_last
            },
            suffix_tails: SuffixTails::new(suffixes.iter().map(|s| s.trim().as_bytes())),
        }
    }

    /// Parses a list file: one entry per line, `#` starts a comment.
    pub fn parse_list(text: &str) -> Vec<&str> {
        text.lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// A known given name.
    pub fn is_given_name(&self, w: &str) -> bool {
        self.given.contains(w)
    }

    /// A known surname, or a capitalised word with surname morphology
    /// (-sson, -sen, -nen, …) that is long enough not to be a plain word.
    pub fn is_surname(&self, w: &str) -> bool {
        self.surnames.contains(w) || self.has_surname_form(w)
    }

    /// A capitalised word of five letters or more ending in a surname
    /// suffix (-sson, -sen, -nen, …).
    fn has_surname_form(&self, w: &str) -> bool {
        // Cheapest and most selective test first: most words end in no suffix.
        self.ends_in_suffix(w.as_bytes()) && surname_shape(w)
    }

    /// Whether the word ends in a surname suffix and is at least two bytes
    /// longer than it.
    fn ends_in_suffix(&self, w: &[u8]) -> bool {
        let Some(&last) = w.last() else {
            return false;
        };
        if !self.suffix_tails.may_end(w) {
            return false;
        }
        self.suffixes
            .get(usize::from(last))
            .is_some_and(|suffixes| {
                suffixes
                    .iter()
                    .any(|s| w.len() > s.len() + 1 && w.ends_with(s.as_bytes()))
            })
    }

    /// An ordinary word that is also a name ("Will", "May"): never a name on its own.
    pub fn is_not_name(&self, w: &str) -> bool {
        self.not_names.contains(w)
    }

    /// Whether the word (raw bytes) may start a gazetteer name candidate
    /// at all. Bytes that are not UTF-8 never are; they are validated only
    /// for the rare word ending in a surname suffix, not for every
    /// capitalised word (the name set holds only UTF-8 keys).
    #[inline]
    pub fn is_candidate(&self, w: &[u8]) -> bool {
        self.name_ends.may_hold(w) && self.names.contains(w)
            || (self.ends_in_suffix(w) && std::str::from_utf8(w).is_ok_and(surname_shape))
    }
}

/// A bit per hash of the last three bytes of the surname suffixes, in
/// front of comparing a word with each suffix that ends in its last byte:
/// every capitalised word is asked about, most end in no suffix's last
/// three bytes ("Order", "Please", "Kurset"), while many end in the last
/// byte of one (-n of -sson, -sen, -nen, …) and would be compared with
/// several. `false` is sure; `true` must be compared.
#[derive(Debug, Default, Clone)]
struct SuffixTails {
    /// `None` when a suffix is shorter than three bytes: it has no three
    /// last bytes to key on, and every word is compared.
    bits: Option<Box<[u64; SuffixTails::WORDS]>>,
}

impl SuffixTails {
    /// 4096 bits: the score or so of shipped suffixes set few of them.
    const LOG2_BITS: u32 = 12;
    const WORDS: usize = 1 << (Self::LOG2_BITS - 6);

    fn new<'a>(suffixes: impl IntoIterator<Item = &'a [u8]>) -> SuffixTails {
        let mut bits = Box::new([0; Self::WORDS]);
        for s in suffixes.into_iter().filter(|s| !s.is_empty()) {
            let [.., a, b, c] = s else {
                return SuffixTails { bits: None };
            };
            let bit = Self::bit(*a, *b, *c);
            bits[bit >> 6] |= 1 << (bit & 63);
        }
        SuffixTails { bits: Some(bits) }
    }

    /// Whether word `w` may end in one of the suffixes with a byte or more
    /// before it. A word of two bytes or less never does: every suffix has
    /// a byte at least.
    fn may_end(&self, w: &[u8]) -> bool {
        let [.., a, b, c] = w else {
            return false;
        };
        self.bits.as_ref().is_none_or(|bits| {
            let bit = Self::bit(*a, *b, *c);
            bits[bit >> 6] >> (bit & 63) & 1 != 0
        })
    }

    fn bit(a: u8, b: u8, c: u8) -> usize {
        let h = u32::from_le_bytes([a, b, c, 0]);
        (h.wrapping_mul(0x9E37_79B1) >> (32 - Self::LOG2_BITS)) as usize
    }
}

/// Capitalised and five letters or more: the shape a word ending in a
/// surname suffix needs to count as a surname.
fn surname_shape(w: &str) -> bool {
    w.chars().next().is_some_and(char::is_uppercase) && w.chars().count() >= 5
}

#[cfg(test)]
mod tests {
    use super::Gazetteer;

    /// The byte-keyed candidate test agrees with the string lookups it
    /// replaces, and rejects bytes that are not UTF-8 (a word cut inside a
    /// character, Latin-1 text) as the string path did.
    #[test]
    fn candidate_on_bytes_agrees_with_the_string_lookups() {
        let g = Gazetteer::from_lists(&["Anna", "Åsa"], &["Öberg"], &["Will"], &["sson", "sen"]);
        let words: [&[u8]; 14] = [
            b"Anna",
            "Åsa".as_bytes(),
            "Öberg".as_bytes(),
            b"Karlsson",
            "Åkesson".as_bytes(),
            b"Olsen",
            b"Asen",
            b"Ann",
            b"Annas",
            b"sson",
            b"Will",
            b"",
            &"Åsa".as_bytes()[..1],
            b"\xC5kesson",
        ];
        for w in words {
            let general = std::str::from_utf8(w).is_ok_and(|s| {
                g.is_given_name(s) || g.surnames.contains(s) || g.has_surname_form(s)
            });
            assert_eq!(g.is_candidate(w), general, "{w:?}");
        }
        assert!(g.is_candidate(b"Karlsson") && !g.is_candidate(b"\xC5kesson"));
    }

    /// The suffix filter never turns a word away that ends in a suffix:
    /// the filtered test agrees with comparing the word with every suffix,
    /// on the shipped suffixes and on a list with a suffix too short for
    /// the filter (which then lets every word through).
    #[test]
    fn suffix_tails_agree_with_comparing_every_suffix() {
        let shipped = [
            "sson", "sen", "nen", "berg", "lund", "ström", "strom", "qvist", "kvist", "gaard",
            "gård", "dóttir", "dottir", "heim", "backa", "lainen", "läinen", "stedt", "holm",
        ];
        let with_short: Vec<&str> = shipped.iter().copied().chain(["ek"]).collect();
        let given = Gazetteer::parse_list(include_str!("../../../rules/gazetteer/given-names.txt"));
        let surnames = Gazetteer::parse_list(include_str!("../../../rules/gazetteer/surnames.txt"));
        let mut words: Vec<Vec<u8>> = Vec::new();
        for w in given
            .iter()
            .chain(&surnames)
            .chain(&shipped)
            .chain(&["Ek", "Lindek", "x", ""])
        {
            let w = w.as_bytes();
            words.push(w.to_vec());
            for s in &with_short {
                words.push([w, s.as_bytes()].concat());
                words.push([&w[..w.len().min(1)], s.as_bytes()].concat());
            }
        }
        for suffixes in [&shipped[..], &with_short[..]] {
            let g = Gazetteer::from_lists(&[], &[], &[], suffixes);
            for w in &words {
                let general = suffixes
                    .iter()
                    .any(|s| w.len() > s.len() + 1 && w.ends_with(s.as_bytes()));
                assert_eq!(g.ends_in_suffix(w), general, "{w:?}");
            }
        }
    }

    /// The bit filter in front of the name set never turns a name away:
    /// every shipped name passes it, and the candidate test agrees with a
    /// plain set lookup on the names, on them cut short and on them with
    /// a byte changed (words the filter mostly rejects).
    #[test]
    fn name_ends_filter_keeps_every_name() {
        let given = Gazetteer::parse_list(include_str!("../../../rules/gazetteer/given-names.txt"));
        let surnames = Gazetteer::parse_list(include_str!("../../../rules/gazetteer/surnames.txt"));
        let g = Gazetteer::from_lists(&given, &surnames, &[], &[]);
        for name in given.iter().chain(&surnames) {
            let name = name.as_bytes();
            assert!(g.name_ends.may_hold(name), "{name:?}");
            let mut words = vec![name.to_vec(), name[..name.len() - 1].to_vec()];
            for k in 0..name.len() {
                let mut w = name.to_vec();
                w[k] = w[k].wrapping_add(1);
                words.push(w);
            }
            for w in words {
                assert_eq!(g.is_candidate(&w), g.names.contains(w.as_slice()), "{w:?}");
            }
        }
    }
}
