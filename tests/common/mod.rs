//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod corpus;

use std::path::Path;
use std::sync::Arc;

use deskguard::core::{
    Finding, Format, PseudonymKey, RedactError, RuleSource, Ruleset, StreamSpec,
};

/// The shipped rule set, compiled once per test binary.
pub fn shipped() -> Arc<Ruleset> {
    static RULES: std::sync::OnceLock<Arc<Ruleset>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| compile(shipped_sources())).clone()
}

/// The shipped rule files (`rules/`), uncompiled: tests add their own.
pub fn shipped_sources() -> Vec<RuleSource> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    deskguard::rules_dir::load(&dir).expect("rules directory loads")
}

/// Compiles rule files, panicking with every error.
pub fn compile(sources: Vec<RuleSource>) -> Arc<Ruleset> {
    Arc::new(Ruleset::compile(&sources).unwrap_or_else(|e| panic!("rules compile:\n{e}")))
}

pub fn key() -> PseudonymKey {
    PseudonymKey::new(b"test-key-0123456789".to_vec())
}

/// Redacts `input` fed in the given chunk sizes (cycled).
pub fn redact_chunked(
    rules: &Arc<Ruleset>,
    spec: &StreamSpec,
    input: &[u8],
    sizes: &[usize],
) -> Result<(Vec<u8>, Vec<Finding>), RedactError> {
    let mut r = rules.redactor(spec, &key());
    let mut out = Vec::new();
    let mut i = 0;
    let mut k = 0;
    while i < input.len() {
        let n = sizes
            .get(k % sizes.len().max(1))
            .copied()
            .unwrap_or(input.len())
            .max(1);
        let end = (i + n).min(input.len());
        r.push(&input[i..end], &mut out)?;
        i = end;
        k += 1;
    }
    r.finish(&mut out)?;
    Ok((out, r.take_findings()))
}

/// Redacts text in one go with the shipped rules.
pub fn redact_text(input: &str) -> String {
    let (out, _) = redact_chunked(
        &shipped(),
        &StreamSpec::plain(Format::Text),
        input.as_bytes(),
        &[usize::MAX],
    )
    .expect("redacts");
    String::from_utf8(out).expect("utf-8 output")
}

/// Detector ids found in a text.
pub fn detectors_in(input: &str) -> Vec<String> {
    let (_, f) = redact_chunked(
        &shipped(),
        &StreamSpec::plain(Format::Text),
        input.as_bytes(),
        &[usize::MAX],
    )
    .expect("redacts");
    f.iter().map(|f| f.detector.to_string()).collect()
}

/// Whether `out` is `input` with some stretches replaced by placeholders:
/// the pieces of `out` between placeholders appear in `input` in order.
pub fn only_placeholders_changed(input: &str, out: &str) -> bool {
    let mut rest = input;
    for piece in split_placeholders(out) {
        match rest.find(piece) {
            Some(p) => rest = &rest[p + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Splits text on placeholders (`[REDACTED:…]`, `[id:hash]`, starred runs).
fn split_placeholders(s: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut last = 0;
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'[' {
            if let Some(end) = s[i..].find(']') {
                let inner = &s[i + 1..i + end];
                if inner.contains(':') && !inner.contains(' ') {
                    pieces.push(&s[last..i]);
                    i += end + 1;
                    last = i;
                    continue;
                }
            }
        }
        if bytes[i] == b'*' {
            pieces.push(&s[last..i]);
            while i < bytes.len()
                && (bytes[i] == b'*' || bytes[i].is_ascii_digit() || b" -".contains(&bytes[i]))
            {
                i += 1;
            }
            last = i;
            continue;
        }
        i += 1;
    }
    pieces.push(&s[last..]);
    pieces.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Chunk-size sequences for the chunk-independence properties: 1-byte
/// chunks, small, medium and large ones (cycled over the body).
pub fn chunk_sizes() -> impl proptest::strategy::Strategy<Value = Vec<usize>> {
    use proptest::prelude::*;
    prop_oneof![
        Just(vec![1]),
        prop::collection::vec(1usize..8, 1..20),
        prop::collection::vec(1usize..200, 1..20),
        prop::collection::vec(1usize..5000, 1..5),
    ]
}
