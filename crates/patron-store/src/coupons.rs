//! Coupon codes: generated ones (prefix + random, unique per program) and uploaded pools, each code
//! handed out at most once.

use crate::{Backend, Store, StoreError, Tx, ms};
use chrono::{DateTime, Utc};
use rand::Rng;
use sqlx::AssertSqlSafe;

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Where an issued code came from, as stored in `coupons.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CouponSource {
    Generated,
    ReferralFriend,
    ReferralReferrer,
}

impl CouponSource {
    fn as_str(self) -> &'static str {
        match self {
            CouponSource::Generated => "generated",
            CouponSource::ReferralFriend => "referral_friend",
            CouponSource::ReferralReferrer => "referral_referrer",
        }
    }
}

fn random_code(prefix: &str) -> String {
    let mut rng = rand::rng();
    let tail: String = (0..10)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    format!("{prefix}{tail}")
}

/// Who a code goes to.
pub(crate) struct Holder<'a> {
    pub member_id: Option<&'a str>,
    pub email_key: Option<&'a str>,
}

impl Store {
    /// Issues a fresh generated code, unique in the program (a collision just draws again).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn issue_code(
        &self,
        tx: &mut Tx,
        program_id: &str,
        reward_id: Option<&str>,
        source: CouponSource,
        prefix: &str,
        holder: Holder<'_>,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        for _ in 0..8 {
            let code = random_code(prefix);
            let inserted = sqlx::query(
                "INSERT INTO coupons (program_id, reward_id, source, code, member_id, email_key, claimed_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
            )
            .bind(program_id)
            .bind(reward_id)
            .bind(source.as_str())
            .bind(&code)
            .bind(holder.member_id)
            .bind(holder.email_key)
            .bind(ms(now))
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                return Ok(code);
            }
        }
        Err(StoreError::conflict(
            "coupon_code_exhausted",
            "could not draw an unused coupon code; use a longer or different prefix",
        ))
    }

    /// Takes the oldest unclaimed code of a pool for a member, or `None` when the pool is empty.
    /// The update is conditional on the code still being free, so two redemptions never share one;
    /// PostgreSQL skips codes another transaction is taking.
    pub(crate) async fn claim_pool_code(
        &self,
        tx: &mut Tx,
        reward_id: &str,
        member_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let skip_locked = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE coupons SET member_id = $1, claimed_at = $2 WHERE id = \
             (SELECT id FROM coupons WHERE reward_id = $3 AND claimed_at IS NULL ORDER BY id LIMIT 1{skip_locked}) \
             AND claimed_at IS NULL RETURNING code"
        );
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(member_id)
            .bind(ms(now))
            .bind(reward_id)
            .fetch_optional(&mut **tx)
            .await?)
    }
}
