//! Invariant 1, chunk independence: the output for a body is byte-identical
//! whatever the chunk boundaries are (random splits down to 1 byte), for
//! text, HTML, JSON and JSON lines; JSON output always parses and equals the
//! input outside redacted values; arbitrary bytes never panic.

mod common;

use common::{chunk_sizes, corpus, redact_chunked, shipped};
use deskguard::core::{Format, StreamSpec};
use proptest::prelude::*;

fn text_input(seed: u64, extra: &str) -> Vec<u8> {
    let mut rng = corpus::Rng::new(seed);
    let mut s = corpus::ticket_text(&mut rng);
    s.push_str(extra);
    s.push_str(&corpus::ticket_text(&mut rng));
    s.into_bytes()
}

fn check(format: Format, input: &[u8], sizes: &[usize]) -> Result<(), TestCaseError> {
    let rules = shipped();
    let spec = StreamSpec::plain(format);
    let whole = redact_chunked(&rules, &spec, input, &[usize::MAX]);
    let split = redact_chunked(&rules, &spec, input, sizes);
    match (whole, split) {
        (Ok((a, fa)), Ok((b, fb))) => {
            prop_assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            prop_assert_eq!(fa, fb);
        }
        (Err(a), Err(b)) => prop_assert_eq!(a.reason_code(), b.reason_code()),
        (a, b) => prop_assert!(
            false,
            "whole {:?} vs split {:?}",
            a.map(|x| x.1.len()),
            b.map(|x| x.1.len())
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn text_is_chunk_independent(seed in any::<u64>(), extra in "[ -~åäöÅÄÖæøÆØ\n]{0,80}", sizes in chunk_sizes()) {
        check(Format::Text, &text_input(seed, &extra), &sizes)?;
    }

    #[test]
    fn html_is_chunk_independent(seed in any::<u64>(), sizes in chunk_sizes()) {
        let text = String::from_utf8(text_input(seed, "")).unwrap();
        let html = format!("<p>{}</p>", text.replace('\n', "<br>").replace(' ', "&nbsp;"));
        check(Format::Html, html.as_bytes(), &sizes)?;
    }

    #[test]
    fn json_is_chunk_independent(seed in any::<u64>(), sizes in chunk_sizes()) {
        let input = corpus::tickets_json(seed, 3000);
        check(Format::Json, &input, &sizes)?;
    }

    #[test]
    fn ticket_lists_are_chunk_independent(seed in any::<u64>(), sizes in chunk_sizes()) {
        let input = corpus::ticket_list_json(seed, 4000);
        check(Format::Json, &input, &sizes)?;
    }

    #[test]
    fn jsonl_is_chunk_independent(seed in any::<u64>(), sizes in chunk_sizes()) {
        let mut rng = corpus::Rng::new(seed);
        let lines: Vec<String> = (0..3).map(|i| corpus::ticket_json(&mut rng, i)).collect();
        check(Format::Jsonl, lines.join("\n").as_bytes(), &sizes)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_chunk_independent(bytes in prop::collection::vec(any::<u8>(), 0..1500), sizes in chunk_sizes(), which in 0usize..4) {
        let format = [Format::Text, Format::Html, Format::Json, Format::Jsonl][which];
        check(format, &bytes, &sizes)?;
    }

    #[test]
    fn json_output_parses_and_only_redacted_values_change(value in arb_json(), sizes in chunk_sizes(), escape in any::<bool>()) {
        let mut input = serde_json::to_string(&value).unwrap();
        if escape {
            input = escape_non_ascii(&input);
        }
        let rules = shipped();
        let (out, _) = redact_chunked(&rules, &StreamSpec::plain(Format::Json), input.as_bytes(), &sizes).unwrap();
        let parsed: serde_json::Value = serde_json::from_slice(&out).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&out))))?;
        prop_assert!(same_outside_redactions(&value, &parsed), "{} -> {}", input, String::from_utf8_lossy(&out));
    }
}

const PII: &[&str] = &[
    "19811218-9876",
    "4111 1111 1111 1111",
    "lösenord: Hemligt123",
    "anna.svensson@example.se",
    "Hej Anna Svensson",
    "SE45 5000 0000 0583 9825 7466",
    "order 2024-0012345",
    "\"quoted\" \\ back\nslash",
    "😀 emoji \u{1}",
];

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 åäö.,:-]{0,30}",
        (prop::sample::select(PII), "[a-z ]{0,10}").prop_map(|(p, s)| format!("{s}{p}{s}")),
    ]
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(8112189876u64)),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(
                    &[
                        "name",
                        "email",
                        "description",
                        "national_id",
                        "a",
                        "b",
                        "phone",
                        "cf_x"
                    ][..]
                )
                .prop_map(str::to_string),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn escape_non_ascii(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

fn same_outside_redactions(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_outside_redactions(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_outside_redactions(v, w))
        }
        (Value::String(x), Value::String(y)) => x == y || common::only_placeholders_changed(x, y),
        (Value::Number(x), Value::String(y)) => {
            common::only_placeholders_changed(&x.to_string(), y)
        }
        (x, y) => x == y,
    }
}
