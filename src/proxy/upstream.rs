//! The pooled upstream client (hyper-util legacy client over hyper-rustls),
//! plus the cheap reachability probe `/readyz` uses.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use bytes::Bytes;
use http::Uri;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::config::UpstreamConfig;
use crate::proxy::body::BoxError;

/// Body type sent upstream.
pub type UpBody = UnsyncBoxBody<Bytes, BoxError>;

/// How long a reachability result is reused.
const PROBE_TTL: Duration = Duration::from_secs(3);
/// Connect timeout of the reachability probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// The client type.
pub type UpClient = Client<HttpsConnector<HttpConnector>, UpBody>;

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    /// One pooled client per (upstream, thread): a request's client and
    /// upstream connection tasks then run on the thread that serves the
    /// client connection, without cross-thread wake-ups.
    static LOCAL: std::cell::RefCell<std::collections::HashMap<usize, UpClient>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The helpdesk, as a pooled HTTP(S) client.
pub struct Upstream {
    id: usize,
    connector: HttpsConnector<HttpConnector>,
    pool_max_idle: usize,
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
    base_path: String,
    /// Time allowed for the response head.
    pub response_timeout: Duration,
    probe: Mutex<Option<(Instant, bool)>>,
}

impl Upstream {
    /// Builds the client from configuration.
    pub fn new(cfg: &UpstreamConfig) -> anyhow::Result<Upstream> {
        let base: Uri = cfg.url.parse().context("upstream url")?;
        let scheme = base
            .scheme()
            .cloned()
            .ok_or_else(|| anyhow!("upstream url needs a scheme"))?;
        let authority = base
            .authority()
            .cloned()
            .ok_or_else(|| anyhow!("upstream url needs a host"))?;
        let base_path = base.path().trim_end_matches('/').to_string();

        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(cfg.connect_timeout));
        let tls = crate::proxy::tls::client_config(cfg.ca_bundle.as_deref())?;
        let builder = HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http();
        let builder = match &cfg.sni {
            Some(name) => {
                let sn = rustls::pki_types::ServerName::try_from(name.clone())
                    .map_err(|e| anyhow!("upstream sni {name:?}: {e}"))?;
                builder.with_server_name_resolver(FixedServerNameResolver::new(sn))
            }
            None => builder,
        };
        let connector = builder.enable_http1().enable_http2().wrap_connector(http);
        Ok(Upstream {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            connector,
            pool_max_idle: cfg.pool_max_idle,
            scheme,
            authority,
            base_path,
            response_timeout: cfg.response_timeout,
            probe: Mutex::new(None),
        })
    }

    /// This thread's pooled client (created on first use).
    pub fn client(&self) -> UpClient {
        LOCAL.with(|m| {
            m.borrow_mut()
                .entry(self.id)
                .or_insert_with(|| {
                    Client::builder(TokioExecutor::new())
                        .pool_max_idle_per_host(self.pool_max_idle)
                        .pool_idle_timeout(Duration::from_secs(60))
                        .build(self.connector.clone())
                })
                .clone()
        })
    }

    /// The upstream URI for a client's path and query.
    pub fn uri_for(&self, path_and_query: &str) -> Result<Uri, http::Error> {
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{}", self.base_path, path_and_query))
            .build()
    }

    /// The upstream's authority (for the Host header).
    pub fn authority(&self) -> &http::uri::Authority {
        &self.authority
    }

    /// Whether a TCP connection to the upstream can be opened (cached a few seconds).
    pub async fn reachable(&self) -> bool {
        if let Ok(g) = self.probe.lock() {
            if let Some((at, ok)) = *g {
                if at.elapsed() < PROBE_TTL {
                    return ok;
                }
            }
        }
        let port =
            self.authority
                .port_u16()
                .unwrap_or(if self.scheme == http::uri::Scheme::HTTPS {
                    443
                } else {
                    80
                });
        let host = self
            .authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let ok = matches!(
            tokio::time::timeout(
                PROBE_TIMEOUT,
                tokio::net::TcpStream::connect((host.as_str(), port))
            )
            .await,
            Ok(Ok(_))
        );
        if let Ok(mut g) = self.probe.lock() {
            *g = Some((Instant::now(), ok));
        }
        ok
    }
}
