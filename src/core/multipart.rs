//! Streaming `multipart/form-data` rewriter (Freshdesk ticket creation with
//! attachments). Parts are read as they stream; nothing holds a whole part.
//!
//! - Text parts (no filename, or a `text/*` file) are inspected: the form
//!   field name is the policy path (`custom_fields[cf_x]` → `custom_fields.cf_x`,
//!   `tags[]` → `tags`), and the route's field policy applies: keep, scan
//!   (detectors; HTML for `text/html` or HTML fields), hash (keyed pseudonym)
//!   or drop (the whole part is removed).
//! - Binary file parts pass unchanged or refuse the body, as the policy's
//!   `attachments` says (a `drop` rule on their field name still removes them).
//!   File names are scanned like free text.
//! - Preamble and epilogue are dropped; the output is re-framed with the same
//!   boundary and is byte-identical whatever the chunk boundaries.
//! - Malformed bodies (no boundary, over-long part headers, no closing
//!   boundary, an encoded text part) are errors: the shell fails closed.
//!
//! - On a tagged ticket creation a client's `tags[]` part whose value is a
//!   basis or retention tag (`legal-basis:*`, `retention:*`) is removed; such
//!   a part is held back until its first bytes tell ([`MAX_TAG_PROBE`]).
//!
//! Memory: the longest part header block ([`MAX_HEADERS`]), the boundary,
//! a held `tags[]` part's head and first bytes, and the scanner's own bound.

use std::sync::Arc;

use super::action::{PseudonymKey, Pseudonymizer};
use super::decode::Encoding;
use super::engine::Engine;
use super::error::RedactError;
use super::finding::{ActionKind, Finding};
use super::legal_basis::{LegalBasis, LegalBasisDecision, TaggingTarget};
use super::policy::{Attachments, FieldAction, FieldPolicy, Mode};
use super::scanner::Scanner;

/// Longest header block of one part.
pub const MAX_HEADERS: usize = 8 * 1024;
/// Longest boundary (RFC 2046 allows 70 characters).
const MAX_BOUNDARY: usize = 200;
/// Longest value kept (in memory only) for the legal-basis decision.
const MAX_CAPTURE: usize = 512;

/// A `tags[]` part of a tagged ticket creation is held back (head and
/// content, after redaction) until its value shows whether it is a basis or
/// retention tag the client made up. That needs at most its leading white
/// space and the longest prefix: a part whose first [`MAX_TAG_PROBE`] bytes
/// still cannot tell is refused (`invalid_multipart`).
const MAX_TAG_PROBE: usize = 512;

/// Whether a tag value starting with `probe` is protected (starts, after
/// white space, with one of `prefixes`, ASCII case-insensitively), or
/// `None` while the bytes seen cannot tell yet (`ended`: the value is
/// complete). Only the bytes decide, never where a chunk ended.
fn protected_tag(probe: &[u8], ended: bool, prefixes: &[&str]) -> Option<bool> {
    let mut i = 0;
    while i < probe.len() {
        let b = probe[i];
        if b < 0x80 {
            if char::from(b).is_whitespace() {
                i += 1;
                continue;
            }
            break;
        }
        let len = match b {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF7 => 4,
            _ => break,
        };
        let Some(bytes) = probe.get(i..i + len) else {
            if ended {
                break;
            }
            return None;
        };
        match std::str::from_utf8(bytes)
            .ok()
            .and_then(|c| c.chars().next())
        {
            Some(c) if c.is_whitespace() => i += len,
            _ => break,
        }
    }
    let rest = &probe[i..];
    let mut undecided = false;
    for p in prefixes {
        let p = p.as_bytes();
        let n = p.len().min(rest.len());
        if !rest[..n].eq_ignore_ascii_case(&p[..n]) {
            continue;
        }
        if n == p.len() {
            return Some(true);
        }
        undecided = true;
    }
    if undecided && !ended {
        None
    } else {
        Some(false)
    }
}

/// A `tags[]` part held back until [`protected_tag`] decides.
struct HeldTag {
    /// The part's output so far (head and redacted content).
    out: Vec<u8>,
    /// Its raw content so far (at most [`MAX_TAG_PROBE`] bytes).
    probe: Vec<u8>,
    /// Body offset of the part, for the finding.
    at: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Preamble,
    AfterDelim,
    Headers,
    Body,
    Epilogue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    Copy,
    Scan,
    Hash,
    Discard,
}

