//! Fault injection on the Listrak routes (never on `/_sim/`): latency, error answers (500/503/429), a
//! paused integration, and drop-after-commit (the request is applied, then the connection is closed without
//! an answer). Random but reproducible: one seeded generator decides every request.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::errors::ApiError;
use crate::server::ConnectionKiller;
use crate::sim::Sim;

/// What `POST /_sim/faults` sets. Absent members mean "off".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Probability (0..=1) that a call is answered with `error_status` instead of being applied.
    pub error_rate: f64,
    /// 500 (`ERROR_UNHANDLED_EXCEPTION`), 503 (an IIS-style HTML page) or 429 (with `Retry-After: 1`).
    pub error_status: Option<u16>,
    /// Added before every Listrak call is handled.
    pub latency_ms: u64,
    /// Probability (0..=1) that an API call is applied and then its connection dropped without an answer.
    pub drop_after_commit_rate: f64,
    /// The integration is paused (or the caller's IP is not allow-listed): tokens and calls are refused.
    pub paused: bool,
}

impl FaultConfig {
    pub fn validate(&self) -> Result<(), String> {
        let rate = |name: &str, r: f64| {
            if (0.0..=1.0).contains(&r) {
                Ok(())
            } else {
                Err(format!("{name} must be within 0..=1"))
            }
        };
        rate("error_rate", self.error_rate)?;
        rate("drop_after_commit_rate", self.drop_after_commit_rate)?;
        match self.error_status {
            None | Some(500 | 503 | 429) => Ok(()),
            Some(s) => Err(format!("error_status must be 500, 503 or 429, not {s}")),
        }
    }
}

#[derive(Debug)]
struct FaultState {
    config: FaultConfig,
    rng: StdRng,
}

#[derive(Debug)]
pub struct Faults {
    inner: Mutex<FaultState>,
}

/// What happens to one request.
#[derive(Debug, Default)]
struct Decision {
    latency: Duration,
    error: Option<u16>,
    drop_after_commit: bool,
}

impl Faults {
    pub fn new(seed: Option<u64>) -> Self {
        let rng = seed.map_or_else(|| StdRng::from_rng(&mut rand::rng()), StdRng::seed_from_u64);
        Self {
            inner: Mutex::new(FaultState {
                config: FaultConfig::default(),
                rng,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn set(&self, config: FaultConfig) {
        self.lock().config = config;
    }

    pub fn get(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    pub fn paused(&self) -> bool {
        self.lock().config.paused
    }

    fn decide(&self, can_drop: bool) -> Decision {
        let mut s = self.lock();
        let c = s.config.clone();
        let error = (c.error_rate > 0.0 && s.rng.random_bool(c.error_rate))
            .then(|| c.error_status.unwrap_or(500));
        let drop_after_commit = error.is_none()
            && can_drop
            && c.drop_after_commit_rate > 0.0
            && s.rng.random_bool(c.drop_after_commit_rate);
        Decision {
            latency: Duration::from_millis(c.latency_ms),
            error,
            drop_after_commit,
        }
    }
}

fn injected_error(status: u16) -> Response {
    match status {
        429 => {
            let mut r = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(serde_json::json!({"status": 429, "message": "Too many requests."})),
            )
                .into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
        503 => {
            let mut r = (
                StatusCode::SERVICE_UNAVAILABLE,
                "<html><body><h1>Service Unavailable</h1></body></html>",
            )
                .into_response();
            r.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
            r
        }
        _ => ApiError::unhandled().into_response(),
    }
}

/// Middleware for the Listrak routes: latency (outside any lock), then an error or the real handler, then
/// possibly a dropped connection. Token requests get latency and errors but are never dropped.
pub async fn inject(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/email/");
    let decision = sim.faults.decide(is_api);
    if !decision.latency.is_zero() {
        tokio::time::sleep(decision.latency).await;
    }
    if let Some(status) = decision.error {
        return injected_error(status);
    }
    let killer = request.extensions().get::<ConnectionKiller>().cloned();
    let response = next.run(request).await;
    if !decision.drop_after_commit {
        return response;
    }
    match killer {
        // Served by `serve`: close the TCP connection; the answer is never written.
        Some(killer) => {
            killer.kill();
            std::future::pending::<Response>().await
        }
        // Embedded in someone else's server: break the body so the exchange still fails mid-answer.
        None => {
            let (parts, _) = response.into_parts();
            let broken = futures::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other(
                    "dropped after commit",
                ))
            });
            Response::from_parts(parts, Body::from_stream(broken))
        }
    }
}
