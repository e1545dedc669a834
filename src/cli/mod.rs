//! Command-line subcommands that work on the core alone: `redact`,
//! `explain`, `rules check`, `rules test`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};

pub mod healthcheck;

use crate::core::{redact_all, Direction, Format, PseudonymKey, Redactor, Ruleset, StreamSpec};
use crate::rules_dir;

/// Body format on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Free text.
    Text,
    /// HTML (tags separate tokens, entities decoded, markup kept).
    Html,
    /// One JSON document.
    Json,
    /// One JSON value per line, each redacted independently.
    Jsonl,
    /// multipart/form-data (needs --boundary): text parts follow the
    /// route's field policy by form field name, binary file parts pass or
    /// are refused by its `attachments`.
    Multipart,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Html => Format::Html,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Multipart => Format::Multipart,
        }
    }
}

/// Which way the body travels.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DirectionArg {
    Request,
    Response,
}

/// Options shared by `redact` and `explain`.
#[derive(Debug, Args)]
pub struct RedactArgs {
    /// Rules directory (detectors, policies, gazetteers).
    #[arg(long, default_value = "rules")]
    pub rules: PathBuf,
    /// Input format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: FormatArg,
    /// The boundary of a multipart/form-data body (the `boundary`
    /// parameter of its Content-Type, without quotes); required with
    /// --format multipart.
    #[arg(long, required_if_eq("format", "multipart"))]
    pub boundary: Option<String>,
    /// Helpdesk profile whose field policies apply (e.g. freshdesk); without
    /// it, every JSON string value is scanned.
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Route as "METHOD /path", e.g. "POST /api/v2/tickets".
    #[arg(long, default_value = "* /")]
    pub route: String,
    /// Direction of the body.
    #[arg(long, value_enum, default_value = "request")]
    pub direction: DirectionArg,
    /// Audience whose policies apply (agent, integration, reporting,
    /// customer, unknown); without it, only policies for everybody apply.
    #[arg(long)]
    pub audience: Option<String>,
    /// Environment variable holding the pseudonymisation key for `hash` actions.
    #[arg(long, default_value = "DESKGUARD_PSEUDONYM_KEY")]
    pub key_env: String,
}

impl RedactArgs {
    fn spec(&self) -> anyhow::Result<StreamSpec<'_>> {
        let (method, path) = self
            .route
            .split_once(' ')
            .context("--route must be \"METHOD /path\"")?;
        let direction = match self.direction {
            DirectionArg::Request => Direction::Request,
            DirectionArg::Response => Direction::Response,
        };
        Ok(StreamSpec {
            format: self.format.into(),
            profile: &self.profile,
            method,
            path: path.split('?').next().unwrap_or(path),
            direction,
            audience: self.audience.as_deref(),
        })
    }

    /// A redactor for the input (multipart bodies with their boundary).
    fn redactor(&self, rules: &Arc<Ruleset>, key: &PseudonymKey) -> anyhow::Result<Redactor> {
        let spec = self.spec()?;
        Ok(match self.format {
            FormatArg::Multipart => rules.multipart_redactor(&spec, self.boundary.as_deref(), key),
            _ => rules.redactor(&spec, key),
        })
    }
}

/// Loads and compiles a rules directory, with errors as `file:line: reason`.
pub fn load_rules(dir: &Path) -> anyhow::Result<Arc<Ruleset>> {
    let sources = rules_dir::load(dir)?;
    Ruleset::compile(&sources)
        .map(Arc::new)
        .map_err(|e| anyhow::anyhow!("invalid rules in {}:\n{e}", dir.display()))
}

/// The pseudonymisation key from the environment, or the public demo key
/// (with a warning: its pseudonyms are guessable).
pub fn key_from_env(var: &str) -> PseudonymKey {
    match std::env::var(var) {
        Ok(k) if !k.is_empty() => PseudonymKey::new(k.into_bytes()),
        _ => {
            eprintln!("deskguard: warning: ${var} is not set; `hash` uses the public demo key (pseudonyms are guessable)");
            PseudonymKey::insecure_demo()
        }
    }
}

