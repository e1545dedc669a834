//! The streaming body pipeline: a `http_body::Body` wrapper that pulls one
//! frame from the inner body only when hyper asks for one (backpressure),
//! decodes its content coding, pushes it through the redactor and yields
//! what the redactor emitted. Nothing here ever holds a whole body.
//!
//! The shell talks to the core through two small traits ([`Engine`] and
//! [`BodyFilter`]) so that the I/O code can be built and tested on its own;
//! `core_engine` adapts the core's `Ruleset`/`Redactor` to them. What the
//! shell says about a body is the core's own plain-data [`StreamSpec`]
//! (format, route, [`Direction`], audience): a second copy of those types
//! here would only have to be kept in step by a field-by-field conversion.
//! A body is always `Request` or `Response`; `Direction::Both` only
//! occurs in policies.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::core::{Direction, Format, StreamSpec};
use crate::proxy::encoding::Decoder;

/// Boxed error type the proxy's bodies use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a body could not be inspected. `detail` must be free of personal
/// data: it ends up in problem+json bodies and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Stable reason code (`invalid_json`, `token_too_long`, ...).
    pub reason: &'static str,
    /// PII-free human explanation.
    pub detail: String,
}

impl FilterError {
    /// A new error.
    pub fn new(reason: &'static str, detail: impl Into<String>) -> FilterError {
        FilterError {
            reason,
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for FilterError {}

/// The format the core should parse a body with, from its `Content-Type`;
/// `None` for types the core does not inspect (they follow
/// `content.other_types`). A multipart body also needs its [`boundary`].
pub fn format_of(ct: Option<&http::HeaderValue>) -> Option<Format> {
    let ct = ct?.to_str().ok()?;
    let mime = ct.split(';').next()?.trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "application/problem+json" => Some(Format::Json),
        "application/x-ndjson" | "application/jsonl" | "application/jsonlines" => {
            Some(Format::Jsonl)
        }
        "text/html" | "application/xhtml+xml" => Some(Format::Html),
        m if m.ends_with("+json") => Some(Format::Json),
        m if m.starts_with("text/") => Some(Format::Text),
        "application/x-www-form-urlencoded" => Some(Format::Text),
        "multipart/form-data" => Some(Format::Multipart),
        _ => None,
    }
}

/// The `boundary` parameter of a Content-Type, unquoted (None when absent).
pub fn boundary(ct: Option<&http::HeaderValue>) -> Option<String> {
    let ct = ct?.to_str().ok()?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        Some(v.to_string())
    })
}

/// One finding, as the shell needs it for metrics (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterFinding {
    /// Detector or policy id.
    pub detector: Arc<str>,
    /// A field removed by a field policy (counted as `fields_dropped_total`).
    pub dropped: bool,
}

/// A streaming redactor for one body.
pub trait BodyFilter: Send {
    /// Feeds a chunk; appends whatever can already be emitted to `out`.
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), FilterError>;
    /// End of body: appends the rest.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), FilterError>;
    /// Findings since the last call.
    fn take_findings(&mut self) -> Vec<FilterFinding>;
    /// Bounded route label (policy id, `default` when none matched).
    fn route_id(&self) -> &str;
    /// Whether the filter may change the body (false in shadow mode): when
    /// false, Content-Length and validators can be kept.
    fn may_change(&self) -> bool {
        true
    }
    /// The GDPR legal basis the core decided for a ticket-creating body, once
    /// known: bounded names only (basis, retention class, deciding rule).
    fn legal_basis(&self) -> Option<LegalBasis> {
        None
    }
    /// Whether the body should end with a legal-basis decision (a
    /// ticket-creating route).
    fn expects_legal_basis(&self) -> bool {
        false
    }
    /// The id the helpdesk assigned to a created ticket, read by the core
    /// from the creation's response body (an id-shaped value, never data).
    fn ticket_id(&self) -> Option<String> {
        None
    }
}

/// A legal-basis decision as the shell exports it (metrics, audit log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalBasis {
    /// `contract`, `legitimate_interest`, ...
    pub basis: String,
    /// Retention class, e.g. `relationship+1y`.
    pub retention: String,
    /// Why: `registry:email`, `rule:<id>`, `default`.
    pub decided_by: String,
}

