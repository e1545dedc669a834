//! The shipped RT and Zendesk field policies (rules/policies/rt.toml,
//! zendesk.toml) against bodies shaped like the real APIs: which policy a
//! route picks, and what a policy keeps and drops. The RT bodies are the
//! fixtures captured from a real RT 5.0.3 (tests/data/rt/). Only keep/drop is
//! asserted here; what the detectors do inside scanned strings is tested
//! elsewhere.

mod common;

use deskguard::core::{redact_all, Direction, Format, StreamSpec};
use serde_json::{json, Value};

fn policy_id(profile: &str, method: &str, path: &str, direction: Direction) -> Option<String> {
    common::shipped()
        .policy_for(profile, method, path, direction)
        .map(|p| p.id.clone())
}

fn redact(profile: &str, method: &str, path: &str, direction: Direction, body: &Value) -> Value {
    let spec = StreamSpec {
        format: Format::Json,
        profile,
        method,
        path,
        direction,
        audience: None,
    };
    let input = serde_json::to_vec(body).unwrap();
    let (out, _) = redact_all(&common::shipped(), &spec, &common::key(), &input)
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "{method} {path}: output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out)
        )
    })
}

fn fixture(name: &str) -> Value {
    let p = format!("{}/tests/data/rt/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort();
    k
}

use Direction::{Request, Response};

#[test]
fn rt_routes_pick_their_policies() {
    let cases = [
        ("POST", "/REST/2.0/ticket", Request, "rt.ticket.create"),
        (
            "POST",
            "/REST/2.0/tickets/bulk",
            Request,
            "rt.ticket.create.bulk",
        ),
        ("GET", "/REST/2.0/ticket/7", Response, "rt.ticket.read"),
        ("PUT", "/REST/2.0/ticket/7", Request, "rt.ticket.update"),
        (
            "POST",
            "/REST/2.0/ticket/7/correspond",
            Request,
            "rt.ticket.correspond",
        ),
        (
            "POST",
            "/REST/2.0/ticket/7/comment",
            Request,
            "rt.ticket.comment",
        ),
        (
            "POST",
            "/REST/2.0/ticket/7/correspond",
            Response,
            "rt.ticket.reply.response",
        ),
        (
            "GET",
            "/REST/2.0/ticket/7/history",
            Response,
            "rt.ticket.history",
        ),
        (
            "GET",
            "/REST/2.0/ticket/7/attachments",
            Response,
            "rt.ticket.attachments",
        ),
        (
            "GET",
            "/REST/2.0/transaction/33",
            Response,
            "rt.transaction.read",
        ),
        (
            "GET",
            "/REST/2.0/transaction/33/attachments",
            Response,
            "rt.transaction.attachments",
        ),
        (
            "GET",
            "/REST/2.0/attachment/1",
            Response,
            "rt.attachment.read",
        ),
        (
            "GET",
            "/REST/2.0/user/alice@example.test",
            Response,
            "rt.user.read",
        ),
        ("POST", "/REST/2.0/user", Request, "rt.user.create"),
        ("PUT", "/REST/2.0/user/27", Request, "rt.user.update"),
        ("GET", "/REST/2.0/users", Response, "rt.user.list"),
        ("GET", "/REST/2.0/tickets", Response, "rt.ticket.search"),
    ];
    for (method, path, dir, want) in cases {
        assert_eq!(
            policy_id("rt", method, path, dir).as_deref(),
            Some(want),
            "{method} {path} {dir:?}"
        );
    }
    // Not covered: falls back to scanning every string.
    assert_eq!(
        policy_id("rt", "GET", "/REST/2.0/queues/all", Response),
        None
    );
}

#[test]
fn rt_ticket_create_keeps_what_the_ticket_needs_and_drops_the_rest() {
    let body = json!({
        "Queue": "General",
        "Subject": "Cannot log in",
        "Requestor": "Alice Example <alice@example.test>",
        "Cc": "bob@example.test",
        "AdminCc": ["carol@example.test"],
        "Content": "Hello",
        "ContentType": "text/plain",
        "Priority": 10,
        "CustomFields": {"Legal Basis": "contract"},
        "Attachments": [{"FileName": "a.txt", "FileType": "text/plain", "FileContent": "aGVsbG8="}],
        "SomethingNew": "x"
    });
    let out = redact("rt", "POST", "/REST/2.0/ticket", Request, &body);
    assert_eq!(
        out["Attachments"], body["Attachments"],
        "text file inspected, kept"
    );
    assert_eq!(
        keys(&out),
        [
            "Attachments",
            "Content",
            "ContentType",
            "CustomFields",
            "Priority",
            "Queue",
            "Requestor",
            "Subject"
        ]
    );
    assert_eq!(out["Requestor"], "Alice Example <alice@example.test>");
    // The client's own "Legal Basis" is not trusted: deskguard decides it
    // (alice@example.test is not in the customer-contact registry).
    assert_eq!(out["CustomFields"]["Legal Basis"], "legitimate_interest");
    assert_eq!(out["Queue"], "General");
}

#[test]
fn rt_correspond_keeps_only_the_message() {
    let body = json!({"Content": "Thanks", "ContentType": "text/plain", "TimeTaken": 5,
                      "Attachments": [{"FileName": "x", "FileType": "text/plain", "FileContent": "eA=="}],
                      "Cc": "someone@example.test"});
    let out = redact(
        "rt",
        "POST",
        "/REST/2.0/ticket/1/correspond",
        Request,
        &body,
    );
    assert_eq!(
        keys(&out),
        ["Attachments", "Content", "ContentType", "TimeTaken"]
    );
    // The base64 text file was decoded, inspected and re-encoded.
    assert_eq!(
        out["Attachments"],
        json!([{"FileName": "x", "FileType": "text/plain", "FileContent": "eA=="}])
    );
}

#[test]
fn rt_user_read_drops_address_and_mobile() {
    let user = fixture("user-get.json");
    for k in [
        "Address1",
        "City",
        "Zip",
        "Country",
        "MobilePhone",
        "NickName",
    ] {
        assert!(user.get(k).is_some(), "fixture lost {k}");
    }
    let out = redact(
        "rt",
        "GET",
        "/REST/2.0/user/alice@example.test",
        Response,
        &user,
    );
    for k in [
        "Address1",
        "City",
        "Zip",
        "Country",
        "MobilePhone",
        "NickName",
    ] {
        assert!(out.get(k).is_none(), "{k} passed: {out}");
    }
    assert_eq!(out["Name"], "alice@example.test");
    assert_eq!(out["EmailAddress"], "alice@example.test");
    assert_eq!(out["RealName"], "Alice Example");
    assert_eq!(out["WorkPhone"], user["WorkPhone"]);
    assert_eq!(out["Organization"], "Example School");
    assert_eq!(out["_hyperlinks"], user["_hyperlinks"]);
}

#[test]
fn rt_ticket_read_keeps_its_structure() {
    let t = fixture("ticket-get.json");
    let out = redact("rt", "GET", "/REST/2.0/ticket/1", Response, &t);
    assert_eq!(keys(&out), keys(&t));
    for k in [
        "Requestor",
        "Queue",
        "Owner",
        "Status",
        "_hyperlinks",
        "Created",
    ] {
        assert_eq!(out[k], t[k], "{k}");
    }
    assert_eq!(out["CustomFields"][0]["name"], "Legal Basis");
}

#[test]
fn rt_attachment_base64_content_does_not_pass_uninspected() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let a = fixture("attachment-get.json");
    let original = b64
        .decode(a["Content"].as_str().unwrap().trim_end())
        .unwrap();
    assert!(String::from_utf8_lossy(&original).contains("My phone is +"));
    let out = redact("rt", "GET", "/REST/2.0/attachment/1", Response, &a);
    // Decoded, inspected, re-encoded.
    let content = b64.decode(out["Content"].as_str().unwrap()).unwrap();
    let content = String::from_utf8(content).unwrap();
    assert!(
        content.contains("My phone is [REDACTED:contact.phone]"),
        "{content}"
    );
    assert_eq!(out["MessageId"], a["MessageId"]);
    assert_eq!(out["TransactionId"], a["TransactionId"]);
}

