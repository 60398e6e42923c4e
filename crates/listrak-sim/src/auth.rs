//! Integrations, OAuth2 client-credentials tokens and access levels ("scopes"): `POST /OAuth2/Token`
//! exactly as Listrak answers it, and the bearer check every API route makes (401 `ERROR_UNAUTHORIZED` for
//! a missing, unknown or expired token, a paused integration, or a missing access level).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::json;

use crate::body::parse_form;
use crate::errors::ApiError;
use crate::sim::Sim;

/// An access level chosen on the integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    List,
    Contact,
    Event,
    Segmentation,
    Report,
    Message,
}

impl Scope {
    const ALL: [(Self, &'static str); 6] = [
        (Self::List, "List"),
        (Self::Contact, "Contact"),
        (Self::Event, "Event"),
        (Self::Segmentation, "Segmentation"),
        (Self::Report, "Report"),
        (Self::Message, "Message"),
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(s))
            .map(|(v, _)| *v)
    }

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(v, _)| *v == self)
            .map_or("", |(_, n)| n)
    }
}

/// A set of access levels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    /// Parses `"List,Contact,…"`; unknown names are an error naming them.
    pub fn parse_list(list: &str) -> Result<Self, String> {
        list.split(',')
            .filter(|s| !s.trim().is_empty())
            .try_fold(Self(0), |acc, s| {
                Scope::parse(s)
                    .map(|sc| Self(acc.0 | sc.bit()))
                    .ok_or_else(|| format!("unknown scope {s:?}"))
            })
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    pub fn names(self) -> Vec<&'static str> {
        Scope::ALL
            .iter()
            .filter(|(s, _)| self.contains(*s))
            .map(|(_, n)| *n)
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct Integration {
    pub secret: String,
    pub scopes: Scopes,
}

#[derive(Debug, Clone)]
struct Token {
    client_id: Arc<str>,
    scopes: Scopes,
    expires_at: Instant,
}

/// Integrations by client id, and the tokens issued to them.
#[derive(Debug, Default)]
pub struct AuthState {
    pub integrations: HashMap<String, Integration>,
    tokens: HashMap<String, Token>,
}

impl AuthState {
    pub fn new(integrations: &[(String, String, Scopes)]) -> Self {
        let mut state = Self::default();
        for (id, secret, scopes) in integrations {
            state.add(id.clone(), secret.clone(), *scopes);
        }
        state
    }

    pub fn add(&mut self, client_id: String, secret: String, scopes: Scopes) {
        self.tokens.retain(|_, t| *t.client_id != *client_id);
        self.integrations
            .insert(client_id, Integration { secret, scopes });
    }

    /// Makes every issued token expired now (what an hour of waiting would do).
    pub fn expire_all(&mut self) -> usize {
        let n = self.tokens.len();
        self.tokens.clear();
        n
    }

    fn issue(&mut self, client_id: &str, scopes: Scopes, ttl: std::time::Duration) -> String {
        let now = Instant::now();
        if self.tokens.len() > 10_000 {
            self.tokens.retain(|_, t| t.expires_at > now);
        }
        let token: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(64)
            .map(char::from)
            .collect();
        let token = format!("sim_{token}");
        self.tokens.insert(
            token.clone(),
            Token {
                client_id: client_id.into(),
                scopes,
                expires_at: now + ttl,
            },
        );
        token
    }
}

impl Sim {
    /// The bearer check made by every API route, with the access level the route needs.
    pub(crate) fn authorize(&self, headers: &HeaderMap, scope: Scope) -> Result<(), ApiError> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(ApiError::unauthorized)?;
        if self.faults.paused() {
            return Err(ApiError::unauthorized());
        }
        let auth = self.auth();
        let token = auth.tokens.get(bearer).ok_or_else(ApiError::unauthorized)?;
        if token.expires_at <= Instant::now() || !auth.integrations.contains_key(&*token.client_id)
        {
            return Err(ApiError::unauthorized());
        }
        if !token.scopes.contains(scope) {
            return Err(ApiError::unauthorized());
        }
        Ok(())
    }
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

/// `POST /OAuth2/Token`: form-encoded client credentials in, `{"access_token","token_type","expires_in"}` out.
pub async fn token(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Response {
    sim.counters.token_requests.fetch_add(1, Ordering::Relaxed);
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    // A JSON body is read as an empty form: no grant_type, which OWIN answers like this.
    let form = if is_form {
        parse_form(&String::from_utf8_lossy(&body))
    } else {
        Vec::new()
    };
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if field("grant_type") != Some("client_credentials") {
        return token_error("unsupported_grant_type");
    }
    let (Some(client_id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return token_error("Invalid Credentials");
    };
    if sim.faults.paused() {
        return token_error("Invalid Credentials");
    }
    let ttl = sim.config.token_ttl;
    let mut auth = sim.auth();
    let scopes = match auth.integrations.get(client_id) {
        Some(i) if i.secret == secret => i.scopes,
        _ => return token_error("Invalid Credentials"),
    };
    let access_token = auth.issue(client_id, scopes, ttl);
    drop(auth);
    Json(json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": ttl.as_secs(),
    }))
    .into_response()
}