/// A compiled rule set as the shell sees it.
pub trait Engine: Send + Sync {
    /// Short version hash for `rules_info`.
    fn version(&self) -> &str;
    /// A filter for one body. `boundary` is the multipart boundary from the
    /// Content-Type (see [`boundary`]); it is not part of the core's
    /// `StreamSpec` because only the multipart redactor takes it.
    fn open(&self, spec: &StreamSpec<'_>, boundary: Option<&str>) -> Box<dyn BodyFilter>;
    /// Whether the rules refuse this request outright, body or not (the
    /// core decides; the shell only answers 422). Default: never.
    fn refuses(&self, _spec: &StreamSpec<'_>) -> Option<FilterError> {
        None
    }
}

/// Loads (and compiles) the rules directory into an engine. Errors are
/// `file:line: reason` lines, never containing personal data.
pub trait EngineLoader: Send + Sync {
    /// Loads the rules; the previous engine keeps serving on error.
    fn load(&self) -> Result<Arc<dyn Engine>, String>;
}

// ---------------------------------------------------------------------------
// A literal-replacement engine: lets the shell be tested without the core.

/// Replaces literal needles; rejects bodies containing `REJECT`, and JSON
/// bodies that do not start with `{` or `[`. For shell tests only: it knows
/// nothing about personal data.
pub struct LiteralEngine {
    pairs: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
    version: String,
}

impl LiteralEngine {
    /// From `needle=replacement` pairs.
    pub fn new(pairs: Vec<(Vec<u8>, Vec<u8>)>) -> LiteralEngine {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (a, b) in &pairs {
            for &x in a.iter().chain(b.iter()).chain(b"=\n".iter()) {
                h = (h ^ x as u64).wrapping_mul(0x100_0000_01b3);
            }
        }
        LiteralEngine {
            pairs: Arc::new(pairs),
            version: format!("{:012x}", h & 0xffff_ffff_ffff),
        }
    }
}

impl Engine for LiteralEngine {
    fn version(&self) -> &str {
        &self.version
    }
    fn open(&self, spec: &StreamSpec<'_>, _boundary: Option<&str>) -> Box<dyn BodyFilter> {
        Box::new(LiteralFilter {
            pairs: self.pairs.clone(),
            carry: Vec::new(),
            json: spec.format == Format::Json,
            seen_start: false,
            findings: Vec::new(),
        })
    }
}

/// Loads `*.txt` files of `needle=replacement` lines from a directory.
pub struct LiteralLoader {
    /// The rules directory.
    pub dir: std::path::PathBuf,
}

impl EngineLoader for LiteralLoader {
    fn load(&self) -> Result<Arc<dyn Engine>, String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.dir)
            .map_err(|e| format!("{}: {e}", self.dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        let mut pairs = Vec::new();
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() || line.starts_with('#') {
                    continue;
                }
                let Some((a, b)) = line.split_once('=') else {
                    return Err(format!(
                        "{}:{}: expected needle=replacement",
                        f.display(),
                        i + 1
                    ));
                };
                if a.is_empty() {
                    return Err(format!("{}:{}: empty needle", f.display(), i + 1));
                }
                pairs.push((a.as_bytes().to_vec(), b.as_bytes().to_vec()));
            }
        }
        Ok(Arc::new(LiteralEngine::new(pairs)))
    }
}

struct LiteralFilter {
    pairs: Arc<Vec<(Vec<u8>, Vec<u8>)>>,
    carry: Vec<u8>,
    json: bool,
    seen_start: bool,
    findings: Vec<FilterFinding>,
}

impl LiteralFilter {
    fn process(&mut self, out: &mut Vec<u8>, last: bool) -> Result<(), FilterError> {
        if self.json && !self.seen_start {
            match self.carry.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') | Some(b'[') => self.seen_start = true,
                Some(_) => return Err(FilterError::new("invalid_json", "invalid JSON at byte 0")),
                None if last => {
                    return Err(FilterError::new("invalid_json", "empty JSON body"));
                }
                None => return Ok(()),
            }
        }
        let keep = if last {
            0
        } else {
            self.pairs
                .iter()
                .map(|(a, _)| a.len())
                .chain(std::iter::once(b"REJECT".len()))
                .max()
                .unwrap_or(1)
                - 1
        };
        let mut i = 0;
        let buf = std::mem::take(&mut self.carry);
        'outer: while i < buf.len() {
            let rest = &buf[i..];
            if rest.starts_with(b"REJECT") {
                return Err(FilterError::new(
                    "rejected_content",
                    "rejected by detector test.reject",
                ));
            }
            for (needle, repl) in self.pairs.iter() {
                if rest.starts_with(needle) {
                    out.extend_from_slice(repl);
                    self.findings.push(FilterFinding {
                        detector: Arc::from("test.literal"),
                        dropped: false,
                    });
                    i += needle.len();
                    continue 'outer;
                }
            }
            if rest.len() <= keep {
                break;
            }
            out.push(buf[i]);
            i += 1;
        }
        self.carry = buf[i..].to_vec();
        Ok(())
    }
}

