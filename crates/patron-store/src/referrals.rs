//! Referrals: invitations (`Referral Friend Invitation` to each friend), claims (the friend coupon
//! and `Referred Friend Incentive`, or `Not eligible for Referred Friend Incentive` with the reason,
//! once per referral and friend email), and the referrer's coupon after the friend's first
//! qualifying purchase (`Referral Coupon Award`). Friend-facing events carry only the referral
//! fields and the friend's own name, never the referrer's profile.

use crate::coupons::{CouponSource, Holder};
use crate::ledger::{ProgramCtx, note};
use crate::outbox::NewNotification;
use crate::rows::{MEMBER_COLUMNS, MemberRecord, member_record};
use crate::{Store, StoreError, Tx, ms};
use chrono::{DateTime, Utc};
use patron_domain::catalog::field;
use patron_domain::member::referral_url;
use patron_domain::profile::with_event_fields;
use patron_domain::referral::{ClaimFacts, judge_claim};
use patron_domain::{Email, EventKind, Fields, Member, MemberStatus};
use serde::{Deserialize, Serialize};
use sqlx::{AssertSqlSafe, Row};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitationOutcome {
    pub invited: u64,
    /// Friends already invited by this member today.
    pub duplicates: u64,
}

#[derive(Debug, Clone)]
pub struct ClaimInput {
    pub referral_code: String,
    pub email: Email,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimOutcome {
    pub eligible: bool,
    pub coupon_code: Option<String>,
    pub reason: Option<String>,
}

/// The referral fields every friend-facing event carries, all of the referrer.
fn referral_fields(ctx: &ProgramCtx, referrer: &Member, friend_name: Option<&str>) -> Fields {
    let mut fields = vec![
        (field::REFERRAL_CODE, referrer.referral_code.clone()),
        (
            field::REFERRED_BY,
            referrer.name.clone().unwrap_or_default(),
        ),
        (field::REFERRER_EMAIL, referrer.email.clone()),
        (
            field::REFERRAL_URL,
            referral_url(&ctx.settings.referral.base_url, &referrer.referral_code),
        ),
    ];
    if let Some(name) = friend_name.filter(|n| !n.is_empty()) {
        fields.push((field::USER_NAME, name.to_string()));
    }
    with_event_fields(Fields::new(), &fields)
}

fn friend_note(
    friend: &str,
    friend_member: Option<&Member>,
    event: EventKind,
    fields: Fields,
) -> NewNotification {
    NewNotification {
        member_id: friend_member.map(|m| m.id.clone()),
        event,
        email: friend.to_string(),
        fields,
        dedupe_key: None,
    }
}

impl Store {
    /// The live member of the program with this email, if any.
    async fn live_member_by_email(
        &self,
        tx: &mut Tx,
        program_id: &str,
        email_key: &str,
    ) -> Result<Option<Member>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE program_id = $1 AND email_key = $2 AND status <> 'Deleted'"
        )))
        .bind(program_id)
        .bind(email_key)
        .fetch_optional(&mut **tx)
        .await?;
        row.map(|r| member_record(&r).map(|rec| rec.member))
            .transpose()
    }

    /// Records one `Referral Friend Invitation` per friend; the same friend invited again by the same
    /// member on the same (UTC) day is ignored.
    pub async fn invite_friends(
        &self,
        program_id: &str,
        external_id: &str,
        emails: &[Email],
        now: DateTime<Utc>,
    ) -> Result<InvitationOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let rec = self.lock_member(&mut tx, program_id, external_id).await?;
        rec.require_active("a blocked member cannot refer friends")?;
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let day = now.format("%Y-%m-%d");
        let mut notes = Vec::new();
        for email in emails {
            let friend = self
                .live_member_by_email(&mut tx, program_id, &email.key())
                .await?;
            if friend.as_ref().is_some_and(|f| !f.receives_events()) {
                continue;
            }
            let fields = referral_fields(
                &ctx,
                &rec.member,
                friend.as_ref().and_then(|f| f.name.as_deref()),
            );
            let mut n = friend_note(
                email.as_str(),
                friend.as_ref(),
                EventKind::ReferralFriendInvitation,
                fields,
            );
            n.dedupe_key = Some(format!("invite:{}:{}:{day}", rec.member.id, email.key()));
            notes.push(n);
        }
        let invited = self.enqueue(&mut tx, program_id, &notes, now).await?;
        tx.commit().await?;
        Ok(InvitationOutcome {
            invited,
            duplicates: emails.len() as u64 - invited,
        })
    }

    /// Decides a friend's claim once; asking again with the same code and email gives the same answer.
    pub async fn claim_referral(
        &self,
        program_id: &str,
        input: &ClaimInput,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let mut tx = self.write_tx().await?;
        let referrer_id: String = sqlx::query_scalar(
            "SELECT external_id FROM members WHERE program_id = $1 AND referral_code = $2",
        )
        .bind(program_id)
        .bind(input.referral_code.trim().to_uppercase())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::invalid(
                "unknown_referral_code",
                "referral_code",
                "no member of this program has this referral code",
            )
        })?;
        // Locking the referrer serializes their claims, so the claim limit holds under concurrency.
        let referrer = self
            .lock_member(&mut tx, program_id, &referrer_id)
            .await?
            .member;
        let email_key = input.email.key();
        if let Some(row) = sqlx::query("SELECT eligible, reason, coupon_code FROM referral_claims WHERE program_id = $1 AND referrer_member_id = $2 AND email_key = $3")
            .bind(program_id)
            .bind(&referrer.id)
            .bind(&email_key)
            .fetch_optional(&mut *tx)
            .await?
        {
            return Ok(ClaimOutcome {
                eligible: row.try_get::<i64, _>("eligible")? != 0,
                coupon_code: row.try_get("coupon_code")?,
                reason: row.try_get("reason")?,
            });
        }
        let ctx = self.program_ctx(&mut tx, program_id).await?;
        let friend = self
            .live_member_by_email(&mut tx, program_id, &email_key)
            .await?;
        let so_far: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM referral_claims WHERE program_id = $1 AND referrer_member_id = $2 AND eligible = 1")
            .bind(program_id)
            .bind(&referrer.id)
            .fetch_one(&mut *tx)
            .await?;
        let verdict = judge_claim(&ClaimFacts {
            referrer_email_key: &referrer.email.to_lowercase(),
            referrer_status: referrer.status,
            friend_email_key: &email_key,
            friend_is_member: friend.is_some(),
            eligible_claims_so_far: u64::try_from(so_far).unwrap_or(0),
            claim_limit: ctx.settings.referral.claim_limit,
        });
        let friend_name = input
            .name
            .clone()
            .or_else(|| friend.as_ref().and_then(|f| f.name.clone()));
        let mut fields = referral_fields(&ctx, &referrer, friend_name.as_deref());
        let outcome = match verdict {
            Ok(()) => {
                let holder = Holder {
                    member_id: None,
                    email_key: Some(&email_key),
                };
                let code = self
                    .issue_code(
                        &mut tx,
                        program_id,
                        None,
                        CouponSource::ReferralFriend,
                        &ctx.settings.referral.friend_coupon.prefix,
                        holder,
                        now,
                    )
                    .await?;
                fields = with_event_fields(fields, &[(field::REDEEMED_REWARD_CODE, code.clone())]);
                ClaimOutcome {
                    eligible: true,
                    coupon_code: Some(code),
                    reason: None,
                }
            }
            Err(reason) => ClaimOutcome {
                eligible: false,
                coupon_code: None,
                reason: Some(reason.as_str().to_string()),
            },
        };
        sqlx::query(
            "INSERT INTO referral_claims (program_id, referrer_member_id, email, email_key, name, eligible, reason, coupon_code, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(program_id)
        .bind(&referrer.id)
        .bind(input.email.as_str())
        .bind(&email_key)
        .bind(&input.name)
        .bind(i64::from(outcome.eligible))
        .bind(&outcome.reason)
        .bind(&outcome.coupon_code)
        .bind(ms(now))
        .execute(&mut *tx)
        .await?;
        // An opted-out member gets no events, even as somebody's friend.
        if friend.as_ref().is_none_or(|f| !f.opted_out) {
            let event = if outcome.eligible {
                EventKind::ReferredFriendIncentive
            } else {
                EventKind::NotEligibleForReferredFriendIncentive
            };
            let notes = [friend_note(
                input.email.as_str(),
                friend.as_ref(),
                event,
                fields,
            )];
            self.enqueue(&mut tx, program_id, &notes, now).await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Inside a purchase's transaction: when the buyer was referred (an eligible claim with their
    /// email, not yet rewarded) and the purchase reaches the minimum, the referrer gets their coupon.
    pub(crate) async fn reward_referrer(
        &self,
        tx: &mut Tx,
        friend: &MemberRecord,
        ctx: &ProgramCtx,
        amount: f64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if amount < ctx.settings.referral.min_purchase {
            return Ok(());
        }
        let Some(claim) = sqlx::query(
            "SELECT id, referrer_member_id FROM referral_claims WHERE program_id = $1 AND email_key = $2 AND eligible = 1 \
             AND rewarded_at IS NULL ORDER BY id LIMIT 1",
        )
        .bind(&friend.program_id)
        .bind(friend.member.email.to_lowercase())
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Ok(());
        };
        let claim_id: i64 = claim.try_get("id")?;
        let referrer_id: String = claim.try_get("referrer_member_id")?;
        let Some(row) = sqlx::query(AssertSqlSafe(format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1"
        )))
        .bind(&referrer_id)
        .fetch_optional(&mut **tx)
        .await?
        else {
            return Ok(());
        };
        let referrer = member_record(&row)?.member;
        if referrer.status != MemberStatus::Active {
            return Ok(());
        }
        let holder = Holder {
            member_id: Some(&referrer.id),
            email_key: None,
        };
        let code = self
            .issue_code(
                tx,
                &friend.program_id,
                None,
                CouponSource::ReferralReferrer,
                &ctx.settings.referral.referrer_coupon.prefix,
                holder,
                now,
            )
            .await?;
        sqlx::query(
            "UPDATE referral_claims SET rewarded_at = $1, friend_member_id = $2 WHERE id = $3",
        )
        .bind(ms(now))
        .bind(&friend.member.id)
        .bind(claim_id)
        .execute(&mut **tx)
        .await?;
        if referrer.receives_events() {
            let fields = ctx.fields(&referrer, &[(field::REDEEMED_REWARD_CODE, code)]);
            self.enqueue(
                tx,
                &friend.program_id,
                &[note(&referrer, EventKind::ReferralCouponAward, fields)],
                now,
            )
            .await?;
        }
        Ok(())
    }
}
