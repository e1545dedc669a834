//! Limits and smuggling defences over real TLS: slowloris, oversized heads,
//! ambiguous framing, body limits. No wall-clock assertions: timeouts below
//! are only safety bounds so a broken build cannot hang CI.

mod proxy_support;
use proxy_support::*;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn slowloris_connection_closed_after_header_timeout() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let p = start_proxy(&fx, up, "[limits]\nheader_read_timeout = \"500ms\"\n").await;
    let mut s = raw_tls(p.listen_addrs[0], &fx.certs.ca).await;
    s.write_all(b"GET /secret HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    s.flush().await.unwrap();
    // Never finish the head. The proxy must close the connection by itself.
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
    assert!(
        r.is_ok(),
        "connection still open long after the header timeout"
    );
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    p.shutdown().await;
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let p = start_proxy(&fx, up, "[limits]\nmax_header_bytes = 8192\n").await;
    let big = "a".repeat(20_000);
    let req = format!("GET /secret HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
    let out = raw_exchange(p.listen_addrs[0], &fx.certs.ca, req.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    p.shutdown().await;
}

#[tokio::test]
async fn smuggling_shapes_get_400_and_never_reach_upstream() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let addr = p.listen_addrs[0];
    let cases: &[&[u8]] = &[
        // CL + TE, with a smuggled second request behind it
        b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /secret HTTP/1.1\r\nHost: x\r\n\r\n",
        // TE first, then CL
        b"POST /store HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\n0\r\n\r\n",
        // conflicting Content-Length
        b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
        // invalid Content-Length
        b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: +4\r\n\r\nabcd",
        // obfuscated Transfer-Encoding
        b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
    ];
    for (i, c) in cases.iter().enumerate() {
        let out = raw_exchange(addr, &fx.certs.ca, c).await;
        assert!(
            out.starts_with("HTTP/1.1 400") || out.starts_with("HTTP/1.1 501"),
            "case {i}: {out}"
        );
    }
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        0,
        "upstream saw a smuggling-shaped request"
    );
    let out = raw_exchange(
        addr,
        &fx.certs.ca,
        b"TRACE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 405"), "{out}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);

    // An ambiguous head behind a good request on the same connection: the
    // first is answered, the second refused, nothing of it reaches upstream.
    let out = raw_exchange(
        addr,
        &fx.certs.ca,
        b"GET /secret HTTP/1.1\r\nHost: x\r\n\r\nPOST /store HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert!(out.contains("HTTP/1.1 400"), "{out}");
    assert!(out.contains("application/problem+json"), "{out}");
    // Only the good GET may have been forwarded.
    assert!(seen.requests.load(Ordering::SeqCst) <= 1);
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert_eq!(
        metric(
            &m,
            "deskguard_fail_closed_total{direction=\"request\",reason=\"ambiguous_framing\"}"
        ),
        3.0,
        "{m}"
    );
    p.shutdown().await;
}

#[tokio::test]
async fn body_limits_give_413() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let extra = "[limits]\nmax_body_bytes = 1000\n[[limits.route]]\npath_prefix = \"/echo\"\nmax_body_bytes = 0\n";
    let p = start_proxy(&fx, up, extra).await;
    let c = client(&fx.certs.ca, false);
    let addr = p.listen_addrs[0];
    // Declared length over the limit: refused before the upstream sees it.
    let (s, h, _) = send(
        &c,
        "POST",
        &url(addr, "/store"),
        &[("content-type", "text/plain")],
        body(vec![b'a'; 2000]),
    )
    .await;
    assert_eq!(s, 413);
    assert_eq!(h.get("content-type").unwrap(), "application/problem+json");
    assert_eq!(seen.requests.load(Ordering::SeqCst), 0);
    // Streamed (chunked) over the limit.
    static PART: [u8; 600] = [b'b'; 600];
    let (s, _, _) = send(
        &c,
        "POST",
        &url(addr, "/store"),
        &[("content-type", "text/plain")],
        chunked(&[&PART, &PART]),
    )
    .await;
    assert_eq!(s, 413);
    // The per-route override (0 = unlimited) lets a larger body through.
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/echo"),
        &[("content-type", "text/plain")],
        body(vec![b'c'; 5000]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b.len(), 5000);
    p.shutdown().await;
}

#[tokio::test]
async fn connection_limit_refuses_extra_connections() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = start_proxy(&fx, up, "[limits]\nmax_connections = 1\n").await;
    let addr = p.listen_addrs[0];
    let _held = raw_tls(addr, &fx.certs.ca).await;
    // A second connection is closed without a handshake.
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut cfg = deskguard::proxy::tls::client_config(Some(&fx.certs.ca)).unwrap();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let conn = tokio_rustls::TlsConnector::from(std::sync::Arc::new(cfg));
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let r = tokio::time::timeout(Duration::from_secs(20), conn.connect(name, tcp)).await;
    assert!(matches!(r, Ok(Err(_))), "second connection was not refused");
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert_eq!(metric(&m, "deskguard_refused_connections_total"), 1.0);
    assert_eq!(metric(&m, "deskguard_open_connections"), 1.0);
    p.shutdown().await;
}
