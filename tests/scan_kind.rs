//! A custom detector of kind `scan` (tests/data/custom-rules/plates.toml):
//! a pattern with no usable prefilter runs over all text in its own pass,
//! next to the shipped rules. It must find what it matches wherever the
//! chunk boundaries fall, in text and in JSON string values (escapes
//! decoded first), honour its context words, and leave the shipped
//! detectors' findings as they were.

mod common;

use std::sync::{Arc, OnceLock};

use common::{chunk_sizes, corpus, redact_chunked};
use deskguard::core::{Finding, Format, RuleSource, Ruleset, StreamSpec};
use proptest::prelude::*;

const PLATE: &str = "custom.plate";

/// The shipped rules plus the custom `scan` detector.
fn rules() -> Arc<Ruleset> {
    static RULES: OnceLock<Arc<Ruleset>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let custom = "tests/data/custom-rules/plates.toml";
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(custom);
            let mut sources = common::shipped_sources();
            sources.push(RuleSource {
                path: custom.into(),
                text: std::fs::read_to_string(path).expect("custom rule file"),
            });
            common::compile(sources)
        })
        .clone()
}

fn redact(format: Format, input: &[u8], sizes: &[usize]) -> (String, Vec<Finding>) {
    let (out, findings) =
        redact_chunked(&rules(), &StreamSpec::plain(format), input, sizes).expect("redacts");
    (String::from_utf8(out).expect("utf-8 output"), findings)
}

fn redact_text(input: &str) -> (String, Vec<String>) {
    let (out, findings) = redact(Format::Text, input.as_bytes(), &[usize::MAX]);
    (
        out,
        findings.iter().map(|f| f.detector.to_string()).collect(),
    )
}

#[test]
fn plates_next_to_a_car_word_are_masked() {
    let cases = [
        (
            "Bilen ABC 123 står på parkeringen.",
            "Bilen [REDACTED:custom.plate] står på parkeringen.",
        ),
        ("Regnr: XYZ 98A", "Regnr: [REDACTED:custom.plate]"),
        (
            "My car, plate DEF456, was towed.",
            "My car, plate [REDACTED:custom.plate], was towed.",
        ),
        ("bil GHJ 777", "bil [REDACTED:custom.plate]"),
    ];
    for (input, want) in cases {
        let (out, found) = redact_text(input);
        assert_eq!(out, want, "{input:?}");
        assert_eq!(found, [PLATE], "{input:?}");
    }
}

#[test]
fn hard_negatives_survive_the_scan_pass() {
    for input in [
        // No car word before it.
        "Modell ABC 123 finns i lager.",
        "ABC 123 bilen",
        // Not a whole token, a letter that plates never use, lower case.
        "Bilen ABC1234 står kvar.",
        "Bilen XABC 123 står kvar.",
        "Bilen har ISO 9001.",
        "Bilen abc 123 står kvar.",
        // The car word too far before it (past the context window).
        "Bilen står vid kontoret, och ingen vet riktigt när den kom dit: ABC 123.",
    ] {
        let (out, found) = redact_text(input);
        assert_eq!(out, input);
        assert!(found.is_empty(), "{input:?}: {found:?}");
    }
}

#[test]
fn shipped_detectors_still_fire_beside_it() {
    let (out, found) =
        redact_text("Bilen ABC 123, ägare 19811218-9876, mejla anna.svensson@example.se.");
    assert_eq!(
        out,
        "Bilen [REDACTED:custom.plate], ägare [REDACTED:se.personnummer], \
         mejla [REDACTED:contact.email]."
    );
    assert_eq!(found, [PLATE, "se.personnummer", "contact.email"]);
}

#[test]
fn json_values_are_scanned_after_their_escapes_are_decoded() {
    let input = br#"{"description":"Bilen ABC\u0020123 st\u00e5r h\u00e4r","subject":"car KLM 45P","id":7}"#;
    let (out, found) = redact(Format::Json, input, &[usize::MAX]);
    assert_eq!(
        out,
        r#"{"description":"Bilen [REDACTED:custom.plate] st\u00e5r h\u00e4r","subject":"car [REDACTED:custom.plate]","id":7}"#
    );
    let paths: Vec<_> = found.iter().map(|f| (&*f.detector, &*f.path)).collect();
    assert_eq!(paths, [(PLATE, "description"), (PLATE, "subject")]);
}

