//! The streaming JSON rewriter with a small inline rule set: field policies
//! (keep / scan / hash / drop and their commas), escapes kept byte-identical,
//! HTML inside strings, strict and shadow modes, and invalid JSON refused.

use std::sync::Arc;

use deskguard::core::{
    redact_all, Direction, Format, PseudonymKey, RedactError, RuleSource, Ruleset, StreamSpec,
};

const RULES: &str = r#"
[[detector]]
id = "pnr"
description = "Swedish personnummer"
kind = "number"
pattern = '''(?:19|20)?[0-9]{6}[-+]?[0-9]{4}'''
validator = "se_personnummer"
min_digits = 10
fields = ["national_id"]
action = "mask"
must_match = ["19811218-9876"]

[[detector]]
id = "person"
description = "person name fields"
kind = "keyword"
triggers = ["my name is"]
pattern = ''' (?P<value>\p{Lu}\p{Ll}+)'''
value_fields = ["name", "*_name"]
action = "mask"
must_match = ["my name is Anna"]

[[policy]]
id = "fd.create"
profile = "freshdesk"
route = "POST /api/v2/tickets"
direction = "request"
keep = ["email", "name", "tags", "ticket"]
scan = ["description", "custom_fields.cf_*"]
hash = ["requester_email"]
drop = ["address", "ticket.secret"]
otherwise = "drop"

[[policy]]
id = "fd.strict"
profile = "freshdesk"
route = "POST /strict"
direction = "request"
mode = "strict"
keep = ["email"]
otherwise = "drop"

[[policy]]
id = "fd.shadow"
profile = "freshdesk"
route = "POST /shadow"
direction = "request"
mode = "shadow"
keep = ["email"]
scan = ["description"]
otherwise = "drop"

[[policy]]
id = "fd.paths"
profile = "freshdesk"
route = "POST /paths"
direction = "request"
keep = ["a.x", "b.body"]
scan = ["a.body", "b.x", "c.body"]
html = ["a.body"]
otherwise = "drop"

[[policy]]
id = "fd.nothing"
profile = "freshdesk"
route = "POST /nothing"
direction = "request"
otherwise = "drop"
"#;

fn rules() -> Arc<Ruleset> {
    Arc::new(
        Ruleset::compile(&[RuleSource {
            path: "t.toml".into(),
            text: RULES.into(),
        }])
        .expect("compiles"),
    )
}

fn run(route: &str, input: &str) -> Result<String, RedactError> {
    let (method, path) = route.split_once(' ').unwrap();
    let spec = StreamSpec {
        format: Format::Json,
        profile: "freshdesk",
        method,
        path,
        direction: Direction::Request,
        audience: None,
    };
    let rules = rules();
    // Every split must give the same answer.
    let whole = redact_all(
        &rules,
        &spec,
        &PseudonymKey::new(b"k".to_vec()),
        input.as_bytes(),
    )
    .map(|(o, _)| o);
    for split in 0..input.len() {
        let mut r = rules.redactor(&spec, &PseudonymKey::new(b"k".to_vec()));
        let mut out = Vec::new();
        let res = r
            .push(&input.as_bytes()[..split], &mut out)
            .and_then(|_| r.push(&input.as_bytes()[split..], &mut out))
            .and_then(|_| r.finish(&mut out));
        match (&whole, res) {
            (Ok(w), Ok(())) => assert_eq!(
                String::from_utf8_lossy(w),
                String::from_utf8_lossy(&out),
                "split at {split}"
            ),
            (Err(a), Err(b)) => assert_eq!(a.reason_code(), b.reason_code()),
            (w, r) => panic!("split {split}: whole {w:?} vs {r:?}"),
        }
    }
    whole.map(|o| String::from_utf8(o).expect("utf-8"))
}

