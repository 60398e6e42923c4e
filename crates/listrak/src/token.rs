//! The token provider: one bearer token per credential pair, fetched with a form-encoded client-credentials
//! request, replaced ahead of expiry, and refreshed by one caller at a time however many wait (single
//! flight). A caller that got a 401 invalidates only the token it used, so a burst of 401s costs one refresh.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::config::Credentials;
use crate::error::Error;

#[derive(Debug, Clone)]
struct Cached {
    token: Arc<str>,
    refresh_at: Instant,
}

#[derive(Debug)]
pub(crate) struct TokenProvider {
    http: reqwest::Client,
    url: String,
    credentials: Credentials,
    margin: Duration,
    current: tokio::sync::Mutex<Option<Cached>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: u64,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: String,
}

impl TokenProvider {
    pub(crate) fn new(
        http: reqwest::Client,
        auth_url: &str,
        credentials: Credentials,
        margin: Duration,
    ) -> Self {
        Self {
            http,
            url: format!("{}/OAuth2/Token", auth_url.trim_end_matches('/')),
            credentials,
            margin,
            current: tokio::sync::Mutex::new(None),
        }
    }

    /// A valid token, fetched if there is none or it is about to expire.
    pub(crate) async fn token(&self) -> Result<Arc<str>, Error> {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(cached.token.clone());
        }
        // Fetched while holding the lock: everyone else waits for this one request.
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    /// Forgets `stale` (a token Listrak just refused), unless someone already replaced it.
    pub(crate) async fn invalidate(&self, stale: &str) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| &*c.token == stale) {
            *current = None;
        }
    }

    async fn fetch(&self) -> Result<Cached, Error> {
        const OPERATION: &str = "token request";
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.credentials.client_id.as_str()),
            (
                "client_secret",
                self.credentials.client_secret.expose_secret(),
            ),
        ];
        let started = Instant::now();
        let response = self
            .http
            .post(&self.url)
            .form(&form)
            .send()
            .await
            .map_err(|e| crate::transport::send_error(OPERATION, e))?;
        let status = response.status().as_u16();
        let retry_after = crate::transport::retry_after(response.headers());
        let body = response
            .bytes()
            .await
            .map_err(|source| Error::MaybeApplied {
                operation: OPERATION,
                source,
            })?;
        if (200..300).contains(&status) {
            let answer: TokenAnswer =
                serde_json::from_slice(&body).map_err(|source| Error::Decode {
                    operation: OPERATION,
                    status,
                    source,
                })?;
            let lifetime = Duration::from_secs(answer.expires_in);
            let refresh_at = started + lifetime - self.margin.min(lifetime / 2);
            tracing::debug!(expires_in = answer.expires_in, "listrak: new access token");
            return Ok(Cached {
                token: answer.access_token.into(),
                refresh_at,
            });
        }
        match serde_json::from_slice::<TokenRefusal>(&body) {
            Ok(refusal) if (400..500).contains(&status) => {
                tracing::warn!(status, error = %refusal.error, "listrak: token request refused");
                Err(Error::Credentials {
                    status,
                    error: refusal.error,
                })
            }
            _ => Err(Error::Status {
                operation: OPERATION,
                status,
                retry_after,
                body: crate::transport::snippet(&body),
            }),
        }
    }
}
