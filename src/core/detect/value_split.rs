//! Where a `value` group that ends its pattern starts, found with two small
//! DFA walks instead of a capture engine.
//!
//! Trigger detectors (`hej (?P<value>Anna Svensson)`) resolve their `value`
//! group on every match. The one-pass capture engine pays some 90
//! instructions per byte there (it copies its slots at every byte of a
//! match state), a dense DFA walk a few. For a pattern `P(?P<value>V)` and a
//! match `[s, e)` (found by the detector's fast DFA), every split `x` with
//! `P` matching `[s, x)` and `V` matching `[x, e)` is a way the regex can
//! have matched, and its `value` group is one of them. When exactly one
//! split exists it is the group's start, whatever path the regex took; when
//! there are several (or a DFA gives up), the caller falls back to the
//! capture engine.

use regex_automata::dfa::{dense, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use regex_automata::MatchKind;
use regex_syntax::hir::{Hir, HirKind};

use super::{walk, AnchoredDfa};

/// The two halves of a pattern that ends in its `value` group, each as an
/// anchored DFA reporting every match end, with its start states looked up
/// once (see [`StartStates`](super::StartStates)): the DFA's own lookup
/// costs as much as the short walk after a trigger word.
#[derive(Debug)]
pub struct ValueSplit {
    /// The part before the group.
    before: AnchoredDfa,
    /// The group itself.
    value: AnchoredDfa,
}

impl ValueSplit {
    /// Builds the split if `pattern` is a concatenation whose last element
    /// is the `value` group (so the group always takes part and ends the
    /// match) and both halves compile to small DFAs; `None` otherwise.
    pub fn build(pattern: &str) -> Option<ValueSplit> {
        let hir = syntax::parse_with(pattern, &syntax::Config::new().utf8(false)).ok()?;
        let (before, last) = match hir.kind() {
            HirKind::Concat(parts) => {
                let (last, before) = parts.split_last()?;
                (before.to_vec(), last)
            }
            _ => (Vec::new(), &hir),
        };
        let HirKind::Capture(group) = last.kind() else {
            return None;
        };
        if group.name.as_deref() != Some("value") {
            return None;
        }
        Some(ValueSplit {
            before: AnchoredDfa::new(all_ends_dfa(&Hir::concat(before))?),
            value: AnchoredDfa::new(all_ends_dfa(&group.sub)?),
        })
    }

    /// The start of the `value` group of a match `[s, e)` of the whole
    /// pattern in `hay`, if exactly one split fits.
    pub fn value_start(&self, hay: &[u8], s: usize, e: usize) -> Option<usize> {
        // Usually `P` ends at one place only ("hej" then spaces then a
        // capital): that is the split, and `V` need not be walked.
        let (mut first, mut ends) = (None, 0);
        let whole = walk(&self.before, hay, s, e, |x| {
            first.get_or_insert(x);
            ends += 1;
            (ends < 2).then_some(())
        });
        if whole.is_some() {
            return first;
        }
        if ends < 2 {
            // The DFA gave up.
            return None;
        }
        let mut found = None;
        walk(&self.before, hay, s, e, |x| {
            match self.value_ends_at(hay, x, e) {
                Some(false) => Some(()),
                Some(true) if found.is_none() => {
                    found = Some(x);
                    Some(())
                }
                // A second fit, or a DFA that gave up: leave it open.
                _ => None,
            }
        })?;
        found
    }

    /// Whether `V` matches exactly `[x, e)`; `None` if its DFA gave up.
    fn value_ends_at(&self, hay: &[u8], x: usize, e: usize) -> Option<bool> {
        let mut hit = false;
        walk(&self.value, hay, x, e, |i| {
            hit |= i == e;
            Some(())
        })?;
        Some(hit)
    }
}

/// An anchored dense DFA for `hir` that reports every match end (not only
/// the leftmost-first one), if it stays small.
fn all_ends_dfa(hir: &Hir) -> Option<dense::DFA<Vec<u32>>> {
    let nfa = thompson::Compiler::new().build_from_hir(hir).ok()?;
    let config = dense::Config::new()
        .start_kind(StartKind::Anchored)
        .match_kind(MatchKind::All)
        .dfa_size_limit(Some(1 << 20))
        .determinize_size_limit(Some(2 << 20));
    dense::Builder::new()
        .configure(config)
        .build_from_nfa(&nfa)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::ValueSplit;
    use crate::core::detect::{match_end, Detector, Kind};
    use regex_automata::dfa::Automaton as _;
    use regex_automata::{Anchored, Input};

    /// Patterns ending in their `value` group, some with several splits
    /// per match (`a*(?P<value>a+b)`) or look-around at the boundary.
    const SPLIT: [&str; 8] = [
        r"[ \t]+(?P<value>\p{Lu}\p{Ll}+(?:[ -]\p{Lu}\p{Ll}+){0,2})",
        r#"[ \t]*(?:(?i:ab|a)[ \t]+)?(?::[ \t]*)?["']?(?P<value>[^\s"']{2,})"#,
        r"a*(?P<value>a+b)",
        r"(?:ab|a)(?P<value>b?c)",
        r"(?:x|x )(?-u:\b)(?P<value>[ a-c]+)",
        r"(?P<value>[a-c]+)",
        r"a(?P<value>b+(?m:$))",
        r"(?:a|b)*?(?P<value>b+)",
    ];

    /// Small texts over the patterns' alphabet, from a fixed generator.
    fn haystacks() -> Vec<Vec<u8>> {
        let alphabet: &[&[u8]] = &[
            b"a",
            b"b",
            b"c",
            b"x",
            b"A",
            b"B",
            b" ",
            b"\t",
            b":",
            b"'",
            b"\n",
            b"-",
            "Å".as_bytes(),
            "ö".as_bytes(),
            b"\xff",
        ];
        let mut seed = 0x2545_F491_u32;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize % n
        };
        (0..4000)
            .map(|_| {
                let len = next(9);
                (0..len)
                    .flat_map(|_| alphabet[next(alphabet.len())].to_vec())
                    .collect()
            })
            .collect()
    }

    /// The split and the DFA walk give exactly the general engine's match
    /// and `value` group wherever they answer, and answer on most matches.
    #[test]
    fn split_agrees_with_the_general_engine() {
        let hays = haystacks();
        let mut left_open = 0;
        for pattern in SPLIT {
            let regex = Detector::compile_pattern(pattern, Kind::Keyword).expect("compiles");
            let fast = Detector::fast_dfa(pattern, Kind::Keyword).expect("small DFA");
            let split = ValueSplit::build(pattern).expect("ends in its value group");
            let group = regex
                .group_info()
                .to_index(regex_automata::PatternID::ZERO, "value");
            let mut caps = regex.create_captures();
            let (mut answered, mut matched) = (0, 0);
            for hay in &hays {
                for s in 0..=hay.len() {
                    let input = Input::new(hay).range(s..).anchored(Anchored::Yes);
                    let walked = match_end(&fast, hay, s, hay.len());
                    let searched = fast
                        .dfa
                        .try_search_fwd(&input)
                        .ok()
                        .map(|m| m.map(|m| m.offset()));
                    assert_eq!(walked, searched, "{pattern} at {s} in {hay:?}");
                    regex.search_captures(&input, &mut caps);
                    let Some(m) = caps.get_match() else {
                        assert_eq!(walked, Some(None), "{pattern} at {s} in {hay:?}");
                        continue;
                    };
                    matched += 1;
                    assert_eq!(walked, Some(Some(m.end())), "{pattern} at {s} in {hay:?}");
                    let value = caps
                        .get_group(group.expect("value group"))
                        .expect("takes part");
                    if let Some(vs) = split.value_start(hay, s, m.end()) {
                        answered += 1;
                        assert_eq!(vs..m.end(), value.range(), "{pattern} at {s} in {hay:?}");
                    }
                }
            }
            assert!(
                matched >= 20 && answered * 2 > matched,
                "{pattern}: {answered}/{matched}"
            );
            left_open += matched - answered;
        }
        // Some matches have several splits: the fallback is exercised too.
        assert!(left_open > 0);
    }

    /// Only a pattern whose last element is the `value` group splits.
    #[test]
    fn split_needs_the_value_group_last() {
        for pattern in [
            r"(?P<value>a)b",
            r"a(?P<value>b)|c",
            r"a(?P<value>b+)(?m:$)",
            r"a(?P<name>b)",
            r"(?:a(?P<value>b))+",
        ] {
            assert!(ValueSplit::build(pattern).is_none(), "{pattern}");
        }
        assert!(SPLIT.iter().all(|p| ValueSplit::build(p).is_some()));
    }
}