/// `deskguard redact`: stdin → stdout, streaming.
pub fn redact(args: &RedactArgs) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
    let key = key_from_env(&args.key_env);
    let mut redactor = args.redactor(&rules, &key)?;
    let mut stdin = std::io::stdin().lock();
    let mut stdout = std::io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = Vec::with_capacity(buf.len() + 1024);
    loop {
        let n = stdin.read(&mut buf).context("reading stdin")?;
        out.clear();
        let result = if n == 0 {
            redactor.finish(&mut out)
        } else {
            redactor.push(&buf[..n], &mut out)
        };
        stdout.write_all(&out).context("writing stdout")?;
        // `redact` reports no findings: let them go, so memory stays flat
        // however much personal data a long stream carries.
        drop(redactor.take_findings());
        if let Err(e) = result {
            stdout.flush().ok();
            eprintln!("deskguard: {e}");
            return Ok(ExitCode::from(2));
        }
        if n == 0 {
            break;
        }
    }
    stdout.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `deskguard explain`: findings as JSON lines; values only on request.
pub fn explain(args: &RedactArgs, show_values: bool) -> anyhow::Result<ExitCode> {
    let rules = load_rules(&args.rules)?;
    let key = key_from_env(&args.key_env);
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .context("reading stdin")?;
    let mut redactor = args.redactor(&rules, &key)?;
    let mut out = Vec::with_capacity(input.len());
    if let Err(e) = redactor
        .push(&input, &mut out)
        .and_then(|_| redactor.finish(&mut out))
    {
        eprintln!("deskguard: {e}");
        return Ok(ExitCode::from(2));
    }
    let findings = redactor.take_findings();
    let mut stdout = std::io::stdout().lock();
    for f in findings {
        let mut line = serde_json::to_value(&f)?;
        if show_values {
            let value = input
                .get(f.start as usize..f.end as usize)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            line["value"] = serde_json::Value::String(value.into_owned());
        }
        writeln!(stdout, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `deskguard rules check DIR`.
pub fn rules_check(dir: &Path) -> anyhow::Result<ExitCode> {
    let sources = rules_dir::load(dir)?;
    match Ruleset::compile(&sources) {
        Ok(r) => {
            let detectors = r.detector_ids().count();
            println!(
                "ok: {} files, {detectors} detectors, {} policies, version {}",
                sources.len(),
                r.policies().len(),
                r.version()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                let path = dir.join(&e.file);
                eprintln!("{}:{}: {}", path.display(), e.line, e.reason);
            }
            eprintln!("{} error(s); rules not valid", errors.0.len());
            Ok(ExitCode::from(1))
        }
    }
}

/// `deskguard rules test DIR`: runs every rule's own examples through the
/// full engine (all detectors, text mode).
pub fn rules_test(dir: &Path) -> anyhow::Result<ExitCode> {
    let rules = load_rules(dir)?;
    let key = PseudonymKey::insecure_demo();
    let spec = StreamSpec::plain(Format::Text);
    let (mut passed, mut failed) = (0, 0);
    for ex in rules.examples() {
        let found = match redact_all(&rules, &spec, &key, ex.text.as_bytes()) {
            Ok((_, findings)) => findings.iter().any(|f| f.detector == ex.detector),
            Err(e) => {
                println!(
                    "FAIL {}:{} {}: {:?}: {e}",
                    ex.file, ex.line, ex.detector, ex.text
                );
                failed += 1;
                continue;
            }
        };
        if found == ex.must_match {
            passed += 1;
        } else {
            failed += 1;
            let want = if ex.must_match {
                "must match"
            } else {
                "must not match"
            };
            println!(
                "FAIL {}:{} {} {want}: {:?}",
                ex.file, ex.line, ex.detector, ex.text
            );
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
