//! The shared emulator: configuration, the account (behind one mutex), integrations and tokens (behind
//! another), faults, and request counters. Handlers lock briefly and never across an `.await`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::{Value, json};

use crate::SimConfig;
use crate::auth::AuthState;
use crate::faults::Faults;
use crate::state::Account;

/// One emulated Listrak account. Share it as `Arc<Sim>`; [`crate::router`] builds the HTTP surface on it.
#[derive(Debug)]
pub struct Sim {
    pub(crate) config: SimConfig,
    pub(crate) account: Mutex<Account>,
    pub(crate) auth: Mutex<AuthState>,
    pub(crate) faults: Faults,
    pub(crate) counters: Counters,
}

impl Sim {
    pub fn new(config: SimConfig) -> Self {
        let auth = AuthState::new(&config.integrations);
        let faults = Faults::new(config.seed);
        Self {
            config,
            account: Mutex::new(Account::default()),
            auth: Mutex::new(auth),
            faults,
            counters: Counters::default(),
        }
    }

    /// The account, even if a handler panicked while holding it (the data stays usable for a stand-in).
    pub(crate) fn account(&self) -> MutexGuard<'_, Account> {
        self.account
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn auth(&self) -> MutexGuard<'_, AuthState> {
        self.auth
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Number of `POST /OAuth2/Token` requests received so far (every answer counts).
    pub fn token_requests(&self) -> u64 {
        self.counters.token_requests.load(Ordering::Relaxed)
    }
}

/// Requests received per route (`"POST /email/v1/List/{listId}/Contact"`), plus totals.
#[derive(Debug, Default)]
pub struct Counters {
    pub token_requests: AtomicU64,
    pub api_requests: AtomicU64,
    pub by_route: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    pub fn count(&self, route: String) {
        let mut map = self
            .by_route
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(route).or_default() += 1;
    }

    pub fn reset(&self) {
        self.token_requests.store(0, Ordering::Relaxed);
        self.api_requests.store(0, Ordering::Relaxed);
        self.by_route
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    pub fn to_json(&self) -> Value {
        let by_route = self
            .by_route
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        json!({
            "token_requests": self.token_requests.load(Ordering::Relaxed),
            "api_requests": self.api_requests.load(Ordering::Relaxed),
            "by_route": &*by_route,
        })
    }
}
