//! The Listrak profile fields of a member and of each event, as the strings Listrak accepts:
//! dates `MM/DD/YYYY`, numbers as plain digits, booleans `True`/`False`, text cut to the field length.

use crate::catalog::{ELIGIBLE_REWARDS_MAX_LENGTH, field, field_spec};
use crate::member::{Member, referral_url};
use crate::settings::ProgramSettings;
use crate::tiers::next_tier;
use crate::values::Points;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;

/// Field values by exact Listrak field name.
pub type Fields = BTreeMap<String, String>;

pub fn format_date(date: NaiveDate) -> String {
    date.format("%m/%d/%Y").to_string()
}

pub fn format_instant_date(at: DateTime<Utc>) -> String {
    format_date(at.date_naive())
}

pub fn format_bool(b: bool) -> String {
    if b { "True" } else { "False" }.to_string()
}

pub fn format_points(p: Points) -> String {
    p.0.to_string()
}

/// Cuts text to the field's length on a character boundary.
pub fn fit_text(name: &str, value: &str) -> String {
    let max = field_spec(name).map_or(usize::MAX, |s| s.max_length as usize);
    value.chars().take(max).collect()
}

/// A reward as the computed fields see it.
#[derive(Debug, Clone, PartialEq)]
pub struct RewardOffer {
    pub name: String,
    pub points_cost: Points,
    /// The lowest tier that may redeem it; `None` for everyone.
    pub min_tier: Option<String>,
}

/// Rewards whose minimum tier the member's tier reaches ("tier permitting"). A minimum tier that is
/// no longer among the levels permits nobody.
pub fn permitted_offers(
    levels: &[crate::settings::TierLevel],
    member_tier: Option<&str>,
    rewards: &[RewardOffer],
) -> Vec<RewardOffer> {
    rewards
        .iter()
        .filter(|r| crate::tiers::tier_permits(levels, member_tier, r.min_tier.as_deref()))
        .cloned()
        .collect()
}

/// Rewards the balance affords, cheapest first, and the cheapest one it does not yet afford.
pub fn reward_outlook(
    available: Points,
    rewards: &[RewardOffer],
) -> (Vec<&RewardOffer>, Option<&RewardOffer>) {
    let mut sorted: Vec<&RewardOffer> = rewards.iter().collect();
    sorted.sort_by(|a, b| a.points_cost.cmp(&b.points_cost).then(a.name.cmp(&b.name)));
    let eligible: Vec<&RewardOffer> = sorted
        .iter()
        .copied()
        .filter(|r| r.points_cost <= available)
        .collect();
    let next = sorted.into_iter().find(|r| r.points_cost > available);
    (eligible, next)
}

/// Reward names joined with `, `, cut on a whole name to fit the field.
pub fn join_reward_names(names: &[&str]) -> String {
    let mut out = String::new();
    for name in names {
        let candidate_len =
            out.chars().count() + if out.is_empty() { 0 } else { 2 } + name.chars().count();
        if candidate_len > ELIGIBLE_REWARDS_MAX_LENGTH as usize {
            break;
        }
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(name);
    }
    out
}

