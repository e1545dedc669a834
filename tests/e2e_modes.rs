//! Policy modes and registry reload through the proxy, in front of the
//! Freshdesk test upstream, with temp copies of the shipped rules/:
//! shadow mode changes no byte (but is counted), strict mode refuses with a
//! 422 problem+json naming the field path (never the value), and rewriting the
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
