//! Members: create or update a profile, look up, block, unblock and delete.

use crate::rows::{MEMBER_COLUMNS, MemberRecord, member_record};
use crate::{Store, StoreError, Tx, ms};
use chrono::{DateTime, NaiveDate, Utc};
use patron_domain::{Email, Member, MemberStatus};
use rand::Rng;
use sqlx::AssertSqlSafe;

/// A profile change: `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct MemberInput {
    pub email: Option<Email>,
    pub name: Option<Option<String>>,
    pub birth_date: Option<Option<NaiveDate>>,
    pub phone: Option<Option<String>>,
    pub preferred_language: Option<Option<String>>,
    pub opted_out: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct MemberUpsert {
    pub member: Member,
    pub created: bool,
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn referral_code() -> String {
    let mut rng = rand::rng();
    (0..8)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

impl Store {
    /// Reads a member inside a write transaction, locking its row so concurrent changes queue up.
    pub(crate) async fn lock_member(
        &self,
        tx: &mut Tx,
        program_id: &str,
        external_id: &str,
    ) -> Result<MemberRecord, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND external_id = $2{}",
            self.backend().for_update()
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(external_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or(StoreError::NotFound("member"))?;
        member_record(&row)
    }

    pub(crate) async fn save_member(
        &self,
        tx: &mut Tx,
        rec: &MemberRecord,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let m = &rec.member;
        sqlx::query(
            "UPDATE members SET email = $1, email_key = $2, name = $3, birth_date = $4, phone = $5, \
             preferred_language = $6, opted_out = $7, status = $8, tier = $9, available = $10, pending = $11, \
             earned = $12, redeemed = $13, expired = $14, debt = $15, qualifying = $16, last_active_at = $17, \
             updated_at = $18 WHERE id = $19",
        )
        .bind(&m.email)
        .bind(m.email.to_lowercase())
        .bind(&m.name)
        .bind(m.birth_date.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(&m.phone)
        .bind(&m.preferred_language)
        .bind(i64::from(m.opted_out))
        .bind(m.status.as_str())
        .bind(&m.tier)
        .bind(m.balances.available.0)
        .bind(m.balances.pending.0)
        .bind(m.balances.earned.0)
        .bind(m.balances.redeemed.0)
        .bind(m.balances.expired.0)
        .bind(rec.debt.0)
        .bind(m.qualifying_points.0)
        .bind(rec.last_active_at)
        .bind(ms(now))
        .bind(&m.id)
        .execute(&mut **tx)
        .await?;
        self.note_profile_change(tx, &rec.program_id, m, now)
            .await?;
        Ok(())
    }

    /// Creates the member, or updates the given fields of an existing one. A Deleted member is frozen.
    pub async fn upsert_member(
        &self,
        program_id: &str,
        external_id: &str,
        input: &MemberInput,
        now: DateTime<Utc>,
    ) -> Result<MemberUpsert, StoreError> {
        for _ in 0..5 {
            match self
                .try_upsert_member(program_id, external_id, input, now)
                .await
            {
                Err(e) if e.is_unique_violation() => {
                    // Either the email is taken (reported below) or a racing create won / a referral
                    // code collided: look again.
                    if let Some(email) = &input.email {
                        let taken = self
                            .find_members_by_email(program_id, email.as_str())
                            .await?;
                        if taken.iter().any(|m| {
                            m.external_id != external_id && m.status != MemberStatus::Deleted
                        }) {
                            return Err(email_taken());
                        }
                    }
                }
                other => return other,
            }
        }
        Err(StoreError::conflict(
            "concurrent_update",
            "the member changed concurrently; try again",
        ))
    }

    async fn try_upsert_member(
        &self,
        program_id: &str,
        external_id: &str,
        input: &MemberInput,
        now: DateTime<Utc>,
    ) -> Result<MemberUpsert, StoreError> {
        let mut tx = self.write_tx().await?;
        let existing = match self.lock_member(&mut tx, program_id, external_id).await {
            Ok(rec) => Some(rec),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        if let Some(email) = &input.email {
            let clash: Option<String> = sqlx::query_scalar(
                "SELECT external_id FROM members WHERE program_id = $1 AND email_key = $2 \
                 AND status <> 'Deleted' AND external_id <> $3",
            )
            .bind(program_id)
            .bind(email.key())
            .bind(external_id)
            .fetch_optional(&mut *tx)
            .await?;
            if clash.is_some() {
                return Err(email_taken());
            }
        }
        let result = match existing {
            Some(mut rec) => {
                if rec.member.status == MemberStatus::Deleted {
                    return Err(StoreError::conflict(
                        "member_deleted",
                        "this member was deleted and can no longer change",
                    ));
                }
                apply(&mut rec.member, input);
                self.save_member(&mut tx, &rec, now).await?;
                MemberUpsert {
                    member: rec.member,
                    created: false,
                }
            }
            None => {
                let email = input.email.as_ref().ok_or_else(|| {
                    StoreError::invalid("required", "email", "a new member needs an email address")
                })?;
                let id = uuid::Uuid::now_v7().to_string();
                let code = referral_code();
                sqlx::query(
                    "INSERT INTO members (id, program_id, external_id, email, email_key, referral_code, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(&id)
                .bind(program_id)
                .bind(external_id)
                .bind(email.as_str())
                .bind(email.key())
                .bind(&code)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?;
                let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
                apply(&mut rec.member, input);
                self.save_member(&mut tx, &rec, now).await?;
                MemberUpsert {
                    member: rec.member,
                    created: true,
                }
            }
        };
        tx.commit().await?;
        Ok(result)
    }

    pub async fn member(&self, program_id: &str, external_id: &str) -> Result<Member, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND external_id = $2"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(external_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("member"))?;
        Ok(member_record(&row)?.member)
    }

    pub async fn member_by_id(&self, member_id: &str) -> Result<Member, StoreError> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(member_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("member"))?;
        Ok(member_record(&row)?.member)
    }

    /// Members with this address (compared case-insensitively), live ones first.
    pub async fn find_members_by_email(
        &self,
        program_id: &str,
        email: &str,
    ) -> Result<Vec<Member>, StoreError> {
        let sql = format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND email_key = $2 \
             ORDER BY CASE WHEN status = 'Deleted' THEN 1 ELSE 0 END, created_at"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(email.trim().to_lowercase())
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| member_record(r).map(|rec| rec.member))
            .collect()
    }

    /// Moves a member to a new status. Deleted is final.
    pub async fn set_member_status(
        &self,
        program_id: &str,
        external_id: &str,
        status: MemberStatus,
        now: DateTime<Utc>,
    ) -> Result<Member, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
        if rec.member.status == MemberStatus::Deleted && status != MemberStatus::Deleted {
            return Err(StoreError::conflict(
                "member_deleted",
                "this member was deleted and can no longer change",
            ));
        }
        rec.member.status = status;
        self.save_member(&mut tx, &rec, now).await?;
        tx.commit().await?;
        Ok(rec.member)
    }
}

fn email_taken() -> StoreError {
    StoreError::Rejected(crate::Rejection {
        code: "email_taken",
        field: Some("email".into()),
        message: "another member of this program already uses this email address".into(),
        conflict: true,
    })
}

fn apply(m: &mut Member, input: &MemberInput) {
    if let Some(email) = &input.email {
        m.email = email.as_str().to_string();
    }
    if let Some(v) = &input.name {
        m.name = v.clone();
    }
    if let Some(v) = input.birth_date {
        m.birth_date = v;
    }
    if let Some(v) = &input.phone {
        m.phone = v.clone();
    }
    if let Some(v) = &input.preferred_language {
        m.preferred_language = v.clone();
    }
    if let Some(v) = input.opted_out {
        m.opted_out = v;
    }
}
