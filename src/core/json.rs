//! Streaming JSON rewriter: tracks the field path of every value, applies
//! field policies (keep / scan / hash / drop, with correct commas), sends
//! string values through the scanner, and keeps every byte it does not change
//! identical. Invalid JSON is an error, never a pass-through.

use std::sync::Arc;

use super::action::{PseudonymKey, Pseudonymizer};
use super::b64::{B64Inspector, Ctx as B64Ctx};
use super::decode::Encoding;
use super::engine::Engine;
use super::error::RedactError;
use super::finding::{ActionKind, Finding};
use super::legal_basis::{
    ticket_id_of, LegalBasis, LegalBasisDecision, ProtectTarget, TaggingTarget,
};
use super::policy::{Attachments, FieldAction, FieldPolicy, Mode};
use super::ruleset::Settings;
use super::scanner::{json_escape, Scanner};

mod inert;
mod key_cache;
mod utf8;
use inert::{InertValues, INERT_SLOTS};
use key_cache::{KeyCache, Node, Resolved, ROOT};
use utf8::Utf8Stream;

/// Longest member value (`tags`, custom fields) held back for merging.
const MAX_DIVERT: usize = 64 * 1024;
/// Longest requester value kept (in memory only) for the registry lookup.
const MAX_CAPTURE: usize = 512;

/// Legal-basis tagging of one ticket-creating body: requester fields are
/// captured as they pass, `tags` and custom-field members are diverted
/// (after redaction) and re-emitted merged when the ticket object closes, so
/// keys stay unique whatever the field order of the incoming body.
pub(crate) struct Tagging {
    lb: Arc<LegalBasis>,
    target: TaggingTarget,
    shadow: bool,
    /// On the creation's response: only the helpdesk's ticket id is read
    /// (`target.ticket_id`, from the body root); nothing is tagged.
    read_id: bool,
    captured: Vec<(Vec<String>, String)>,
    capturing: Option<Vec<String>>,
    cap_raw: Vec<u8>,
    diverting: Option<(String, usize)>,
    finished: Option<String>,
    buf: Vec<u8>,
    diverted: Vec<(String, Vec<u8>)>,
    pub decision: Option<LegalBasisDecision>,
}

impl Tagging {
    pub fn new(lb: Arc<LegalBasis>, target: TaggingTarget, shadow: bool) -> Self {
        Tagging {
            lb,
            target,
            shadow,
            read_id: false,
            captured: Vec::new(),
            capturing: None,
            cap_raw: Vec::new(),
            diverting: None,
            finished: None,
            buf: Vec::new(),
            diverted: Vec::new(),
            decision: None,
        }
    }

    /// Whether this tags a ticket (false: it only reads the response's id).
    pub fn tags(&self) -> bool {
        !self.read_id
    }

    /// Reads the id the helpdesk assigned from a creation's response body.
    pub fn ticket_id_reader(lb: Arc<LegalBasis>, target: &TaggingTarget) -> Option<Self> {
        let mut target = target.clone();
        target.ticket_id.as_ref()?;
        // The id path is written from the body root.
        target.ticket.clear();
        // "shadow": nothing is diverted or added to the response.
        let mut t = Tagging::new(lb, target, true);
        t.read_id = true;
        Some(t)
    }

    /// The ticket id read from the response (first value at the path, if
    /// it has the shape of an id).
    pub fn ticket_id(&self) -> Option<String> {
        let path = self.target.ticket_id.as_ref()?;
        self.captured
            .iter()
            .find(|(p, _)| p == path)
            .and_then(|(_, v)| ticket_id_of(v))
    }

    fn deferred_keys(&self) -> impl Iterator<Item = &str> {
        let t = &self.target;
        t.tags
            .as_deref()
            .into_iter()
            .chain(t.field_object.as_ref().map(|f| f.0.as_str()))
            .chain(t.field_list.as_ref().map(|f| f.0.as_str()))
    }

    fn wants(&self, rel: &[String]) -> bool {
        let t = &self.target;
        if self.read_id {
            return t.ticket_id.as_deref() == Some(rel);
        }
        t.requester
            .iter()
            .chain(&t.company)
            .any(|p| p.as_slice() == rel)
            || self.lb.rules.iter().any(|r| r.field.as_slice() == rel)
    }

    /// The members to add to the ticket object, as JSON text.
    fn members(&self, decision: &LegalBasisDecision) -> Vec<(String, serde_json::Value)> {
        use serde_json::Value;
        let old = |key: &str| {
            self.diverted
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| serde_json::from_slice::<Value>(v).ok())
        };
        let mut out = Vec::new();
        if let Some(key) = &self.target.tags {
            let mut tags = match old(key) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            // A basis or retention tag the client sent is never trusted.
            tags.retain(|t| {
                t.as_str().is_none_or(|s| {
                    let s = s.trim().to_ascii_lowercase();
                    !s.starts_with(&self.target.tag_prefix.to_ascii_lowercase())
                        && !s.starts_with("retention:")
                })
            });
            for tag in [
                format!("{}{}", self.target.tag_prefix, decision.basis),
                format!("retention:{}", decision.retention),
            ] {
                if !tags.iter().any(|t| t.as_str() == Some(tag.as_str())) {
                    tags.push(Value::String(tag));
                }
            }
            out.push((key.to_string(), Value::Array(tags)));
        }
        if let Some((key, field)) = &self.target.field_object {
            let mut map = match old(key) {
                Some(Value::Object(m)) => m,
                _ => serde_json::Map::new(),
            };
            map.insert(field.clone(), Value::String(decision.basis.clone()));
            out.push((key.to_string(), Value::Object(map)));
        }
        if let Some((key, id)) = &self.target.field_list {
            let mut list = match old(key) {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            list.retain(|e| e.get("id") != Some(id));
            list.push(serde_json::json!({ "id": id, "value": decision.basis }));
            out.push((key.to_string(), Value::Array(list)));
        }
        out
    }
}

/// A protected member being held back (see [`Protect`]).
struct Held {
    key: String,
    depth: usize,
    keys: Vec<String>,
    path: String,
    at: u64,
}

/// On a ticket-updating route (`[[legal_basis.protect]]`): the (redacted)
/// value of a protected member (`ticket.additional_tags`, `custom_fields`)
/// is held back and written, filtered, when it ends, so a client can
/// neither forge a legal basis nor overwrite the one set at creation.
pub(crate) struct Protect {
    target: ProtectTarget,
    holding: Option<Held>,
    finished: Option<Held>,
    buf: Vec<u8>,
}

impl Protect {
    pub fn new(target: ProtectTarget) -> Self {
        Protect {
            target,
            holding: None,
            finished: None,
            buf: Vec::new(),
        }
    }
}

/// The path the scanner is given for a JSON value: none. Rendering the
/// display path for every scanned value would cost more than naming the
/// few findings and rejections that come out, which the rewriter does
/// (see [`JsonRewriter::take_scanned_findings`], [`JsonRewriter::named`]).
const UNNAMED: &str = "";

/// Longest object key or number the rewriter buffers.
const MAX_KEY: usize = 1024;

/// Where the bytes of a value go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Sink {
    /// Copied to the output unchanged.
    Copy,
    /// Strings and numbers go through the scanner.
    Scan,
    /// Consumed into a pseudonym.
    Hash,
    /// Consumed silently (a dropped field).
    Discard,
    /// Strings hold base64: decoded, inspected, re-encoded (other values copied).
    Base64,
}

#[derive(Debug)]
struct Frame {
    is_object: bool,
    /// What covers this container (None: nothing yet; children decide).
    action: Option<FieldAction>,
    /// Whether members need their own policy decisions.
    decide: bool,
    sink: Sink,
    emitted_any: bool,
    /// The container's key path.
    node: Node,
    /// The key path of its last member so far.
    prev: Node,
}

/// One step of the current value's path.
#[derive(Debug, Clone, Copy)]
enum Seg {
    /// An object key whose key path is cached: its name is the cache's.
    Cached(u32),
    /// An object key not cached: its text is `Path::spilled[start..end]`.
    Spilled { start: usize, end: usize },
    /// Element `n` of an array.
    Index(usize),
}

/// The path of the current value, as steps. A cached key is its node, so
/// entering and leaving a member is a push and a pop; the display form
/// (`tickets[2].subject`) is rendered from the steps only when a finding,
/// a drop or an error needs it (see [`Path::render`]), which few values
/// do, and then only from the first step that changed since the last
/// rendering (most often just the last key, as the values with findings
/// of one ticket share the ticket's index).
#[derive(Debug, Default)]
struct Path {
    segs: Vec<Seg>,
    /// The text of the keys that are not cached, in path order.
    spilled: String,
    /// The display form of the first `rendered.len()` steps.
    display: String,
    /// The length of `display` after each of those steps.
    rendered: Vec<usize>,
}

impl Path {
    fn push_cached(&mut self, node: u32) {
        self.segs.push(Seg::Cached(node));
    }

    fn push_spilled(&mut self, key: &str) {
        let start = self.spilled.len();
        self.spilled.push_str(key);
        let end = self.spilled.len();
        self.segs.push(Seg::Spilled { start, end });
    }

    /// Enters an array, at its first element.
    fn push_index(&mut self) {
        self.segs.push(Seg::Index(0));
    }

    /// Moves to the next element of the innermost array.
    fn next_index(&mut self) {
        if let Some(Seg::Index(n)) = self.segs.last_mut() {
            *n += 1;
            self.unrender_from(self.segs.len() - 1);
        }
    }

