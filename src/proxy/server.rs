//! Listeners, connection limits, TLS handshakes, HTTP/1.1 + h2 serving and
//! graceful shutdown. `start` returns a handle so that the CLI, the demo
//! and the tests all run exactly the same server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use arc_swap::ArcSwap;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::proxy::body::{Engine, EngineLoader};
use crate::proxy::framing::FramingGuard;
use crate::proxy::handler::{self, ConnInfo};
use crate::proxy::tls::{self, CertStore};
use crate::proxy::upstream::Upstream;
use crate::telemetry::Metrics;

/// The serving engine (a wrapper because `ArcSwap` needs a sized type).
pub struct EngineSlot(pub Arc<dyn Engine>);

impl std::ops::Deref for EngineSlot {
    type Target = dyn Engine;
    fn deref(&self) -> &(dyn Engine + 'static) {
        &*self.0
    }
}

/// State shared by every connection.
pub struct Shared {
    /// Configuration.
    pub cfg: Config,
    /// Current rules; swapped atomically on reload, in-flight requests keep theirs.
    pub engine: ArcSwap<EngineSlot>,
    /// Reloads rules.
    pub loader: Arc<dyn EngineLoader>,
    /// The helpdesk client.
    pub upstream: Upstream,
    /// Metric families.
    pub metrics: Arc<Metrics>,
    /// Set on SIGTERM: `/readyz` answers 503.
    pub draining: AtomicBool,
    /// Server certificates (reloaded on SIGHUP).
    pub certs: Vec<Arc<CertStore>>,
}

