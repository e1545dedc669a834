//! Shell side of rule loading: reads a rules directory into [`RuleSource`]s
//! for the core to compile. The core never touches the file system.

use std::path::Path;

use anyhow::Context;

use crate::core::RuleSource;

/// Rule files are `.toml`; gazetteers and registries are `.txt`.
const EXTENSIONS: &[&str] = &["toml", "txt"];

/// Reads every rule and data file below `dir` (recursively), named by its
/// path relative to `dir` with `/` separators, in a stable order.
///
/// Hidden entries (names starting with `.`) are skipped: editors' swap
/// files, and the `..data` / `..<timestamp>` directories through which a
/// Kubernetes ConfigMap volume publishes its files atomically (the visible
/// names are symlinks into them, so reading both would load every rule
/// twice).
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
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout kubelet's atomic writer gives a ConfigMap volume with
    /// `items` that restore a tree: real files under `..<timestamp>/`,
    /// `..data` → that directory, and each top-level name a symlink through
    /// `..data`.
    #[test]
    fn configmap_volume_layout_loads_each_file_once() {
        use std::os::unix::fs::symlink;
        let root = tempfile::tempdir().unwrap();
        let ts = root.path().join("..2026_11_25_04_00_00.123456789");
        std::fs::create_dir_all(ts.join("detectors")).unwrap();
        std::fs::write(ts.join("settings.toml"), "[settings]\n").unwrap();
        std::fs::write(ts.join("detectors/contact.toml"), "# x\n").unwrap();
        std::fs::write(ts.join("README.md"), "not a rule").unwrap();
        symlink(
            "..2026_11_25_04_00_00.123456789",
            root.path().join("..data"),
        )
        .unwrap();
        symlink("..data/settings.toml", root.path().join("settings.toml")).unwrap();
        symlink("..data/detectors", root.path().join("detectors")).unwrap();
        symlink("..data/README.md", root.path().join("README.md")).unwrap();
        std::fs::write(root.path().join(".settings.toml.swp"), "junk").unwrap();
        let got: Vec<String> = load(root.path())
            .unwrap()
            .into_iter()
            .map(|s| s.path)
            .collect();
        assert_eq!(got, ["detectors/contact.toml", "settings.toml"]);
    }
}
