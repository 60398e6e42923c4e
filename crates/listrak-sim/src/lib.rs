//! The Listrak Email API emulator: a faithful, in-memory stand-in for the part of Listrak that Patron
//! speaks (`POST /OAuth2/Token` and `/email/v1/...` on one port), with Listrak's envelopes, error codes and
//! rules, plus a control surface under `/_sim/` for demos, tests and benchmarks. Run it with
//! `patron listrak-sim` ([`SimArgs`], [`run`]), serve it on your own listener ([`serve`]), embed its
//! [`router`], or start one on a free port for a test ([`spawn_for_tests`]).

mod auth;
mod body;
mod control;
mod errors;
mod faults;
mod import;
mod routes;
mod server;
mod sim;
mod state;
mod upsert;
mod values;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use auth::{Scope, Scopes};
pub use faults::FaultConfig;
pub use sim::Sim;

/// The access levels an integration gets when none are named.
pub const DEFAULT_SCOPES: &str = "List,Contact,Event,Segmentation,Report";

/// Listrak accepts request bodies up to 250 MB (a list import of about 185 MB).
const BODY_LIMIT: usize = 250 * 1024 * 1024;

/// How the emulator behaves; integrations can also be added later through `POST /_sim/integrations`.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Lifetime of issued tokens (`expires_in`); Listrak's is 3599 s.
    pub token_ttl: Duration,
    /// Seed for fault decisions, so a faulty run can be replayed.
    pub seed: Option<u64>,
    /// `(client_id, client_secret, scopes)` known from the start.
    pub integrations: Vec<(String, String, Scopes)>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            token_ttl: Duration::from_secs(3599),
            seed: None,
            integrations: Vec::new(),
        }
    }
}

impl SimConfig {
    /// Adds an integration with the default access levels.
    #[must_use]
    pub fn with_integration(mut self, client_id: &str, client_secret: &str) -> Self {
        let scopes = Scopes::parse_list(DEFAULT_SCOPES).unwrap_or_default();
        self.integrations
            .push((client_id.to_owned(), client_secret.to_owned(), scopes));
        self
    }
}

/// The emulator's whole HTTP surface on `sim`: Listrak's routes, `/_sim/`, and Listrak's answers for unknown
/// routes and wrong methods. Dropped-after-commit connections need [`serve`]; under another server the
/// answer's body is broken instead.
pub fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .merge(routes::listrak_routes(sim.clone()))
        .merge(control::control_routes())
        .fallback(routes::unknown_route)
        .method_not_allowed_fallback(routes::unsupported_method)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(sim)
}

/// Serves a new emulator on `listener` until `shutdown` completes, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SimConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_sim(listener, Arc::new(Sim::new(config)), shutdown).await
}

/// Like [`serve`], for an emulator the caller keeps a handle on (to read counters, say).
pub async fn serve_sim(
    listener: tokio::net::TcpListener,
    sim: Arc<Sim>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve_router(listener, router(sim), shutdown).await
}

/// Why `patron listrak-sim` could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid listrak-sim arguments: {0}")]
    InvalidArgs(String),
    #[error("could not listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the emulator stopped with an error")]
    Serve(#[source] std::io::Error),
}

/// Listrak emulator: a faithful, in-memory stand-in for the Listrak Email API.
///
/// Serves `POST /OAuth2/Token` and `/email/v1/...` on one port with Listrak's envelopes, error codes and
/// rules (unique event names, 201-vs-200 upserts, unsubscribed contacts refuse events, value formats,
/// access levels, token expiry), so staging, demos, tests and benchmarks can run without a Listrak account.
/// Point Patron at it with `PATRON_LISTRAK_AUTH_URL=http://<listen>` and
/// `PATRON_LISTRAK_API_URL=http://<listen>/email`.
///
/// Everything lives in memory and is lost on exit. The control surface lives under `/_sim/`:
/// `POST /_sim/integrations`, `GET /_sim/state`, `GET /_sim/raised`, `GET|POST /_sim/faults`,
/// `POST /_sim/contacts/unsubscribe`, `POST /_sim/tokens/expire`, `POST /_sim/reset`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    about = "Listrak emulator: a faithful, in-memory stand-in for the Listrak Email API (control surface under /_sim/)"
)]
pub struct SimArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8099")]
    pub listen: SocketAddr,
    /// Lifetime of issued tokens, in seconds (Listrak: 3599).
    #[arg(long, default_value_t = 3599, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,
    /// Seed for random faults, to replay a run.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Client ID of an integration to create at start (more via POST /_sim/integrations).
    #[arg(long, requires = "client_secret")]
    pub client_id: Option<String>,
    /// Client secret of that integration.
    #[arg(long, requires = "client_id")]
    pub client_secret: Option<String>,
    /// Access levels of that integration, comma-separated.
    #[arg(long, default_value = DEFAULT_SCOPES)]
    pub scopes: String,
}

