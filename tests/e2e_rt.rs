//! End to end against a REAL Request Tracker 5 (tests/support/rt.rs):
//! deskguard (in-process, shipped rules, profile `rt`, TLS listener) in front
//! of RT on 127.0.0.1. Tickets are created THROUGH deskguard and read back
//! STRAIGHT FROM RT to prove what was stored, then read through deskguard as
//! each audience. Needs `sudo scripts/rt-setup`; with DESKGUARD_SKIP_RT=1 and
//! no RT installed it is skipped loudly.
//!
//! Audiences: RT's REST2 matches the `Basic` scheme case-insensitively, so one
//! RT account (the harness's test admin) can stand for three deskguard
//! audiences by the exact Authorization header value deskguard hashes.

mod proxy_support;
mod support;

use std::net::SocketAddr;

use proxy_support::*;
use serde_json::{json, Value};
use support::rt::{cf_values, RtServer};

/// root:password, the harness's RT test admin.
const AGENT: &str = "Basic cm9vdDpwYXNzd29yZA==";
const REPORTING: &str = "basic cm9vdDpwYXNzd29yZA==";
/// Valid for RT, but configured for no audience in deskguard.
const UNKNOWN: &str = "BASIC cm9vdDpwYXNzd29yZA==";

const PII: [&str; 3] = ["19811218-9876", "4111 1111 1111 1111", "Hemligt123"];

