//! Redeeming points for a reward, for the program API and for the member's own dashboard alike, and
//! the rewards as a member sees them: what each costs and whether the member can have it now.

use super::ledger::request_digest;
use super::{App, AppError};
use chrono::Utc;
use patron_domain::{Member, MemberStatus, ProgramSettings, tiers};
use patron_store::{CouponSourceSpec, RedemptionInput, RewardView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedemptionBody {
    pub reward_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedemptionAnswer {
    /// The coupon code.
    pub code: String,
    pub points_used: i64,
    pub reward_id: String,
    pub reward_name: String,
    pub entry_id: i64,
}

/// A redemption's answer, and whether it replays an earlier request with the same idempotency key.
pub struct Redeemed {
    pub answer: RedemptionAnswer,
    pub replayed: bool,
}

impl App {
    /// Spends a member's points on a reward. Every refusal costs nothing, and two racing redemptions
    /// never spend the same points or share a coupon (the store locks the member). The same
    /// `idempotency_key` with the same body replays the first answer.
    pub async fn redeem(
        &self,
        program_id: &str,
        external_id: &str,
        body: RedemptionBody,
        idempotency_key: Option<String>,
    ) -> Result<Redeemed, AppError> {
        // The body's canonical JSON, as stored digests of earlier requests were computed.
        let canonical = serde_json::json!({ "reward_id": body.reward_id }).to_string();
        let input = RedemptionInput {
            request_hash: request_digest(&[external_id, &canonical]),
            reward_id: body.reward_id,
            idempotency_key,
        };
        let outcome = self
            .store()
            .redeem(program_id, external_id, &input, Utc::now())
            .await?;
        Ok(Redeemed {
            replayed: outcome.replayed,
            answer: RedemptionAnswer {
                code: outcome.code,
                points_used: outcome.points_used,
                reward_id: outcome.reward_id,
                reward_name: outcome.reward_name,
                entry_id: outcome.entry_id,
            },
        })
    }
}

/// An active reward as one member sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MemberReward {
    pub id: String,
    pub name: String,
    pub points_cost: i64,
    /// The lowest tier that may redeem it.
    pub min_tier: Option<String>,
    /// The available points cover the cost.
    pub affordable: bool,
    /// The member's tier reaches `min_tier` (always true without one).
    pub tier_permits: bool,
    /// A pool reward still has codes to give out (generated codes never run out).
    pub in_stock: bool,
    /// All of the above, and the member is Active: redeeming should succeed now.
    pub redeemable: bool,
    /// Points still missing (0 when affordable).
    pub points_needed: i64,
}

/// The active rewards, cheapest first, with what stands between this member and each.
pub fn member_rewards(
    member: &Member,
    settings: &ProgramSettings,
    rewards: Vec<RewardView>,
) -> Vec<MemberReward> {
    let available = member.balances.available.0;
    let mut out: Vec<MemberReward> = rewards
        .into_iter()
        .filter(|r| r.active)
        .map(|r| {
            let affordable = available >= r.points_cost;
            let tier_permits = tiers::tier_permits(
                &settings.tiers.levels,
                member.tier.as_deref(),
                r.min_tier.as_deref(),
            );
            let in_stock = match r.coupon {
                CouponSourceSpec::Generated { .. } => true,
                CouponSourceSpec::Pool => r.pool_available.unwrap_or(0) > 0,
            };
            MemberReward {
                redeemable: affordable
                    && tier_permits
                    && in_stock
                    && member.status == MemberStatus::Active,
                points_needed: (r.points_cost - available.max(0)).max(0),
                id: r.id,
                name: r.name,
                points_cost: r.points_cost,
                min_tier: r.min_tier,
                affordable,
                tier_permits,
                in_stock,
            }
        })
        .collect();
    out.sort_by(|a, b| a.points_cost.cmp(&b.points_cost).then(a.name.cmp(&b.name)));
    out
}
