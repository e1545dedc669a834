//! deskguard (real core, shipped rules, TLS listener) in front of the
//! in-process Freshdesk and Zendesk test upstreams (tests/helpdesk_fakes):
//! what arrives upstream is minimised and redacted, tickets are tagged with
//! their legal basis, and what a client reads back is redacted too.

mod helpdesk_fakes;
mod proxy_support;

use helpdesk_fakes::{start, Kind};
use proxy_support::*;
use serde_json::{json, Value};

const PNR: &str = "19811218-9876";
const CARD: &str = "4111 1111 1111 1111";
const PASSWORD: &str = "Hemligt123";
const TEXT: &str =
    "Hej! Mitt personnummer är 19811218-9876, kort 4111 1111 1111 1111, lösenord: Hemligt123";

fn assert_clean(what: &str, text: &str) {
    for pii in [PNR, CARD, PASSWORD] {
        assert!(!text.contains(pii), "{pii} in {what}: {text}");
    }
}

fn json_body(v: &Value) -> deskguard::proxy::upstream::UpBody {
    body(serde_json::to_vec(v).unwrap())
}

const CT: (&str, &str) = ("content-type", "application/json");

/// The legal-basis audit event of a ticket creation: the ticket id is the
/// one the helpdesk returned, and the basis is the one decided on the request.
async fn assert_ticket_audit(
    h: &http::HeaderMap,
    route: &str,
    basis: &str,
    decided_by: &str,
    id: u64,
) {
    let rid = h.get("x-request-id").unwrap().to_str().unwrap();
    let ev = audit_event("legal_basis", rid).await;
    assert_eq!(ev["route"], route, "{ev}");
    assert_eq!(ev["basis"], basis, "{ev}");
    assert_eq!(
        ev["retention"],
        h.get("x-retention-class").unwrap().to_str().unwrap()
    );
    assert_eq!(ev["decided_by"], decided_by, "{ev}");
    assert_eq!(ev["ticket_id"], id.to_string(), "{ev}");
    assert_eq!(ev["status"], 201, "{ev}");
    assert!(
        ev.get("audience").is_none(),
        "no audiences configured: {ev}"
    );
}

/// None of the personal data a test sent is in anything deskguard logged.
fn assert_audit_clean(sent: &[&str]) {
    let log = audit_text();
    assert!(log.contains("\"legal_basis\""), "{log}");
    for pii in [PNR, CARD, PASSWORD].iter().chain(sent) {
        assert!(!log.contains(pii), "{pii} in the audit log:\n{log}");
    }
}