/// Checks a boundary parameter (RFC 2046 `bchars`, 1–70, here up to 200).
pub fn valid_boundary(b: &str) -> bool {
    !b.is_empty()
        && b.len() <= MAX_BOUNDARY
        && !b.ends_with(' ')
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c))
}

/// Legal-basis tagging of a multipart ticket creation: requester (and rule)
/// fields are captured as they pass; at the closing boundary parts
/// `tags[]`=`<prefix><basis>`, `tags[]`=`retention:<class>` and
/// `custom_fields[<key>]`=`<basis>` are added (the client's own value for that
/// custom field is removed, and so are its `tags[]` parts carrying a basis or
/// retention tag: see [`protected_tag`]).
pub(crate) struct MpTagging {
    lb: Arc<LegalBasis>,
    target: TaggingTarget,
    shadow: bool,
    captured: Vec<(Vec<String>, String)>,
    capturing: Option<(Vec<String>, Vec<u8>)>,
    tags_seen: Vec<String>,
    pub decision: Option<LegalBasisDecision>,
}

impl MpTagging {
    pub fn new(lb: Arc<LegalBasis>, target: TaggingTarget, shadow: bool) -> Self {
        MpTagging {
            lb,
            target,
            shadow,
            captured: Vec::new(),
            capturing: None,
            tags_seen: Vec::new(),
            decision: None,
        }
    }

    /// The path relative to the ticket (the ticket object's prefix removed).
    fn relative(&self, path: &[String]) -> Option<Vec<String>> {
        path.strip_prefix(self.target.ticket.as_slice())
            .map(<[String]>::to_vec)
    }

    fn wants(&self, rel: &[String]) -> bool {
        let t = &self.target;
        t.requester
            .iter()
            .chain(&t.company)
            .any(|p| p.as_slice() == rel)
            || self.lb.rules.iter().any(|r| r.field.as_slice() == rel)
            || t.tags.as_deref().is_some_and(|k| rel == [k])
    }

    /// Whether the part is a member of the tags array (`tags[]`), whose
    /// value must not be a basis or retention tag the client made up.
    fn is_tags(&self, rel: &[String]) -> bool {
        self.target.tags.as_deref().is_some_and(|k| rel == [k])
    }

    /// The tag prefixes a client may not send: the target's `tag_prefix`
    /// and `retention:` (compared case-insensitively, after white space).
    fn protected_prefixes(&self) -> [&str; 2] {
        [self.target.tag_prefix.as_str(), "retention:"]
    }

    /// Whether the part is the client's own value of the legal-basis field.
    fn is_basis_field(&self, rel: &[String]) -> bool {
        !self.shadow
            && self
                .target
                .field_object
                .as_ref()
                .is_some_and(|(obj, key)| rel.len() == 2 && rel[0] == *obj && rel[1] == *key)
    }

    fn end_capture(&mut self) {
        if let Some((rel, raw)) = self.capturing.take() {
            let value = String::from_utf8_lossy(&raw).into_owned();
            if self.target.tags.as_deref().is_some_and(|k| rel == [k]) {
                self.tags_seen.push(value.trim().to_string());
            } else {
                self.captured.push((rel, value));
            }
        }
    }

    /// Decides and writes the tagging parts.
    fn finish(&mut self, boundary: &[u8], out: &mut Vec<u8>) {
        let decision = self.lb.decide(&self.target, &self.captured);
        if !self.shadow {
            let prefix: Vec<&str> = self.target.ticket.iter().map(String::as_str).collect();
            if let Some(tags) = &self.target.tags {
                for tag in [
                    format!("{}{}", self.target.tag_prefix, decision.basis),
                    format!("retention:{}", decision.retention),
                ] {
                    if !self.tags_seen.contains(&tag) {
                        let name = form_name(&prefix, &[tags.as_str()], true);
                        write_part(boundary, &name, &tag, out);
                    }
                }
            }
            if let Some((obj, key)) = &self.target.field_object {
                let name = form_name(&prefix, &[obj.as_str(), key.as_str()], false);
                write_part(boundary, &name, &decision.basis, out);
            }
        }
        self.decision = Some(decision);
    }
}

