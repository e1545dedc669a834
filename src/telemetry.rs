//! Every metric family and audit event name deskguard exports, in one place,
//! so that reviewers can check at a glance that no label can carry personal
//! data: labels are route (policy) ids, methods, status classes, detector
//! ids, directions and reason codes, all bounded sets. Raw paths, query
//! strings, header values and bodies never become labels.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Audit event: a body was refused because it could not be inspected (fail closed).
pub const EV_FAIL_CLOSED: &str = "fail_closed";
/// Audit event: findings were redacted in a body.
pub const EV_REDACTED: &str = "redacted";
/// Audit event: a rules reload was applied.
pub const EV_RULES_RELOADED: &str = "rules_reloaded";
/// Audit event: a rules reload was rejected; the previous rules keep serving.
pub const EV_RULES_RELOAD_FAILED: &str = "rules_reload_failed";
/// Audit event: a request was smuggling-shaped and refused.
pub const EV_REQUEST_REFUSED: &str = "request_refused";
/// Audit event: a ticket was tagged with a GDPR legal basis. Written once
/// per ticket-creating request when its response has ended: request id,
/// route, audience, basis, retention, deciding rule, status, outcome and the
/// ticket id the helpdesk assigned (from a complete 2xx answer).
pub const EV_LEGAL_BASIS: &str = "legal_basis";
/// A ticket-creating body ended without a legal-basis decision.
pub const EV_LEGAL_BASIS_MISSING: &str = "legal_basis_missing";
/// Access log event: one per request.
pub const EV_ACCESS: &str = "access";

/// Label for a request whose route matched no policy.
pub const ROUTE_DEFAULT: &str = "default";

/// All metric families, registered in their own registry so that several
/// proxies (tests) can live in one process.
pub struct Metrics {
    /// The registry `/metrics` renders.
    pub registry: Registry,
    /// `deskguard_requests_total{route,method,status_class}`.
    pub requests_total: IntCounterVec,
    /// `deskguard_request_duration_seconds{route}`: client-observed time to the last body byte.
    pub request_duration: HistogramVec,
    /// `deskguard_overhead_seconds{route}`: time spent inside deskguard (not waiting on upstream).
    pub overhead: HistogramVec,
    /// `deskguard_upstream_duration_seconds{route}`: time to the upstream response head.
    pub upstream_duration: HistogramVec,
    /// `deskguard_inspected_bytes_total{direction}`.
    pub inspected_bytes: IntCounterVec,
    /// `deskguard_redactions_total{detector,direction}`.
    pub redactions: IntCounterVec,
    /// `deskguard_fields_dropped_total{route}`.
    pub fields_dropped: IntCounterVec,
    /// `deskguard_tickets_total{route,basis,retention}`: tickets tagged with a legal basis.
    pub legal_basis: IntCounterVec,
    /// `deskguard_legal_basis_failures_total{route}`: ticket-creating bodies
    /// that ended without a legal-basis decision.
    pub legal_basis_failures: IntCounterVec,
    /// `deskguard_fail_closed_total{reason,direction}`.
    pub fail_closed: IntCounterVec,
    /// `deskguard_passed_uninspected_total{direction}`: bodies of other content types passed by config.
    pub passed_uninspected: IntCounterVec,
    /// `deskguard_rule_reloads_total{result}`.
    pub rule_reloads: IntCounterVec,
    /// `deskguard_rules_info{version}` = 1 for the serving rule set.
    pub rules_info: IntGaugeVec,
    /// `deskguard_tls_handshake_failures_total`.
    pub tls_handshake_failures: IntCounter,
    /// `deskguard_tls_cert_not_after_seconds{listener}`: unix time of the serving certificate's notAfter.
    pub tls_cert_not_after: IntGaugeVec,
    /// `deskguard_open_connections`.
    pub open_connections: IntGauge,
    /// `deskguard_refused_connections_total`: over `max_connections`.
    pub refused_connections: IntCounter,
}

fn buckets() -> Vec<f64> {
    vec![
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        5.0, 10.0, 30.0,
    ]
}

