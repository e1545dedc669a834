//! Legal basis and retention: decided from the requester and the shipped
//! customer-contact registry, tagged into the ticket in each helpdesk's own
//! terms, keys unique whatever the field order, chunk-independent, no change
//! in shadow mode, and a bad registry is rejected with file and line.

mod common;

use deskguard::core::{
    Direction, Format, LegalBasisDecision, Redactor, RuleSource, Ruleset, StreamSpec,
};

/// A body redacted on a route as one chunk, in 1-byte and in 7-byte
/// chunks: each output with its finished redactor (decision, findings,
/// ticket id), whole-body first.
fn redact_in_chunks(
    profile: &str,
    route: &str,
    direction: Direction,
    body: &str,
) -> Vec<(String, Redactor)> {
    let rules = common::shipped();
    let (method, path) = route.split_once(' ').unwrap();
    let spec = StreamSpec {
        format: Format::Json,
        profile,
        method,
        path,
        direction,
        audience: None,
    };
    [usize::MAX, 1, 7]
        .into_iter()
        .map(|split| {
            let mut r = rules.redactor(&spec, &common::key());
            let mut out = Vec::new();
            for c in body.as_bytes().chunks(split.min(body.len().max(1))) {
                r.push(c, &mut out).unwrap();
            }
            r.finish(&mut out).unwrap();
            (String::from_utf8(out).unwrap(), r)
        })
        .collect()
}

