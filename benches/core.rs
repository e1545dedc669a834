//! Throughput of the redaction core with the full shipped rule set, in bytes,
//! for text and JSON at chunk sizes 64 B, 4 KiB, 64 KiB and 1 MiB, on a
//! deterministic multi-language ticket corpus (see tests/common/corpus.rs).
//! `scripts/bench-core` prints the results as a MB/s table.
//!
//! With `DESKGUARD_BENCH_CORPUS=DIR` set, the binary only writes its corpora
//! to DIR (`json`, `text`, `text-clean`) and exits: `scripts/bench-instr`
//! counts instructions per byte on exactly the bytes measured here.

use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use deskguard::core::{Format, PseudonymKey, Ruleset, StreamSpec};

#[path = "../tests/common/corpus.rs"]
mod corpus;

const CORPUS_BYTES: usize = 4 << 20;
const CHUNKS: &[(usize, &str)] = &[
    (64, "64B"),
    (4096, "4KiB"),
    (65536, "64KiB"),
    (1 << 20, "1MiB"),
];

fn rules() -> Arc<Ruleset> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let sources = deskguard::rules_dir::load(&dir).expect("rules directory");
    Arc::new(Ruleset::compile(&sources).expect("shipped rules compile"))
}

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
fn inputs() -> [(&'static str, Format, Vec<u8>); 3] {
    [
        ("json", Format::Json, corpus::tickets_json(7, CORPUS_BYTES)),
        ("text", Format::Text, corpus::tickets_text(7, CORPUS_BYTES)),
        ("text-clean", Format::Text, {
            let mut rng = corpus::Rng::new(3);
            corpus::clean_text(&mut rng, CORPUS_BYTES).into_bytes()
        }),
    ]
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    let key = PseudonymKey::insecure_demo();
    for (name, format, input) in &inputs() {
        let mut group = c.benchmark_group(format!("core/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        group.sample_size(10);
        for &(chunk, label) in CHUNKS {
            group.bench_with_input(BenchmarkId::from_parameter(label), &chunk, |b, &chunk| {
                b.iter(|| run(&rules, &key, *format, input, chunk))
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