#[tokio::test]
async fn freshdesk_routes_through_deskguard() {
    capture_audit();
    let fx = fixture();
    let desk = start(Kind::Freshdesk).await;
    let p = start_proxy_core(&fx, desk.addr, "profile = \"freshdesk\"\n").await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);

    // --- create ---
    let ticket = json!({
        "email": "pelle@example.test", "name": "Pelle Public", "subject": "Inloggning",
        "description": TEXT, "priority": 1, "status": 2, "tags": ["lms"],
        "twitter_id": "@pelle", "address": "Storgatan 1", "cc_emails": ["kollega@example.test"],
        "custom_fields": {"cf_legal_basis": "consent"},
    });
    let (s, h, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets"),
        &[CT],
        json_body(&ticket),
    )
    .await;
    let text = String::from_utf8_lossy(&b).into_owned();
    assert_eq!(s, 201, "{text}");
    assert_eq!(h.get("x-legal-basis").unwrap(), "legitimate_interest");
    assert_eq!(h.get("x-retention-class").unwrap(), "1y-inactive");
    assert_clean("the client's answer", &text);
    let id = serde_json::from_str::<Value>(&text).unwrap()["id"]
        .as_u64()
        .unwrap();
    assert_ticket_audit(
        &h,
        "freshdesk.ticket.create",
        "legitimate_interest",
        "default",
        id,
    )
    .await;

    let arrived = desk.last();
    assert_eq!(
        (arrived.method.as_str(), arrived.path.as_str()),
        ("POST", "/api/v2/tickets")
    );
    assert_clean("the upstream request", &arrived.text());
    let a = arrived.json();
    for gone in ["twitter_id", "address", "cc_emails"] {
        assert!(a.get(gone).is_none(), "{gone} arrived: {a}");
    }
    assert_eq!(a["email"], "pelle@example.test");
    assert_eq!(
        a["tags"],
        json!([
            "lms",
            "legal-basis:legitimate_interest",
            "retention:1y-inactive"
        ]),
        "{a}"
    );
    assert_eq!(a["custom_fields"]["cf_legal_basis"], "legitimate_interest");
    assert!(a["description"]
        .as_str()
        .unwrap()
        .contains("[REDACTED:se.personnummer]"));

    // Freshdesk's own validation error passes through unchanged in shape.
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets"),
        &[CT],
        json_body(&json!({"subject": "no requester", "description": "x"})),
    )
    .await;
    assert_eq!(s, 400);
    let e: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(e["description"], "Validation failed");
    assert_eq!(e["errors"][0]["code"], "missing_field");

    // --- update ---
    let (s, _, _) = send(
        &c,
        "PUT",
        &url(addr, &format!("/api/v2/tickets/{id}")),
        &[CT],
        json_body(
            &json!({"priority": 3, "mobile": "+46701234567", "subject": "Ring 19811218-9876"}),
        ),
    )
    .await;
    assert_eq!(s, 200);
    let a = desk.last().json();
    assert!(a.get("mobile").is_none(), "{a}");
    assert_eq!(a["priority"], 3);
    assert_clean("the update", &a.to_string());

    // Tags on update: Freshdesk replaces the list (the fake does too, when
    // called directly), so through deskguard "tags" and the basis custom
    // field never reach it: the basis can be neither wiped nor forged.
    let (s, _, b) = send(
        &c,
        "PUT",
        &url(addr, &format!("/api/v2/tickets/{id}")),
        &[CT],
        json_body(&json!({
            "tags": ["only-this", "legal-basis:contract", "retention:relationship+1y"],
            "custom_fields": {"cf_legal_basis": "contract", "cf_product": "LMS"},
            "status": 3,
        })),
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(
        desk.last().json(),
        json!({"custom_fields": {"cf_product": "LMS"}, "status": 3})
    );
    let stored = desk.state.lock().unwrap().tickets[0].clone();
    assert_eq!(
        stored["tags"],
        json!([
            "lms",
            "legal-basis:legitimate_interest",
            "retention:1y-inactive"
        ]),
        "{stored}"
    );
    assert_eq!(
        stored["custom_fields"],
        json!({"cf_legal_basis": "legitimate_interest", "cf_product": "LMS"})
    );
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_fields_dropped_total{route=\"freshdesk.ticket.update\"}"
        ) >= 3.0,
        "{m}"
    );
    // The control: straight to the fake, an update's tags replace the list.
    let (s, v) = helpdesk_fakes::direct(
        desk.addr,
        "PUT",
        &format!("/api/v2/tickets/{id}"),
        &json!({"tags": ["x"]}),
    )
    .await;
    assert_eq!((s, &v["tags"]), (200, &json!(["x"])));
    let (s, v) = helpdesk_fakes::direct(
        desk.addr,
        "PUT",
        &format!("/api/v2/tickets/{id}"),
        &json!({"mobile": "1"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["errors"][0]["code"], "invalid_field");
    desk.state.lock().unwrap().tickets[0]["tags"] = json!([
        "lms",
        "legal-basis:legitimate_interest",
        "retention:1y-inactive"
    ]);

    // --- reply and note ---
    for (route, extra) in [
        (
            "reply",
            json!({"cc_emails": ["kollega@example.test"], "bcc_emails": ["x@example.test"]}),
        ),
        (
            "notes",
            json!({"private": true, "notify_emails": ["chef@example.test"]}),
        ),
    ] {
        let mut m = json!({"body": format!("<p>{TEXT}</p>")});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        let (s, _, b) = send(
            &c,
            "POST",
            &url(addr, &format!("/api/v2/tickets/{id}/{route}")),
            &[CT],
            json_body(&m),
        )
        .await;
        assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
        let a = desk.last().json();
        assert_clean(route, &a.to_string());
        for gone in ["cc_emails", "bcc_emails", "notify_emails"] {
            assert!(a.get(gone).is_none(), "{gone} arrived with {route}: {a}");
        }
        assert!(a["body"].as_str().unwrap().starts_with("<p>"), "{a}");
    }

    // --- reading back: data stored upstream by others is redacted too ---
    {
        let mut st = desk.state.lock().unwrap();
        st.comments.push((
            id,
            json!({"id": 1, "body": format!("<div>{TEXT}</div>"), "body_text": TEXT,
                   "to_emails": ["pelle@example.test"], "cc_emails": ["kollega@example.test"],
                   "private": false, "incoming": true, "ticket_id": id, "created_at": "2026-01-15T09:30:00Z"}),
        ));
        st.tickets[0]["description"] = json!(TEXT);
    }
    let (s, _, b) = send(
        &c,
        "GET",
        &url(addr, &format!("/api/v2/tickets/{id}/conversations")),
        &[],
        body(""),
    )
    .await;
    assert_eq!(s, 200);
    let text = String::from_utf8_lossy(&b).into_owned();
    assert_clean("conversations", &text);
    let convs: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(convs.as_array().unwrap().len(), 3, "{convs}");
    assert!(convs[2].get("to_emails").is_none() && convs[2].get("cc_emails").is_none());

    for path in [
        format!("/api/v2/tickets/{id}"),
        "/api/v2/tickets".to_string(),
        "/api/v2/search/tickets?query=%22priority:3%22".to_string(),
    ] {
        let (s, _, b) = send(&c, "GET", &url(addr, &path), &[], body("")).await;
        assert_eq!(s, 200, "{path}");
        assert_clean(&path, &String::from_utf8_lossy(&b));
    }

    // --- contacts ---
    let (s, _, _) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/contacts"),
        &[CT],
        json_body(
            &json!({"name": "Pelle Public", "email": "pelle@example.test",
                          "mobile": "+46701234567", "address": "Storgatan 1",
                          "twitter_id": "@pelle", "phone": "+4681234567"}),
        ),
    )
    .await;
    assert_eq!(s, 201);
    let a = desk.last().json();
    for gone in ["mobile", "address", "twitter_id"] {
        assert!(a.get(gone).is_none(), "{gone} arrived: {a}");
    }
    assert_eq!(a["name"], "Pelle Public");
    assert_audit_clean(&[
        "pelle@example.test",
        "Pelle Public",
        "@pelle",
        "Storgatan",
        "kollega@example.test",
        "+46701234567",
    ]);
    p.shutdown().await;
}

