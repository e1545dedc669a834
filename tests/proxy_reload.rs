//! Hot reload under concurrent load: rules are swapped (and bad rule files
//! rejected) while requests are in flight, with zero failed requests.

mod proxy_support;
use proxy_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_has_zero_failures() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let addr = p.listen_addrs[0];
    let ca = fx.certs.ca.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for h2 in [false, true, false, true] {
        let ca = ca.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let c = client(&ca, h2);
            let (mut ok, mut failed) = (0u32, 0u32);
            // Bounded loop: at most 400 requests per task.
            for _ in 0..400 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) && ok > 20 {
                    break;
                }
                let req = http::Request::post(url(addr, "/echo"))
                    .header("content-type", "text/plain")
                    .body(body("a SECRET b"))
                    .unwrap();
                match c.request(req).await {
                    Ok(r) if r.status() == 200 => {
                        let b = http_body_util::BodyExt::collect(r.into_body()).await;
                        match b.map(|b| b.to_bytes()) {
                            Ok(b) if &b[..] == b"a [X] b" || &b[..] == b"a [Y] b" => ok += 1,
                            _ => failed += 1,
                        }
                    }
                    _ => failed += 1,
                }
            }
            (ok, failed)
        }));
    }
    let rules = fx.rules.join("test.txt");
    let mut versions = std::collections::HashSet::new();
    for i in 0..12 {
        let text = match i % 3 {
            0 => "SECRET=[Y]\n",
            1 => "this line is not a rule\n",
            _ => "SECRET=[X]\n",
        };
        // Atomic replace, as an operator's deploy would do: the file watcher
        // must never see a half-written file.
        let tmp = fx.rules.join("test.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &rules).unwrap();
        let swapped = deskguard::proxy::reload::reload_rules(&p.shared);
        assert_eq!(swapped, i % 3 != 1, "reload {i}");
        versions.insert(p.shared.engine.load().version().to_string());
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut failed) = (0, 0);
    for t in tasks {
        let (o, f) = t.await.unwrap();
        ok += o;
        failed += f;
    }
    assert_eq!(
        failed, 0,
        "{failed} failed requests during reloads ({ok} ok)"
    );
    assert!(ok > 0);
    assert_eq!(versions.len(), 2);

    // A bad file leaves the last good rules serving.
    std::fs::write(&rules, "SECRET=[Z]\n").unwrap();
    assert!(deskguard::proxy::reload::reload_rules(&p.shared));
    std::fs::write(&rules, "broken\n").unwrap();
    assert!(!deskguard::proxy::reload::reload_rules(&p.shared));
    let c = client(&ca, false);
    let (_, _, b) = send(
        &c,
        "POST",
        &url(addr, "/echo"),
        &[("content-type", "text/plain")],
        body("SECRET"),
    )
    .await;
    assert_eq!(b, b"[Z]");
    let (_, m) = admin_get(p.admin_addr, "/metrics").await;
    assert!(
        metric(&m, "deskguard_rule_reloads_total{result=\"error\"}") >= 5.0,
        "{m}"
    );
    let v = p.shared.engine.load().version().to_string();
    assert!(m.contains(&format!("deskguard_rules_info{{version=\"{v}\"}} 1")));
    assert_eq!(m.matches("deskguard_rules_info{").count(), 1);
    p.shutdown().await;
}

#[tokio::test]
async fn rules_file_change_is_picked_up_by_the_watcher() {
    let fx = fixture();
    let (up, _) = start_upstream().await;
    let p = start_proxy(&fx, up, "").await;
    let before = p.shared.engine.load().version().to_string();
    std::fs::write(fx.rules.join("test.txt"), "SECRET=[W]\n").unwrap();
    // Bounded wait for the debounced watcher (no timing assertion).
    let mut changed = false;
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        if p.shared.engine.load().version() != before {
            changed = true;
            break;
        }
    }
    assert!(changed, "file watcher did not reload the rules");
    p.shutdown().await;
}
