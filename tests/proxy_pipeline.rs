//! Redaction through the proxy over real TLS sockets: both directions,
//! content-length and chunked bodies, gzip, h2, and the fail-closed paths.

mod proxy_support;
use proxy_support::*;
use std::sync::atomic::Ordering;

#[tokio::test]
async fn request_and_response_redacted_cl_and_chunked() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let c = client(&fx.certs.ca, false);
    let addr = p.listen_addrs[0];

    // Content-Length request body: redacted before the upstream stores it.
    let (s, h, _) = send(
        &c,
        "POST",
        &url(addr, "/store"),
        &[("content-type", "application/json")],
        body(r#"{"description":"my SECRET is here"}"#),
    )
    .await;
    assert_eq!(s, 201);
    assert!(h.contains_key("x-request-id"));
    assert_eq!(
        &*seen.last_body.lock().unwrap(),
        br#"{"description":"my [X] is here"}"#
    );
    let uh = seen.last_headers.lock().unwrap().clone().unwrap();
    assert!(
        uh.get("content-length").is_none(),
        "rewritten body must not keep Content-Length"
    );
    assert_eq!(uh.get("x-forwarded-proto").unwrap(), "https");
    assert_eq!(uh.get("x-forwarded-for").unwrap(), "127.0.0.1");

    // Chunked request body with the needle split across frames.
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/echo"),
        &[("content-type", "text/plain")],
        chunked(&[b"a SEC", b"R", b"ET b ", b"SECRET"]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b, b"a [X] b [X]");

    // Response body redacted; validators dropped.
    let (s, h, b) = send(&c, "GET", &url(addr, "/secret"), &[], body("")).await;
    assert_eq!(s, 200);
    assert_eq!(b, br#"{"note":"the [X] is out"}"#);
    assert!(h.get("etag").is_none());
    assert!(h.get("content-length").is_none());

    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_redactions_total{detector=\"test.literal\",direction=\"request\"}"
        ) >= 3.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "deskguard_redactions_total{detector=\"test.literal\",direction=\"response\"}"
        ) >= 1.0
    );
    p.shutdown().await;
}

