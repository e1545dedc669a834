//! Policy modes and registry reload through the proxy, in front of the
//! Freshdesk test upstream, with temp copies of the shipped rules/:
//! shadow mode changes no byte (but is counted), strict mode refuses with a
//! 422 problem+json naming the field path (never the value) — for JSON and
//! multipart/form-data bodies — and rewriting the
//! customer-contact registry changes the legal-basis decision without restart.

mod helpdesk_fakes;
mod proxy_support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use deskguard::proxy::server::Running;
use helpdesk_fakes::{start, Kind};
use proxy_support::*;

const TICKET: &str = r#"{"email":"pelle@example.test","name":"Pelle Public","subject":"Inloggning","description":"Mitt personnummer är 19811218-9876, lösenord: Hemligt123","priority":1,"status":2,"twitter_id":"@pelle"}"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Replaces a file atomically (as a deploy would: the watcher never sees a
/// half-written file).
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The fixture's rules dir becomes a copy of the shipped rules/, with
/// `edit` applied to freshdesk.toml.
fn rules_copy(fx: &Fixture, edit: impl Fn(String) -> String) {
    std::fs::remove_dir_all(&fx.rules).unwrap();
    copy_dir(
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")),
        &fx.rules,
    );
    let f = fx.rules.join("policies/freshdesk.toml");
    let text = edit(std::fs::read_to_string(&f).unwrap());
    std::fs::write(f, text).unwrap();
}

fn set_mode(mode: &'static str) -> impl Fn(String) -> String {
    move |t: String| {
        let id = "id = \"freshdesk.ticket.create\"\n";
        assert!(t.contains(id));
        t.replacen(id, &format!("{id}mode = \"{mode}\"\n"), 1)
    }
}

async fn start_on_copy(fx: &Fixture, upstream: SocketAddr) -> Running {
    let text = config_text(fx, upstream, "profile = \"freshdesk\"\n");
    let cfg = deskguard::config::Config::parse("test.toml", &text).unwrap();
    let loader = Arc::new(deskguard::proxy::core_engine::CoreLoader {
        dir: fx.rules.clone(),
        key: deskguard::core::PseudonymKey::insecure_demo(),
    });
    deskguard::proxy::server::start(cfg, loader).await.unwrap()
}

async fn create(p: &Running, fx: &Fixture, ticket: &str) -> (u16, http::HeaderMap, String) {
    let c = client(&fx.certs.ca, false);
    let (s, h, b) = send(
        &c,
        "POST",
        &url(p.listen_addrs[0], "/api/v2/tickets"),
        &[("content-type", "application/json")],
        body(ticket.to_string()),
    )
    .await;
    (s.as_u16(), h, String::from_utf8_lossy(&b).into_owned())
}

#[tokio::test]
async fn shadow_mode_changes_no_byte_but_is_counted() {
    let fx = fixture();
    rules_copy(&fx, set_mode("shadow"));
    let desk = start(Kind::Freshdesk).await;
    let p = start_on_copy(&fx, desk.addr).await;
    let (s, _, text) = create(&p, &fx, TICKET).await;
    assert_eq!(s, 201, "{text}");
    assert_eq!(
        desk.last().body,
        TICKET.as_bytes(),
        "shadow mode changed the body"
    );
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_redactions_total{detector=\"se.personnummer\",direction=\"request\"}"
        ) >= 1.0,
        "{m}"
    );
    assert!(!m.contains("19811218"));
    p.shutdown().await;
}

