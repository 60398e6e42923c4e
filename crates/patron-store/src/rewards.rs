//! Rewards and redemptions: the catalogue of rewards, their coupon pools, and spending points on
//! one. A redemption locks the member, draws from lots soonest-expiring first, takes a coupon and
//! records `Default Coupon Reward`, all in one transaction.

use crate::coupons::{CouponSource, Holder};
use crate::ledger::note;
use crate::{Store, StoreError, from_ms, ms};
use chrono::{DateTime, Utc};
use patron_domain::catalog::field;
use patron_domain::ledger::{self, EntryKind, LedgerError, Lot};
use patron_domain::profile::RewardOffer;
use patron_domain::{EventKind, Points, tiers};
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row};

/// Where a reward's coupon codes come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CouponSourceSpec {
    /// Prefix + random, unique in the program.
    Generated { prefix: String },
    /// Codes uploaded with `POST /v1/rewards/{id}/coupons`, each given out once.
    Pool,
}

#[derive(Debug, Clone)]
pub struct RewardInput {
    pub name: String,
    pub points_cost: i64,
    pub active: bool,
    pub min_tier: Option<String>,
    pub coupon: CouponSourceSpec,
}

/// A change to a reward: `None` keeps a field; `min_tier: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct RewardPatch {
    pub name: Option<String>,
    pub points_cost: Option<i64>,
    pub active: Option<bool>,
    pub min_tier: Option<Option<String>>,
    pub coupon: Option<CouponSourceSpec>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RewardView {
    pub id: String,
    pub name: String,
    pub points_cost: i64,
    pub active: bool,
    pub min_tier: Option<String>,
    pub coupon: CouponSourceSpec,
    /// For pools: codes not yet given out.
    pub pool_available: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct RedemptionInput {
    pub reward_id: String,
    pub idempotency_key: Option<String>,
    pub request_hash: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedemptionOutcome {
    pub entry_id: i64,
    pub code: String,
    pub points_used: i64,
    pub reward_id: String,
    pub reward_name: String,
    #[serde(skip)]
    pub replayed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CouponUpload {
    pub added: u64,
    pub duplicates: u64,
}

/// Active rewards as the computed fields see them.
pub(crate) async fn active_offers<'e, E: sqlx::Executor<'e, Database = Any>>(
    exec: E,
    program_id: &str,
) -> Result<Vec<RewardOffer>, StoreError> {
    sqlx::query(
        "SELECT name, points_cost, min_tier FROM rewards WHERE program_id = $1 AND active = 1",
    )
    .bind(program_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| {
        Ok(RewardOffer {
            name: r.try_get("name")?,
            points_cost: Points(r.try_get("points_cost")?),
            min_tier: r.try_get("min_tier")?,
        })
    })
    .collect()
}

const REWARD_COLUMNS: &str = "r.id, r.name, r.points_cost, r.active, r.min_tier, r.coupon_prefix, r.created_at, r.updated_at, \
     (SELECT COUNT(*) FROM coupons c WHERE c.reward_id = r.id AND c.claimed_at IS NULL) AS pool_available";

fn reward_view(r: &sqlx::any::AnyRow) -> Result<RewardView, StoreError> {
    let prefix: Option<String> = r.try_get("coupon_prefix")?;
    let available: i64 = r.try_get("pool_available")?;
    Ok(RewardView {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        points_cost: r.try_get("points_cost")?,
        active: r.try_get::<i64, _>("active")? != 0,
        min_tier: r.try_get("min_tier")?,
        pool_available: prefix.is_none().then_some(available),
        coupon: match prefix {
            Some(prefix) => CouponSourceSpec::Generated { prefix },
            None => CouponSourceSpec::Pool,
        },
        created_at: from_ms(r.try_get("created_at")?),
        updated_at: from_ms(r.try_get("updated_at")?),
    })
}

fn prefix_of(spec: &CouponSourceSpec) -> Option<&str> {
    match spec {
        CouponSourceSpec::Generated { prefix } => Some(prefix),
        CouponSourceSpec::Pool => None,
    }
}

impl Store {
    async fn check_min_tier(
        &self,
        program_id: &str,
        min_tier: Option<&str>,
    ) -> Result<(), StoreError> {
        if let Some(tier) = min_tier {
            let settings = self.settings(program_id).await?;
            if !settings.tiers.levels.iter().any(|l| l.name == tier) {
                return Err(StoreError::invalid(
                    "unknown_tier",
                    "min_tier",
                    format!("`{tier}` is not a tier of this program's settings"),
                ));
            }
        }
        Ok(())
    }

    pub async fn create_reward(
        &self,
        program_id: &str,
        input: &RewardInput,
        now: DateTime<Utc>,
    ) -> Result<RewardView, StoreError> {
        self.check_min_tier(program_id, input.min_tier.as_deref())
            .await?;
        let id = format!("rwd_{}", uuid::Uuid::now_v7().simple());
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO rewards (id, program_id, name, points_cost, active, min_tier, coupon_prefix, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(&id)
        .bind(program_id)
        .bind(&input.name)
        .bind(input.points_cost)
        .bind(i64::from(input.active))
        .bind(&input.min_tier)
        .bind(prefix_of(&input.coupon))
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.reward(program_id, &id).await
    }

    pub async fn reward(&self, program_id: &str, id: &str) -> Result<RewardView, StoreError> {
        let sql =
            format!("SELECT {REWARD_COLUMNS} FROM rewards r WHERE r.program_id = $1 AND r.id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(program_id)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound("reward"))?;
        reward_view(&row)
    }

    pub async fn list_rewards(&self, program_id: &str) -> Result<Vec<RewardView>, StoreError> {
        let sql = format!(
            "SELECT {REWARD_COLUMNS} FROM rewards r WHERE r.program_id = $1 ORDER BY r.points_cost, r.name, r.id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(program_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(reward_view).collect()
    }

    pub async fn update_reward(
        &self,
        program_id: &str,
        id: &str,
        patch: &RewardPatch,
        now: DateTime<Utc>,
    ) -> Result<RewardView, StoreError> {
        if let Some(Some(tier)) = &patch.min_tier {
            self.check_min_tier(program_id, Some(tier)).await?;
        }
        let mut current = self.reward(program_id, id).await?;
        if let Some(v) = &patch.name {
            current.name = v.clone();
        }
        if let Some(v) = patch.points_cost {
            current.points_cost = v;
        }
        if let Some(v) = patch.active {
            current.active = v;
        }
        if let Some(v) = &patch.min_tier {
            current.min_tier = v.clone();
        }
        if let Some(v) = &patch.coupon {
            current.coupon = v.clone();
        }
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "UPDATE rewards SET name = $1, points_cost = $2, active = $3, min_tier = $4, coupon_prefix = $5, \
             updated_at = $6 WHERE program_id = $7 AND id = $8",
        )
        .bind(&current.name)
        .bind(current.points_cost)
        .bind(i64::from(current.active))
        .bind(&current.min_tier)
        .bind(prefix_of(&current.coupon))
        .bind(ms(now))
        .bind(program_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.reward(program_id, id).await
    }

    /// Adds codes to a reward's pool; codes already known to the program are ignored.
    pub async fn upload_coupons(
        &self,
        program_id: &str,
        reward_id: &str,
        codes: &[String],
        now: DateTime<Utc>,
    ) -> Result<CouponUpload, StoreError> {
        let reward = self.reward(program_id, reward_id).await?;
        if reward.coupon != CouponSourceSpec::Pool {
            return Err(StoreError::conflict(
                "reward_not_pool",
                "this reward generates its codes; set its coupon source to a pool before uploading codes",
            ));
        }
        let mut added = 0;
        for chunk in codes.chunks(500) {
            let mut tx = self.write_tx().await?;
            for code in chunk {
                added += sqlx::query(
                    "INSERT INTO coupons (program_id, reward_id, source, code, created_at) VALUES ($1, $2, 'pool', $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(program_id)
                .bind(reward_id)
                .bind(code)
                .bind(ms(now))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
        }
        Ok(CouponUpload {
            added,
            duplicates: codes.len() as u64 - added,
        })
    }

    /// Spends points on a reward and hands out its coupon. Every refusal costs nothing.
    pub async fn redeem(
        &self,
        program_id: &str,
        external_id: &str,
        input: &RedemptionInput,
        now: DateTime<Utc>,
    ) -> Result<RedemptionOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let mut rec = self.lock_member(&mut tx, program_id, external_id).await?;
        let key = input
            .idempotency_key
            .as_ref()
            .map(|k| format!("redeem:{k}"));
        if let Some(key) = &key
            && let Some(mut first) = self
                .replay::<RedemptionOutcome>(
                    &mut tx,
                    program_id,
                    key,
                    &input.request_hash,
                    "Idempotency-Key",
                )
                .await?
        {
            first.replayed = true;
            return Ok(first);
        }
        rec.require_active("a blocked member cannot redeem")?;
        let reward = sqlx::query(
            "SELECT name, points_cost, active, min_tier, coupon_prefix FROM rewards WHERE program_id = $1 AND id = $2",
        )
        .bind(program_id)
        .bind(&input.reward_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::invalid("unknown_reward", "reward_id", "no reward of this program has this id"))?;
        let name: String = reward.try_get("name")?;
        let cost = Points(reward.try_get("points_cost")?);
        let min_tier: Option<String> = reward.try_get("min_tier")?;
        let prefix: Option<String> = reward.try_get("coupon_prefix")?;
        if reward.try_get::<i64, _>("active")? == 0 {
            return Err(StoreError::conflict(
                "reward_inactive",
                "this reward is not active",
            ));
        }
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        if !tiers::tier_permits(
            &ctx.settings.tiers.levels,
            rec.member.tier.as_deref(),
            min_tier.as_deref(),
        ) {
            return Err(StoreError::conflict(
                "tier_too_low",
                format!(
                    "this reward needs the {} tier or above",
                    min_tier.unwrap_or_default()
                ),
            ));
        }
        if rec.debt.is_positive() || rec.member.balances.available.is_negative() {
            return Err(StoreError::conflict(
                "negative_balance",
                "the member owes points from a return; redemption waits until later earnings repay them",
            ));
        }
        let lots: Vec<Lot> = self
            .member_lots(&mut tx, &rec.member.id)
            .await?
            .into_iter()
            .map(|(l, _)| l)
            .collect();
        let draws = ledger::plan_spend(&lots, cost, rec.debt, now).map_err(|e| match e {
            LedgerError::InsufficientPoints { available, needed } => StoreError::conflict(
                "insufficient_points",
                format!(
                    "{available} points available, {needed} needed (pending points cannot be spent)"
                ),
            ),
            other => StoreError::conflict("invalid_points", other.to_string()),
        })?;
        let code = match prefix {
            Some(prefix) => {
                let holder = Holder {
                    member_id: Some(&rec.member.id),
                    email_key: None,
                };
                self.issue_code(
                    &mut tx,
                    program_id,
                    Some(&input.reward_id),
                    CouponSource::Generated,
                    &prefix,
                    holder,
                    now,
                )
                .await?
            }
            None => self
                .claim_pool_code(&mut tx, &input.reward_id, &rec.member.id, now)
                .await?
                .ok_or_else(|| {
                    StoreError::conflict("coupon_pool_empty", "this reward's coupon pool is empty")
                })?,
        };
        self.apply_draws(&mut tx, &draws).await?;
        let b = &mut rec.member.balances;
        b.available = Points(b.available.0 - cost.0);
        b.redeemed = Points(b.redeemed.0 + cost.0);
        let entry_id = self
            .insert_entry(
                &mut tx,
                program_id,
                &rec.member.id,
                EntryKind::Redeem,
                -cost.0,
                &format!("Redeemed {name}"),
                None,
                &draws,
                0,
                now,
            )
            .await?;
        if rec.member.receives_events() {
            let fields = ctx.fields(
                &rec.member,
                &[
                    (field::REDEEMED_REWARD_CODE, code.clone()),
                    (field::REDEEMED_REWARD_NAME, name.clone()),
                    (field::REWARD_POINTS_USED, cost.0.to_string()),
                ],
            );
            let notes = [note(&rec.member, EventKind::DefaultCouponReward, fields)];
            self.enqueue(&mut tx, program_id, &notes, now).await?;
        }
        self.save_member(&mut tx, &rec, now).await?;
        let outcome = RedemptionOutcome {
            entry_id,
            code,
            points_used: cost.0,
            reward_id: input.reward_id.clone(),
            reward_name: name,
            replayed: false,
        };
        if let Some(key) = &key {
            self.remember(
                &mut tx,
                program_id,
                key,
                &rec.member.id,
                &input.request_hash,
                &outcome,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }
}
