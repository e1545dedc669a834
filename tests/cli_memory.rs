//! `deskguard redact` keeps memory flat on a long stream dense with personal
//! data: it reports no findings, so it must not keep them (it once did, and
//! a 1 GiB ticket stream grew it to 680 MiB).

use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// Peak resident memory of a running process, in KiB (Linux only).
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[test]
fn redact_memory_stays_flat_on_a_long_stream_full_of_findings() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("SKIPPED: needs /proc to read the peak memory");
        return;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskguard"))
        .args(["redact", "--format", "text"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DESKGUARD_PSEUDONYM_KEY", "cli-test-key")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("deskguard runs");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let (mut buf, mut total, mut masks) = (vec![0u8; 1 << 16], 0usize, 0usize);
        loop {
            let n = stdout.read(&mut buf).expect("reads");
            if n == 0 {
                return (total, masks);
            }
            total += n;
            masks += buf[..n].iter().filter(|&&b| b == b'[').count();
        }
    });
    // 48 MiB, one personnummer every 40 bytes: about 1.2 million findings.
    let line = b"kund 1: personnummer 19811218-9876 ok.\n";
    let chunk = line.repeat((1 << 20) / line.len());
    let mut stdin = child.stdin.take().expect("stdin");
    for _ in 0..48 {
        stdin.write_all(&chunk).expect("writes");
    }
    // Everything but the last pipe buffer has been read: measure now.
    let peak = vm_hwm_kib(pid).expect("VmHWM");
    drop(stdin);
    let status = child.wait().expect("exits");
    let (total, masks) = reader.join().expect("reader");
    assert!(status.success());
    assert_eq!(
        masks,
        48 * chunk.len() / line.len(),
        "every personnummer masked"
    );
    assert!(total > 40 << 20);
    // Findings kept for the whole stream would take well over 60 MiB here.
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB on a 48 MiB stream");
}