/// A running proxy.
pub struct Running {
    /// Bound client-facing addresses, in configuration order.
    pub listen_addrs: Vec<SocketAddr>,
    /// Bound admin address.
    pub admin_addr: SocketAddr,
    /// Shared state (for reloads and tests).
    pub shared: Arc<Shared>,
    shutdown_tx: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Running {
    /// Starts draining: readyz 503, stop accepting, let in-flight requests
    /// finish up to the drain deadline. Resolves when done.
    pub async fn shutdown(self) {
        self.shared.draining.store(true, Ordering::SeqCst);
        let _ = self.shutdown_tx.send(true);
        let _ = self.task.await;
    }

    /// Runs until SIGTERM/SIGINT, reloading on SIGHUP.
    pub async fn run_until_signal(self) -> anyhow::Result<()> {
        crate::proxy::reload::wait_for_signals(&self.shared).await?;
        tracing::info!(
            drain_timeout_s = self.shared.cfg.limits.drain_timeout.as_secs_f64(),
            "shutdown requested: draining"
        );
        self.shutdown().await;
        tracing::info!("drained; exiting");
        Ok(())
    }
}

/// Binds everything and starts serving.
pub async fn start(cfg: Config, loader: Arc<dyn EngineLoader>) -> anyhow::Result<Running> {
    let metrics = Arc::new(Metrics::new());
    let engine = loader
        .load()
        .map_err(|e| anyhow::anyhow!("rules could not be loaded:\n{e}"))?;
    metrics.set_rules_version(engine.version());
    metrics.rule_reloads.with_label_values(&["ok"]).inc();
    tracing::info!(version = engine.version(), "rules loaded");
    let upstream = Upstream::new(&cfg.upstream)?;

    let mut certs = Vec::new();
    let mut listeners = Vec::new();
    for l in &cfg.listeners {
        let acceptor = if l.insecure {
            tracing::warn!(
                addr = %l.addr,
                "INSECURE LISTENER: plain HTTP without TLS; personal data crosses the network in clear text. Use only for local development."
            );
            None
        } else {
            let (cert, key) = match (&l.cert, &l.key) {
                (Some(c), Some(k)) => (c, k),
                _ => anyhow::bail!("listener {}: cert and key are required", l.addr),
            };
            let store = CertStore::load(cert, key)?;
            certs.push(store.clone());
            let sc = tls::server_config(store, l.client_ca.as_deref())?;
            Some(TlsAcceptor::from(sc))
        };
        let tcp = bind_reuseport(l.addr).with_context(|| format!("bind {}", l.addr))?;
        listeners.push((tcp, acceptor));
    }
    let admin = TcpListener::bind(cfg.admin.addr)
        .await
        .with_context(|| format!("bind admin {}", cfg.admin.addr))?;
    let admin_addr = admin.local_addr()?;
    let listen_addrs = listeners
        .iter()
        .map(|(t, _)| t.local_addr())
        .collect::<Result<Vec<_>, _>>()?;

    let shared = Arc::new(Shared {
        cfg,
        engine: ArcSwap::from_pointee(EngineSlot(engine)),
        loader,
        upstream,
        metrics,
        draining: AtomicBool::new(false),
        certs,
    });
    crate::proxy::reload::publish_cert_expiry(&shared);
    let watcher = match crate::proxy::reload::watch_rules(shared.clone()) {
        Ok(w) => Some(w),
        Err(e) => {
            tracing::warn!(error = %e, "rules directory is not watched; reload with SIGHUP");
            None
        }
    };

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let sem = Arc::new(Semaphore::new(shared.cfg.limits.max_connections));
    let graceful = Arc::new(GracefulShutdown::new());
    let workers = match shared.cfg.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    // Extra workers: each an OS thread with its own event loop and its own
    // SO_REUSEPORT sockets on the same addresses (the kernel spreads new
    // connections), so a request never hops threads. Worker 0 is this runtime.
    let (done_tx, done_rx) = watch::channel(false);
    let mut loops_ended = Vec::new();
    for w in 1..workers {
        let (ended_tx, ended_rx) = tokio::sync::oneshot::channel::<()>();
        let (bound_tx, bound_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let socks: Vec<(SocketAddr, Option<TlsAcceptor>)> = listen_addrs
            .iter()
            .copied()
            .zip(listeners.iter().map(|(_, a)| a.clone()))
            .collect();
        let (sh, sem, graceful, shutdown_rx, mut done_rx) = (
            shared.clone(),
            sem.clone(),
            graceful.clone(),
            shutdown_rx.clone(),
            done_rx.clone(),
        );
        std::thread::Builder::new()
            .name(format!("deskguard-worker-{w}"))
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = bound_tx.send(Err(e.into()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let mut bound = Vec::new();
                    for (addr, acc) in socks {
                        match bind_reuseport(addr) {
                            Ok(t) => bound.push((t, acc)),
                            Err(e) => {
                                let _ = bound_tx.send(Err(e.context(format!("bind {addr}"))));
                                return;
                            }
                        }
                    }
                    let _ = bound_tx.send(Ok(()));
                    let loops: Vec<_> = bound
                        .into_iter()
                        .map(|(tcp, acc)| {
                            tokio::spawn(accept_loop(
                                sh.clone(),
                                tcp,
                                acc,
                                sem.clone(),
                                graceful.clone(),
                                shutdown_rx.clone(),
                            ))
                        })
                        .collect();
                    drop(graceful);
                    for l in loops {
                        let _ = l.await;
                    }
                    let _ = ended_tx.send(());
                    // Keep serving the connections being drained.
                    let _ = done_rx.wait_for(|v| *v).await;
                });
            })
            .context("spawn worker thread")?;
        bound_rx
            .recv()
            .map_err(|_| anyhow::anyhow!("worker {w} exited during start"))??;
        loops_ended.push(ended_rx);
    }
    let mut accept_tasks = Vec::new();
    for (tcp, acceptor) in listeners {
        accept_tasks.push(tokio::spawn(accept_loop(
            shared.clone(),
            tcp,
            acceptor,
            sem.clone(),
            graceful.clone(),
            shutdown_rx.clone(),
        )));
    }
    let admin_task = tokio::spawn(crate::proxy::admin::serve(shared.clone(), admin));
    let drain = shared.cfg.limits.drain_timeout;
    let mut rx = shutdown_rx;
    let task = tokio::spawn(async move {
        let _ = rx.wait_for(|v| *v).await;
        for t in accept_tasks {
            let _ = t.await;
        }
        for e in loops_ended {
            let _ = e.await;
        }
        // Accept loops have ended, so this is the last reference.
        if let Ok(graceful) = Arc::try_unwrap(graceful) {
            if tokio::time::timeout(drain, graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("drain deadline reached; closing remaining connections");
            }
        }
        let _ = done_tx.send(true);
        admin_task.abort();
    });
    for a in &listen_addrs {
        tracing::info!(addr = %a, "listening");
    }
    tracing::info!(addr = %admin_addr, "admin listening");
    Ok(Running {
        listen_addrs,
        admin_addr,
        shared,
        shutdown_tx,
        task,
        _watcher: watcher,
    })
}

