//! Which Listrak fields each event's template can use, their template variable names, and realistic sample
//! values for previews and override validation.

use patron_domain::catalog::{EventKind, field};
use std::collections::BTreeMap;

/// Fields every member-facing event carries (PRODUCT.md §3, including Patron's computed extras).
const COMMON: [&str; 20] = [
    field::USER_NAME,
    field::DATE_OF_BIRTH,
    field::CURRENT_TIER,
    field::OPTED_OUT,
    field::USER_STATUS,
    field::POINTS_AVAILABLE,
    field::PHONE_NUMBER,
    field::REFERRAL_CODE,
    field::REFERRAL_URL,
    field::POINTS_REDEEMED,
    field::POINTS_EXPIRED,
    field::POINTS_EARNED,
    field::PREFERRED_LANGUAGE,
    field::ELIGIBLE_REWARDS_COUNT,
    field::ELIGIBLE_REWARDS,
    field::NEXT_REWARD_NAME,
    field::POINTS_TO_NEXT_REWARD,
    field::NEXT_TIER,
    field::POINTS_TO_NEXT_TIER,
    field::MEMBER_SINCE,
];

/// The fields specific to an event (PRODUCT.md §2). Friend-facing events carry only these plus User Name.
fn specific_fields(event: EventKind) -> &'static [&'static str] {
    use EventKind as E;
    match event {
        E::PointsEarned => &[
            field::POINTS_CURRENT_ACTIVITY,
            field::RECENT_ACTIVITY_COMPLETED,
        ],
        E::PointsExpiration => &[field::POINTS_CURRENT_ACTIVITY, field::POINTS_EXPIRY_DATE],
        E::WinbackAward => &[field::WINBACK_EXPIRY_DATE, field::POINTS_CURRENT_ACTIVITY],
        E::TierUpgrade => &[field::CURRENT_TIER, field::POINTS_EXPIRY_DATE],
        E::DefaultCouponReward => &[
            field::REDEEMED_REWARD_CODE,
            field::REDEEMED_REWARD_NAME,
            field::REWARD_POINTS_USED,
        ],
        E::EligibleRewards => &[],
        E::ReferralFriendInvitation | E::NotEligibleForReferredFriendIncentive => &[
            field::REFERRAL_CODE,
            field::REFERRED_BY,
            field::REFERRER_EMAIL,
            field::REFERRAL_URL,
        ],
        E::ReferredFriendIncentive => &[
            field::REDEEMED_REWARD_CODE,
            field::REFERRAL_CODE,
            field::REFERRED_BY,
            field::REFERRER_EMAIL,
            field::REFERRAL_URL,
        ],
        E::ReferralCouponAward => &[field::REDEEMED_REWARD_CODE],
    }
}

/// Every field a template for `event` may use, by exact Listrak name, without duplicates.
///
/// A field listed here is always defined when the template renders (empty when the notification lacks it),
/// so templates can test it with `{% if … %}`; any other name is an error.
pub fn event_fields(event: EventKind) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = if event.is_friend_facing() {
        vec![field::USER_NAME]
    } else {
        COMMON.to_vec()
    };
    for name in specific_fields(event) {
        if !names.contains(name) {
            names.push(name);
        }
    }
    names
}

/// The template variable for a field: lower snake case (`Points Available` → `points_available`).
pub fn variable_name(field_name: &str) -> String {
    let mut out = String::with_capacity(field_name.len());
    for c in field_name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Realistic example values for every field of `event`, for previews and override validation.
pub fn sample_fields(event: EventKind) -> BTreeMap<String, String> {
    event_fields(event)
        .into_iter()
        .map(|name| (name.to_owned(), sample_value(event, name).to_owned()))
        .collect()
}

fn sample_value(event: EventKind, name: &str) -> &'static str {
    if event.is_friend_facing() {
        match name {
            field::USER_NAME => return "Alex Chen",
            field::REDEEMED_REWARD_CODE => return "FRIEND-Q7X2M",
            _ => {}
        }
    }
    match (event, name) {
        (EventKind::TierUpgrade, field::CURRENT_TIER) => return "Gold",
        (EventKind::TierUpgrade, field::NEXT_TIER) => return "Platinum",
        (EventKind::ReferralCouponAward, field::REDEEMED_REWARD_CODE) => return "THANKS-4HZ8R",
        (EventKind::WinbackAward, field::POINTS_CURRENT_ACTIVITY) => return "200",
        (EventKind::PointsExpiration, field::POINTS_CURRENT_ACTIVITY) => return "300",
        _ => {}
    }
    match name {
        field::USER_NAME => "Maria Garcia",
        field::DATE_OF_BIRTH => "04/12/1990",
        field::CURRENT_TIER => "Silver",
        field::OPTED_OUT => "False",
        field::USER_STATUS => "Active",
        field::POINTS_AVAILABLE => "1250",
        field::PHONE_NUMBER => "+1 555 0100",
        field::REFERRAL_CODE => "MARIA-7F3K",
        field::REFERRAL_URL => "https://shop.example.com/?ref=MARIA-7F3K",
        field::POINTS_REDEEMED => "500",
        field::POINTS_EXPIRED => "0",
        field::POINTS_EARNED => "1750",
        field::PREFERRED_LANGUAGE => "English",
        field::ELIGIBLE_REWARDS_COUNT => "2",
        field::ELIGIBLE_REWARDS => "$5 off your order, Free shipping",
        field::NEXT_REWARD_NAME => "$10 off your order",
        field::POINTS_TO_NEXT_REWARD => "250",
        field::NEXT_TIER => "Gold",
        field::POINTS_TO_NEXT_TIER => "750",
        field::MEMBER_SINCE => "03/15/2024",
        field::POINTS_CURRENT_ACTIVITY => "150",
        field::RECENT_ACTIVITY_COMPLETED => "Made a purchase",
        field::POINTS_EXPIRY_DATE => "07/31/2026",
        field::WINBACK_EXPIRY_DATE => "08/15/2026",
        field::REDEEMED_REWARD_CODE => "SAVE10-8KD2P",
        field::REDEEMED_REWARD_NAME => "$10 off your order",
        field::REWARD_POINTS_USED => "1000",
        field::REFERRED_BY => "Maria Garcia",
        field::REFERRER_EMAIL => "maria@example.com",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names_are_snake_case_of_the_listrak_names() {
        assert_eq!(variable_name("Points Available"), "points_available");
        assert_eq!(variable_name("Referral URL"), "referral_url");
        assert_eq!(variable_name("Not eligible for X"), "not_eligible_for_x");
        assert_eq!(variable_name(" Date of Birth "), "date_of_birth");
    }

    #[test]
    fn friend_facing_events_expose_none_of_the_referrers_profile() {
        let fields = event_fields(EventKind::ReferralFriendInvitation);
        assert!(fields.contains(&field::USER_NAME));
        assert!(fields.contains(&field::REFERRED_BY));
        assert!(!fields.contains(&field::POINTS_AVAILABLE));
    }

    #[test]
    fn every_event_has_a_non_empty_sample_for_each_of_its_fields() {
        for event in EventKind::ALL {
            for (name, value) in sample_fields(event) {
                assert!(!value.is_empty(), "{event}: {name} has no sample");
            }
        }
    }
}
