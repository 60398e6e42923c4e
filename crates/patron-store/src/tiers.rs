//! Tiers over time: the qualifying total of a rolling window, recomputed from the lots, and the
//! periodic review that moves members down (without an event) or up (with `Tier Upgrade`).

use crate::ledger::ProgramCtx;
use crate::rows::MemberRecord;
use crate::{Store, StoreError, Tx, from_ms};
use chrono::{DateTime, Utc};
use patron_domain::tiers::{self, QualifyingLot};
use patron_domain::{MemberStatus, Points};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierReview {
    pub reviewed: u64,
    pub downgraded: u64,
    pub upgraded: u64,
}

impl Store {
    /// The member's qualifying lots (approved, of a qualifying type) with what returns took back.
    async fn qualifying_lots(
        &self,
        tx: &mut Tx,
        member_id: &str,
    ) -> Result<Vec<QualifyingLot>, StoreError> {
        sqlx::query("SELECT amount, reversed, earned_at FROM lots WHERE member_id = $1 AND qualifying = 1 AND approved = 1")
            .bind(member_id)
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| {
                Ok(QualifyingLot {
                    amount: Points(r.try_get("amount")?),
                    reversed: Points(r.try_get("reversed")?),
                    earned_at: from_ms(r.try_get("earned_at")?),
                })
            })
            .collect()
    }

    /// Under a rolling window, sets the member's qualifying total to what the window holds at `at`.
    /// Lifetime totals are kept incrementally and need no recomputation.
    pub(crate) async fn refresh_window_qualifying(
        &self,
        tx: &mut Tx,
        rec: &mut MemberRecord,
        ctx: &ProgramCtx,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(days) = ctx.settings.tiers.window_days {
            let lots = self.qualifying_lots(tx, &rec.member.id).await?;
            rec.member.qualifying_points = tiers::qualifying_points(&lots, Some(days), at);
        }
        Ok(())
    }

    /// Reviews every member's tier as of `as_of`, a page of members at a time, one short
    /// transaction per member whose tier or total changes.
    pub async fn review_tiers(
        &self,
        program_id: &str,
        as_of: DateTime<Utc>,
        batch: u32,
    ) -> Result<TierReview, StoreError> {
        let mut report = TierReview::default();
        let mut after = String::new();
        loop {
            let page: Vec<(String, String)> = sqlx::query(AssertSqlSafe(format!(
                "SELECT id, external_id FROM members WHERE program_id = $1 AND id > $2 AND status <> 'Deleted' \
                 ORDER BY id LIMIT {}",
                batch.max(1)
            )))
            .bind(program_id)
            .bind(&after)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("external_id")?)))
            .collect::<Result<_, StoreError>>()?;
            let Some((last, _)) = page.last() else {
                return Ok(report);
            };
            after = last.clone();
            for (_, external_id) in &page {
                report.reviewed += 1;
                match self
                    .review_member_tier(program_id, external_id, as_of)
                    .await?
                {
                    Some(true) => report.upgraded += 1,
                    Some(false) => report.downgraded += 1,
                    None => {}
                }
            }
        }
    }

    /// `Some(true)` when the member moved up, `Some(false)` down, `None` when the tier stayed.
    async fn review_member_tier(
        &self,
        program_id: &str,
        external_id: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
        if rec.member.status == MemberStatus::Deleted {
            return Ok(None);
        }
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let before = (rec.member.tier.clone(), rec.member.qualifying_points);
        self.refresh_window_qualifying(&mut tx, &mut rec, &ctx, as_of)
            .await?;
        let levels = &ctx.settings.tiers.levels;
        let target = tiers::reviewed_tier(levels, rec.member.qualifying_points);
        let moved = if tiers::is_upgrade(levels, rec.member.tier.as_deref(), target.as_deref()) {
            let notes: Vec<_> = self
                .apply_tier_upgrade(&mut rec, &ctx)
                .into_iter()
                .collect();
            self.enqueue(&mut tx, program_id, &notes, as_of).await?;
            Some(true)
        } else if target != rec.member.tier {
            // A downgrade updates Current Tier without an event (the profile sync carries it).
            rec.member.tier = target;
            Some(false)
        } else {
            None
        };
        if (rec.member.tier.clone(), rec.member.qualifying_points) != before {
            self.save_member(&mut tx, &rec, as_of).await?;
            tx.commit().await?;
        }
        Ok(moved)
    }
}
