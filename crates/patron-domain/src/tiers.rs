//! Tiers: which level a qualifying total reaches, and how far the next one is.

use crate::settings::TierLevel;
use crate::values::Points;

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
    fn entering_the_base_tier_is_not_an_upgrade_but_skipping_tiers_is() {
        let l = levels();
        assert!(!is_upgrade(&l, None, Some("Bronze")));
        assert!(is_upgrade(&l, Some("Bronze"), Some("Gold")));
        assert!(is_upgrade(&l, None, Some("Silver")));
        assert!(!is_upgrade(&l, Some("Gold"), Some("Silver")));
    }
}
