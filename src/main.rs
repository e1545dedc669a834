use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "deskguard",
    version,
    about = "Privacy reverse proxy for support desks"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run the proxy.
    Serve(deskguard::proxy::cli::ServeArgs),
    /// Run a sample helpdesk with the proxy in front of it, on loopback.
    Demo(deskguard::proxy::cli::DemoArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let res = match cli.command {
        Commands::Serve(a) => deskguard::proxy::cli::run_serve(a),
        Commands::Demo(a) => deskguard::proxy::cli::run_demo(a),
    };
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deskguard: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