#[tokio::test]
async fn zendesk_routes_through_deskguard() {
    capture_audit();
    let fx = fixture();
    let desk = start(Kind::Zendesk).await;
    let p = start_proxy_core(&fx, desk.addr, "profile = \"zendesk\"\n").await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);

    let mut ids = Vec::new();
    for (path, requester, basis, route, decided_by) in [
        (
            "/api/v2/tickets.json",
            "anna.svensson@kund.example",
            "contract",
            "zendesk.ticket.create.json",
            "registry:email",
        ),
        (
            "/api/v2/tickets",
            "pelle@example.test",
            "legitimate_interest",
            "zendesk.ticket.create",
            "default",
        ),
    ] {
        let ticket = json!({"ticket": {
            "subject": "Inloggning",
            "comment": {"body": TEXT, "public": true},
            "requester": {"name": "Anna Svensson", "email": requester},
            "tags": ["lms"],
            "collaborators": ["kollega@example.test"],
            "email_ccs": [{"user_email": "chef@example.test"}],
            "custom_fields": [{"id": 360000000001u64, "value": "consent"}],
        }});
        let (s, h, b) = send(&c, "POST", &url(addr, path), &[CT], json_body(&ticket)).await;
        let text = String::from_utf8_lossy(&b).into_owned();
        assert_eq!(s, 201, "{path}: {text}");
        assert_eq!(h.get("x-legal-basis").unwrap(), basis, "{path}");
        assert_clean("the create answer", &text);
        assert!(
            !text.contains("81.2.69.142") && !text.contains("Stockholm"),
            "{text}"
        );
        let id = serde_json::from_str::<Value>(&text).unwrap()["ticket"]["id"]
            .as_u64()
            .unwrap();
        assert_ticket_audit(&h, route, basis, decided_by, id).await;
        ids.push(id);

        let arrived = desk.last();
        assert_eq!(arrived.path, path);
        assert_clean("the upstream request", &arrived.text());
        let t = &arrived.json()["ticket"];
        assert!(
            t.get("collaborators").is_none() && t.get("email_ccs").is_none(),
            "{t}"
        );
        assert_eq!(t["requester"]["email"], requester);
        let tags: Vec<&str> = t["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(tags.contains(&"lms"), "existing tags are kept: {tags:?}");
        assert!(
            tags.contains(&format!("legal-basis:{basis}").as_str()),
            "{tags:?}"
        );
        let cfs = t["custom_fields"].as_array().unwrap();
        let lb: Vec<&Value> = cfs
            .iter()
            .filter(|f| f["id"] == json!(360000000001u64))
            .collect();
        assert_eq!(lb.len(), 1, "one legal-basis field: {cfs:?}");
        assert_eq!(lb[0]["value"], basis);
    }

    // Zendesk's validation error (no comment) passes through.
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets.json"),
        &[CT],
        json_body(&json!({"ticket": {"subject": "x", "requester": {"name": "A", "email": "a@example.test"}}})),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(
        serde_json::from_slice::<Value>(&b).unwrap()["error"],
        "RecordInvalid"
    );

    // --- comment metadata never reaches the reader ---
    {
        // Upstream data written by others (e-mail channel) is unredacted.
        let mut st = desk.state.lock().unwrap();
        let c0 = st.comments[0].1.clone();
        let mut raw = c0.clone();
        raw["id"] = json!(999);
        raw["body"] = json!(TEXT);
        raw["plain_body"] = json!(TEXT);
        raw["html_body"] = json!(format!("<p>{TEXT}</p>"));
        st.comments.push((ids[0], raw));
        st.tickets[0]["description"] = json!(TEXT);
    }
    for suffix in ["", ".json"] {
        let (s, _, b) = send(
            &c,
            "GET",
            &url(
                addr,
                &format!("/api/v2/tickets/{}/comments{suffix}", ids[0]),
            ),
            &[],
            body(""),
        )
        .await;
        let text = String::from_utf8_lossy(&b).into_owned();
        assert_eq!(s, 200, "{text}");
        assert_clean("comments", &text);
        for meta in ["metadata", "81.2.69.142", "Stockholm", "Mozilla", "59.3294"] {
            assert!(!text.contains(meta), "{meta} reached the reader: {text}");
        }
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["comments"].as_array().unwrap().len(), 2);
    }
    for path in [
        format!("/api/v2/tickets/{}.json", ids[0]),
        format!("/api/v2/tickets/{}", ids[0]),
        "/api/v2/tickets.json".to_string(),
        "/api/v2/search.json?query=type%3Aticket".to_string(),
    ] {
        let (s, _, b) = send(&c, "GET", &url(addr, &path), &[], body("")).await;
        let text = String::from_utf8_lossy(&b).into_owned();
        assert_eq!(s, 200, "{path}: {text}");
        assert_clean(&path, &text);
    }

    // --- update: tags replace upstream; the comment is redacted ---
    let (s, _, _) = send(
        &c,
        "PUT",
        &url(addr, &format!("/api/v2/tickets/{}.json", ids[1])),
        &[CT],
        json_body(
            &json!({"ticket": {"status": "open", "comment": {"body": TEXT, "public": false}}}),
        ),
    )
    .await;
    assert_eq!(s, 200);
    assert_clean("the update", &desk.last().text());

    // Tags on update: "tags" (replace) and "remove_tags" would wipe the
    // legal-basis tags; through deskguard an update can only add tags.
    let (s, _, b) = send(
        &c,
        "PUT",
        &url(addr, &format!("/api/v2/tickets/{}", ids[1])),
        &[CT],
        json_body(&json!({"ticket": {
            "tags": ["only-this"],
            "additional_tags": ["vip", "legal-basis:contract", "retention:relationship+1y"],
            "remove_tags": ["legal-basis:legitimate_interest", "retention:1y-inactive"],
            "custom_fields": [{"id": 360000000001u64, "value": "contract"}, {"id": 5, "value": "x"}],
        }})),
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    let sent = desk.last().json();
    assert_eq!(
        sent["ticket"],
        json!({"additional_tags": ["vip"], "custom_fields": [{"id": 5, "value": "x"}]}),
        "{sent}"
    );
    let cfs = desk.state.lock().unwrap().tickets[1]["custom_fields"].clone();
    assert!(
        cfs.as_array()
            .unwrap()
            .contains(&json!({"id": 360000000001u64, "value": "legitimate_interest"})),
        "the basis set at creation stays: {cfs}"
    );
    let stored = desk.state.lock().unwrap().tickets[1]["tags"].clone();
    assert_eq!(
        stored,
        json!([
            "lms",
            "legal-basis:legitimate_interest",
            "retention:1y-inactive",
            "vip"
        ])
    );
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_fields_dropped_total{route=\"zendesk.ticket.update\"}"
        ) >= 5.0,
        "tags, remove_tags and three forged values: {m}"
    );
    assert_audit_clean(&[
        "pelle@example.test",
        "anna.svensson@kund.example",
        "Anna Svensson",
        "kollega@example.test",
        "chef@example.test",
        "81.2.69.142",
    ]);
    p.shutdown().await;
}

