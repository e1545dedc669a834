//! Rule and certificate reloads (SIGHUP, file changes) and shutdown signals.
//! A reload loads and compiles everything first and only then swaps one
//! pointer; a bad file leaves the old rules serving.

use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};

use crate::proxy::server::{EngineSlot, Shared};
use crate::telemetry::{EV_RULES_RELOADED, EV_RULES_RELOAD_FAILED};

/// Debounce window for file-change bursts (editors write several events).
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Loads, compiles and swaps the rules. Returns whether the swap happened.
pub fn reload_rules(sh: &Shared) -> bool {
    match sh.loader.load() {
        Ok(engine) => {
            let version = engine.version().to_string();
            sh.engine.store(Arc::new(EngineSlot(engine)));
            sh.metrics.set_rules_version(&version);
            sh.metrics.rule_reloads.with_label_values(&["ok"]).inc();
            tracing::info!(event = EV_RULES_RELOADED, version = %version, "rules reloaded");
            true
        }
        Err(msg) => {
            sh.metrics.rule_reloads.with_label_values(&["error"]).inc();
            for line in msg.lines() {
                tracing::error!(event = EV_RULES_RELOAD_FAILED, "{line}");
            }
            tracing::error!(
                event = EV_RULES_RELOAD_FAILED,
                version = %sh.engine.load().version(),
                "rules reload failed; the previous rules keep serving"
            );
            false
        }
    }
}

/// Re-reads all server certificates.
pub fn reload_certs(sh: &Shared) {
    for c in &sh.certs {
        if let Err(e) = c.reload() {
            tracing::error!(error = %e, "certificate reload failed; the previous certificate keeps serving");
        }
    }
    publish_cert_expiry(sh);
}

/// Sets `deskguard_tls_cert_not_after_seconds{listener}` for every TLS
/// listener (`sh.certs` holds their stores in listener order).
pub fn publish_cert_expiry(sh: &Shared) {
    let tls_listeners = sh.cfg.listeners.iter().filter(|l| !l.insecure);
    for (l, store) in tls_listeners.zip(&sh.certs) {
        let label = l.addr.to_string();
        match store.not_after() {
            Some(t) => sh
                .metrics
                .tls_cert_not_after
                .with_label_values(&[&label])
                .set(t),
            None => {
                tracing::warn!(listener = %label, "cannot read the certificate's notAfter; expiry not exported")
            }
        }
    }
}

/// Watches the rules directory and reloads (debounced) on change.
pub fn watch_rules(sh: Arc<Shared>) -> notify::Result<notify::RecommendedWatcher> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut w = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if !ev.kind.is_access() {
                let _ = tx.send(());
            }
        }
    })?;
    w.watch(&sh.cfg.rules_dir, RecursiveMode::Recursive)?;
    tokio::spawn(async move {
        while rx.recv().await.is_some() {
            tokio::time::sleep(DEBOUNCE).await;
            while rx.try_recv().is_ok() {}
            let sh2 = sh.clone();
            let _ = tokio::task::spawn_blocking(move || reload_rules(&sh2)).await;
        }
    });
    Ok(w)
}

/// Handles SIGHUP (reload rules and certificates) until SIGTERM or SIGINT.
pub async fn wait_for_signals(sh: &Arc<Shared>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading rules and certificates");
                let sh2 = sh.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    reload_rules(&sh2);
                    reload_certs(&sh2);
                }).await;
            }
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
        }
    }
}