/// `a[b][c]` (with `[]` for an array member) from path segments.
fn form_name(prefix: &[&str], rest: &[&str], array: bool) -> String {
    let mut segs = prefix.iter().chain(rest);
    let mut name = segs.next().map(|s| s.to_string()).unwrap_or_default();
    for s in segs {
        name.push('[');
        name.push_str(s);
        name.push(']');
    }
    if array {
        name.push_str("[]");
    }
    name
}

fn write_part(boundary: &[u8], name: &str, value: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(boundary);
    out.extend_from_slice(b"\r\nContent-Disposition: form-data; name=\"");
    out.extend_from_slice(name.replace(['"', '\r', '\n'], "").as_bytes());
    out.extend_from_slice(b"\"\r\n\r\n");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The policy path of a form field name: `custom_fields[cf_x]` →
/// `custom_fields.cf_x`; `[]` and numeric indices are not part of paths.
fn field_path(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (head, mut rest) = match name.find('[') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    out.push(head.to_string());
    while let Some(r) = rest.strip_prefix('[') {
        let Some(end) = r.find(']') else {
            // Not bracket syntax after all: the remainder is part of the name.
            if let Some(last) = out.last_mut() {
                last.push('[');
                last.push_str(r);
            }
            break;
        };
        let seg = &r[..end];
        if !seg.is_empty() && !seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push(seg.to_string());
        }
        rest = &r[end + 1..];
    }
    out
}

/// The parsed head of one part.
#[derive(Debug, Default)]
struct PartHead {
    name: Option<String>,
    filename: Option<String>,
    content_type: Option<String>,
    encoded: bool,
    /// Header lines (unfolded), raw.
    lines: Vec<String>,
    disposition_line: Option<usize>,
}

/// Splits `form-data; name="a"; filename="b"` into lower-cased keys and unquoted values.
fn params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = value.char_indices().peekable();
    // Skip the disposition type.
    for (_, c) in chars.by_ref() {
        if c == ';' {
            break;
        }
    }
    loop {
        let mut key = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' || c == ';' {
                break;
            }
            key.push(c);
            chars.next();
        }
        let key = key.trim().to_ascii_lowercase();
        let mut val = String::new();
        if chars.peek().is_some_and(|&(_, c)| c == '=') {
            chars.next();
            while chars.peek().is_some_and(|&(_, c)| c == ' ' || c == '\t') {
                chars.next();
            }
            if chars.peek().is_some_and(|&(_, c)| c == '"') {
                chars.next();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some((_, n)) = chars.next() {
                                val.push(n);
                            }
                        }
                        c => val.push(c),
                    }
                }
                // Skip to the next ';'.
                for (_, c) in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                }
            } else {
                for (_, c) in chars.by_ref() {
                    if c == ';' {
                        break;
                    }
                    val.push(c);
                }
                val = val.trim().to_string();
            }
        } else if chars.peek().is_some() {
            chars.next();
        }
        if !key.is_empty() {
            out.push((key, val));
        }
        if chars.peek().is_none() {
            break;
        }
    }
    out
}

fn parse_head(block: &[u8]) -> Result<PartHead, &'static str> {
    let text = std::str::from_utf8(block).map_err(|_| "part headers are not UTF-8")?;
    let mut head = PartHead::default();
    for raw in text.split("\r\n") {
        if raw.is_empty() {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            match head.lines.last_mut() {
                Some(l) => l.push_str(raw),
                None => return Err("part header continuation without a header"),
            }
        } else {
            head.lines.push(raw.to_string());
        }
    }
    for (i, line) in head.lines.iter().enumerate() {
        let (name, value) = line.split_once(':').ok_or("part header without ':'")?;
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-disposition" => {
                head.disposition_line = Some(i);
                for (k, v) in params(value) {
                    match k.as_str() {
                        "name" => head.name = Some(v),
                        "filename" | "filename*" => head.filename = Some(v),
                        _ => {}
                    }
                }
            }
            "content-type" => {
                let mime = value.split(';').next().unwrap_or("").trim();
                head.content_type = Some(mime.to_ascii_lowercase());
            }
            "content-transfer-encoding" => {
                let v = value.to_ascii_lowercase();
                head.encoded = !matches!(v.as_str(), "7bit" | "8bit" | "binary");
            }
            _ => {}
        }
    }
    Ok(head)
}

fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                q.push('\\');
                q.push(c);
            }
            '\r' | '\n' => q.push(' '),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A streaming multipart/form-data redactor for one body.
