//! A read-side guard against request smuggling on HTTP/1.1 connections.
//!
//! hyper resolves a request carrying both `Content-Length` and
//! `Transfer-Encoding` the way RFC 9112 §6.3 allows (it drops the length,
//! frames by chunked and closes the connection afterwards), so the handler
//! never learns that the head was ambiguous. deskguard's policy is stricter:
//! such a request is refused with 400 and never reaches the helpdesk. This
//! wrapper follows HTTP/1.1 message framing on the raw byte stream, holds
//! each request head back until it is complete, and when a head is
//! ambiguous it answers 400 itself and ends the connection, before hyper
//! (and so the upstream) ever sees the request. HTTP/2 connections are
//! passed through untouched (h2 has no such ambiguity).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0";
const MAX_CHUNK_LINE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
enum St {
    Head,
    Body(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkCrlf(u8),
    Trailers,
    Passthrough,
}

/// What the framing tracker decided about a run of input bytes.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Ok,
    Reject,
}

/// The byte-level HTTP/1.1 request framing tracker (I/O free, unit-tested).
#[derive(Debug)]
pub struct Tracker {
    st: St,
    /// Bytes of the current head (or chunk-size / trailer line).
    line: Vec<u8>,
    /// Head bytes above this are not held (hyper answers 431 anyway).
    max_head: usize,
    first: bool,
    /// Bytes of the current head already handed on (complete lines).
    released: usize,
    /// How far the current head has been searched for its end.
    scanned: usize,
}

impl Tracker {
    /// A tracker for a new connection.
    pub fn new(max_head: usize) -> Tracker {
        Tracker {
            st: St::Head,
            line: Vec::new(),
            max_head,
            first: true,
            released: 0,
            scanned: 0,
        }
    }

    /// Feeds input; appends bytes that may be handed to hyper to `ready`.
    /// Returns false when an ambiguous head was found (nothing of it is released).
    fn feed(&mut self, mut input: &[u8], ready: &mut Vec<u8>) -> Verdict {
        while !input.is_empty() {
            match self.st {
                St::Passthrough => {
                    ready.extend_from_slice(input);
                    return Verdict::Ok;
                }
                St::Head => {
                    self.line.extend_from_slice(input);
                    input = &[];
                    if self.first {
                        // HTTP/2 with prior knowledge: nothing to guard.
                        let n = self.line.len().min(H2_PREFACE.len());
                        if self.line[..n] == H2_PREFACE[..n] {
                            if n == H2_PREFACE.len() {
                                ready.append(&mut self.line);
                                self.st = St::Passthrough;
                            }
                            continue;
                        }
                    }
                    let from = self.scanned.saturating_sub(2);
                    self.scanned = self.line.len();
                    match find_head_end(&self.line, from) {
                        Some(end) => {
                            let rest = self.line.split_off(end);
                            let head = std::mem::take(&mut self.line);
                            let released = std::mem::take(&mut self.released);
                            self.scanned = 0;
                            self.first = false;
                            match classify(&head) {
                                Some(Framing::Ambiguous) => return Verdict::Reject,
                                Some(Framing::Length(0)) | Some(Framing::NoBody) => {
                                    self.st = St::Head
                                }
                                Some(Framing::Length(n)) => self.st = St::Body(n),
                                Some(Framing::Chunked) => self.st = St::ChunkSize,
                                None => self.st = St::Passthrough,
                            }
                            ready.extend_from_slice(&head[released..]);
                            if !rest.is_empty() && self.feed(&rest, ready) == Verdict::Reject {
                                return Verdict::Reject;
                            }
                        }
                        None if self.line.len() > self.max_head => {
                            // hyper will answer 431; stop tracking.
                            ready.extend_from_slice(&self.line[self.released..]);
                            self.line.clear();
                            self.released = 0;
                            self.st = St::Passthrough;
                        }
                        None => {
                            // Release complete lines so hyper's header timer
                            // runs, but hold back from the last newline on:
                            // without it hyper cannot see the end of the head.
                            if let Some(p) = memchr::memrchr(b'\n', &self.line) {
                                if p > self.released {
                                    ready.extend_from_slice(&self.line[self.released..p]);
                                    self.released = p;
                                }
                            }
                        }
                    }
                }
                St::Body(n) => {
                    self.st = match release(n, &mut input, ready) {
                        0 => St::Head,
                        left => St::Body(left),
                    };
                }
                St::ChunkData(n) => {
                    self.st = match release(n, &mut input, ready) {
                        0 => St::ChunkCrlf(2),
                        left => St::ChunkData(left),
                    };
                }
                St::ChunkCrlf(left) => {
                    ready.push(input[0]);
                    input = &input[1..];
                    self.st = if left <= 1 {
                        St::ChunkSize
                    } else {
                        St::ChunkCrlf(left - 1)
                    };
                }
                St::ChunkSize | St::Trailers => {
                    let b = input[0];
                    ready.push(b);
                    input = &input[1..];
                    if b != b'\n' {
                        self.line.push(b);
                        if self.line.len() > MAX_CHUNK_LINE {
                            self.st = St::Passthrough;
                        }
                        continue;
                    }
                    let line = std::mem::take(&mut self.line);
                    let line = line.strip_suffix(b"\r").unwrap_or(&line);
                    if self.st == St::Trailers {
                        if line.is_empty() {
                            self.st = St::Head;
                        }
                        continue;
                    }
                    let size = line.split(|&c| c == b';').next().unwrap_or(&[]);
                    let size = std::str::from_utf8(size)
                        .ok()
                        .and_then(|s| u64::from_str_radix(s.trim(), 16).ok());
                    self.st = match size {
                        Some(0) => St::Trailers,
                        Some(n) => St::ChunkData(n),
                        None => St::Passthrough, // hyper rejects it
                    };
                }
            }
        }
        Verdict::Ok
    }
}