impl BodyFilter for LiteralFilter {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<(), FilterError> {
        self.carry.extend_from_slice(chunk);
        self.process(out, false)
    }
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), FilterError> {
        self.process(out, true)
    }
    fn take_findings(&mut self) -> Vec<FilterFinding> {
        std::mem::take(&mut self.findings)
    }
    fn route_id(&self) -> &str {
        crate::telemetry::ROUTE_DEFAULT
    }
}

// ---------------------------------------------------------------------------
// The Body wrapper.

/// Per-request counters shared by the two body wrappers and the access log.
#[derive(Default)]
pub struct ReqStats {
    /// Nanoseconds spent decoding and filtering.
    pub filter_ns: AtomicU64,
    /// Decoded request bytes inspected.
    pub req_bytes: AtomicU64,
    /// Response bytes sent to the client.
    pub resp_bytes: AtomicU64,
    /// Findings in both bodies (the access log shows the count, never values).
    pub findings: AtomicU64,
    /// A request-side failure (filter error or body limit), so the handler
    /// can answer 422/413 instead of a generic 502.
    pub request_failure: Mutex<Option<FilterError>>,
    /// A response-side failure, so a response that fails in its first
    /// chunk can still be answered with a clean 502.
    pub response_failure: Mutex<Option<FilterError>>,
    /// The request body's legal-basis decision, once the body has been read
    /// to its end (the handler puts it on the response head).
    pub legal_basis: Mutex<Option<LegalBasis>>,
    /// The helpdesk's id of the created ticket, once the response body has
    /// been read to its end (for the legal-basis audit event).
    pub ticket_id: Mutex<Option<String>>,
}

impl ReqStats {
    /// The first failure of the body travelling in `direction`, if any.
    pub fn failure(&self, direction: Direction) -> Option<FilterError> {
        self.failure_slot(direction)
            .lock()
            .ok()
            .and_then(|g| g.clone())
    }

    /// Records a body's failure; the first one is kept (it is the cause).
    fn record_failure(&self, direction: Direction, e: &FilterError) {
        if let Ok(mut slot) = self.failure_slot(direction).lock() {
            slot.get_or_insert_with(|| e.clone());
        }
    }

    fn failure_slot(&self, direction: Direction) -> &Mutex<Option<FilterError>> {
        if direction == Direction::Response {
            &self.response_failure
        } else {
            &self.request_failure
        }
    }
}

