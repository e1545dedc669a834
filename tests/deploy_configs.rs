//! The configuration files shipped with the deployment recipes parse with
//! deskguard's own config loader and agree with their unit/manifest: the
//! drain deadline the systemd unit and the Kubernetes grace period are sized
//! for, absolute paths where the recipes mount files, and the admin port the
//! probes, HEALTHCHECK and scrape configs use.

use std::path::Path;
use std::time::Duration;

use deskguard::config::Config;

fn load(rel: &str) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    Config::load(&path).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn deployment_configs_parse_and_match_their_recipes() {
    for (rel, rules, admin) in [
        (
            "deploy/systemd/deskguard.toml",
            "/etc/deskguard/rules",
            "127.0.0.1:9464",
        ),
        (
            "deploy/docker/deskguard.toml",
            "/etc/deskguard/rules",
            "0.0.0.0:9464",
        ),
        (
            "deploy/k8s/deskguard.toml",
            "/etc/deskguard/rules",
            "0.0.0.0:9464",
        ),
    ] {
        let cfg = load(rel);
        assert_eq!(cfg.rules_dir, Path::new(rules), "{rel}");
        assert_eq!(cfg.admin.addr.to_string(), admin, "{rel}");
        assert_eq!(cfg.limits.drain_timeout, Duration::from_secs(30), "{rel}");
        assert_eq!(cfg.key_env, "DESKGUARD_PSEUDONYM_KEY", "{rel}");
        for l in &cfg.listeners {
            assert!(!l.insecure, "{rel}: production recipes listen with TLS");
            for p in [&l.cert, &l.key] {
                let p = p.as_ref().expect("cert and key");
                assert!(p.is_absolute(), "{rel}: {} should be absolute", p.display());
            }
        }
    }
}
