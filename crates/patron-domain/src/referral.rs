//! Referrals: whether a friend's claim earns the friend coupon, and why not.

use crate::member::MemberStatus;
use serde::{Deserialize, Serialize};

/// Why a referred friend gets no friend coupon. The `as_str` form is part of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotEligible {
    /// The friend's email is the referrer's own.
    SelfReferral,
    /// The referrer is Blocked or Deleted.
    ReferrerNotActive,
    /// The email already belongs to a member of the program.
    AlreadyMember,
    /// The referrer reached the program's limit of rewarded referrals.
    ClaimLimit,
}

impl NotEligible {
    pub fn as_str(self) -> &'static str {
        match self {
            NotEligible::SelfReferral => "self_referral",
            NotEligible::ReferrerNotActive => "referrer_not_active",
            NotEligible::AlreadyMember => "already_member",
            NotEligible::ClaimLimit => "claim_limit",
        }
    }
    pub fn parse(s: &str) -> Option<NotEligible> {
        [
            NotEligible::SelfReferral,
            NotEligible::ReferrerNotActive,
            NotEligible::AlreadyMember,
            NotEligible::ClaimLimit,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// What is known about a claim when it is decided.
#[derive(Debug, Clone)]
pub struct ClaimFacts<'a> {
    pub referrer_email_key: &'a str,
    pub referrer_status: MemberStatus,
    pub friend_email_key: &'a str,
    pub friend_is_member: bool,
    pub eligible_claims_so_far: u64,
    pub claim_limit: Option<u32>,
}

/// Decides a claim; the first reason that applies wins, in the order of the enum.
pub fn judge_claim(f: &ClaimFacts<'_>) -> Result<(), NotEligible> {
    if f.friend_email_key == f.referrer_email_key {
        return Err(NotEligible::SelfReferral);
    }
    if f.referrer_status != MemberStatus::Active {
        return Err(NotEligible::ReferrerNotActive);
    }
    if f.friend_is_member {
        return Err(NotEligible::AlreadyMember);
    }
    if f.claim_limit
        .is_some_and(|limit| f.eligible_claims_so_far >= u64::from(limit))
    {
        return Err(NotEligible::ClaimLimit);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> ClaimFacts<'static> {
        ClaimFacts {
            referrer_email_key: "ann@example.com",
            referrer_status: MemberStatus::Active,
            friend_email_key: "bob@example.com",
            friend_is_member: false,
            eligible_claims_so_far: 0,
            claim_limit: Some(1),
        }
    }

    #[test]
    fn each_reason_is_recognised() {
        assert_eq!(judge_claim(&facts()), Ok(()));
        let f = ClaimFacts {
            friend_email_key: "ann@example.com",
            friend_is_member: true,
            ..facts()
        };
        assert_eq!(judge_claim(&f), Err(NotEligible::SelfReferral));
        let f = ClaimFacts {
            referrer_status: MemberStatus::Blocked,
            ..facts()
        };
        assert_eq!(judge_claim(&f), Err(NotEligible::ReferrerNotActive));
        let f = ClaimFacts {
            friend_is_member: true,
            ..facts()
        };
        assert_eq!(judge_claim(&f), Err(NotEligible::AlreadyMember));
        let f = ClaimFacts {
            eligible_claims_so_far: 1,
            ..facts()
        };
        assert_eq!(judge_claim(&f), Err(NotEligible::ClaimLimit));
        for r in [NotEligible::SelfReferral, NotEligible::ClaimLimit] {
            assert_eq!(NotEligible::parse(r.as_str()), Some(r));
        }
    }
}
