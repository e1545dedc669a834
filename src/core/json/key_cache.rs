//! What the object keys of a JSON body resolve to, cached per key path
//! (see [`KeyCache`]).

use rustc_hash::FxHashMap;

use super::super::engine::FieldCtx;
use super::super::policy::Rules;

/// Most key paths one cache holds, and most bytes of keys it keeps: its
/// memory is bounded whatever the body.
const MAX_NODES: usize = 512;
const MAX_BYTES: usize = 32 * 1024;

/// What a key path (the object keys from the root; array indices are not
/// part of it) resolves to. Everything here depends on that path alone.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    /// The last key, unescaped.
    pub name: String,
    /// The policy's rules at the path.
    pub rules: Rules,
    /// Whether strings at the path hold HTML.
    pub html: bool,
    /// What the last key brings into context.
    pub field: FieldCtx,
}

/// A cached key path; `None` stands for the one resolved last without
/// being cached (see [`KeyCache::resolution`]).
pub(super) type Node = Option<u32>;

/// The root path (no keys).
pub(super) const ROOT: Node = Some(0);

/// Resolutions of the key paths seen in one body (or JSON-lines stream),
/// by parent path and raw key. Helpdesk bodies repeat their keys (every
/// ticket of a list has the same ones), so each distinct path is resolved
/// once instead of at every member. Once full, further paths are resolved
/// every time they occur, with the same result.
#[derive(Debug)]
pub(super) struct KeyCache {
    nodes: Vec<Resolved>,
    /// The parent node's number followed by the raw key → node.
    index: FxHashMap<Box<[u8]>, u32>,
    bytes: usize,
    /// The last resolution that was not cached.
    spare: Resolved,
    /// Lookup key, reused.
    probe: Vec<u8>,
}

impl KeyCache {
    pub fn new(root: Resolved) -> Self {
        KeyCache {
            spare: Resolved::default(),
            nodes: vec![root],
            index: FxHashMap::default(),
            bytes: 0,
            probe: Vec::new(),
        }
    }

    /// The cached node of key `raw` under `parent`.
    pub fn get(&mut self, parent: Node, raw: &[u8]) -> Option<Node> {
        self.set_probe(parent?, raw);
        self.index.get(self.probe.as_slice()).map(|&n| Some(n))
    }

    /// Caches the resolution of key `raw` under `parent`; when it cannot
    /// be (the parent is not cached, or the cache is full) it becomes the
    /// spare, `None`.
    pub fn insert(&mut self, parent: Node, raw: &[u8], resolved: Resolved) -> Node {
        let size = raw.len() + resolved.name.len();
        let room = self.nodes.len() < MAX_NODES && self.bytes + size <= MAX_BYTES;
        let Some(parent) = parent.filter(|_| room) else {
            self.spare = resolved;
            return None;
        };
        self.bytes += size;
        self.set_probe(parent, raw);
        let node = self.nodes.len() as u32;
        self.index.insert(self.probe.as_slice().into(), node);
        self.nodes.push(resolved);
        Some(node)
    }

    /// Makes `resolved` the spare (a path resolved again, uncached).
    pub fn set_spare(&mut self, resolved: Resolved) {
        self.spare = resolved;
    }

    /// The resolution of `node`.
    pub fn resolution(&self, node: Node) -> &Resolved {
        match node {
            Some(n) => &self.nodes[n as usize],
            None => &self.spare,
        }
    }

    fn set_probe(&mut self, parent: u32, raw: &[u8]) {
        self.probe.clear();
        self.probe.extend_from_slice(&parent.to_le_bytes());
        self.probe.extend_from_slice(raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> Resolved {
        Resolved {
            name: name.to_string(),
            ..Resolved::default()
        }
    }

    #[test]
    fn paths_are_told_apart_by_parent_and_the_cache_stays_bounded() {
        let mut c = KeyCache::new(named(""));
        let a = c.insert(ROOT, b"a", named("a"));
        let ax = c.insert(a, b"x", named("a.x"));
        let b = c.insert(ROOT, b"b", named("b"));
        assert_eq!(c.get(b, b"x"), None);
        assert_eq!(c.get(a, b"x"), Some(ax));
        assert_eq!(c.resolution(ax).name, "a.x");
        for i in 0..2 * MAX_NODES {
            let key = format!("k{i}");
            let node = c.insert(b, key.as_bytes(), named(&key));
            assert_eq!(c.resolution(node).name, key);
        }
        assert_eq!(c.nodes.len(), MAX_NODES);
        assert!(c.bytes <= MAX_BYTES);
        // Not cached: resolved as the spare, every time.
        assert_eq!(c.get(b, b"k1000"), None);
        assert_eq!(c.insert(None, b"y", named("y")), None);
        assert_eq!(c.resolution(None).name, "y");
    }
}
