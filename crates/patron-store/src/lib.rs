//! The storage port: every use case that reads or changes loyalty state, as one method of [`Store`],
//! each in one short transaction. One SQL implementation runs on SQLite (embedded default) and on
//! PostgreSQL (production, several instances) through sqlx's `Any` driver; what differs between the
//! two — migrations, write locks, row locks — lives in [`Backend`].

mod backfill;
mod console;
mod coupons;
mod delivery;
mod digest;
mod error;
mod expiry;
mod finish;
mod group_commit;
mod integrations;
mod jobs;
mod ledger;
mod members;
mod outbox;
mod programs;
mod referrals;
mod rewards;
mod rows;
pub mod testing;
mod tiers;
mod winback;

pub use backfill::{BackfillProgress, BackfillRow};
pub use console::ConsoleSession;
pub use delivery::{AttemptView, ClaimedRow, Finish};
pub use digest::DigestRun;
pub use error::{Rejection, StoreError};
pub use expiry::{ExpiryRun, ReminderRun};
pub use finish::ContactWrite;
pub use integrations::{
    ContactState, IntegrationRow, ListRoute, ListRow, ProvisionedList, status as integration_status,
};
pub use jobs::JobClaim;
pub use ledger::{
    ActivityInput, ActivityOutcome, AdjustmentInput, LedgerEntryView, ReturnInput, ReturnOutcome,
};
pub use members::{MemberInput, MemberUpsert};
pub use outbox::{DeliveryFilter, DeliveryView, NewNotification};
pub use programs::{NewProgram, ProgramRow};
pub use referrals::{ClaimInput, ClaimOutcome, InvitationOutcome};
pub use rewards::{
    CouponSourceSpec, CouponUpload, RedemptionInput, RedemptionOutcome, RewardInput, RewardPatch,
    RewardView,
};
pub use tiers::TierReview;
pub use winback::{WINBACK_BONUS, WinbackRun};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::str::FromStr;
use std::time::Duration;

/// A write transaction. On SQLite it also holds this process's turn to write, which is given back
/// when the transaction commits or is dropped.
pub struct Tx {
    tx: Transaction<'static, Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl std::ops::Deref for Tx {
    type Target = sqlx::AnyConnection;
    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// Which database a [`Store`] runs on; decides the dialect details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL `{}`: use sqlite://FILE or postgres://USER@HOST/DB",
                redact_url(url)
            )))
        }
    }

    /// Row lock suffix for a read that precedes a write of the same row.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// The database behind Patron. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time; queueing writers here, in order, is far faster than letting
    /// them collide on the file lock and back off in SQLite's busy handler. (Other processes on the
    /// same file are still kept safe by the file lock and the busy timeout.)
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Delivery outcomes waiting to be recorded together (see [`group_commit`]).
    finishes: std::sync::Arc<group_commit::Queue<finish::FinishJob>>,
    /// Awards waiting to be applied together (SQLite only).
    awards: std::sync::Arc<group_commit::Queue<ledger::AwardJob>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Connects (creating a SQLite file if it does not exist yet). Call [`Store::migrate`] next.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Connect {
            url: redact_url(&url),
            source: e,
        })?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the one writer; NORMAL sync is durable across a
                        // process kill (only an OS crash can lose the last commits).
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Connect {
                url: redact_url(&url),
                source: e,
            })?;
        let write_gate: std::sync::Arc<tokio::sync::Mutex<()>> = Default::default();
        // On SQLite a batch takes the one write turn; on PostgreSQL batches of one kind take turns
        // among themselves only.
        let turn = || match backend {
            Backend::Sqlite => write_gate.clone(),
            Backend::Postgres => Default::default(),
        };
        Ok(Store {
            pool,
            backend,
            finishes: std::sync::Arc::new(group_commit::Queue::new(turn())),
            awards: std::sync::Arc::new(group_commit::Queue::new(turn())),
            write_gate,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations of this backend that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&self.pool).await.map_err(StoreError::Migrate)
    }

    /// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite so the write lock is taken up front
    /// (no upgrade deadlocks); a plain `BEGIN` on PostgreSQL, where row locks do the ordering.
    pub(crate) async fn write_tx(&self) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => {
                // As long as SQLite's own busy timeout would have waited, and no longer.
                let turn = tokio::time::timeout(
                    Duration::from_secs(10),
                    self.write_gate.clone().lock_owned(),
                )
                .await
                .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))?;
                Tx {
                    tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                    _turn: Some(turn),
                }
            }
            Backend::Postgres => Tx {
                tx: self.pool.begin().await?,
                _turn: None,
            },
        })
    }

    /// A read-only transaction: one consistent snapshot for several reads, without taking a write turn.
    pub(crate) async fn read_tx(&self) -> Result<Tx, StoreError> {
        Ok(Tx {
            tx: self.pool.begin().await?,
            _turn: None,
        })
    }

    /// Starts a write transaction for a caller that already holds the turn (a group-commit batch).
    pub(crate) async fn write_tx_holding(
        &self,
        turn: tokio::sync::OwnedMutexGuard<()>,
    ) -> Result<Tx, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => Tx {
                tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
                _turn: Some(turn),
            },
            Backend::Postgres => Tx {
                tx: self.pool.begin().await?,
                _turn: Some(turn),
            },
        })
    }

    /// Runs one write statement in its own short write transaction, so that SQLite writers take turns
    /// instead of colliding.
    pub(crate) async fn write_one<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    ) -> Result<sqlx::any::AnyQueryResult, StoreError> {
        let mut tx = self.write_tx().await?;
        let result = query.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A trivial round trip, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Milliseconds since the epoch, the storage form of every instant.
pub(crate) fn ms(at: chrono::DateTime<chrono::Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/patron"),
            "postgres://app:***@db:5432/patron"
        );
        assert_eq!(redact_url("sqlite://patron.db"), "sqlite://patron.db");
    }
}