/// End of a head: the first empty line, `\n\n` or `\n\r\n` (httparse accepts bare LF).
/// Releases up to `n` bytes of a counted run (a fixed-length body or one
/// chunk's data) from the front of `input`: those bytes are data, never a
/// head, so they need no inspection. Returns how many are still to come.
fn release(n: u64, input: &mut &[u8], ready: &mut Vec<u8>) -> u64 {
    let k = n.min(input.len() as u64) as usize;
    ready.extend_from_slice(&input[..k]);
    *input = &input[k..];
    n - k as u64
}

fn find_head_end(buf: &[u8], from: usize) -> Option<usize> {
    for i in memchr::memchr_iter(b'\n', &buf[from.min(buf.len())..]).map(|i| i + from) {
        match (buf.get(i + 1), buf.get(i + 2)) {
            (Some(b'\n'), _) => return Some(i + 2),
            (Some(b'\r'), Some(b'\n')) => return Some(i + 3),
            _ => {}
        }
    }
    None
}

enum Framing {
    NoBody,
    Length(u64),
    Chunked,
    Ambiguous,
}

/// Framing of a request head; `None` when hyper will reject it anyway.
fn classify(head: &[u8]) -> Option<Framing> {
    let text = std::str::from_utf8(head).ok()?;
    let mut cl: Option<&str> = None;
    let mut te: Option<String> = None;
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')).skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") {
            if cl.is_some_and(|prev| prev.trim() != value.trim()) {
                return None;
            }
            cl = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            let t = te.get_or_insert_with(String::new);
            if !t.is_empty() {
                t.push(',');
            }
            t.push_str(value);
        }
    }
    match (cl, te) {
        (Some(_), Some(_)) => Some(Framing::Ambiguous),
        (None, Some(t)) => {
            let last = t.rsplit(',').next().unwrap_or("").trim();
            if last.eq_ignore_ascii_case("chunked") {
                Some(Framing::Chunked)
            } else {
                None
            }
        }
        (Some(v), None) => {
            let v = v.trim();
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            v.parse().ok().map(Framing::Length)
        }
        (None, None) => Some(Framing::NoBody),
    }
}

