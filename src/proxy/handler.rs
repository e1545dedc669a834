//! One proxied exchange: checks on the request head, the request body
//! through the redactor to the upstream, the response body back through the
//! redactor, metrics and one access-log line. The handler decides nothing
//! about personal data; it only routes bytes through the engine and fails
//! closed when the engine cannot inspect them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;

use crate::config::OtherTypes;
use crate::core::{Direction, Format, StreamSpec};
use crate::proxy::body::{
    self, BodyEvent, BoxError, CountingBody, Engine, FilterError, FilteredBody, Observer,
    PrimedBody, ReqStats,
};
use crate::proxy::encoding::{narrow_accept_encoding, parse_coding, Decoder};
use crate::proxy::headers::{self, X_REQUEST_ID};
use crate::proxy::limits;
use crate::proxy::problem::Problem;
use crate::proxy::server::Shared;
use crate::proxy::upstream::UpBody;
use crate::telemetry::{self, Metrics, EV_ACCESS, EV_FAIL_CLOSED};

/// Per-connection facts the handler needs.
#[derive(Clone, Copy)]
pub struct ConnInfo {
    /// Client address.
    pub peer: SocketAddr,
    /// Whether the client connection is TLS.
    pub tls: bool,
}

/// Entry point for hyper's `service_fn`.
pub async fn handle(
    sh: Arc<Shared>,
    conn: ConnInfo,
    req: Request<Incoming>,
) -> Result<Response<UpBody>, Infallible> {
    let t0 = Instant::now();
    let rid = headers::request_id(req.headers());
    let stats = Arc::new(ReqStats::default());
    let mut log = AccessLog {
        metrics: sh.metrics.clone(),
        request_id: rid.clone(),
        method: telemetry::method_label(req.method()),
        route: telemetry::ROUTE_DEFAULT.to_string(),
        audience: None,
        status: 0,
        t0,
        pre_upstream: Duration::ZERO,
        upstream: None,
        stats: stats.clone(),
        finished: false,
        failed: false,
    };
    let resp = match proxy(&sh, conn, req, &rid, &stats, &mut log).await {
        Ok(r) => r,
        Err(p) => {
            if p.status.is_server_error() || p.status.is_client_error() {
                tracing::info!(
                    event = telemetry::EV_REQUEST_REFUSED,
                    request_id = %rid,
                    reason = p.reason,
                    status = p.status.as_u16()
                );
            }
            p.into_response(&rid)
        }
    };
    log.status = resp.status().as_u16();
    let (parts, body) = resp.into_parts();
    log.finished = body.is_end_stream();
    let body = LoggedBody { inner: body, log }.boxed_unsync();
    Ok(Response::from_parts(parts, body))
}

fn observer(metrics: Arc<Metrics>, route: String, dir: Direction, rid: String) -> Observer {
    Box::new(move |ev| match ev {
        BodyEvent::Inspected(n) => metrics
            .inspected_bytes
            .with_label_values(&[dir.as_str()])
            .inc_by(n),
        BodyEvent::Findings(fs) => {
            // One label lookup per detector, not per finding.
            let dropped = fs.iter().filter(|f| f.dropped).count() as u64;
            if dropped > 0 {
                metrics
                    .fields_dropped
                    .with_label_values(&[&route])
                    .inc_by(dropped);
            }
            let mut ids: Vec<&str> = fs
                .iter()
                .filter(|f| !f.dropped)
                .map(|f| &*f.detector)
                .collect();
            ids.sort_unstable();
            for run in ids.chunk_by(|a, b| a == b) {
                metrics
                    .redactions
                    .with_label_values(&[run[0], dir.as_str()])
                    .inc_by(run.len() as u64);
            }
            tracing::debug!(event = telemetry::EV_REDACTED, request_id = %rid, route = %route, direction = dir.as_str(), findings = fs.len());
        }
        // The audit event is written when the exchange ends (AccessLog),
        // with the ticket id from the helpdesk's answer.
        BodyEvent::LegalBasis(lb) => metrics
            .legal_basis
            .with_label_values(&[&route, &lb.basis, &lb.retention])
            .inc(),
        BodyEvent::LegalBasisMissing => {
            metrics
                .legal_basis_failures
                .with_label_values(&[&route])
                .inc();
            tracing::warn!(event = telemetry::EV_LEGAL_BASIS_MISSING, request_id = %rid, route = %route);
        }
        BodyEvent::Failed(e) => {
            metrics
                .fail_closed
                .with_label_values(&[e.reason, dir.as_str()])
                .inc();
            tracing::warn!(event = EV_FAIL_CLOSED, request_id = %rid, route = %route, direction = dir.as_str(), reason = e.reason, detail = %e.detail);
        }
    })
}