impl SimArgs {
    pub fn config(&self) -> Result<SimConfig, SimError> {
        let scopes = Scopes::parse_list(&self.scopes).map_err(SimError::InvalidArgs)?;
        let integrations = match (&self.client_id, &self.client_secret) {
            (Some(id), Some(secret)) => vec![(id.clone(), secret.clone(), scopes)],
            _ => Vec::new(),
        };
        Ok(SimConfig {
            token_ttl: Duration::from_secs(self.token_ttl),
            seed: self.seed,
            integrations,
        })
    }
}

/// `patron listrak-sim`: binds `--listen` and serves until Ctrl-C.
pub async fn run(args: SimArgs) -> Result<(), SimError> {
    let config = args.config()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(args.listen);
    tracing::info!(%addr, "listrak-sim listening (token at /OAuth2/Token, API at /email/v1, control at /_sim/)");
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("listrak-sim stopping");
    };
    serve(listener, config, shutdown)
        .await
        .map_err(SimError::Serve)
}

/// A running emulator for tests: its address, the emulator itself, and a way to stop it.
#[derive(Debug)]
pub struct SimHandle {
    /// `http://127.0.0.1:<port>`: the auth base URL; the API base is [`SimHandle::api_url`].
    pub base_url: String,
    pub addr: SocketAddr,
    pub sim: Arc<Sim>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl SimHandle {
    /// The auth base URL (the client appends `/OAuth2/Token`).
    pub fn auth_url(&self) -> String {
        self.base_url.clone()
    }

    /// The API base URL (the client appends `/v1/...`).
    pub fn api_url(&self) -> String {
        format!("{}/email", self.base_url)
    }

    /// Stops the emulator and waits for it.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts an emulator on `127.0.0.1:0` for a test.
///
/// # Panics
/// When no loopback port can be bound (a test cannot go on without it).
pub async fn spawn_for_tests(config: SimConfig) -> SimHandle {
    #[allow(clippy::expect_used)]
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listrak-sim: bind 127.0.0.1:0");
    #[allow(clippy::expect_used)]
    let addr = listener.local_addr().expect("listrak-sim: local address");
    let sim = Arc::new(Sim::new(config));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(serve_sim(listener, sim.clone(), async {
        let _ = rx.await;
    }));
    SimHandle {
        base_url: format!("http://{addr}"),
        addr,
        sim,
        shutdown: Some(tx),
        task: Some(task),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        sim: SimArgs,
    }

    #[test]
    fn arguments_default_to_listrak_token_lifetime_and_patron_scopes() {
        let cli = Cli::parse_from(["x", "--client-id", "id", "--client-secret", "s"]);
        let config = cli.sim.config().expect("valid");
        assert_eq!(cli.sim.listen.to_string(), "127.0.0.1:8099");
        assert_eq!(config.token_ttl, Duration::from_secs(3599));
        let (_, _, scopes) = &config.integrations[0];
        assert_eq!(
            scopes.names(),
            ["List", "Contact", "Event", "Segmentation", "Report"]
        );
    }

    #[test]
    fn a_client_id_without_a_secret_is_refused() {
        assert!(Cli::try_parse_from(["x", "--client-id", "id"]).is_err());
    }
}
