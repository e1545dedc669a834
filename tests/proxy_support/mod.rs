//! Shared harness for the proxy tests: dev certificates, a scriptable
//! upstream on 127.0.0.1, the proxy started in-process, and TLS clients.
#![allow(dead_code)]

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use deskguard::proxy::body::{BoxError, LiteralLoader};
use deskguard::proxy::demo::DevCerts;
use deskguard::proxy::server::Running;
use deskguard::proxy::upstream::UpBody;
use http::{header, HeaderMap, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// Test fixture directory (certs + rules), removed on drop.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub certs: DevCerts,
    pub rules: PathBuf,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let certs = deskguard::proxy::demo::ensure_dev_certs(&dir.path().join("certs")).unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("test.txt"), "SECRET=[X]\n").unwrap();
    Fixture { dir, certs, rules }
}

/// What the upstream saw.
#[derive(Default)]
pub struct Seen {
    pub requests: AtomicU64,
    pub last_headers: Mutex<Option<HeaderMap>>,
    pub last_body: Mutex<Vec<u8>>,
}

pub const SECRET_JSON: &str = r#"{"note":"the SECRET is out"}"#;
/// A response carrying a real personnummer (for the shipped rules).
pub const PNR_JSON: &str = r#"{"id":1,"description":"Mitt personnummer är 19811218-9876"}"#;

/// A body of `n` bytes of text generated on the fly in 64 KiB frames.
pub struct GenBody {
    pub left: u64,
    pub chunk: Bytes,
    pub tail: Option<Bytes>,
}

impl GenBody {
    pub fn new(n: u64) -> GenBody {
        let unit = b"lorem ipsum SECRET dolor sit amet, consectetur adipiscing elit\n";
        let mut v = Vec::with_capacity(64 * 1024);
        while v.len() + unit.len() <= 64 * 1024 {
            v.extend_from_slice(unit);
        }
        GenBody {
            left: n,
            chunk: Bytes::from(v),
            tail: None,
        }
    }
}

impl Body for GenBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.left == 0 {
            return Poll::Ready(self.tail.take().map(|t| Ok(Frame::data(t))));
        }
        let n = (self.chunk.len() as u64).min(self.left) as usize;
        self.left -= n as u64;
        let c = self.chunk.slice(..n);
        Poll::Ready(Some(Ok(Frame::data(c))))
    }
}

fn resp(status: StatusCode, ct: &str, body: UpBody) -> Response<UpBody> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, ct.parse().unwrap());
    r
}

