//! The scheduler: wakes up periodically and runs each job for each program on its cadence.
//! Daily and monthly jobs claim their `(job, period)` row in the database first, so a period runs
//! once even when several processes share the database; a failed run releases its claim.

use super::{Cadence, Job, run_job};
use crate::app::App;
use chrono::{DateTime, Utc};
use patron_store::JobClaim;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TICK: Duration = Duration::from_secs(60);

pub fn spawn_scheduler(app: App, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let owner = format!("scheduler-{}", uuid::Uuid::new_v4().simple());
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(TICK) => {}
            }
            if let Err(e) = tick(&app, &owner, Utc::now()).await {
                tracing::warn!(error = %e, "scheduled jobs failed; will try again next tick");
            }
        }
    })
}

/// The period a job's run at `now` belongs to, or `None` when it is not due today.
fn period(job: Job, digest_day: u32, now: DateTime<Utc>) -> Option<String> {
    match job.cadence() {
        Cadence::EveryTick => Some(String::new()),
        Cadence::Daily => Some(now.format("%Y-%m-%d").to_string()),
        Cadence::MonthlyOnDigestDay => patron_domain::digest::is_digest_day(digest_day, now)
            .then(|| patron_domain::digest::period(now)),
    }
}

async fn tick(app: &App, owner: &str, now: DateTime<Utc>) -> Result<(), crate::app::AppError> {
    let store = app.store();
    for program in store.list_programs().await? {
        let digest_day = store.settings(&program.id).await?.digest.day_of_month;
        for job in Job::ALL {
            let Some(period) = period(job, digest_day, now) else {
                continue;
            };
            let claimed = job.cadence() == Cadence::EveryTick
                || store
                    .claim_job_period(&program.id, job.name(), &period, owner, now)
                    .await?
                    == JobClaim::Claimed;
            if !claimed {
                continue;
            }
            match run_job(app, &program.id, job, now).await {
                Ok(report) => {
                    tracing::debug!(program = %program.id, job = job.name(), %report, "job ran");
                    if job.cadence() != Cadence::EveryTick {
                        store
                            .finish_job_period(
                                &program.id,
                                job.name(),
                                &period,
                                &report,
                                Utc::now(),
                            )
                            .await?;
                    }
                }
                Err(e) => {
                    tracing::warn!(program = %program.id, job = job.name(), error = %e, "job failed");
                    if job.cadence() != Cadence::EveryTick {
                        store
                            .release_job_period(&program.id, job.name(), &period, owner)
                            .await?;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn daily_jobs_are_keyed_by_date_and_the_digest_by_month_on_its_day() {
        let at = Utc
            .with_ymd_and_hms(2026, 6, 1, 3, 0, 0)
            .single()
            .expect("valid");
        assert_eq!(
            period(Job::ExpirePoints, 1, at).as_deref(),
            Some("2026-06-01")
        );
        assert_eq!(
            period(Job::EligibleRewards, 1, at).as_deref(),
            Some("2026-06")
        );
        assert_eq!(period(Job::EligibleRewards, 2, at), None);
    }
}
