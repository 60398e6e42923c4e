//! Backfill of existing members into Listrak lists: members read in id order (so a run can resume after
//! the last member done), and per-list progress that survives a crash.

use crate::rows::{MEMBER_COLUMNS, member_record};
use crate::{Store, StoreError, from_ms, ms};
use chrono::{DateTime, Utc};
use patron_domain::Member;
use sqlx::{AssertSqlSafe, Row};

/// Members of every language when parameter `$n` is NULL, else those whose preferred language matches it.
fn language_filter(n: u8) -> String {
    format!(" AND (${n} IS NULL OR LOWER(TRIM(preferred_language)) = ${n})")
}

/// Progress of one list's backfill.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillRow {
    pub list_id: String,
    /// `running`, `interrupted`, `failed` or `done`.
    pub status: String,
    pub last_member_id: Option<String>,
    pub done: i64,
    pub total: i64,
    pub imports: i64,
    pub last_error: Option<String>,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A step forward: the chunk up to `last_member_id` is in Listrak.
#[derive(Debug, Clone, PartialEq)]
pub struct BackfillProgress {
    pub last_member_id: String,
    pub added: i64,
}

impl Store {
    /// Members Listrak should hold, after `after_id` in id order: not deleted, not opted out.
    pub async fn members_for_listrak(
        &self,
        program_id: &str,
        language: Option<&str>,
        after_id: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND id > $2 AND status <> 'Deleted' \
             AND opted_out = 0{} ORDER BY id LIMIT {}",
            language_filter(3),
            limit.clamp(1, 10_000)
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(after_id.unwrap_or(""))
            .bind(language.map(|l| l.trim().to_lowercase()))
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| member_record(r).map(|rec| rec.member))
            .collect()
    }

    pub async fn count_members_for_listrak(
        &self,
        program_id: &str,
        language: Option<&str>,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM members WHERE program_id = $1 AND status <> 'Deleted' AND opted_out = 0{}",
            language_filter(2)
        );
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(language.map(|l| l.trim().to_lowercase()))
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }

    pub async fn backfills(&self, program_id: &str) -> Result<Vec<BackfillRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT list_id, status, last_member_id, done, total, imports, last_error, started_at, updated_at \
             FROM listrak_backfills WHERE program_id = $1 ORDER BY list_id",
        )
        .bind(program_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(BackfillRow {
                    list_id: r.try_get("list_id")?,
                    status: r.try_get("status")?,
                    last_member_id: r.try_get("last_member_id")?,
                    done: r.try_get("done")?,
                    total: r.try_get("total")?,
                    imports: r.try_get("imports")?,
                    last_error: r.try_get("last_error")?,
                    started_at: from_ms(r.try_get("started_at")?),
                    updated_at: from_ms(r.try_get("updated_at")?),
                })
            })
            .collect()
    }

    /// Starts (or resumes) a list's backfill: a finished one starts over, an unfinished one keeps its place.
    pub async fn start_backfill(
        &self,
        program_id: &str,
        list_id: &str,
        total: i64,
        now: DateTime<Utc>,
    ) -> Result<BackfillRow, StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO listrak_backfills (program_id, list_id, status, total, started_at, updated_at) \
             VALUES ($1, $2, 'running', $3, $4, $4) ON CONFLICT (program_id, list_id) DO UPDATE SET \
             status = 'running', total = $3, last_error = NULL, updated_at = $4",
        )
        .bind(program_id)
        .bind(list_id)
        .bind(total)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let row = self
            .backfills(program_id)
            .await?
            .into_iter()
            .find(|b| b.list_id == list_id)
            .ok_or(StoreError::NotFound("backfill"))?;
        Ok(row)
    }

    /// Clears a finished backfill so the next run starts from the first member.
    pub async fn restart_backfill(
        &self,
        program_id: &str,
        list_id: &str,
    ) -> Result<(), StoreError> {
        self.write_one(
            sqlx::query(
                "UPDATE listrak_backfills SET last_member_id = NULL, done = 0, imports = 0 \
             WHERE program_id = $1 AND list_id = $2 AND status = 'done'",
            )
            .bind(program_id)
            .bind(list_id),
        )
        .await?;
        Ok(())
    }

    pub async fn advance_backfill(
        &self,
        program_id: &str,
        list_id: &str,
        step: &BackfillProgress,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_one(sqlx::query(
            "UPDATE listrak_backfills SET last_member_id = $1, done = done + $2, imports = imports + 1, \
             updated_at = $3 WHERE program_id = $4 AND list_id = $5",
        )
        .bind(&step.last_member_id)
        .bind(step.added)
        .bind(ms(now))
        .bind(program_id)
        .bind(list_id)
        )
        .await?;
        Ok(())
    }

    pub async fn end_backfill(
        &self,
        program_id: &str,
        list_id: &str,
        status: &str,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_one(
            sqlx::query(
                "UPDATE listrak_backfills SET status = $1, last_error = $2, updated_at = $3 \
             WHERE program_id = $4 AND list_id = $5",
            )
            .bind(status)
            .bind(error)
            .bind(ms(now))
            .bind(program_id)
            .bind(list_id),
        )
        .await?;
        Ok(())
    }
}
