//! Win-back: offers to members inactive for the configured days (one per inactivity episode,
//! `Winback Award`), taken by a purchase before they lapse (a `bonus` entry and `Points Earned`).

use crate::ledger::{Earning, ProgramCtx, note};
use crate::rows::MemberRecord;
use crate::{Store, StoreError, Tx, from_ms, ms};
use chrono::{DateTime, Duration, Utc};
use patron_domain::catalog::field;
use patron_domain::ledger::EntryKind;
use patron_domain::profile::format_instant_date;
use patron_domain::{EventKind, MemberStatus, Points, winback};
use sqlx::{AssertSqlSafe, Row};

/// The activity name the bonus shows as `Recent Activity Completed`.
pub const WINBACK_BONUS: &str = "Winback Bonus";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WinbackRun {
    pub offered: u64,
    pub lapsed: u64,
}

/// When a member's current inactivity episode began: their last activity that keeps an account
/// active, or when they joined.
fn episode_start(rec: &MemberRecord) -> i64 {
    rec.last_active_at
        .unwrap_or_else(|| ms(rec.member.created_at))
}

impl Store {
    /// Makes offers to members inactive at `as_of` who have none for their current episode, and
    /// marks offers past their validity as lapsed.
    pub async fn run_winback(
        &self,
        program_id: &str,
        as_of: DateTime<Utc>,
        batch: u32,
    ) -> Result<WinbackRun, StoreError> {
        let mut run = WinbackRun::default();
        let mut tx = self.write_tx().await?;
        run.lapsed = sqlx::query(
            "UPDATE winback_offers SET status = 'lapsed', closed_at = expires_at WHERE program_id = $1 \
             AND status = 'open' AND expires_at <= $2",
        )
        .bind(program_id)
        .bind(ms(as_of))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        let settings = self.settings(program_id).await?;
        if !settings.winback.enabled {
            return Ok(run);
        }
        let inactive_since = ms(as_of - Duration::days(i64::from(settings.winback.inactive_days)));
        let mut after = String::new();
        loop {
            let page: Vec<(String, String)> = sqlx::query(AssertSqlSafe(format!(
                "SELECT m.id, m.external_id FROM members m WHERE m.program_id = $1 AND m.id > $2 \
                 AND m.status = 'Active' AND m.opted_out = 0 AND COALESCE(m.last_active_at, m.created_at) <= $3 \
                 AND NOT EXISTS (SELECT 1 FROM winback_offers o WHERE o.member_id = m.id \
                   AND (o.episode_start = COALESCE(m.last_active_at, m.created_at) OR o.status = 'open')) \
                 ORDER BY m.id LIMIT {}",
                batch.max(1)
            )))
            .bind(program_id)
            .bind(&after)
            .bind(inactive_since)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("external_id")?)))
            .collect::<Result<_, StoreError>>()?;
            let Some((last, _)) = page.last() else {
                return Ok(run);
            };
            after = last.clone();
            for (_, external_id) in &page {
                run.offered += self.offer_winback(program_id, external_id, as_of).await?;
            }
        }
    }

    async fn offer_winback(
        &self,
        program_id: &str,
        external_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut tx = self.write_tx().await?;
        let rec = self.lock_member(&mut tx, program_id, external_id).await?;
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let w = &ctx.settings.winback;
        let start = episode_start(&rec);
        if rec.member.status != MemberStatus::Active
            || !winback::is_inactive(w, from_ms(start), as_of)
        {
            return Ok(0);
        }
        let expires_at = winback::offer_expiry(w, as_of);
        let inserted = sqlx::query(
            "INSERT INTO winback_offers (program_id, member_id, episode_start, bonus_points, offered_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(program_id)
        .bind(&rec.member.id)
        .bind(start)
        .bind(w.bonus_points)
        .bind(ms(as_of))
        .bind(ms(expires_at))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 && rec.member.receives_events() {
            let fields = ctx.fields(
                &rec.member,
                &[
                    (field::WINBACK_EXPIRY_DATE, format_instant_date(expires_at)),
                    (field::POINTS_CURRENT_ACTIVITY, w.bonus_points.to_string()),
                ],
            );
            self.enqueue(
                &mut tx,
                program_id,
                &[note(&rec.member, EventKind::WinbackAward, fields)],
                as_of,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// Inside a purchase's transaction: credits the bonus of an open offer the purchase is in time
    /// for and closes it; an offer it is too late for lapses.
    pub(crate) async fn take_winback_offer(
        &self,
        tx: &mut Tx,
        rec: &mut MemberRecord,
        ctx: &ProgramCtx,
        purchased_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(offer) = sqlx::query(
            "SELECT id, bonus_points, offered_at, expires_at FROM winback_offers WHERE member_id = $1 AND status = 'open' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(&rec.member.id)
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Ok(());
        };
        let id: i64 = offer.try_get("id")?;
        let offered_at = from_ms(offer.try_get("offered_at")?);
        let expires_at = from_ms(offer.try_get("expires_at")?);
        if purchased_at < offered_at {
            return Ok(());
        }
        let taken = winback::purchase_takes_offer(offered_at, expires_at, purchased_at);
        sqlx::query("UPDATE winback_offers SET status = $1, closed_at = $2 WHERE id = $3")
            .bind(if taken { "taken" } else { "lapsed" })
            .bind(ms(purchased_at))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        if taken {
            let bonus = Points(offer.try_get("bonus_points")?);
            let e = Earning {
                kind: EntryKind::Bonus,
                activity_type: Some("winback"),
                description: WINBACK_BONUS,
                order_id: None,
                order_amount: None,
                points: bonus,
                occurred_at: purchased_at,
                available_at: purchased_at,
                qualifies: false,
            };
            self.insert_earning(tx, rec, ctx, e, now).await?;
        }
        Ok(())
    }
}
