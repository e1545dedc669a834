//! Short string values the scanner left as they were, remembered by key
//! path (see [`InertValues`]).

use std::hash::Hasher;

use rustc_hash::FxHasher;

/// Longest value remembered: the enumerations helpdesk bodies repeat
/// (ticket types, statuses, tags, product names) are short, and a longer
/// value is rarely repeated.
pub(super) const INERT_MAX: usize = 32;

/// Slots of the table rewriters use: its memory is bounded whatever the
/// body (at most this many values of at most [`INERT_MAX`] bytes).
pub(super) const INERT_SLOTS: usize = 256;

/// Short scanned string values that came out unchanged and with no
/// finding, by key path. A value's redaction depends on its bytes and its
/// key path alone (the path fixes its field context and encoding; the
/// engine, mode and key are the rewriter's), so the same bytes at the same
/// path come out unchanged and unreported again: a repeat is copied
/// without scanning it. A direct-mapped table: a value takes the slot its
/// hash picks, in place of what was there.
#[derive(Debug)]
pub(super) struct InertValues {
    slots: Vec<Option<(u32, Vec<u8>)>>,
}

impl InertValues {
    /// A table of `slots` slots (none: nothing is remembered).
    pub fn new(slots: usize) -> Self {
        InertValues {
            slots: vec![None; slots],
        }
    }

    /// The slot for `value` at key path `node`.
    fn slot(&self, node: u32, value: &[u8]) -> Option<usize> {
        if self.slots.is_empty() || value.len() > INERT_MAX {
            return None;
        }
        let mut h = FxHasher::default();
        h.write_u32(node);
        h.write(value);
        Some(h.finish() as usize % self.slots.len())
    }

    /// Whether `value` at key path `node` is known to come out unchanged
    /// and with no finding.
    pub fn contains(&self, node: u32, value: &[u8]) -> bool {
        self.slot(node, value).is_some_and(|k| {
            self.slots[k]
                .as_ref()
                .is_some_and(|(n, v)| *n == node && v == value)
        })
    }

    /// Remembers that `value` at key path `node` came out unchanged and
    /// with no finding (a value longer than [`INERT_MAX`] is not kept).
    pub fn insert(&mut self, node: u32, value: &[u8]) {
        let Some(k) = self.slot(node, value) else {
            return;
        };
        match &mut self.slots[k] {
            Some((n, v)) => {
                *n = node;
                v.clear();
                v.extend_from_slice(value);
            }
            empty => *empty = Some((node, value.to_vec())),
        }
    }
}