pub(crate) struct MultipartRewriter {
    policy: Arc<FieldPolicy>,
    html_fields: Vec<String>,
    key: PseudonymKey,
    /// `--boundary`.
    dash_boundary: Vec<u8>,
    /// `\r\n--boundary`.
    delim: Vec<u8>,
    finder: memchr::memmem::Finder<'static>,
    st: St,
    carry: Vec<u8>,
    /// Body offset of `carry[0]` (the virtual leading CRLF is at -2).
    offset: i64,
    sink: Sink,
    path: String,
    hash_id: String,
    hasher: Option<Pseudonymizer>,
    scanner: Scanner,
    pub findings: Vec<Finding>,
    pub tagging: Option<Box<MpTagging>>,
    forbidden: Vec<String>,
    held: Option<HeldTag>,
}

impl MultipartRewriter {
    pub fn new(
        engine: &Engine,
        html_fields: Vec<String>,
        policy: Arc<FieldPolicy>,
        key: PseudonymKey,
        boundary: &str,
    ) -> Self {
        let dash_boundary = [b"--".as_slice(), boundary.as_bytes()].concat();
        let delim = [b"\r\n".as_slice(), &dash_boundary].concat();
        MultipartRewriter {
            policy,
            html_fields,
            key,
            dash_boundary,
            finder: memchr::memmem::Finder::new(&delim).into_owned(),
            delim,
            st: St::Preamble,
            // The first boundary needs no CRLF before it: pretend there is one.
            carry: b"\r\n".to_vec(),
            offset: -2,
            sink: Sink::Discard,
            path: String::new(),
            hash_id: String::new(),
            hasher: None,
            scanner: Scanner::new(engine),
            findings: Vec::new(),
            tagging: None,
            forbidden: Vec::new(),
            held: None,
        }
    }

    fn shadow(&self) -> bool {
        self.policy.mode == Mode::Shadow
    }

    fn error(&self, at: usize, reason: &'static str) -> RedactError {
        RedactError::InvalidMultipart {
            offset: (self.offset + at as i64).max(0) as u64,
            reason,
        }
    }

    pub fn push(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        // Shadow mode changes no byte: the input passes as it is and the
        // rewrite only feeds findings.
        let mut scratch = Vec::new();
        let out = if self.shadow() {
            out.extend_from_slice(chunk);
            &mut scratch
        } else {
            out
        };
        self.carry.extend_from_slice(chunk);
        let mut buf = std::mem::take(&mut self.carry);
        let used = self.process(engine, &buf, out)?;
        buf.drain(..used);
        self.offset += used as i64;
        self.carry = buf;
        if !self.forbidden.is_empty() {
            return Err(RedactError::ForbiddenFields {
                paths: std::mem::take(&mut self.forbidden),
            });
        }
        Ok(())
    }

    pub fn finish(&mut self, engine: &Engine, out: &mut Vec<u8>) -> Result<(), RedactError> {
        let mut scratch = Vec::new();
        let out = if self.shadow() { &mut scratch } else { out };
        let buf = std::mem::take(&mut self.carry);
        let used = self.process(engine, &buf, out)?;
        if self.st != St::Epilogue {
            let reason = match self.st {
                St::Preamble => "no boundary delimiter",
                St::Headers => "the body ended inside part headers",
                _ => "missing closing boundary",
            };
            return Err(self.error(used, reason));
        }
        Ok(())
    }

