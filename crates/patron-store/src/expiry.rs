//! Expiry jobs: `Points Expiration` reminders before points expire (once per member, expiry date
//! and lead day), and the expiring itself, which takes only what is left of due lots and appends
//! an `expire` entry with its draws.

use crate::ledger::{ProgramCtx, note};
use crate::rows::{MEMBER_COLUMNS, MemberRecord, member_record};
use crate::{Store, StoreError, Tx, from_ms, ms};
use chrono::{DateTime, Duration, Utc};
use patron_domain::catalog::field;
use patron_domain::expiry::{self, Schedule};
use patron_domain::ledger::{EntryKind, Lot};
use patron_domain::profile::format_instant_date;
use patron_domain::settings::ExpiryMode;
use patron_domain::{EventKind, MemberStatus, Points};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiryRun {
    pub members: u64,
    pub points: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReminderRun {
    pub reminded: u64,
}

/// Which members may have something to expire (or remind of) by `until`.
fn candidates_sql(mode: ExpiryMode, batch: u32) -> Option<String> {
    let filter = match mode {
        ExpiryMode::Never => return None,
        ExpiryMode::PerLot => {
            "EXISTS (SELECT 1 FROM lots l WHERE l.member_id = m.id AND l.approved = 1 AND l.remaining > 0 \
             AND l.expires_at IS NOT NULL AND l.expires_at <= $3)"
        }
        ExpiryMode::Inactivity => {
            "m.available > 0 AND COALESCE(m.last_active_at, m.created_at) <= $3"
        }
    };
    Some(format!(
        "SELECT m.id, m.external_id FROM members m WHERE m.program_id = $1 AND m.id > $2 \
         AND m.status <> 'Deleted' AND {filter} ORDER BY m.id LIMIT {}",
        batch.max(1)
    ))
}

impl Store {
    /// Pages through the members that may be due by `until` (a lot expiry, or for inactivity the
    /// last activity) and calls `each` on their external ids.
    async fn expiry_candidates(
        &self,
        program_id: &str,
        mode: ExpiryMode,
        until_ms: i64,
        batch: u32,
        after: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let Some(sql) = candidates_sql(mode, batch) else {
            return Ok(vec![]);
        };
        sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(after)
            .bind(until_ms)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("external_id")?)))
            .collect()
    }

    fn schedule(ctx: &ProgramCtx, rec: &MemberRecord) -> Option<Schedule> {
        match ctx.settings.expiry.mode {
            ExpiryMode::Never => None,
            ExpiryMode::PerLot => Some(Schedule::PerLot),
            ExpiryMode::Inactivity => {
                let last = from_ms(
                    rec.last_active_at
                        .unwrap_or_else(|| ms(rec.member.created_at)),
                );
                expiry::inactivity_deadline(&ctx.settings.expiry, last, ctx.expiry_enabled_at)
                    .map(Schedule::Deadline)
            }
        }
    }

    async fn plain_lots(&self, tx: &mut Tx, member_id: &str) -> Result<Vec<Lot>, StoreError> {
        Ok(self
            .member_lots(tx, member_id)
            .await?
            .into_iter()
            .map(|(l, _)| l)
            .collect())
    }

    /// Expires what is due at `as_of`, member by member. Returns members touched and points expired.
    pub async fn expire_points(
        &self,
        program_id: &str,
        as_of: DateTime<Utc>,
        batch: u32,
    ) -> Result<ExpiryRun, StoreError> {
        let settings = self.settings(program_id).await?;
        let until = match settings.expiry.mode {
            ExpiryMode::Inactivity => as_of - Duration::days(i64::from(settings.expiry.days)),
            _ => as_of,
        };
        let mut run = ExpiryRun::default();
        let mut after = String::new();
        loop {
            let page = self
                .expiry_candidates(program_id, settings.expiry.mode, ms(until), batch, &after)
                .await?;
            let Some((last, _)) = page.last() else {
                return Ok(run);
            };
            after = last.clone();
            for (_, external_id) in &page {
                let expired = self
                    .expire_member_points(program_id, external_id, as_of)
                    .await?;
                if expired > 0 {
                    run.members += 1;
                    run.points += expired;
                }
            }
        }
    }

    async fn expire_member_points(
        &self,
        program_id: &str,
        external_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
        if rec.member.status == MemberStatus::Deleted {
            return Ok(0);
        }
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let Some(schedule) = Self::schedule(&ctx, &rec) else {
            return Ok(0);
        };
        let lots = self.plain_lots(&mut tx, &rec.member.id).await?;
        let draws = expiry::plan_expiry(&lots, schedule, as_of);
        let total: i64 = draws.iter().map(|d| d.points.0).sum();
        if total == 0 {
            return Ok(0);
        }
        self.apply_draws(&mut tx, &draws).await?;
        let b = &mut rec.member.balances;
        b.available = Points(b.available.0 - total);
        b.expired = Points(b.expired.0 + total);
        self.insert_entry(
            &mut tx,
            program_id,
            &rec.member.id,
            EntryKind::Expire,
            -total,
            "Points expired",
            None,
            &draws,
            0,
            as_of,
        )
        .await?;
        self.save_member(&mut tx, &rec, as_of).await?;
        tx.commit().await?;
        Ok(total)
    }

    /// The member's next expiry at `as_of` (date and points), from the same lots and schedule the
    /// expiry job and the reminders use; `None` when nothing is set to expire.
    pub async fn next_expiry(
        &self,
        program_id: &str,
        external_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<expiry::Upcoming>, StoreError> {
        let mut tx = self.read_tx().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND external_id = $2"
        )))
        .bind(program_id)
        .bind(external_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("member"))?;
        let rec = member_record(&row)?;
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let Some(schedule) = Self::schedule(&ctx, &rec) else {
            return Ok(None);
        };
        let lots = self.plain_lots(&mut tx, &rec.member.id).await?;
        Ok(expiry::next_expiry(&lots, schedule, rec.debt, as_of))
    }

    /// Records the `Points Expiration` reminders due at `as_of`. The outbox dedupe key
    /// `expiry:<member>:<date>:<lead>` makes each one once, however often the job runs.
    pub async fn send_expiry_reminders(
        &self,
        program_id: &str,
        as_of: DateTime<Utc>,
        batch: u32,
    ) -> Result<ReminderRun, StoreError> {
        let settings = self.settings(program_id).await?;
        let Some(max_lead) = settings.expiry.reminder_days.iter().copied().max() else {
            return Ok(ReminderRun::default());
        };
        let horizon = as_of + Duration::days(i64::from(max_lead));
        let until = match settings.expiry.mode {
            ExpiryMode::Inactivity => horizon - Duration::days(i64::from(settings.expiry.days)),
            _ => horizon,
        };
        let mut run = ReminderRun::default();
        let mut after = String::new();
        loop {
            let page = self
                .expiry_candidates(program_id, settings.expiry.mode, ms(until), batch, &after)
                .await?;
            let Some((last, _)) = page.last() else {
                return Ok(run);
            };
            after = last.clone();
            let mut tx = self.write_tx().await?;
            let ctx = self.program_ctx(&mut tx, program_id).await?;
            for (_, external_id) in &page {
                run.reminded += self
                    .remind_member(&mut tx, &ctx, program_id, external_id, as_of)
                    .await?;
            }
            tx.commit().await?;
        }
    }

    async fn remind_member(
        &self,
        tx: &mut Tx,
        ctx: &ProgramCtx,
        program_id: &str,
        external_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let rec = self.lock_member(tx, program_id, external_id).await?;
        if !rec.member.receives_events() {
            return Ok(0);
        }
        let Some(schedule) = Self::schedule(ctx, &rec) else {
            return Ok(0);
        };
        let lots = self.plain_lots(tx, &rec.member.id).await?;
        let mut notes = Vec::new();
        for r in expiry::reminders_due(
            &lots,
            schedule,
            &ctx.settings.expiry.reminder_days,
            rec.debt,
            as_of,
        ) {
            let fields = ctx.fields(
                &rec.member,
                &[
                    (field::POINTS_CURRENT_ACTIVITY, r.points.0.to_string()),
                    (field::POINTS_EXPIRY_DATE, format_instant_date(r.expires_at)),
                ],
            );
            let mut n = note(&rec.member, EventKind::PointsExpiration, fields);
            n.dedupe_key = Some(format!(
                "expiry:{}:{}:{}",
                rec.member.id, r.expires_on, r.lead_days
            ));
            notes.push(n);
        }
        self.enqueue(tx, program_id, &notes, as_of).await
    }
}