/// A listening socket with SO_REUSEPORT, so every worker can bind the same address.
fn bind_reuseport(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.set_reuseport(true)?;
    sock.bind(addr)?;
    Ok(sock.listen(1024)?)
}

fn http_builder(sh: &Shared) -> auto::Builder<TokioExecutor> {
    let lim = &sh.cfg.limits;
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(lim.header_read_timeout)
        .max_buf_size(lim.max_header_bytes.max(8192))
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(lim.max_header_bytes).unwrap_or(u32::MAX))
        .max_concurrent_streams(256)
        .keep_alive_interval(Some(Duration::from_secs(30)));
    b
}

async fn accept_loop(
    sh: Arc<Shared>,
    tcp: TcpListener,
    acceptor: Option<TlsAcceptor>,
    sem: Arc<Semaphore>,
    graceful: Arc<GracefulShutdown>,
    mut shutdown: watch::Receiver<bool>,
) {
    let builder = Arc::new(http_builder(&sh));
    loop {
        let (stream, peer) = tokio::select! {
            r = tcp.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let Ok(permit) = sem.clone().try_acquire_owned() else {
            sh.metrics.refused_connections.inc();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let sh = sh.clone();
        let acceptor = acceptor.clone();
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _permit = permit;
            sh.metrics.open_connections.inc();
            let _gauge = GaugeGuard(sh.clone());
            serve_conn(sh, stream, peer, acceptor, builder, watcher).await;
        });
    }
}

struct GaugeGuard(Arc<Shared>);
impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.metrics.open_connections.dec();
    }
}

async fn serve_conn(
    sh: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    acceptor: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    watcher: hyper_util::server::graceful::Watcher,
) {
    let tls = acceptor.is_some();
    let info = ConnInfo { peer, tls };
    let svc_sh = sh.clone();
    let svc = service_fn(move |req| handler::handle(svc_sh.clone(), info, req));
    let max_head = sh.cfg.limits.max_header_bytes.max(8192);
    let m = sh.metrics.clone();
    let on_reject: Box<dyn FnOnce() + Send> = Box::new(move || {
        m.fail_closed
            .with_label_values(&["ambiguous_framing", "request"])
            .inc();
        tracing::warn!(
            event = crate::telemetry::EV_REQUEST_REFUSED,
            reason = "ambiguous_framing",
            "request with both Content-Length and Transfer-Encoding refused"
        );
    });
    let res = match acceptor {
        Some(acc) => {
            let hs =
                tokio::time::timeout(sh.cfg.limits.header_read_timeout, acc.accept(stream)).await;
            let tls_stream = match hs {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    sh.metrics.tls_handshake_failures.inc();
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    sh.metrics.tls_handshake_failures.inc();
                    return;
                }
            };
            if tls_stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                let conn = builder.serve_connection(TokioIo::new(tls_stream), svc);
                watcher.watch(conn.into_owned()).await
            } else {
                let io = FramingGuard::new(tls_stream, max_head, on_reject);
                let conn = builder.serve_connection(TokioIo::new(io), svc);
                watcher.watch(conn.into_owned()).await
            }
        }
        None => {
            let io = FramingGuard::new(stream, max_head, on_reject);
            let conn = builder.serve_connection(TokioIo::new(io), svc);
            watcher.watch(conn.into_owned()).await
        }
    };
    if let Err(e) = res {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
