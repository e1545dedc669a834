//! Throughput of the redaction core with the full shipped rule set, in bytes,
//! for text and JSON at chunk sizes 64 B, 4 KiB, 64 KiB and 1 MiB, on a
//! deterministic multi-language ticket corpus (see tests/common/corpus.rs).
//! The `+scan` cases add one custom detector of kind `scan`
//! (tests/data/custom-rules/plates.toml): a pattern with no usable
//! prefilter, which runs over all text in its own pass, and what that costs.
//! The `json-list` corpus is Freshdesk's ticket list (every documented
//! field: ids, timestamps, flags, nulls; no description), where most bytes
//! are JSON structure rather than prose. The `json-nodetectors` case runs
//! the ticket JSON corpus with settings and gazetteer but no detector: the
//! cost of tokenising, the scanner's byte pass and copying, which no
//! detector work can go below.
//! `scripts/bench-core` prints the results as a MB/s table.
//!
//! With `DESKGUARD_BENCH_CORPUS=DIR` set, the binary only writes its corpora
//! to DIR (`json`, `text`, `text-clean`) and exits: `scripts/bench-instr`
//! counts instructions per byte on exactly the bytes measured here.

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use deskguard::core::{Format, PseudonymKey, RuleSource, Ruleset, StreamSpec};

#[path = "../tests/common/corpus.rs"]
mod corpus;

const CORPUS_BYTES: usize = 4 << 20;
const CHUNKS: &[(usize, &str)] = &[
    (64, "64B"),
    (4096, "4KiB"),
    (65536, "64KiB"),
    (1 << 20, "1MiB"),
];

/// The shipped rules, plus the files in `extra` (paths from the crate root).
fn rules(extra: &[&str]) -> Arc<Ruleset> {
    let mut sources = shipped_sources();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for path in extra {
        let text = std::fs::read_to_string(root.join(path)).expect("custom rule file");
        sources.push(RuleSource {
            path: path.to_string(),
            text,
        });
    }
    Arc::new(Ruleset::compile(&sources).expect("rules compile"))
}

/// The rule files of `rules/`, as the proxy loads them.
fn shipped_sources() -> Vec<RuleSource> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    deskguard::rules_dir::load(&root.join("rules")).expect("rules directory")
}

/// The shipped settings and gazetteer without a single detector or policy.
fn no_detectors() -> Arc<Ruleset> {
    let mut sources = shipped_sources();
    sources.retain(|s| !s.path.contains("detectors/") && !s.path.contains("policies/"));
    let rules = Ruleset::compile(&sources).expect("settings compile");
    assert_eq!(rules.detector_ids().count(), 0, "no detector left");
    Arc::new(rules)
}

/// A custom rule of kind `scan`, for the `+scan` cases.
const SCAN_RULE: &str = "tests/data/custom-rules/plates.toml";

fn run(
    rules: &Arc<Ruleset>,
    key: &PseudonymKey,
    format: Format,
    input: &[u8],
    chunk: usize,
) -> usize {
    let mut r = rules.redactor(&StreamSpec::plain(format), key);
    let mut out = Vec::with_capacity(chunk + 8192);
    let mut total = 0;
    for c in input.chunks(chunk) {
        out.clear();
        r.push(c, &mut out).expect("corpus redacts");
        total += out.len();
    }
    out.clear();
    r.finish(&mut out).expect("corpus redacts");
    total + out.len()
}

/// The benchmark inputs: name, format and bytes.
fn inputs() -> [(&'static str, Format, Vec<u8>); 4] {
    [
        ("json", Format::Json, corpus::tickets_json(7, CORPUS_BYTES)),
        (
            "json-list",
            Format::Json,
            corpus::ticket_list_json(7, CORPUS_BYTES),
        ),
        ("text", Format::Text, corpus::tickets_text(7, CORPUS_BYTES)),
        ("text-clean", Format::Text, {
            let mut rng = corpus::Rng::new(3);
            corpus::clean_text(&mut rng, CORPUS_BYTES).into_bytes()
        }),
    ]
}

fn bench(c: &mut Criterion) {
    let (shipped, with_scan, bare) = (rules(&[]), rules(&[SCAN_RULE]), no_detectors());
    let key = PseudonymKey::insecure_demo();
    let inputs = inputs();
    let cases = inputs
        .iter()
        .map(|(name, format, input)| (name.to_string(), &shipped, format, input));
    let scan_cases = inputs
        .iter()
        .map(|(name, format, input)| (format!("{name}+scan"), &with_scan, format, input));
    let floor = inputs
        .iter()
        .filter(|(name, ..)| *name == "json")
        .map(|(name, format, input)| (format!("{name}-nodetectors"), &bare, format, input));
    for (name, rules, format, input) in cases.chain(scan_cases).chain(floor) {
        let mut group = c.benchmark_group(format!("core/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.sample_size(10);
        for &(chunk, label) in CHUNKS {
            group.bench_with_input(BenchmarkId::from_parameter(label), &chunk, |b, &chunk| {
                b.iter(|| run(rules, &key, *format, input, chunk))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Some(dir) = std::env::var_os("DESKGUARD_BENCH_CORPUS") {
        let dir = Path::new(&dir);
        for (name, _, input) in inputs() {
            let path = dir.join(name);
            std::fs::write(&path, input)
                .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
