//! The retry policy: what an attempt's [`Outcome`] means for the row — capped exponential backoff
//! with jitter, a limit of attempts, and a separate, stricter limit for attempts that may have been
//! applied (a retry of those can email someone twice).

use super::Outcome;
use chrono::{DateTime, Duration, Utc};
use patron_store::Finish;
use rand::Rng;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub base_ms: u64,
    pub max_ms: u64,
    pub attempts: u32,
    pub ambiguous: u32,
}

/// What to do with a row after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Finish(Finish),
    /// The channel is unusable: put the row back untouched and hold the channel.
    Hold {
        reason: String,
    },
}

impl RetryPolicy {
    /// The delay before attempt number `attempt + 1` (attempt counts from 1): base × 2^(attempt-1),
    /// capped, with jitter between half and all of it so that retries don't stampede.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(30));
        let capped = exp.min(self.max_ms) as f64;
        Duration::milliseconds((capped * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as i64)
    }

    /// `attempts_before` and `ambiguous_before` count the row's earlier attempts.
    pub fn decide(
        &self,
        outcome: Outcome,
        attempts_before: i64,
        ambiguous_before: i64,
        now: DateTime<Utc>,
    ) -> Decision {
        let attempt = u32::try_from(attempts_before + 1).unwrap_or(u32::MAX);
        match outcome {
            Outcome::Delivered { detail } => Decision::Finish(Finish::Delivered { detail }),
            Outcome::Dead { reason } => Decision::Finish(Finish::Dead {
                reason,
                unconfirmed: false,
            }),
            Outcome::Hold { reason } => Decision::Hold { reason },
            Outcome::Retry {
                reason,
                retry_after,
                may_have_been_applied,
            } => {
                if may_have_been_applied && ambiguous_before >= i64::from(self.ambiguous) {
                    let reason = format!(
                        "{reason} (the request may have reached the far end: not retried, to avoid a duplicate email; check and replay if it did not arrive)"
                    );
                    return Decision::Finish(Finish::Dead {
                        reason,
                        unconfirmed: true,
                    });
                }
                if attempt >= self.attempts {
                    let reason = format!("gave up after {attempt} attempts: {reason}");
                    return Decision::Finish(Finish::Dead {
                        reason,
                        unconfirmed: false,
                    });
                }
                let mut delay = self.backoff(attempt, rand::rng().random::<f64>());
                if let Some(asked) = retry_after {
                    let asked = Duration::milliseconds(
                        asked.as_millis().min(u128::from(self.max_ms)) as i64,
                    );
                    delay = delay.max(asked);
                }
                Decision::Finish(Finish::Retry {
                    reason,
                    next_attempt_at: now + delay,
                    ambiguous: may_have_been_applied,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_ms: 1000,
            max_ms: 60_000,
            attempts: 5,
            ambiguous: 0,
        }
    }

    fn retry(applied: bool) -> Outcome {
        Outcome::Retry {
            reason: "503".into(),
            retry_after: None,
            may_have_been_applied: applied,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let p = policy();
        assert_eq!(p.backoff(1, 1.0), Duration::milliseconds(1000));
        assert_eq!(p.backoff(3, 1.0), Duration::milliseconds(4000));
        assert_eq!(p.backoff(3, 0.0), Duration::milliseconds(2000));
        assert_eq!(p.backoff(20, 1.0), Duration::milliseconds(60_000));
    }

    #[test]
    fn retryable_failures_retry_until_the_last_attempt_then_die() {
        let now = Utc::now();
        assert!(matches!(
            policy().decide(retry(false), 0, 0, now),
            Decision::Finish(Finish::Retry { .. })
        ));
        let last = policy().decide(retry(false), 4, 0, now);
        assert!(
            matches!(
                last,
                Decision::Finish(Finish::Dead {
                    unconfirmed: false,
                    ..
                })
            ),
            "{last:?}"
        );
    }

    #[test]
    fn attempts_that_may_have_been_applied_are_parked_not_retried() {
        let d = policy().decide(retry(true), 0, 0, Utc::now());
        assert!(
            matches!(
                d,
                Decision::Finish(Finish::Dead {
                    unconfirmed: true,
                    ..
                })
            ),
            "{d:?}"
        );
        let lenient = RetryPolicy {
            ambiguous: 1,
            ..policy()
        };
        assert!(matches!(
            lenient.decide(retry(true), 0, 0, Utc::now()),
            Decision::Finish(Finish::Retry {
                ambiguous: true,
                ..
            })
        ));
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let now = Utc::now();
        let asked = Outcome::Retry {
            reason: "429".into(),
            retry_after: Some(std::time::Duration::from_secs(3600)),
            may_have_been_applied: false,
        };
        match policy().decide(asked, 0, 0, now) {
            Decision::Finish(Finish::Retry {
                next_attempt_at, ..
            }) => assert_eq!(next_attempt_at - now, Duration::milliseconds(60_000)),
            other => panic!("{other:?}"),
        }
    }
}
