//! TLS behaviour: certificate hot reload without dropping connections,
//! protocol versions, and mTLS refusing clients without a certificate.

mod proxy_support;
use proxy_support::*;

#[tokio::test]
async fn certificate_reload_keeps_existing_connections() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let addr = p.listen_addrs[0];
    let old_ca = fx.dir.path().join("old-ca.pem");
    std::fs::copy(&fx.certs.ca, &old_ca).unwrap();
    let old_client = client(&old_ca, false);
    let (s, _, _) = send(&old_client, "GET", &url(addr, "/secret"), &[], body("")).await;
    assert_eq!(s, 200);

    // New PKI on disk, then the SIGHUP path.
    for f in ["ca.pem", "server.pem", "server-key.pem"] {
        std::fs::remove_file(fx.dir.path().join("certs").join(f)).unwrap();
    }
    deskguard::proxy::demo::ensure_dev_certs(&fx.dir.path().join("certs")).unwrap();
    deskguard::proxy::reload::reload_certs(&p.shared);

    // New handshakes get the new certificate...
    let new_client = client(&fx.certs.ca, false);
    let (s, _, _) = send(&new_client, "GET", &url(addr, "/secret"), &[], body("")).await;
    assert_eq!(s, 200);
    let fresh_old = client(&old_ca, false);
    let req = http::Request::get(url(addr, "/secret"))
        .body(body(""))
        .unwrap();
    assert!(
        fresh_old.request(req).await.is_err(),
        "old CA still accepted on a new connection"
    );
    // ...while the connection opened before the reload keeps working.
    let (s, _, _) = send(&old_client, "GET", &url(addr, "/secret"), &[], body("")).await;
    assert_eq!(s, 200);
    p.shutdown().await;
}

#[tokio::test]
async fn mtls_refuses_clients_without_certificate() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let text = config_text(&fx, up, "").replace(
        "[upstream]",
        &format!(
            "client_ca = {:?}\n[upstream]",
            fx.certs.ca.display().to_string()
        ),
    );
    let cfg = deskguard::config::Config::parse("t.toml", &text).unwrap();
    let loader = std::sync::Arc::new(deskguard::proxy::body::LiteralLoader {
        dir: fx.rules.clone(),
    });
    let p = deskguard::proxy::server::start(cfg, loader).await.unwrap();
    let c = client(&fx.certs.ca, false);
    let req = http::Request::get(url(p.listen_addrs[0], "/secret"))
        .body(body(""))
        .unwrap();
    assert!(c.request(req).await.is_err());
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(&m, "deskguard_tls_handshake_failures_total") >= 1.0,
        "{m}"
    );
    p.shutdown().await;
}

#[tokio::test]
async fn https_upstream_with_ca_bundle_and_sni() {
    let fx = fixture();
    let (up, seen) = start_upstream_tls(&fx).await;
    let text = config_text(&fx, up, "").replace(
        &format!("url = \"http://{up}\""),
        &format!(
            "url = \"https://127.0.0.1:{}\"\nca_bundle = {:?}\nsni = \"localhost\"",
            up.port(),
            fx.certs.ca.display().to_string()
        ),
    );
    let cfg = deskguard::config::Config::parse("t.toml", &text).unwrap();
    let loader = std::sync::Arc::new(deskguard::proxy::body::LiteralLoader {
        dir: fx.rules.clone(),
    });
    let p = deskguard::proxy::server::start(cfg, loader).await.unwrap();
    let c = client(&fx.certs.ca, false);
    let (s, _, b) = send(
        &c,
        "POST",
        &url(p.listen_addrs[0], "/echo"),
        &[("content-type", "text/plain")],
        body("over TLS: SECRET"),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(b, b"over TLS: [X]");
    assert_eq!(seen.requests.load(std::sync::atomic::Ordering::SeqCst), 1);
    p.shutdown().await;

    // An upstream whose certificate is not trusted: 502, never plaintext fallback.
    let text = config_text(&fx, up, "").replace(
        &format!("url = \"http://{up}\""),
        &format!("url = \"https://127.0.0.1:{}\"", up.port()),
    );
    let cfg = deskguard::config::Config::parse("t.toml", &text).unwrap();
    let loader = std::sync::Arc::new(deskguard::proxy::body::LiteralLoader {
        dir: fx.rules.clone(),
    });
    let p = deskguard::proxy::server::start(cfg, loader).await.unwrap();
    let (s, _, _) = send(&c, "GET", &url(p.listen_addrs[0], "/secret"), &[], body("")).await;
    assert_eq!(s, 502);
    p.shutdown().await;
}

#[tokio::test]
async fn certificate_expiry_gauge_follows_reloads() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let label = format!(
        "deskguard_tls_cert_not_after_seconds{{listener=\"{}\"}}",
        p.shared.cfg.listeners[0].addr
    );
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    assert!(metric(&m, &label) > now, "dev certificate expiry: {m}");

    // A renewed certificate with a known notAfter, then the SIGHUP path.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_after = rcgen::date_time_ymd(2031, 5, 6);
    let cert = params.self_signed(&key).unwrap();
    std::fs::write(&fx.certs.cert, cert.pem()).unwrap();
    std::fs::write(&fx.certs.key, key.serialize_pem()).unwrap();
    deskguard::proxy::reload::reload_certs(&p.shared);
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    // 2031-05-06T00:00:00Z
    assert_eq!(metric(&m, &label), 1_935_792_000.0, "{m}");
    p.shutdown().await;
}