fn run(
    profile: &str,
    route: &str,
    body: &str,
) -> (serde_json::Value, String, Option<LegalBasisDecision>) {
    let mut results = redact_in_chunks(profile, route, Direction::Request, body)
        .into_iter()
        .map(|(text, r)| (text, r.legal_basis().cloned()));
    let (text, decision) = results.next().unwrap();
    for (t, d) in results {
        assert_eq!(text, t, "chunking changed the output");
        assert_eq!(decision, d);
    }
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (value, text, decision)
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn registry_contact_gets_contract_and_tags_merge_without_duplicates() {
    for body in [
        r#"{"tags":["lms","legal-basis:contract"],"email":"anna.svensson@kund.example","description":"hej","custom_fields":{"cf_product":"LMS"}}"#,
        r#"{"email":"anna.svensson@kund.example","description":"hej","custom_fields":{"cf_product":"LMS"},"tags":["lms","legal-basis:contract"]}"#,
        r#"{"custom_fields":{"cf_product":"LMS"},"tags":["lms","legal-basis:contract"],"description":"hej","email":"ANNA.Svensson@Kund.Example"}"#,
    ] {
        let (v, text, d) = run("freshdesk", "POST /api/v2/tickets", body);
        let d = d.expect("decided");
        assert_eq!(
            (
                d.basis.as_str(),
                d.retention.as_str(),
                d.decided_by.as_str()
            ),
            ("contract", "relationship+1y", "registry:email")
        );
        assert_eq!(
            v["tags"],
            serde_json::json!(["lms", "legal-basis:contract", "retention:relationship+1y"]),
            "{text}"
        );
        assert_eq!(v["custom_fields"]["cf_legal_basis"], "contract");
        assert_eq!(v["custom_fields"]["cf_product"], "LMS");
        assert_eq!(count(&text, "\"tags\""), 1, "{text}");
        assert_eq!(count(&text, "\"custom_fields\""), 1, "{text}");
    }
}

#[test]
fn domain_and_company_entries_and_the_default() {
    let (_, _, d) = run(
        "freshdesk",
        "POST /api/v2/tickets",
        r#"{"email":"bo@larosate.example"}"#,
    );
    assert_eq!(d.unwrap().decided_by, "registry:domain");
    let (_, _, d) = run(
        "freshdesk",
        "POST /api/v2/tickets",
        r#"{"email":"bo@elsewhere.example","company_id":4242}"#,
    );
    assert_eq!(d.unwrap().decided_by, "registry:company");
    let (v, _, d) = run(
        "freshdesk",
        "POST /api/v2/tickets",
        r#"{"email":"member.of.public@mail.example","description":"x"}"#,
    );
    let d = d.unwrap();
    assert_eq!(
        (
            d.basis.as_str(),
            d.retention.as_str(),
            d.decided_by.as_str()
        ),
        ("legitimate_interest", "1y-inactive", "default")
    );
    assert_eq!(
        v["tags"],
        serde_json::json!(["legal-basis:legitimate_interest", "retention:1y-inactive"])
    );
    // A look-alike domain is not the registered one.
    let (_, _, d) = run(
        "freshdesk",
        "POST /api/v2/tickets",
        r#"{"email":"bo@evil-larosate.example"}"#,
    );
    assert_eq!(d.unwrap().basis, "legitimate_interest");
}

#[test]
fn rules_come_before_the_registry() {
    let (_, _, d) = run(
        "freshdesk",
        "POST /api/v2/tickets",
        r#"{"email":"anna.svensson@kund.example","type":"Billing"}"#,
    );
    let d = d.unwrap();
    assert_eq!(
        (
            d.basis.as_str(),
            d.retention.as_str(),
            d.decided_by.as_str()
        ),
        ("legal_obligation", "7y", "rule:billing-type")
    );
}

#[test]
fn zendesk_custom_field_list_and_rt_custom_field_are_set_and_forgeries_replaced() {
    let (v, text, d) = run(
        "zendesk",
        "POST /api/v2/tickets.json",
        r#"{"ticket":{"custom_fields":[{"id":1,"value":"x"},{"id":360000000001,"value":"forged"}],"requester":{"name":"A","email":"anna.svensson@kund.example"},"comment":{"body":"hi"}}}"#,
    );
    assert_eq!(d.unwrap().basis, "contract");
    assert_eq!(
        v["ticket"]["custom_fields"],
        serde_json::json!([{"id":1,"value":"x"},{"id":360000000001u64,"value":"contract"}]),
        "{text}"
    );
    let (v, _, d) = run(
        "rt",
        "POST /REST/2.0/ticket",
        r#"{"Queue":"General","Requestor":"x@y.example","CustomFields":{"Legal Basis":"contract"},"Content":"c"}"#,
    );
    assert_eq!(d.unwrap().basis, "legitimate_interest");
    assert_eq!(v["CustomFields"]["Legal Basis"], "legitimate_interest");
    let (_, _, d) = run(
        "rt",
        "POST /REST/2.0/ticket",
        r#"{"Queue":"Invoicing","Requestor":["a@larosate.example"]}"#,
    );
    assert_eq!(d.unwrap().decided_by, "rule:invoicing-queue");
}

#[test]
fn other_routes_and_responses_are_not_tagged() {
    let rules = common::shipped();
    let body = br#"{"email":"a@b.example","tags":["x"]}"#;
    for (method, path, direction) in [
        ("GET", "/api/v2/tickets/1", Direction::Response),
        ("POST", "/api/v2/tickets", Direction::Response),
        ("PUT", "/api/v2/tickets/1", Direction::Request),
    ] {
        let spec = StreamSpec {
            format: Format::Json,
            profile: "freshdesk",
            method,
            path,
            direction,
            audience: None,
        };
        let mut r = rules.redactor(&spec, &common::key());
        let mut out = Vec::new();
        r.push(body, &mut out).unwrap();
        r.finish(&mut out).unwrap();
        assert!(r.legal_basis().is_none());
        assert!(!String::from_utf8(out).unwrap().contains("legal-basis"));
    }
}

#[test]
fn bad_registry_line_is_rejected_with_file_and_line() {
    let lb = r#"
[legal_basis]
registry = "contacts.txt"
default = "legitimate_interest"
retention = { contract = "relationship+1y", legitimate_interest = "1y-inactive" }
"#;
    let err = Ruleset::compile(&[
        RuleSource {
            path: "lb.toml".into(),
            text: lb.into(),
        },
        RuleSource {
            path: "contacts.txt".into(),
            text: "ok@x.example\nnot an address\n".into(),
        },
    ])
    .unwrap_err();
    assert_eq!((err.0[0].file.as_str(), err.0[0].line), ("lb.toml", 2));
    assert!(err.0[0].reason.contains("not an e-mail"), "{err}");
    let missing = lb.replace("contacts.txt", "nope.txt");
    let err = Ruleset::compile(&[RuleSource {
        path: "lb.toml".into(),
        text: missing,
    }])
    .unwrap_err();
    assert!(err.0[0].reason.contains("not found"), "{err}");
    let no_retention = lb.replace("contract = \"relationship+1y\", ", "");
    let err = Ruleset::compile(&[
        RuleSource {
            path: "lb.toml".into(),
            text: no_retention,
        },
        RuleSource {
            path: "contacts.txt".into(),
            text: String::new(),
        },
    ])
    .unwrap_err();
    assert!(err.0[0].reason.contains("retention"), "{err}");
}

/// Audiences: the same ticket read back as an agent, as reporting and with
/// unknown credentials.
#[test]
fn audiences_see_what_their_policy_allows() {
    let rules = common::shipped();
    let body = br#"{"id":7,"status":2,"email":"anna@kund.example","name":"Anna","description":"pnr 19811218-9876","created_at":"2024-05-01T10:00:00Z"}"#;
    let read = |audience: Option<&str>| {
        let spec = StreamSpec {
            format: Format::Json,
            profile: "freshdesk",
            method: "GET",
            path: "/api/v2/tickets/7",
            direction: Direction::Response,
            audience,
        };
        let (out, _) = common::redact_chunked(&rules, &spec, body, &[3]).unwrap();
        serde_json::from_slice::<serde_json::Value>(&out).unwrap()
    };
    let agent = read(Some("agent"));
    assert_eq!(agent["email"], "anna@kund.example");
    assert_eq!(agent["description"], "pnr [REDACTED:se.personnummer]");
    let reporting = read(Some("reporting"));
    assert!(reporting.get("description").is_none() && reporting.get("name").is_none());
    let pseudonym = reporting["email"].as_str().unwrap();
    assert!(
        pseudonym.starts_with("[email:") && !pseudonym.contains("anna"),
        "{pseudonym}"
    );
    assert_eq!(
        read(Some("reporting"))["email"],
        pseudonym,
        "pseudonyms are deterministic"
    );
    let unknown = read(Some("unknown"));
    assert_eq!(
        unknown,
        serde_json::json!({"id":7,"status":2,"created_at":"2024-05-01T10:00:00Z"})
    );
}

#[test]
fn basis_tags_a_client_sent_on_creation_are_replaced() {
    let (v, text, d) = run(
        "freshdesk",
        "POST /api/v2/tickets",
        r#"{"email":"pelle@example.test","description":"hej","tags":["lms","Legal-Basis:consent","retention:forever"]}"#,
    );
    assert_eq!(d.unwrap().basis, "legitimate_interest");
    assert_eq!(
        v["tags"],
        serde_json::json!([
            "lms",
            "legal-basis:legitimate_interest",
            "retention:1y-inactive"
        ]),
        "{text}"
    );
}

/// Output and findings of a body on a route, checked to be the same for
/// 1-byte, 7-byte and whole-body chunks.
fn run_dir(
    profile: &str,
    route: &str,
    direction: Direction,
    body: &str,
) -> (String, Vec<deskguard::core::Finding>, Option<String>) {
    let mut results = redact_in_chunks(profile, route, direction, body)
        .into_iter()
        .map(|(text, mut r)| {
            assert!(r.legal_basis().is_none(), "{route}: nothing is decided");
            let id = r.ticket_id();
            (text, r.take_findings(), id)
        });
    let (text, findings, id) = results.next().unwrap();
    for (t, f, i) in results {
        assert_eq!(
            (&text, findings.len(), &id),
            (&t, f.len(), &i),
            "chunking changed the result"
        );
    }
    (text, findings, id)
}

#[test]
fn zendesk_updates_cannot_forge_a_basis() {
    for route in [
        "PUT /api/v2/tickets/7",
        "PUT /api/v2/tickets/7.json",
        "PUT /api/v2/tickets/update_many.json",
    ] {
        let (text, findings, _) = run_dir(
            "zendesk",
            route,
            Direction::Request,
            r#"{"ticket": {"status":"open", "additional_tags":["vip","legal-basis:consent"," Retention:forever"], "custom_fields":[{"id":360000000001,"value":"consent"},{"id":5,"value":"x"}], "priority":"high"}}"#,
        );
        let v: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(
            v,
            serde_json::json!({"ticket": {"status":"open", "additional_tags":["vip"],
                "custom_fields":[{"id":5,"value":"x"}], "priority":"high"}}),
            "{route}: {text}"
        );
        let protect: Vec<_> = findings
            .iter()
            .filter(|f| &*f.detector == "legal_basis.protect")
            .collect();
        assert_eq!(protect.len(), 3, "{findings:?}");
        assert!(protect
            .iter()
            .all(|f| f.action == deskguard::core::ActionKind::Drop));
    }
    // Batch update: a tickets array; a single tag as a string; a protected
    // member first and last in its object.
    let (text, _, _) = run_dir(
        "zendesk",
        "PUT /api/v2/tickets/update_many",
        Direction::Request,
        r#"{"tickets":[{"additional_tags":"legal-basis:consent","id":1},{"id":2,"additional_tags":["a","retention:x"]}]}"#,
    );
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        v,
        serde_json::json!({"tickets":[{"additional_tags":"","id":1},{"id":2,"additional_tags":["a"]}]}),
        "{text}"
    );
}

