//! multipart/form-data (Freshdesk ticket creation with attachments) through
//! the core with the shipped rules: text parts follow the route's field
//! policy, binary file parts pass byte for byte, the ticket is tagged with
//! its legal basis in Freshdesk's multipart encoding, malformed bodies fail,
//! and the output is byte-identical whatever the chunk boundaries.

mod common;

use common::chunk_sizes;

use deskguard::core::{Direction, Format, LegalBasisDecision, RedactError, StreamSpec};
use proptest::prelude::*;

const B: &str = "----deskguardTestBoundary7MA4YWxk";
const PNR: &str = "19811218-9876";
const TEXT: &str =
    "Hej! Mitt personnummer är 19811218-9876, kort 4111 1111 1111 1111, lösenord: Hemligt123";

/// A part: (name, filename, content type, content).
type Part<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

fn form(parts: &[Part<'_>]) -> Vec<u8> {
    let mut out = b"preamble is ignored\r\n".to_vec();
    for (name, filename, ct, content) in parts {
        out.extend_from_slice(format!("--{B}\r\n").as_bytes());
        let mut cd = format!("Content-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = filename {
            cd.push_str(&format!("; filename=\"{f}\""));
        }
        out.extend_from_slice(cd.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = ct {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(content);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{B}--\r\nepilogue").as_bytes());
    out
}

/// Parses a multipart body into (name, filename, content) (test helper, strict).
fn parse(body: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    let delim = format!("\r\n--{B}");
    let mut text = b"\r\n".to_vec();
    text.extend_from_slice(body);
    let pieces = split(&text, delim.as_bytes());
    assert!(pieces[0].is_empty(), "no preamble in the output");
    let last = pieces.last().unwrap();
    assert_eq!(
        last.as_slice(),
        b"--\r\n",
        "closing boundary ends the output"
    );
    pieces[1..pieces.len() - 1]
        .iter()
        .map(|p| {
            let p = p.strip_prefix(b"\r\n").expect("CRLF after boundary");
            let end = find(p, b"\r\n\r\n").expect("end of headers");
            let head = String::from_utf8(p[..end].to_vec()).unwrap();
            let get = |k: &str| {
                head.split(&format!("{k}=\"")[..])
                    .nth(1)
                    .map(|r| r.split('"').next().unwrap().to_string())
            };
            (get("name").unwrap(), get("filename"), p[end + 4..].to_vec())
        })
        .collect()
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn split(h: &[u8], n: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = h;
    while let Some(i) = find(rest, n) {
        out.push(rest[..i].to_vec());
        rest = &rest[i + n.len()..];
    }
    out.push(rest.to_vec());
    out
}

fn spec<'a>(method: &'a str, path: &'a str) -> StreamSpec<'a> {
    StreamSpec {
        format: Format::Multipart,
        profile: "freshdesk",
        method,
        path,
        direction: Direction::Request,
        audience: None,
    }
}

fn run_with(
    path: &str,
    boundary: Option<&str>,
    body: &[u8],
    sizes: &[usize],
) -> Result<(Vec<u8>, Option<LegalBasisDecision>, usize), RedactError> {
    let rules = common::shipped();
    let mut r = rules.multipart_redactor(&spec("POST", path), boundary, &common::key());
    let mut out = Vec::new();
    let (mut i, mut k) = (0, 0);
    while i < body.len() {
        let n = sizes[k % sizes.len()].max(1);
        let end = (i + n).min(body.len());
        r.push(&body[i..end], &mut out)?;
        i = end;
        k += 1;
    }
    r.finish(&mut out)?;
    let n = r.take_findings().len();
    Ok((out, r.legal_basis().cloned(), n))
}

fn run(body: &[u8]) -> (Vec<u8>, LegalBasisDecision) {
    let (out, lb, _) = run_with("/api/v2/tickets", Some(B), body, &[usize::MAX]).unwrap();
    (out, lb.expect("a legal-basis decision"))
}

/// Bytes a text scanner would mangle if it saw them: Luhn-valid digits,
/// CRLFs, dashes like a boundary, invalid UTF-8.
fn binary() -> Vec<u8> {
    let mut b = b"%PDF-1.4\n\x00\xff\xfe 4111 1111 1111 1111 19811218-9876\r\n--".to_vec();
    b.extend((0u8..=255).cycle().take(3000));
    b
}

#[test]
fn freshdesk_create_with_attachments() {
    let bin = binary();
    let body = form(&[
        ("email", None, None, b"pelle@example.test"),
        ("subject", None, None, b"Inloggning"),
        (
            "description",
            None,
            None,
            format!("<p>{TEXT}</p>").as_bytes(),
        ),
        ("twitter_id", None, None, b"@pelle"),
        ("custom_fields[cf_legal_basis]", None, None, b"consent"),
        ("custom_fields[cf_kurs]", None, None, b"Kurs 101"),
        ("tags[]", None, None, b"lms"),
        (
            "attachments[]",
            Some("screen.pdf"),
            Some("application/pdf"),
            &bin,
        ),
        (
            "attachments[]",
            Some("notes.txt"),
            Some("text/plain; charset=utf-8"),
            TEXT.as_bytes(),
        ),
    ]);
    let (out, lb) = run(&body);
    assert_eq!(lb.basis, "legitimate_interest");
    assert_eq!(lb.decided_by, "default");
    let parts = parse(&out);
    let names: Vec<&str> = parts.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "email",
            "subject",
            "description",
            "custom_fields[cf_kurs]",
            "tags[]",
            "attachments[]",
            "attachments[]",
            "tags[]",
            "tags[]",
            "custom_fields[cf_legal_basis]",
        ],
        "twitter_id and the client's legal basis are gone, tagging parts added"
    );
    let value = |i: usize| String::from_utf8_lossy(&parts[i].2).into_owned();
    assert_eq!(value(0), "pelle@example.test");
    assert!(value(2).starts_with("<p>") && value(2).contains("[REDACTED:se.personnummer]"));
    assert!(!value(2).contains(PNR) && !value(2).contains("Hemligt123"));
    assert_eq!(parts[5].1.as_deref(), Some("screen.pdf"));
    assert_eq!(parts[5].2, bin, "binary attachments pass byte for byte");
    assert!(
        value(6).contains("[REDACTED:se.personnummer]"),
        "{}",
        value(6)
    );
    assert_eq!(value(7), "legal-basis:legitimate_interest");
    assert_eq!(value(8), "retention:1y-inactive");
    assert_eq!(value(9), "legitimate_interest");
    assert!(!String::from_utf8_lossy(&out).contains("consent"));
}

#[test]
fn registry_contact_gets_contract_and_tags_are_not_duplicated() {
    let body = form(&[
        ("tags[]", None, None, b"legal-basis:contract"),
        ("description", None, None, b"Hej"),
        ("email", None, None, b"anna.svensson@kund.example"),
    ]);
    let (out, lb) = run(&body);
    assert_eq!(lb.basis, "contract");
    let parts = parse(&out);
    let tags: Vec<String> = parts
        .iter()
        .filter(|p| p.0 == "tags[]")
        .map(|p| String::from_utf8_lossy(&p.2).into_owned())
        .collect();
    assert_eq!(tags, ["legal-basis:contract", "retention:relationship+1y"]);
}

#[test]
fn client_basis_and_retention_tags_are_removed_whatever_the_chunking() {
    let body = form(&[
        ("tags[]", None, None, b"lms"),
        ("tags[]", None, None, b" Legal-Basis:contract"),
        ("tags[]", None, None, "\u{3000}retention:forever".as_bytes()),
        ("tags[]", None, None, b"retention-policy"),
        ("tags[]", None, None, b"legal-basis"),
        ("tags[]", None, None, b""),
        ("description", None, None, TEXT.as_bytes()),
        ("email", None, None, b"pelle@example.test"),
    ]);
    let mut results = Vec::new();
    for sizes in [vec![usize::MAX], vec![1], vec![3, 7], vec![13]] {
        let (out, lb, _) = run_with("/api/v2/tickets", Some(B), &body, &sizes).unwrap();
        assert_eq!(lb.unwrap().basis, "legitimate_interest");
        let tags: Vec<String> = parse(&out)
            .iter()
            .filter(|p| p.0 == "tags[]")
            .map(|p| String::from_utf8_lossy(&p.2).into_owned())
            .collect();
        assert_eq!(
            tags,
            [
                "lms",
                "retention-policy",
                "legal-basis",
                "",
                "legal-basis:legitimate_interest",
                "retention:1y-inactive"
            ],
            "chunks {sizes:?}"
        );
        results.push(out);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    let rules = common::shipped();
    let mut r = rules.multipart_redactor(&spec("POST", "/api/v2/tickets"), Some(B), &common::key());
    let mut out = Vec::new();
    r.push(&body, &mut out).unwrap();
    r.finish(&mut out).unwrap();
    let protect: Vec<_> = r
        .take_findings()
        .into_iter()
        .filter(|f| &*f.detector == "legal_basis.protect")
        .collect();
    assert_eq!(protect.len(), 2, "{protect:?}");
    assert!(protect.iter().all(|f| &*f.path == "tags[]"));

    // A value that white space keeps undecided for too long fails closed,
    // the same way whatever the chunking.
    let mut pad = vec![b' '; 600];
    pad.extend_from_slice(b"legal-basis:contract");
    let body = form(&[
        ("tags[]", None, None, &pad),
        ("email", None, None, b"a@b.example"),
    ]);
    for sizes in [vec![usize::MAX], vec![1], vec![100]] {
        let e = run_with("/api/v2/tickets", Some(B), &body, &sizes).unwrap_err();
        assert_eq!(e.reason_code(), "invalid_multipart", "{sizes:?}");
    }
}

#[test]
fn file_names_are_scanned() {
    let name = format!("kvitto personnummer {PNR}.pdf");
    let body = form(&[
        ("email", None, None, b"a@example.test"),
        (
            "attachments[]",
            Some(&name),
            Some("application/pdf"),
            b"%PDF",
        ),
    ]);
    let (out, _) = run(&body);
    let text = String::from_utf8_lossy(&out);
    assert!(!text.contains(PNR), "{text}");
    assert_eq!(parse(&out)[1].2, b"%PDF");
}

#[test]
fn malformed_and_refused_bodies_fail() {
    let good = form(&[("email", None, None, b"a@example.test")]);
    let code = |path: &str, boundary: Option<&str>, body: &[u8]| {
        run_with(path, boundary, body, &[usize::MAX])
            .err()
            .map(|e| e.reason_code())
    };
    let t = "/api/v2/tickets";
    assert_eq!(
        code(t, None, &good),
        Some("invalid_multipart"),
        "no boundary"
    );
    assert_eq!(code(t, Some("x\"y"), &good), Some("invalid_multipart"));
    assert_eq!(
        code(t, Some(B), &good[..good.len() - 20]),
        Some("invalid_multipart"),
        "missing closing boundary"
    );
    assert_eq!(
        code(t, Some(B), b"no boundary at all"),
        Some("invalid_multipart")
    );
    let mut long =
        format!("--{B}\r\nContent-Disposition: form-data; name=\"x\"\r\nX-Pad: ").into_bytes();
    long.extend(std::iter::repeat_n(b'a', 9000));
    long.extend_from_slice(format!("\r\n\r\nv\r\n--{B}--\r\n").as_bytes());
    assert_eq!(
        code(t, Some(B), &long),
        Some("invalid_multipart"),
        "header too long"
    );
    let b64 = format!(
        "--{B}\r\nContent-Disposition: form-data; name=\"description\"\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVq\r\n--{B}--\r\n"
    );
    assert_eq!(code(t, Some(B), b64.as_bytes()), Some("invalid_multipart"));
    // A route without a policy refuses binary attachments (the default).
    let file = form(&[(
        "file",
        Some("a.bin"),
        Some("application/octet-stream"),
        b"\x00\x01",
    )]);
    assert_eq!(
        code("/api/v2/other", Some(B), &file),
        Some("attachment_refused")
    );
    assert!(code(
        "/api/v2/other",
        Some(B),
        &form(&[("note", None, None, b"hej")])
    )
    .is_none());
    // format = Multipart through the plain constructor has no boundary.
    let rules = common::shipped();
    let mut r = rules.redactor(&spec("POST", t), &common::key());
    assert!(r.push(&good, &mut Vec::new()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn multipart_is_chunk_independent(seed in any::<u64>(), sizes in chunk_sizes(), cut in 0usize..4000) {
        let mut rng = common::corpus::Rng::new(seed);
        let text = common::corpus::ticket_text(&mut rng);
        let bin = binary();
        let body = form(&[
            ("email", None, None, b"pelle@example.test"),
            ("description", None, None, text.as_bytes()),
            ("twitter_id", None, None, b"@pelle"),
            ("attachments[]", Some("a.pdf"), Some("application/pdf"), &bin),
            ("attachments[]", Some("b.txt"), Some("text/plain"), TEXT.as_bytes()),
            ("custom_fields[cf_x]", None, None, text.as_bytes()),
            ("tags[]", None, None, "\u{3000} Legal-Basis:contract".as_bytes()),
            ("tags[]", None, None, b"retention"),
            ("tags[]", None, None, b"lms"),
        ]);
        let whole = run_with("/api/v2/tickets", Some(B), &body, &[usize::MAX]);
        let split = run_with("/api/v2/tickets", Some(B), &body, &sizes);
        prop_assert!(whole.is_ok());
        prop_assert_eq!(&whole, &split);
        // A truncated body fails the same way whatever the chunking.
        let cut = cut.min(body.len());
        let a = run_with("/api/v2/tickets", Some(B), &body[..cut], &[usize::MAX]).map_err(|e| e.reason_code());
        let b = run_with("/api/v2/tickets", Some(B), &body[..cut], &sizes).map_err(|e| e.reason_code());
        prop_assert_eq!(a, b);
    }
}
