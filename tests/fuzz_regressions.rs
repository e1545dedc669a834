//! Replays, on stable Rust, every input a fuzz target (fuzz/, cargo-fuzz)
//! once failed on: each must now pass that target's checks
//! (fuzz/checks.rs). `scripts/fuzz` runs the targets themselves; a crash
//! it finds goes into fuzz/regressions/TARGET/ with its fix.

#[path = "../fuzz/checks.rs"]
mod checks;

use std::path::Path;

/// Runs `check` on every file in fuzz/regressions/`target`; returns how many.
fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut n = 0;
    for entry in entries {
        let path = entry.expect("directory entry").path();
        let input = std::fs::read(&path).expect("regression input");
        eprintln!("{target}: {}", path.display());
        check(&input);
        n += 1;
    }
    n
}

#[test]
fn json_regressions_pass() {
    let n = replay("redact_json", |data| {
        checks::json(data);
        checks::jsonl(data);
    });
    // Non-vacuous: at least the Latin-1 byte the JSON target found first.
    assert!(n >= 1, "no JSON regressions found");
}

#[test]
fn text_multipart_and_rule_regressions_pass() {
    replay("redact_text", checks::text);
    replay("redact_multipart", checks::multipart);
    replay("compile_rules", checks::compile_rules);
}
