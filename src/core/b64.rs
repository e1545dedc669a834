//! Base64 content inside a JSON string (Request Tracker attachments:
//! `Attachments[].FileContent` in requests, `Content` of an attachment read):
//! JSON escapes (`\/`, `\n`, `\u002F`) are undone and base64 is decoded as the
//! bytes stream in; the decoded content is sniffed (its first
//! [`SNIFF`] bytes); text goes through the scanner (as HTML when it starts
//! with `<`) and is re-encoded as base64 without line breaks; binary content
//! is re-encoded unchanged, or refused when the policy says
//! `attachments = "refuse"`. Memory is bounded by the sniff window and the
//! scanner's own bound, whatever the attachment's size; the output does not
//! depend on chunk boundaries.

use base64::Engine as _;

use super::action::PseudonymKey;
use super::decode::Encoding;
use super::engine::{Engine, FieldCtx};
use super::error::RedactError;
use super::scanner::Scanner;

/// Decoded bytes looked at before deciding text or binary.
pub(crate) const SNIFF: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Undecided,
    Text,
    Binary,
}

/// Whether decoded content (a prefix of it, unless `complete`) is text:
/// UTF-8 without control characters other than tab, line breaks and form feed.
pub(crate) fn looks_like_text(buf: &[u8], complete: bool) -> bool {
    let valid = match std::str::from_utf8(buf) {
        Ok(_) => true,
        // A multi-byte character cut by the sniff window is fine.
        Err(e) => !complete && e.error_len().is_none(),
    };
    valid
        && !buf
            .iter()
            .any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c) || b == 0x7f)
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Streaming base64 encoder (standard alphabet, padded, no line breaks).
#[derive(Default)]
struct Encoder {
    carry: Vec<u8>,
}

impl Encoder {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        self.carry.extend_from_slice(bytes);
        let whole = self.carry.len() / 3 * 3;
        if whole > 0 {
            let s = base64::engine::general_purpose::STANDARD.encode(&self.carry[..whole]);
            out.extend_from_slice(s.as_bytes());
            self.carry.drain(..whole);
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        let s = base64::engine::general_purpose::STANDARD.encode(&self.carry);
        out.extend_from_slice(s.as_bytes());
        self.carry.clear();
    }
}

/// Inspects one base64 JSON string value.
pub(crate) struct B64Inspector {
    path: String,
    refuse_binary: bool,
    shadow: bool,
    /// JSON escape state: 0 none, 1 after `\`, 2..=5 inside `\uXXXX`.
    esc: u8,
    uacc: u32,
    quad: [u8; 4],
    qn: usize,
    padded: bool,
    kind: Kind,
    sniff: Vec<u8>,
    enc: Encoder,
    decoded: Vec<u8>,
    scanned: Vec<u8>,
}

impl Default for B64Inspector {
    fn default() -> Self {
        B64Inspector {
            path: String::new(),
            refuse_binary: true,
            shadow: false,
            esc: 0,
            uacc: 0,
            quad: [0; 4],
            qn: 0,
            padded: false,
            kind: Kind::Undecided,
            sniff: Vec::new(),
            enc: Encoder::default(),
            decoded: Vec::new(),
            scanned: Vec::new(),
        }
    }
}

/// What the inspector needs from its owner for one call.
pub(crate) struct Ctx<'a> {
    pub engine: &'a Engine,
    pub key: &'a PseudonymKey,
    pub scanner: &'a mut Scanner,
    pub field: FieldCtx,
}

impl B64Inspector {
    /// Starts a new value at `path`.
    pub fn reset(&mut self, path: &str, refuse_binary: bool, shadow: bool) {
        self.path.clear();
        self.path.push_str(path);
        self.refuse_binary = refuse_binary;
        self.shadow = shadow;
        self.esc = 0;
        self.uacc = 0;
        self.qn = 0;
        self.padded = false;
        self.kind = Kind::Undecided;
        self.sniff.clear();
        self.enc.carry.clear();
    }

    fn invalid(&self) -> RedactError {
        RedactError::InvalidBase64 {
            path: self.path.clone(),
        }
    }