fn full(b: impl Into<Bytes>) -> UpBody {
    Full::new(b.into())
        .map_err(|n| -> BoxError { match n {} })
        .boxed_unsync()
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

async fn upstream_handler(seen: Arc<Seen>, req: Request<Incoming>) -> Response<UpBody> {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    *seen.last_headers.lock().unwrap() = Some(req.headers().clone());
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    match path.as_str() {
        // Streams the request body back with the same content type.
        "/echo" => {
            let ct = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("text/plain")
                .to_string();
            resp(
                StatusCode::OK,
                &ct,
                req.into_body()
                    .map_err(|e| -> BoxError { Box::new(e) })
                    .boxed_unsync(),
            )
        }
        // Collects (small) bodies so tests can look at what arrived.
        "/store" => {
            let b = req.into_body().collect().await.map(|c| c.to_bytes());
            let ok = b.is_ok();
            *seen.last_body.lock().unwrap() = b.map(|b| b.to_vec()).unwrap_or_default();
            let status = if ok {
                StatusCode::CREATED
            } else {
                StatusCode::BAD_REQUEST
            };
            resp(status, "application/json", full(r#"{"id":1}"#))
        }
        "/secret" => {
            let mut r = resp(StatusCode::OK, "application/json", full(SECRET_JSON));
            r.headers_mut()
                .insert(header::ETAG, "\"abc\"".parse().unwrap());
            r.headers_mut()
                .insert(header::CONTENT_LENGTH, SECRET_JSON.len().into());
            r
        }
        "/gzip" => {
            let mut r = resp(
                StatusCode::OK,
                "application/json",
                full(gzip(SECRET_JSON.as_bytes())),
            );
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, "gzip".parse().unwrap());
            r
        }
        "/weird-encoding" => {
            let mut r = resp(StatusCode::OK, "application/json", full("xxxx"));
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, "compress".parse().unwrap());
            r
        }
        "/bad-json" => resp(StatusCode::OK, "application/json", full("this is not json")),
        "/big" => {
            let n: u64 = query
                .strip_prefix("n=")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            resp(StatusCode::OK, "text/plain", GenBody::new(n).boxed_unsync())
        }
        "/late-reject" => {
            let mut g = GenBody::new(1 << 20);
            g.tail = Some(Bytes::from_static(b"REJECT"));
            let b = g.boxed_unsync();
            resp(StatusCode::OK, "text/plain", b)
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            resp(StatusCode::OK, "application/json", full(PNR_JSON))
        }
        _ => resp(StatusCode::NOT_FOUND, "text/plain", full("nope")),
    }
}

/// Starts the scriptable upstream (plain HTTP/1.1 + h2c) on 127.0.0.1.
pub async fn start_upstream() -> (SocketAddr, Arc<Seen>) {
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let s2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                continue;
            };
            let seen = s2.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let seen = seen.clone();
                    async move { Ok::<_, Infallible>(upstream_handler(seen, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

/// The scriptable upstream behind TLS (fixture certificate: localhost, 127.0.0.1).
pub async fn start_upstream_tls(fx: &Fixture) -> (SocketAddr, Arc<Seen>) {
    let store = deskguard::proxy::tls::CertStore::load(&fx.certs.cert, &fx.certs.key).unwrap();
    let acceptor =
        tokio_rustls::TlsAcceptor::from(deskguard::proxy::tls::server_config(store, None).unwrap());
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let s2 = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                continue;
            };
            let seen = s2.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = service_fn(move |req| {
                    let seen = seen.clone();
                    async move { Ok::<_, Infallible>(upstream_handler(seen, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    (addr, seen)
}

/// Proxy configuration (TLS listener on an ephemeral port).
pub fn config_text(fx: &Fixture, upstream: SocketAddr, extra: &str) -> String {
    format!(
        r#"
rules_dir = {rules:?}
{extra}
[[listener]]
addr = "127.0.0.1:0"
cert = {cert:?}
key = {key:?}
[upstream]
url = "http://{upstream}"
[admin]
addr = "127.0.0.1:0"
"#,
        rules = fx.rules.display().to_string(),
        cert = fx.certs.cert.display().to_string(),
        key = fx.certs.key.display().to_string(),
    )
}

/// Starts the proxy in-process with the literal test engine (SECRET → [X]).
pub async fn start_proxy(fx: &Fixture, upstream: SocketAddr, extra: &str) -> Running {
    let text = config_text(fx, upstream, extra);
    let cfg = deskguard::config::Config::parse("test.toml", &text).unwrap();
    let loader = Arc::new(LiteralLoader {
        dir: fx.rules.clone(),
    });
    deskguard::proxy::server::start(cfg, loader).await.unwrap()
}

/// Starts the proxy in-process with the real core and the shipped rules/,
/// profile freshdesk.
pub async fn start_proxy_core(fx: &Fixture, upstream: SocketAddr, extra: &str) -> Running {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let text = config_text(fx, upstream, extra).replace(
        &format!("rules_dir = {:?}", fx.rules.display().to_string()),
        &format!("rules_dir = {rules:?}"),
    );
    let cfg = deskguard::config::Config::parse("test.toml", &text).unwrap();
    let loader = Arc::new(deskguard::proxy::core_engine::CoreLoader {
        dir: rules.into(),
        key: deskguard::core::PseudonymKey::insecure_demo(),
    });
    deskguard::proxy::server::start(cfg, loader).await.unwrap()
}

pub type TestClient = Client<HttpsConnector<HttpConnector>, UpBody>;

/// A TLS client trusting the fixture CA; `h2` forces HTTP/2.
pub fn client(ca: &Path, h2: bool) -> TestClient {
    let tls = deskguard::proxy::tls::client_config(Some(ca)).unwrap();
    let b = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only();
    let conn = if h2 {
        b.enable_http2().build()
    } else {
        b.enable_http1().build()
    };
    Client::builder(TokioExecutor::new())
        .http2_only(h2)
        .build(conn)
}

pub fn body(b: impl Into<Bytes>) -> UpBody {
    full(b)
}

/// A request body of several frames with no declared length (chunked on h1).
pub fn chunked(parts: &[&'static [u8]]) -> UpBody {
    FramesBody(parts.iter().map(|p| Bytes::from_static(p)).collect()).boxed_unsync()
}

struct FramesBody(std::collections::VecDeque<Bytes>);
impl Body for FramesBody {
    type Data = Bytes;
    type Error = BoxError;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

pub fn url(addr: SocketAddr, path: &str) -> String {
    format!("https://127.0.0.1:{}{}", addr.port(), path)
}

pub async fn send(
    c: &TestClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    b: UpBody,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = c.request(req.body(b).unwrap()).await.unwrap();
    let (parts, b) = resp.into_parts();
    let bytes = b.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, bytes.to_vec())
}

/// Raw TLS connection to the proxy, for malformed requests.
pub async fn raw_tls(
    addr: SocketAddr,
    ca: &Path,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut cfg = deskguard::proxy::tls::client_config(Some(ca)).unwrap();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let conn = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    conn.connect(name, tcp).await.unwrap()
}

/// Sends raw bytes and reads until the server closes (bounded by 20 s).
pub async fn raw_exchange(addr: SocketAddr, ca: &Path, req: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = raw_tls(addr, ca).await;
    s.write_all(req).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn admin_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let c: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let r = c
        .get(format!("http://{addr}{path}").parse().unwrap())
        .await
        .unwrap();
    let s = r.status().as_u16();
    let b = r.into_body().collect().await.unwrap().to_bytes();
    (s, String::from_utf8_lossy(&b).into_owned())
}

/// Value of one metric sample line (0 when absent).
pub fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Everything the in-process proxies of this test binary logged (access and
/// audit events), as the JSON lines `log_format = "json"` writes.
static AUDIT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct AuditWriter;
impl std::io::Write for AuditWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        AUDIT.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing the log of this test binary (idempotent).
pub fn capture_audit() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        deskguard::telemetry::init_logging_to(deskguard::config::LogFormat::Json, || AuditWriter)
    });
}

/// The captured log so far, as text.
pub fn audit_text() -> String {
    String::from_utf8_lossy(&AUDIT.lock().unwrap()).into_owned()
}

/// Waits (up to 5 s) for the `event` line of request `rid` and returns its fields.
pub async fn audit_event(event: &str, rid: &str) -> serde_json::Value {
    for _ in 0..100 {
        let found = audit_text().lines().find_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).ok()?;
            let f = v.get("fields")?;
            (f["event"] == event && f["request_id"] == rid).then(|| f.clone())
        });
        if let Some(f) = found {
            return f;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {event} audit line for request {rid}:\n{}", audit_text());
}

/// The multipart boundary of the test forms built by [`form`].
pub const BOUNDARY: &str = "----deskguardE2E5h3q";

/// A `multipart/form-data` body: (field name, file name, content type, content) per part.
pub fn form(parts: &[(&str, Option<&str>, &str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, filename, ct, content) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let mut cd = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = filename {
            cd.push_str(&format!("; filename=\"{f}\""));
        }
        out.extend_from_slice(format!("{cd}\r\nContent-Type: {ct}\r\n\r\n").as_bytes());
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out
}
