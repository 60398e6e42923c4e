//! Expiry jobs: `Points Expiration` reminders before points expire (once per member, expiry date
//! and lead day), and the expiring itself, which takes only what is left of due lots and appends
//! an `expire` entry with its draws.

use crate::group_commit::{Params, ROWS_PER_STATEMENT};
use crate::ledger::{ProgramCtx, note};
use crate::rows::{MEMBER_COLUMNS, MemberRecord, member_record};
use crate::{Store, StoreError, Tx, from_ms, ms};
use chrono::{DateTime, Duration, Utc};
use patron_domain::catalog::field;
use patron_domain::expiry::{self, Schedule};
use patron_domain::ledger::{Draw, EntryKind, Lot};
use patron_domain::profile::format_instant_date;
use patron_domain::settings::ExpiryMode;
use patron_domain::{EventKind, MemberStatus};
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

/// Which members may have something to expire (or remind of) by `until`: `columns` of a page of
/// them, in id order after `$2`.
fn candidates_sql(mode: ExpiryMode, columns: &str, batch: u32) -> Option<String> {
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
        "SELECT {columns} FROM members m WHERE m.program_id = $1 AND m.id > $2 \
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
        let Some(sql) = candidates_sql(mode, "m.id, m.external_id", batch) else {
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
            let Some(page) = self
                .expire_page(program_id, (ms(until), batch), &mut after, as_of)
                .await?
            else {
                return Ok(run);
            };
            run.members += page.members;
            run.points += page.points;
        }
    }

    /// Expires what is due for the next page of candidates after `after` (moved past them) in one
    /// transaction: their rows and lots read in two statements, then the draws, the `expire` entries
    /// and the balances written in a few multi-row statements. `None` when no candidate is left.
    async fn expire_page(
        &self,
        program_id: &str,
        (until_ms, batch): (i64, u32),
        after: &mut String,
        as_of: DateTime<Utc>,
    ) -> Result<Option<ExpiryRun>, StoreError> {
        let mut tx = self.write_tx().await?;
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let columns = MEMBER_COLUMNS
            .split(", ")
            .map(|c| format!("m.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ");
        let Some(sql) = candidates_sql(ctx.settings.expiry.mode, &columns, batch) else {
            return Ok(None);
        };
        let sql = format!("{sql}{}", self.backend().for_update());
        let members = sqlx::query(AssertSqlSafe(sql))
            .bind(program_id)
            .bind(&*after)
            .bind(until_ms)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(member_record)
            .collect::<Result<Vec<_>, _>>()?;
        let Some(last) = members.last() else {
            return Ok(None);
        };
        after.clone_from(&last.member.id);
        let member_ids: Vec<&str> = members.iter().map(|m| m.member.id.as_str()).collect();
        let mut lots = self.lots_of(&mut tx, &member_ids).await?;
        let mut run = ExpiryRun::default();
        let mut expired: Vec<(&MemberRecord, i64, Vec<Draw>)> = Vec::new();
        for rec in &members {
            if rec.member.status == MemberStatus::Deleted {
                continue;
            }
            let Some(schedule) = Self::schedule(&ctx, rec) else {
                continue;
            };
            let mine = lots.remove(&rec.member.id).unwrap_or_default();
            let draws = expiry::plan_expiry(&mine, schedule, as_of);
            let total: i64 = draws.iter().map(|d| d.points.0).sum();
            if total == 0 {
                continue;
            }
            run.members += 1;
            run.points += total;
            expired.push((rec, total, draws));
        }
        for chunk in expired.chunks(ROWS_PER_STATEMENT) {
            let draws: Vec<&Draw> = chunk.iter().flat_map(|(_, _, d)| d).collect();
            let mut p = Params::new(self.backend());
            let cases: String = draws
                .iter()
                .map(|_| format!(" WHEN {} THEN {}", p.next(), p.next()))
                .collect();
            let sql = format!(
                "UPDATE lots SET remaining = remaining - CASE id{cases} END WHERE id IN ({})",
                draws
                    .iter()
                    .map(|d| d.lot_id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for d in &draws {
                q = q.bind(d.lot_id).bind(d.points.0);
            }
            q.execute(&mut *tx).await?;

            let sql = format!(
                "INSERT INTO ledger_entries (program_id, member_id, kind, points, description, draws, shortfall, \
                 occurred_at, created_at) VALUES {}",
                Params::new(self.backend()).rows(chunk.len(), 9)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for (rec, total, draws) in chunk {
                q = q
                    .bind(program_id)
                    .bind(&rec.member.id)
                    .bind(EntryKind::Expire.as_str())
                    .bind(-total)
                    .bind("Points expired")
                    .bind(serde_json::to_string(draws)?)
                    .bind(0_i64)
                    .bind(ms(as_of))
                    .bind(ms(as_of));
            }
            q.execute(&mut *tx).await?;

            // Balances move by the amount expired: the rows are locked (or the write turn held) since
            // they were read.
            let mut p = Params::new(self.backend());
            let mut cases = || -> String {
                chunk
                    .iter()
                    .map(|_| format!(" WHEN {} THEN {}", p.next(), p.next()))
                    .collect()
            };
            let (less, more) = (cases(), cases());
            let sql = format!(
                "UPDATE members SET available = available - CASE id{less} END, \
                 expired = expired + CASE id{more} END, updated_at = {} WHERE id IN ({})",
                p.next(),
                p.list(chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for _ in 0..2 {
                for (rec, total, _) in chunk {
                    q = q.bind(&rec.member.id).bind(*total);
                }
            }
            q = q.bind(ms(as_of));
            for (rec, _, _) in chunk {
                q = q.bind(&rec.member.id);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(Some(run))
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
