//! The monthly digest: `Eligible Rewards` for each Active, subscribed member whose available
//! points afford at least one active reward their tier permits, once per member per month (the
//! outbox dedupe key `digest:YYYY-MM:<member>`).

use crate::ledger::note;
use crate::rows::{MEMBER_COLUMNS, member_record};
use crate::{Store, StoreError};
use chrono::{DateTime, Utc};
use patron_domain::profile::{permitted_offers, reward_outlook};
use patron_domain::{EventKind, digest};
use sqlx::AssertSqlSafe;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DigestRun {
    /// Members whose points afford a reward.
    pub eligible: u64,
    /// Digests recorded now (members already sent this month's are skipped).
    pub recorded: u64,
}

impl Store {
    /// Records this month's digests, a page of members per short transaction.
    pub async fn send_digest(
        &self,
        program_id: &str,
        as_of: DateTime<Utc>,
        batch: u32,
    ) -> Result<DigestRun, StoreError> {
        let mut run = DigestRun::default();
        let mut after = String::new();
        loop {
            let mut tx = self.write_tx().await?;
            let ctx = self.program_ctx(&mut tx, program_id).await?;
            let Some(cheapest) = ctx.rewards.iter().map(|r| r.points_cost.0).min() else {
                return Ok(run);
            };
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND id > $2 AND status = 'Active' \
                 AND opted_out = 0 AND available >= $3 ORDER BY id LIMIT {}",
                batch.max(1)
            )))
            .bind(program_id)
            .bind(&after)
            .bind(cheapest)
            .fetch_all(&mut *tx)
            .await?;
            let mut notes = Vec::new();
            for row in &rows {
                let rec = member_record(row)?;
                after = rec.member.id.clone();
                let permitted = permitted_offers(
                    &ctx.settings.tiers.levels,
                    rec.member.tier.as_deref(),
                    &ctx.rewards,
                );
                let (eligible, _) = reward_outlook(rec.member.balances.available, &permitted);
                if eligible.is_empty() {
                    continue;
                }
                run.eligible += 1;
                let mut n = note(
                    &rec.member,
                    EventKind::EligibleRewards,
                    ctx.fields(&rec.member, &[]),
                );
                n.dedupe_key = Some(digest::dedupe_key(as_of, &rec.member.id));
                notes.push(n);
            }
            run.recorded += self.enqueue(&mut tx, program_id, &notes, as_of).await?;
            tx.commit().await?;
            if rows.is_empty() {
                return Ok(run);
            }
        }
    }
}
