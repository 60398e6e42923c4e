//! The admin console's sessions and console passwords. A session is stored by the hash of its id, so
//! the database alone signs nobody in; sessions live in the database so that every `patron serve`
//! sharing it knows them.

use crate::programs::{PROGRAM_COLUMNS, program_row};
use crate::{ProgramRow, Store, StoreError, from_ms, ms};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};

/// A signed-in console session.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsoleSession {
    pub program_id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Records a new session, and drops the expired ones on the way so the table stays small.
    pub async fn create_console_session(
        &self,
        id_hash: &str,
        program_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM console_sessions WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO console_sessions (id_hash, program_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(program_id)
        .bind(ms(now))
        .bind(ms(expires_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live session with this id hash: `None` when unknown, signed out or expired.
    pub async fn console_session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let row = sqlx::query(
            "SELECT program_id, created_at, expires_at FROM console_sessions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(ms(now))
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(ConsoleSession {
                program_id: r.try_get("program_id")?,
                created_at: from_ms(r.try_get("created_at")?),
                expires_at: from_ms(r.try_get("expires_at")?),
            })
        })
        .transpose()
    }

    /// Ends a session (sign-out). Returns whether there was one.
    pub async fn delete_console_session(&self, id_hash: &str) -> Result<bool, StoreError> {
        let done = self
            .write_one(sqlx::query("DELETE FROM console_sessions WHERE id_hash = $1").bind(id_hash))
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Sets (or replaces) a program's console password and ends every console session of the program:
    /// a new password is what an admin issues when the old one may have leaked.
    pub async fn set_console_password(
        &self,
        program_id: &str,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let exists: Option<String> = sqlx::query_scalar("SELECT id FROM programs WHERE id = $1")
            .bind(program_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("program"));
        }
        sqlx::query(
            "INSERT INTO console_passwords (program_id, password_hash, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (program_id) DO UPDATE SET password_hash = excluded.password_hash, created_at = excluded.created_at",
        )
        .bind(program_id)
        .bind(password_hash)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM console_sessions WHERE program_id = $1")
            .bind(program_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The program whose console password hashes to `hash`.
    pub async fn program_by_console_password_hash(
        &self,
        hash: &str,
    ) -> Result<Option<ProgramRow>, StoreError> {
        let sql = format!(
            "SELECT {PROGRAM_COLUMNS} FROM programs p JOIN console_passwords c ON c.program_id = p.id \
             WHERE c.password_hash = $1"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(program_row).transpose()
    }
}
