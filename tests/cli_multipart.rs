//! `deskguard redact|explain --format multipart --boundary B` on the real
//! binary and the shipped rules: a Freshdesk ticket creation with
//! attachments is minimised, redacted and tagged; no boundary is a usage
//! error; a malformed body ends with exit code 2 and nothing unredacted.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const B: &str = "cliB0undary";

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskguard"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DESKGUARD_PSEUDONYM_KEY", "cli-test-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error exits before reading stdin: the write then fails with
    // a broken pipe, which is not what these tests check.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

fn form() -> Vec<u8> {
    let part = |name: &str, extra: &str, body: &str| {
        format!("--{B}\r\nContent-Disposition: form-data; name=\"{name}\"{extra}\r\n\r\n{body}\r\n")
    };
    [
        part("email", "", "pelle@example.test"),
        part("description", "", "Mitt personnummer är 19811218-9876"),
        part("twitter_id", "", "@pelle"),
        part(
            "attachments[]",
            "; filename=\"logg.txt\"\r\nContent-Type: text/plain",
            "lösenord: Hemligt123",
        ),
        format!("--{B}--\r\n"),
    ]
    .concat()
    .into_bytes()
}

const ROUTE: [&str; 4] = ["--profile", "freshdesk", "--route", "POST /api/v2/tickets"];

#[test]
fn redact_multipart_applies_the_route_policy() {
    let mut args = vec!["redact", "--format", "multipart", "--boundary", B];
    args.extend(ROUTE);
    let o = run(&args, &form());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("[REDACTED:se.personnummer]"), "{out}");
    for gone in ["19811218-9876", "Hemligt123", "twitter_id", "@pelle"] {
        assert!(!out.contains(gone), "{gone} in {out}");
    }
    assert!(out.contains("legal-basis:legitimate_interest"), "{out}");
    assert!(out.ends_with(&format!("--{B}--\r\n")), "{out}");

    let mut args = vec!["explain", "--format", "multipart", "--boundary", B];
    args.extend(ROUTE);
    let o = run(&args, &form());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(
        out.contains("\"se.personnummer\"") && out.contains("\"policy.drop\""),
        "{out}"
    );
    assert!(
        !out.contains("19811218") && !out.contains("@pelle"),
        "{out}"
    );
}

#[test]
fn multipart_needs_a_boundary_and_fails_closed() {
    let o = run(&["redact", "--format", "multipart"], &form());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--boundary"));

    let mut truncated = form();
    truncated.truncate(truncated.len() - 12);
    let o = run(
        &["redact", "--format", "multipart", "--boundary", B],
        &truncated,
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("multipart"), "{err}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains("Hemligt123"));

    let o = run(&["redact", "--help"], b"");
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(
        help.contains("--boundary") && help.contains("multipart"),
        "{help}"
    );
}