#[tokio::test]
async fn freshdesk_multipart_ticket_creation() {
    let fx = fixture();
    let desk = start(Kind::Freshdesk).await;
    let p = start_proxy_core(&fx, desk.addr, "profile = \"freshdesk\"\n").await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);
    let ct_value = format!("multipart/form-data; boundary={BOUNDARY}");
    let ct = ("content-type", ct_value.as_str());
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0u8..=255).cycle().take(70_000))
        .collect();

    let body_bytes = form(&[
        ("email", None, "text/plain", b"anna.svensson@kund.example"),
        ("subject", None, "text/plain", b"Inloggning"),
        (
            "description",
            None,
            "text/html",
            format!("<p>{TEXT}</p>").as_bytes(),
        ),
        ("twitter_id", None, "text/plain", b"@anna"),
        ("tags[]", None, "text/plain", b"lms"),
        (
            "custom_fields[cf_legal_basis]",
            None,
            "text/plain",
            b"consent",
        ),
        ("attachments[]", Some("screen.png"), "image/png", &png),
        (
            "attachments[]",
            Some("logg.txt"),
            "text/plain",
            TEXT.as_bytes(),
        ),
    ]);
    // Streamed in small frames: the core sees arbitrary chunk boundaries.
    let frames: Vec<&'static [u8]> = Box::leak(body_bytes.into_boxed_slice())
        .chunks(997)
        .collect();
    let (s, h, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets"),
        &[ct],
        chunked(&frames),
    )
    .await;
    let text = String::from_utf8_lossy(&b).into_owned();
    assert_eq!(s, 201, "{text}");
    assert_eq!(h.get("x-legal-basis").unwrap(), "contract");
    assert_eq!(h.get("x-retention-class").unwrap(), "relationship+1y");
    assert_clean("the client's answer", &text);

    let arrived = desk.last();
    assert_clean("the upstream request", &arrived.text());
    let a =
        helpdesk_fakes::form_to_json(&arrived.body, BOUNDARY).expect("valid multipart upstream");
    assert!(a.get("twitter_id").is_none(), "{a}");
    assert_eq!(a["email"], "anna.svensson@kund.example");
    assert_eq!(
        a["tags"],
        json!(["lms", "legal-basis:contract", "retention:relationship+1y"])
    );
    assert_eq!(a["custom_fields"]["cf_legal_basis"], "contract");
    assert!(a["description"]
        .as_str()
        .unwrap()
        .contains("[REDACTED:se.personnummer]"));
    let files = a["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert_eq!(
        files[0]["size"],
        png.len(),
        "the image passes byte for byte"
    );
    let start = find(&arrived.body, b"\x89PNG").unwrap();
    assert_eq!(&arrived.body[start..start + png.len()], png.as_slice());
    assert!(files[1]["content"]
        .as_str()
        .unwrap()
        .contains("[REDACTED:se.personnummer]"));

    // Malformed (no closing boundary): refused before the helpdesk sees it.
    let before = desk.received().len();
    let mut bad = form(&[("email", None, "text/plain", b"a@example.test")]);
    bad.truncate(bad.len() - 10);
    let (s, h, b) = send(&c, "POST", &url(addr, "/api/v2/tickets"), &[ct], body(bad)).await;
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&b));
    assert_eq!(h.get("content-type").unwrap(), "application/problem+json");
    assert!(String::from_utf8_lossy(&b).contains("invalid_multipart"));
    // No boundary parameter.
    let (s, _, _) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets"),
        &[("content-type", "multipart/form-data")],
        body(form(&[("email", None, "text/plain", b"a@example.test")])),
    )
    .await;
    assert_eq!(s, 422);
    // A route whose policy says nothing about attachments refuses binary
    // files (attachments = "refuse" is the default); here the route has no
    // policy at all (Freshdesk's forward endpoint).
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets/101/forward"),
        &[ct],
        body(form(&[
            ("body", None, "text/plain", b"Hej"),
            (
                "attachments[]",
                Some("x.png"),
                "image/png",
                b"\x89PNG\r\n\x1a\n",
            ),
        ])),
    )
    .await;
    assert_eq!(s, 422);
    assert!(String::from_utf8_lossy(&b).contains("attachment_refused"));
    assert_eq!(
        desk.received().len(),
        before,
        "nothing refused reached the helpdesk"
    );
    // Replies drop attachments by policy: the part is removed whole.
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets/101/reply"),
        &[ct],
        body(form(&[
            ("body", None, "text/plain", TEXT.as_bytes()),
            (
                "attachments[]",
                Some("x.png"),
                "image/png",
                b"\x89PNG\r\n\x1a\n",
            ),
        ])),
    )
    .await;
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
    let arrived = desk.last();
    assert_clean("the reply", &arrived.text());
    assert!(!arrived.text().contains("PNG"), "{}", arrived.text());
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    for reason in ["invalid_multipart", "attachment_refused"] {
        assert!(
            metric(
                &m,
                &format!(
                    "deskguard_fail_closed_total{{direction=\"request\",reason=\"{reason}\"}}"
                )
            ) >= 1.0,
            "{reason} counted: {m}"
        );
    }
    p.shutdown().await;
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// Creates a Freshdesk ticket through deskguard; returns its id.
async fn freshdesk_ticket(c: &TestClient, addr: std::net::SocketAddr, email: &str) -> u64 {
    let (s, _, b) = send(
        c,
        "POST",
        &url(addr, "/api/v2/tickets"),
        &[CT],
        json_body(
            &json!({"email": email, "subject": "Kurs", "description": "Hej", "tags": ["lms"]}),
        ),
    )
    .await;
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
    serde_json::from_slice::<Value>(&b).unwrap()["id"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn freshdesk_bulk_update_cannot_forge_or_wipe_the_basis() {
    let fx = fixture();
    let desk = start(Kind::Freshdesk).await;
    let p = start_proxy_core(&fx, desk.addr, "profile = \"freshdesk\"\n").await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);
    let a = freshdesk_ticket(&c, addr, "anna@example.test").await;
    let b = freshdesk_ticket(&c, addr, "bo@example.test").await;
    let basis_tags = json!([
        "lms",
        "legal-basis:legitimate_interest",
        "retention:1y-inactive"
    ]);

    let (s, _, body) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets/bulk_update"),
        &[CT],
        json_body(&json!({"bulk_action": {
            "ids": [a, b],
            "properties": {
                "status": 4, "mobile": "+46701234567",
                "tags": ["legal-basis:contract", "retention:relationship+1y"],
                "custom_fields": {"cf_legal_basis": "contract", "cf_product": format!("LMS {PNR}")},
            },
            "reply": {"body": format!("<p>{TEXT}</p>"), "cc_emails": ["kollega@example.test"]},
        }})),
    )
    .await;
    assert_eq!(s, 202, "{}", String::from_utf8_lossy(&body));
    assert!(serde_json::from_slice::<Value>(&body).unwrap()["job_id"].is_string());
    let arrived = desk.last();
    assert_eq!(arrived.path, "/api/v2/tickets/bulk_update");
    assert_clean("the bulk update", &arrived.text());
    let v = arrived.json();
    assert_eq!(
        v["bulk_action"]["properties"],
        json!({"status": 4, "custom_fields": {"cf_product": "LMS [REDACTED:se.personnummer]"}}),
        "{v}"
    );
    assert_eq!(v["bulk_action"]["ids"], json!([a, b]));
    assert!(v["bulk_action"]["reply"].get("cc_emails").is_none(), "{v}");
    {
        let st = desk.state.lock().unwrap();
        for t in &st.tickets {
            assert_eq!(t["tags"], basis_tags, "{t}");
            assert_eq!(t["custom_fields"]["cf_legal_basis"], "legitimate_interest");
            assert_eq!(t["status"], 4, "{t}");
        }
    }
    // The unwrapped spelling is minimised the same way (the fake, like
    // Freshdesk's documentation, only knows bulk_action: 400).
    let (s, _, _) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets/bulk_update"),
        &[CT],
        json_body(&json!({"ids": [a], "properties": {"status": 5, "tags": []}})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        desk.last().json(),
        json!({"ids": [a], "properties": {"status": 5}})
    );
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_fields_dropped_total{route=\"freshdesk.ticket.bulk_update\"}"
        ) >= 5.0,
        "{m}"
    );
    // The control: straight to the fake, a bulk update's tags replace the lists.
    let (s, _) = helpdesk_fakes::direct(
        desk.addr,
        "POST",
        "/api/v2/tickets/bulk_update",
        &json!({"bulk_action": {"ids": [a, b], "properties": {"tags": ["x"]}}}),
    )
    .await;
    assert_eq!(s, 202);
    assert!(desk
        .state
        .lock()
        .unwrap()
        .tickets
        .iter()
        .all(|t| t["tags"] == json!(["x"])));
    p.shutdown().await;
}