/// The common fields sent with every event and on every member change, including the computed ones.
pub fn common_fields(
    member: &Member,
    settings: &ProgramSettings,
    rewards: &[RewardOffer],
) -> Fields {
    let mut f = Fields::new();
    let mut put = |name: &str, value: String| {
        f.insert(name.to_string(), fit_text(name, &value));
    };
    let b = &member.balances;
    put(field::USER_NAME, member.name.clone().unwrap_or_default());
    put(
        field::DATE_OF_BIRTH,
        member.birth_date.map(format_date).unwrap_or_default(),
    );
    put(field::CURRENT_TIER, member.tier.clone().unwrap_or_default());
    put(field::OPTED_OUT, format_bool(member.opted_out));
    put(field::USER_STATUS, member.status.as_str().to_string());
    put(field::POINTS_AVAILABLE, format_points(b.available));
    put(
        field::PHONE_NUMBER,
        member.phone.clone().unwrap_or_default(),
    );
    put(field::REFERRAL_CODE, member.referral_code.clone());
    put(
        field::REFERRAL_URL,
        referral_url(&settings.referral.base_url, &member.referral_code),
    );
    put(field::POINTS_REDEEMED, format_points(b.redeemed));
    put(field::POINTS_EXPIRED, format_points(b.expired));
    put(field::POINTS_EARNED, format_points(b.earned));
    put(
        field::PREFERRED_LANGUAGE,
        member.preferred_language.clone().unwrap_or_default(),
    );
    let permitted = permitted_offers(&settings.tiers.levels, member.tier.as_deref(), rewards);
    let (eligible, next) = reward_outlook(b.available, &permitted);
    put(field::ELIGIBLE_REWARDS_COUNT, eligible.len().to_string());
    put(
        field::ELIGIBLE_REWARDS,
        join_reward_names(&eligible.iter().map(|r| r.name.as_str()).collect::<Vec<_>>()),
    );
    put(
        field::NEXT_REWARD_NAME,
        next.map(|r| r.name.clone()).unwrap_or_default(),
    );
    put(
        field::POINTS_TO_NEXT_REWARD,
        next.map(|r| format_points(Points(r.points_cost.0 - b.available.0.max(0))))
            .unwrap_or_else(|| "0".into()),
    );
    let next_level = next_tier(&settings.tiers.levels, member.qualifying_points);
    put(
        field::NEXT_TIER,
        next_level.map(|(l, _)| l.name.clone()).unwrap_or_default(),
    );
    put(
        field::POINTS_TO_NEXT_TIER,
        next_level
            .map(|(_, p)| format_points(p))
            .unwrap_or_else(|| "0".into()),
    );
    put(field::MEMBER_SINCE, format_instant_date(member.created_at));
    f
}

/// Adds an event's own fields to a field set.
pub fn with_event_fields(mut fields: Fields, event_fields: &[(&str, String)]) -> Fields {
    for (name, value) in event_fields {
        fields.insert((*name).to_string(), fit_text(name, value));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::{Balances, MemberStatus};
    use chrono::TimeZone;

    fn member() -> Member {
        Member {
            id: "m1".into(),
            external_id: "cust-1".into(),
            email: "ann@example.com".into(),
            name: Some("Ann Lee".into()),
            birth_date: NaiveDate::from_ymd_opt(1990, 7, 4),
            phone: None,
            preferred_language: Some("English".into()),
            opted_out: false,
            status: MemberStatus::Active,
            referral_code: "ANN123".into(),
            tier: None,
            balances: Balances {
                available: Points(120),
                earned: Points(150),
                redeemed: Points(30),
                ..Default::default()
            },
            qualifying_points: Points(150),
            created_at: Utc
                .with_ymd_and_hms(2026, 3, 9, 12, 0, 0)
                .single()
                .expect("valid"),
        }
    }

    #[test]
    fn common_fields_use_listrak_value_formats() {
        let rewards = vec![
            RewardOffer {
                name: "$5 off".into(),
                points_cost: Points(100),
                min_tier: None,
            },
            RewardOffer {
                name: "$10 off".into(),
                points_cost: Points(200),
                min_tier: None,
            },
            RewardOffer {
                name: "VIP lounge".into(),
                points_cost: Points(50),
                min_tier: Some("Gold".into()),
            },
        ];
        let f = common_fields(&member(), &ProgramSettings::default(), &rewards);
        assert_eq!(f["Date of Birth"], "07/04/1990");
        assert_eq!(f["Opted Out"], "False");
        assert_eq!(f["Points Available"], "120");
        assert_eq!(f["Member Since"], "03/09/2026");
        assert_eq!(f["Referral URL"], "https://shop.example.com/?ref=ANN123");
        assert_eq!(f["Eligible Rewards Count"], "1");
        assert_eq!(f["Eligible Rewards"], "$5 off");
        assert_eq!(f["Next Reward Name"], "$10 off");
        assert_eq!(f["Points To Next Reward"], "80");
    }

    #[test]
    fn eligible_reward_names_are_cut_on_a_whole_name() {
        let long = "x".repeat(600);
        let joined = join_reward_names(&[&long, &long]);
        assert_eq!(joined, long);
    }
}
