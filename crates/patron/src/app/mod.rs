//! Use cases of the binary: what the HTTP routes and the CLI call. They turn edge input into domain
//! types, call the store, and shape the answers. No HTTP and no SQL here.

pub mod backfill;
pub mod console;
pub mod dashboard;
pub mod deliveries;
pub mod integration;
pub mod ledger;
pub mod member_tokens;
pub mod members;
mod programs;
pub mod provisioning;
pub mod referrals;
pub mod rewards;
pub mod settings;

pub use members::{MemberPatch, MemberView, PointsView};
pub use programs::CreatedProgram;

use crate::config::Settings;
use crate::crypto::SecretKey;
use crate::metrics::Metrics;
use patron_domain::settings::FieldProblem;
use patron_store::{ProgramRow, Store, StoreError};
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid input")]
    Invalid(Vec<FieldProblem>),
    #[error(transparent)]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Listrak refused the credentials (wrong, paused, or this server's IP not allowed).
    #[error("{0}")]
    ListrakCredentials(String),
    /// A Listrak call failed (provisioning, backfill…).
    #[error("{message}: {source}")]
    Listrak {
        message: String,
        #[source]
        source: ::listrak::Error,
    },
    #[error("Listrak is not connected for this program")]
    NotConnected,
}

impl From<::listrak::Error> for AppError {
    fn from(source: ::listrak::Error) -> AppError {
        AppError::Listrak {
            message: "Listrak could not be used".into(),
            source,
        }
    }
}

impl AppError {
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldProblem {
            field: field.into(),
            message: message.into(),
        }])
    }
}

/// Shared state of a running Patron: the store, settings, the sealing key and metrics.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Settings,
    key: SecretKey,
    metrics: Metrics,
    mail: patron_mail::MailTransport,
    /// API key hash → program, so that authentication is not a database round trip per request.
    key_cache: RwLock<HashMap<String, (ProgramRow, Instant)>>,
    /// Opened member-token secrets by program, until one changes.
    member_secrets: RwLock<Option<Vec<(String, String)>>>,
    /// Listrak clients per program and the backfills running in this process.
    listrak: integration::ListrakRuntime,
    /// Translations, rate limits and allowed origins of the members' dashboard.
    dashboard: dashboard::Runtime,
}

const KEY_CACHE_TTL: Duration = Duration::from_secs(30);

impl App {
    pub fn new(
        store: Store,
        settings: Settings,
        key: SecretKey,
        mail: patron_mail::MailTransport,
    ) -> App {
        let metrics = Metrics::default();
        let dashboard = dashboard::Runtime::new(&settings);
        App {
            inner: Arc::new(Inner {
                store,
                settings,
                key,
                metrics,
                mail,
                key_cache: RwLock::default(),
                member_secrets: RwLock::default(),
                listrak: integration::ListrakRuntime::default(),
                dashboard,
            }),
        }
    }

    pub fn mail(&self) -> &patron_mail::MailTransport {
        &self.inner.mail
    }

    /// The one-click unsubscribe link for a member's loyalty emails.
    pub fn unsubscribe_url(&self, program_id: &str, member_id: &str) -> String {
        let token = self
            .key()
            .mac(&format!("unsubscribe:{program_id}:{member_id}"));
        format!(
            "{}/unsubscribe/{program_id}/{member_id}/{token}",
            self.settings().public_url
        )
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }
    pub fn key(&self) -> &SecretKey {
        &self.inner.key
    }
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }
    pub(crate) fn listrak_runtime(&self) -> &integration::ListrakRuntime {
        &self.inner.listrak
    }
    pub fn admin_token(&self) -> Option<&str> {
        self.inner
            .settings
            .admin_token
            .as_ref()
            .map(|t| t.expose_secret())
    }

    pub async fn program_for_key(&self, key: &str) -> Result<Option<ProgramRow>, StoreError> {
        let hash = crate::crypto::hash_key(key);
        let cached = self.inner.key_cache.read().ok().and_then(|cache| {
            cache
                .get(&hash)
                .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
                .map(|(program, _)| program.clone())
        });
        if cached.is_some() {
            return Ok(cached);
        }
        let found = self.store().program_by_key_hash(&hash).await?;
        if let (Some(program), Ok(mut cache)) = (&found, self.inner.key_cache.write()) {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(hash, (program.clone(), Instant::now()));
        }
        Ok(found)
    }
}
