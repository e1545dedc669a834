//! Name gazetteer: given names, surnames, surname morphology and the guard
//! list of ordinary words that are also names. Data comes from rule files.

use rustc_hash::FxHashSet as HashSet;

/// Word lists used by the name validators. Lookups are exact and
/// case-sensitive on purpose: names are written capitalised, and the
/// capitalisation is part of the evidence.
#[derive(Debug, Default, Clone)]
pub struct Gazetteer {
    given: HashSet<String>,
    surnames: HashSet<String>,
    not_names: HashSet<String>,
    /// Given names and surnames together: the candidate test on every
    /// capitalised word is one lookup.
    names: HashSet<String>,
    /// Surname suffixes by their last byte: a word is compared only with
    /// the few suffixes that end like it.
    suffixes: Vec<Vec<String>>,
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
        Gazetteer {
            names: given.union(&surnames).cloned().collect(),
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
        let Some(&last) = w.as_bytes().last() else {
            return false;
        };
        let Some(suffixes) = self.suffixes.get(usize::from(last)) else {
            return false;
        };
        // Cheapest and most selective test first: most words end in no suffix.
        suffixes
            .iter()
            .any(|s| w.len() > s.len() + 1 && w.ends_with(s.as_str()))
            && w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().count() >= 5
    }

    /// An ordinary word that is also a name ("Will", "May"): never a name on its own.
    pub fn is_not_name(&self, w: &str) -> bool {
        self.not_names.contains(w)
    }

    /// Whether the word may start a gazetteer name candidate at all.
    pub fn is_candidate(&self, w: &str) -> bool {
        self.names.contains(w) || self.has_surname_form(w)
    }
}