/// The fixed refusal sent for an ambiguous head (never echoes the request).
const REJECT: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 181\r\nconnection: close\r\n\r\n{\"type\":\"urn:deskguard:problem:ambiguous_framing\",\"title\":\"Ambiguous message framing\",\"status\":400,\"detail\":\"both Content-Length and Transfer-Encoding\",\"reason\":\"ambiguous_framing\"}";

/// An I/O wrapper that applies [`Tracker`] to everything hyper reads.
pub struct FramingGuard<IO> {
    inner: IO,
    tracker: Tracker,
    ready: Vec<u8>,
    ready_pos: usize,
    /// Bytes of `REJECT` already written; `Some` once rejecting.
    rejecting: Option<usize>,
    /// Called once when a request is refused (metrics).
    on_reject: Option<Box<dyn FnOnce() + Send>>,
    /// Read buffer, allocated on first use.
    buf: Option<Box<[u8]>>,
}

impl<IO> FramingGuard<IO> {
    /// Wraps a connection.
    pub fn new(inner: IO, max_head: usize, on_reject: Box<dyn FnOnce() + Send>) -> Self {
        FramingGuard {
            inner,
            tracker: Tracker::new(max_head),
            ready: Vec::new(),
            ready_pos: 0,
            rejecting: None,
            on_reject: Some(on_reject),
            buf: None,
        }
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> AsyncRead for FramingGuard<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some(written) = this.rejecting {
                if written < REJECT.len() {
                    match Pin::new(&mut this.inner).poll_write(cx, &REJECT[written..]) {
                        Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                        Poll::Ready(Ok(n)) => {
                            this.rejecting = Some(written + n);
                            continue;
                        }
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => return Poll::Pending,
                    }
                }
                let _ = Pin::new(&mut this.inner).poll_flush(cx);
                let _ = Pin::new(&mut this.inner).poll_shutdown(cx);
                // EOF for hyper: the connection is over.
                return Poll::Ready(Ok(()));
            }
            if this.ready_pos < this.ready.len() {
                let n = buf.remaining().min(this.ready.len() - this.ready_pos);
                buf.put_slice(&this.ready[this.ready_pos..this.ready_pos + n]);
                this.ready_pos += n;
                if this.ready_pos == this.ready.len() {
                    this.ready.clear();
                    this.ready_pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.tracker.st == St::Passthrough {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            // A persistent buffer: no per-read zeroing.
            let tmp = this
                .buf
                .get_or_insert_with(|| vec![0u8; 8192].into_boxed_slice());
            let mut rb = ReadBuf::new(&mut tmp[..]);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => {
                    let got = rb.filled();
                    if got.is_empty() {
                        // EOF: release whatever was held (hyper reports the partial head).
                        let held = std::mem::take(&mut this.tracker.line);
                        this.ready
                            .extend_from_slice(&held[this.tracker.released.min(held.len())..]);
                        this.tracker.released = 0;
                        if this.ready.is_empty() {
                            return Poll::Ready(Ok(()));
                        }
                        this.tracker.st = St::Passthrough;
                        continue;
                    }
                    if this.tracker.feed(got, &mut this.ready) == Verdict::Reject {
                        this.ready.clear();
                        this.ready_pos = 0;
                        this.rejecting = Some(0);
                        if let Some(f) = this.on_reject.take() {
                            f();
                        }
                    }
                }
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for FramingGuard<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8], step: usize) -> (Vec<u8>, bool) {
        let mut t = Tracker::new(16 * 1024);
        let mut ready = Vec::new();
        for c in input.chunks(step) {
            if t.feed(c, &mut ready) == Verdict::Reject {
                return (ready, false);
            }
        }
        (ready, true)
    }

    #[test]
    fn reject_body_len_matches_header() {
        let s = std::str::from_utf8(REJECT).unwrap();
        let (head, body) = s.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));
    }

    #[test]
    fn pipelined_requests_pass_at_any_split() {
        let input: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n";
        for step in 1..input.len() {
            let (ready, ok) = run(input, step);
            assert!(ok, "step {step}");
            assert_eq!(ready, input, "step {step}");
        }
    }

    #[test]
    fn ambiguous_head_is_rejected_even_when_pipelined() {
        let bad: &[u8] = b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nPOST /a HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        for step in 1..bad.len() {
            let (ready, ok) = run(bad, step);
            assert!(!ok, "step {step}");
            // hyper may see the GET, but never a complete POST head.
            let first = find_head_end(&ready, 0).map_or(0, |e| e);
            assert!(find_head_end(&ready[first..], 0).is_none(), "step {step}");
        }
        let lf: &[u8] =
            b"POST /a HTTP/1.1\nContent-Length: 4\nTransfer-Encoding: chunked\n\n0\r\n\r\n";
        for step in 1..lf.len() {
            let (ready, ok) = run(lf, step);
            assert!(!ok, "LF step {step}");
            assert!(
                find_head_end(&ready, 0).is_none(),
                "hyper must not see a complete head"
            );
        }
        // A body that merely contains header-like text is not a head.
        let fine: &[u8] = b"POST /a HTTP/1.1\r\nContent-Length: 41\r\n\r\nContent-Length: 1\r\nTransfer-Encoding: x\r\n";
        assert_eq!(
            fine.len() - fine.windows(4).position(|w| w == b"\r\n\r\n").unwrap() - 4,
            41
        );
        assert!(run(fine, 3).1);
    }

    #[test]
    fn h2_preface_passes_through() {
        let input: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        for step in 1..input.len() {
            let (ready, ok) = run(input, step);
            assert!(ok);
            assert_eq!(ready, input);
        }
    }
}
