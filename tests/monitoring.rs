//! The monitoring in deploy/ against real tools: `deskguard demo` (proxy +
//! sample helpdesk on loopback) scraped every second by a real Prometheus
//! (Debian package, installed by scripts/deploy-tools) that also loads the
//! shipped recording and alert rules. After a short burst of tickets with
//! personal data, every PromQL expression of the Grafana dashboard, the
//! recording rules and the alerts must evaluate without error through
//! Prometheus's HTTP API, and the core panels (traffic, redactions per
//! detector, added latency) must return data.
//!
//! Set DESKGUARD_SKIP_PROMETHEUS=1 to skip (prints a loud message).
//! All traffic stays on 127.0.0.1; every process started is killed on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deskguard::cli::healthcheck::http_get;
use serde_json::Value;

/// Kills and reaps a child process when dropped.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc { name, child, log }
    }

    /// Panics with the log if the process has exited.
    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            panic!("{} exited early ({status}):\n{log}", self.name);
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(name))
            .find(|f| f.is_file())
    })
}

/// Polls `f` every 100 ms until it returns `Some`, or panics after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn get_json(url: &str) -> Value {
    let (code, body) =
        http_get(url, Duration::from_secs(10)).unwrap_or_else(|e| panic!("GET {url}: {e:#}"));
    let v: Value = serde_json::from_slice(&body).unwrap_or_else(|e| {
        panic!(
            "GET {url}: {code}, not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    });
    v
}

/// Evaluates `expr` at "now" through /api/v1/query; panics on any error.
fn query(prom: &str, expr: &str) -> Vec<Value> {
    let v = get_json(&format!("{prom}/api/v1/query?query={}", urlencode(expr)));
    assert_eq!(
        v["status"], "success",
        "PromQL failed to evaluate:\n  {expr}\n  {v}"
    );
    assert!(
        v.get("warnings").is_none(),
        "PromQL warnings for {expr}: {v}"
    );
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

fn sample_value(series: &Value) -> f64 {
    series["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Dashboard expressions with Grafana's variables replaced by what a user
/// with this single deskguard job would get.
fn grafana_to_promql(expr: &str) -> String {
    let mut e = expr
        .replace("$__rate_interval", "1m")
        .replace("$__range", "5m")
        .replace("$__interval", "5s")
        .replace("$job", "deskguard")
        .replace("$instance", ".*")
        .replace("$route", ".*");
    // Variable queries: label_values(M, label) → a PromQL query with that label.
    if let Some(inner) = e
        .strip_prefix("label_values(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (metric, label) = inner.rsplit_once(',').expect("label_values(metric, label)");
        e = format!("count by ({}) ({})", label.trim(), metric.trim());
    }
    assert!(!e.contains('$'), "unreplaced Grafana variable in {e}");
    e
}

/// (panel title, expr) for every query in the dashboard, plus variable queries.
fn dashboard_queries(path: &Path) -> Vec<(String, String)> {
    let d: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut out = Vec::new();
    fn walk(panels: &[Value], out: &mut Vec<(String, String)>) {
        for p in panels {
            if let Some(inner) = p["panels"].as_array() {
                walk(inner, out);
            }
            for t in p["targets"].as_array().into_iter().flatten() {
                let title = p["title"].as_str().unwrap_or("").to_string();
                out.push((title, t["expr"].as_str().expect("expr").to_string()));
            }
        }
    }
    walk(d["panels"].as_array().unwrap(), &mut out);
    for v in d["templating"]["list"].as_array().unwrap() {
        if v["type"] == "query" {
            let q = v["query"]["query"].as_str().unwrap().to_string();
            out.push((format!("variable {}", v["name"]), q));
        }
    }
    out
}

/// (name, expr, health, lastError) of every rule Prometheus loaded.
fn loaded_rules(prom: &str) -> Vec<(String, String, String, String)> {
    let v = get_json(&format!("{prom}/api/v1/rules"));
    assert_eq!(v["status"], "success", "{v}");
    let mut out = Vec::new();
    for g in v["data"]["groups"].as_array().unwrap() {
        for r in g["rules"].as_array().unwrap() {
            out.push((
                r["name"].as_str().unwrap_or("").to_string(),
                r["query"].as_str().unwrap_or("").to_string(),
                r["health"].as_str().unwrap_or("").to_string(),
                r["lastError"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

const TICKETS: &[&str] = &[
    r#"{"name":"Anna Svensson","email":"anna.svensson@example.se","phone":"+46 70 123 45 67","subject":"Inloggning fungerar inte","description":"Hej! Mitt personnummer är 19811218-9876 och kortet 4111 1111 1111 1111 drogs två gånger. Lösenord: Hemligt123","priority":1,"status":2,"address":"Storgatan 1, 111 22 Stockholm","twitter_id":"@anna"}"#,
    r#"{"name":"Mikkel Hansen","email":"mikkel@example.dk","subject":"Faktura","description":"Please refund to IBAN DK5000400440116243, my CPR is 070761-4285. Call me on +45 32 12 34 56.","priority":2,"status":2}"#,
    r#"{"name":"Kari Nordmann","email":"kari.nordmann@example.no","subject":"API","description":"Our token stopped working: password: Sommer2024! and my e-mail is kari.nordmann@example.no","priority":1,"status":2}"#,
];

fn post_ticket(curl: &Path, ca: &Path, base: &str, body: &str) -> u16 {
    let out = Command::new(curl)
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .arg("--cacert")
        .arg(ca)
        .args([
            "-H",
            "content-type: application/json",
            "--data-binary",
            body,
        ])
        .arg(format!("{base}/api/v2/tickets"))
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl: {}", String::from_utf8_lossy(&out.stderr)))
}

fn get_path(curl: &Path, ca: &Path, base: &str, path: &str) -> u16 {
    let out = Command::new(curl)
        .args([
            "-sS",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "10",
        ])
        .arg("--cacert")
        .arg(ca)
        .arg(format!("{base}{path}"))
        .output()
        .expect("run curl");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// One burst: every sample ticket, reads, and one body that fails closed.
fn burst(curl: &Path, ca: &Path, base: &str) {
    for body in TICKETS {
        assert_eq!(
            post_ticket(curl, ca, base, body),
            201,
            "ticket via deskguard"
        );
    }
    assert_eq!(get_path(curl, ca, base, "/api/v2/tickets"), 200);
    assert_eq!(get_path(curl, ca, base, "/api/v2/tickets/1"), 200);
    // Invalid JSON on an inspected route: refused (fail closed), never forwarded.
    assert_eq!(
        post_ticket(curl, ca, base, r#"{"subject": "broken", "description": "#),
        422
    );
}

fn scalar(prom: &str, expr: &str) -> Option<f64> {
    query(prom, expr).first().map(sample_value)
}

#[test]
fn dashboard_and_rules_evaluate_against_real_prometheus() {
    if std::env::var("DESKGUARD_SKIP_PROMETHEUS").as_deref() == Ok("1") {
        eprintln!(
            "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !! SKIPPED: DESKGUARD_SKIP_PROMETHEUS=1 — the dashboard, recording   !!\n\
             !! rules and alerts were NOT evaluated against a real Prometheus.    !!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return;
    }
    let started = Instant::now();
    let prometheus = which("prometheus").expect(
        "prometheus not found: run `bash scripts/deploy-tools` (Debian package prometheus), \
         or set DESKGUARD_SKIP_PROMETHEUS=1 to skip this test",
    );
    let curl = which("curl").expect("curl not found: run `bash scripts/deploy-tools`");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = std::env::var_os("DESKGUARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_deskguard")));

    // 1. deskguard demo: proxy (TLS) in front of the sample helpdesk.
    let (port, admin_port) = (free_port(), free_port());
    let certs = tmp.path().join("certs");
    let mut demo = Proc::spawn(
        "deskguard demo",
        Command::new(&bin)
            .arg("demo")
            .arg("--certs-dir")
            .arg(&certs)
            .arg("--rules-dir")
            .arg(repo.join("rules"))
            .args(["--port", &port.to_string()])
            .args(["--admin-port", &admin_port.to_string()])
            .args(["--log-format", "json"]),
        tmp.path().join("deskguard.log"),
    );
    let admin = format!("http://127.0.0.1:{admin_port}");
    wait_for("deskguard /readyz", Duration::from_secs(60), || {
        demo.assert_running();
        match http_get(&format!("{admin}/readyz"), Duration::from_secs(2)) {
            Ok((200, _)) => Some(()),
            _ => None,
        }
    });
    let ready_after = started.elapsed();

    // The container image's HEALTHCHECK command, for real, against this admin listener.
    let hc = Command::new(env!("CARGO_BIN_EXE_deskguard"))
        .args(["healthcheck", "--url", &format!("{admin}/healthz")])
        .output()
        .expect("run deskguard healthcheck");
    assert!(
        hc.status.success(),
        "deskguard healthcheck against a live admin listener: {hc:?}"
    );

    // 2. A real Prometheus scraping the admin listener every second, with the shipped rules.
    let prom_port = free_port();
    let prom = format!("http://127.0.0.1:{prom_port}");
    let rules_dir = repo.join("deploy/prometheus");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {rules}\n  - {alerts}\n\
         scrape_configs:\n  - job_name: deskguard\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    \
         static_configs:\n      - targets: ['127.0.0.1:{admin_port}']\n",
        rules = rules_dir.join("deskguard.rules.yml").display(),
        alerts = rules_dir.join("deskguard.alerts.yml").display(),
    );
    let config_path = tmp.path().join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let mut prom_proc = Proc::spawn(
        "prometheus",
        Command::new(&prometheus)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .arg("--log.level=warn"),
        tmp.path().join("prometheus.log"),
    );
    wait_for("prometheus /-/ready", Duration::from_secs(60), || {
        prom_proc.assert_running();
        match http_get(&format!("{prom}/-/ready"), Duration::from_secs(2)) {
            Ok((200, _)) => Some(()),
            _ => None,
        }
    });
    let prom_ready_after = started.elapsed();

    // 3. Traffic in two bursts, each followed by a scrape that sees it, so
    //    that rate() over the window has an increase to show.
    let ca = certs.join("ca.pem");
    let base = format!("https://localhost:{port}");
    let total = |prom: &str| scalar(prom, "sum(deskguard_requests_total{job=\"deskguard\"})");
    burst(&curl, &ca, &base);
    let first = wait_for(
        "Prometheus to scrape the first burst",
        Duration::from_secs(30),
        || total(&prom).filter(|v| *v >= 6.0),
    );
    burst(&curl, &ca, &base);
    wait_for(
        "Prometheus to scrape the second burst",
        Duration::from_secs(30),
        || total(&prom).filter(|v| *v >= first + 6.0),
    );
    wait_for("target up", Duration::from_secs(10), || {
        scalar(&prom, "up{job=\"deskguard\"}").filter(|v| *v == 1.0)
    });
    let traffic_seen_after = started.elapsed();

    // 4. Every dashboard query evaluates; the core panels return data.
    let queries = dashboard_queries(&repo.join("deploy/grafana/deskguard.json"));
    assert!(
        queries.len() >= 15,
        "dashboard has {} queries",
        queries.len()
    );
    let core = [
        "Requests per route and status",
        "Redactions per detector and direction",
        "Latency added by deskguard vs upstream latency (p50/p99)",
    ];
    let mut with_data = 0;
    for (title, expr) in &queries {
        let promql = grafana_to_promql(expr);
        let result = query(&prom, &promql);
        if !result.is_empty() {
            with_data += 1;
        }
        if core.contains(&title.as_str()) || title.starts_with("variable ") {
            assert!(
                !result.is_empty(),
                "core panel {title:?} returned no data:\n  {promql}"
            );
            assert!(
                result.iter().any(|s| sample_value(s).is_finite()),
                "core panel {title:?} returned only NaN:\n  {promql}\n  {result:?}"
            );
        }
    }
    let redactions = query(
        &prom,
        &grafana_to_promql(
            &queries
                .iter()
                .find(|(t, _)| t == core[1])
                .expect("redactions panel")
                .1,
        ),
    );
    assert!(
        redactions
            .iter()
            .any(|s| s["metric"]["detector"].is_string() && sample_value(s) > 0.0),
        "redactions per detector should be positive after tickets with personal data: {redactions:?}"
    );

    // The certificate-expiry gauge (the demo's dev certificate is long-lived).
    let expiry = query(&prom, "deskguard_tls_cert_not_after_seconds - time()");
    assert!(
        expiry.iter().any(|s| sample_value(s) > 14.0 * 86_400.0),
        "certificate expiry gauge: {expiry:?}"
    );

    // 5. Every recording and alert rule: Prometheus loaded it, and its
    //    expression evaluates without error.
    let rules = loaded_rules(&prom);
    let shipped: usize = ["deskguard.rules.yml", "deskguard.alerts.yml"]
        .iter()
        .map(|f| {
            std::fs::read_to_string(rules_dir.join(f))
                .unwrap()
                .lines()
                .filter(|l| {
                    let l = l.trim_start();
                    l.starts_with("- record:") || l.starts_with("- alert:")
                })
                .count()
        })
        .sum();
    assert!(shipped >= 19, "rule files have {shipped} rules");
    assert_eq!(
        rules.len(),
        shipped,
        "Prometheus should load every shipped rule: {rules:?}"
    );
    for (name, expr, health, last_error) in &rules {
        assert_ne!(
            health, "err",
            "rule {name} failed in Prometheus: {last_error}"
        );
        query(&prom, expr);
    }
    // Alerts that must not fire on healthy traffic (pending counts as firing here).
    let alerts = get_json(&format!("{prom}/api/v1/alerts"));
    let active: Vec<&str> = alerts["data"]["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["labels"]["alertname"].as_str())
        .collect();
    for quiet in [
        "DeskguardDown",
        "DeskguardRuleReloadFailing",
        "DeskguardUpstreamErrors",
    ] {
        assert!(
            !active.contains(&quiet),
            "{quiet} is active on a healthy demo: {alerts}"
        );
    }

    eprintln!(
        "monitoring: deskguard ready after {ready_after:.1?}, Prometheus ready after {prom_ready_after:.1?}, \
         traffic scraped after {traffic_seen_after:.1?}, {} dashboard queries ({with_data} with data) and {} rules \
         evaluated; total {:.1?}",
        queries.len(),
        rules.len(),
        started.elapsed()
    );
    demo.assert_running();
    prom_proc.assert_running();
}
