//! Win-back: when a member counts as inactive, what an offer looks like, and whether a purchase
//! takes it. An inactivity episode is named by the last activity it follows, so a member gets one
//! offer per episode and a new activity starts a new one.

use crate::settings::WinbackSettings;
use chrono::{DateTime, Duration, Utc};

/// Whether a member last active at `last_active` is inactive at `as_of`.
pub fn is_inactive(s: &WinbackSettings, last_active: DateTime<Utc>, as_of: DateTime<Utc>) -> bool {
    s.enabled && last_active + Duration::days(i64::from(s.inactive_days)) <= as_of
}

/// When an offer made at `offered_at` lapses.
pub fn offer_expiry(s: &WinbackSettings, offered_at: DateTime<Utc>) -> DateTime<Utc> {
    offered_at + Duration::days(i64::from(s.validity_days))
}

/// A purchase at `at` takes an offer made at `offered_at` that lapses at `expires_at`.
pub fn purchase_takes_offer(
    offered_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    at: DateTime<Utc>,
) -> bool {
    offered_at <= at && at < expires_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(day: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .expect("valid")
            + Duration::days(day)
    }

    #[test]
    fn an_offer_is_taken_only_before_it_lapses() {
        let s = WinbackSettings {
            enabled: true,
            ..Default::default()
        };
        assert!(!is_inactive(&s, t(0), t(179)));
        assert!(is_inactive(&s, t(0), t(180)));
        let expires = offer_expiry(&s, t(180));
        assert_eq!(expires, t(210));
        assert!(purchase_takes_offer(t(180), expires, t(209)));
        assert!(!purchase_takes_offer(t(180), expires, t(210)));
        assert!(
            !is_inactive(&WinbackSettings::default(), t(0), t(999)),
            "off by default"
        );
    }
}
