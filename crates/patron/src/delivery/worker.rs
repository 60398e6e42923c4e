//! The outbox worker: keeps up to `delivery_concurrency` notifications in flight, each claimed with a
//! lease (at most one per contact and list), delivered with no database transaction open, and
//! finished with an update fenced on the claim. A crash leaves the claim to expire; another worker
//! (or this one after a restart) takes the row over, so nothing accepted is lost.

use super::listrak::Known;
use super::policy::{Decision, RetryPolicy};
use super::{ClaimedDelivery, Outcome};
use crate::app::{App, AppError};
use chrono::{Duration, Utc};
use patron_store::{ClaimedRow, ContactWrite, Finish, IntegrationRow};
use std::collections::HashMap;
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

/// Hands a claimed row to its channel; returns the outcome and the Listrak contact state it leaves.
async fn attempt(
    app: &App,
    row: &ClaimedRow,
    integration: Option<Option<Arc<IntegrationRow>>>,
) -> (Outcome, Option<ContactWrite>) {
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
    match d.channel.as_str() {
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
    }
}

/// Delivers one claimed row and records the result. Returns the decision taken.
async fn process(
    app: &App,
    policy: &RetryPolicy,
    row: ClaimedRow,
    integration: Option<Option<Arc<IntegrationRow>>>,
) -> Result<Decision, AppError> {
    let (outcome, contact) = attempt(app, &row, integration).await;
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

/// Starts an attempt for each claimed row. The Listrak integration of each program is read once for
/// the batch (a read that fails is left to each attempt to retry).
async fn spawn_attempts(
    set: &mut JoinSet<Result<Decision, AppError>>,
    app: &App,
    policy: &RetryPolicy,
    rows: Vec<ClaimedRow>,
) {
    let mut integrations: HashMap<String, Option<Arc<IntegrationRow>>> = HashMap::new();
    for row in rows.iter().filter(|r| r.channel == "listrak") {
        if !integrations.contains_key(&row.program_id)
            && let Ok(found) = app.store().listrak_integration(&row.program_id).await
        {
            integrations.insert(row.program_id.clone(), found.map(Arc::new));
        }
    }
    for row in rows {
        let (app, policy) = (app.clone(), policy.clone());
        let integration = integrations.get(&row.program_id).cloned();
        set.spawn(async move { process(&app, &policy, row, integration).await });
    }
}

/// Claims what is due (up to the concurrency) and delivers it; returns when every claimed row is done.
pub async fn run_once(app: &App) -> Result<Pass, AppError> {
    let policy = policy(app);
    let rows = app
        .store()
        .claim_deliveries(
            Utc::now(),
            app.settings().delivery_lease_ms as i64,
            app.settings().delivery_concurrency as u32,
        )
        .await?;
    let mut pass = Pass {
        claimed: rows.len(),
        ..Pass::default()
    };
    let mut set = JoinSet::new();
    spawn_attempts(&mut set, app, &policy, rows).await;
    while let Some(done) = set.join_next().await {
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

/// The worker loop: a pipeline that tops up the in-flight set as attempts finish.
pub fn spawn(app: App, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let policy = policy(&app);
        let concurrency = app.settings().delivery_concurrency;
        let lease_ms = app.settings().delivery_lease_ms as i64;
        let mut inflight: JoinSet<Result<Decision, AppError>> = JoinSet::new();
        loop {
            if shutdown.is_cancelled() {
                break;
            }
            let room = concurrency.saturating_sub(inflight.len());
            let mut claimed = 0;
            // Claim in batches (a quarter of the concurrency at least) rather than one row per
            // finished attempt: each claim is a write transaction.
            if room > 0 && (inflight.is_empty() || room >= (concurrency / 4).max(1)) {
                match app
                    .store()
                    .claim_deliveries(Utc::now(), lease_ms, room as u32)
                    .await
                {
                    Ok(rows) => {
                        claimed = rows.len();
                        spawn_attempts(&mut inflight, &app, &policy, rows).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming deliveries failed; retrying shortly")
                    }
                }
            }
            if inflight.is_empty() {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(IDLE_POLL) => {}
                }
                continue;
            }
            // Wait for one attempt to finish, or briefly, when there was room but nothing to claim.
            let wait = if claimed == 0 && room > 0 {
                IDLE_POLL
            } else {
                std::time::Duration::from_secs(3600)
            };
            tokio::select! {
                _ = shutdown.cancelled() => break,
                done = inflight.join_next() => {
                    if let Some(Ok(Err(e))) = done {
                        tracing::warn!(error = %e, "recording a delivery attempt failed; its lease will expire and it will be retried");
                    }
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Let attempts in flight finish so their outcomes are recorded.
        while inflight.join_next().await.is_some() {}
    })
}