    /// Feeds raw JSON string content (escapes included, no quotes).
    pub fn push(
        &mut self,
        cx: &mut Ctx<'_>,
        raw: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        for &b in raw {
            let c = match self.esc {
                0 if b == b'\\' => {
                    self.esc = 1;
                    continue;
                }
                0 => b,
                1 => {
                    self.esc = 0;
                    match b {
                        b'/' => b'/',
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            self.esc = 2;
                            self.uacc = 0;
                            continue;
                        }
                        _ => return Err(self.invalid()),
                    }
                }
                _ => {
                    let d = (b as char).to_digit(16).ok_or_else(|| self.invalid())?;
                    self.uacc = self.uacc * 16 + d;
                    if self.esc < 5 {
                        self.esc += 1;
                        continue;
                    }
                    self.esc = 0;
                    u8::try_from(self.uacc).map_err(|_| self.invalid())?
                }
            };
            self.base64_char(c, &mut decoded)?;
        }
        let r = self.decoded_bytes(cx, &decoded, out);
        self.decoded = decoded;
        if self.shadow {
            out.extend_from_slice(raw);
        }
        r
    }

    fn base64_char(&mut self, c: u8, decoded: &mut Vec<u8>) -> Result<(), RedactError> {
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            return Ok(());
        }
        if c == b'=' {
            match (self.padded, self.qn) {
                (true, _) => {}
                (false, 2 | 3) => {
                    self.flush_quad(decoded);
                    self.padded = true;
                }
                _ => return Err(self.invalid()),
            }
            return Ok(());
        }
        let v = b64_value(c).ok_or_else(|| self.invalid())?;
        if self.padded {
            return Err(self.invalid());
        }
        self.quad[self.qn] = v;
        self.qn += 1;
        if self.qn == 4 {
            self.flush_quad(decoded);
        }
        Ok(())
    }

    fn flush_quad(&mut self, decoded: &mut Vec<u8>) {
        let q = self.quad;
        let n = self.qn;
        let bits = (u32::from(q[0]) << 18)
            | (u32::from(q[1]) << 12)
            | (u32::from(if n > 2 { q[2] } else { 0 }) << 6)
            | u32::from(if n > 3 { q[3] } else { 0 });
        let bytes = [(bits >> 16) as u8, (bits >> 8) as u8, bits as u8];
        decoded.extend_from_slice(&bytes[..n.saturating_sub(1)]);
        self.qn = 0;
    }

    /// Routes decoded bytes: to the sniff window, then to the scanner (text)
    /// or straight to the encoder (binary).
    fn decoded_bytes(
        &mut self,
        cx: &mut Ctx<'_>,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if self.kind == Kind::Undecided {
            self.sniff.extend_from_slice(bytes);
            if self.sniff.len() < SNIFF {
                return Ok(());
            }
            let sniff = std::mem::take(&mut self.sniff);
            self.decide(cx, &sniff, false)?;
            let r = self.route(cx, &sniff, out);
            self.sniff = sniff;
            self.sniff.clear();
            return r;
        }
        self.route(cx, bytes, out)
    }

    fn decide(
        &mut self,
        cx: &mut Ctx<'_>,
        sniff: &[u8],
        complete: bool,
    ) -> Result<(), RedactError> {
        if looks_like_text(sniff, complete) {
            self.kind = Kind::Text;
            let html = sniff.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
            let enc = if html {
                Encoding::Html
            } else {
                Encoding::Plain
            };
            cx.scanner.reset(
                cx.engine,
                cx.key,
                enc,
                0,
                &cx.field,
                &self.path,
                self.shadow,
            );
            Ok(())
        } else if self.refuse_binary {
            Err(RedactError::AttachmentRefused {
                path: self.path.clone(),
            })
        } else {
            self.kind = Kind::Binary;
            Ok(())
        }
    }

    fn route(
        &mut self,
        cx: &mut Ctx<'_>,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let sink = if self.shadow { &mut self.scanned } else { out };
        match self.kind {
            Kind::Text => {
                let mut text = Vec::with_capacity(bytes.len() + 16);
                cx.scanner.push(cx.engine, cx.key, bytes, &mut text)?;
                self.enc.push(&text, sink);
            }
            _ => self.enc.push(bytes, sink),
        }
        self.scanned.clear();
        Ok(())
    }

    /// Ends the value: flushes the scanner and the encoder.
    pub fn finish(&mut self, cx: &mut Ctx<'_>, out: &mut Vec<u8>) -> Result<(), RedactError> {
        if self.esc != 0 {
            return Err(self.invalid());
        }
        let mut decoded = Vec::new();
        if self.qn > 0 {
            if self.qn == 1 {
                return Err(self.invalid());
            }
            self.flush_quad(&mut decoded);
        }
        if self.kind == Kind::Undecided {
            self.sniff.extend_from_slice(&decoded);
            let sniff = std::mem::take(&mut self.sniff);
            self.decide(cx, &sniff, true)?;
            self.route(cx, &sniff, out)?;
        } else {
            self.route(cx, &decoded, out)?;
        }
        let sink = if self.shadow { &mut self.scanned } else { out };
        if self.kind == Kind::Text {
            let mut text = Vec::new();
            cx.scanner.finish(cx.engine, cx.key, &mut text)?;
            self.enc.push(&text, sink);
        }
        self.enc.finish(sink);
        self.scanned.clear();
        Ok(())
    }
}