fn count_fail(sh: &Shared, reason: &'static str, dir: Direction) {
    sh.metrics
        .fail_closed
        .with_label_values(&[reason, dir.as_str()])
        .inc();
}

/// What differs between the two bodies of an exchange. A body the client
/// sends that deskguard cannot handle is the client's problem (415/422);
/// one the helpdesk sends is a bad gateway (502), since the client did
/// nothing wrong. Everything else is the same in both directions
/// ([`inspect_body`]). The texts are fixed: problems never echo data.
struct Side {
    direction: Direction,
    /// Status for an unsupported content coding or content type.
    unsupported: StatusCode,
    /// Status for a body the engine failed to inspect.
    uninspectable: StatusCode,
    uninspectable_title: &'static str,
    coding_title: &'static str,
    coding_detail: &'static str,
    media_type_title: &'static str,
    media_type_detail: &'static str,
}

const REQUEST: Side = Side {
    direction: Direction::Request,
    unsupported: StatusCode::UNSUPPORTED_MEDIA_TYPE,
    uninspectable: StatusCode::UNPROCESSABLE_ENTITY,
    uninspectable_title: "Request body could not be inspected",
    coding_title: "Unsupported Content-Encoding",
    coding_detail:
        "the request body uses a content coding deskguard cannot decode, so it cannot be inspected",
    media_type_title: "Unsupported media type",
    media_type_detail: "this content type is not inspected and the configuration refuses it",
};

const RESPONSE: Side = Side {
    direction: Direction::Response,
    unsupported: StatusCode::BAD_GATEWAY,
    uninspectable: StatusCode::BAD_GATEWAY,
    uninspectable_title: "Upstream response could not be inspected",
    coding_title: "Unsupported upstream Content-Encoding",
    coding_detail: "the helpdesk answered in a content coding deskguard cannot decode, so the answer cannot be inspected",
    media_type_title: "Unsupported upstream media type",
    media_type_detail: "the helpdesk answered with a content type that is not inspected and the configuration refuses it",
};

impl Side {
    /// The answer for a body that failed closed (an over-limit body is a
    /// 413 whichever way it went).
    fn fail_closed(&self, e: &FilterError) -> Problem {
        if e.reason == "body_too_large" {
            let mut p = limits::too_large(0);
            p.detail = e.detail.clone();
            return p;
        }
        Problem::new(
            self.uninspectable,
            e.reason,
            self.uninspectable_title,
            e.detail.clone(),
        )
    }
}

/// What the phases of one exchange share: the rules it started with (a
/// reload never changes them mid-exchange) and what the core needs to
/// choose a policy.
struct Exchange<'a> {
    sh: &'a Shared,
    engine: &'a dyn Engine,
    stats: &'a Arc<ReqStats>,
    rid: &'a str,
    method: &'a str,
    path: &'a str,
    audience: Option<&'a str>,
}

impl<'a> Exchange<'a> {
    fn spec(&self, format: Format, direction: Direction) -> StreamSpec<'a> {
        StreamSpec {
            format,
            profile: &self.sh.cfg.profile,
            method: self.method,
            path: self.path,
            direction,
            audience: self.audience,
        }
    }
}

