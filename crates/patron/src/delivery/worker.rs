//! The outbox worker: keeps up to `delivery_concurrency` notifications in flight, each claimed with a
//! lease (at most one per contact and list), delivered with no database transaction open, and
//! finished with an update fenced on the claim (outcomes finishing together share a transaction). A crash leaves the claim to expire; another worker
//! (or this one after a restart) takes the row over, so nothing accepted is lost.

use super::listrak::Known;
use super::policy::{Decision, RetryPolicy};
use super::{ClaimedDelivery, Outcome};
use crate::app::{App, AppError};
use chrono::{Duration, Utc};
use patron_store::{ClaimedRow, ContactWrite, Finish, IntegrationRow};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub claimed: usize,
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
    pub held: usize,
}

impl Pass {
    fn add(&mut self, d: &Decision) {
        match d {
            Decision::Finish(Finish::Delivered { .. }) => self.delivered += 1,
            Decision::Finish(Finish::Retry { .. }) => self.retried += 1,
            Decision::Finish(Finish::Dead { .. }) => self.dead += 1,
            Decision::Finish(Finish::Release { .. }) | Decision::Hold { .. } => self.held += 1,
        }
    }
}

pub fn policy(app: &App) -> RetryPolicy {
    let s = app.settings();
    RetryPolicy {
        base_ms: s.retry_base_ms,
        max_ms: s.retry_max_ms,
        attempts: s.retry_attempts,
        ambiguous: s.retry_ambiguous,
    }
}

/// A claimed row, with the Listrak integration of its program as read for its batch.
struct Ready {
    row: ClaimedRow,
    integration: Option<Option<Arc<IntegrationRow>>>,
}

/// An attempt that has come back from its channel, to be recorded.
struct Attempted {
    row: ClaimedRow,
    outcome: Outcome,
    contact: Option<ContactWrite>,
}

/// Hands a claimed row to its channel (no database write here: the outcome and the Listrak contact
/// state it leaves are recorded by [`record`]).
async fn attempt(app: &App, ready: Ready) -> Attempted {
    let Ready { row, integration } = ready;
    let d = ClaimedDelivery {
        id: row.id,
        program_id: row.program_id.clone(),
        member_id: row.member_id.clone(),
        event: row.event.clone(),
        email: row.email.clone(),
        channel: row.channel.clone(),
        list_id: row.list_id.clone(),
        fields: row.fields.clone(),
        attempts: row.attempts,
    };
    let (outcome, contact) = match d.channel.as_str() {
        "native" => (super::native::deliver(app, &d).await, None),
        "listrak" => {
            let known = Known {
                integration,
                member: row.member.clone(),
                contact: row.contact.clone(),
            };
            let a = super::listrak::attempt(app, &d, known).await;
            (a.outcome, a.contact)
        }
        other => (
            Outcome::Dead {
                reason: format!("unknown channel `{other}`"),
            },
            None,
        ),
    };
    Attempted {
        row,
        outcome,
        contact,
    }
}

/// Decides what an attempt leads to and records it, fenced on the claim. Outcomes recorded at the
/// same time share one transaction (the store's group commit).
async fn record(app: &App, policy: &RetryPolicy, a: Attempted) -> Result<Decision, AppError> {
    let Attempted {
        row,
        outcome,
        contact,
    } = a;
    let now = Utc::now();
    let decision = policy.decide(outcome, row.attempts, row.ambiguous, now);
    let finish = match &decision {
        Decision::Finish(f) => f.clone(),
        Decision::Hold { reason } => {
            let until = now + Duration::milliseconds(app.settings().hold_probe_ms as i64);
            app.store()
                .hold_channel(&row.program_id, &row.channel, reason, now, until)
                .await?;
            tracing::warn!(program = %row.program_id, channel = %row.channel, %reason, "channel unusable: holding its deliveries");
            Finish::Release {
                reason: reason.clone(),
            }
        }
    };
    let label = match &finish {
        Finish::Delivered { .. } => "delivered",
        Finish::Retry {
            ambiguous: true, ..
        } => "retry_ambiguous",
        Finish::Retry { .. } => "retry",
        Finish::Dead {
            unconfirmed: true, ..
        } => "unconfirmed",
        Finish::Dead { .. } => "dead",
        Finish::Release { .. } => "held",
    };
    app.metrics().count(
        "patron_deliveries_total",
        &format!("{}/{label}", row.channel),
        1,
    );
    if !app
        .store()
        .finish_delivery(&row, &finish, contact, now)
        .await?
    {
        tracing::warn!(
            delivery = row.id,
            "lease lost before the attempt finished; another worker owns the row now"
        );
    }
    Ok(decision)
}

/// Claims up to `limit` rows and reads the Listrak integration of each program once for the batch
/// (a read that fails is left to each attempt to retry).
async fn claim(app: &App, limit: usize) -> Result<Vec<Ready>, AppError> {
    let rows = app
        .store()
        .claim_deliveries(
            Utc::now(),
            app.settings().delivery_lease_ms as i64,
            limit as u32,
        )
        .await?;
    let mut integrations: HashMap<String, Option<Arc<IntegrationRow>>> = HashMap::new();
    for row in rows.iter().filter(|r| r.channel == "listrak") {
        if !integrations.contains_key(&row.program_id)
            && let Ok(found) = app.store().listrak_integration(&row.program_id).await
        {
            integrations.insert(row.program_id.clone(), found.map(Arc::new));
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let integration = integrations.get(&row.program_id).cloned();
            Ready { row, integration }
        })
        .collect())
}

