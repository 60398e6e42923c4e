//! Group commit: writes that many callers make at once (awards, delivery outcomes) are queued, and
//! whoever gets the turn first takes everything queued and applies it in one transaction. Each caller
//! is answered only after that transaction commits, so an answer still means "durable".

use crate::{Backend, Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// At most this many queued writes go into one transaction; the rest wait for the next turn.
pub(crate) const MAX_BATCH: usize = 256;

/// How long a caller waits for its write to be taken up before giving up (as long as SQLite's own
/// busy timeout would have waited).
const TURN_TIMEOUT: Duration = Duration::from_secs(10);

/// One queue of writes of the same kind, and the lock whose holder applies them.
pub(crate) struct Queue<J> {
    jobs: std::sync::Mutex<Vec<(u64, J)>>,
    next: std::sync::atomic::AtomicU64,
    turn: Arc<Mutex<()>>,
}

impl<J> Queue<J> {
    /// A queue applied under `turn` (on SQLite the store's write turn, so batches and other
    /// writers take turns; on PostgreSQL a lock of its own, one batch at a time per process).
    pub(crate) fn new(turn: Arc<Mutex<()>>) -> Queue<J> {
        Queue {
            jobs: std::sync::Mutex::new(Vec::new()),
            next: Default::default(),
            turn,
        }
    }

    fn push(&self, job: J) -> u64 {
        let ticket = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().push((ticket, job));
        ticket
    }

    /// Takes the job back if no batch has taken it yet.
    fn withdraw(&self, ticket: u64) -> bool {
        let mut jobs = self.lock();
        let before = jobs.len();
        jobs.retain(|(t, _)| *t != ticket);
        jobs.len() < before
    }

    fn take(&self) -> Vec<J> {
        let mut jobs = self.lock();
        let n = jobs.len().min(MAX_BATCH);
        jobs.drain(..n).map(|(_, j)| j).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, J)>> {
        // A panic while holding this lock cannot leave the vector half-changed.
        self.jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Why a queued write got no answer.
fn lost() -> StoreError {
    StoreError::Database(sqlx::Error::WorkerCrashed)
}

impl Store {
    /// Queues `job` and waits for its answer on `reply`. If this caller gets the turn while writes
    /// are queued, it starts `apply` on them as one batch in a task of its own (so a caller that goes
    /// away cannot abort the others' writes); `apply` answers every job it was given and gives the
    /// turn back when it ends.
    pub(crate) async fn group_commit<J, R, F, Fut>(
        &self,
        queue: &Arc<Queue<J>>,
        job: J,
        mut reply: oneshot::Receiver<Result<R, StoreError>>,
        apply: F,
    ) -> Result<R, StoreError>
    where
        J: Send + 'static,
        F: Fn(Store, OwnedMutexGuard<()>, Vec<J>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let ticket = queue.push(job);
        let deadline = tokio::time::sleep(TURN_TIMEOUT);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                biased;
                answer = &mut reply => return answer.unwrap_or_else(|_| Err(lost())),
                turn = queue.turn.clone().lock_owned() => {
                    let jobs = queue.take();
                    if jobs.is_empty() {
                        // Ours was taken by a batch already: that batch answers.
                        drop(turn);
                        return reply.await.unwrap_or_else(|_| Err(lost()));
                    }
                    tokio::spawn(apply(self.clone(), turn, jobs));
                }
                _ = &mut deadline => {
                    if queue.withdraw(ticket) {
                        return Err(StoreError::Database(sqlx::Error::PoolTimedOut));
                    }
                    // Already taken: its batch will answer.
                    return reply.await.unwrap_or_else(|_| Err(lost()));
                }
            }
        }
    }
}

/// The error each caller of a failed batch gets (the batch's own error goes to the log once).
pub(crate) fn failed(e: &StoreError) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(format!(
        "the batch of writes this one was part of failed: {e}"
    )))
}

/// Rows per multi-row statement: well under both backends' limits on bound parameters.
pub(crate) const ROWS_PER_STATEMENT: usize = 100;

/// Placeholders for statements with many parameters, in the order they are bound: plain `?` on
/// SQLite (where binding a numbered one looks its name up in a list, so a statement of n of them
/// costs n² to bind) and `$1, $2, …` on PostgreSQL.
pub(crate) struct Params {
    numbered: bool,
    n: usize,
}

impl Params {
    pub(crate) fn new(backend: Backend) -> Params {
        Params {
            numbered: backend == Backend::Postgres,
            n: 0,
        }
    }

    pub(crate) fn next(&mut self) -> String {
        self.n += 1;
        if self.numbered {
            format!("${}", self.n)
        } else {
            "?".to_string()
        }
    }

    /// `n` placeholders, comma-separated.
    pub(crate) fn list(&mut self, n: usize) -> String {
        (0..n).map(|_| self.next()).collect::<Vec<_>>().join(", ")
    }

    /// `(…), (…)`: `rows` rows of `columns` placeholders.
    pub(crate) fn rows(&mut self, rows: usize, columns: usize) -> String {
        (0..rows)
            .map(|_| format!("({})", self.list(columns)))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::Params;
    use crate::Backend;

    #[test]
    fn placeholders_follow_the_order_of_binding() {
        assert_eq!(
            Params::new(Backend::Postgres).rows(2, 2),
            "($1, $2), ($3, $4)"
        );
        let mut p = Params::new(Backend::Sqlite);
        assert_eq!(p.list(3), "?, ?, ?");
        assert_eq!(p.rows(1, 2), "(?, ?)");
    }
}
