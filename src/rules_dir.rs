//! Shell side of rule loading: reads a rules directory into [`RuleSource`]s
//! for the core to compile. The core never touches the file system.

use std::path::Path;

use anyhow::Context;

use crate::core::RuleSource;

/// Rule files are `.toml`; gazetteers and registries are `.txt`.
const EXTENSIONS: &[&str] = &["toml", "txt"];

/// Reads every rule and data file below `dir` (recursively), named by its
/// path relative to `dir` with `/` separators, in a stable order.
pub fn load(dir: &Path) -> anyhow::Result<Vec<RuleSource>> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out)
        .with_context(|| format!("reading rules directory {}", dir.display()))?;
    if !out.iter().any(|s| s.path.ends_with(".toml")) {
        anyhow::bail!("no .toml rule files in {}", dir.display());
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<RuleSource>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !EXTENSIONS.contains(&ext) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        out.push(RuleSource { path: name, text });
    }
    Ok(())
}
