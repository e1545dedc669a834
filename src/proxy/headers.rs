//! Header hygiene for a reverse proxy: hop-by-hop stripping, forwarding
//! headers (trusted only from configured proxies), request ids.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// `x-request-id`.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The legal basis deskguard decided for a ticket created through it.
pub const X_LEGAL_BASIS: HeaderName = HeaderName::from_static("x-legal-basis");
/// The retention class that follows from the legal basis.
pub const X_RETENTION_CLASS: HeaderName = HeaderName::from_static("x-retention-class");

/// Puts deskguard's legal-basis decision on a response head; whatever the
/// upstream sent under the same names never reaches the client.
pub fn set_legal_basis(h: &mut HeaderMap, lb: Option<&crate::proxy::body::LegalBasis>) {
    h.remove(X_LEGAL_BASIS);
    h.remove(X_RETENTION_CLASS);
    let Some(lb) = lb else { return };
    if let Ok(v) = HeaderValue::from_str(&lb.basis) {
        h.insert(X_LEGAL_BASIS, v);
    }
    if let Ok(v) = HeaderValue::from_str(&lb.retention) {
        h.insert(X_RETENTION_CLASS, v);
    }
}
const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
const XFP: HeaderName = HeaderName::from_static("x-forwarded-proto");
const XFH: HeaderName = HeaderName::from_static("x-forwarded-host");
const FORWARDED: HeaderName = HeaderName::from_static("forwarded");

/// RFC 9110 §7.6.1 connection-specific headers, plus the legacy ones.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "http2-settings",
];

/// Removes hop-by-hop headers, including those the Connection header names.
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(*n);
    }
}

/// Headers that describe the exact bytes of a body and are wrong once it is rewritten.
pub fn strip_body_validators(h: &mut HeaderMap) {
    for n in [
        header::CONTENT_LENGTH,
        header::CONTENT_ENCODING,
        header::ETAG,
        header::CONTENT_RANGE,
        header::ACCEPT_RANGES,
    ] {
        h.remove(n);
    }
    h.remove("content-md5");
    h.remove("digest");
    h.remove("repr-digest");
    h.remove("content-digest");
}

/// Sets X-Forwarded-For/-Proto/-Host. Incoming values are kept (and
/// extended) only when the peer is a trusted proxy; otherwise they are
/// replaced, so clients cannot forge their address.
pub fn set_forwarded(
    h: &mut HeaderMap,
    peer: SocketAddr,
    trusted: &[IpAddr],
    tls: bool,
    host: Option<HeaderValue>,
) {
    let peer_ip = peer.ip().to_canonical();
    let is_trusted = trusted.iter().any(|t| t.to_canonical() == peer_ip);
    let peer_s = peer_ip.to_string();
    let xff = if is_trusted {
        let prior: Vec<&str> = h
            .get_all(&XFF)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if prior.is_empty() {
            peer_s
        } else {
            format!("{}, {peer_s}", prior.join(", "))
        }
    } else {
        peer_s
    };
    h.remove(&XFF);
    if let Ok(v) = HeaderValue::from_str(&xff) {
        h.insert(XFF, v);
    }
    if !is_trusted || !h.contains_key(&XFP) {
        h.insert(
            XFP,
            HeaderValue::from_static(if tls { "https" } else { "http" }),
        );
    }
    if !is_trusted || !h.contains_key(&XFH) {
        h.remove(&XFH);
        if let Some(host) = host {
            h.insert(XFH, host);
        }
    }
    if !is_trusted {
        h.remove(FORWARDED);
    }
}

/// The incoming request id when it is short and plain, else a fresh one.
pub fn request_id(h: &HeaderMap) -> String {
    if let Some(v) = h.get(&X_REQUEST_ID).and_then(|v| v.to_str().ok()) {
        if !v.is_empty()
            && v.len() <= 128
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return v.to_string();
        }
    }
    new_request_id()
}

fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    use std::hash::{BuildHasher, Hasher};
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut a = std::collections::hash_map::RandomState::new().build_hasher();
    a.write_u64(n);
    let mut b = std::collections::hash_map::RandomState::new().build_hasher();
    b.write_u64(!n);
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_and_connection_named() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            HeaderValue::from_static("close, x-secret-hop"),
        );
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("5"));
        h.insert("x-keep", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-keep"));
    }

    #[test]
    fn forwarded_only_trusted() {
        let peer: SocketAddr = "10.0.0.5:1234".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(XFF, HeaderValue::from_static("1.2.3.4"));
        set_forwarded(&mut h, peer, &[], true, None);
        assert_eq!(h.get(XFF).unwrap(), "10.0.0.5");
        let mut h = HeaderMap::new();
        h.insert(XFF, HeaderValue::from_static("1.2.3.4"));
        set_forwarded(&mut h, peer, &["10.0.0.5".parse().unwrap()], true, None);
        assert_eq!(h.get(XFF).unwrap(), "1.2.3.4, 10.0.0.5");
        assert_eq!(h.get(XFP).unwrap(), "https");
    }

    #[test]
    fn request_ids() {
        let mut h = HeaderMap::new();
        h.insert(X_REQUEST_ID, HeaderValue::from_static("abc-123"));
        assert_eq!(request_id(&h), "abc-123");
        h.insert(X_REQUEST_ID, HeaderValue::from_static("a b"));
        let id = request_id(&h);
        assert_eq!(id.len(), 32);
        assert_ne!(id, request_id(&h));
    }
}
