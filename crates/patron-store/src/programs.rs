//! Programs (tenants): creation, lookup by API key hash, and settings.

use crate::{Store, StoreError, from_ms, ms};
use chrono::{DateTime, Utc};
use patron_domain::ProgramSettings;
use patron_domain::settings::ExpiryMode;
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct NewProgram {
    pub id: String,
    pub name: String,
    pub api_key_hash: String,
    pub member_token_secret: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProgramRow {
    pub id: String,
    pub name: String,
    pub channel: String,
    pub created_at: DateTime<Utc>,
}

/// The columns [`program_row`] reads, qualified so they can follow a join on `programs p`.
pub(crate) const PROGRAM_COLUMNS: &str = "p.id, p.name, p.channel, p.created_at";

pub(crate) fn program_row(row: &sqlx::any::AnyRow) -> Result<ProgramRow, StoreError> {
    Ok(ProgramRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        channel: row.try_get("channel")?,
        created_at: from_ms(row.try_get("created_at")?),
    })
}

impl Store {
    pub async fn create_program(
        &self,
        new: &NewProgram,
        now: DateTime<Utc>,
    ) -> Result<ProgramRow, StoreError> {
        let settings = serde_json::to_string(&ProgramSettings::default())?;
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO programs (id, name, api_key_hash, member_token_secret, settings, channel, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'native', $6, $6)",
        )
        .bind(&new.id)
        .bind(&new.name)
        .bind(&new.api_key_hash)
        .bind(&new.member_token_secret)
        .bind(settings)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ProgramRow {
            id: new.id.clone(),
            name: new.name.clone(),
            channel: "native".into(),
            created_at: now,
        })
    }

    pub async fn list_programs(&self) -> Result<Vec<ProgramRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, channel, created_at FROM programs ORDER BY created_at, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(program_row).collect()
    }

    pub async fn program_by_key_hash(&self, hash: &str) -> Result<Option<ProgramRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, name, channel, created_at FROM programs WHERE api_key_hash = $1",
        )
        .bind(hash)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(program_row).transpose()
    }

    pub async fn program(&self, id: &str) -> Result<ProgramRow, StoreError> {
        let row = sqlx::query("SELECT id, name, channel, created_at FROM programs WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("program"))?;
        program_row(&row)
    }

    pub async fn settings(&self, program_id: &str) -> Result<ProgramSettings, StoreError> {
        let raw: String = sqlx::query_scalar("SELECT settings FROM programs WHERE id = $1")
            .bind(program_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("program"))?;
        Ok(serde_json::from_str(&raw)?)
    }

    /// Replaces the settings (already validated). Turning expiry on starts its clock now, so points
    /// earned before never expire retroactively.
    pub async fn put_settings(
        &self,
        program_id: &str,
        settings: &ProgramSettings,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT settings, expiry_enabled_at FROM programs WHERE id = $1{}",
            self.backend().for_update()
        )))
        .bind(program_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("program"))?;
        let old: ProgramSettings = serde_json::from_str(&row.try_get::<String, _>("settings")?)?;
        let enabled_at: Option<i64> = row.try_get("expiry_enabled_at")?;
        let enabled_at = match (old.expiry.mode, settings.expiry.mode) {
            (_, ExpiryMode::Never) => None,
            (ExpiryMode::Never, _) => Some(ms(now)),
            _ => enabled_at.or(Some(ms(now))),
        };
        sqlx::query("UPDATE programs SET settings = $1, expiry_enabled_at = $2, updated_at = $3 WHERE id = $4")
            .bind(serde_json::to_string(settings)?)
            .bind(enabled_at)
            .bind(ms(now))
            .bind(program_id)
            .execute(&mut *tx)
            .await?;
        self.restamp_lot_expiry(&mut tx, program_id, &old, settings, enabled_at)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps lot expiry dates in step with the expiry settings: under `per_lot` each lot expires
    /// `days` after the later of its earning and the enabling of expiry (never retroactively);
    /// under any other mode lots carry no date of their own.
    async fn restamp_lot_expiry(
        &self,
        tx: &mut crate::Tx,
        program_id: &str,
        old: &ProgramSettings,
        new: &ProgramSettings,
        enabled_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let (was, is) = (&old.expiry, &new.expiry);
        if was.mode == is.mode && (is.mode != ExpiryMode::PerLot || was.days == is.days) {
            return Ok(());
        }
        match (is.mode, enabled_at) {
            (ExpiryMode::PerLot, Some(enabled)) => {
                sqlx::query(
                    "UPDATE lots SET expires_at = (CASE WHEN earned_at > $1 THEN earned_at ELSE $1 END) + $2                      WHERE program_id = $3",
                )
                .bind(enabled)
                .bind(i64::from(is.days) * 86_400_000)
                .bind(program_id)
                .execute(&mut **tx)
                .await?;
            }
            _ => {
                sqlx::query("UPDATE lots SET expires_at = NULL WHERE program_id = $1 AND expires_at IS NOT NULL")
                    .bind(program_id)
                    .execute(&mut **tx)
                    .await?;
            }
        }
        Ok(())
    }
}

impl Store {
    /// Active rewards, as the computed profile fields see them (tier filtering happens per member).
    pub async fn reward_offers(
        &self,
        program_id: &str,
    ) -> Result<Vec<patron_domain::profile::RewardOffer>, StoreError> {
        crate::rewards::active_offers(self.pool(), program_id).await
    }
}

impl Store {
    /// Every program's sealed member-token secret, to verify member tokens.
    pub async fn member_token_secrets(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, member_token_secret FROM programs ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("member_token_secret")?)))
            .collect()
    }

    pub async fn set_member_token_secret(
        &self,
        program_id: &str,
        sealed: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE programs SET member_token_secret = $1, updated_at = $2 WHERE id = $3")
            .bind(sealed)
            .bind(ms(now))
            .bind(program_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Store {
    /// The store origins each program allows to embed the members' dashboard.
    pub async fn dashboard_origins(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        let rows = sqlx::query("SELECT id, settings FROM programs ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let settings: ProgramSettings =
                    serde_json::from_str(&r.try_get::<String, _>("settings")?)?;
                Ok((r.try_get("id")?, settings.dashboard.allowed_origins))
            })
            .collect()
    }
}