#[test]
fn a_value_group_limits_what_a_scan_match_redacts() {
    let rule = r#"
[[detector]]
id = "custom.pin"
description = "a PIN after the word, in any spelling"
kind = "scan"
pattern = '''(?i)(?-u:\b)pin(?:kod|code)?[ :=]+(?P<value>[0-9]{4,6})(?-u:\b)'''
action = "mask"
must_match = ["Min pinkod: 4711"]
"#;
    let rules = common::compile(vec![RuleSource {
        path: "pin.toml".into(),
        text: rule.into(),
    }]);
    let input = "Min pinkod: 4711 funkar inte, PIN=123456 inte heller.";
    let (out, found) = redact_chunked(
        &rules,
        &StreamSpec::plain(Format::Text),
        input.as_bytes(),
        &[usize::MAX],
    )
    .expect("redacts");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "Min pinkod: [REDACTED:custom.pin] funkar inte, PIN=[REDACTED:custom.pin] inte heller."
    );
    let spans: Vec<_> = found.iter().map(|f| (f.start, f.end)).collect();
    assert_eq!(spans, [(12, 16), (34, 40)]);
}

/// Ticket text of at least `len` bytes: longer than `max_token` (4 KiB),
/// so the scanner decides bytes while more are still to come, and the scan
/// pass searches chunk after chunk, not the whole body once at its end.
fn long_text(rng: &mut corpus::Rng, len: usize) -> String {
    let mut s = String::new();
    while s.len() < len {
        s.push_str(&corpus::ticket_text(rng));
    }
    s
}

#[test]
fn a_plate_split_at_every_byte_is_found_once() {
    let filler = long_text(&mut corpus::Rng::new(1), 9000);
    let plates = "bilen RST 456 och bilen UWX 78Z står kvar.\n";
    let input = format!("{filler}{plates}{filler}");
    let (whole, found) = redact(Format::Text, input.as_bytes(), &[usize::MAX]);
    assert_eq!(whole.matches("[REDACTED:custom.plate]").count(), 2);
    assert_eq!(plates_in(&found), 2);
    // Every split inside the plates, with the first chunk past `max_token`.
    for split in filler.len()..filler.len() + plates.len() {
        let sizes = [split, 64];
        assert_eq!(
            redact(Format::Text, input.as_bytes(), &sizes).0,
            whole,
            "split {split}"
        );
    }
}

/// Ticket text with `n` plates, each after a car word, at random places.
fn with_plates(rng: &mut corpus::Rng, text: &str, n: usize) -> String {
    let mut words: Vec<String> = text.split(' ').map(str::to_string).collect();
    for k in 0..n {
        let at = rng.below(words.len() as u64 + 1) as usize;
        let letters = rng.pick(&["ADF", "BEF", "CEH"]);
        let plate = format!("bilen {letters} {}{}", 10 + k, rng.pick(&["A", "B", "C"]));
        words.insert(at, plate);
    }
    words.join(" ")
}

fn plates_in(findings: &[Finding]) -> usize {
    findings.iter().filter(|f| &*f.detector == PLATE).count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn text_with_plates_is_chunk_independent(seed in any::<u64>(), n in 0usize..12, sizes in chunk_sizes()) {
        let mut rng = corpus::Rng::new(seed);
        let text = long_text(&mut rng, 9000);
        let input = with_plates(&mut rng, &text, n);
        let (whole, fw) = redact(Format::Text, input.as_bytes(), &[usize::MAX]);
        let (split, fs) = redact(Format::Text, input.as_bytes(), &sizes);
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(fw.len(), fs.len());
        prop_assert_eq!(plates_in(&fw), n);
    }

    #[test]
    fn json_with_plates_is_chunk_independent(seed in any::<u64>(), n in 1usize..8, sizes in chunk_sizes()) {
        let mut rng = corpus::Rng::new(seed);
        let text = long_text(&mut rng, 9000);
        let body = serde_json::json!({
            "subject": with_plates(&mut rng, "Parkering", 1),
            "description": with_plates(&mut rng, &text, n),
            "id": seed % 1000,
        });
        let input = serde_json::to_vec(&body).expect("serialises");
        let (whole, fw) = redact(Format::Json, &input, &[usize::MAX]);
        let (split, fs) = redact(Format::Json, &input, &sizes);
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(fw.len(), fs.len());
        prop_assert_eq!(plates_in(&fw), n + 1);
        prop_assert!(serde_json::from_str::<serde_json::Value>(&whole).is_ok());
    }
}