/// A route the rules refuse outright (`mode = "refuse"`): answered before
/// anything is forwarded, body or not, so a body-less request cannot slip
/// through either.
fn refuse_by_policy(x: &Exchange<'_>, route: &mut String) -> Result<(), Problem> {
    let probe = x.spec(Format::Json, Direction::Request);
    let Some(e) = x.engine.refuses(&probe) else {
        return Ok(());
    };
    *route = x.engine.open(&probe, None).route_id().to_string();
    count_fail(x.sh, e.reason, Direction::Request);
    tracing::warn!(event = EV_FAIL_CLOSED, request_id = %x.rid, route = %route, direction = "request", reason = e.reason, detail = %e.detail);
    Err(Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        e.reason,
        "Request refused by policy",
        e.detail,
    ))
}

/// One body through the engine, the same way in both directions. An
/// inspected type is decoded and filtered, and its first chunk is run
/// before anything is forwarded: a body that fails closed early (a small
/// ticket, invalid JSON at byte 0) becomes a clean problem+json answer
/// instead of a cut-off stream, and a failing request never reaches the
/// helpdesk. Other types pass (counted) or are refused, as configured.
/// `head` is the body's header map: once the body is inspected, its
/// length, coding, ETag and digests no longer describe it and are
/// stripped.
async fn inspect_body(
    x: &Exchange<'_>,
    side: &Side,
    head: &mut HeaderMap,
    body: Incoming,
    limit: u64,
    first_chunk_wait: Duration,
    route: &mut String,
) -> Result<UpBody, Problem> {
    let (sh, dir) = (x.sh, side.direction);
    let content_type = head.get(header::CONTENT_TYPE);
    let Some(format) = body::format_of(content_type) else {
        return match sh.cfg.content.other_types {
            OtherTypes::Pass => {
                sh.metrics
                    .passed_uninspected
                    .with_label_values(&[dir.as_str()])
                    .inc();
                Ok(CountingBody::new(body, x.stats.clone(), dir, limit).boxed_unsync())
            }
            OtherTypes::Refuse => {
                count_fail(sh, "unsupported_media_type", dir);
                Err(Problem::new(
                    side.unsupported,
                    "unsupported_media_type",
                    side.media_type_title,
                    side.media_type_detail,
                ))
            }
        };
    };
    let boundary = body::boundary(content_type);
    let coding = parse_coding(head.get(header::CONTENT_ENCODING)).map_err(|_| {
        count_fail(sh, "unsupported_encoding", dir);
        Problem::new(
            side.unsupported,
            "unsupported_encoding",
            side.coding_title,
            side.coding_detail,
        )
    })?;
    let decoder = Decoder::new(coding).map_err(|_| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "decoder_init",
            "Decoder unavailable",
            "could not initialise the body decoder",
        )
    })?;
    let filter = x.engine.open(&x.spec(format, dir), boundary.as_deref());
    // The request's policy names the route; the response's only when the
    // request had none.
    if route == telemetry::ROUTE_DEFAULT {
        *route = filter.route_id().to_string();
    }
    headers::strip_body_validators(head);
    let obs = observer(sh.metrics.clone(), route.clone(), dir, x.rid.to_string());
    let filtered =
        FilteredBody::new(body, decoder, filter, dir, x.stats.clone(), obs, limit).boxed_unsync();
    let primed = PrimedBody::prime(filtered, first_chunk_wait).await;
    if let Some(e) = x.stats.failure(dir) {
        return Err(side.fail_closed(&e));
    }
    Ok(primed.boxed_unsync())
}

