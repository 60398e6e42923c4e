//! The monthly digest: on which day it runs and the key that makes it once per member per month.

use chrono::{DateTime, Datelike, Utc};

/// Whether `as_of` falls on the configured day of the month (UTC).
pub fn is_digest_day(day_of_month: u32, as_of: DateTime<Utc>) -> bool {
    as_of.day() == day_of_month
}

/// The month a digest belongs to, `YYYY-MM`.
pub fn period(as_of: DateTime<Utc>) -> String {
    as_of.format("%Y-%m").to_string()
}

/// The outbox dedupe key that keeps one digest per member per month.
pub fn dedupe_key(as_of: DateTime<Utc>, member_id: &str) -> String {
    format!("digest:{}:{member_id}", period(as_of))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_key_names_the_month() {
        let at = Utc
            .with_ymd_and_hms(2026, 6, 1, 8, 0, 0)
            .single()
            .expect("valid");
        assert!(is_digest_day(1, at));
        assert!(!is_digest_day(2, at));
        assert_eq!(dedupe_key(at, "m1"), "digest:2026-06:m1");
    }
}
