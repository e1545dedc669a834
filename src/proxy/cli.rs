//! The `serve` and `demo` subcommands, as `clap::Args` structs the main
//! binary wires into its `Commands` enum (kept here so merging the CLI is a
//! two-line change).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::config::{Config, LogFormat};
use crate::core::PseudonymKey;
use crate::proxy::body::EngineLoader;
use crate::proxy::core_engine::CoreLoader;

/// `deskguard serve`: run the proxy.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Configuration file (see deploy/deskguard.toml).
    #[arg(long, short, default_value = "deskguard.toml")]
    pub config: PathBuf,
    /// Overrides `log_format` from the configuration.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

/// `deskguard demo`: sample helpdesk + proxy + dev certificates on loopback.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Where the dev CA and server certificate are generated (if missing).
    #[arg(long, default_value = "certs")]
    pub certs_dir: PathBuf,
    /// Rules directory.
    #[arg(long, default_value = "rules")]
    pub rules_dir: PathBuf,
    /// Proxy port on 127.0.0.1.
    #[arg(long, default_value_t = 8443)]
    pub port: u16,
    /// Admin (metrics) port on 127.0.0.1.
    #[arg(long, default_value_t = 9464)]
    pub admin_port: u16,
    /// Log format.
    #[arg(long, value_enum, default_value = "human")]
    pub log_format: LogFormat,
}

/// The rules loader for a configuration: the core, over `rules_dir`.
pub fn engine_loader(cfg: &Config, key: PseudonymKey) -> Arc<dyn EngineLoader> {
    Arc::new(CoreLoader {
        dir: cfg.rules_dir.clone(),
        key,
    })
}

/// Worker 0's event loop (the other workers are started by `server::start`).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("tokio runtime")
}

/// Runs `serve` until SIGTERM/SIGINT; drains and returns `Ok` (exit 0).
pub fn run_serve(args: ServeArgs) -> anyhow::Result<()> {
    let cfg = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::telemetry::init_logging(args.log_format.unwrap_or(cfg.log_format));
    let key = match std::env::var(&cfg.key_env) {
        Ok(k) if k.len() >= 16 => PseudonymKey::new(k.into_bytes()),
        Ok(_) => anyhow::bail!(
            "the pseudonym key in ${} must be at least 16 bytes",
            cfg.key_env
        ),
        Err(_) => anyhow::bail!(
            "the pseudonym key environment variable ${} is not set (generate one with `openssl rand -hex 32`)",
            cfg.key_env
        ),
    };
    let loader = engine_loader(&cfg, key);
    runtime()?.block_on(async move {
        let running = crate::proxy::server::start(cfg, loader).await?;
        running.run_until_signal().await
    })
}

/// Runs the demo until Ctrl-C.
pub fn run_demo(args: DemoArgs) -> anyhow::Result<()> {
    crate::telemetry::init_logging(args.log_format);
    let certs = crate::proxy::demo::ensure_dev_certs(&args.certs_dir)?;
    runtime()?.block_on(async move {
        let desk = crate::proxy::demo::start_helpdesk(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let toml = format!(
            r#"
profile = "freshdesk"
rules_dir = {rules:?}
[[listener]]
addr = "127.0.0.1:{port}"
cert = {cert:?}
key = {key:?}
[upstream]
url = "http://{desk}"
[admin]
addr = "127.0.0.1:{admin}"
"#,
            rules = args.rules_dir.display().to_string(),
            port = args.port,
            cert = certs.cert.display().to_string(),
            key = certs.key.display().to_string(),
            admin = args.admin_port,
        );
        let cfg = Config::parse("<demo>", &toml).map_err(|e| anyhow::anyhow!("{e}"))?;
        let loader = engine_loader(&cfg, PseudonymKey::insecure_demo());
        let running = crate::proxy::server::start(cfg, loader).await?;
        let ca = certs.ca.display();
        let base = format!("https://localhost:{}", args.port);
        println!(
            r#"
deskguard demo is running (Ctrl-C to stop)
  proxy    {base}   (TLS, CA: {ca})
  helpdesk http://{desk}   (sample Freshdesk v2, in memory)
  metrics  http://127.0.0.1:{admin}/metrics

Create a ticket carrying a personnummer, a card number and a password:

  curl --cacert {ca} -sS {base}/api/v2/tickets \
    -H 'content-type: application/json' \
    -d '{{"email":"anna.svensson@example.se","subject":"Inloggning fungerar inte","description":"Mitt personnummer är 19811218-9876, kort 4111 1111 1111 1111, lösenord: Hemligt123","priority":1,"status":2}}'

Read it back (as the helpdesk stored it) and list all tickets:

  curl --cacert {ca} -sS {base}/api/v2/tickets/1
  curl --cacert {ca} -sS {base}/api/v2/tickets

See what was redacted (counts per detector, never values):

  curl -sS http://127.0.0.1:{admin}/metrics | grep -E 'deskguard_(redactions|fields_dropped|fail_closed)'
"#,
            admin = running.admin_addr.port(),
        );
        running.run_until_signal().await
    })
}