/// One exchange as a sequence of phases: request head checks, policy
/// refusal, request body, request head, upstream, response body, response
/// head. Each phase may end the exchange with a problem+json answer.
async fn proxy(
    sh: &Arc<Shared>,
    conn: ConnInfo,
    req: Request<Incoming>,
    rid: &str,
    stats: &Arc<ReqStats>,
    log: &mut AccessLog,
) -> Result<Response<UpBody>, Problem> {
    // --- request head checks ---
    limits::check_framing(req.headers())?;
    limits::check_method(req.method())?;
    let engine = sh.engine.load_full();
    let (mut parts, body) = req.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let limit = sh.cfg.limits.body_limit_for(method.as_str(), &path);
    limits::check_declared_length(&parts.headers, limit)?;
    let audience = sh
        .cfg
        .audience_for(parts.headers.get(header::AUTHORIZATION));
    log.audience = audience.map(str::to_string);
    let x = Exchange {
        sh,
        engine: &**engine,
        stats,
        rid,
        method: method.as_str(),
        path: &path,
        audience,
    };
    refuse_by_policy(&x, &mut log.route)?;

    // --- request body ---
    let host = parts.headers.get(header::HOST).cloned().or_else(|| {
        parts
            .uri
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    });
    let mut h = std::mem::take(&mut parts.headers);
    headers::strip_hop_by_hop(&mut h);
    let up_body: UpBody = if body.is_end_stream() {
        Empty::<Bytes>::new()
            .map_err(|never| -> BoxError { match never {} })
            .boxed_unsync()
    } else {
        let wait = sh.cfg.limits.header_read_timeout;
        inspect_body(&x, &REQUEST, &mut h, body, limit, wait, &mut log.route).await?
    };

    // --- request head ---
    h.remove(header::HOST);
    // hyper already answered `Expect: 100-continue` towards the client when
    // the body was first read; it must not be repeated towards the upstream.
    h.remove(header::EXPECT);
    headers::set_forwarded(
        &mut h,
        conn.peer,
        &sh.cfg.forwarding.trusted_proxies,
        conn.tls,
        host,
    );
    if let Ok(v) = HeaderValue::from_str(rid) {
        h.insert(X_REQUEST_ID, v);
    }
    match narrow_accept_encoding(h.get(header::ACCEPT_ENCODING)) {
        Some(v) => {
            h.insert(header::ACCEPT_ENCODING, v);
        }
        None => {
            h.remove(header::ACCEPT_ENCODING);
        }
    }
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let uri = sh.upstream.uri_for(pq).map_err(|_| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "invalid_target",
            "Invalid request target",
            "the request target cannot be forwarded",
        )
    })?;
    let mut up_req = Request::new(up_body);
    *up_req.method_mut() = method.clone();
    *up_req.uri_mut() = uri;
    *up_req.headers_mut() = h;

    // --- upstream ---
    let resp = send_upstream(sh, up_req, rid, stats, log).await?;

    // --- response body ---
    let (mut rparts, rbody) = resp.into_parts();
    headers::strip_hop_by_hop(&mut rparts.headers);
    let empty = rbody.is_end_stream()
        || method == http::Method::HEAD
        || rparts.status == StatusCode::NO_CONTENT
        || rparts.status == StatusCode::NOT_MODIFIED;
    let out_body: UpBody = if empty {
        rbody
            .map_err(|e| -> BoxError { Box::new(e) })
            .boxed_unsync()
    } else {
        let wait = sh.upstream.response_timeout;
        let head = &mut rparts.headers;
        inspect_body(&x, &RESPONSE, head, rbody, 0, wait, &mut log.route).await?
    };

    // --- response head ---
    if let Ok(v) = HeaderValue::from_str(rid) {
        rparts.headers.insert(X_REQUEST_ID, v);
    }
    // The request body has been read to its end by the time the helpdesk
    // answers (in practice): its legal-basis decision goes on the head.
    let decision = stats.legal_basis.lock().ok().and_then(|g| g.clone());
    headers::set_legal_basis(&mut rparts.headers, decision.as_ref());
    Ok(Response::from_parts(rparts, out_body))
}

/// Sends the request upstream within the response timeout. A request body
/// that failed closed wins over whatever the helpdesk answered (possibly
/// after the upstream already answered): the client gets the refusal.
async fn send_upstream(
    sh: &Shared,
    up_req: Request<UpBody>,
    rid: &str,
    stats: &ReqStats,
    log: &mut AccessLog,
) -> Result<Response<Incoming>, Problem> {
    log.pre_upstream = log.t0.elapsed();
    let t_up = Instant::now();
    let res = tokio::time::timeout(
        sh.upstream.response_timeout,
        sh.upstream.client().request(up_req),
    )
    .await;
    log.upstream = Some(t_up.elapsed());
    if let Some(e) = stats.failure(Direction::Request) {
        return Err(REQUEST.fail_closed(&e));
    }
    match res {
        Err(_) => Err(Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            "upstream_timeout",
            "Upstream timed out",
            "the helpdesk did not answer in time",
        )),
        Ok(Err(e)) => {
            tracing::warn!(request_id = %rid, error = %e, "upstream request failed");
            Err(Problem::new(
                StatusCode::BAD_GATEWAY,
                "upstream_unavailable",
                "Upstream unavailable",
                "the helpdesk could not be reached",
            ))
        }
        Ok(Ok(r)) => Ok(r),
    }
}

