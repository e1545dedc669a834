//! Smoke test of the real-RT harness (tests/support/rt.rs): no deskguard
//! involved yet. Needs `sudo scripts/rt-setup`; with DESKGUARD_SKIP_RT=1 and
//! no RT installed it is skipped loudly instead of failing.

mod support;

use serde_json::json;
use support::rt::{cf_values, RtOptions, RtServer};

#[test]
fn rt_rest2_round_trip() {
    let Some(rt) = RtServer::start_or_skip("rt_rest2_round_trip") else {
        return;
    };
    let c = rt.client();
    assert!(rt.base.starts_with("http://127.0.0.1:"), "{}", rt.base);

    let cf = c
        .ensure_custom_field("Legal Basis", "General")
        .expect("ensure custom field");
    // Idempotent: a second call finds the same field.
    assert_eq!(c.ensure_custom_field("Legal Basis", "General").unwrap(), cf);

    let body = "Hello, I cannot log in to the course.\nRegards, Alice";
    let id = c
        .create_ticket(&json!({
            "Queue": "General",
            "Subject": "Cannot log in",
            "Requestor": "Alice Example <alice@example.test>",
            "Content": body,
            "ContentType": "text/plain",
            "CustomFields": { "Legal Basis": "contract" },
        }))
        .expect("create ticket");

    let t = c.get_ticket(id).expect("get ticket");
    assert_eq!(t["id"], json!(id));
    assert_eq!(t["Subject"], "Cannot log in");
    assert_eq!(t["Status"], "new");
    assert_eq!(t["Queue"]["id"], "1");
    assert_eq!(t["Requestor"][0]["id"], "alice@example.test");
    assert_eq!(cf_values(&t, "Legal Basis"), ["contract"]);

    let user = c.get_user("alice@example.test").expect("get user");
    assert_eq!(user["EmailAddress"], "alice@example.test");
    assert_eq!(user["RealName"], "Alice Example");

    c.correspond(id, "We have reset your access.")
        .expect("correspond");
    c.comment(id, "internal: checked the SSO logs")
        .expect("comment");

    let msgs = c.ticket_messages(id).expect("messages");
    let kinds: Vec<&str> = msgs.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["Create", "Correspond", "Comment"], "{msgs:#?}");
    assert_eq!(msgs[0].body, body);
    assert_eq!(msgs[0].subject, "Cannot log in");
    assert_eq!(msgs[0].content_type, "text/plain");
    assert_eq!(msgs[1].body, "We have reset your access.");
    assert_eq!(msgs[2].body, "internal: checked the SSO logs");

    let history = c.ticket_history(id).expect("history");
    assert!(history
        .iter()
        .any(|t| t["Type"] == "Status" && t["OldValue"] == "new" && t["NewValue"] == "open"));
}

#[test]
fn rt_servers_are_independent() {
    let Some(a) = RtServer::start_or_skip("rt_servers_are_independent") else {
        return;
    };
    let Some(b) = RtServer::start_or_skip("rt_servers_are_independent") else {
        return;
    };
    assert_ne!(a.port, b.port);
    let id = a
        .client()
        .create_ticket(&json!({"Queue": "General", "Subject": "only in a"}))
        .unwrap();
    assert_eq!(a.client().get_ticket(id).unwrap()["Subject"], "only in a");
    let resp = b
        .client()
        .request("GET", &format!("/ticket/{id}"), None)
        .unwrap();
    assert_eq!(resp.status, 404, "{}", resp.text());
}

#[test]
fn rt_links_follow_web_base_url() {
    let opts = RtOptions {
        web_base_url: Some("http://deskguard.invalid:8443".into()),
    };
    let Some(rt) = RtServer::start_with_or_skip("rt_links_follow_web_base_url", &opts) else {
        return;
    };
    let id = rt
        .client()
        .create_ticket(&json!({"Queue": "General", "Subject": "links"}))
        .unwrap();
    let t = rt.client().get_ticket(id).unwrap();
    assert_eq!(
        t["Queue"]["_url"],
        "http://deskguard.invalid:8443/REST/2.0/queue/1"
    );
}
