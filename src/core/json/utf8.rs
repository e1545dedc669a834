//! UTF-8 checking of JSON string contents as they stream past.
//!
//! JSON exchanged between systems is UTF-8 (RFC 8259, section 8.1), and the
//! detectors read the decoded text: a string with bytes that are no UTF-8
//! is invalid JSON, refused like any other, never passed on for the
//! helpdesk to read in some other way. Runs arrive in chunks, so a
//! character split between two runs waits here for its last bytes.

/// The check's state between runs: the bytes of a character begun at the
/// end of the last run.
#[derive(Debug, Default)]
pub(super) struct Utf8Stream {
    pending: [u8; 4],
    len: usize,
}

impl Utf8Stream {
    /// Checks `run`, the next string bytes (no quote, backslash or control
    /// character among them). `Err(k)`: the character at `run[k]` is no
    /// UTF-8; `k` is negative for one begun in an earlier run. Whatever
    /// the runs, that is where `str::from_utf8` on the whole string stops.
    pub(super) fn feed(&mut self, run: &[u8]) -> Result<(), i64> {
        // Most runs (keys, codes, English text) are ASCII: one word-wise
        // test instead of the byte-wise walk of `from_utf8`.
        if self.len == 0 && run.is_ascii() {
            return Ok(());
        }
        let mut rest = run;
        if self.len > 0 {
            let begun = self.len as i64;
            let need = width(self.pending[0]) - self.len;
            let take = need.min(rest.len());
            self.pending[self.len..self.len + take].copy_from_slice(&rest[..take]);
            self.len += take;
            match std::str::from_utf8(&self.pending[..self.len]) {
                Ok(_) => self.len = 0,
                Err(e) if e.error_len().is_none() => return Ok(()),
                Err(_) => return Err(-begun),
            }
            rest = &rest[take..];
        }
        match std::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &rest[e.valid_up_to()..];
                self.pending[..tail.len()].copy_from_slice(tail);
                self.len = tail.len();
                Ok(())
            }
            Err(e) => Err((run.len() - rest.len() + e.valid_up_to()) as i64),
        }
    }

    /// How many bytes of a character wait for the rest: at a quote, a
    /// backslash or a control character, they never get it.
    pub(super) fn incomplete(&self) -> u64 {
        self.len as u64
    }
}

/// Bytes of the character lead byte `b` starts (valid leads only reach
/// here: `from_utf8` left them pending as a valid, incomplete prefix).
fn width(b: u8) -> usize {
    match b {
        0xF0.. => 4,
        0xE0.. => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `bytes` in pieces of `n`, then ends the string.
    fn check(bytes: &[u8], n: usize) -> bool {
        let mut s = Utf8Stream::default();
        bytes.chunks(n).all(|piece| s.feed(piece).is_ok()) && s.incomplete() == 0
    }

    #[test]
    fn agrees_with_from_utf8_whatever_the_pieces() {
        let cases: &[&[u8]] = &[
            "åsa.öberg".as_bytes(),
            "€ 𝄞 ä".as_bytes(),
            b"plain",
            b"",
            b"Storga\x91\x9e",
            b"\xc3",
            b"\xe2\x82",
            b"\xe2\x82A",
            b"\xf0\x9d\x84",
            b"\xed\xa0\x80",
            b"\xc0\xaf",
            b"\xf4\x90\x80\x80",
            b"a\xff",
        ];
        for bytes in cases {
            let want = std::str::from_utf8(bytes).is_ok();
            for n in 1..=5 {
                assert_eq!(check(bytes, n), want, "{bytes:?} in pieces of {n}");
            }
        }
    }

    #[test]
    fn the_error_points_at_the_bad_run() {
        let mut s = Utf8Stream::default();
        assert_eq!(s.feed(b"ok \xc3"), Ok(()));
        assert_eq!(s.feed(b"A"), Err(-1));
        let mut s = Utf8Stream::default();
        assert_eq!(s.feed(b"abc\xffdef"), Err(3));
        let mut s = Utf8Stream::default();
        assert_eq!(s.feed(b"\xe2"), Ok(()));
        assert_eq!(s.feed(b"\x82A"), Err(-1));
        let mut s = Utf8Stream::default();
        assert_eq!(s.feed(b"\xe2\x82"), Ok(()));
        assert_eq!(s.feed(b"\xac ok \x80"), Err(5));
    }
}