/// Everything the access log line and the request metrics need; emitted
/// when the response body is finished or dropped.
struct AccessLog {
    metrics: Arc<Metrics>,
    request_id: String,
    method: &'static str,
    route: String,
    /// Audience name from the configuration (never the credentials).
    audience: Option<String>,
    status: u16,
    t0: Instant,
    pre_upstream: Duration,
    upstream: Option<Duration>,
    stats: Arc<ReqStats>,
    finished: bool,
    failed: bool,
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        let total = self.t0.elapsed();
        let filter = Duration::from_nanos(self.stats.filter_ns.load(Ordering::Relaxed));
        let overhead = self.pre_upstream + filter;
        let route = self.route.as_str();
        self.metrics
            .requests_total
            .with_label_values(&[route, self.method, telemetry::status_class(self.status)])
            .inc();
        self.metrics
            .request_duration
            .with_label_values(&[route])
            .observe(total.as_secs_f64());
        self.metrics
            .overhead
            .with_label_values(&[route])
            .observe(overhead.as_secs_f64());
        if let Some(up) = self.upstream {
            self.metrics
                .upstream_duration
                .with_label_values(&[route])
                .observe(up.as_secs_f64());
        }
        let outcome = if self.failed {
            "aborted"
        } else if self.finished {
            "complete"
        } else {
            "client_gone"
        };
        self.audit_ticket(outcome);
        tracing::info!(
            event = EV_ACCESS,
            request_id = %self.request_id,
            route,
            method = self.method,
            status = self.status,
            outcome,
            duration_ms = total.as_secs_f64() * 1000.0,
            overhead_ms = overhead.as_secs_f64() * 1000.0,
            upstream_ms = self.upstream.map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0),
            req_bytes = self.stats.req_bytes.load(Ordering::Relaxed),
            resp_bytes = self.stats.resp_bytes.load(Ordering::Relaxed),
            findings = self.stats.findings.load(Ordering::Relaxed),
        );
    }
}

impl AccessLog {
    /// The audit event of a ticket creation, once per exchange whose request
    /// body was given a legal basis: written when the response has ended
    /// (or failed), so it can carry the id the helpdesk assigned. The id is
    /// only taken from a complete 2xx answer; bounded names and the id only.
    fn audit_ticket(&self, outcome: &str) {
        let Some(lb) = self.stats.legal_basis.lock().ok().and_then(|g| g.clone()) else {
            return;
        };
        let created = (200..300).contains(&self.status) && outcome == "complete";
        let ticket_id = if created {
            self.stats.ticket_id.lock().ok().and_then(|g| g.clone())
        } else {
            None
        };
        tracing::info!(
            event = telemetry::EV_LEGAL_BASIS,
            request_id = %self.request_id,
            route = %self.route,
            audience = self.audience.as_deref(),
            basis = %lb.basis,
            retention = %lb.retention,
            decided_by = %lb.decided_by,
            status = self.status,
            outcome,
            ticket_id = ticket_id.as_deref(),
        );
    }
}

/// The response body, carrying the access log until it ends.
struct LoggedBody {
    inner: UpBody,
    log: AccessLog,
}

impl Body for LoggedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_frame(cx);
        match &r {
            Poll::Ready(None) => this.log.finished = true,
            Poll::Ready(Some(Err(_))) => this.log.failed = true,
            // hyper stops polling once `is_end_stream` says so.
            Poll::Ready(Some(Ok(_))) if this.inner.is_end_stream() => this.log.finished = true,
            _ => {}
        }
        r
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