    /// Leaves the last step (inlined: it runs at every value's end).
    #[inline]
    fn pop(&mut self) {
        if let Some(Seg::Spilled { start, .. }) = self.segs.pop() {
            self.spilled.truncate(start);
        }
        self.unrender_from(self.segs.len());
    }

    /// Drops the rendering of step `k` and those after it, which were left
    /// or changed.
    fn unrender_from(&mut self, k: usize) {
        if self.rendered.len() > k {
            self.rendered.truncate(k);
            self.display
                .truncate(self.rendered.last().copied().unwrap_or(0));
        }
    }

    /// The key a step names (`None` for an array index).
    fn key_name<'a>(&'a self, seg: &Seg, cache: &'a KeyCache) -> Option<&'a str> {
        match *seg {
            Seg::Cached(node) => Some(&cache.resolution(Some(node)).name),
            Seg::Spilled { start, end } => Some(&self.spilled[start..end]),
            Seg::Index(_) => None,
        }
    }

    /// The object keys (array indices are not part of policy paths).
    fn keys<'a>(&'a self, cache: &'a KeyCache) -> impl DoubleEndedIterator<Item = &'a str> {
        self.segs
            .iter()
            .filter_map(move |s| self.key_name(s, cache))
    }

    /// The display form: keys joined by `.` (none before the first, nor
    /// while all before are empty), indices in brackets. Renders the
    /// steps not rendered yet.
    fn render(&mut self, cache: &KeyCache) -> &str {
        for k in self.rendered.len()..self.segs.len() {
            let display = &mut self.display;
            match self.segs[k] {
                Seg::Cached(node) => push_key(display, &cache.resolution(Some(node)).name),
                Seg::Spilled { start, end } => push_key(display, &self.spilled[start..end]),
                Seg::Index(n) => push_index(display, n),
            }
            self.rendered.push(display.len());
        }
        &self.display
    }

