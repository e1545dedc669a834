//! The proxy with the real core and the shipped rules, in front of the demo
//! Freshdesk-like helpdesk, over TLS: personal data is redacted on the way
//! in, minimisation drops unlisted fields, metrics count per detector, and
//! invalid bodies fail closed.

mod proxy_support;
use proxy_support::*;

const TICKET: &str = r#"{"email":"anna.svensson@example.se","name":"Anna Svensson","subject":"Inloggning fungerar inte","description":"Mitt personnummer är 19811218-9876, kort 4111 1111 1111 1111, lösenord: Hemligt123","priority":1,"status":2,"twitter_id":"@anna","address":"Storgatan 1"}"#;

#[tokio::test]
async fn freshdesk_ticket_is_redacted_and_minimised() {
    let fx = fixture();
    let desk = deskguard::proxy::demo::start_helpdesk("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let p = start_proxy_core(&fx, desk, "").await;
    let addr = p.listen_addrs[0];
    for h2 in [false, true] {
        let c = client(&fx.certs.ca, h2);
        let (s, h, b) = send(
            &c,
            "POST",
            &url(addr, "/api/v2/tickets"),
            &[("content-type", "application/json")],
            body(TICKET),
        )
        .await;
        let text = String::from_utf8(b).unwrap();
        assert_eq!(s, 201, "{text}");
        // A member of the public: legitimate interest, on the response head.
        assert_eq!(h.get("x-legal-basis").unwrap(), "legitimate_interest");
        assert_eq!(h.get("x-retention-class").unwrap(), "1y-inactive");
        for pii in [
            "19811218-9876",
            "4111 1111 1111 1111",
            "Hemligt123",
            "@anna",
            "Storgatan",
        ] {
            assert!(!text.contains(pii), "{pii} leaked: {text}");
        }
        assert!(
            text.contains("1111"),
            "card keeps its last four digits: {text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert!(v.get("twitter_id").is_none() && v.get("address").is_none());

        // Read back through the response policy.
        let id = v["id"].as_u64().unwrap();
        let (s, h, b) = send(
            &c,
            "GET",
            &url(addr, &format!("/api/v2/tickets/{id}")),
            &[],
            body(""),
        )
        .await;
        assert_eq!(s, 200);
        assert!(
            h.get("x-legal-basis").is_none(),
            "only ticket creation decides"
        );
        assert!(!String::from_utf8_lossy(&b).contains("19811218-9876"));
    }

    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_redactions_total{detector=\"se.personnummer\",direction=\"request\"}"
        ) >= 2.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "deskguard_redactions_total{detector=\"payment.card\",direction=\"request\"}"
        ) >= 2.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "deskguard_fields_dropped_total{route=\"freshdesk.ticket.create\"}"
        ) >= 2.0,
        "{m}"
    );
    assert!(m.contains("route=\"freshdesk.ticket.create\""), "{m}");
    assert!(m.contains("deskguard_legal_basis_total{"), "{m}");
    assert!(!m.contains("19811218"), "metrics must never carry values");
    p.shutdown().await;
}

#[tokio::test]
async fn invalid_json_fails_closed_with_the_core() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let p = start_proxy_core(&fx, up, "").await;
    let c = client(&fx.certs.ca, false);
    let (s, h, b) = send(
        &c,
        "POST",
        &url(p.listen_addrs[0], "/api/v2/tickets"),
        &[("content-type", "application/json")],
        body(r#"{"description": "19811218-9876" "#),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(h.get("content-type").unwrap(), "application/problem+json");
    let text = String::from_utf8(b).unwrap();
    assert!(!text.contains("19811218"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(v["reason"].is_string());
    // A one-frame body is inspected completely before connecting upstream.
    assert_eq!(seen.requests.load(std::sync::atomic::Ordering::SeqCst), 0);
    p.shutdown().await;
}

#[tokio::test]
async fn audience_from_credentials_selects_its_policy() {
    use sha2::Digest;
    let fx = fixture();
    let desk = deskguard::proxy::demo::start_helpdesk("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let hash = |a: &str| hex::encode(sha2::Sha256::digest(a.as_bytes()));
    let extra = format!(
        "[[audience]]\nname = \"reporting\"\nauthorization_sha256 = [\"{}\"]\n\
         [[audience]]\nname = \"agent\"\nauthorization_sha256 = [\"{}\"]\n",
        hash("Basic cmVwb3J0aW5nOlg="),
        hash("Basic YWdlbnQ6WA=="),
    );
    let p = start_proxy_core(&fx, desk, &extra).await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets"),
        &[
            ("content-type", "application/json"),
            ("authorization", "Basic YWdlbnQ6WA=="),
        ],
        body(TICKET),
    )
    .await;
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
    let read = |headers: &'static [(&'static str, &'static str)]| {
        let c = c.clone();
        async move {
            let (s, _, b) = send(
                &c,
                "GET",
                &url(addr, "/api/v2/tickets/1"),
                headers,
                body(""),
            )
            .await;
            assert_eq!(s, 200);
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()
        }
    };
    let agent = read(&[("authorization", "Basic YWdlbnQ6WA==")]).await;
    assert!(agent.get("description").is_some(), "{agent}");
    // No or unknown credentials: the strictest policy.
    for creds in [&[][..], &[("authorization", "Basic Z3Vlc3Q6WA==")][..]] {
        let unknown = read(creds).await;
        assert!(unknown.get("description").is_none(), "{unknown}");
        assert!(unknown.get("email").is_none(), "{unknown}");
        assert!(unknown.get("id").is_some(), "{unknown}");
    }
    let reporting = read(&[("authorization", "Basic cmVwb3J0aW5nOlg=")]).await;
    assert!(reporting.get("description").is_none(), "{reporting}");
    p.shutdown().await;
}

#[tokio::test]
async fn ticket_creation_answers_with_the_legal_basis_headers() {
    let fx = fixture();
    let desk = deskguard::proxy::demo::start_helpdesk("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let p = start_proxy_core(&fx, desk, "").await;
    let c = client(&fx.certs.ca, false);
    // A registry contact (by domain): contract; a basis sent by the client
    // (headers or body) is never trusted.
    let (s, h, b) = send(
        &c,
        "POST",
        &url(p.listen_addrs[0], "/api/v2/tickets"),
        &[
            ("content-type", "application/json"),
            ("x-legal-basis", "consent"),
        ],
        body(
            r#"{"email":"bo@larosate.example","subject":"Kurs","description":"hej","custom_fields":{"cf_legal_basis":"consent"}}"#,
        ),
    )
    .await;
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
    assert_eq!(h.get("x-legal-basis").unwrap(), "contract");
    assert_eq!(h.get("x-retention-class").unwrap(), "relationship+1y");
    assert_eq!(h.get_all("x-legal-basis").iter().count(), 1);
    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(v["custom_fields"]["cf_legal_basis"], "contract", "{v}");
    p.shutdown().await;
}
