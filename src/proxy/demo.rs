//! `deskguard demo`: dev certificates, a tiny in-memory helpdesk with
//! Freshdesk v2 shapes, and the proxy in front of it, so anybody can see
//! redaction happen with one command and a few `curl`s.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// Paths of the generated development PKI.
#[derive(Debug, Clone)]
pub struct DevCerts {
    /// CA certificate (give it to curl with `--cacert`).
    pub ca: PathBuf,
    /// Server certificate chain (localhost, 127.0.0.1, ::1).
    pub cert: PathBuf,
    /// Server key (git-ignored: `*-key.pem`).
    pub key: PathBuf,
}

/// Generates a dev CA and a server certificate into `dir` unless all files
/// exist. Keys are named `*-key.pem`, which `.gitignore` excludes.
pub fn ensure_dev_certs(dir: &Path) -> anyhow::Result<DevCerts> {
    let certs = DevCerts {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    if certs.ca.exists() && certs.cert.exists() && certs.key.exists() {
        return Ok(certs);
    }
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let ca_key = KeyPair::generate()?;
    let mut cp = CertificateParams::new(Vec::<String>::new())?;
    cp.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    cp.distinguished_name
        .push(DnType::CommonName, "deskguard development CA");
    cp.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = cp.self_signed(&ca_key)?;
    let key = KeyPair::generate()?;
    let mut sp = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    sp.distinguished_name.push(DnType::CommonName, "localhost");
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = sp.signed_by(&key, &ca, &ca_key)?;
    std::fs::write(&certs.ca, ca.pem())?;
    std::fs::write(dir.join("ca-key.pem"), ca_key.serialize_pem())?;
    std::fs::write(&certs.cert, cert.pem())?;
    write_private(&certs.key, key.serialize_pem().as_bytes())?;
    Ok(certs)
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("write {}", path.display()))?;
    f.write_all(bytes)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Sample helpdesk (Freshdesk v2 shapes, in memory, loopback only).

#[derive(Default)]
struct Desk {
    tickets: Vec<Value>,
}

/// Starts the sample helpdesk on `addr` (use port 0 for any). Runs until the runtime ends.
pub async fn start_helpdesk(addr: SocketAddr) -> anyhow::Result<SocketAddr> {
    let tcp = TcpListener::bind(addr).await?;
    let local = tcp.local_addr()?;
    let desk = Arc::new(Mutex::new(Desk::default()));
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = tcp.accept().await else {
                continue;
            };
            let desk = desk.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req| {
                    let desk = desk.clone();
                    async move { Ok::<_, Infallible>(helpdesk(desk, req).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    Ok(local)
}

fn json_resp(status: StatusCode, v: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(
        serde_json::to_vec(v).unwrap_or_default(),
    )));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

fn validation(field: &str, message: &str, code: &str) -> Response<Full<Bytes>> {
    json_resp(
        StatusCode::BAD_REQUEST,
        &json!({"description": "Validation failed",
                "errors": [{"field": field, "message": message, "code": code}]}),
    )
}

/// RFC 3339 UTC timestamp without pulling in a date crate.
fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

async fn helpdesk(desk: Arc<Mutex<Desk>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let method = req.method().clone();
    match (method, path.as_str()) {
        (Method::POST, "/api/v2/tickets") => {
            let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return validation(
                        "body",
                        "Request body too large or unreadable",
                        "invalid_value",
                    )
                }
            };
            let Ok(Value::Object(mut t)) = serde_json::from_slice::<Value>(&body) else {
                return validation("body", "It should be a valid JSON object", "invalid_json");
            };
            if !["email", "requester_id", "phone"]
                .iter()
                .any(|k| t.contains_key(*k))
            {
                return validation(
                    "requester_id",
                    "Please fill at least 1 of email, phone, requester_id fields",
                    "missing_field",
                );
            }
            if !t.get("subject").is_some_and(Value::is_string) {
                return validation("subject", "It should be a/an String", "missing_field");
            }
            let now = now_rfc3339();
            let Ok(mut d) = desk.lock() else {
                return json_resp(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"description": "error"}),
                );
            };
            let id = d.tickets.len() as u64 + 1;
            t.insert("id".into(), json!(id));
            t.entry("status").or_insert(json!(2));
            t.entry("priority").or_insert(json!(1));
            t.entry("source").or_insert(json!(2));
            if let Some(desc) = t
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned)
            {
                t.insert("description_text".into(), json!(desc));
            }
            t.insert("created_at".into(), json!(now));
            t.insert("updated_at".into(), json!(now));
            let v = Value::Object(t);
            d.tickets.push(v.clone());
            json_resp(StatusCode::CREATED, &v)
        }
        (Method::GET, "/api/v2/tickets") => {
            let d = desk.lock().map(|d| d.tickets.clone()).unwrap_or_default();
            json_resp(StatusCode::OK, &Value::Array(d))
        }
        (Method::GET, p) if p.starts_with("/api/v2/tickets/") => {
            let id: Option<usize> = p["/api/v2/tickets/".len()..].parse().ok();
            let t = id.and_then(|i| {
                desk.lock()
                    .ok()
                    .and_then(|d| d.tickets.get(i.wrapping_sub(1)).cloned())
            });
            match t {
                Some(t) => json_resp(StatusCode::OK, &t),
                None => json_resp(
                    StatusCode::NOT_FOUND,
                    &json!({"code": "access_denied", "message": "You are not authorized to perform this action."}),
                ),
            }
        }
        _ => json_resp(
            StatusCode::NOT_FOUND,
            &json!({"code": "invalid_url", "message": "The requested URL is not found"}),
        ),
    }
}
