//! Rate limits on what members do from the dashboard (redeem, invite friends), per member and per
//! client address: token buckets that refill evenly over a window, kept in this process's memory.
//! Time is a parameter, so the rules are tested without a clock.

use crate::config::MemberLimits;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What is limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Redemption,
    Invitation,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Redemption => "redemptions",
            Action::Invitation => "invitations",
        }
    }
}

/// Refused: how long until the request would fit, and the limit it ran into.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("too many {what}: at most {limit} per {window_secs} s {per}; try again in {} s", retry_after_secs(*.retry_after))]
pub struct Limited {
    pub retry_after: Duration,
    pub what: &'static str,
    pub per: &'static str,
    pub limit: u32,
    pub window_secs: u64,
}

/// Whole seconds to wait, at least one, as `Retry-After` says it.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    Member(String),
    Ip(IpAddr),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    action: Action,
    program_id: String,
    subject: Subject,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets beyond this many make a take sweep out the full (idle) ones.
const SWEEP_ABOVE: usize = 50_000;

#[derive(Debug)]
pub struct RateLimits {
    limits: MemberLimits,
    buckets: Mutex<HashMap<Key, Bucket>>,
}

impl RateLimits {
    pub fn new(limits: MemberLimits) -> RateLimits {
        RateLimits {
            limits,
            buckets: Mutex::default(),
        }
    }

    fn capacities(&self, action: Action) -> (u32, u32) {
        let l = &self.limits;
        match action {
            Action::Redemption => (l.redemptions_per_member, l.redemptions_per_ip),
            Action::Invitation => (l.invitations_per_member, l.invitations_per_ip),
        }
    }

    /// Takes `cost` from the member's and the address's allowances for `action` at `now`, or from
    /// neither when either falls short.
    pub fn take(
        &self,
        action: Action,
        program_id: &str,
        member: &str,
        ip: IpAddr,
        cost: u32,
        now: Instant,
    ) -> Result<(), Limited> {
        let (per_member, per_ip) = self.capacities(action);
        let key = |subject| Key {
            action,
            program_id: program_id.to_string(),
            subject,
        };
        let checks = [
            (
                key(Subject::Member(member.to_string())),
                per_member,
                "per member",
            ),
            (key(Subject::Ip(ip)), per_ip, "per client address"),
        ];
        let window = self.limits.window.as_secs_f64();
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        if buckets.len() > SWEEP_ABOVE {
            let limits = self;
            buckets.retain(|k, b| {
                let (m, i) = limits.capacities(k.action);
                let capacity = match k.subject {
                    Subject::Member(_) => m,
                    Subject::Ip(_) => i,
                };
                refilled(*b, capacity, window, now) < f64::from(capacity)
            });
        }
        let mut levels = Vec::with_capacity(checks.len());
        for (key, capacity, per) in &checks {
            if *capacity == 0 {
                continue;
            }
            let tokens = buckets.get(key).map_or(f64::from(*capacity), |b| {
                refilled(*b, *capacity, window, now)
            });
            let cost = f64::from(cost);
            if tokens < cost {
                let short = if cost > f64::from(*capacity) {
                    window
                } else {
                    (cost - tokens) * window / f64::from(*capacity)
                };
                return Err(Limited {
                    retry_after: Duration::from_secs_f64(short.max(0.001)),
                    what: action.name(),
                    per,
                    limit: *capacity,
                    window_secs: self.limits.window.as_secs().max(1),
                });
            }
            levels.push((key.clone(), tokens - cost));
        }
        for (key, tokens) in levels {
            buckets.insert(key, Bucket { tokens, at: now });
        }
        Ok(())
    }
}

/// A bucket's tokens at `now`: what it had, plus the even refill since, up to its capacity.
fn refilled(b: Bucket, capacity: u32, window_secs: f64, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
    let capacity = f64::from(capacity);
    (b.tokens + elapsed * capacity / window_secs).min(capacity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RateLimits {
        RateLimits::new(MemberLimits {
            window: Duration::from_secs(60),
            redemptions_per_member: 2,
            redemptions_per_ip: 3,
            invitations_per_member: 10,
            invitations_per_ip: 0,
        })
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn a_member_gets_the_allowance_then_waits_for_the_refill() {
        let l = limits();
        let t0 = Instant::now();
        let take = |at| l.take(Action::Redemption, "p", "ann", HOME, 1, at);
        assert_eq!(take(t0), Ok(()));
        assert_eq!(take(t0), Ok(()));
        let refused = take(t0).expect_err("the third is refused");
        assert_eq!(refused.retry_after, Duration::from_secs(30));
        assert_eq!(refused.per, "per member");
        assert!(take(t0 + Duration::from_secs(29)).is_err());
        assert_eq!(take(t0 + Duration::from_secs(30)), Ok(()));
    }

    #[test]
    fn an_address_is_limited_across_members_and_a_refusal_costs_nothing() {
        let l = limits();
        let t0 = Instant::now();
        for member in ["ann", "bob", "cy"] {
            assert_eq!(l.take(Action::Redemption, "p", member, HOME, 1, t0), Ok(()));
        }
        let refused = l
            .take(Action::Redemption, "p", "dee", HOME, 1, t0)
            .expect_err("the address is spent");
        assert_eq!(refused.per, "per client address");
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 7));
        assert_eq!(
            l.take(Action::Redemption, "p", "dee", elsewhere, 1, t0),
            Ok(()),
            "dee's own allowance was not spent by the refusal"
        );
        assert_eq!(
            l.take(Action::Redemption, "other-program", "ann", elsewhere, 1, t0),
            Ok(()),
            "programs count apart"
        );
    }

    #[test]
    fn invitations_cost_one_per_address_and_zero_lifts_a_limit() {
        let l = limits();
        let t0 = Instant::now();
        assert_eq!(l.take(Action::Invitation, "p", "ann", HOME, 8, t0), Ok(()));
        let refused = l
            .take(Action::Invitation, "p", "ann", HOME, 3, t0)
            .expect_err("only two are left");
        assert_eq!(refused.retry_after, Duration::from_secs(6));
        assert_eq!(l.take(Action::Invitation, "p", "ann", HOME, 2, t0), Ok(()));
        let too_many = l
            .take(Action::Invitation, "p", "bob", HOME, 11, t0)
            .expect_err("more than a whole window allows");
        assert_eq!(too_many.retry_after, Duration::from_secs(60));
        assert_eq!(retry_after_secs(Duration::from_millis(1500)), 2);
    }
}
