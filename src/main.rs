//! The `deskguard` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use deskguard::cli::{self, RedactArgs};

/// deskguard — a privacy reverse proxy for support desks.
///
/// It redacts personal data (Nordic national IDs, cards, IBANs, passwords,
/// tokens, names, …) from helpdesk traffic, drops fields no purpose needs,
/// and tags tickets with their GDPR legal basis. The redaction core also
/// runs on its own, on stdin/stdout:
///
///   deskguard redact --format json < ticket.json
///   deskguard explain --format text < mail.txt
///   deskguard rules test rules/
#[derive(Debug, Parser)]
#[command(name = "deskguard", version, about, long_about, verbatim_doc_comment)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Probe an admin endpoint over plain HTTP (exit 0 on 2xx, 1 otherwise):
    /// the container image's HEALTHCHECK, which has no shell or curl.
    Healthcheck(cli::healthcheck::HealthcheckArgs),
    /// Redact stdin to stdout, streaming (exit 2 on invalid input).
    Redact(RedactArgs),
    /// Print what would be redacted, as JSON lines (detector, field path,
    /// byte offsets, action). Values are never printed unless --show-values.
    Explain {
        #[command(flatten)]
        args: RedactArgs,
        /// Also print each finding's value (for tuning on test data only).
        #[arg(long)]
        show_values: bool,
    },
    /// Validate or test a rules directory.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Run the proxy (TLS listeners, upstream, admin endpoint, hot reload).
    Serve(deskguard::proxy::cli::ServeArgs),
    /// Run a sample Freshdesk-like helpdesk with the proxy in front of it,
    /// on loopback, with generated dev certificates.
    Demo(deskguard::proxy::cli::DemoArgs),
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Validate rule files: syntax, regexes, validators, actions, duplicate
    /// ids. Errors name file, line and reason; exit 1 on error.
    Check { dir: PathBuf },
    /// Run every rule's must_match / must_not_match examples; prints
    /// "N passed, N failed"; exit 1 on any failure.
    Test { dir: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Healthcheck(args) => cli::healthcheck::healthcheck(args),
        Command::Redact(args) => cli::redact(args),
        Command::Explain { args, show_values } => cli::explain(args, *show_values),
        Command::Rules(RulesCommand::Check { dir }) => cli::rules_check(dir),
        Command::Rules(RulesCommand::Test { dir }) => cli::rules_test(dir),
        Command::Serve(args) => {
            deskguard::proxy::cli::run_serve(args.clone()).map(|()| ExitCode::SUCCESS)
        }
        Command::Demo(args) => {
            deskguard::proxy::cli::run_demo(args.clone()).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("deskguard: {e:#}");
            ExitCode::from(1)
        }
    }
}