#[test]
fn zendesk_routes_pick_their_policies_with_and_without_json() {
    let cases = [
        ("POST", "/api/v2/tickets", Request, "zendesk.ticket.create"),
        (
            "POST",
            "/api/v2/tickets.json",
            Request,
            "zendesk.ticket.create.json",
        ),
        (
            "POST",
            "/api/v2/tickets/create_many.json",
            Request,
            "zendesk.ticket.create_many.json",
        ),
        (
            "PUT",
            "/api/v2/tickets/update_many",
            Request,
            "zendesk.ticket.update_many",
        ),
        (
            "PUT",
            "/api/v2/tickets/42",
            Request,
            "zendesk.ticket.update",
        ),
        (
            "PUT",
            "/api/v2/tickets/42.json",
            Request,
            "zendesk.ticket.update",
        ),
        ("GET", "/api/v2/tickets/42", Response, "zendesk.ticket.read"),
        (
            "GET",
            "/api/v2/tickets/42.json",
            Response,
            "zendesk.ticket.read",
        ),
        (
            "GET",
            "/api/v2/tickets/show_many.json",
            Response,
            "zendesk.ticket.show_many.json",
        ),
        (
            "GET",
            "/api/v2/tickets.json",
            Response,
            "zendesk.ticket.list.json",
        ),
        (
            "POST",
            "/api/v2/tickets.json",
            Response,
            "zendesk.ticket.write.response.json",
        ),
        (
            "PUT",
            "/api/v2/tickets/42.json",
            Response,
            "zendesk.ticket.write.response.put",
        ),
        (
            "GET",
            "/api/v2/tickets/42/comments",
            Response,
            "zendesk.ticket.comments",
        ),
        (
            "GET",
            "/api/v2/tickets/42/comments.json",
            Response,
            "zendesk.ticket.comments.json",
        ),
        ("GET", "/api/v2/users/5.json", Response, "zendesk.user.read"),
        (
            "GET",
            "/api/v2/users/me.json",
            Response,
            "zendesk.user.read",
        ),
        (
            "GET",
            "/api/v2/users/search.json",
            Response,
            "zendesk.user.search.json",
        ),
        (
            "POST",
            "/api/v2/users.json",
            Request,
            "zendesk.user.create.json",
        ),
        (
            "PUT",
            "/api/v2/users/5.json",
            Request,
            "zendesk.user.update",
        ),
        (
            "GET",
            "/api/v2/search.json",
            Response,
            "zendesk.search.json",
        ),
        ("GET", "/api/v2/search", Response, "zendesk.search"),
        (
            "POST",
            "/api/v2/requests.json",
            Request,
            "zendesk.request.create.json",
        ),
    ];
    for (method, path, dir, want) in cases {
        assert_eq!(
            policy_id("zendesk", method, path, dir).as_deref(),
            Some(want),
            "{method} {path} {dir:?}"
        );
    }
}

