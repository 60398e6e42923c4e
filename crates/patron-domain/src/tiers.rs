//! Tiers: which level a qualifying total reaches, and how far the next one is.

use crate::settings::TierLevel;
use crate::values::Points;
use chrono::{DateTime, Duration, Utc};

/// An approved earning of a qualifying activity type, as the tier rules count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualifyingLot {
    pub amount: Points,
    /// Points of it taken back by returns.
    pub reversed: Points,
    pub earned_at: DateTime<Utc>,
}

/// Qualifying points at `as_of`: every approved qualifying earning (lifetime), or only those earned
/// in the last `window_days`, each net of its reversals.
pub fn qualifying_points(
    lots: &[QualifyingLot],
    window_days: Option<u32>,
    as_of: DateTime<Utc>,
) -> Points {
    let since = window_days.map(|d| as_of - Duration::days(i64::from(d)));
    Points(
        lots.iter()
            .filter(|l| l.earned_at <= as_of && since.is_none_or(|s| l.earned_at > s))
            .map(|l| (l.amount.0 - l.reversed.0).max(0))
            .fold(0i64, i64::saturating_add),
    )
}

/// The tier a review settles on: whatever the qualifying total reaches now, up or down.
pub fn reviewed_tier(levels: &[TierLevel], qualifying: Points) -> Option<String> {
    tier_for(levels, qualifying).map(|l| l.name.clone())
}

/// Whether a member of `member_tier` may redeem a reward restricted to `min_tier` and above.
pub fn tier_permits(
    levels: &[TierLevel],
    member_tier: Option<&str>,
    min_tier: Option<&str>,
) -> bool {
    let rank = |name: &str| levels.iter().position(|l| l.name == name);
    match min_tier {
        None => true,
        Some(min) => match (rank(min), member_tier.and_then(rank)) {
            (Some(min), Some(have)) => have >= min,
            _ => false,
        },
    }
}

/// The highest level whose threshold the total reaches, if any.
pub fn tier_for(levels: &[TierLevel], qualifying: Points) -> Option<&TierLevel> {
    levels
        .iter()
        .filter(|l| l.threshold <= qualifying.0)
        .max_by_key(|l| l.threshold)
}

/// The next level above the current total and the points still needed to reach it.
pub fn next_tier(levels: &[TierLevel], qualifying: Points) -> Option<(&TierLevel, Points)> {
    levels
        .iter()
        .filter(|l| l.threshold > qualifying.0)
        .min_by_key(|l| l.threshold)
        .map(|l| (l, Points(l.threshold - qualifying.0)))
}

/// Where a qualifying total stands between the tier it reaches and the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct TierProgress<'a> {
    /// The highest level the total reaches.
    pub reached: Option<&'a TierLevel>,
    /// The next level and the points still needed for it.
    pub next: Option<(&'a TierLevel, Points)>,
    /// How far from the reached level's threshold (or zero) to the next one, 0 to 100; 100 at the top.
    pub percent: u8,
}

pub fn progress(levels: &[TierLevel], qualifying: Points) -> TierProgress<'_> {
    let reached = tier_for(levels, qualifying);
    let next = next_tier(levels, qualifying);
    let percent = match next {
        None => 100,
        Some((level, _)) => {
            let floor = reached.map_or(0, |l| l.threshold).min(qualifying.0.max(0));
            let span = (level.threshold - floor).max(1);
            let done = (qualifying.0 - floor).clamp(0, span);
            u8::try_from(done.saturating_mul(100) / span).unwrap_or(100)
        }
    };
    TierProgress {
        reached,
        next,
        percent,
    }
}