#[tokio::test]
async fn h2_client_works() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let c = client(&fx.certs.ca, true);
    let (s, _, b) = send(
        &c,
        "POST",
        &url(p.listen_addrs[0], "/echo"),
        &[("content-type", "application/json")],
        body(r#"["SECRET"]"#),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b, br#"["[X]"]"#);
    p.shutdown().await;
}

#[tokio::test]
async fn gzip_both_directions() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let c = client(&fx.certs.ca, false);
    let addr = p.listen_addrs[0];

    // gzip request: decoded, inspected, forwarded as identity.
    let (s, _, _) = send(
        &c,
        "POST",
        &url(addr, "/store"),
        &[
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        body(gzip(br#"{"a":"SECRET"}"#)),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(&*seen.last_body.lock().unwrap(), br#"{"a":"[X]"}"#);
    let uh = seen.last_headers.lock().unwrap().clone().unwrap();
    assert!(uh.get("content-encoding").is_none());

    // gzip response: decoded and inspected; the client gets identity.
    let (s, h, b) = send(
        &c,
        "GET",
        &url(addr, "/gzip"),
        &[("accept-encoding", "gzip, sdch")],
        body(""),
    )
    .await;
    assert_eq!(s, 200);
    assert!(h.get("content-encoding").is_none());
    assert_eq!(b, br#"{"note":"the [X] is out"}"#);
    let uh = seen.last_headers.lock().unwrap().clone().unwrap();
    assert_eq!(
        uh.get("accept-encoding").unwrap(),
        "gzip",
        "narrowed to what we decode"
    );
    p.shutdown().await;
}

fn assert_problem(h: &http::HeaderMap, b: &[u8], status: u16, reason: &str) {
    assert_eq!(h.get("content-type").unwrap(), "application/problem+json");
    let v: serde_json::Value = serde_json::from_slice(b).unwrap();
    assert_eq!(v["status"], status);
    assert_eq!(v["reason"], reason);
    assert!(v["type"].as_str().unwrap().ends_with(reason));
    assert!(v["title"].is_string() && v["detail"].is_string());
    assert!(!String::from_utf8_lossy(b).contains("SECRET"));
}

#[tokio::test]
async fn fail_closed_paths() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let p = start_proxy(&fx, up, "[content]\nother_types = \"refuse\"\n").await;
    let c = client(&fx.certs.ca, false);
    let addr = p.listen_addrs[0];
    let before = seen.requests.load(Ordering::SeqCst);

    // Invalid JSON: 422, the upstream never sees it.
    let (s, h, b) = send(
        &c,
        "POST",
        &url(addr, "/store"),
        &[("content-type", "application/json")],
        body("SECRET, not json"),
    )
    .await;
    assert_eq!(s, 422);
    assert_problem(&h, &b, 422, "invalid_json");

    // Unknown request Content-Encoding: 415.
    let (s, h, b) = send(
        &c,
        "POST",
        &url(addr, "/store"),
        &[
            ("content-type", "application/json"),
            ("content-encoding", "compress"),
        ],
        body("xxxx"),
    )
    .await;
    assert_eq!(s, 415);
    assert_problem(&h, &b, 415, "unsupported_encoding");

    // Content type that is not inspected, refused by config: 415.
    let (s, h, b) = send(
        &c,
        "POST",
        &url(addr, "/store"),
        &[("content-type", "application/octet-stream")],
        body("SECRET"),
    )
    .await;
    assert_eq!(s, 415);
    assert_problem(&h, &b, 415, "unsupported_media_type");
    assert_eq!(
        seen.requests.load(Ordering::SeqCst),
        before,
        "upstream saw a refused request"
    );

    // Unknown upstream Content-Encoding: 502, never passed through.
    let (s, h, b) = send(&c, "GET", &url(addr, "/weird-encoding"), &[], body("")).await;
    assert_eq!(s, 502);
    assert_problem(&h, &b, 502, "unsupported_encoding");

    // Upstream response that is not JSON: refused as a whole with 502.
    let (s, h, b) = send(&c, "GET", &url(addr, "/bad-json"), &[], body("")).await;
    assert_eq!(s, 502);
    assert_problem(&h, &b, 502, "invalid_json");

    // Upstream response that fails mid-body (after 1 MiB): the stream is
    // aborted; the client never gets a clean-looking truncated body.
    let req = http::Request::get(url(addr, "/late-reject"))
        .body(body(""))
        .unwrap();
    let failed = match c.request(req).await {
        Ok(resp) => http_body_util::BodyExt::collect(resp.into_body())
            .await
            .is_err(),
        Err(_) => true,
    };
    assert!(
        failed,
        "a failed response body must be an error, not a truncated body"
    );

    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert_eq!(
        metric(
            &m,
            "deskguard_fail_closed_total{direction=\"request\",reason=\"invalid_json\"}"
        ),
        1.0,
        "{m}"
    );
    assert_eq!(
        metric(
            &m,
            "deskguard_fail_closed_total{direction=\"response\",reason=\"invalid_json\"}"
        ),
        1.0
    );
    p.shutdown().await;
}

#[tokio::test]
async fn health_readiness_and_upstream_timeout() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    assert_eq!(admin_get(p.admin_addr, "/healthz").await.0, 200);
    let (s, text) = admin_get(p.admin_addr, "/readyz").await;
    assert_eq!(s, 200, "{text}");
    assert!(text.contains(p.shared.engine.load().version()));
    p.shutdown().await;

    // An upstream that answers too slowly gets 504 problem+json.
    let text = config_text(&fx, up, "").replace("[admin]", "response_timeout = \"200ms\"\n[admin]");
    let cfg = deskguard::config::Config::parse("t.toml", &text).unwrap();
    let loader = std::sync::Arc::new(deskguard::proxy::body::LiteralLoader {
        dir: fx.rules.clone(),
    });
    let p = deskguard::proxy::server::start(cfg, loader).await.unwrap();
    let c = client(&fx.certs.ca, false);
    let (s, h, b) = send(&c, "GET", &url(p.listen_addrs[0], "/slow"), &[], body("")).await;
    assert_eq!(s, 504);
    assert_problem(&h, &b, 504, "upstream_timeout");

    // An unreachable upstream: readyz 503.
    p.shutdown().await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let p = start_proxy(&fx, dead, "").await;
    assert_eq!(admin_get(p.admin_addr, "/readyz").await.0, 503);
    p.shutdown().await;
}
