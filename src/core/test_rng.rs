//! The deterministic pseudo-random inputs of the core's differential tests
//! (a fast path against the general one on many generated inputs): one
//! generator for all of them, so a failing input is reproducible from its
//! seed alone.

/// One step of a xorshift generator (`state` must not be zero).
pub(crate) fn xorshift(state: &mut u64) {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
}