#[tokio::test]
async fn strict_mode_refuses_forbidden_fields_with_their_paths() {
    let fx = fixture();
    rules_copy(&fx, set_mode("strict"));
    let desk = start(Kind::Freshdesk).await;
    let p = start_on_copy(&fx, desk.addr).await;

    let two = TICKET.replace(r#""priority":1"#, r#""address":"Storgatan 1","priority":1"#);
    let (s, h, text) = create(&p, &fx, &two).await;
    assert_eq!(s, 422, "{text}");
    assert_eq!(h.get("content-type").unwrap(), "application/problem+json");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["reason"], "forbidden_field", "{v}");
    assert!(
        text.contains("twitter_id") && text.contains("address"),
        "names every path: {text}"
    );
    for value in [
        "@pelle",
        "Storgatan",
        "19811218",
        "Hemligt123",
        "pelle@example.test",
    ] {
        assert!(!text.contains(value), "{value} in the problem: {text}");
    }
    assert!(desk.received().is_empty(), "nothing reached the helpdesk");

    // Without forbidden fields the ticket passes (and is still redacted).
    let clean = TICKET.replace(r#","twitter_id":"@pelle""#, "");
    let (s, _, text) = create(&p, &fx, &clean).await;
    assert_eq!(s, 201, "{text}");
    assert!(!desk.last().text().contains("19811218-9876"));
    p.shutdown().await;
}

#[tokio::test]
async fn registry_reload_changes_the_legal_basis_without_restart() {
    let fx = fixture();
    rules_copy(&fx, |t| t);
    let desk = start(Kind::Freshdesk).await;
    let p = start_on_copy(&fx, desk.addr).await;
    let (s, h, _) = create(&p, &fx, TICKET).await;
    assert_eq!(s, 201);
    assert_eq!(h.get("x-legal-basis").unwrap(), "legitimate_interest");

    // pelle becomes an official customer contact: the file watcher reloads.
    let registry = fx.rules.join("customer-contacts.txt");
    let before = p.shared.engine.load().version().to_string();
    let mut text = std::fs::read_to_string(&registry).unwrap();
    text.push_str("pelle@example.test\n");
    replace(&registry, &text);
    let mut reloaded = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if p.shared.engine.load().version() != before {
            reloaded = true;
            break;
        }
    }
    assert!(reloaded, "the registry change was not picked up");
    let (s, h, _) = create(&p, &fx, TICKET).await;
    assert_eq!(s, 201);
    assert_eq!(h.get("x-legal-basis").unwrap(), "contract");
    assert_eq!(h.get("x-retention-class").unwrap(), "relationship+1y");
    let tags = desk.last().json()["tags"].clone();
    assert!(
        tags.as_array()
            .unwrap()
            .contains(&serde_json::json!("legal-basis:contract")),
        "{tags}"
    );

    // And back, through the SIGHUP path (explicit reload).
    replace(&registry, &text.replace("pelle@example.test\n", ""));
    assert!(deskguard::proxy::reload::reload_rules(&p.shared));
    let (_, h, _) = create(&p, &fx, TICKET).await;
    assert_eq!(h.get("x-legal-basis").unwrap(), "legitimate_interest");
    p.shutdown().await;
}

/// A multipart ticket with personal data in the text, fields the policy
/// drops, a legal-basis field the client set itself and a binary file.
fn multipart_ticket() -> Vec<u8> {
    form(&[
        ("email", None, "text/plain", b"pelle@example.test"),
        ("subject", None, "text/plain", b"Inloggning"),
        (
            "description",
            None,
            "text/plain",
            "Mitt personnummer är 19811218-9876, lösenord: Hemligt123".as_bytes(),
        ),
        ("twitter_id", None, "text/plain", b"@pelle"),
        (
            "custom_fields[cf_personnummer]",
            None,
            "text/plain",
            b"19811218-9876",
        ),
        ("tags[]", None, "text/plain", b"lms"),
        (
            "attachments[]",
            Some("s.png"),
            "image/png",
            b"\x89PNG\r\n\x1a\n\x00\x01",
        ),
    ])
}

/// Sends a multipart ticket in frames of `frame` bytes.
async fn create_multipart(p: &Running, fx: &Fixture, b: Vec<u8>, frame: usize) -> (u16, String) {
    let c = client(&fx.certs.ca, false);
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let frames: Vec<&'static [u8]> = Box::leak(b.into_boxed_slice()).chunks(frame).collect();
    let (s, _, b) = send(
        &c,
        "POST",
        &url(p.listen_addrs[0], "/api/v2/tickets"),
        &[("content-type", ct.as_str())],
        chunked(&frames),
    )
    .await;
    (s.as_u16(), String::from_utf8_lossy(&b).into_owned())
}