impl Metrics {
    /// Creates and registers all families.
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("deskguard".into()), None)
            .expect("static registry prefix is valid");
        macro_rules! reg {
            ($m:expr) => {{
                let m = $m.expect("static metric definition is valid");
                registry
                    .register(Box::new(m.clone()))
                    .expect("metric names are unique");
                m
            }};
        }
        let hist = |name: &str, help: &str| {
            HistogramVec::new(
                HistogramOpts::new(name, help).buckets(buckets()),
                &["route"],
            )
        };
        Metrics {
            requests_total: reg!(IntCounterVec::new(
                Opts::new("requests_total", "Requests by route (policy id), method and status class."),
                &["route", "method", "status_class"]
            )),
            request_duration: reg!(hist(
                "request_duration_seconds",
                "Time from request head to the last response byte."
            )),
            overhead: reg!(hist(
                "overhead_seconds",
                "Time spent inside deskguard itself (everything but waiting on the upstream)."
            )),
            upstream_duration: reg!(hist(
                "upstream_duration_seconds",
                "Time from sending upstream to the upstream response head."
            )),
            inspected_bytes: reg!(IntCounterVec::new(
                Opts::new("inspected_bytes_total", "Body bytes run through the redactor."),
                &["direction"]
            )),
            redactions: reg!(IntCounterVec::new(
                Opts::new("redactions_total", "Findings acted upon, by detector and direction."),
                &["detector", "direction"]
            )),
            fields_dropped: reg!(IntCounterVec::new(
                Opts::new("fields_dropped_total", "JSON fields removed by field policies."),
                &["route"]
            )),
            legal_basis: reg!(IntCounterVec::new(
                Opts::new(
                    "tickets_total",
                    "Tickets tagged with a GDPR legal basis, by route, basis and retention class."
                ),
                &["route", "basis", "retention"]
            )),
            legal_basis_failures: reg!(IntCounterVec::new(
                Opts::new(
                    "legal_basis_failures_total",
                    "Ticket-creating bodies that ended without a legal-basis decision."
                ),
                &["route"]
            )),
            fail_closed: reg!(IntCounterVec::new(
                Opts::new("fail_closed_total", "Bodies refused because they could not be inspected."),
                &["reason", "direction"]
            )),
            passed_uninspected: reg!(IntCounterVec::new(
                Opts::new(
                    "passed_uninspected_total",
                    "Bodies of non-inspected content types passed because content.other_types = pass."
                ),
                &["direction"]
            )),
            rule_reloads: reg!(IntCounterVec::new(
                Opts::new("rule_reloads_total", "Rule reload attempts by result."),
                &["result"]
            )),
            rules_info: reg!(IntGaugeVec::new(
                Opts::new("rules_info", "1 for the rule set version currently serving."),
                &["version"]
            )),
            tls_handshake_failures: reg!(IntCounter::new(
                "tls_handshake_failures_total",
                "Failed or timed-out TLS handshakes."
            )),
            tls_cert_not_after: reg!(IntGaugeVec::new(
                Opts::new(
                    "tls_cert_not_after_seconds",
                    "Unix time of the notAfter of each TLS listener's serving certificate."
                ),
                &["listener"]
            )),
            open_connections: reg!(IntGauge::new(
                "open_connections",
                "Client connections currently open."
            )),
            refused_connections: reg!(IntCounter::new(
                "refused_connections_total",
                "Connections refused because max_connections was reached."
            )),
            registry,
        }
    }

    /// Marks `version` as the serving rule set (and only it).
    pub fn set_rules_version(&self, version: &str) {
        self.rules_info.reset();
        self.rules_info.with_label_values(&[version]).set(1);
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed families.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// `2xx`-style label for a status code.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Bounded method label: unknown methods collapse to `other`.
pub fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Installs the global tracing subscriber (once; later calls are no-ops).
/// Logs go to stderr, so stdout stays free for command output (the demo's
/// instructions).
pub fn init_logging(format: crate::config::LogFormat) {
    init_logging_to(format, std::io::stderr);
}

/// As [`init_logging`], writing to `writer` (tests capture the audit log
/// in the format operators get).
pub fn init_logging_to<W>(format: crate::config::LogFormat, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = match format {
        crate::config::LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_writer(writer)
            .with_env_filter(filter)
            .with_current_span(false)
            .try_init(),
        crate::config::LogFormat::Human => tracing_subscriber::fmt()
            .with_writer(writer)
            .with_env_filter(filter)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_render_with_prefix() {
        let m = Metrics::new();
        m.requests_total
            .with_label_values(&["default", "GET", "2xx"])
            .inc();
        m.set_rules_version("abc123def456");
        let text = String::from_utf8(m.render()).unwrap();
        assert!(text.contains("deskguard_requests_total{"), "{text}");
        assert!(text.contains("deskguard_rules_info{version=\"abc123def456\"} 1"));
        assert!(text.contains("deskguard_open_connections 0"));
    }
}
