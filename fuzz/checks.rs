//! What the fuzz targets check, shared with `tests/fuzz_regressions.rs`,
//! which replays every input kept under `fuzz/regressions/` on stable Rust
//! as part of `cargo test`.
//!
//! Each body is redacted whole and in chunks, and the two must agree
//! (chunk independence): same output and findings, or the same refusal.
//! Nothing may panic. A JSON body is accepted only if it is JSON, a valid
//! one is never refused as invalid, and what comes out is JSON again.
//! Text that was UTF-8 stays UTF-8 (no placeholder cuts a character).

#![allow(dead_code)] // each target uses some of the checks

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use deskguard::core::{
    Direction, Finding, Format, PseudonymKey, RedactError, Redactor, RuleSource, Ruleset,
    StreamSpec,
};

/// The shipped rules (`rules/` beside `fuzz/`), compiled once.
pub fn shipped() -> Arc<Ruleset> {
    static RULES: OnceLock<Arc<Ruleset>> = OnceLock::new();
    RULES
        .get_or_init(|| {
            let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            let dir = [here.join("rules"), here.join("../rules")]
                .into_iter()
                .find(|d| d.is_dir())
                .expect("the shipped rules directory");
            let sources = deskguard::rules_dir::load(&dir).expect("rules directory loads");
            Arc::new(Ruleset::compile(&sources).expect("shipped rules compile"))
        })
        .clone()
}

/// Where the checks redact: the default policy (every string scanned) and
/// shipped routes whose policies keep, drop and hash fields, read HTML
/// and decode base64 attachments.
const ROUTES: &[(&str, &str, &str, Direction)] = &[
    ("default", "*", "/", Direction::Request),
    ("freshdesk", "POST", "/api/v2/tickets", Direction::Request),
    ("freshdesk", "GET", "/api/v2/tickets/7", Direction::Response),
    (
        "zendesk",
        "POST",
        "/api/v2/tickets.json",
        Direction::Request,
    ),
    (
        "rt",
        "POST",
        "/REST/2.0/ticket/7/comment",
        Direction::Request,
    ),
];

/// Chunk sizes of the split run, down to single bytes.
const CHUNKS: &[usize] = &[1, 2, 3, 7, 16, 64, 1000, 4097];

/// An input's first byte picks the route (low three bits) and the chunk
/// size (next three); the rest is the body.
fn pick(format: Format, data: &[u8]) -> Option<(StreamSpec<'static>, usize, &[u8])> {
    let (&selector, body) = data.split_first()?;
    let (profile, method, path, direction) = ROUTES[usize::from(selector & 7) % ROUTES.len()];
    let spec = StreamSpec {
        format,
        profile,
        method,
        path,
        direction,
        audience: None,
    };
    Some((spec, CHUNKS[usize::from(selector >> 3 & 7)], body))
}

fn key() -> PseudonymKey {
    PseudonymKey::new(b"fuzz-key".to_vec())
}

type Outcome = Result<(Vec<u8>, Vec<Finding>), RedactError>;

/// Feeds `body` to a fresh redactor in chunks of `chunk` bytes.
fn run(make: &dyn Fn() -> Redactor, body: &[u8], chunk: usize) -> Outcome {
    let mut r = make();
    let mut out = Vec::new();
    for piece in body.chunks(chunk.max(1)) {
        r.push(piece, &mut out)?;
    }
    r.finish(&mut out)?;
    Ok((out, r.take_findings()))
}

/// Redacts `body` whole and in chunks; panics unless the two agree.
fn whole_and_split(make: &dyn Fn() -> Redactor, body: &[u8], chunk: usize) -> Outcome {
    let whole = run(make, body, usize::MAX);
    let split = run(make, body, chunk);
    match (&whole, &split) {
        (Ok(a), Ok(b)) => {
            assert!(a.0 == b.0, "output differs in {chunk}-byte chunks");
            assert_eq!(a.1, b.1, "findings differ in {chunk}-byte chunks");
        }
        (Err(a), Err(b)) => assert_eq!(
            a.reason_code(),
            b.reason_code(),
            "refusals differ in {chunk}-byte chunks"
        ),
        (a, b) => panic!(
            "whole: {:?}, in {chunk}-byte chunks: {:?}",
            a.as_ref().map(|_| "ok"),
            b.as_ref().map(|_| "ok")
        ),
    }
    whole
}

/// Whether serde_json reads `bytes` as one JSON value, or `None` where
/// its own limits decide instead of the grammar: nesting (128 levels) and
/// numbers beyond `f64` (`1e999` is JSON).
fn is_json(bytes: &[u8]) -> Option<bool> {
    let opens = bytes.iter().filter(|&&b| b == b'[' || b == b'{').count();
    if opens >= 100 {
        return None;
    }
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(_) => Some(true),
        Err(e) if e.to_string().starts_with("number out of range") => None,
        Err(_) => Some(false),
    }
}

/// One JSON body (`Format::Json`).
pub fn json(data: &[u8]) {
    let Some((spec, chunk, body)) = pick(Format::Json, data) else {
        return;
    };
    let rules = shipped();
    let outcome = whole_and_split(&|| rules.redactor(&spec, &key()), body, chunk);
    let Some(valid) = is_json(body) else {
        return;
    };
    match outcome {
        Ok((out, _)) => {
            assert!(valid, "invalid JSON accepted");
            assert_eq!(is_json(&out), Some(true), "output is not JSON");
        }
        Err(e) => assert!(
            !valid || e.reason_code() != "invalid_json",
            "valid JSON refused: {e}"
        ),
    }
}

/// JSON lines (`Format::Jsonl`): every line on its own.
pub fn jsonl(data: &[u8]) {
    let Some((spec, chunk, body)) = pick(Format::Jsonl, data) else {
        return;
    };
    let rules = shipped();
    whole_and_split(&|| rules.redactor(&spec, &key()), body, chunk).ok();
}

/// Plain text or HTML (the selector's top bit).
pub fn text(data: &[u8]) {
    let format = match data.first() {
        Some(b) if b & 0x80 != 0 => Format::Html,
        _ => Format::Text,
    };
    let Some((spec, chunk, body)) = pick(format, data) else {
        return;
    };
    let rules = shipped();
    let outcome = whole_and_split(&|| rules.redactor(&spec, &key()), body, chunk);
    if let (Ok((out, _)), true) = (&outcome, std::str::from_utf8(body).is_ok()) {
        assert!(std::str::from_utf8(out).is_ok(), "UTF-8 in, not UTF-8 out");
    }
}

/// A `multipart/form-data` body with the boundary `fuzz`.
pub fn multipart(data: &[u8]) {
    let Some((spec, chunk, body)) = pick(Format::Multipart, data) else {
        return;
    };
    let rules = shipped();
    whole_and_split(
        &|| rules.multipart_redactor(&spec, Some("fuzz"), &key()),
        body,
        chunk,
    )
    .ok();
}

/// A rule file: compiles, or every error names the file, a line in it
/// and a reason.
pub fn compile_rules(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let lines = text.lines().count().max(1);
    let source = RuleSource {
        path: "fuzz.toml".into(),
        text,
    };
    if let Err(errors) = Ruleset::compile(&[source]) {
        assert!(!errors.0.is_empty(), "refused with no error");
        for e in &errors.0 {
            assert_eq!(e.file, "fuzz.toml", "{e}");
            assert!(
                (1..=lines + 1).contains(&e.line),
                "line out of the file: {e}"
            );
            assert!(!e.reason.is_empty(), "no reason: {e}");
        }
    }
}