    /// Consumes what it can of `buf`; returns the bytes used.
    fn process(
        &mut self,
        engine: &Engine,
        buf: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        let mut i = 0;
        loop {
            let rest = &buf[i..];
            match self.st {
                St::Epilogue => return Ok(buf.len()),
                St::Preamble => match self.finder.find(rest) {
                    Some(k) => {
                        i += k + self.delim.len();
                        self.st = St::AfterDelim;
                    }
                    None => {
                        // Preamble is dropped; keep what could start a delimiter.
                        let keep = (self.delim.len() - 1).min(rest.len());
                        return Ok(buf.len() - keep);
                    }
                },
                St::AfterDelim => {
                    if rest.len() < 2 {
                        return Ok(i);
                    }
                    if rest.starts_with(b"--") {
                        self.close(out);
                        self.st = St::Epilogue;
                        continue;
                    }
                    let lwsp = rest
                        .iter()
                        .take_while(|&&b| b == b' ' || b == b'\t')
                        .count();
                    if lwsp > 256 {
                        return Err(self.error(i, "too much padding after a boundary"));
                    }
                    let after = &rest[lwsp..];
                    if after.len() < 2 {
                        return Ok(i);
                    }
                    if !after.starts_with(b"\r\n") {
                        return Err(self.error(i + lwsp, "expected CRLF after a boundary"));
                    }
                    i += lwsp + 2;
                    self.st = St::Headers;
                }
                St::Headers => {
                    let end = if rest.starts_with(b"\r\n") {
                        Some(2)
                    } else {
                        memchr::memmem::find(rest, b"\r\n\r\n").map(|k| k + 4)
                    };
                    let Some(end) = end else {
                        if rest.len() > MAX_HEADERS {
                            return Err(self.error(i, "part headers too long"));
                        }
                        return Ok(i);
                    };
                    if end > MAX_HEADERS {
                        return Err(self.error(i, "part headers too long"));
                    }
                    self.begin_part(engine, &rest[..end], i, out)?;
                    i += end;
                    self.st = St::Body;
                }
                St::Body => match self.finder.find(rest) {
                    Some(k) => {
                        self.content(engine, &rest[..k], out)?;
                        self.end_part(engine, out)?;
                        i += k + self.delim.len();
                        self.st = St::AfterDelim;
                    }
                    None => {
                        let safe = rest.len().saturating_sub(self.delim.len() - 1);
                        self.content(engine, &rest[..safe], out)?;
                        return Ok(i + safe);
                    }
                },
            }
        }
    }