#[test]
fn zendesk_ticket_create_is_minimised() {
    let body = json!({"ticket": {
        "subject": "Help",
        "comment": {"body": "Hello", "html_body": "<p>Hello</p>", "public": true,
                    "metadata": {"system": {"ip_address": "192.0.2.1", "location": "Stockholm"}}},
        "requester": {"name": "Alice Example", "email": "alice@example.test",
                      "phone": "+46701234567", "details": "Exempelgatan 1"},
        "priority": "high",
        "tags": ["lb_contract"],
        "external_id": "crm-42",
        "collaborators": ["bob@example.test"],
        "email_ccs": [{"user_email": "carol@example.test"}],
        "custom_fields": [{"id": 1, "value": "contract"}],
        "unknown_thing": "x"
    }});
    for path in ["/api/v2/tickets", "/api/v2/tickets.json"] {
        let out = redact("zendesk", "POST", path, Request, &body);
        let t = &out["ticket"];
        assert_eq!(
            keys(t),
            [
                "comment",
                "custom_fields",
                "priority",
                "requester",
                "subject",
                "tags"
            ],
            "{path}"
        );
        assert_eq!(keys(&t["comment"]), ["body", "html_body", "public"]);
        assert_eq!(keys(&t["requester"]), ["email", "name", "phone"]);
        assert_eq!(t["requester"]["email"], "alice@example.test");
        assert_eq!(t["custom_fields"][0]["id"], 1);
    }
}

#[test]
fn zendesk_comment_metadata_never_reaches_the_reader() {
    let body = json!({"comments": [{
        "id": 1, "type": "Comment", "author_id": 5, "body": "Hi", "html_body": "<p>Hi</p>",
        "plain_body": "Hi", "public": true, "attachments": [], "audit_id": 9,
        "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": null}},
        "created_at": "2026-01-01T00:00:00Z",
        "metadata": {"system": {"client": "Mozilla/5.0", "ip_address": "192.0.2.1",
                                "location": "Stockholm, Sweden", "latitude": 59.3, "longitude": 18.0},
                     "custom": {}}
    }], "next_page": null, "previous_page": null, "count": 1});
    for path in [
        "/api/v2/tickets/1/comments",
        "/api/v2/tickets/1/comments.json",
    ] {
        let out = redact("zendesk", "GET", path, Response, &body);
        let c = &out["comments"][0];
        assert!(c.get("metadata").is_none(), "{path}: {c}");
        assert_eq!(c["id"], 1);
        assert_eq!(c["via"]["channel"], "web");
        assert_eq!(out["count"], 1);
    }
}

#[test]
fn zendesk_user_read_drops_what_a_ticket_does_not_need() {
    let body = json!({"user": {"id": 5, "name": "Alice Example", "email": "alice@example.test",
        "phone": "+46701234567", "organization_id": 9, "photo": {"content_url": "x"},
        "details": "Exempelgatan 1", "notes": "VIP", "user_fields": {"birthday": "1981-12-18"},
        "alias": "Al", "external_id": "crm-1", "role": "end-user", "brand_new_attribute": "?"}});
    let out = redact("zendesk", "GET", "/api/v2/users/5.json", Response, &body);
    assert_eq!(
        keys(&out["user"]),
        ["email", "id", "name", "organization_id", "phone", "role"]
    );
}