#[test]
fn drops_unlisted_fields_with_correct_commas() {
    let out = run("POST /api/v2/tickets", r#"{"address": "Storgatan 1", "email":"a@b.se" , "twitter_id":"@x","tags":["a"], "mobile":1}"#).unwrap();
    assert_eq!(out, r#"{ "email":"a@b.se" ,"tags":["a"]}"#);
    serde_json::from_str::<serde_json::Value>(&out).unwrap();
    let out = run(
        "POST /api/v2/tickets",
        r#"{"x":1,"y":{"deep":[1,{"z":2}]}}"#,
    )
    .unwrap();
    assert_eq!(out, "{}");
    let out = run(
        "POST /api/v2/tickets",
        "{\n  \"email\": \"a@b.se\",\n  \"address\": {\"street\": \"x\"}\n}",
    )
    .unwrap();
    assert_eq!(out, "{\n  \"email\": \"a@b.se\"\n}");
}

/// A policy with no field rules that drops everything: the root is never
/// dropped itself, so its members go, cleanly, and elements of a root
/// array (which cannot lose their commas) are scanned instead.
#[test]
fn a_policy_that_drops_everything_still_gives_valid_json() {
    for (input, want) in [
        (r#"{"b":1}"#, "{}"),
        (r#"{"a":{"b":1}, "c":[1,2],"d":"x"}"#, "{}"),
        (r#"[{"b":1},{"c":2}]"#, "[{},{}]"),
        ("[1, 2,3]", "[1, 2,3]"),
        (r#"[[1,2],{"a":[3]}]"#, "[[1,2],{}]"),
        ("[198112189876]", r#"["[REDACTED:pnr]"]"#),
        (r#"["pnr 19811218-9876"]"#, r#"["pnr [REDACTED:pnr]"]"#),
        (r#""x""#, r#""x""#),
    ] {
        let out = run("POST /nothing", input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(out, want, "{input}");
        serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
    }
}

#[test]
fn scans_listed_fields_and_keeps_escapes_byte_identical() {
    let input = r#"{"description":"pnr 19811218-9876 \u00e5\u00e4 \"q\" \/ \ud83d\ude00","email":"x\u0040y.se"}"#;
    let out = run("POST /api/v2/tickets", input).unwrap();
    assert_eq!(
        out,
        r#"{"description":"pnr [REDACTED:pnr] \u00e5\u00e4 \"q\" \/ \ud83d\ude00","email":"x\u0040y.se"}"#
    );
}

#[test]
fn escaped_digits_are_detected_and_replaced_whole() {
    let out = run(
        "POST /api/v2/tickets",
        r#"{"description":"\u0031\u0039811218-9876!"}"#,
    )
    .unwrap();
    assert_eq!(out, r#"{"description":"[REDACTED:pnr]!"}"#);
}

#[test]
fn html_fields_keep_markup_and_see_through_entities() {
    let out = run(
        "POST /api/v2/tickets",
        r#"{"description":"<p>pnr <b>811218&#45;9876</b></p>"}"#,
    )
    .unwrap();
    assert_eq!(out, r#"{"description":"<p>pnr <b>[REDACTED:pnr]</b></p>"}"#);
}

#[test]
fn custom_field_globs_and_nested_keep_with_inner_drop() {
    let out = run("POST /api/v2/tickets", r#"{"custom_fields":{"cf_pnr":"19811218-9876","other":"x"},"ticket":{"a":1,"secret":"s","b":[2]}}"#).unwrap();
    assert_eq!(
        out,
        r#"{"custom_fields":{"cf_pnr":"[REDACTED:pnr]"},"ticket":{"a":1,"b":[2]}}"#
    );
}

#[test]
fn hash_gives_deterministic_keyed_pseudonyms() {
    let a = run(
        "POST /api/v2/tickets",
        r#"{"requester_email":"anna@example.se"}"#,
    )
    .unwrap();
    let b = run(
        "POST /api/v2/tickets",
        r#"{"requester_email":"anna@example.se"}"#,
    )
    .unwrap();
    assert_eq!(a, b);
    assert!(
        a.starts_with(r#"{"requester_email":"[requester_email:"#),
        "{a}"
    );
    assert!(!a.contains("anna"));
}

#[test]
fn default_policy_scans_everything_with_field_context() {
    let rules = rules();
    let spec = StreamSpec::plain(Format::Json);
    let key = PseudonymKey::new(b"k".to_vec());
    let (out, findings) = redact_all(&rules, &spec, &key, br#"{"name":"Anna Svensson","first_name":"Bo","national_id":8112189876,"n":"","ok":"hello"}"#).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"name":"[REDACTED:person]","first_name":"[REDACTED:person]","national_id":"[REDACTED:pnr]","n":"","ok":"hello"}"#
    );
    let paths: Vec<_> = findings
        .iter()
        .map(|f| (f.detector.as_ref(), f.path.as_ref()))
        .collect();
    assert_eq!(
        paths,
        [
            ("person", "name"),
            ("person", "first_name"),
            ("pnr", "national_id")
        ]
    );
}

#[test]
fn findings_carry_paths_with_indices_and_no_values() {
    let rules = rules();
    let spec = StreamSpec::plain(Format::Json);
    let key = PseudonymKey::new(b"k".to_vec());
    let input = br#"{"tickets":[{"d":"x"},{"d":"pnr 19811218-9876"}]}"#;
    let (_, findings) = redact_all(&rules, &spec, &key, input).unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(&*findings[0].path, "tickets[1].d");
    assert_eq!(
        &input[findings[0].start as usize..findings[0].end as usize],
        b"19811218-9876"
    );
}

#[test]
fn strict_mode_refuses_forbidden_fields_by_path_only() {
    let input = r#"{"email":"a@b.se","address":"Storgatan 1","twitter_id":"@anna","x":{"y":1}}"#;
    let err = run("POST /strict", input).unwrap_err();
    assert_eq!(
        err,
        RedactError::ForbiddenFields {
            paths: vec!["address".into(), "twitter_id".into(), "x".into()]
        }
    );
    assert_eq!(err.to_string(), "forbidden fields: address, twitter_id, x");
    assert!(!err.to_string().contains("Storgatan") && !err.to_string().contains("@anna"));
    assert!(run("POST /strict", r#"{"email":"a@b.se"}"#).is_ok());
}

#[test]
fn shadow_mode_changes_no_byte_but_reports() {
    let input = r#"{"email":"a@b.se","address":"Storgatan 1","description":"pnr 19811218-9876"}"#;
    assert_eq!(run("POST /shadow", input).unwrap(), input);
    let rules = rules();
    let spec = StreamSpec {
        format: Format::Json,
        profile: "freshdesk",
        method: "POST",
        path: "/shadow",
        direction: Direction::Request,
        audience: None,
    };
    let (_, findings) = redact_all(
        &rules,
        &spec,
        &PseudonymKey::new(b"k".to_vec()),
        input.as_bytes(),
    )
    .unwrap();
    let ids: Vec<_> = findings
        .iter()
        .map(|f| (f.detector.as_ref(), f.action.as_str()))
        .collect();
    assert_eq!(ids, [("policy.drop", "report"), ("pnr", "report")]);
}

#[test]
fn invalid_json_is_an_error_with_position() {
    for (input, offset) in [
        (r#"{"a":1,}"#, 7),
        (r#"{"a" 1}"#, 5),
        ("[1,2", 4),
        (r#"{"a":tru}"#, 8),
        ("{\"a\":\"x\ny\"}", 7),
        (r#"{"a":"\x"}"#, 7),
        ("01", 0),
        ("{} x", 3),
    ] {
        let rules = rules();
        let err = redact_all(
            &rules,
            &StreamSpec::plain(Format::Json),
            &PseudonymKey::new(b"k".to_vec()),
            input.as_bytes(),
        )
        .unwrap_err();
        match err {
            RedactError::InvalidJson { offset: o, .. } => assert_eq!(o, offset, "{input}"),
            RedactError::Truncated { .. } => assert_eq!(offset, input.len() as u64, "{input}"),
            e => panic!("{input}: {e}"),
        }
    }
}

#[test]
fn jsonl_redacts_each_line() {
    let rules = rules();
    let (out, _) = redact_all(
        &rules,
        &StreamSpec::plain(Format::Jsonl),
        &PseudonymKey::new(b"k".to_vec()),
        b"{\"a\":\"19811218-9876\"}\n\n[1]\n\"x\"\n",
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"a\":\"[REDACTED:pnr]\"}\n\n[1]\n\"x\"\n"
    );
}

/// The same key under different parents is treated by its own path each
/// time (key resolutions are cached per path: a cache keyed by the key
/// alone would keep `b.x` or scan `c.body` as HTML), also once the cache is
/// full (many distinct keys first) and when a path comes back.
#[test]
fn same_key_under_different_parents_keeps_its_own_treatment() {
    let body = r#""a":{"x":"pnr 19811218-9876","body":"<b>pnr 811218&#45;9876</b>","y":"z"},"b":{"x":["pnr 19811218-9876","ok"],"body":"pnr 19811218-9876","y":"z"},"c":{"body":"pnr 811218&#45;9876"},"a":{"x":"pnr 19811218-9876","body":"<b>pnr 811218&#45;9876</b>"}"#;
    let want = r#"{"a":{"x":"pnr 19811218-9876","body":"<b>pnr [REDACTED:pnr]</b>"},"b":{"x":["pnr [REDACTED:pnr]","ok"],"body":"pnr 19811218-9876"},"c":{"body":"pnr 811218&#45;9876"},"a":{"x":"pnr 19811218-9876","body":"<b>pnr [REDACTED:pnr]</b>"}}"#;
    let filler: Vec<String> = (0..600).map(|i| format!(r#""k{i}":0"#)).collect();
    let spec = paths_spec();
    for input in [
        format!("{{{body}}}"),
        format!(r#"{{"f":{{{}}},{body}}}"#, filler.join(",")),
    ] {
        let rules = rules();
        let key = PseudonymKey::new(b"k".to_vec());
        let (out, findings) = redact_all(&rules, &spec, &key, input.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), want);
        let paths: Vec<_> = findings
            .iter()
            .map(|f| (f.detector.as_ref(), f.path.as_ref()))
            .filter(|(_, p)| *p != "f")
            .collect();
        assert_eq!(
            paths,
            [
                ("pnr", "a.body"),
                ("policy.drop", "a.y"),
                ("pnr", "b.x[0]"),
                ("policy.drop", "b.y"),
                ("pnr", "a.body")
            ]
        );
    }
    assert_eq!(run("POST /paths", &format!("{{{body}}}")).unwrap(), want);
}

/// A request body to the `/paths` route of the test policy.
fn paths_spec() -> StreamSpec<'static> {
    StreamSpec {
        format: Format::Json,
        profile: "freshdesk",
        method: "POST",
        path: "/paths",
        direction: Direction::Request,
        audience: None,
    }
}

/// Keys the key cache predicts (the member that followed last time) are
/// read as keys read byte by byte (the same bodies fed one byte at a time,
/// where no key is ever predicted): keys that extend or shorten the
/// predicted one, an escaped spelling of it, the empty key, members
/// reordered, repeated or missing, and the same keys under other parents,
/// in bodies that keep, scan (as HTML or not) and drop by key path.
#[test]
fn predicted_keys_read_as_keys_read_byte_by_byte() {
    let keys = ["x", "body", "bod", "bodyx", r"b\u006fdy", "", "y"];
    let spec = paths_spec();
    let rules = rules();
    let key = PseudonymKey::new(b"k".to_vec());
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for _ in 0..300 {
        let mut objects = Vec::new();
        for _ in 0..4 {
            let mut members = Vec::new();
            for parent in ["a", "b", "c"] {
                let inner: Vec<String> = (0..next(4))
                    .map(|_| {
                        format!(
                            r#""{}":"my name is Anna, pnr <i>19811218-9876</i>""#,
                            keys[next(keys.len())]
                        )
                    })
                    .collect();
                members.push(format!(r#""{parent}":{{{}}}"#, inner.join(",")));
            }
            objects.push(format!(r#"{{"c":{{}},{}}}"#, members.join(",")));
        }
        let body = format!("[{}]", objects.join(","));
        let whole = redact_all(&rules, &spec, &key, body.as_bytes()).unwrap();
        let mut r = rules.redactor(&spec, &key);
        let mut out = Vec::new();
        for b in body.as_bytes().chunks(1) {
            r.push(b, &mut out).unwrap();
        }
        r.finish(&mut out).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&whole.0),
            String::from_utf8_lossy(&out),
            "{body}"
        );
        assert_eq!(whole.1, r.take_findings(), "{body}");
    }
}

#[test]
fn strings_that_are_not_utf8_are_refused_where_the_bad_character_starts() {
    let rules = rules();
    let spec = StreamSpec::plain(Format::Json);
    let key = PseudonymKey::new(b"k".to_vec());
    let cases: &[(&[u8], Option<u64>)] = &[
        (b"{\"a\":\"Storga\x91tan\"}", Some(12)),
        (b"{\"k\xff\":1}", Some(3)),
        (b"{\"a\":\"x\xc3\"}", Some(7)),
        (b"{\"a\":\"\xe2\x82\\n\"}", Some(6)),
        (b"{\"a\":\"\xe2\x82A\"}", Some(6)),
        (b"{\"a\":\"\xed\xa0\x80\"}", Some(6)),
        ("{\"å\":\"åsa 𝄞 €\"}".as_bytes(), None),
    ];
    for &(input, bad_at) in cases {
        for split in 0..=input.len() {
            let mut r = rules.redactor(&spec, &key);
            let mut out = Vec::new();
            let res = r
                .push(&input[..split], &mut out)
                .and_then(|_| r.push(&input[split..], &mut out))
                .and_then(|_| r.finish(&mut out));
            match (res, bad_at) {
                (Err(RedactError::InvalidJson { offset, reason }), Some(at)) => {
                    assert_eq!(
                        (offset, reason),
                        (at, "invalid UTF-8 in a string"),
                        "{input:?} split {split}"
                    )
                }
                (Ok(()), None) => assert_eq!(out, input),
                (res, _) => panic!("{input:?} split {split}: {res:?}"),
            }
        }
    }
}