/// Called once per body with its findings and outcome (metrics, audit).
pub type Observer = Box<dyn FnMut(BodyEvent<'_>) + Send>;

/// What a body wrapper reports.
pub enum BodyEvent<'a> {
    /// Findings from the latest chunk.
    Findings(&'a [FilterFinding]),
    /// `n` decoded bytes went through the filter.
    Inspected(u64),
    /// The body was tagged with a legal basis (reported once, at its end;
    /// the audit event follows when the exchange ends, with the ticket id).
    LegalBasis(&'a LegalBasis),
    /// A ticket-creating body ended without a legal-basis decision (e.g.
    /// the ticket object was missing).
    LegalBasisMissing,
    /// The body failed closed.
    Failed(&'a FilterError),
}

/// A body run through a decoder and a filter.
pub struct FilteredBody<B> {
    inner: B,
    decoder: Decoder,
    filter: Box<dyn BodyFilter>,
    direction: Direction,
    stats: Arc<ReqStats>,
    observer: Observer,
    /// Decoded-byte limit (0 = none); exceeding it is a `body_too_large` failure.
    limit: u64,
    decoded: u64,
    done: bool,
}

impl<B> FilteredBody<B> {
    /// Wraps `inner`.
    pub fn new(
        inner: B,
        decoder: Decoder,
        filter: Box<dyn BodyFilter>,
        direction: Direction,
        stats: Arc<ReqStats>,
        observer: Observer,
        limit: u64,
    ) -> Self {
        FilteredBody {
            inner,
            decoder,
            filter,
            direction,
            stats,
            observer,
            limit,
            decoded: 0,
            done: false,
        }
    }

    fn run(&mut self, data: Option<&[u8]>) -> Result<Vec<u8>, FilterError> {
        let t = Instant::now();
        let mut out = Vec::with_capacity(data.map_or(256, |d| d.len() + 64));
        let before = self.decoded;
        let filter = &mut self.filter;
        let decoded = &mut self.decoded;
        let limit = self.limit;
        let mut sink = |piece: &[u8]| -> Result<(), FilterError> {
            *decoded += piece.len() as u64;
            if limit > 0 && *decoded > limit {
                return Err(FilterError::new(
                    "body_too_large",
                    format!("the body exceeds the {limit}-byte limit for this route"),
                ));
            }
            filter.push(piece, &mut out)
        };
        let res = match data {
            Some(d) => self.decoder.push(d, &mut sink),
            None => self
                .decoder
                .finish(&mut sink)
                .and_then(|_| self.filter.finish(&mut out)),
        };
        if data.is_none() && res.is_ok() {
            if self.filter.expects_legal_basis() && self.filter.legal_basis().is_none() {
                (self.observer)(BodyEvent::LegalBasisMissing);
            }
            if let Some(lb) = self.filter.legal_basis() {
                (self.observer)(BodyEvent::LegalBasis(&lb));
                if self.direction == Direction::Request {
                    if let Ok(mut slot) = self.stats.legal_basis.lock() {
                        *slot = Some(lb);
                    }
                }
            }
            if self.direction == Direction::Response {
                if let Some(id) = self.filter.ticket_id() {
                    if let Ok(mut slot) = self.stats.ticket_id.lock() {
                        *slot = Some(id);
                    }
                }
            }
        }
        let n = self.decoded - before;
        if self.direction == Direction::Request {
            self.stats.req_bytes.fetch_add(n, Ordering::Relaxed);
        }
        self.stats
            .filter_ns
            .fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if n > 0 {
            (self.observer)(BodyEvent::Inspected(n));
        }
        let findings = self.filter.take_findings();
        if !findings.is_empty() {
            self.stats
                .findings
                .fetch_add(findings.len() as u64, Ordering::Relaxed);
            (self.observer)(BodyEvent::Findings(&findings));
        }
        res.map(|_| out)
    }

    fn fail(&mut self, e: FilterError) -> BoxError {
        self.done = true;
        (self.observer)(BodyEvent::Failed(&e));
        self.stats.record_failure(self.direction, &e);
        Box::new(e)
    }

    /// A frame of filtered output, counted as sent when it goes to the client.
    fn frame(&self, out: Vec<u8>) -> Frame<Bytes> {
        if self.direction == Direction::Response {
            self.stats
                .resp_bytes
                .fetch_add(out.len() as u64, Ordering::Relaxed);
        }
        Frame::data(Bytes::from(out))
    }
}

impl<B> Body for FilteredBody<B>
where
    B: Body + Unpin,
    B::Data: AsRef<[u8]>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e.into())));
                }
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => match this.run(Some(data.as_ref())).and_then(|mut out| {
                        // When the inner body knows it is complete, finish
                        // now: a one-frame body is then fully inspected
                        // (and can fail closed) before anything goes upstream.
                        if this.inner.is_end_stream() {
                            this.done = true;
                            out.extend_from_slice(&this.run(None)?);
                        }
                        Ok(out)
                    }) {
                        Ok(out) if out.is_empty() && !this.done => continue,
                        Ok(out) if out.is_empty() => return Poll::Ready(None),
                        Ok(out) => return Poll::Ready(Some(Ok(this.frame(out)))),
                        Err(e) => return Poll::Ready(Some(Err(this.fail(e)))),
                    },
                    // Trailers are dropped: they could carry digests of the
                    // original body, and nothing we proxy needs them.
                    Err(_) => continue,
                },
                Poll::Ready(None) => {
                    this.done = true;
                    return match this.run(None) {
                        Ok(out) if out.is_empty() => Poll::Ready(None),
                        Ok(out) => Poll::Ready(Some(Ok(this.frame(out)))),
                        Err(e) => Poll::Ready(Some(Err(this.fail(e)))),
                    };
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Counts bytes of an uninspected body (responses passed by config) and
/// enforces the body limit on uninspected requests.
pub struct CountingBody<B> {
    inner: B,
    stats: Arc<ReqStats>,
    direction: Direction,
    limit: u64,
    seen: u64,
}

impl<B> CountingBody<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, stats: Arc<ReqStats>, direction: Direction, limit: u64) -> Self {
        CountingBody {
            inner,
            stats,
            direction,
            limit,
            seen: 0,
        }
    }
}

