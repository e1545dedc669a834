//! The real binary as a child process: SIGTERM drains in-flight requests and
//! exits 0; a large streamed body passes with bounded peak RSS.

mod proxy_support;
use proxy_support::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Proc {
    child: Child,
    port: u16,
    admin: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn spawn_proxy(fx: &Fixture, upstream: std::net::SocketAddr, extra: &str) -> Proc {
    let (port, admin) = (free_port(), free_port());
    // The binary runs the real core with the shipped rules.
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let text = config_text(fx, upstream, extra)
        .replace(
            &format!("rules_dir = {:?}", fx.rules.display().to_string()),
            &format!("rules_dir = {rules:?}"),
        )
        .replace(
            "addr = \"127.0.0.1:0\"\ncert",
            &format!("addr = \"127.0.0.1:{port}\"\ncert"),
        )
        .replace(
            "[admin]\naddr = \"127.0.0.1:0\"",
            &format!("[admin]\naddr = \"127.0.0.1:{admin}\""),
        );
    let cfg = fx.dir.path().join("deskguard.toml");
    std::fs::write(&cfg, text).unwrap();
    let log = std::fs::File::create(fx.dir.path().join("proxy.log")).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_deskguard"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .args(["--log-format", "json"])
        .env(
            "DESKGUARD_PSEUDONYM_KEY",
            "0123456789abcdef0123456789abcdef",
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let p = Proc { child, port, admin };
    let admin_addr: std::net::SocketAddr = format!("127.0.0.1:{admin}").parse().unwrap();
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(admin_addr).await.is_ok() {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "proxy did not start: {}",
        std::fs::read_to_string(fx.dir.path().join("proxy.log")).unwrap_or_default()
    );
}

fn signal(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_exits_zero() {
    let fx = fixture();
    let (up, seen) = start_upstream().await;
    let mut p = spawn_proxy(&fx, up, "[limits]\ndrain_timeout = \"20s\"\n").await;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", p.port).parse().unwrap();
    let admin: std::net::SocketAddr = format!("127.0.0.1:{}", p.admin).parse().unwrap();
    let c = client(&fx.certs.ca, false);
    let inflight = tokio::spawn({
        let c = c.clone();
        async move { send(&c, "GET", &url(addr, "/slow"), &[], body("")).await }
    });
    for _ in 0..200 {
        if seen.requests.load(std::sync::atomic::Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    signal(p.child.id(), "-TERM");
    // While draining, readiness is withdrawn (bounded polling).
    let mut saw_503 = false;
    for _ in 0..50 {
        match tokio::time::timeout(Duration::from_secs(2), admin_get(admin, "/readyz")).await {
            Ok((503, _)) => {
                saw_503 = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    let (s, _, b) = inflight.await.unwrap();
    assert_eq!(s, 200, "in-flight request was not drained");
    let b = String::from_utf8(b).unwrap();
    assert!(
        !b.contains("19811218-9876") && b.contains("\"id\":1"),
        "{b}"
    );
    assert!(saw_503, "readyz did not report draining");
    let mut status = None;
    for _ in 0..400 {
        if let Some(st) = p.child.try_wait().unwrap() {
            status = Some(st);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = status.expect("proxy did not exit after draining");
    assert!(status.success(), "exit status {status:?}");
}

fn vm_hwm_kb(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_streamed_body_has_bounded_rss() {
    let mb: u64 = std::env::var("DESKGUARD_TEST_BIG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = spawn_proxy(&fx, up, "").await;
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", p.port).parse().unwrap();
    let c = client(&fx.certs.ca, false);
    // Upload mb MiB (chunked, generated on the fly); the upstream echoes it
    // back as it arrives, so it streams through the redactor twice.
    let req = http::Request::post(url(addr, "/echo"))
        .header("content-type", "text/plain")
        .body(http_body_util::BodyExt::boxed_unsync(GenBody::new(
            mb << 20,
        )))
        .unwrap();
    let resp = c.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let mut n: u64 = 0;
    while let Some(f) = http_body_util::BodyExt::frame(&mut body).await {
        if let Some(d) = f.unwrap().data_ref() {
            n += d.len() as u64;
        }
    }
    assert!(n > (mb << 20) * 9 / 10, "only {n} bytes came back");
    let hwm = vm_hwm_kb(p.child.id());
    eprintln!(
        "{mb} MiB streamed both ways; proxy VmHWM = {} MiB",
        hwm / 1024
    );
    assert!(hwm < 150 * 1024, "peak RSS {} MiB", hwm / 1024);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

async fn metrics_of(admin: u16) -> String {
    admin_get(format!("127.0.0.1:{admin}").parse().unwrap(), "/metrics")
        .await
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_rules_and_a_bad_file_keeps_the_old_rules() {
    let fx = fixture();
    let rules = fx.dir.path().join("rules-copy");
    copy_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")),
        &rules,
    );
    let (up, _) = start_upstream().await;
    let mut p = spawn_proxy(&fx, up, "").await;
    // Point the child at the copy: restart it with the copied rules dir.
    let _ = p.child.kill();
    let _ = p.child.wait();
    let cfg_path = fx.dir.path().join("deskguard.toml");
    let text = std::fs::read_to_string(&cfg_path).unwrap().replace(
        concat!(env!("CARGO_MANIFEST_DIR"), "/rules"),
        &rules.display().to_string(),
    );
    std::fs::write(&cfg_path, text).unwrap();
    let log = std::fs::File::create(fx.dir.path().join("proxy2.log")).unwrap();
    p.child = Command::new(env!("CARGO_BIN_EXE_deskguard"))
        .args(["serve", "--config"])
        .arg(&cfg_path)
        .env(
            "DESKGUARD_PSEUDONYM_KEY",
            "0123456789abcdef0123456789abcdef",
        )
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut up_ok = false;
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", p.admin))
            .await
            .is_ok()
        {
            up_ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up_ok);
    let ok_count = |m: &str| metric(m, "deskguard_rule_reloads_total{result=\"ok\"}");
    let before = ok_count(&metrics_of(p.admin).await);

    // SIGHUP: a reload with unchanged rules succeeds.
    signal(p.child.id(), "-HUP");
    let mut reloaded = false;
    for _ in 0..200 {
        if ok_count(&metrics_of(p.admin).await) > before {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reloaded, "SIGHUP did not reload the rules");

    // A broken rule file: reload fails, the old rules keep serving.
    let m = metrics_of(p.admin).await;
    let version_line = m
        .lines()
        .find(|l| l.starts_with("deskguard_rules_info{"))
        .unwrap()
        .to_string();
    std::fs::write(rules.join("broken.toml"), "[[detector]]\nid = \n").unwrap();
    signal(p.child.id(), "-HUP");
    let mut failed = false;
    for _ in 0..200 {
        let m = metrics_of(p.admin).await;
        if metric(&m, "deskguard_rule_reloads_total{result=\"error\"}") >= 1.0 {
            assert!(
                m.contains(&version_line),
                "rules version changed after a failed reload"
            );
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed, "a broken rule file was not reported");
    let addr: std::net::SocketAddr = format!("127.0.0.1:{}", p.port).parse().unwrap();
    let c = client(&fx.certs.ca, false);
    let (s, _, b) = send(&c, "GET", &url(addr, "/slow"), &[], body("")).await;
    assert_eq!(s, 200);
    assert!(!String::from_utf8_lossy(&b).contains("19811218-9876"));
    let logged = std::fs::read_to_string(fx.dir.path().join("proxy2.log")).unwrap();
    assert!(
        logged.contains("broken.toml:"),
        "reload error should name file:line: {logged}"
    );
}