fn sha(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn ticket(requestor: &str) -> Value {
    json!({
        "Queue": "General",
        "Requestor": requestor,
        "Subject": "Inloggning, personnummer 19811218-9876",
        "Content": "Hej! Mitt personnummer är 19811218-9876, kort 4111 1111 1111 1111, lösenord: Hemligt123",
        "ContentType": "text/plain",
        "Cc": "kollega@example.test",
        "AdminCc": "chef@example.test",
        // A basis sent by the client is never trusted.
        "CustomFields": {"Legal Basis": "consent"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rt_tickets_through_deskguard() {
    let Some(rt) = RtServer::start_or_skip("rt_tickets_through_deskguard") else {
        return;
    };
    capture_audit();
    let direct = rt.client();
    let cf = direct
        .ensure_custom_field("Legal Basis", "General")
        .expect("ensure custom field");
    // It applies to General (queue 1) and sticks.
    let queue_cfs = direct.collection("/queue/1/customfields", "").unwrap();
    assert!(
        queue_cfs.iter().any(|c| c["id"] == json!(cf.to_string())),
        "{queue_cfs:?}"
    );

    let fx = fixture();
    let upstream: SocketAddr = rt.base.trim_start_matches("http://").parse().unwrap();
    let extra = format!(
        "profile = \"rt\"\n\
         [[audience]]\nname = \"agent\"\nauthorization_sha256 = [\"{}\"]\n\
         [[audience]]\nname = \"reporting\"\nauthorization_sha256 = [\"{}\"]\n",
        sha(AGENT),
        sha(REPORTING)
    );
    let p = start_proxy_core(&fx, upstream, &extra).await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);

    let cases = [
        (
            "Anna Svensson <anna.svensson@kund.example>",
            "contract",
            "relationship+1y",
        ),
        (
            "Bo Lärare <bo@larosate.example>",
            "contract",
            "relationship+1y",
        ),
        (
            "Pelle Public <pelle@example.test>",
            "legitimate_interest",
            "1y-inactive",
        ),
    ];
    let mut ids = Vec::new();
    for (requestor, basis, retention) in cases {
        let (s, h, b) = send(
            &c,
            "POST",
            &url(addr, "/REST/2.0/ticket"),
            &[
                ("content-type", "application/json"),
                ("authorization", AGENT),
            ],
            body(serde_json::to_vec(&ticket(requestor)).unwrap()),
        )
        .await;
        let text = String::from_utf8_lossy(&b).into_owned();
        assert_eq!(s, 201, "{text}");
        assert_eq!(h.get("x-legal-basis").unwrap(), basis, "{requestor}");
        assert_eq!(h.get("x-retention-class").unwrap(), retention);
        let v: Value = serde_json::from_str(&text).unwrap();
        let id: u64 = v["id"].as_str().unwrap().parse().unwrap();

        // The audit event carries the id RT assigned, and the basis decided
        // on the request; never the requester.
        let rid = h.get("x-request-id").unwrap().to_str().unwrap();
        let ev = audit_event("legal_basis", rid).await;
        assert_eq!(ev["ticket_id"], id.to_string(), "{ev}");
        assert_eq!(ev["route"], "rt.ticket.create", "{ev}");
        assert_eq!(ev["audience"], "agent", "{ev}");
        assert_eq!(ev["basis"], basis, "{ev}");
        assert_eq!(ev["retention"], retention, "{ev}");
        let expected_rule = if basis == "contract" {
            "registry:"
        } else {
            "default"
        };
        assert!(
            ev["decided_by"]
                .as_str()
                .unwrap()
                .starts_with(expected_rule),
            "{ev}"
        );

        // --- straight from RT ---
        let t = direct.get_ticket(id).unwrap();
        assert_eq!(cf_values(&t, "Legal Basis"), [basis], "{t}");
        assert_eq!(t["Cc"], json!([]), "Cc never arrived: {t}");
        assert_eq!(t["AdminCc"], json!([]), "AdminCc never arrived: {t}");
        let email = requestor.split('<').nth(1).unwrap().trim_end_matches('>');
        assert_eq!(t["Requestor"][0]["id"], email, "{t}");
        let stored = t.to_string();
        for pii in PII {
            assert!(
                !stored.contains(pii),
                "{pii} stored in the ticket: {stored}"
            );
        }
        assert!(stored.contains("[REDACTED:se.personnummer]"), "{stored}");
        let bodies = direct.ticket_message_bodies(id).unwrap();
        assert!(!bodies.is_empty());
        for m in &bodies {
            for pii in PII {
                assert!(!m.contains(pii), "{pii} stored in a message: {m}");
            }
        }
        assert!(
            bodies[0].contains("**** **** **** 1111"),
            "card keeps its last four: {}",
            bodies[0]
        );
        ids.push((id, email));
    }
    // An update cannot overwrite the basis set at creation (the field is
    // dropped on its way), while the rest of the update is applied.
    let (pelle, _) = ids[2];
    let (s, _, b) = send(
        &c,
        "PUT",
        &url(addr, &format!("/REST/2.0/ticket/{pelle}")),
        &[
            ("content-type", "application/json"),
            ("authorization", AGENT),
        ],
        body(
            serde_json::to_vec(
                &json!({"Priority": 7, "CustomFields": {"Legal Basis": "contract"}}),
            )
            .unwrap(),
        ),
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    let t = direct.get_ticket(pelle).unwrap();
    assert_eq!(cf_values(&t, "Legal Basis"), ["legitimate_interest"], "{t}");
    assert_eq!(t["Priority"], json!("7"), "{t}");

    // The Cc/AdminCc people were never created in RT.
    for other in ["kollega@example.test", "chef@example.test"] {
        assert!(direct.get_user(other).is_err(), "{other} exists in RT");
    }

    // --- read back through deskguard, per audience ---
    let read = |auth: &'static str, id: u64| {
        let c = c.clone();
        async move {
            let (s, _, b) = send(
                &c,
                "GET",
                &url(addr, &format!("/REST/2.0/ticket/{id}")),
                &[("authorization", auth)],
                body(""),
            )
            .await;
            let text = String::from_utf8_lossy(&b).into_owned();
            assert_eq!(s, 200, "{text}");
            (text.clone(), serde_json::from_str::<Value>(&text).unwrap())
        }
    };
    let mut pseudonyms = Vec::new();
    for &(id, email) in &ids {
        let (_, agent) = read(AGENT, id).await;
        assert_eq!(agent["Requestor"][0]["id"], email, "{agent}");
        assert!(agent["Subject"].as_str().unwrap().contains("Inloggning"));

        let (text, reporting) = read(REPORTING, id).await;
        assert!(reporting.get("Subject").is_none(), "{reporting}");
        assert!(!text.contains(email), "{text}");
        assert!(!text.contains('@'), "no e-mail address at all: {text}");
        let pseudonym = reporting["Requestor"][0]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!pseudonym.is_empty());
        pseudonyms.push(pseudonym);
        assert!(
            !cf_values(&reporting, "Legal Basis").is_empty(),
            "{reporting}"
        );
        assert_eq!(reporting["Status"], "new");

        let (_, unknown) = read(UNKNOWN, id).await;
        let keys: Vec<&str> = unknown
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        for k in &keys {
            assert!(
                ["id", "Status", "Created", "LastUpdated"].contains(k),
                "unknown audience sees {k}: {unknown}"
            );
        }
        assert_eq!(unknown["id"], json!(id));
    }
    // Pseudonyms differ per requester (and are stable: same key, same token).
    assert_ne!(pseudonyms[0], pseudonyms[2]);
    let (_, again) = read(REPORTING, ids[0].0).await;
    assert_eq!(again["Requestor"][0]["id"], pseudonyms[0].as_str());

    // No credentials at all: RT refuses, deskguard passes the refusal on.
    let (s, _, _) = send(
        &c,
        "GET",
        &url(addr, &format!("/REST/2.0/ticket/{}", ids[0].0)),
        &[],
        body(""),
    )
    .await;
    assert_eq!(s, 401);

    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(m.contains("deskguard_tickets_total{"), "{m}");
    assert!(!m.contains("19811218") && !m.contains("kund.example"));
    let log = audit_text();
    for pii in PII.iter().chain(&[
        "kund.example",
        "larosate.example",
        "pelle@example.test",
        "Anna Svensson",
        "Pelle Public",
        "kollega@example.test",
        "chef@example.test",
    ]) {
        assert!(!log.contains(pii), "{pii} in the audit log:\n{log}");
    }
    p.shutdown().await;
    drop(rt);
}

/// Replies and comments through deskguard are redacted before RT stores
/// them, base64 text attachments included (decoded, scanned, re-encoded);
/// binary attachments are refused; personal data that reached RT another way
/// (e-mail) is redacted when read through deskguard, base64 `Content` too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rt_replies_and_message_reads_through_deskguard() {
    use base64::Engine as _;
    let Some(rt) = RtServer::start_or_skip("rt_replies_and_message_reads_through_deskguard") else {
        return;
    };
    let direct = rt.client();
    // As if it had arrived by e-mail, not through deskguard.
    let text =
        "Hej! Mitt personnummer är 19811218-9876, kort 4111 1111 1111 1111, lösenord: Hemligt123";
    let id = direct
        .create_ticket(&json!({
            "Queue": "General", "Requestor": "Pelle Public <pelle@example.test>",
            "Subject": "Inloggning", "Content": text, "ContentType": "text/plain",
        }))
        .unwrap();

    let fx = fixture();
    let upstream: SocketAddr = rt.base.trim_start_matches("http://").parse().unwrap();
    let p = start_proxy_core(&fx, upstream, "profile = \"rt\"\n").await;
    let addr = p.listen_addrs[0];
    let c = client(&fx.certs.ca, false);

    let file = base64::engine::general_purpose::STANDARD.encode(text);
    for (route, answer) in [
        ("correspond", "Correspondence added"),
        ("comment", "Comments added"),
    ] {
        let m = json!({
            "Content": format!("Svar: {text}"), "ContentType": "text/plain",
            "Attachments": [{"FileName": "pnr.txt", "FileType": "text/plain", "FileContent": file}],
        });
        let (s, _, b) = send(
            &c,
            "POST",
            &url(addr, &format!("/REST/2.0/ticket/{id}/{route}")),
            &[
                ("content-type", "application/json"),
                ("authorization", AGENT),
            ],
            body(serde_json::to_vec(&m).unwrap()),
        )
        .await;
        let out = String::from_utf8_lossy(&b).into_owned();
        assert_eq!(s, 201, "{out}");
        assert!(out.contains(answer), "{out}");
    }
    // A binary attachment cannot be inspected: refused, RT never sees it.
    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\n\x00\x00");
    let m = json!({"Content": "Svar", "ContentType": "text/plain",
                   "Attachments": [{"FileName": "a.png", "FileType": "image/png", "FileContent": png}]});
    let (s, _, b) = send(
        &c,
        "POST",
        &url(addr, &format!("/REST/2.0/ticket/{id}/comment")),
        &[
            ("content-type", "application/json"),
            ("authorization", AGENT),
        ],
        body(serde_json::to_vec(&m).unwrap()),
    )
    .await;
    assert_eq!(s, 422, "{}", String::from_utf8_lossy(&b));
    assert!(String::from_utf8_lossy(&b).contains("attachment_refused"));

    let msgs = direct.ticket_messages(id).unwrap();
    let kinds: Vec<&str> = msgs.iter().map(|m| m.kind.as_str()).collect();
    // Message and attached file for each; nothing from the refused comment.
    assert_eq!(
        kinds,
        ["Create", "Correspond", "Correspond", "Comment", "Comment"],
        "{msgs:#?}"
    );
    assert!(msgs[0].body.contains("19811218-9876"), "seeded directly");
    let mut files = 0;
    for m in &msgs[1..] {
        for pii in PII {
            assert!(
                !m.body.contains(pii),
                "{pii} stored by {}: {}",
                m.kind,
                m.body
            );
        }
        // Read straight from RT: the stored file is the redacted text.
        let att = direct.attachment(m.attachment).unwrap();
        if att["Filename"] == "pnr.txt" || m.body.starts_with("Hej!") {
            files += 1;
            assert!(m.body.contains("[REDACTED:se.personnummer]"), "{}", m.body);
        } else {
            assert!(m.body.starts_with("Svar: "), "{}", m.body);
        }
    }
    assert_eq!(files, 2, "one attached file per reply: {msgs:#?}");

    // Reading the seeded message through deskguard.
    let create = &msgs[0];
    let (s, _, b) = send(
        &c,
        "GET",
        &url(
            addr,
            &format!(
                "/REST/2.0/transaction/{}/attachments?fields=Content,Subject,ContentType",
                create.transaction
            ),
        ),
        &[("authorization", AGENT)],
        body(""),
    )
    .await;
    let out = String::from_utf8_lossy(&b).into_owned();
    assert_eq!(s, 200, "{out}");
    for pii in PII {
        assert!(!out.contains(pii), "{pii} read through deskguard: {out}");
    }
    assert!(out.contains("[REDACTED:se.personnummer]"), "{out}");

    let (s, _, b) = send(
        &c,
        "GET",
        &url(addr, &format!("/REST/2.0/attachment/{}", create.attachment)),
        &[("authorization", AGENT)],
        body(""),
    )
    .await;
    assert_eq!(s, 200);
    let att: Value = serde_json::from_slice(&b).unwrap();
    assert_eq!(att["id"], json!(create.attachment));
    let content = base64::engine::general_purpose::STANDARD
        .decode(att["Content"].as_str().expect("base64 Content"))
        .unwrap();
    let content = String::from_utf8(content).unwrap();
    for pii in PII {
        assert!(
            !content.contains(pii),
            "{pii} in the attachment read: {content}"
        );
    }
    assert!(content.contains("[REDACTED:se.personnummer]"), "{content}");
    p.shutdown().await;
}
