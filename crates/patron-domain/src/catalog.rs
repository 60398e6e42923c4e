//! The notification catalog: the ten Listrak events and every profile field, by their exact names.
//! Marketers pick these names in Listrak, so they are part of the public contract and never change.

use serde::{Deserialize, Serialize};

/// A loyalty moment worth an email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventKind {
    #[serde(rename = "Points Earned")]
    PointsEarned,
    #[serde(rename = "Points Expiration")]
    PointsExpiration,
    #[serde(rename = "Winback Award")]
    WinbackAward,
    #[serde(rename = "Tier Upgrade")]
    TierUpgrade,
    #[serde(rename = "Default Coupon Reward")]
    DefaultCouponReward,
    #[serde(rename = "Eligible Rewards")]
    EligibleRewards,
    #[serde(rename = "Referral Friend Invitation")]
    ReferralFriendInvitation,
    #[serde(rename = "Referred Friend Incentive")]
    ReferredFriendIncentive,
    #[serde(rename = "Not eligible for Referred Friend Incentive")]
    NotEligibleForReferredFriendIncentive,
    #[serde(rename = "Referral Coupon Award")]
    ReferralCouponAward,
}

impl EventKind {
    pub const ALL: [EventKind; 10] = [
        EventKind::PointsEarned,
        EventKind::PointsExpiration,
        EventKind::WinbackAward,
        EventKind::TierUpgrade,
        EventKind::DefaultCouponReward,
        EventKind::EligibleRewards,
        EventKind::ReferralFriendInvitation,
        EventKind::ReferredFriendIncentive,
        EventKind::NotEligibleForReferredFriendIncentive,
        EventKind::ReferralCouponAward,
    ];

    /// The exact event name in Listrak.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::PointsEarned => "Points Earned",
            EventKind::PointsExpiration => "Points Expiration",
            EventKind::WinbackAward => "Winback Award",
            EventKind::TierUpgrade => "Tier Upgrade",
            EventKind::DefaultCouponReward => "Default Coupon Reward",
            EventKind::EligibleRewards => "Eligible Rewards",
            EventKind::ReferralFriendInvitation => "Referral Friend Invitation",
            EventKind::ReferredFriendIncentive => "Referred Friend Incentive",
            EventKind::NotEligibleForReferredFriendIncentive => {
                "Not eligible for Referred Friend Incentive"
            }
            EventKind::ReferralCouponAward => "Referral Coupon Award",
        }
    }

    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|e| e.name() == name)
    }

    /// Friend-facing events go to the referred friend, and carry none of the referrer's profile.
    pub fn is_friend_facing(self) -> bool {
        matches!(
            self,
            EventKind::ReferralFriendInvitation
                | EventKind::ReferredFriendIncentive
                | EventKind::NotEligibleForReferredFriendIncentive
        )
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Listrak profile field data types Patron uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldType {
    Text,
    Numeric,
    Date,
}

impl FieldType {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Text => "Text",
            FieldType::Numeric => "Numeric",
            FieldType::Date => "Date",
        }
    }
}

/// One profile field: its exact name, type, and the length Patron provisions it with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: &'static str,
    pub data_type: FieldType,
    pub max_length: u32,
}

const fn text(name: &'static str, max_length: u32) -> FieldSpec {
    FieldSpec {
        name,
        data_type: FieldType::Text,
        max_length,
    }
}
const fn numeric(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        data_type: FieldType::Numeric,
        max_length: 20,
    }
}
const fn date(name: &'static str) -> FieldSpec {
    FieldSpec {
        name,
        data_type: FieldType::Date,
        max_length: 10,
    }
}