    /// Whether the path goes through an array.
    fn in_array(&self) -> bool {
        self.segs.iter().any(|s| matches!(s, Seg::Index(_)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum St {
    Value,
    KeyOrEnd,
    Key,
    Colon,
    AfterValue,
    KeyStr,
    Str,
    Number,
    Literal(&'static [u8], u8),
    /// After `[`: a value or `]`.
    ValueOrEnd,
    Done,
}

/// A streaming JSON redactor for one body (or one JSON-lines stream).
pub(crate) struct JsonRewriter {
    policy: Arc<FieldPolicy>,
    html_fields: Vec<KeyGlob>,
    mode: Mode,
    key: PseudonymKey,
    multi: bool,
    st: St,
    /// Escape state inside strings: 0 none, 1 after `\`, 10..=13 in `\uXXXX`.
    esc: u8,
    /// UTF-8 state inside strings.
    utf8: Utf8Stream,
    /// How many bytes the chunk being read starts with that are UTF-8: a
    /// run of string content within them needs no check of its own.
    utf8_prefix: usize,
    offset: u64,
    stack: Vec<Frame>,
    path: Path,
    /// The key just read, unescaped (when not cached).
    key_text: String,
    key_raw: Vec<u8>,
    key_start: u64,
    /// Separator and whitespace held until we know whether the next member stays.
    held: Vec<u8>,
    /// Sink for the current member's key, colon and surrounding whitespace.
    member_out: Sink,
    /// Decision for the current member's value, made at its key.
    member_decision: (Option<FieldAction>, bool),
    /// The current member's key path.
    member: Node,
    cache: KeyCache,
    /// Sink of the scalar being read.
    value_sink: Sink,
    num: Vec<u8>,
    num_start: u64,
    /// Output of a scanned number, reused.
    num_text: Vec<u8>,
    /// The key path of a scanned string value whose scanner is not started
    /// yet: it starts at the value's first run of content, which for most
    /// values is all of it (see [`Self::scan_run`]).
    unstarted_scan: Option<Node>,
    /// Short values scanned before that came out as they were.
    inert: InertValues,
    /// Numbers scanned before that came out as they were.
    inert_numbers: InertValues,
    scanner: Scanner,
    b64: B64Inspector,
    hasher: Option<Pseudonymizer>,
    hash_depth: usize,
    hash_id: String,
    pub findings: Vec<Finding>,
    pub tagging: Option<Box<Tagging>>,
    pub protect: Option<Box<Protect>>,
    /// Strict mode: forbidden paths seen in the current chunk.
    forbidden: Vec<String>,
}

/// Where a run of string content read from one chunk ends.
struct StringRun {
    /// Index of the closing quote, or the chunk's length.
    end: usize,
    closed: bool,
    /// Whether the run holds a backslash or starts inside an escape.
    escaped: bool,
}

/// How many bytes `bytes` starts with that are UTF-8 (whole characters).
fn utf8_prefix(bytes: &[u8]) -> usize {
    std::str::from_utf8(bytes).map_or_else(|e| e.valid_up_to(), str::len)
}

/// Why a string with bytes that are no UTF-8 is refused.
const NOT_UTF8: &str = "invalid UTF-8 in a string";

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// An `html_fields` pattern (`*` matches any run), split at its `*` once:
/// it is matched against the key of every scanned string.
struct KeyGlob {
    head: String,
    tail: Option<String>,
}

impl KeyGlob {
    fn new(pattern: &str) -> Self {
        let (head, tail) = match pattern.split_once('*') {
            None => (pattern, None),
            Some((h, t)) => (h, Some(t.to_string())),
        };
        KeyGlob {
            head: head.to_string(),
            tail,
        }
    }

    fn matches(&self, t: &str) -> bool {
        let h = self.head.as_str();
        match &self.tail {
            None => h == t,
            Some(tl) => {
                t.len() >= h.len() + tl.len() && t.starts_with(h) && t.ends_with(tl.as_str())
            }
        }
    }
}

impl JsonRewriter {
    pub fn new(
        engine: &Engine,
        settings: &Settings,
        policy: Arc<FieldPolicy>,
        key: PseudonymKey,
        multi: bool,
    ) -> Self {
        let html_fields: Vec<KeyGlob> = settings
            .html_fields
            .iter()
            .map(|p| KeyGlob::new(p))
            .collect();
        let root = resolve(&policy, &html_fields, engine, &[]);
        JsonRewriter {
            mode: policy.mode,
            policy,
            html_fields,
            key,
            multi,
            st: St::Value,
            esc: 0,
            utf8: Utf8Stream::default(),
            utf8_prefix: 0,
            offset: 0,
            stack: Vec::new(),
            path: Path::default(),
            key_text: String::new(),
            key_raw: Vec::new(),
            key_start: 0,
            held: Vec::new(),
            member_out: Sink::Copy,
            member_decision: (None, false),
            member: ROOT,
            cache: KeyCache::new(root),
            value_sink: Sink::Copy,
            num: Vec::new(),
            num_start: 0,
            num_text: Vec::new(),
            unstarted_scan: None,
            inert: InertValues::new(INERT_SLOTS),
            inert_numbers: InertValues::new(INERT_SLOTS),
            scanner: Scanner::new(engine),
            b64: B64Inspector::default(),
            hasher: None,
            hash_depth: 0,
            hash_id: String::new(),
            findings: Vec::new(),
            tagging: None,
            protect: None,
            forbidden: Vec::new(),
        }
    }

    /// Strict mode: refuses once a chunk has shown forbidden fields.
    fn check_forbidden(&mut self) -> Result<(), RedactError> {
        if self.forbidden.is_empty() {
            return Ok(());
        }
        Err(RedactError::ForbiddenFields {
            paths: std::mem::take(&mut self.forbidden),
        })
    }

    fn err(at: u64, reason: &'static str) -> RedactError {
        RedactError::InvalidJson { offset: at, reason }
    }

    /// The display path of the current value (`tickets[2].subject`).
    fn display_path(&mut self) -> String {
        self.path.render(&self.cache).to_string()
    }

    /// Object keys of the current path (array indices are not part of policy paths).
    fn keys(&self) -> impl DoubleEndedIterator<Item = &str> {
        self.path.keys(&self.cache)
    }

    fn last_key(&self) -> &str {
        self.keys().next_back().unwrap_or("")
    }

    fn policy_path(&self) -> Vec<&str> {
        self.keys().collect()
    }

    /// Runs `f` on the policy path without allocating for paths of up to
    /// 16 keys (this runs for every key path not cached).
    fn with_policy_path<R>(&self, f: impl FnOnce(&[&str]) -> R) -> R {
        let mut buf = [""; 16];
        let mut n = 0;
        for k in self.keys() {
            if n == buf.len() {
                return f(&self.policy_path());
            }
            buf[n] = k;
            n += 1;
        }
        f(&buf[..n])
    }

    fn parent_sink(&self) -> Sink {
        self.stack.last().map_or(Sink::Copy, |f| f.sink)
    }

    fn write(&mut self, sink: Sink, bytes: &[u8], out: &mut Vec<u8>) {
        write_to(sink, &mut self.hasher, bytes, out);
    }

    pub fn push(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let hooked = self.hooked();
        self.utf8_prefix = utf8_prefix(chunk);
        let mut i = 0;
        while i < chunk.len() {
            i = if hooked {
                self.step_hooked(engine, chunk, i, out)?
            } else {
                self.step(engine, chunk, i, out)?
            };
        }
        self.offset += chunk.len() as u64;
        self.check_forbidden()
    }

    /// Whether members of this body may be held back or diverted (set
    /// before the first chunk, never after): then every step goes through
    /// [`Self::step_hooked`].
    fn hooked(&self) -> bool {
        self.tagging.is_some() || self.protect.is_some()
    }

    /// One step of a body with tagging or protect hooks: to the output, or
    /// to the side buffer of a member being held back or diverted.
    fn step_hooked(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        if self.protect.as_ref().is_some_and(|p| p.holding.is_some()) {
            return self.step_protected(engine, chunk, i, out);
        }
        let diverting = self.tagging.as_ref().is_some_and(|t| t.diverting.is_some());
        if !diverting {
            return self.step(engine, chunk, i, out);
        }
        // A deferred member's (redacted) value goes to the side buffer.
        let mut buf = self
            .tagging
            .as_mut()
            .map(|t| std::mem::take(&mut t.buf))
            .unwrap_or_default();
        let next = self.step_aside(engine, chunk, i, &mut buf)?;
        if let Some(t) = self.tagging.as_mut() {
            match t.finished.take() {
                Some(key) => t.diverted.push((key, buf)),
                None => t.buf = buf,
            }
        }
        Ok(next)
    }

    /// One step into a side buffer (a member held back or diverted), which
    /// may grow to [`MAX_DIVERT`] bytes and no further.
    fn step_aside(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        buf: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        let at = self.offset + i as u64;
        let next = self.step(engine, chunk, i, buf)?;
        if buf.len() > MAX_DIVERT {
            return Err(RedactError::TokenTooLong {
                offset: at,
                limit: MAX_DIVERT,
            });
        }
        Ok(next)
    }

    /// One step while a protected member's value is held back.
    fn step_protected(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        let mut buf = self
            .protect
            .as_mut()
            .map(|p| std::mem::take(&mut p.buf))
            .unwrap_or_default();
        let next = self.step_aside(engine, chunk, i, &mut buf)?;
        match self.protect.as_mut().and_then(|p| p.finished.take()) {
            Some(held) => self.write_protected(held, &buf, out),
            None => {
                if let Some(p) = self.protect.as_mut() {
                    p.buf = buf;
                }
            }
        }
        Ok(next)
    }

    /// Writes a held-back protected member, without the values a client may
    /// not send (each removal is a `legal_basis.protect` drop finding).
    fn write_protected(&mut self, held: Held, value: &[u8], out: &mut Vec<u8>) {
        let Some(p) = self.protect.as_ref() else {
            return;
        };
        // The value is the rewriter's own (valid) output; should it not
        // parse, nothing of it is written.
        let mut v = serde_json::from_slice::<serde_json::Value>(value)
            .unwrap_or_else(|_| serde_json::Value::Array(Vec::new()));
        let keys: Vec<&str> = held.keys.iter().map(String::as_str).collect();
        let removed = p.target.filter(&keys, &mut v);
        for _ in 0..removed {
            self.findings.push(Finding {
                detector: Arc::from("legal_basis.protect"),
                path: Arc::from(held.path.as_str()),
                start: held.at,
                end: held.at,
                action: ActionKind::Drop,
            });
        }
        // Objects whose members are decided hold separators back; others
        // have already written the comma before this member.
        if let Some(f) = self.stack.last_mut() {
            if f.decide {
                if f.emitted_any {
                    out.push(b',');
                }
                f.emitted_any = true;
            }
        }
        out.extend_from_slice(
            serde_json::to_string(&held.key)
                .unwrap_or_default()
                .as_bytes(),
        );
        out.push(b':');
        out.extend_from_slice(v.to_string().as_bytes());
    }

    /// Whether the member whose key was just read is protected: then its
    /// key is held back and its value too, until it ends.
    fn protect_member(&mut self) -> bool {
        let covered = self.protect.as_ref().is_some_and(|p| {
            self.mode != Mode::Shadow
                && self.hasher.is_none()
                && self.member_out != Sink::Discard
                && p.target.covers(&self.policy_path())
        });
        if !covered {
            return false;
        }
        let held = Held {
            key: self.last_key().to_string(),
            depth: self.stack.len(),
            keys: self.keys().map(str::to_string).collect(),
            path: self.display_path(),
            at: self.key_start,
        };
        if let Some(p) = self.protect.as_mut() {
            p.buf.clear();
            p.holding = Some(held);
        }
        true
    }

    pub fn finish(&mut self, engine: &Engine, out: &mut Vec<u8>) -> Result<(), RedactError> {
        if self.st == St::Number {
            self.end_number(engine, out)?;
        }
        self.check_forbidden()?;
        match self.st {
            St::Done => Ok(()),
            St::Value if self.multi && self.stack.is_empty() => Ok(()),
            _ => Err(RedactError::Truncated {
                reason: "the JSON value is not complete",
            }),
        }
    }

    fn step(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        let at = self.offset + i as u64;
        match self.st {
            St::Str => return self.string_bytes(engine, chunk, i, out),
            St::KeyStr => return self.key_bytes(engine, chunk, i, out),
            St::Number => return self.number_bytes(engine, chunk, i, out),
            St::Literal(lit, k) => {
                if chunk[i] != lit[k as usize] {
                    return Err(Self::err(at, "invalid literal"));
                }
                let sink = self.value_sink;
                self.write(sink, &chunk[i..=i], out);
                if k as usize + 1 == lit.len() {
                    self.end_value(out);
                } else {
                    self.st = St::Literal(lit, k + 1);
                }
                return Ok(i + 1);
            }
            _ => {}
        }
        let b = chunk[i];
        if is_ws(b) {
            self.whitespace(b, out);
            // One space after a `,` or `:` (as `json.dumps` writes them)
            // runs on into what follows rather than taking a step of its own.
            if self.runs_on(chunk, i) && !is_ws(chunk[i + 1]) {
                return self.step(engine, chunk, i + 1, out);
            }
            return Ok(i + 1);
        }
        match self.st {
            St::ValueOrEnd if b == b']' => self.close(b, out),
            St::Value | St::ValueOrEnd => return self.value_at(engine, chunk, i, out),
            St::KeyOrEnd | St::Key => match b {
                b'"' => return self.begin_key(engine, chunk, i, out),
                b'}' if self.st == St::KeyOrEnd => self.close(b, out),
                _ => return Err(Self::err(at, "expected an object key")),
            },
            St::Colon => {
                if b != b':' {
                    return Err(Self::err(at, "expected ':'"));
                }
                self.colon(out);
                if self.runs_on(chunk, i) {
                    return self.step(engine, chunk, i + 1, out);
                }
            }
            St::AfterValue => {
                self.after_value(b, at, out)?;
                if b == b',' && self.runs_on(chunk, i) {
                    // A key right after the comma (compact JSON) is begun
                    // here rather than in a step of its own.
                    if self.st == St::Key && chunk[i + 1] == b'"' {
                        return self.begin_key(engine, chunk, i + 1, out);
                    }
                    return self.step(engine, chunk, i + 1, out);
                }
            }
            St::Done => {
                if self.multi {
                    self.st = St::Value;
                    return Ok(i);
                }
                return Err(Self::err(at, "data after the end of the JSON value"));
            }
            _ => unreachable!("string, number and literal states return early"),
        }
        Ok(i + 1)
    }

    /// Reads a number's bytes from `i` to the first byte that cannot be
    /// part of one, which ends it (that byte is the next step's), or to the
    /// chunk's end. All at once rather than a step per byte: the digits of
    /// ids, counts and timestamps are most of a ticket's numbers.
    fn number_bytes(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        let rest = &chunk[i..];
        let n = rest
            .iter()
            .position(|&b| !number_byte(b))
            .unwrap_or(rest.len());
        if self.num.len() + n > MAX_KEY {
            let at = self.offset + (i + MAX_KEY - self.num.len()) as u64;
            return Err(Self::err(at, "number too long"));
        }
        self.num.extend_from_slice(&rest[..n]);
        if n < rest.len() {
            self.end_number(engine, out)?;
        }
        Ok(i + n)
    }

    /// A byte after a value: a comma or the end of its container.
    fn after_value(&mut self, b: u8, at: u64, out: &mut Vec<u8>) -> Result<(), RedactError> {
        match (b, self.stack.last().map(|f| (f.is_object, f.decide))) {
            (b',', Some((true, decide))) => {
                if decide {
                    self.held.clear();
                    self.held.push(b',');
                } else {
                    let sink = self.parent_sink();
                    self.write(sink, b",", out);
                }
                self.st = St::Key;
            }
            (b',', Some((false, _))) => {
                let sink = self.parent_sink();
                self.write(sink, b",", out);
                self.path.next_index();
                self.st = St::Value;
            }
            (b'}', Some((true, _))) | (b']', Some((false, _))) => self.close(b, out),
            _ => return Err(Self::err(at, "expected ',' or the end of the container")),
        }
        Ok(())
    }

    /// Whether the step at `i` may run on into the next one (a string's
    /// content, the colon after a key, the value after it, what follows a
    /// comma): when that starts in this chunk and the body is not
    /// [hooked](Self::hooked) (those steps are checked one by one). Saves
    /// round trips to `push` on the common path from a comma to the next
    /// value's content; the chain is at most comma, space, key, colon,
    /// space, value, content deep (a value's end never runs on, and a
    /// space only into a byte that is not one).
    fn runs_on(&self, chunk: &[u8], i: usize) -> bool {
        i + 1 < chunk.len() && !self.hooked()
    }

    fn whitespace(&mut self, b: u8, out: &mut Vec<u8>) {
        let in_decided_object = self.stack.last().is_some_and(|f| f.is_object && f.decide);
        match self.st {
            St::Key | St::KeyOrEnd if in_decided_object => self.held.push(b),
            St::Colon => {
                let sink = self.member_out;
                self.write(sink, &[b], out);
            }
            St::Value if self.stack.last().is_some_and(|f| f.is_object) => {
                let sink = self.member_out;
                self.write(sink, &[b], out);
            }
            _ => {
                let sink = self.parent_sink();
                self.write(sink, &[b], out);
            }
        }
    }

    /// Validates one string byte's escape state; returns whether it ends the string.
    fn escape_byte(&mut self, b: u8, at: u64) -> Result<bool, RedactError> {
        match self.esc {
            0 => match b {
                b'"' => return Ok(true),
                b'\\' => self.esc = 1,
                0..=0x1f => return Err(Self::err(at, "control character in a string")),
                _ => {}
            },
            1 => {
                self.esc = match b {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 0,
                    b'u' => 10,
                    _ => return Err(Self::err(at, "invalid escape")),
                }
            }
            _ => {
                if !b.is_ascii_hexdigit() {
                    return Err(Self::err(at, "invalid \\u escape"));
                }
                self.esc = if self.esc == 13 { 0 } else { self.esc + 1 };
            }
        }
        Ok(false)
    }

    /// Checks string bytes at raw offset `at` (see [`Utf8Stream`]).
    fn check_utf8(&mut self, bytes: &[u8], at: u64) -> Result<(), RedactError> {
        self.utf8
            .feed(bytes)
            .map_err(|k| Self::err(at.saturating_add_signed(k), NOT_UTF8))
    }

    /// Scans string content from `i` for its end.
    fn string_run(&mut self, chunk: &[u8], i: usize) -> Result<StringRun, RedactError> {
        let mut run = StringRun {
            end: i,
            closed: false,
            escaped: self.esc != 0,
        };
        while run.end < chunk.len() {
            let j = run.end;
            if self.esc == 0 {
                run.end += string_stop(&chunk[j..]);
                // One check of the whole chunk (see `push`) stands for the
                // checks of the runs it covers: a run starts at a character
                // boundary (after an ASCII byte, or at the chunk's start
                // with no character begun before it).
                if self.utf8.incomplete() > 0 || run.end > self.utf8_prefix {
                    self.check_utf8(&chunk[j..run.end], self.offset + j as u64)?;
                }
                if run.end == chunk.len() {
                    break;
                }
                if self.utf8.incomplete() > 0 {
                    let begun = self.offset + run.end as u64 - self.utf8.incomplete();
                    return Err(Self::err(begun, NOT_UTF8));
                }
            }
            let b = chunk[run.end];
            run.escaped |= b == b'\\';
            if self.escape_byte(b, self.offset + run.end as u64)? {
                run.closed = true;
                return Ok(run);
            }
            run.end += 1;
        }
        Ok(run)
    }

    fn key_bytes(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        // Read no further than where the key grows too long: a byte after
        // that (one that is no UTF-8, say) must not decide the refusal, or
        // it would depend on how the body is split (found by fuzzing).
        let room = (MAX_KEY + 1).saturating_sub(self.key_raw.len());
        let within = &chunk[..chunk.len().min(i + room)];
        let StringRun { end, closed, .. } = self.string_run(within, i)?;
        self.key_raw.extend_from_slice(&chunk[i..end]);
        if self.key_raw.len() > MAX_KEY {
            return Err(RedactError::TokenTooLong {
                offset: self.key_start,
                limit: MAX_KEY,
            });
        }
        if !closed {
            return Ok(end);
        }
        let sink = self.end_key(engine, None, out);
        write_to(sink, &mut self.hasher, b"\"", out);
        write_to(sink, &mut self.hasher, &self.key_raw, out);
        write_to(sink, &mut self.hasher, b"\"", out);
        self.after_key(engine, chunk, end, out)
    }

    /// Begins the key whose opening quote is at `i`, and runs on into it.
    fn begin_key(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        self.key_raw.clear();
        self.key_start = self.offset + i as u64;
        self.esc = 0;
        self.st = St::KeyStr;
        if !self.runs_on(chunk, i) {
            return Ok(i + 1);
        }
        if let Some((node, end)) = self.predicted_key(chunk, i + 1) {
            let sink = self.end_key(engine, Some(node), out);
            // The key with its quotes, as read, and the colon right after
            // it (compact JSON) in the same write: the colon goes to the
            // member's sink, which is the key's.
            if self.colon_runs_on(chunk, end) {
                write_to(sink, &mut self.hasher, &chunk[i..=end + 1], out);
                self.st = St::Value;
                return self.after_colon(engine, chunk, end + 1, out);
            }
            write_to(sink, &mut self.hasher, &chunk[i..=end], out);
            return self.after_key(engine, chunk, end, out);
        }
        self.key_bytes(engine, chunk, i + 1, out)
    }

    /// The key starting at `from` if it is the one the key cache predicts
    /// (see [`KeyCache::predict`]): its node and the index of its closing
    /// quote. Those bytes and that quote were read and validated before
    /// from the same escape state, so they validate the same again; a
    /// comparison replaces the byte-by-byte read and the cache lookup.
    fn predicted_key(&self, chunk: &[u8], from: usize) -> Option<(u32, usize)> {
        let f = self.stack.last()?;
        let (node, raw) = self.cache.predict(f.node, f.prev)?;
        let end = from + raw.len();
        (chunk.get(from..end) == Some(raw) && chunk.get(end) == Some(&b'"')).then_some((node, end))
    }

    /// Runs on from the key whose closing quote is at `end` into what
    /// follows.
    fn after_key(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        end: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        if !self.runs_on(chunk, end) {
            return Ok(end + 1);
        }
        // The colon right after the key (compact JSON, as helpdesks send
        // it) is taken here rather than in a step of its own.
        if self.colon_runs_on(chunk, end) {
            self.colon(out);
            return self.after_colon(engine, chunk, end + 1, out);
        }
        self.step(engine, chunk, end + 1, out)
    }

    /// Whether the colon right after the key whose closing quote is at
    /// `end` (compact JSON, as helpdesks send it) is in this chunk and may
    /// be run on from.
    fn colon_runs_on(&self, chunk: &[u8], end: usize) -> bool {
        chunk.get(end + 1) == Some(&b':') && self.runs_on(chunk, end + 1)
    }

    /// Runs on from the colon at `colon`, which is not the chunk's last
    /// byte, into the value after it.
    fn after_colon(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        colon: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        if !is_ws(chunk[colon + 1]) {
            return self.value_at(engine, chunk, colon + 1, out);
        }
        self.step(engine, chunk, colon + 1, out)
    }

    /// Begins the value whose first byte (not whitespace) is at `i`, and
    /// runs on into a string's content.
    fn value_at(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        self.begin_value(engine, chunk[i], self.offset + i as u64, out)?;
        match self.st {
            St::Str if self.runs_on(chunk, i) => self.string_bytes(engine, chunk, i + 1, out),
            St::Literal(lit, 1) => Ok(self.literal_at(chunk, i, lit, out)),
            _ => Ok(i + 1),
        }
    }

    /// After the first byte of literal `lit` at `i`: when the chunk holds
    /// the rest of it, reads it in one step rather than a step a byte
    /// (`null` and `false` fill a ticket list's flags and empty fields).
    /// Returns where the next step starts.
    fn literal_at(&mut self, chunk: &[u8], i: usize, lit: &[u8], out: &mut Vec<u8>) -> usize {
        let end = i + lit.len();
        if chunk.get(i..end) != Some(lit) {
            return i + 1;
        }
        let sink = self.value_sink;
        self.write(sink, &lit[1..], out);
        self.end_value(out);
        end
    }

    /// The colon between a member's key and value.
    fn colon(&mut self, out: &mut Vec<u8>) {
        let sink = self.member_out;
        self.write(sink, b":", out);
        self.st = St::Value;
    }

    /// Decides the member whose key was just read (its node `known`, when
    /// predicted) and writes what was held before it; returns the sink of
    /// its key, which the caller writes.
    fn end_key(&mut self, engine: &Engine, known: Option<u32>, out: &mut Vec<u8>) -> Sink {
        self.member = self.enter_key(engine, known);
        self.st = St::Colon;
        let Some(frame) = self.stack.last() else {
            return Sink::Discard;
        };
        if !frame.decide {
            self.member_out = frame.sink;
            self.member_decision = (frame.action, false);
        } else {
            let inherited = frame.action;
            let rules = self.cache.resolution(self.member).rules;
            let d = self.policy.decide_with(rules, inherited);
            self.member_decision = (d.action, d.rules_below);
            let dropped = d.action == Some(FieldAction::Drop) && self.mode != Mode::Shadow;
            self.member_out = if dropped { Sink::Discard } else { Sink::Copy };
        }
        if self.defer_member() || self.protect_member() {
            self.member_out = Sink::Discard;
        }
        let sink = self.member_out;
        if sink != Sink::Discard && self.stack.last().is_some_and(|f| f.decide) {
            let emitted_any = self.stack.last().is_some_and(|f| f.emitted_any);
            let skip_comma = !emitted_any && self.held.first() == Some(&b',');
            out.extend_from_slice(&self.held[usize::from(skip_comma)..]);
            if let Some(f) = self.stack.last_mut() {
                f.emitted_any = true;
            }
        }
        self.held.clear();
        sink
    }

    /// Pushes the key just read onto the path and resolves its key path:
    /// `known` (predicted), from the cache, or now (then cached if there
    /// is room).
    fn enter_key(&mut self, engine: &Engine, known: Option<u32>) -> Node {
        let (parent, prev) = self.stack.last().map_or((None, None), |f| (f.node, f.prev));
        let node = match known {
            Some(node) => {
                self.path.push_cached(node);
                Some(node)
            }
            None => self.resolve_key(engine, parent, prev),
        };
        if let Some(f) = self.stack.last_mut() {
            f.prev = node;
        }
        node
    }

    /// [`Self::enter_key`] in an object at `parent`, after member `prev`.
    fn resolve_key(&mut self, engine: &Engine, parent: Node, prev: Node) -> Node {
        if let Some(Some(node)) = self.cache.get(parent, prev, &self.key_raw) {
            self.path.push_cached(node);
            return Some(node);
        }
        unescape_key_into(&self.key_raw, &mut self.key_text);
        self.path.push_spilled(&self.key_text);
        let resolved = self.resolve_path(engine);
        self.cache.insert(parent, prev, &self.key_raw, resolved)
    }

    /// Resolves the current key path without the cache.
    fn resolve_path(&self, engine: &Engine) -> Resolved {
        self.with_policy_path(|path| resolve(&self.policy, &self.html_fields, engine, path))
    }

    /// The key path of the value that starts (or ends) now.
    fn value_node(&self) -> Node {
        match self.stack.last() {
            None => ROOT,
            Some(f) if f.is_object => self.member,
            Some(f) => f.node,
        }
    }

    /// [`Self::value_node`], resolved into the cache's spare if it is not cached.
    fn resolve_value(&mut self, engine: &Engine) -> Node {
        let node = self.value_node();
        if node.is_none() {
            let resolved = self.resolve_path(engine);
            self.cache.set_spare(resolved);
        }
        node
    }

    /// Path relative to the ticket object, if the current path is inside it.
    /// Array indices are skipped (a `Requestor` may be a list of addresses);
    /// `in_array` says whether there were any.
    fn ticket_relative(&self) -> Option<(Vec<String>, bool)> {
        let t = self.tagging.as_ref()?;
        let keys = self.policy_path();
        let in_array = self.path.in_array();
        keys.starts_with(
            &t.target
                .ticket
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .then(|| {
            (
                keys[t.target.ticket.len()..]
                    .iter()
                    .map(|k| k.to_string())
                    .collect(),
                in_array,
            )
        })
    }

    /// Whether the member whose key was just read is one the tagging merges
    /// (`tags`, custom fields of the ticket): then its key is held back and
    /// its value diverted.
    fn defer_member(&mut self) -> bool {
        if self.tagging.is_none() {
            return false;
        }
        let Some((rel, false)) = self.ticket_relative() else {
            return false;
        };
        let depth = self.stack.len();
        let Some(t) = self.tagging.as_mut() else {
            return false;
        };
        if t.shadow || rel.len() != 1 || !t.deferred_keys().any(|k| k == rel[0]) {
            return false;
        }
        t.buf.clear();
        t.diverting = Some((rel[0].clone(), depth));
        true
    }

    /// Starts capturing the value that begins now if tagging wants it. A
    /// check inlined on every value; the work only when tagging is on.
    #[inline]
    fn maybe_capture(&mut self) {
        if self.tagging.is_some() {
            self.start_capture();
        }
    }

    /// Starts capturing a requester (or rule) field's value.
    fn start_capture(&mut self) {
        let rel = self.ticket_relative();
        if let (Some(t), Some((rel, _))) = (self.tagging.as_mut(), rel) {
            if t.wants(&rel) {
                t.capturing = Some(rel);
                t.cap_raw.clear();
            }
        }
    }

    fn capture_bytes(&mut self, bytes: &[u8]) {
        if let Some(t) = self.tagging.as_mut() {
            if t.capturing.is_some() && t.cap_raw.len() + bytes.len() <= MAX_CAPTURE {
                t.cap_raw.extend_from_slice(bytes);
            }
        }
    }

    /// Ends a capture, if one is running (see [`Self::maybe_capture`]).
    #[inline]
    fn end_capture(&mut self, quoted: bool) {
        if self.tagging.as_ref().is_some_and(|t| t.capturing.is_some()) {
            self.finish_capture(quoted);
        }
    }

    fn finish_capture(&mut self, quoted: bool) {
        if let Some(t) = self.tagging.as_mut() {
            if let Some(rel) = t.capturing.take() {
                let value = if quoted {
                    unescape_key(&t.cap_raw)
                } else {
                    String::from_utf8_lossy(&t.cap_raw).into_owned()
                };
                t.captured.push((rel, value));
            }
        }
    }

    /// At the close of the ticket object: decide the basis and (unless in
    /// shadow mode) write the merged members.
    fn tag_ticket(&mut self, emitted_any: bool, out: &mut Vec<u8>) {
        let is_ticket = self
            .ticket_relative()
            .is_some_and(|(rel, in_array)| rel.is_empty() && !in_array);
        let Some(t) = self.tagging.as_mut() else {
            return;
        };
        if !is_ticket || t.decision.is_some() || t.read_id {
            return;
        }
        let decision = t.lb.decide(&t.target, &t.captured);
        if !t.shadow {
            let mut first = !emitted_any;
            for (key, value) in t.members(&decision) {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(serde_json::to_string(&key).unwrap_or_default().as_bytes());
                out.push(b':');
                out.extend_from_slice(value.to_string().as_bytes());
            }
        }
        t.decision = Some(decision);
    }

    /// Decides the sink for the value that starts now.
    fn begin_value(
        &mut self,
        engine: &Engine,
        b: u8,
        at: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), RedactError> {
        let (action, rules_below) = match self.stack.last() {
            None => {
                let d = self.policy.decide(&[], None);
                (d.action, d.rules_below)
            }
            Some(f) if f.is_object => self.member_decision,
            Some(f) => (f.action, f.decide),
        };
        let parent = self.parent_sink();
        let container = b == b'{' || b == b'[';
        let sink = if self.hasher.is_some() || parent == Sink::Discard {
            parent
        } else {
            self.decide_sink(action, container, at)?
        };
        // In shadow mode a reported drop or hash still passes: its children
        // are kept, not reported again.
        let action = match action {
            Some(FieldAction::Drop | FieldAction::Hash) if sink == Sink::Copy => {
                Some(FieldAction::Keep)
            }
            a => a,
        };
        if sink == Sink::Hash && self.hasher.is_none() {
            self.hasher = Some(self.key.hasher());
            self.hash_depth = self.stack.len();
            self.hash_id = self.last_key().to_string();
        }
        match b {
            b'{' | b'[' => {
                // The root is never dropped or hashed as a whole (it is
                // scanned instead), so under a policy that drops or hashes
                // everything its members are decided one by one.
                let whole_root = self.not_droppable()
                    && matches!(action, Some(FieldAction::Drop | FieldAction::Hash));
                let decide = sink != Sink::Hash
                    && sink != Sink::Discard
                    && (rules_below || action.is_none() || whole_root);
                self.write(sink, &[b], out);
                let node = self.value_node();
                self.stack.push(Frame {
                    is_object: b == b'{',
                    action,
                    decide,
                    sink,
                    emitted_any: false,
                    node,
                    prev: None,
                });
                if b == b'[' {
                    self.path.push_index();
                    self.st = St::ValueOrEnd;
                } else {
                    self.held.clear();
                    self.st = St::KeyOrEnd;
                }
            }
            b'"' => {
                self.value_sink = sink;
                self.esc = 0;
                self.write(sink, b"\"", out);
                self.unstarted_scan = (sink == Sink::Scan).then(|| self.resolve_value(engine));
                if sink == Sink::Base64 {
                    let path = self.display_path();
                    let refuse = self.policy.attachments == Attachments::Refuse;
                    self.b64.reset(&path, refuse, self.mode == Mode::Shadow);
                }
                self.maybe_capture();
                self.st = St::Str;
            }
            b'-' | b'0'..=b'9' => {
                self.value_sink = sink;
                self.num.clear();
                self.num.push(b);
                self.num_start = at;
                self.maybe_capture();
                self.st = St::Number;
            }
            b't' | b'f' | b'n' => {
                self.value_sink = sink;
                let lit: &'static [u8] = match b {
                    b't' => b"true",
                    b'f' => b"false",
                    _ => b"null",
                };
                self.write(sink, &[b], out);
                self.st = St::Literal(lit, 1);
            }
            _ => return Err(Self::err(at, "expected a JSON value")),
        }
        Ok(())
    }

    /// Whether the value starting here cannot be dropped or hashed on its
    /// own: the root, and elements of an array that is kept (policy paths
    /// have no indices, so that only happens under a root array; dropping
    /// one element would leave its comma behind).
    fn not_droppable(&self) -> bool {
        self.stack.last().is_none_or(|f| !f.is_object)
    }

    /// Turns a policy decision into a sink, recording drops and hashes.
    fn decide_sink(
        &mut self,
        action: Option<FieldAction>,
        container: bool,
        at: u64,
    ) -> Result<Sink, RedactError> {
        let action = match action {
            Some(a) => a,
            None if container => return Ok(Sink::Copy),
            None => match self.policy.otherwise {
                super::policy::Otherwise::Drop => FieldAction::Drop,
                super::policy::Otherwise::Keep => FieldAction::Keep,
                super::policy::Otherwise::Scan => FieldAction::Scan,
            },
        };
        let (sink, kind, id) = match action {
            FieldAction::Keep => return Ok(Sink::Copy),
            FieldAction::Scan => return Ok(Sink::Scan),
            FieldAction::Base64 => return Ok(Sink::Base64),
            FieldAction::Hash => (Sink::Hash, ActionKind::Hash, "policy.hash"),
            FieldAction::Drop => (Sink::Discard, ActionKind::Drop, "policy.drop"),
        };
        let path = self.display_path();
        if self.not_droppable() {
            // The root itself is never dropped or hashed: scan it instead.
            return Ok(Sink::Scan);
        }
        if self.mode == Mode::Strict && action == FieldAction::Drop {
            // Keep reading so the refusal can list every forbidden field in
            // this chunk; the value is discarded meanwhile.
            self.forbidden.push(path);
            return Ok(Sink::Discard);
        }
        let shadow = self.mode == Mode::Shadow;
        let kind = if shadow { ActionKind::Report } else { kind };
        self.findings.push(Finding {
            detector: Arc::from(id),
            path: Arc::from(path),
            start: at,
            end: at,
            action: kind,
        });
        Ok(if shadow { Sink::Copy } else { sink })
    }

    fn string_bytes(
        &mut self,
        engine: &Engine,
        chunk: &[u8],
        i: usize,
        out: &mut Vec<u8>,
    ) -> Result<usize, RedactError> {
        let StringRun {
            end,
            closed,
            escaped,
        } = self.string_run(chunk, i)?;
        let run = &chunk[i..end];
        self.capture_bytes(run);
        let mut scanned_whole = false;
        match self.value_sink {
            Sink::Scan => {
                let at = self.offset + i as u64;
                let scanned = self.scan_run(engine, run, at, closed, escaped, out);
                scanned_whole = self.named(scanned)?;
            }
            Sink::Base64 => {
                let field = engine.field_ctx(self.last_key()).into_owned();
                let mut cx = B64Ctx {
                    engine,
                    key: &self.key,
                    scanner: &mut self.scanner,
                    field,
                };
                self.b64.push(&mut cx, run, out)?
            }
            sink => write_to(sink, &mut self.hasher, run, out),
        }
        if !closed {
            return Ok(end);
        }
        if self.value_sink == Sink::Scan {
            if !scanned_whole {
                let finished = self.scanner.finish(engine, &self.key, out);
                self.named(finished)?;
            }
            self.take_scanned_findings();
        }
        if self.value_sink == Sink::Base64 {
            let field = engine.field_ctx(self.last_key()).into_owned();
            let mut cx = B64Ctx {
                engine,
                key: &self.key,
                scanner: &mut self.scanner,
                field,
            };
            self.b64.finish(&mut cx, out)?;
            self.findings.append(&mut self.scanner.findings);
        }
        let sink = self.value_sink;
        self.write(sink, b"\"", out);
        self.end_capture(true);
        self.end_value(out);
        Ok(end + 1)
    }

    /// Sends a run of a scanned string value, at raw offset `at`, to the
    /// scanner, starting it at the value's first run; returns whether the
    /// run was the whole value and is redacted already (see
    /// [`Scanner::scan_short_value`]), so the scanner is not to be
    /// finished.
    fn scan_run(
        &mut self,
        engine: &Engine,
        run: &[u8],
        at: u64,
        closed: bool,
        escaped: bool,
        out: &mut Vec<u8>,
    ) -> Result<bool, RedactError> {
        if let Some(node) = self.unstarted_scan.take() {
            let r = self.cache.resolution(node);
            let shadow = self.mode == Mode::Shadow;
            let (key, path) = (&self.key, UNNAMED);
            let whole_value = closed && !escaped;
            if whole_value && !r.html && r.field.whole.is_none() && run.len() < engine.max_token {
                // An uncached key path (`None`) has no lasting identity.
                let slot = node.and_then(|n| self.inert.slot(n, run));
                if slot.is_some_and(|k| self.inert.holds(k, run)) {
                    out.extend_from_slice(run);
                    return Ok(true);
                }
                let from = out.len();
                let scanner = &mut self.scanner;
                scanner.scan_short_value(engine, key, at, &r.field, path, shadow, run, out)?;
                if let Some(k) = slot {
                    if scanner.findings.is_empty() && out[from..] == *run {
                        self.inert.remember(k, run);
                    }
                }
                return Ok(true);
            }
            let enc = if r.html {
                Encoding::JsonHtml
            } else {
                Encoding::Json
            };
            self.scanner
                .reset(engine, key, enc, at, &r.field, path, shadow);
        }
        if escaped {
            self.scanner.push(engine, &self.key, run, out)?;
        } else {
            self.scanner.push_unescaped(engine, &self.key, run, out)?;
        }
        Ok(false)
    }

    /// Moves the findings of the value just scanned to the rewriter's,
    /// named with its display path (see [`UNNAMED`]). Inlined: most
    /// values have none.
    #[inline]
    fn take_scanned_findings(&mut self) {
        if !self.scanner.findings.is_empty() {
            self.name_scanned_findings();
        }
    }

    /// [`Self::take_scanned_findings`] for a value with findings.
    fn name_scanned_findings(&mut self) {
        let path: Arc<str> = Arc::from(self.path.render(&self.cache));
        for f in &mut self.scanner.findings {
            f.path = Arc::clone(&path);
        }
        self.findings.append(&mut self.scanner.findings);
    }

    /// `scanned`, a rejection in it named with the display path of the
    /// value scanned (see [`UNNAMED`]).
    fn named<T>(&mut self, scanned: Result<T, RedactError>) -> Result<T, RedactError> {
        scanned.map_err(|e| match e {
            RedactError::Rejected { detector, .. } => RedactError::Rejected {
                detector,
                path: self.display_path(),
            },
            e => e,
        })
    }

    fn end_number(&mut self, engine: &Engine, out: &mut Vec<u8>) -> Result<(), RedactError> {
        if !valid_number(&self.num) {
            return Err(Self::err(self.num_start, "invalid number"));
        }
        let num = std::mem::take(&mut self.num);
        self.capture_bytes(&num);
        self.end_capture(false);
        let node = (self.value_sink == Sink::Scan).then(|| self.resolve_value(engine));
        let field = node.map(|n| &self.cache.resolution(n).field);
        match (node, field) {
            (Some(node), Some(field)) if field.whole.is_some() || !engine.digits_inert(&num) => {
                // Ids repeat (a group, an agent, a mail configuration): a
                // number scanned before at this key path that came out as
                // it was is remembered like a short string, in a table of
                // its own (a number is scanned as plain text, a string as
                // JSON text). A field scanned whole is always scanned.
                let slot = node
                    .filter(|_| field.whole.is_none())
                    .and_then(|n| self.inert_numbers.slot(n, &num));
                if slot.is_some_and(|k| self.inert_numbers.holds(k, &num)) {
                    out.extend_from_slice(&num);
                } else if self.scan_number(engine, node, &num, out)? {
                    if let Some(k) = slot {
                        self.inert_numbers.remember(k, &num);
                    }
                }
            }
            _ => {
                let sink = self.value_sink;
                self.write(sink, &num, out);
            }
        }
        self.num = num;
        self.end_value(out);
        Ok(())
    }

    /// Scans number `num` at key path `node` and writes it, as it was or,
    /// redacted, as a string; returns whether it came out as it was and
    /// with no finding.
    fn scan_number(
        &mut self,
        engine: &Engine,
        node: Node,
        num: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<bool, RedactError> {
        let mut text = std::mem::take(&mut self.num_text);
        text.clear();
        self.scanner.reset(
            engine,
            &self.key,
            Encoding::Plain,
            self.num_start,
            &self.cache.resolution(node).field,
            UNNAMED,
            self.mode == Mode::Shadow,
        );
        let scanned = self.scanner.push(engine, &self.key, num, &mut text);
        self.named(scanned)?;
        let finished = self.scanner.finish(engine, &self.key, &mut text);
        self.named(finished)?;
        let unchanged = text == num;
        let inert = unchanged && self.scanner.findings.is_empty();
        self.take_scanned_findings();
        if unchanged {
            out.extend_from_slice(num);
        } else {
            out.push(b'"');
            json_escape(&String::from_utf8_lossy(&text), out);
            out.push(b'"');
        }
        self.num_text = text;
        Ok(inert)
    }

    fn close(&mut self, b: u8, out: &mut Vec<u8>) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        if frame.is_object {
            let held = std::mem::take(&mut self.held);
            self.write(frame.sink, &held, out);
            if frame.sink == Sink::Copy || frame.sink == Sink::Scan {
                self.tag_ticket(frame.emitted_any, out);
            }
        } else {
            self.path.pop();
        }
        self.write(frame.sink, &[b], out);
        self.end_value(out);
    }

    /// After a complete value: finish a pseudonym, leave the member, move on.
    fn end_value(&mut self, out: &mut Vec<u8>) {
        if self.hasher.is_some() && self.stack.len() == self.hash_depth {
            if let Some(h) = self.hasher.take() {
                let token = h.finish();
                out.push(b'"');
                json_escape(&format!("[{}:{}]", self.hash_id, token), out);
                out.push(b'"');
            }
        }
        if let Some(t) = self.tagging.as_mut() {
            if t.diverting
                .as_ref()
                .is_some_and(|(_, depth)| *depth == self.stack.len())
            {
                t.finished = t.diverting.take().map(|(key, _)| key);
            }
        }
        if let Some(p) = self.protect.as_mut() {
            if p.holding
                .as_ref()
                .is_some_and(|h| h.depth == self.stack.len())
            {
                p.finished = p.holding.take();
            }
        }
        if self.stack.last().is_some_and(|f| f.is_object) {
            self.path.pop();
        }
        self.st = if self.stack.is_empty() {
            St::Done
        } else {
            St::AfterValue
        };
    }
}

fn write_to(sink: Sink, hasher: &mut Option<Pseudonymizer>, bytes: &[u8], out: &mut Vec<u8>) {
    match sink {
        Sink::Copy | Sink::Scan | Sink::Base64 => out.extend_from_slice(bytes),
        Sink::Hash => {
            if let Some(h) = hasher {
                h.update(bytes);
            }
        }
        Sink::Discard => {}
    }
}

/// Whether `b` may be part of a JSON number (which [`valid_number`] checks
/// once the number ends).
fn number_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
}

/// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
fn valid_number(n: &[u8]) -> bool {
    let mut i = usize::from(n.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let s = *i;
        while *i < n.len() && n[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - s
    };
    let int_start = i;
    let int = digits(&mut i);
    if int == 0 || (int > 1 && n[int_start] == b'0') {
        return false;
    }
    if i < n.len() && n[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < n.len() && (n[i] == b'e' || n[i] == b'E') {
        i += 1;
        if i < n.len() && (n[i] == b'+' || n[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == n.len()
}

/// Length of the plain run at the start of string content: the index of
/// the first quote, backslash or control character, or `bytes.len()`.
/// Every byte of every string passes through here, and most runs are short
/// keys and values, where a search routine's setup costs more than the
/// search. So: 16-byte blocks tested with no per-byte branch (that
/// vectorises), then the hit located inside its block word-wise. A control
/// character found here is reported by `escape_byte`.
fn string_stop(bytes: &[u8]) -> usize {
    let stop = |b: u8| (b == b'"') | (b == b'\\') | (b < 0x20);
    let mut blocks = bytes.chunks_exact(16);
    let mut base = 0;
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | stop(b)) {
            return base + first_stop(block);
        }
        base += 16;
    }
    // Padded with a quote, which stops the run at `bytes.len()`.
    let mut last = [b'"'; 16];
    last[..blocks.remainder().len()].copy_from_slice(blocks.remainder());
    base + first_stop(&last)
}

/// Index of the first stop byte in a 16-byte block (16 if none).
fn first_stop(block: &[u8]) -> usize {
    let (lo, hi) = block.split_at(8);
    let word = |h: &[u8]| stop_bits(u64::from_le_bytes(h.try_into().unwrap_or_default()));
    match word(lo) {
        0 => 8 + word(hi).trailing_zeros() as usize / 8,
        m => m.trailing_zeros() as usize / 8,
    }
}

/// High bit of byte `k` set for stop bytes of `w` (little-endian). Only
/// the lowest set bit is exact (borrows may flag bytes above it), which is
/// the one `first_stop` reads.
fn stop_bits(w: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1)
        | below(w, 0x20)
}

/// Resolves a key path (see [`Resolved`]).
fn resolve(policy: &FieldPolicy, html: &[KeyGlob], engine: &Engine, path: &[&str]) -> Resolved {
    let name = path.last().copied().unwrap_or("");
    Resolved {
        name: name.to_string(),
        rules: policy.rules_at(path),
        html: policy.is_html(path) || html.iter().any(|g| g.matches(name)),
        field: engine.field_ctx(name).into_owned(),
    }
}

/// Appends `key` to a display path.
fn push_key(display: &mut String, key: &str) {
    if !display.is_empty() {
        display.push('.');
    }
    display.push_str(key);
}

/// Appends array index `n` as `[n]` (no formatter: this runs for every
/// value with findings).
fn push_index(s: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    s.reserve(digits.len() - k + 2);
    s.push('[');
    for &d in &digits[k..] {
        s.push(char::from(d));
    }
    s.push(']');
}

fn unescape_key(raw: &[u8]) -> String {
    let mut key = String::new();
    unescape_key_into(raw, &mut key);
    key
}

/// [`unescape_key`] into a reused string.
fn unescape_key_into(raw: &[u8], key: &mut String) {
    key.clear();
    if !raw.contains(&b'\\') {
        push_lossy(raw, key);
        return;
    }
    let quoted = [b"\"".as_slice(), raw, b"\""].concat();
    match serde_json::from_slice::<String>(&quoted) {
        Ok(k) => key.push_str(&k),
        Err(_) => push_lossy(raw, key),
    }
}

/// Appends `raw` as text, invalid UTF-8 replaced. Valid input (every key in
/// practice) is checked by `from_utf8`, much cheaper than the lossy walk.
fn push_lossy(raw: &[u8], s: &mut String) {
    match std::str::from_utf8(raw) {
        Ok(text) => s.push_str(text),
        Err(_) => s.push_str(&String::from_utf8_lossy(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scanner::tests::shipped_rules;
    use crate::core::test_rng::xorshift;
    use regex::Regex;

    /// Output and findings of `body` fed in pieces of `piece` bytes, with
    /// an inert-value table of `slots` slots.
    fn rewrite(body: &[u8], piece: usize, slots: usize) -> (Vec<u8>, Vec<Finding>) {
        let rules = shipped_rules();
        let (out, findings) = rewrite_with(&rules, body, piece, slots).expect("rewrites");
        (out, findings)
    }

    /// [`rewrite`] with `rules`, which may refuse the body.
    fn rewrite_with(
        rules: &crate::core::ruleset::Ruleset,
        body: &[u8],
        piece: usize,
        slots: usize,
    ) -> Result<(Vec<u8>, Vec<Finding>), RedactError> {
        let (engine, policy) = (&rules.engine, Arc::new(FieldPolicy::scan_all()));
        let key = PseudonymKey::new(b"0123456789abcdef".to_vec());
        let mut rw = JsonRewriter::new(engine, &rules.settings, policy, key, false);
        rw.inert = InertValues::new(slots);
        rw.inert_numbers = InertValues::new(slots);
        let mut out = Vec::new();
        for chunk in body.chunks(piece) {
            rw.push(engine, chunk, &mut out)?;
        }
        rw.finish(engine, &mut out)?;
        Ok((out, std::mem::take(&mut rw.findings)))
    }

    /// The display path of a member `key` (unescaped) of the value at `path`.
    fn member_path(path: &str, key: &str) -> String {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    }

    /// Appends a random value at display path `path` to `body`; every
    /// e-mail address in it is recorded in `leaves` with its byte range
    /// and path. Keys: empty, dotted, escaped (`k\u0031` is `k1`), and
    /// hundreds of distinct ones, more than the key cache holds.
    fn random_value(
        state: &mut u64,
        depth: usize,
        path: &str,
        body: &mut String,
        leaves: &mut Vec<(usize, usize, String)>,
    ) {
        xorshift(state);
        let pick = *state % 10;
        if depth < 4 && pick < 3 {
            body.push('{');
            for m in 0..1 + (*state >> 8) % 4 {
                xorshift(state);
                let (raw, key) = match *state % 5 {
                    0 => (String::new(), String::new()),
                    1 => ("a.b".to_string(), "a.b".to_string()),
                    2 => ("k\\u0031".to_string(), "k1".to_string()),
                    _ => {
                        let k = format!("k{}", (*state >> 8) % 900);
                        (k.clone(), k)
                    }
                };
                if m > 0 {
                    body.push(',');
                }
                body.push_str(&format!("\"{raw}\":"));
                random_value(state, depth + 1, &member_path(path, &key), body, leaves);
            }
            body.push('}');
        } else if depth < 4 && pick < 5 {
            body.push('[');
            for n in 0..1 + (*state >> 8) % 12 {
                if n > 0 {
                    body.push(',');
                }
                random_value(state, depth + 1, &format!("{path}[{n}]"), body, leaves);
            }
            body.push(']');
        } else if pick < 8 {
            let start = body.len();
            body.push_str("\"mail anna.berg@example.se now\"");
            leaves.push((start, body.len(), path.to_string()));
        } else {
            body.push_str(if pick == 8 { "\"ok\"" } else { "12" });
        }
    }

    /// Findings are named with the display path of their value, rendered
    /// on demand from the path's steps, as a path built member by member
    /// names them: through arrays, empty, dotted and escaped keys, and keys
    /// the full key cache no longer holds; whole and in pieces.
    #[test]
    fn findings_are_named_with_the_display_path_of_their_value() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut body = String::from("[");
        let mut leaves = Vec::new();
        for n in 0..300 {
            if n > 0 {
                body.push(',');
            }
            random_value(&mut state, 0, &format!("[{n}]"), &mut body, &mut leaves);
        }
        body.push(']');
        assert!(leaves.len() > 300, "{} leaves", leaves.len());
        for piece in [body.len(), 97, 5] {
            let (_, findings) = rewrite(body.as_bytes(), piece, INERT_SLOTS);
            let mut found = vec![false; leaves.len()];
            for f in &findings {
                let k = leaves
                    .iter()
                    .position(|&(a, b, _)| (a as u64) < f.start && f.end < b as u64)
                    .expect("a finding inside an e-mail value");
                assert_eq!(&*f.path, leaves[k].2, "pieces of {piece}");
                found[k] = true;
            }
            assert!(found.iter().all(|&f| f), "pieces of {piece}");
        }
    }

    /// A `reject` detector refuses a body naming the display path of the
    /// value, whether it is a short string scanned whole, a long one
    /// scanned as it comes, or a number.
    #[test]
    fn a_rejection_names_the_path_of_its_value() {
        let rule = r#"
[[detector]]
id = "t.code"
description = "d"
kind = "number"
pattern = '[0-9]{5}'
action = "reject"
must_match = ["12345"]
"#;
        let source = crate::core::ruleset::RuleSource {
            path: "t.toml".into(),
            text: rule.into(),
        };
        let rules = crate::core::ruleset::Ruleset::compile(&[source]).expect("compiles");
        let long = "x ".repeat(rules.engine.max_token);
        let cases = [
            (
                r#"{"a":[{"b":"ok"},{"b":"ok 12345"}]}"#.to_string(),
                "a[1].b",
            ),
            (format!(r#"{{"a":{{"":["{long} 12345"]}}}}"#), "a.[0]"),
            (r#"{"t":[{"n":1},{"n":12345}]}"#.to_string(), "t[1].n"),
        ];
        for (body, path) in cases {
            for piece in [body.len(), 3] {
                let err = rewrite_with(&rules, body.as_bytes(), piece, INERT_SLOTS);
                let want = RedactError::Rejected {
                    detector: "t.code".into(),
                    path: path.into(),
                };
                assert_eq!(err.err(), Some(want), "{path}, pieces of {piece}");
            }
        }
    }

    /// A key is refused as too long where it grows past [`MAX_KEY`],
    /// whatever follows in the chunk (here a byte that is no UTF-8, which
    /// read first made the refusal depend on the splits; found by fuzzing).
    /// A key of exactly `MAX_KEY` bytes is fine.
    #[test]
    fn a_too_long_key_is_refused_as_such_whatever_the_splits() {
        let rules = shipped_rules();
        let too_long = [&b"{\""[..], &[b'k'; MAX_KEY + 5], b"\xff\":1}"].concat();
        let longest = [&b"{\""[..], &[b'k'; MAX_KEY], b"\":1}"].concat();
        for piece in [1, 2, 7, 1000, MAX_KEY + 1, too_long.len()] {
            match rewrite_with(&rules, &too_long, piece, INERT_SLOTS) {
                Err(RedactError::TokenTooLong {
                    offset: 1,
                    limit: MAX_KEY,
                }) => {}
                other => panic!("pieces of {piece}: {other:?}"),
            }
            let fine = rewrite_with(&rules, &longest, piece, INERT_SLOTS);
            assert!(fine.is_ok(), "pieces of {piece}: {fine:?}");
        }
    }

    /// Numbers read in one go (see [`JsonRewriter::number_bytes`]) come
    /// out as they do read a byte per step (one-byte pieces): the same
    /// output and findings for valid numbers, ID-like ones among them, and
    /// the same error, at the same offset, for invalid and too long ones.
    #[test]
    fn numbers_read_in_one_go_agree_with_the_number_steps() {
        let rules = shipped_rules();
        let longest = "7".repeat(MAX_KEY);
        let too_long = "7".repeat(MAX_KEY + 1);
        let bodies = [
            "[0,-1,2.5e+10,1E-3,-0.0e0]".to_string(),
            r#"{"id":12345678901234,"national_id":198112289874,"n":4111111111111111}"#.to_string(),
            r#"{"a" : 811228 , "b":[1,2,3]}"#.to_string(),
            "12345".to_string(),
            format!("[{longest}]"),
            format!(r#"{{"id":{too_long}}}"#),
            format!("{longest}1"),
            "[01]".to_string(),
            "[1.]".to_string(),
            "[--1]".to_string(),
            "[1e]".to_string(),
            "[1x]".to_string(),
            r#"{"a":1.5.5}"#.to_string(),
        ];
        let (mut failed, mut found) = (0, 0);
        for body in &bodies {
            let stepped = rewrite_with(&rules, body.as_bytes(), 1, INERT_SLOTS);
            for piece in [2, 3, 7, 64, body.len()] {
                let read = rewrite_with(&rules, body.as_bytes(), piece, INERT_SLOTS);
                assert_eq!(read, stepped, "{body:.40} in pieces of {piece}");
            }
            match stepped {
                Ok((_, findings)) => found += findings.len(),
                Err(_) => failed += 1,
            }
        }
        assert_eq!(failed, 8, "every invalid or too long number refused");
        assert!(found >= 2, "the ID-like numbers found: {found}");
        let offset = |body: &str| match rewrite_with(&rules, body.as_bytes(), body.len(), 0) {
            Err(RedactError::InvalidJson { offset, .. }) => offset,
            other => panic!("{body:.40}: {other:?}"),
        };
        assert_eq!(
            offset(&format!(r#"{{"id":{too_long}}}"#)),
            6 + MAX_KEY as u64
        );
    }

    /// Literals read in one go (when the chunk holds them whole) give the
    /// output and the errors, at the same offsets, of the byte steps.
    #[test]
    fn literals_read_in_one_go_agree_with_the_literal_steps() {
        let rules = shipped_rules();
        let bodies = [
            "[true,false,null]",
            r#"{"a":null,"b":false,"c":true,"d":[null]}"#,
            r#"{"a" : null , "b":true}"#,
            "null",
            r#"{"a":nul}"#,
            r#"{"a":nulx}"#,
            "[tru]",
            "[fals",
            "[nullnull]",
            r#"{"a":truefalse}"#,
            "[nulL]",
        ];
        let mut failed = 0;
        for body in bodies {
            let stepped = rewrite_with(&rules, body.as_bytes(), 1, INERT_SLOTS);
            for piece in [2, 3, 4, 5, 7, body.len()] {
                let read = rewrite_with(&rules, body.as_bytes(), piece, INERT_SLOTS);
                assert_eq!(read, stepped, "{body} in pieces of {piece}");
            }
            match stepped {
                Ok((out, _)) => assert_eq!(out, body.as_bytes()),
                Err(_) => failed += 1,
            }
        }
        assert_eq!(failed, 7, "every invalid literal refused");
    }

    /// A body whose short values repeat, at the same key path and at
    /// others (which bring other context), redacts with the inert-value
    /// tables as it does without: same output, same findings, whether the
    /// body comes whole or in pieces. Values made of digits come as JSON
    /// numbers in every other object, ids and IDs alike.
    #[test]
    fn remembered_inert_values_redact_as_scanned_ones() {
        let rules = shipped_rules();
        let mut values: Vec<String> = [
            "Question",
            "lms",
            "LMS Pro",
            "open",
            "",
            "Anna",
            "12",
            "198112189876",
            "7000000001",
            "46701234567",
        ]
        .iter()
        .map(|v| v.to_string())
        .collect();
        values.extend(
            rules
                .examples()
                .iter()
                .map(|ex| ex.text.clone())
                .filter(|t| t.len() <= 2 * inert::INERT_MAX),
        );
        let keys = [
            "type",
            "phone",
            "email",
            "name",
            "tags",
            "personnummer",
            "cpr",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut body = String::from("[");
        for t in 0..400 {
            body.push_str(if t == 0 { "{" } else { ",{" });
            for m in 0..3 {
                xorshift(&mut state);
                let key = keys[(state % keys.len() as u64) as usize];
                // Few distinct values, so most repeat.
                let value = &values[(state >> 8) as usize % values.len().min(12 + t / 8)];
                let number = t % 2 == 1
                    && value.bytes().all(|b| b.is_ascii_digit())
                    && (value == "0" || value.bytes().next().is_some_and(|b| b != b'0'));
                let value = match number {
                    true => value.clone(),
                    false => serde_json::to_string(value).expect("a string"),
                };
                body.push_str(&format!(
                    "{}\"{key}{m}\":{value}",
                    if m > 0 { "," } else { "" }
                ));
            }
            body.push('}');
        }
        body.push(']');
        let want = rewrite(body.as_bytes(), body.len(), 0);
        assert!(want.1.len() > 50, "{} findings", want.1.len());
        let id_number = Regex::new(r#""personnummer\d":198112189876"#).expect("a pattern");
        assert!(id_number.is_match(&body), "an ID number at its key");
        let out = String::from_utf8_lossy(&want.0);
        assert!(!id_number.is_match(&out), "redacted");
        assert!(out.contains(":7000000001"), "an id number kept");
        for piece in [body.len(), 1000, 61, 7] {
            assert_eq!(
                rewrite(body.as_bytes(), piece, INERT_SLOTS),
                want,
                "pieces of {piece}"
            );
        }
    }

    /// The block-and-word search agrees with a plain byte loop for every
    /// byte value at every position, among fillers of all non-stop bytes
    /// (high bytes included: `0xa2` and `0xdc` differ from `"` and `\` in
    /// the top bit only), with and without a later quote.
    #[test]
    fn string_stop_matches_a_byte_loop() {
        let plain: Vec<u8> = (0x20..=0xff).filter(|&b| b != b'"' && b != b'\\').collect();
        let naive = |s: &[u8]| {
            s.iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(s.len())
        };
        for len in 0..40 {
            let filler: Vec<u8> = (0..len)
                .map(|k| plain[(k * 37 + len) % plain.len()])
                .collect();
            assert_eq!(string_stop(&filler), naive(&filler));
            for at in 0..len {
                for v in 0..=255u8 {
                    let mut s = filler.clone();
                    s[at] = v;
                    assert_eq!(string_stop(&s), naive(&s), "len {len} at {at} byte {v}");
                    s.push(b'"');
                    assert_eq!(string_stop(&s), naive(&s), "len {len} at {at} byte {v}");
                }
            }
        }
    }
}
