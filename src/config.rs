//! `deskguard serve` configuration (TOML).
//!
//! Every table uses `deny_unknown_fields`: a misspelt key is an error that
//! names the file, the line and the reason, rather than a silently ignored
//! setting (a privacy proxy that quietly ignores `client_ca` is worse than
//! one that refuses to start). Everything has a sane default except the
//! upstream URL and, for TLS listeners, the certificate and key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A configuration problem, reported as `file:line: reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file.
    pub file: String,
    /// 1-based line, 0 when the problem is not tied to a line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.reason)
        } else {
            write!(f, "{}: {}", self.file, self.reason)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Top-level configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Helpdesk profile the policies are selected for (`freshdesk`, `zendesk`, `rt`).
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Directory with the rule files; reloaded on SIGHUP and on change.
    #[serde(default = "default_rules_dir")]
    pub rules_dir: PathBuf,
    /// Name of the environment variable holding the pseudonym (HMAC) key.
    /// The key itself never lives in the configuration file.
    #[serde(default = "default_key_env")]
    pub key_env: String,
    /// Worker threads, each with its own event loop, listening sockets
    /// (SO_REUSEPORT) and upstream pool, like nginx workers. 0 = one per core.
    #[serde(default)]
    pub workers: usize,
    /// `human` or `json` access/audit log lines.
    #[serde(default)]
    pub log_format: LogFormat,
    /// Client-facing listeners (at least one).
    #[serde(default, rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
    /// The helpdesk.
    pub upstream: UpstreamConfig,
    /// Metrics and health endpoints.
    #[serde(default)]
    pub admin: AdminConfig,
    /// Resource limits and timeouts.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// What to do with bodies the core cannot inspect.
    #[serde(default)]
    pub content: ContentConfig,
    /// Which peers may set X-Forwarded-* headers.
    #[serde(default)]
    pub forwarding: ForwardingConfig,
    /// Audiences (`reporting`, ...) recognised by their credentials; they
    /// select audience-specific policies in the rules.
    #[serde(default, rename = "audience")]
    pub audiences: Vec<AudienceConfig>,
}

/// One audience and the credentials that identify it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudienceConfig {
    /// Audience name as used in the rules' policies.
    pub name: String,
    /// Lower-case hex SHA-256 of complete `Authorization` header values
    /// (`printf '%s' 'Basic …' | sha256sum`); the secrets themselves never
    /// appear in the configuration.
    pub authorization_sha256: Vec<String>,
}

/// The audience of requests whose credentials match no `[[audience]]`
/// (or that carry none) once audiences are configured.
pub const UNKNOWN_AUDIENCE: &str = "unknown";

impl Config {
    /// The audience a request's `Authorization` header maps to: `None` when
    /// no audiences are configured, `unknown` when nothing matches.
    pub fn audience_for(&self, auth: Option<&http::HeaderValue>) -> Option<&str> {
        if self.audiences.is_empty() {
            return None;
        }
        use sha2::Digest;
        let Some(auth) = auth else {
            return Some(UNKNOWN_AUDIENCE);
        };
        let digest = hex::encode(sha2::Sha256::digest(auth.as_bytes()));
        let known = self
            .audiences
            .iter()
            .find(|a| {
                a.authorization_sha256
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(&digest))
            })
            .map(|a| a.name.as_str());
        // Unknown or missing credentials get the strictest policy.
        Some(known.unwrap_or(UNKNOWN_AUDIENCE))
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable single lines.
    #[default]
    Human,
    /// One JSON object per line, for log shippers.
    Json,
}

/// One client-facing listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// Socket address to bind, e.g. `0.0.0.0:8443`.
    pub addr: SocketAddr,
    /// PEM certificate chain (leaf first). Required unless `insecure`.
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1). Required unless `insecure`.
    pub key: Option<PathBuf>,
    /// PEM bundle of CAs whose client certificates are accepted (mTLS).
    pub client_ca: Option<PathBuf>,
    /// Plain HTTP. Only for local development and tests; logged loudly.
    #[serde(default)]
    pub insecure: bool,
}

/// Where bodies go after redaction.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// Base URL of the helpdesk, e.g. `https://acme.freshdesk.com`.
    pub url: String,
    /// PEM bundle trusted for the upstream; when absent the webpki roots are used.
    pub ca_bundle: Option<PathBuf>,
    /// TLS server name to send and verify, when it differs from the URL host.
    pub sni: Option<String>,
    /// TCP + TLS connect timeout.
    #[serde(default = "d_connect", deserialize_with = "de_duration")]
    pub connect_timeout: Duration,
    /// Time allowed for the upstream's response head.
    #[serde(default = "d_response", deserialize_with = "de_duration")]
    pub response_timeout: Duration,
    /// Idle pooled connections kept per host.
    #[serde(default = "d_pool")]
    pub pool_max_idle: usize,
}

