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

/// A cached key path and where the next lookups are likely to land.
#[derive(Debug)]
struct Entry {
    resolved: Resolved,
    parent: u32,
    raw: Box<[u8]>,
    /// The member that followed this one last time, in the same object.
    next: Option<u32>,
    /// The first member last time, in an object at this path.
    first: Option<u32>,
}

/// Resolutions of the key paths seen in one body (or JSON-lines stream),
/// by parent path and raw key. Helpdesk bodies repeat their keys (every
/// ticket of a list has the same ones), so each distinct path is resolved
/// once instead of at every member; and as their keys mostly come in the
/// same order, the member that followed last time is tried before the
/// index. Once full, further paths are resolved every time they occur,
/// with the same result.
#[derive(Debug)]
pub(super) struct KeyCache {
    entries: Vec<Entry>,
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
            entries: vec![Entry {
                resolved: root,
                parent: 0,
                raw: Box::default(),
                next: None,
                first: None,
            }],
            index: FxHashMap::default(),
            bytes: 0,
            spare: Resolved::default(),
            probe: Vec::new(),
        }
    }

    /// The cached node of key `raw` under `parent`, where `prev` is the
    /// node of the member before it in the same object (`None`: none, or
    /// not cached).
    pub fn get(&mut self, parent: Node, prev: Node, raw: &[u8]) -> Option<Node> {
        if let Some((guess, _)) = self.predict(parent, prev).filter(|&(_, r)| r == raw) {
            return Some(Some(guess));
        }
        let parent = parent?;
        self.set_probe(parent, raw);
        let node = *self.index.get(self.probe.as_slice())?;
        self.link(parent, prev, node);
        Some(Some(node))
    }

    /// The key expected next under `parent` after `prev` (as for
    /// [`KeyCache::get`]): the member that followed last time, with its raw
    /// key. The tokenizer compares it with the input before reading the
    /// key byte by byte.
    pub fn predict(&self, parent: Node, prev: Node) -> Option<(u32, &[u8])> {
        let parent = parent?;
        let guess = match prev {
            Some(p) => self.entries[p as usize].next,
            None => self.entries[parent as usize].first,
        }?;
        let e = &self.entries[guess as usize];
        (e.parent == parent).then_some((guess, &*e.raw))
    }

    /// Caches the resolution of key `raw` under `parent` (after `prev`, as
    /// for [`KeyCache::get`]); when it cannot be (the parent is not cached,
    /// or the cache is full) it becomes the spare, `None`.
    pub fn insert(&mut self, parent: Node, prev: Node, raw: &[u8], resolved: Resolved) -> Node {
        let size = 2 * raw.len() + resolved.name.len();
        let room = self.entries.len() < MAX_NODES && self.bytes + size <= MAX_BYTES;
        let Some(parent) = parent.filter(|_| room) else {
            self.spare = resolved;
            return None;
        };
        self.bytes += size;
        self.set_probe(parent, raw);
        let node = self.entries.len() as u32;
        self.index.insert(self.probe.as_slice().into(), node);
        self.entries.push(Entry {
            resolved,
            parent,
            raw: raw.into(),
            next: None,
            first: None,
        });
        self.link(parent, prev, node);
        Some(node)
    }

    /// Makes `resolved` the spare (a path resolved again, uncached).
    pub fn set_spare(&mut self, resolved: Resolved) {
        self.spare = resolved;
    }

    /// The resolution of `node`.
    pub fn resolution(&self, node: Node) -> &Resolved {
        match node {
            Some(n) => &self.entries[n as usize].resolved,
            None => &self.spare,
        }
    }

    /// Remembers that `node` followed `prev` (or came first) under `parent`.
    fn link(&mut self, parent: u32, prev: Node, node: u32) {
        match prev {
            Some(p) => self.entries[p as usize].next = Some(node),
            None => self.entries[parent as usize].first = Some(node),
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
        let a = c.insert(ROOT, None, b"a", named("a"));
        let ax = c.insert(a, None, b"x", named("a.x"));
        let b = c.insert(ROOT, a, b"b", named("b"));
        // `b` follows `a` and has no `x`: neither guess nor index gives `a.x`.
        assert_eq!(c.get(b, None, b"x"), None);
        assert_eq!(c.get(ROOT, a, b"x"), None);
        assert_eq!(c.get(ROOT, a, b"b"), Some(b));
        assert_eq!(c.get(a, None, b"x"), Some(ax));
        assert_eq!(c.get(a, ax, b"x"), Some(ax));
        assert_eq!(c.resolution(ax).name, "a.x");
        let mut prev = None;
        for i in 0..2 * MAX_NODES {
            let key = format!("k{i}");
            prev = c.insert(b, prev, key.as_bytes(), named(&key));
            assert_eq!(c.resolution(prev).name, key);
        }
        assert_eq!(c.entries.len(), MAX_NODES);
        assert!(c.bytes <= MAX_BYTES);
        // Not cached: resolved as the spare, every time.
        assert_eq!(c.get(b, None, b"k1000"), None);
        assert_eq!(c.insert(None, None, b"y", named("y")), None);
        assert_eq!(c.resolution(None).name, "y");
    }
}
