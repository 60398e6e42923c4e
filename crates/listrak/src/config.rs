//! How to reach Listrak: base URLs (auth and API separately), an optional HTTP(S) proxy for integrations
//! restricted to allow-listed IPs, timeouts, pacing, and the credentials (the secret stays a
//! [`SecretString`], redacted in `Debug`).

use std::time::Duration;

use secrecy::SecretString;

/// An integration's Client ID and Client Secret.
#[derive(Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
}

impl Credentials {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: SecretString::from(client_secret.into()),
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .finish()
    }
}

/// Connection settings; [`ClientConfig::default`] targets the real Listrak.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Base of the token endpoint; the client appends `/OAuth2/Token`.
    pub auth_url: String,
    /// Base of the Email API; the client appends `/v1/...`.
    pub api_url: String,
    /// `http://host:port` or `https://…` proxy every call goes through (a fixed egress IP to allow-list).
    pub proxy: Option<String>,
    pub connect_timeout: Duration,
    /// Whole-request timeout (connect, send, answer).
    pub request_timeout: Duration,
    /// Client-side pacing, in requests per second; `None` for no limit. Slows down after a 429 either way.
    pub requests_per_second: Option<f64>,
    /// How long before expiry a token is replaced (capped at half the token's lifetime).
    pub token_refresh_margin: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            auth_url: "https://auth.listrak.com".to_owned(),
            api_url: "https://api.listrak.com/email".to_owned(),
            proxy: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            requests_per_second: None,
            token_refresh_margin: Duration::from_secs(60),
        }
    }
}

impl ClientConfig {
    /// The default settings with other base URLs (the emulator, a staging proxy…).
    pub fn with_urls(auth_url: impl Into<String>, api_url: impl Into<String>) -> Self {
        Self {
            auth_url: auth_url.into(),
            api_url: api_url.into(),
            ..Self::default()
        }
    }
}