/// Admin listener (plain HTTP; bind it to a private interface).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Address for `/metrics`, `/healthz`, `/readyz`.
    #[serde(default = "d_admin")]
    pub addr: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig { addr: d_admin() }
    }
}

/// Limits that keep one client from exhausting the proxy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Time a client has to send the complete request head (slowloris defence).
    #[serde(default = "d_header_timeout", deserialize_with = "de_duration")]
    pub header_read_timeout: Duration,
    /// Largest request head accepted; larger ones get 431.
    #[serde(default = "d_max_header")]
    pub max_header_bytes: usize,
    /// Concurrent client connections; more are refused.
    #[serde(default = "d_max_conn")]
    pub max_connections: usize,
    /// Default largest request body (bytes, after decoding); 413 beyond. 0 = unlimited.
    #[serde(default)]
    pub max_body_bytes: u64,
    /// Per-route body limits, first matching prefix wins.
    #[serde(default, rename = "route")]
    pub routes: Vec<RouteLimit>,
    /// How long in-flight requests may finish after SIGTERM.
    #[serde(default = "d_drain", deserialize_with = "de_duration")]
    pub drain_timeout: Duration,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            header_read_timeout: d_header_timeout(),
            max_header_bytes: d_max_header(),
            max_connections: d_max_conn(),
            max_body_bytes: 0,
            routes: Vec::new(),
            drain_timeout: d_drain(),
        }
    }
}

impl LimitsConfig {
    /// The body limit for a path (0 = unlimited).
    pub fn body_limit_for(&self, method: &str, path: &str) -> u64 {
        self.routes
            .iter()
            .find(|r| {
                path.starts_with(&r.path_prefix)
                    && r.method
                        .as_deref()
                        .is_none_or(|m| m.eq_ignore_ascii_case(method))
            })
            .map(|r| r.max_body_bytes)
            .unwrap_or(self.max_body_bytes)
    }
}

/// A body limit for the paths below a prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteLimit {
    /// Path prefix, e.g. `/api/v2/tickets`.
    pub path_prefix: String,
    /// Only for this method (any when absent).
    pub method: Option<String>,
    /// Largest body in bytes; 0 = unlimited.
    pub max_body_bytes: u64,
}

/// Content types other than JSON and text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentConfig {
    /// `pass` forwards them untouched (counted); `refuse` answers 415 / 502.
    #[serde(default)]
    pub other_types: OtherTypes,
}

/// Policy for bodies that are neither JSON nor text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OtherTypes {
    /// Forward untouched.
    #[default]
    Pass,
    /// Fail closed.
    Refuse,
}

/// Trust for X-Forwarded-* headers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardingConfig {
    /// Peers (load balancers) whose X-Forwarded-* headers are kept and extended.
    /// From anybody else they are replaced, so a client cannot forge its address.
    #[serde(default)]
    pub trusted_proxies: Vec<IpAddr>,
}

fn default_profile() -> String {
    "freshdesk".into()
}
fn default_rules_dir() -> PathBuf {
    "rules".into()
}
fn default_key_env() -> String {
    "DESKGUARD_PSEUDONYM_KEY".into()
}
fn d_connect() -> Duration {
    Duration::from_secs(5)
}
fn d_response() -> Duration {
    Duration::from_secs(60)
}
fn d_pool() -> usize {
    64
}
fn d_admin() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9464))
}
fn d_header_timeout() -> Duration {
    Duration::from_secs(10)
}
fn d_max_header() -> usize {
    16 * 1024
}
fn d_max_conn() -> usize {
    4096
}
fn d_drain() -> Duration {
    Duration::from_secs(30)
}