/// Claims what is due (up to the concurrency) and delivers it; returns when every claimed row is
/// done and recorded.
pub async fn run_once(app: &App) -> Result<Pass, AppError> {
    let policy = policy(app);
    let ready = claim(app, app.settings().delivery_concurrency).await?;
    let mut pass = Pass {
        claimed: ready.len(),
        ..Pass::default()
    };
    let mut attempts = JoinSet::new();
    for r in ready {
        let app = app.clone();
        attempts.spawn(async move { attempt(&app, r).await });
    }
    let mut records = JoinSet::new();
    while let Some(done) = attempts.join_next().await {
        if let Ok(a) = done {
            let (app, policy) = (app.clone(), policy.clone());
            records.spawn(async move { record(&app, &policy, a).await });
        }
    }
    while let Some(done) = records.join_next().await {
        if let Ok(Ok(decision)) = done {
            pass.add(&decision);
        }
    }
    Ok(pass)
}

/// Runs passes until nothing is left to deliver, waiting out short retry delays (or until
/// `max_passes` ran). For tests, the demo and operators.
pub async fn run_until_idle(app: &App, max_passes: usize) -> Result<Pass, AppError> {
    let mut total = Pass::default();
    for _ in 0..max_passes {
        let pass = run_once(app).await?;
        total.claimed += pass.claimed;
        total.delivered += pass.delivered;
        total.retried += pass.retried;
        total.dead += pass.dead;
        total.held += pass.held;
        if pass.claimed == 0 && app.store().deliveries_open(Utc::now()).await? == 0 {
            break;
        }
        if pass.claimed == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    Ok(total)
}

/// The worker loop, a pipeline: up to `delivery_concurrency` attempts in flight, a few claimed rows
/// ready to start the moment a slot frees (claims come in batches, each a write transaction), and
/// outcomes recorded off the slots, so a slot never waits for a commit.
pub fn spawn(app: App, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let policy = policy(&app);
        let concurrency = app.settings().delivery_concurrency.max(1);
        let batch = (concurrency / 4).max(1);
        let mut ready: VecDeque<Ready> = VecDeque::new();
        let mut inflight: JoinSet<Attempted> = JoinSet::new();
        let mut records: JoinSet<Result<Decision, AppError>> = JoinSet::new();
        // A claim runs beside the attempts (it waits for the write turn), so slots that free up
        // meanwhile start rows already claimed.
        let mut claiming: Option<tokio::task::JoinHandle<Result<Vec<Ready>, AppError>>> = None;
        let mut drained = false;
        let mut retry_claim_at = tokio::time::Instant::now();
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let want = (concurrency + 2 * batch).saturating_sub(inflight.len() + ready.len());
            let due = !drained || tokio::time::Instant::now() >= retry_claim_at;
            if claiming.is_none()
                && due
                && (want >= batch || (ready.is_empty() && inflight.is_empty()))
            {
                let app = app.clone();
                claiming = Some(tokio::spawn(async move { claim(&app, want).await }));
            }
            while inflight.len() < concurrency
                && let Some(r) = ready.pop_front()
            {
                let app = app.clone();
                inflight.spawn(async move { attempt(&app, r).await });
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                Some(done) = inflight.join_next(), if !inflight.is_empty() => {
                    if let Ok(a) = done {
                        let (app, policy) = (app.clone(), policy.clone());
                        records.spawn(async move { record(&app, &policy, a).await });
                    }
                }
                Some(done) = records.join_next(), if !records.is_empty() => {
                    log_record(done);
                    // A recorded outcome frees its lane: the next row of it may be due now.
                    drained = false;
                }
                claimed = async {
                    match claiming.as_mut() {
                        Some(claim) => claim.await,
                        None => std::future::pending().await,
                    }
                }, if claiming.is_some() => {
                    claiming = None;
                    let rows = match claimed {
                        Ok(Ok(rows)) => rows,
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "claiming deliveries failed; retrying shortly");
                            Vec::new()
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "claiming deliveries stopped; retrying shortly");
                            Vec::new()
                        }
                    };
                    // Nothing due: wait a little before asking again.
                    drained = rows.is_empty();
                    if drained {
                        retry_claim_at = tokio::time::Instant::now() + IDLE_POLL;
                    }
                    ready.extend(rows);
                }
                _ = tokio::time::sleep_until(retry_claim_at),
                    if drained && claiming.is_none() && retry_claim_at > tokio::time::Instant::now() => {}
            }
        }
        if let Some(claim) = claiming.take()
            && let Ok(Ok(rows)) = claim.await
        {
            ready.extend(rows);
        }
        // Rows claimed but not started go back in line at once rather than when their lease ends;
        // attempts in flight finish and are recorded.
        let unstarted: Vec<ClaimedRow> = ready.into_iter().map(|r| r.row).collect();
        if let Err(e) = app.store().unclaim_deliveries(&unstarted).await {
            tracing::warn!(error = %e, "giving back unstarted deliveries failed; their leases will expire");
        }
        while let Some(done) = inflight.join_next().await {
            if let Ok(a) = done {
                log_record(Ok(record(&app, &policy, a).await));
            }
        }
        while let Some(done) = records.join_next().await {
            log_record(done);
        }
    })
}

fn log_record(done: Result<Result<Decision, AppError>, tokio::task::JoinError>) {
    if let Ok(Err(e)) = done {
        tracing::warn!(error = %e, "recording a delivery attempt failed; its lease will expire and it will be retried");
    }
}
