//! The scheduler: wakes up periodically and runs each job for each program. Jobs are idempotent for
//! a given instant, so two processes doing this at once do no harm; once-per-period jobs claim their
//! period in the database first.

use super::{Job, run_job};
use crate::app::App;
use chrono::Utc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TICK: Duration = Duration::from_secs(60);

pub fn spawn_scheduler(app: App, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(TICK) => {}
            }
            if let Err(e) = tick(&app).await {
                tracing::warn!(error = %e, "scheduled jobs failed; will try again next tick");
            }
        }
    })
}

async fn tick(app: &App) -> Result<(), crate::app::AppError> {
    let now = Utc::now();
    for program in app.store().list_programs().await? {
        for job in Job::ALL {
            match run_job(app, &program.id, job, now).await {
                Ok(report) => {
                    tracing::debug!(program = %program.id, job = job.name(), %report, "job ran")
                }
                Err(e) => {
                    tracing::warn!(program = %program.id, job = job.name(), error = %e, "job failed")
                }
            }
        }
    }
    Ok(())
}