/// Parses `250ms`, `5s`, `2m`, `1h` (a bare number means seconds).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?} (use e.g. \"250ms\", \"5s\", \"2m\")"))?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => return Err(format!("unknown duration unit {other:?} (ms, s, m, h)")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("invalid duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        N(u64),
    }
    match Raw::deserialize(d)? {
        Raw::S(s) => parse_duration(&s).map_err(serde::de::Error::custom),
        Raw::N(n) => Ok(Duration::from_secs(n)),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Line of the first `key =` after the line `after` (0 when not found); used
/// to point semantic errors at the offending key.
fn key_line(text: &str, key: &str, after: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(after.saturating_sub(1))
        .find(|(_, l)| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .unwrap_or(0)
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            reason: format!("cannot read: {e}"),
        })?;
        Config::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates configuration text; `file` only labels errors.
    pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
        let err = |line: usize, reason: String| ConfigError {
            file: file.to_string(),
            line,
            reason,
        };
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(0);
            err(line, e.message().trim().to_string())
        })?;
        if cfg.listeners.is_empty() {
            return Err(err(0, "at least one [[listener]] is required".into()));
        }
        let mut search_from = 0;
        for l in &cfg.listeners {
            let line = key_line(text, "addr", search_from);
            search_from = line + 1;
            if !l.insecure && (l.cert.is_none() || l.key.is_none()) {
                return Err(err(
                    line,
                    format!(
                        "listener {}: `cert` and `key` are required unless `insecure = true`",
                        l.addr
                    ),
                ));
            }
            if l.insecure && l.client_ca.is_some() {
                return Err(err(
                    line,
                    format!(
                        "listener {}: `client_ca` needs TLS (insecure = false)",
                        l.addr
                    ),
                ));
            }
        }
        match cfg.upstream.url.parse::<http::Uri>() {
            Ok(u)
                if matches!(u.scheme_str(), Some("http") | Some("https"))
                    && u.authority().is_some() => {}
            _ => {
                return Err(err(
                    key_line(text, "url", 0),
                    format!(
                        "upstream url {:?} must be an absolute http:// or https:// URL",
                        cfg.upstream.url
                    ),
                ))
            }
        }
        if cfg.limits.max_connections == 0 {
            return Err(err(
                key_line(text, "max_connections", 0),
                "max_connections must be at least 1".into(),
            ));
        }
        if cfg.limits.max_header_bytes < 1024 {
            return Err(err(
                key_line(text, "max_header_bytes", 0),
                "max_header_bytes must be at least 1024".into(),
            ));
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[[listener]]
addr = "127.0.0.1:8443"
insecure = true

[upstream]
url = "http://127.0.0.1:9000"
"#;

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::parse("t.toml", MIN).unwrap();
        assert_eq!(c.profile, "freshdesk");
        assert_eq!(c.limits.max_header_bytes, 16 * 1024);
        assert_eq!(c.upstream.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.log_format, LogFormat::Human);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let text = format!("{MIN}\n[limits]\nmax_header_byte = 10\n");
        let e = Config::parse("dg.toml", &text).unwrap_err();
        assert_eq!(e.file, "dg.toml");
        assert_eq!(e.line, 10, "{e}");
        assert!(e.reason.contains("unknown field"), "{e}");
        assert!(e.to_string().starts_with("dg.toml:10: "), "{e}");
    }

    #[test]
    fn tls_listener_needs_cert() {
        let text = MIN.replace("insecure = true", "");
        let e = Config::parse("dg.toml", &text).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.reason.contains("cert"), "{e}");
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("5 parsecs").is_err());
        let text = format!("{MIN}\n[limits]\nheader_read_timeout = \"soon\"\n");
        let e = Config::parse("dg.toml", &text).unwrap_err();
        assert_eq!(e.line, 10, "{e}");
    }

    #[test]
    fn route_body_limits() {
        let text = format!(
            "{MIN}\n[limits]\nmax_body_bytes = 100\n[[limits.route]]\npath_prefix = \"/api/v2/tickets\"\nmethod = \"POST\"\nmax_body_bytes = 5\n"
        );
        let c = Config::parse("dg.toml", &text).unwrap();
        assert_eq!(c.limits.body_limit_for("POST", "/api/v2/tickets/1"), 5);
        assert_eq!(c.limits.body_limit_for("GET", "/api/v2/tickets/1"), 100);
    }

    #[test]
    fn audiences_by_authorization_hash() {
        // sha256("Basic cmVwb3J0Olg=")
        use sha2::Digest;
        let h = hex::encode(sha2::Sha256::digest(b"Basic cmVwb3J0Olg="));
        let text = format!(
            "{MIN}\n[[audience]]\nname = \"reporting\"\nauthorization_sha256 = [\"{h}\"]\n"
        );
        let c = Config::parse("dg.toml", &text).unwrap();
        let v = http::HeaderValue::from_static("Basic cmVwb3J0Olg=");
        assert_eq!(c.audience_for(Some(&v)), Some("reporting"));
        let other = http::HeaderValue::from_static("Basic other");
        assert_eq!(c.audience_for(Some(&other)), Some("unknown"));
        assert_eq!(c.audience_for(None), Some("unknown"));
    }

    #[test]
    fn bad_upstream_url() {
        let text = MIN.replace("http://127.0.0.1:9000", "ftp://x");
        let e = Config::parse("dg.toml", &text).unwrap_err();
        assert_eq!(e.line, 7, "{e}");
    }
}

#[cfg(test)]
mod shipped {
    /// The shipped example must always parse.
    #[test]
    fn deploy_example_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/deskguard.toml");
        let c = super::Config::load(std::path::Path::new(path)).unwrap();
        assert_eq!(
            c.limits.body_limit_for("POST", "/api/v2/tickets"),
            1_048_576
        );
    }
}
