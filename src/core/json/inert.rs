//! Short string values and numbers the scanner left as they were,
//! remembered by key path (see [`InertValues`]).

use std::hash::Hasher;

use rustc_hash::FxHasher;

/// Longest value remembered: the enumerations helpdesk bodies repeat
/// (ticket types, statuses, tags, product names) are short, and a longer
/// value is rarely repeated.
pub(super) const INERT_MAX: usize = 32;

/// Slots of the table rewriters use: its memory is bounded whatever the
/// body (at most this many values of at most [`INERT_MAX`] bytes). A power
/// of two, so a hash picks a slot by a mask, not a division.
pub(super) const INERT_SLOTS: usize = 256;

/// Where a value at a key path is remembered (see [`InertValues::slot`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    k: usize,
    node: u32,
}

/// Short scanned string values (or numbers) that came out unchanged and with no
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
    /// A table of `slots` slots, a power of two (none: nothing is
    /// remembered).
    pub fn new(slots: usize) -> Self {
        assert!(slots == 0 || slots.is_power_of_two(), "{slots} slots");
        InertValues {
            slots: vec![None; slots],
        }
    }

    /// The slot for `value` at key path `node`, if it may be remembered:
    /// hashed once for both [`Self::holds`] and [`Self::remember`].
    pub fn slot(&self, node: u32, value: &[u8]) -> Option<Slot> {
        if self.slots.is_empty() || value.len() > INERT_MAX {
            return None;
        }
        let mut h = FxHasher::default();
        h.write_u32(node);
        h.write(value);
        let k = h.finish() as usize & (self.slots.len() - 1);
        Some(Slot { k, node })
    }

    /// Whether `value`, whose slot is `slot`, is known to come out
    /// unchanged and with no finding.
    pub fn holds(&self, slot: Slot, value: &[u8]) -> bool {
        self.slots[slot.k]
            .as_ref()
            .is_some_and(|(n, v)| *n == slot.node && v == value)
    }

    /// Remembers that `value`, whose slot is `slot`, came out unchanged
    /// and with no finding.
    pub fn remember(&mut self, slot: Slot, value: &[u8]) {
        match &mut self.slots[slot.k] {
            Some((n, v)) => {
                *n = slot.node;
                v.clear();
                v.extend_from_slice(value);
            }
            empty => *empty = Some((slot.node, value.to_vec())),
        }
    }
}
