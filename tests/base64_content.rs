//! Base64 content in JSON (Request Tracker attachments) with the shipped RT
//! policies: decoded as it streams (JSON escapes such as `\/` and `\n` line
//! breaks included), text is scanned and re-encoded, binary content is
//! refused by the RT policies, invalid base64 fails, and the output is the
//! same whatever the chunk boundaries.

mod common;

use base64::Engine as _;
use deskguard::core::{Direction, Format, RedactError, StreamSpec};
use proptest::prelude::*;
use serde_json::{json, Value};

const TEXT: &str =
    "Hej! Mitt personnummer är 19811218-9876, kort 4111 1111 1111 1111, lösenord: Hemligt123";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// MIME-style: 76-character lines, as RT and many clients write it.
fn b64_lines(bytes: &[u8]) -> String {
    let s = b64(bytes);
    s.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn run(
    method: &str,
    path: &str,
    direction: Direction,
    body: &[u8],
    sizes: &[usize],
) -> Result<Vec<u8>, RedactError> {
    let spec = StreamSpec {
        format: Format::Json,
        profile: "rt",
        method,
        path,
        direction,
        audience: None,
    };
    common::redact_chunked(&common::shipped(), &spec, body, sizes).map(|(out, _)| out)
}

fn correspond(body: &[u8], sizes: &[usize]) -> Result<Vec<u8>, RedactError> {
    run(
        "POST",
        "/REST/2.0/ticket/7/correspond",
        Direction::Request,
        body,
        sizes,
    )
}

fn decoded(v: &Value) -> String {
    let s = v.as_str().unwrap();
    String::from_utf8(base64::engine::general_purpose::STANDARD.decode(s).unwrap()).unwrap()
}

#[test]
fn text_attachments_are_decoded_scanned_and_reencoded() {
    let long = TEXT.repeat(40);
    let html = format!("<p>{TEXT}</p>");
    let body = json!({
        "Content": "Svar", "ContentType": "text/plain",
        "Attachments": [
            {"FileName": "pnr.txt", "FileType": "text/plain", "FileContent": b64_lines(long.as_bytes())},
            {"FileContent": b64(html.as_bytes()), "FileType": "text/html", "FileName": "a.html"},
        ],
    });
    // JSON writers may escape '/' and write the line breaks as \n.
    let raw = serde_json::to_string(&body).unwrap().replace('/', "\\/");
    assert!(raw.contains("\\n") && raw.contains("\\/"));
    let out = correspond(raw.as_bytes(), &[usize::MAX]).unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let a = decoded(&v["Attachments"][0]["FileContent"]);
    let h = decoded(&v["Attachments"][1]["FileContent"]);
    for text in [&a, &h] {
        assert!(!text.contains("19811218-9876"), "{text}");
        assert!(!text.contains("Hemligt123"), "{text}");
        assert!(text.contains("[REDACTED:se.personnummer]"), "{text}");
    }
    assert_eq!(a.matches("[REDACTED:se.personnummer]").count(), 40);
    assert!(h.starts_with("<p>") && h.ends_with("</p>"), "{h}");
    assert_eq!(v["Attachments"][0]["FileName"], "pnr.txt");
    assert_eq!(v["Attachments"][1]["FileType"], "text/html");
}

#[test]
fn binary_and_invalid_content_fail_closed() {
    let png = b64(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR");
    let body = json!({"Content": "x", "Attachments": [{"FileName": "a.png", "FileType": "image/png", "FileContent": png}]});
    let err = correspond(body.to_string().as_bytes(), &[usize::MAX]).unwrap_err();
    assert_eq!(err.reason_code(), "attachment_refused");
    assert!(!err.to_string().contains("PNG"));
    for bad in ["SGVq!!", "SGVqA", "SG=VqA", "\\u00e5xyz"] {
        let body = format!(r#"{{"Attachments":[{{"FileContent":"{bad}"}}]}}"#);
        let err = correspond(body.as_bytes(), &[usize::MAX]).unwrap_err();
        assert_eq!(err.reason_code(), "invalid_base64", "{bad}");
    }
    // Reading an attachment: RT's Content (base64 with a trailing newline).
    let read = json!({"id": 5, "ContentType": "text/plain",
                      "Content": format!("{}\n", b64_lines(TEXT.as_bytes()))})
    .to_string();
    let out = run(
        "GET",
        "/REST/2.0/attachment/5",
        Direction::Response,
        read.as_bytes(),
        &[1],
    )
    .unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert!(decoded(&v["Content"]).contains("[REDACTED:se.personnummer]"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn base64_content_is_chunk_independent(seed in any::<u64>(), sizes in prop::collection::vec(1usize..90, 1..12)) {
        let mut rng = common::corpus::Rng::new(seed);
        let text = format!("{} {TEXT} {}", common::corpus::ticket_text(&mut rng), common::corpus::ticket_text(&mut rng));
        let body = json!({"Content": "x", "Attachments": [{"FileName": "a.txt", "FileContent": b64_lines(text.as_bytes())}]});
        let raw = body.to_string().replace('/', "\\/");
        let whole = correspond(raw.as_bytes(), &[usize::MAX]).map_err(|e| e.reason_code());
        let split = correspond(raw.as_bytes(), &sizes).map_err(|e| e.reason_code());
        prop_assert!(whole.is_ok());
        prop_assert_eq!(whole, split);
    }
}