impl<B> Body for CountingBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(d) = frame.data_ref() {
                    this.seen += d.len() as u64;
                    let counter = if this.direction == Direction::Response {
                        &this.stats.resp_bytes
                    } else {
                        &this.stats.req_bytes
                    };
                    counter.fetch_add(d.len() as u64, Ordering::Relaxed);
                    if this.limit > 0 && this.seen > this.limit {
                        let e = FilterError::new(
                            "body_too_large",
                            format!(
                                "the body exceeds the {}-byte limit for this route",
                                this.limit
                            ),
                        );
                        this.stats.record_failure(this.direction, &e);
                        return Poll::Ready(Some(Err(Box::new(e))));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            other => other.map(|o| o.map(|r| r.map_err(Into::into))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A body whose first frame was already pulled (see `PrimedBody::prime`).
pub struct PrimedBody<B> {
    first: Option<Result<Frame<Bytes>, BoxError>>,
    ended: bool,
    rest: B,
}

impl<B> PrimedBody<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    /// Pulls the first frame (waiting at most `wait`), so that it has been
    /// through the filter before anything is sent upstream.
    pub async fn prime(mut rest: B, wait: std::time::Duration) -> PrimedBody<B> {
        use http_body_util::BodyExt;
        match tokio::time::timeout(wait, rest.frame()).await {
            Ok(Some(first)) => PrimedBody {
                first: Some(first),
                ended: false,
                rest,
            },
            Ok(None) => PrimedBody {
                first: None,
                ended: true,
                rest,
            },
            Err(_) => PrimedBody {
                first: None,
                ended: false,
                rest,
            },
        }
    }
}

impl<B> Body for PrimedBody<B>
where
    B: Body<Data = Bytes, Error = BoxError> + Unpin,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(f) = this.first.take() {
            return Poll::Ready(Some(f));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        Pin::new(&mut this.rest).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.first.is_none() && (self.ended || self.rest.is_end_stream())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_literal(input: &[u8], chunk: usize) -> Result<Vec<u8>, FilterError> {
        let e = LiteralEngine::new(vec![(b"SECRET".to_vec(), b"[X]".to_vec())]);
        let mut f = e.open(&StreamSpec::plain(Format::Text), None);
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            f.push(c, &mut out)?;
        }
        f.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn literal_filter_is_chunk_independent() {
        let input = b"a SECRET b SECRETSECRET SECRE";
        for chunk in 1..input.len() {
            assert_eq!(run_literal(input, chunk).unwrap(), b"a [X] b [X][X] SECRE");
        }
        assert_eq!(
            run_literal(b"xx REJECT", 1).unwrap_err().reason,
            "rejected_content"
        );
    }

    #[test]
    fn content_types() {
        let f = |s: &'static str| format_of(Some(&http::HeaderValue::from_static(s)));
        assert_eq!(f("application/json; charset=utf-8"), Some(Format::Json));
        assert_eq!(f("application/vnd.api+json"), Some(Format::Json));
        assert_eq!(f("text/plain"), Some(Format::Text));
        assert_eq!(f("image/png"), None);
        assert_eq!(
            f("multipart/form-data; boundary=\"a b\""),
            Some(Format::Multipart)
        );
        let b = |s: &'static str| boundary(Some(&http::HeaderValue::from_static(s)));
        assert_eq!(
            b("multipart/form-data; boundary=\"a b\"").as_deref(),
            Some("a b")
        );
        assert_eq!(
            b("multipart/form-data;charset=x; Boundary=xyz").as_deref(),
            Some("xyz")
        );
        assert_eq!(b("multipart/form-data"), None);
    }
}