/// A move between tiers worth an event: only upward, never on entering the base tier.
pub fn is_upgrade(levels: &[TierLevel], from: Option<&str>, to: Option<&str>) -> bool {
    let rank = |name: Option<&str>| name.and_then(|n| levels.iter().position(|l| l.name == n));
    match (rank(from), rank(to)) {
        (_, None) => false,
        (None, Some(to)) => to > 0,
        (Some(from), Some(to)) => to > from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels() -> Vec<TierLevel> {
        [("Bronze", 0), ("Silver", 500), ("Gold", 2000)]
            .into_iter()
            .map(|(n, t)| TierLevel {
                name: n.into(),
                threshold: t,
            })
            .collect()
    }

    #[test]
    fn the_tier_is_the_highest_threshold_reached() {
        let l = levels();
        assert_eq!(
            tier_for(&l, Points(0)).map(|t| t.name.as_str()),
            Some("Bronze")
        );
        assert_eq!(
            tier_for(&l, Points(2500)).map(|t| t.name.as_str()),
            Some("Gold")
        );
        assert_eq!(
            next_tier(&l, Points(450)).map(|(t, p)| (t.name.as_str(), p)),
            Some(("Silver", Points(50)))
        );
        assert!(next_tier(&l, Points(2000)).is_none());
    }

    #[test]
    fn progress_runs_from_the_reached_threshold_to_the_next_one() {
        let l = levels();
        let p = progress(&l, Points(1250));
        assert_eq!(p.reached.map(|t| t.name.as_str()), Some("Silver"));
        assert_eq!(
            p.next.map(|(t, pts)| (t.name.as_str(), pts)),
            Some(("Gold", Points(750)))
        );
        assert_eq!(p.percent, 50);
        assert_eq!(progress(&l, Points(2500)).percent, 100);
        let below_every_level = progress(&l[1..], Points(100));
        assert_eq!(below_every_level.reached, None);
        assert_eq!(below_every_level.percent, 20);
        assert_eq!(progress(&[], Points(10)).next, None);
    }

    #[test]
    fn a_rolling_window_counts_only_recent_earnings_net_of_returns() {
        use chrono::TimeZone;
        let t = |d: i64| {
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
                .single()
                .expect("valid")
                + Duration::days(d)
        };
        let lots = vec![
            QualifyingLot {
                amount: Points(300),
                reversed: Points(0),
                earned_at: t(0),
            },
            QualifyingLot {
                amount: Points(400),
                reversed: Points(100),
                earned_at: t(200),
            },
        ];
        assert_eq!(qualifying_points(&lots, None, t(400)), Points(600));
        assert_eq!(qualifying_points(&lots, Some(365), t(400)), Points(300));
        assert_eq!(qualifying_points(&lots, Some(365), t(100)), Points(300));
    }

    #[test]
    fn a_minimum_tier_permits_that_tier_and_above() {
        let l = levels();
        assert!(tier_permits(&l, None, None));
        assert!(!tier_permits(&l, Some("Bronze"), Some("Silver")));
        assert!(tier_permits(&l, Some("Gold"), Some("Silver")));
        assert!(!tier_permits(&l, Some("Gold"), Some("Platinum")));
    }

    /// The incremental bookkeeping the engine does (add on earn, subtract on return, upgrade at
    /// once, settle at review) against a recomputation from the lots.
    #[derive(Debug, Clone)]
    enum Event {
        Earn(i64),
        Return(usize, i64),
        Review,
    }

    fn event() -> impl proptest::strategy::Strategy<Value = Event> {
        use proptest::prelude::*;
        prop_oneof![
            (1..800i64).prop_map(Event::Earn),
            (0..20usize, 1..500i64).prop_map(|(i, p)| Event::Return(i, p)),
            Just(Event::Review),
        ]
    }

    proptest::proptest! {
        #[test]
        fn the_tier_from_a_sequence_of_events_equals_the_tier_recomputed_from_scratch(
            events in proptest::collection::vec(event(), 1..60)
        ) {
            use chrono::TimeZone;
            let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid");
            let l = levels();
            let mut lots: Vec<QualifyingLot> = vec![];
            let mut running = Points(0);
            let mut tier: Option<String> = None;
            let mut upgrades = 0;
            for e in events {
                match e {
                    Event::Earn(p) => {
                        lots.push(QualifyingLot { amount: Points(p), reversed: Points(0), earned_at: now });
                        running = Points(running.0 + p);
                        let reached = reviewed_tier(&l, running);
                        if is_upgrade(&l, tier.as_deref(), reached.as_deref()) {
                            upgrades += 1;
                        }
                        if is_upgrade(&l, tier.as_deref(), reached.as_deref()) || tier.is_none() {
                            tier = reached;
                        }
                    }
                    Event::Return(i, p) => {
                        if let Some(lot) = lots.get_mut(i) {
                            let take = p.min(lot.amount.0 - lot.reversed.0);
                            lot.reversed = Points(lot.reversed.0 + take);
                            running = Points(running.0 - take);
                        }
                    }
                    Event::Review => tier = reviewed_tier(&l, running),
                }
                let scratch = qualifying_points(&lots, None, now);
                proptest::prop_assert_eq!(running, scratch);
                // Between reviews the tier never sits below what the total reaches.
                let floor = reviewed_tier(&l, scratch);
                proptest::prop_assert!(!is_upgrade(&l, tier.as_deref(), floor.as_deref()));
            }
            tier = reviewed_tier(&l, running);
            proptest::prop_assert_eq!(tier, reviewed_tier(&l, qualifying_points(&lots, None, now)));
            proptest::prop_assert!(upgrades <= lots.len());
        }
    }

    #[test]
    fn entering_the_base_tier_is_not_an_upgrade_but_skipping_tiers_is() {
        let l = levels();
        assert!(!is_upgrade(&l, None, Some("Bronze")));
        assert!(is_upgrade(&l, Some("Bronze"), Some("Gold")));
        assert!(is_upgrade(&l, None, Some("Silver")));
        assert!(!is_upgrade(&l, Some("Gold"), Some("Silver")));
    }
}