#[tokio::test]
async fn zendesk_tag_endpoints_cannot_forge_or_wipe_the_basis() {
    let fx = fixture();
    let desk = start(Kind::Zendesk).await;
    let p = start_proxy_core(&fx, desk.addr, "profile = \"zendesk\"\n").await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, "/api/v2/tickets.json"),
        &[CT],
        json_body(&json!({"ticket": {
            "subject": "Kurs", "comment": {"body": "Hej"}, "tags": ["lms"],
            "requester": {"name": "Pelle Public", "email": "pelle@example.test"},
        }})),
    )
    .await;
    assert_eq!(s, 201, "{}", String::from_utf8_lossy(&b));
    let id = serde_json::from_slice::<Value>(&b).unwrap()["ticket"]["id"]
        .as_u64()
        .unwrap();
    let basis = ["legal-basis:legitimate_interest", "retention:1y-inactive"];
    let stored_tags = || desk.state.lock().unwrap().tickets[0]["tags"].clone();
    assert_eq!(stored_tags(), json!(["lms", basis[0], basis[1]]));

    // POST adds: a forged basis is removed, other tags are added.
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, &format!("/api/v2/tickets/{id}/tags.json")),
        &[CT],
        json_body(
            &json!({"tags": ["vip", "Legal-Basis:contract", "retention:relationship+1y"],
                          "safe_update": true, "note": "x"}),
        ),
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    assert_eq!(
        desk.last().json(),
        json!({"tags": ["vip"], "safe_update": true})
    );
    assert_eq!(stored_tags(), json!(["lms", basis[0], basis[1], "vip"]));

    // DELETE removes: the basis tags are not removed (also as a string).
    for tags in [
        json!(["vip", basis[0], basis[1]]),
        json!(format!("lms {} {}", basis[0], basis[1])),
    ] {
        let (s, _, b) = send(
            &c,
            "DELETE",
            &url(addr, &format!("/api/v2/tickets/{id}/tags")),
            &[CT],
            json_body(&json!({ "tags": tags })),
        )
        .await;
        assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    }
    assert_eq!(desk.last().json(), json!({"tags": "lms"}));
    assert_eq!(stored_tags(), json!([basis[0], basis[1]]));

    // PUT replaces the list: refused whatever the body (even none), and
    // nothing reaches Zendesk.
    let before = desk.received().len();
    for (path, b) in [
        (
            format!("/api/v2/tickets/{id}/tags.json"),
            json_body(&json!({"tags": ["x"]})),
        ),
        (format!("/api/v2/tickets/{id}/tags"), json_body(&json!({}))),
        (format!("/api/v2/tickets/{id}/tags"), body("")),
    ] {
        let (s, h, b) = send(&c, "PUT", &url(addr, &path), &[CT], b).await;
        assert_eq!(s, 422, "{path}: {}", String::from_utf8_lossy(&b));
        assert_eq!(h.get("content-type").unwrap(), "application/problem+json");
        let e: Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(e["reason"], "route_refused", "{e}");
    }
    assert_eq!(desk.received().len(), before);
    assert_eq!(stored_tags(), json!([basis[0], basis[1]]));

    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_fail_closed_total{direction=\"request\",reason=\"route_refused\"}"
        ) >= 3.0,
        "{m}"
    );
    for route in ["zendesk.ticket.tags.add.json", "zendesk.ticket.tags.remove"] {
        assert!(
            metric(
                &m,
                &format!("deskguard_fields_dropped_total{{route=\"{route}\"}}")
            ) >= 2.0,
            "{route}: {m}"
        );
    }

    // The control: straight to the fake, PUT replaces and DELETE removes.
    let (s, v) = helpdesk_fakes::direct(
        desk.addr,
        "DELETE",
        &format!("/api/v2/tickets/{id}/tags.json"),
        &json!({"tags": [basis[0]]}),
    )
    .await;
    assert_eq!((s, &v["tags"]), (200, &json!([basis[1]])));
    let (s, v) = helpdesk_fakes::direct(
        desk.addr,
        "PUT",
        &format!("/api/v2/tickets/{id}/tags"),
        &json!({"tags": ["x"]}),
    )
    .await;
    assert_eq!((s, &v["tags"]), (200, &json!(["x"])));
    p.shutdown().await;
}
