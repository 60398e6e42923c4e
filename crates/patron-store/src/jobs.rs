//! Job runs: a (program, job, period) row claimed once, so a period's run happens once even when
//! several processes share the database.

use crate::{Store, StoreError, ms};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobClaim {
    /// This process owns the period's run.
    Claimed,
    /// Another run of the same period exists (finished, or still running elsewhere).
    AlreadyRun,
}

impl Store {
    pub async fn claim_job_period(
        &self,
        program_id: &str,
        job: &str,
        period: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<JobClaim, StoreError> {
        let result = self.write_one(sqlx::query(
            "INSERT INTO job_runs (program_id, job, period, owner, started_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(program_id)
        .bind(job)
        .bind(period)
        .bind(owner)
        .bind(ms(now))
        )
        .await?;
        Ok(if result.rows_affected() == 1 {
            JobClaim::Claimed
        } else {
            JobClaim::AlreadyRun
        })
    }

    pub async fn finish_job_period(
        &self,
        program_id: &str,
        job: &str,
        period: &str,
        result: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_one(sqlx::query("UPDATE job_runs SET finished_at = $1, result = $2 WHERE program_id = $3 AND job = $4 AND period = $5")
            .bind(ms(now))
            .bind(result.to_string())
            .bind(program_id)
            .bind(job)
            .bind(period)
            )
            .await?;
        Ok(())
    }
}

impl Store {
    /// Gives a period back after a failed run, so a later tick (or another process) retries it.
    pub async fn release_job_period(
        &self,
        program_id: &str,
        job: &str,
        period: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.write_one(sqlx::query(
            "DELETE FROM job_runs WHERE program_id = $1 AND job = $2 AND period = $3 AND owner = $4 \
             AND finished_at IS NULL",
        )
        .bind(program_id)
        .bind(job)
        .bind(period)
        .bind(owner)
        )
        .await?;
        Ok(())
    }
}