#[test]
fn creation_responses_yield_the_helpdesk_ticket_id_unchanged() {
    for (profile, route, body, id) in [
        (
            "freshdesk",
            "POST /api/v2/tickets",
            r#"{"id":101,"attachments":[{"id":7}],"status":2,"tags":[]}"#,
            "101",
        ),
        (
            "zendesk",
            "POST /api/v2/tickets.json",
            r#"{"audit":{"id":9,"ticket_id":55},"ticket":{"requester_id":3,"id":55}}"#,
            "55",
        ),
        (
            "rt",
            "POST /REST/2.0/ticket",
            r#"{"_url":"http://rt/REST/2.0/ticket/12","type":"ticket","id":"12"}"#,
            "12",
        ),
    ] {
        let (text, _, got) = run_dir(profile, route, Direction::Response, body);
        assert_eq!(got.as_deref(), Some(id), "{profile}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            serde_json::from_str::<serde_json::Value>(body).unwrap(),
            "the response is not tagged: {text}"
        );
    }
    // A value that is not id-shaped is never taken as the id.
    let (_, _, got) = run_dir(
        "freshdesk",
        "POST /api/v2/tickets",
        Direction::Response,
        r#"{"id":"pelle@example.test"}"#,
    );
    assert_eq!(got, None);
    // Other routes read no id.
    let (_, _, got) = run_dir(
        "freshdesk",
        "GET /api/v2/tickets/101",
        Direction::Response,
        r#"{"id":101}"#,
    );
    assert_eq!(got, None);
}