pub mod field {
    pub const USER_NAME: &str = "User Name";
    pub const DATE_OF_BIRTH: &str = "Date of Birth";
    pub const CURRENT_TIER: &str = "Current Tier";
    pub const OPTED_OUT: &str = "Opted Out";
    pub const USER_STATUS: &str = "User Status";
    pub const POINTS_AVAILABLE: &str = "Points Available";
    pub const PHONE_NUMBER: &str = "Phone Number";
    pub const REFERRAL_CODE: &str = "Referral Code";
    pub const REFERRAL_URL: &str = "Referral URL";
    pub const POINTS_REDEEMED: &str = "Points Redeemed";
    pub const POINTS_EXPIRED: &str = "Points Expired";
    pub const POINTS_EARNED: &str = "Points Earned";
    pub const PREFERRED_LANGUAGE: &str = "Preferred Language";
    pub const ELIGIBLE_REWARDS_COUNT: &str = "Eligible Rewards Count";
    pub const ELIGIBLE_REWARDS: &str = "Eligible Rewards";
    pub const NEXT_REWARD_NAME: &str = "Next Reward Name";
    pub const POINTS_TO_NEXT_REWARD: &str = "Points To Next Reward";
    pub const NEXT_TIER: &str = "Next Tier";
    pub const POINTS_TO_NEXT_TIER: &str = "Points To Next Tier";
    pub const MEMBER_SINCE: &str = "Member Since";

    pub const POINTS_CURRENT_ACTIVITY: &str = "Points Current Activity";
    pub const RECENT_ACTIVITY_COMPLETED: &str = "Recent Activity Completed";
    pub const POINTS_EXPIRY_DATE: &str = "Points Expiry Date";
    pub const WINBACK_EXPIRY_DATE: &str = "Winback Expiry Date";
    pub const REDEEMED_REWARD_CODE: &str = "Redeemed Reward Code";
    pub const REDEEMED_REWARD_NAME: &str = "Redeemed Reward Name";
    pub const REWARD_POINTS_USED: &str = "Reward Points Used";
    pub const REFERRED_BY: &str = "Referred By";
    pub const REFERRER_EMAIL: &str = "Referrer Email";
}

/// Length of the `Eligible Rewards` text field; the joined list is cut on a whole name to fit.
pub const ELIGIBLE_REWARDS_MAX_LENGTH: u32 = 1000;

/// Every profile field Patron provisions, common fields first, in provisioning order.
pub const FIELDS: [FieldSpec; 29] = [
    text(field::USER_NAME, 200),
    date(field::DATE_OF_BIRTH),
    text(field::CURRENT_TIER, 100),
    text(field::OPTED_OUT, 5),
    text(field::USER_STATUS, 10),
    numeric(field::POINTS_AVAILABLE),
    text(field::PHONE_NUMBER, 50),
    text(field::REFERRAL_CODE, 50),
    text(field::REFERRAL_URL, 500),
    numeric(field::POINTS_REDEEMED),
    numeric(field::POINTS_EXPIRED),
    numeric(field::POINTS_EARNED),
    text(field::PREFERRED_LANGUAGE, 50),
    numeric(field::ELIGIBLE_REWARDS_COUNT),
    text(field::ELIGIBLE_REWARDS, ELIGIBLE_REWARDS_MAX_LENGTH),
    text(field::NEXT_REWARD_NAME, 200),
    numeric(field::POINTS_TO_NEXT_REWARD),
    text(field::NEXT_TIER, 100),
    numeric(field::POINTS_TO_NEXT_TIER),
    date(field::MEMBER_SINCE),
    numeric(field::POINTS_CURRENT_ACTIVITY),
    text(field::RECENT_ACTIVITY_COMPLETED, 200),
    date(field::POINTS_EXPIRY_DATE),
    date(field::WINBACK_EXPIRY_DATE),
    text(field::REDEEMED_REWARD_CODE, 100),
    text(field::REDEEMED_REWARD_NAME, 200),
    numeric(field::REWARD_POINTS_USED),
    text(field::REFERRED_BY, 200),
    text(field::REFERRER_EMAIL, 254),
];

pub fn field_spec(name: &str) -> Option<&'static FieldSpec> {
    FIELDS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_round_trips() {
        for e in EventKind::ALL {
            assert_eq!(EventKind::from_name(e.name()), Some(e));
            assert_eq!(
                serde_json::to_string(&e).ok(),
                Some(format!("\"{}\"", e.name()))
            );
        }
    }

    #[test]
    fn field_names_are_unique() {
        let mut names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FIELDS.len());
    }
}
