//! Jobs: each runs for one program "as of" an explicit instant, in batches of short transactions.
//! The scheduler runs them on their cadence; `POST /v1/jobs/{job}/run` runs one now.

mod scheduler;
pub mod unsubscribe_sync;

pub use scheduler::spawn_scheduler;

use crate::app::{App, AppError};
use chrono::{DateTime, Utc};
use serde_json::json;

/// How many members a job handles per batch.
const BATCH: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// Pending points whose approval delay has passed become available (and `Points Earned` fires).
    ApprovePoints,
    /// Points due under the expiry mode expire (an `expire` entry per member).
    ExpirePoints,
    /// `Points Expiration` reminders at the configured lead days.
    ExpiryReminders,
    /// Win-back offers to inactive members (`Winback Award`); lapsed offers close.
    Winback,
    /// The monthly `Eligible Rewards` digest.
    EligibleRewards,
    /// Tiers recomputed as of now: downgrades (no event) and any upgrade still due.
    TierReview,
    /// Contacts who unsubscribed in Listrak since the last run are opted out in Patron.
    ListrakUnsubscribeSync,
}

/// How often the scheduler runs a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// Every scheduler tick.
    EveryTick,
    /// Once per UTC day (the `(job, YYYY-MM-DD)` period is claimed first).
    Daily,
    /// Once per month, on the program's `digest.day_of_month` (the `(job, YYYY-MM)` period).
    MonthlyOnDigestDay,
}

impl Job {
    pub const ALL: [Job; 7] = [
        Job::ApprovePoints,
        Job::ExpirePoints,
        Job::ExpiryReminders,
        Job::Winback,
        Job::EligibleRewards,
        Job::TierReview,
        Job::ListrakUnsubscribeSync,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::ApprovePoints => "approve-points",
            Job::ExpirePoints => "expire-points",
            Job::ExpiryReminders => "expiry-reminders",
            Job::Winback => "winback",
            Job::EligibleRewards => "eligible-rewards",
            Job::TierReview => "tier-review",
            Job::ListrakUnsubscribeSync => "listrak-unsubscribe-sync",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }

    pub fn cadence(self) -> Cadence {
        match self {
            Job::ApprovePoints | Job::ListrakUnsubscribeSync => Cadence::EveryTick,
            Job::EligibleRewards => Cadence::MonthlyOnDigestDay,
            _ => Cadence::Daily,
        }
    }
}

/// Runs one job for one program and reports its counts. Run explicitly, `eligible-rewards` runs
/// whatever the day of the month; the scheduler only starts it on the configured day.
pub async fn run_job(
    app: &App,
    program_id: &str,
    job: Job,
    as_of: DateTime<Utc>,
) -> Result<serde_json::Value, AppError> {
    let store = app.store();
    let counts = match job {
        Job::ApprovePoints => {
            let approved = store.approve_due_points(program_id, as_of, BATCH).await?;
            json!({ "approved": approved })
        }
        Job::ExpirePoints => {
            let run = store.expire_points(program_id, as_of, BATCH).await?;
            json!({ "members": run.members, "points_expired": run.points })
        }
        Job::ExpiryReminders => {
            let run = store
                .send_expiry_reminders(program_id, as_of, BATCH)
                .await?;
            json!({ "reminded": run.reminded })
        }
        Job::Winback => {
            let run = store.run_winback(program_id, as_of, BATCH).await?;
            json!({ "offered": run.offered, "lapsed": run.lapsed })
        }
        Job::EligibleRewards => {
            let run = store.send_digest(program_id, as_of, BATCH).await?;
            json!({ "eligible": run.eligible, "recorded": run.recorded })
        }
        Job::TierReview => {
            let run = store.review_tiers(program_id, as_of, BATCH).await?;
            json!({ "reviewed": run.reviewed, "downgraded": run.downgraded, "upgraded": run.upgraded })
        }
        Job::ListrakUnsubscribeSync => unsubscribe_sync::run(app, program_id, as_of).await?,
    };
    let mut report = json!({ "job": job.name(), "as_of": as_of });
    if let (Some(r), Some(c)) = (report.as_object_mut(), counts.as_object()) {
        r.extend(c.clone());
    }
    Ok(report)
}
