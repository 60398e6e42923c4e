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
    /// Contacts who unsubscribed in Listrak since the last run are opted out in Patron.
    ListrakUnsubscribeSync,
}

impl Job {
    pub const ALL: [Job; 2] = [Job::ApprovePoints, Job::ListrakUnsubscribeSync];

    pub fn name(self) -> &'static str {
        match self {
            Job::ApprovePoints => "approve-points",
            Job::ListrakUnsubscribeSync => "listrak-unsubscribe-sync",
        }
    }

    pub fn parse(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }
}

/// Runs one job for one program and reports its counts.
pub async fn run_job(
    app: &App,
    program_id: &str,
    job: Job,
    as_of: DateTime<Utc>,
) -> Result<serde_json::Value, AppError> {
    let counts = match job {
        Job::ApprovePoints => {
            let approved = app
                .store()
                .approve_due_points(program_id, as_of, BATCH)
                .await?;
            json!({ "approved": approved })
        }
        Job::ListrakUnsubscribeSync => unsubscribe_sync::run(app, program_id, as_of).await?,
    };
    let mut report = json!({ "job": job.name(), "as_of": as_of });
    if let (Some(r), Some(c)) = (report.as_object_mut(), counts.as_object()) {
        r.extend(c.clone());
    }
    Ok(report)
}