    /// Decides what happens to a part from its headers and writes its head.
    fn begin_part(
        &mut self,
        engine: &Engine,
        block: &[u8],
        at: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let head = parse_head(block).map_err(|r| self.error(at, r))?;
        let name = head.name.clone().unwrap_or_default();
        let path = field_path(&name);
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        let mime = head.content_type.as_deref();
        let is_file = head.filename.is_some();
        let is_text = !is_file || mime.is_some_and(|m| m.starts_with("text/"));
        let shadow = self.shadow();
        self.path = name.clone();
        self.hash_id = path.last().cloned().unwrap_or_default();

        let rel = self.tagging.as_ref().and_then(|t| t.relative(&path));
        let basis_field = match (&self.tagging, &rel) {
            (Some(t), Some(rel)) => t.is_basis_field(rel),
            _ => false,
        };
        let rel_is_tags = match (&self.tagging, &rel) {
            (Some(t), Some(rel)) => t.is_tags(rel),
            _ => false,
        };
        let action = if basis_field {
            FieldAction::Drop
        } else {
            self.policy.decide_leaf(&refs)
        };
        let mut sink = match action {
            FieldAction::Drop => Sink::Discard,
            _ if !is_text => match self.policy.attachments {
                Attachments::Pass => Sink::Copy,
                Attachments::Refuse => {
                    return Err(RedactError::AttachmentRefused { path: name });
                }
            },
            FieldAction::Keep => Sink::Copy,
            FieldAction::Scan | FieldAction::Base64 => Sink::Scan,
            FieldAction::Hash => Sink::Hash,
        };
        if head.encoded && matches!(sink, Sink::Scan | Sink::Hash) {
            return Err(self.error(
                at,
                "a part with a Content-Transfer-Encoding cannot be inspected",
            ));
        }
        if sink == Sink::Discard && !basis_field && self.policy.mode == Mode::Strict {
            self.forbidden.push(name.clone());
        } else if matches!(sink, Sink::Discard | Sink::Hash) && !basis_field {
            let (kind, id) = if sink == Sink::Hash {
                (ActionKind::Hash, "policy.hash")
            } else {
                (ActionKind::Drop, "policy.drop")
            };
            let start = (self.offset + at as i64).max(0) as u64;
            self.findings.push(Finding {
                detector: Arc::from(id),
                path: Arc::from(name.as_str()),
                start,
                end: start,
                action: if shadow { ActionKind::Report } else { kind },
            });
            if shadow {
                sink = Sink::Copy;
            }
        }
        self.sink = sink;

        if let (Some(t), Some(rel)) = (self.tagging.as_mut(), rel) {
            if is_text && t.wants(&rel) {
                t.capturing = Some((rel, Vec::new()));
            }
        }
        if sink == Sink::Discard {
            return Ok(());
        }
        // A client's tags[] value may be a made-up basis: held back until known.
        let hold = is_text && rel_is_tags && self.tagging.is_some();
        let mut held_out = Vec::new();
        let out = if hold { &mut held_out } else { out };
        // The head: the same header lines, with the file name scanned.
        out.extend_from_slice(&self.dash_boundary);
        out.extend_from_slice(b"\r\n");
        let filename = match (&head.filename, head.disposition_line) {
            (Some(f), Some(_)) if !shadow => {
                Some((self.scan_small(engine, f, "filename")?, f.clone()))
            }
            _ => None,
        };
        match filename {
            Some((scanned, original)) if scanned != original => {
                for (i, line) in head.lines.iter().enumerate() {
                    if Some(i) == head.disposition_line {
                        let d = format!(
                            "Content-Disposition: form-data; name={}; filename={}",
                            quote(&name),
                            quote(&scanned)
                        );
                        out.extend_from_slice(d.as_bytes());
                    } else {
                        out.extend_from_slice(line.as_bytes());
                    }
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
            _ => out.extend_from_slice(block),
        }
        match sink {
            Sink::Scan => {
                let html = mime == Some("text/html")
                    || self.policy.is_html(&refs)
                    || self
                        .html_fields
                        .iter()
                        .any(|g| glob(g, path.last().map_or("", String::as_str)));
                let enc = if html {
                    Encoding::Html
                } else {
                    Encoding::Plain
                };
                let field = engine.field_ctx(&self.hash_id);
                let start = (self.offset + (at + block.len()) as i64).max(0) as u64;
                self.scanner
                    .reset(engine, &self.key, enc, start, &field, &name, shadow);
            }
            Sink::Hash => self.hasher = Some(self.key.hasher()),
            _ => {}
        }
        if hold {
            self.held = Some(HeldTag {
                out: held_out,
                probe: Vec::new(),
                at: (self.offset + at as i64).max(0) as u64,
            });
        }
        Ok(())
    }

    /// Runs a short header value (a file name) through the scanner.
    fn scan_small(
        &mut self,
        engine: &Engine,
        value: &str,
        field: &str,
    ) -> Result<String, RedactError> {
        let ctx = engine.field_ctx(field);
        let path = format!("{}.{field}", self.path);
        self.scanner
            .reset(engine, &self.key, Encoding::Plain, 0, &ctx, &path, false);
        let mut text = Vec::new();
        self.scanner
            .push(engine, &self.key, value.as_bytes(), &mut text)?;
        self.scanner.finish(engine, &self.key, &mut text)?;
        self.findings.append(&mut self.scanner.findings);
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    fn content(
        &mut self,
        engine: &Engine,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if let Some(t) = self.tagging.as_mut() {
            if let Some((_, raw)) = t.capturing.as_mut() {
                let room = MAX_CAPTURE.saturating_sub(raw.len());
                raw.extend_from_slice(&bytes[..room.min(bytes.len())]);
            }
        }
        let Some(mut held) = self.held.take() else {
            return self.sink_content(engine, bytes, out);
        };
        self.sink_content(engine, bytes, &mut held.out)?;
        let room = MAX_TAG_PROBE.saturating_sub(held.probe.len());
        held.probe
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
        self.resolve_held(held, false, out)
    }

    /// Writes a held `tags[]` part once its value is known to be an ordinary
    /// tag, or removes it (a `legal_basis.protect` drop) when it is a basis
    /// or retention tag; keeps holding while undecided.
    fn resolve_held(
        &mut self,
        held: HeldTag,
        ended: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let prefixes = match self.tagging.as_ref() {
            Some(t) => t.protected_prefixes(),
            None => ["", ""],
        };
        match protected_tag(&held.probe, ended, &prefixes) {
            None if held.probe.len() >= MAX_TAG_PROBE => Err(RedactError::InvalidMultipart {
                offset: held.at,
                reason: "a tags[] part whose value cannot be told from a legal-basis tag",
            }),
            None => {
                self.held = Some(held);
                Ok(())
            }
            Some(false) => {
                out.extend_from_slice(&held.out);
                Ok(())
            }
            Some(true) => {
                self.sink = Sink::Discard;
                self.hasher = None;
                if let Some(t) = self.tagging.as_mut() {
                    // Not the client's tag any more: the decided one is added.
                    t.capturing = None;
                }
                self.findings.push(Finding {
                    detector: Arc::from("legal_basis.protect"),
                    path: Arc::from(self.path.as_str()),
                    start: held.at,
                    end: held.at,
                    action: if self.shadow() {
                        ActionKind::Report
                    } else {
                        ActionKind::Drop
                    },
                });
                Ok(())
            }
        }
    }

    fn sink_content(
        &mut self,
        engine: &Engine,
        bytes: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        match self.sink {
            Sink::Copy => out.extend_from_slice(bytes),
            Sink::Scan => {
                self.scanner.push(engine, &self.key, bytes, out)?;
                self.findings.append(&mut self.scanner.findings);
            }
            Sink::Hash => {
                if let Some(h) = self.hasher.as_mut() {
                    h.update(bytes);
                }
            }
            Sink::Discard => {}
        }
        Ok(())
    }

    fn end_part(&mut self, engine: &Engine, out: &mut Vec<u8>) -> Result<(), RedactError> {
        // A held tags[] part is decided now: written (then ended below) or
        // removed (its sink is then Discard).
        if let Some(held) = self.held.take() {
            self.resolve_held(held, true, out)?;
        }
        if let Some(t) = self.tagging.as_mut() {
            t.end_capture();
        }
        match self.sink {
            Sink::Discard => return Ok(()),
            Sink::Scan => {
                self.scanner.finish(engine, &self.key, out)?;
                self.findings.append(&mut self.scanner.findings);
            }
            Sink::Hash => {
                if let Some(h) = self.hasher.take() {
                    out.extend_from_slice(format!("[{}:{}]", self.hash_id, h.finish()).as_bytes());
                }
            }
            Sink::Copy => {}
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// The closing boundary: tagging parts first.
    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some(t) = self.tagging.as_mut() {
            t.finish(&self.dash_boundary, out);
        }
        out.extend_from_slice(&self.dash_boundary);
        out.extend_from_slice(b"--\r\n");
    }
}

fn glob(p: &str, t: &str) -> bool {
    match p.split_once('*') {
        None => p == t,
        Some((h, tl)) => t.len() >= h.len() + tl.len() && t.starts_with(h) && t.ends_with(tl),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_names_map_to_policy_paths() {
        assert_eq!(field_path("description"), ["description"]);
        assert_eq!(field_path("custom_fields[cf_x]"), ["custom_fields", "cf_x"]);
        assert_eq!(field_path("tags[]"), ["tags"]);
        assert_eq!(field_path("attachments[0]"), ["attachments"]);
        assert_eq!(field_path("a[b][c]"), ["a", "b", "c"]);
        assert_eq!(form_name(&[], &["tags"], true), "tags[]");
        assert_eq!(
            form_name(&[], &["custom_fields", "cf_legal_basis"], false),
            "custom_fields[cf_legal_basis]"
        );
    }

    #[test]
    fn protected_tags_are_told_by_their_bytes_only() {
        let p = ["legal-basis:", "retention:"];
        let t = |s: &str, ended| protected_tag(s.as_bytes(), ended, &p);
        assert_eq!(t("legal-basis:contract", false), Some(true));
        assert_eq!(t(" \tRETENTION:x", false), Some(true));
        assert_eq!(t("\u{3000}legal-basis:x", true), Some(true));
        assert_eq!(t("lms", false), Some(false));
        assert_eq!(t("legal", false), None);
        assert_eq!(t("legal", true), Some(false));
        assert_eq!(t("   ", false), None);
        assert_eq!(t("", true), Some(false));
        // Half of a multi-byte white space: wait for the rest.
        assert_eq!(protected_tag(b"\xe3\x80", false, &p), None);
        assert_eq!(protected_tag(b"\xe3\x80", true, &p), Some(false));
        assert_eq!(t("legal-basi\u{e9}", false), Some(false));
    }

    #[test]
    fn disposition_params() {
        let p = params(r#"form-data; name="attachments[]"; filename="a \"b\".txt""#);
        assert_eq!(
            p,
            vec![
                ("name".to_string(), "attachments[]".to_string()),
                ("filename".to_string(), "a \"b\".txt".to_string())
            ]
        );
        assert!(valid_boundary("----WebKitFormBoundary7MA4YWxkTrZu0gW"));
        assert!(!valid_boundary(""));
        assert!(!valid_boundary("a\"b"));
    }
}
