//! Recording delivery outcomes: each attempt's outcome, its attempt row and the Listrak contact state it
//! leaves behind, fenced on the claim. Outcomes finished at the same time share one transaction
//! (group commit); each caller is answered once it has committed.

use crate::delivery::{ClaimedRow, Finish};
use crate::group_commit::{self, Params, ROWS_PER_STATEMENT};
use crate::{ContactState, Store, StoreError, ms};
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;
use std::collections::BTreeMap;
use tokio::sync::{OwnedMutexGuard, oneshot};

/// The Listrak contact state an attempt leaves behind (what Patron last told Listrak about one member
/// on one list), recorded with the attempt's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactWrite {
    pub list_id: String,
    pub member_id: String,
    pub state: ContactState,
}

/// An outcome waiting in the group-commit queue.
pub(crate) struct FinishJob {
    id: i64,
    lease: String,
    program_id: String,
    claimed_at: DateTime<Utc>,
    finish: Finish,
    contact: Option<ContactWrite>,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

async fn apply_finishes(store: Store, turn: OwnedMutexGuard<()>, mut jobs: Vec<FinishJob>) {
    jobs.sort_by_key(|j| j.id);
    match store.record_finishes(turn, &jobs).await {
        Ok(held) => {
            for (job, held) in jobs.into_iter().zip(held) {
                let _ = job.reply.send(Ok(held));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, rows = jobs.len(), "recording delivery outcomes failed");
            for job in jobs {
                let _ = job.reply.send(Err(group_commit::failed(&e)));
            }
        }
    }
}

/// The columns an outcome sets, and the attempt it logs.
struct FinishUpdate {
    status: &'static str,
    next_at: Option<i64>,
    error: Option<String>,
    attempted: i64,
    ambiguous: i64,
    finished_at: Option<i64>,
    outcome: &'static str,
    detail: String,
}

impl FinishUpdate {
    fn of(finish: &Finish, now: DateTime<Utc>) -> FinishUpdate {
        let (status, next_at, error, attempted, ambiguous, outcome, detail) = match finish {
            Finish::Delivered { detail } => {
                ("delivered", None, None, 1, 0, "delivered", detail.clone())
            }
            Finish::Retry {
                reason,
                next_attempt_at,
                ambiguous,
            } => (
                "pending",
                Some(ms(*next_attempt_at)),
                Some(reason.clone()),
                1,
                i64::from(*ambiguous),
                "retry",
                reason.clone(),
            ),
            Finish::Dead {
                reason,
                unconfirmed,
            } => {
                let status = if *unconfirmed { "unconfirmed" } else { "dead" };
                (
                    status,
                    None,
                    Some(reason.clone()),
                    1,
                    i64::from(*unconfirmed),
                    status,
                    reason.clone(),
                )
            }
            Finish::Release { reason } => (
                "pending",
                Some(ms(now)),
                Some(reason.clone()),
                0,
                0,
                "held",
                reason.clone(),
            ),
        };
        let done = matches!(status, "delivered" | "dead" | "unconfirmed");
        FinishUpdate {
            status,
            next_at,
            error,
            attempted,
            ambiguous,
            finished_at: done.then_some(ms(now)),
            outcome,
            detail,
        }
    }
}

impl Store {
    /// Records the attempt, its outcome and the contact state it leaves behind, if the claim still
    /// holds. Returns false when the lease was lost (another worker took the row over after it
    /// expired): the outcome and the contact state are then dropped. Outcomes finished at the same
    /// time are recorded together, in one transaction; each is answered once that has committed.
    pub async fn finish_delivery(
        &self,
        row: &ClaimedRow,
        finish: &Finish,
        contact: Option<ContactWrite>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = FinishJob {
            id: row.id,
            lease: row.lease.clone(),
            program_id: row.program_id.clone(),
            claimed_at: row.claimed_at,
            finish: finish.clone(),
            contact,
            now,
            reply,
        };
        let queue = self.finishes.clone();
        self.group_commit(&queue, job, answer, apply_finishes).await
    }

    /// One batch of outcomes: each update fenced on its own claim, then the attempts and contact
    /// states of those whose claim held, in multi-row statements. Rows are taken in id order and
    /// contacts in key order, so concurrent batches (other instances) lock in the same order.
    async fn record_finishes(
        &self,
        turn: OwnedMutexGuard<()>,
        jobs: &[FinishJob],
    ) -> Result<Vec<bool>, StoreError> {
        let mut tx = self.write_tx_holding(turn).await?;
        let mut held = Vec::with_capacity(jobs.len());
        for job in jobs {
            let u = FinishUpdate::of(&job.finish, job.now);
            let updated = sqlx::query(
                "UPDATE deliveries SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), last_error = $3, \
                 attempts = attempts + $4, ambiguous = ambiguous + $5, lease_owner = NULL, lease_until = NULL, \
                 finished_at = $6 WHERE id = $7 AND lease_owner = $8 AND status = 'in_flight'",
            )
            .bind(u.status)
            .bind(u.next_at)
            .bind(u.error)
            .bind(u.attempted)
            .bind(u.ambiguous)
            .bind(u.finished_at)
            .bind(job.id)
            .bind(&job.lease)
            .execute(&mut *tx)
            .await?;
            held.push(updated.rows_affected() > 0);
        }
        let kept: Vec<&FinishJob> = jobs
            .iter()
            .zip(&held)
            .filter_map(|(j, h)| h.then_some(j))
            .collect();
        for chunk in kept.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO delivery_attempts (delivery_id, started_at, finished_at, outcome, detail) VALUES {}",
                Params::new(self.backend()).rows(chunk.len(), 5)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for job in chunk {
                let u = FinishUpdate::of(&job.finish, job.now);
                q = q
                    .bind(job.id)
                    .bind(ms(job.claimed_at))
                    .bind(ms(job.now))
                    .bind(u.outcome)
                    .bind(u.detail);
            }
            q.execute(&mut *tx).await?;
        }
        // The latest state of each contact (jobs are in id order), in key order.
        let mut contacts: BTreeMap<(&str, &str, &str), (&ContactWrite, DateTime<Utc>)> =
            BTreeMap::new();
        for job in &kept {
            if let Some(c) = &job.contact {
                contacts.insert((&job.program_id, &c.list_id, &c.member_id), (c, job.now));
            }
        }
        let contacts: Vec<_> = contacts.into_iter().collect();
        for chunk in contacts.chunks(ROWS_PER_STATEMENT) {
            let sql = format!(
                "INSERT INTO listrak_contacts (program_id, list_id, member_id, email, sent_fields, unsubscribed, \
                 updated_at) VALUES {} ON CONFLICT (program_id, list_id, member_id) DO UPDATE SET \
                 email = excluded.email, sent_fields = excluded.sent_fields, unsubscribed = excluded.unsubscribed, \
                 updated_at = excluded.updated_at",
                Params::new(self.backend()).rows(chunk.len(), 7)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for ((program_id, list_id, member_id), (c, at)) in chunk {
                q = q
                    .bind(*program_id)
                    .bind(*list_id)
                    .bind(*member_id)
                    .bind(&c.state.email)
                    .bind(serde_json::to_string(&c.state.sent_fields)?)
                    .bind(i64::from(c.state.unsubscribed))
                    .bind(ms(*at));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(held)
    }
}
