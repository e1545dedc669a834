# Sourced by scripts that run the criterion bench binary of benches/core.rs
# directly (bench-instr, profile-core). Run from the crate root.

# core_bench_bin: builds the `core` bench (release) and prints its path.
core_bench_bin() {
  cargo bench -q --bench core --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "core":
        print(m["executable"])'
}