#[tokio::test]
async fn shadow_mode_forwards_multipart_byte_for_byte_and_reports() {
    let fx = fixture();
    rules_copy(&fx, set_mode("shadow"));
    let desk = start(Kind::Freshdesk).await;
    let p = start_on_copy(&fx, desk.addr).await;
    let sent = multipart_ticket();
    // Small frames: the core sees arbitrary chunk boundaries.
    let (s, text) = create_multipart(&p, &fx, sent.clone(), 13).await;
    assert_eq!(s, 201, "{text}");
    assert_eq!(
        desk.last().body,
        sent,
        "shadow mode changed the multipart body"
    );
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    for detector in ["se.personnummer", "policy.drop"] {
        assert!(
            metric(
                &m,
                &format!(
                    "deskguard_redactions_total{{detector=\"{detector}\",direction=\"request\"}}"
                )
            ) >= 1.0,
            "{detector} reported: {m}"
        );
    }
    // Reported, not done: nothing counted as dropped.
    assert_eq!(
        metric(
            &m,
            "deskguard_fields_dropped_total{route=\"freshdesk.ticket.create\"}"
        ),
        0.0,
        "{m}"
    );
    assert!(!m.contains("19811218") && !m.contains("pelle"), "{m}");
    p.shutdown().await;
}

#[tokio::test]
async fn strict_mode_refuses_multipart_with_forbidden_parts_by_name() {
    let fx = fixture();
    rules_copy(&fx, set_mode("strict"));
    let desk = start(Kind::Freshdesk).await;
    let p = start_on_copy(&fx, desk.addr).await;
    // In one frame: the refusal lists every forbidden part of the body.
    let (s, text) = create_multipart(&p, &fx, multipart_ticket(), usize::MAX).await;
    assert_eq!(s, 422, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["reason"], "forbidden_field", "{v}");
    assert!(
        text.contains("twitter_id") && text.contains("custom_fields[cf_personnummer]"),
        "names every forbidden part: {text}"
    );
    for value in [
        "@pelle",
        "19811218",
        "Hemligt123",
        "pelle@example.test",
        "PNG",
    ] {
        assert!(!text.contains(value), "{value} in the problem: {text}");
    }
    assert!(desk.received().is_empty(), "nothing reached the helpdesk");

    // In small frames it is refused as soon as a forbidden part is seen,
    // naming the parts seen so far. The upstream was already contacted
    // after the first frame (streaming), but its request is aborted: no
    // complete body and nothing of the forbidden part ever arrives.
    let (s, text) = create_multipart(&p, &fx, multipart_ticket(), 13).await;
    assert_eq!(s, 422, "{text}");
    assert!(text.contains("twitter_id"), "{text}");
    for value in ["@pelle", "19811218", "Hemligt123", "pelle@example.test"] {
        assert!(!text.contains(value), "{value} in the problem: {text}");
    }
    for r in desk.received() {
        assert!(!r.text().contains("@pelle"), "{}", r.text());
        assert!(
            helpdesk_fakes::form_to_json(&r.body, BOUNDARY).is_none(),
            "a complete body arrived: {}",
            r.text()
        );
    }
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(
            &m,
            "deskguard_fail_closed_total{direction=\"request\",reason=\"forbidden_field\"}"
        ) >= 2.0,
        "{m}"
    );

    // Without forbidden parts the ticket passes, redacted and tagged.
    let clean = form(&[
        ("email", None, "text/plain", b"pelle@example.test"),
        (
            "description",
            None,
            "text/plain",
            "Mitt personnummer är 19811218-9876".as_bytes(),
        ),
        ("tags[]", None, "text/plain", b"lms"),
    ]);
    let (s, text) = create_multipart(&p, &fx, clean, 13).await;
    assert_eq!(s, 201, "{text}");
    let arrived = desk.last().text();
    assert!(!arrived.contains("19811218-9876"), "{arrived}");
    assert!(
        arrived.contains("legal-basis:legitimate_interest"),
        "{arrived}"
    );
    p.shutdown().await;
}
