//! The `patron` command line.

use crate::config::{DEFAULT_TOML, Settings};
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

const ABOUT: &str =
    "Patron: a self-hosted loyalty engine whose member emails go out through Listrak.";

const LONG_ABOUT: &str = "Patron: a self-hosted loyalty engine whose member emails go out through Listrak.

Your store reports what customers do (sign-ups, purchases, returns, reviews, referrals); Patron keeps the points ledger, tiers, rewards, referrals, expiry and win-back, and turns every moment worth an email into a Listrak event (or, until you connect Listrak, an email of its own).

Start here:
  patron serve                       run the API, workers and scheduler on ./patron.db
  patron program create --name Shop  create a program and print its API key
  patron config                      print every setting with its default and its PATRON_* variable

Settings come from the built-in defaults, then --config FILE, then PATRON_* environment variables.
The Listrak emulator (`patron listrak-sim`) stands in for Listrak in staging and demos.";

#[derive(Debug, Parser)]
#[command(name = "patron", version, about = ABOUT, long_about = LONG_ABOUT)]
pub struct Cli {
    /// A TOML file whose settings override the defaults (see `patron config`).
    #[arg(long, global = true, value_name = "FILE", env = "PATRON_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API, the delivery workers and the job scheduler (SQLite file by default).
    ///
    /// Creates and migrates the database on first start. Stops gracefully on Ctrl-C or SIGTERM:
    /// requests in progress finish, and nothing accepted is lost.
    Serve,
    /// Apply database migrations and exit (for deployments that migrate before starting instances).
    Migrate,
    /// Manage programs (tenants). Each program has its own members, settings and API key.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Run the Listrak emulator: a faithful, in-memory stand-in for the Listrak Email API.
    ///
    /// For staging, demos, tests and benchmarks without a Listrak account. Point Patron at it with
    /// PATRON_LISTRAK_AUTH_URL=http://<listen> and PATRON_LISTRAK_API_URL=http://<listen>/email.
    /// Its control surface lives under /_sim/ (state, raised events, faults, unsubscribes, reset).
    ListrakSim(listrak_sim::SimArgs),
    /// Print the configuration file with every setting, its default and what it does.
    Config,
    /// Listrak operations: backfill existing members into the provisioned lists.
    #[command(subcommand)]
    Listrak(ListrakCommand),
    /// Export data, e.g. members as CSV in Listrak's import format.
    #[command(subcommand)]
    Export(ExportCommand),
    /// See it work: Patron and the Listrak emulator in one process on a temporary database, a scripted
    /// member story raising every event, then a table of what Listrak received.
    Demo,
}

#[derive(Debug, Subcommand)]
pub enum ListrakCommand {
    /// Import every existing member into every provisioned list (ListImport: no events, no journeys, no
    /// notification emails). Resumes where an interrupted run stopped.
    Backfill {
        /// The program's id (see `patron program list`).
        #[arg(long)]
        program: String,
        /// Members per import file.
        #[arg(long, default_value_t = 1000)]
        chunk_size: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Members as CSV with the columns of Listrak's import: Email, ExternalContactID, every profile field.
    Members {
        #[arg(long)]
        program: String,
        /// CSV (the only format for now; the flag makes the command read as what it does).
        #[arg(long, default_value_t = true)]
        csv: bool,
        /// Write to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// Create a program and print its API key and member-token secret (shown once: keep them).
    Create {
        /// The program's name, e.g. your store's.
        #[arg(long)]
        name: String,
    },
    /// List programs (never their keys).
    List,
    /// Issue a password for the admin console (`/admin`), to sign in with instead of the API key. Shown
    /// once; issuing another replaces it and signs the program's console sessions out.
    ConsolePassword {
        /// The program's id (see `patron program list`).
        #[arg(long)]
        program: String,
    },
}

pub async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Config => {
            print!("{DEFAULT_TOML}");
            return Ok(());
        }
        Command::ListrakSim(args) => {
            init_logging("info");
            return Ok(listrak_sim::run(args).await?);
        }
        Command::Demo => {
            init_logging("warn");
            return crate::demo::run().await;
        }
        _ => {}
    }
    let settings = Settings::load(cli.config.as_deref())?;
    init_logging(&settings.log);
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            crate::startup::open_store(&settings).await?;
            println!(
                "Migrations applied to {}.",
                patron_store::redact_url(&settings.database_url)
            );
            Ok(())
        }
        Command::Program(ProgramCommand::Create { name }) => {
            let app = crate::startup::build_app(settings).await?;
            let created = app
                .create_program(&name)
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            println!("Created program {} ({}).", created.name, created.id);
            println!();
            println!("API key:             {}", created.api_key);
            println!("Member token secret: {}", created.member_token_secret);
            println!();
            println!(
                "Both are shown only now. Use the API key as `Authorization: Bearer <API key>`."
            );
            Ok(())
        }
        Command::Program(ProgramCommand::List) => {
            let app = crate::startup::build_app(settings).await?;
            for p in app.store().list_programs().await? {
                println!("{}\t{}\t{}", p.id, p.channel, p.name);
            }
            Ok(())
        }
        Command::Program(ProgramCommand::ConsolePassword { program }) => {
            let app = crate::startup::build_app(settings).await?;
            let issued = app
                .issue_console_password(&program)
                .await
                .map_err(|e| anyhow::anyhow!("{}", describe(e)))?;
            println!("Console password: {}", issued.console_password);
            println!();
            println!(
                "Shown only now. Sign in at {}/admin with it.",
                app.settings().public_url
            );
            Ok(())
        }
        Command::Listrak(ListrakCommand::Backfill {
            program,
            chunk_size,
        }) => {
            let app = crate::startup::build_app(settings).await?;
            crate::listrak_cli::backfill(&app, &program, chunk_size).await
        }
        Command::Export(ExportCommand::Members {
            program, output, ..
        }) => {
            let app = crate::startup::build_app(settings).await?;
            crate::listrak_cli::export_members(&app, &program, output.as_deref()).await
        }
        Command::Config | Command::ListrakSim(_) | Command::Demo => Ok(()),
    }
}

fn describe(e: crate::app::AppError) -> String {
    match e {
        crate::app::AppError::Invalid(problems) => problems
            .iter()
            .map(|p| format!("{}: {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => format!("{other:#}"),
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

async fn serve(settings: Settings) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e}; set PATRON_LISTEN to a free address",
                settings.listen
            )
        })?;
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing requests in progress");
        signal.cancel();
    });
    tracing::info!(
        listen = %settings.listen,
        database = %patron_store::redact_url(&settings.database_url),
        "Patron is running: API at http://{}/v1, docs at http://{}/openapi.json",
        settings.listen,
        settings.listen
    );
    crate::startup::run(settings, listener, shutdown).await
}

async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
