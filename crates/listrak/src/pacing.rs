//! Client-side pacing: at most N requests per second (or no limit), spaced evenly; a 429 pauses sending
//! for its `Retry-After` (1 s without one) and halves the rate, which recovers by 5 % per success.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// The slowest pace a 429 can push us to.
const SLOWEST: Duration = Duration::from_secs(1);
/// The pace after a first 429 when no limit was configured.
const AFTER_FIRST_429: Duration = Duration::from_millis(20);
/// The longest pause a `Retry-After` can impose.
const LONGEST_PAUSE: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct State {
    next: Instant,
    interval: Duration,
}

#[derive(Debug)]
pub(crate) struct Pacer {
    base: Duration,
    state: Mutex<State>,
}

impl Pacer {
    pub(crate) fn new(requests_per_second: Option<f64>) -> Self {
        let base = requests_per_second
            .filter(|r| r.is_finite() && *r > 0.0)
            .map_or(Duration::ZERO, |r| Duration::from_secs_f64(1.0 / r));
        Self {
            base,
            state: Mutex::new(State {
                next: Instant::now(),
                interval: base,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for this request's slot.
    pub(crate) async fn acquire(&self) {
        let now = Instant::now();
        let slot = {
            let mut s = self.lock();
            if s.interval.is_zero() && s.next <= now {
                return;
            }
            let slot = s.next.max(now);
            s.next = slot + s.interval;
            slot
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }

    pub(crate) fn on_too_many_requests(&self, retry_after: Option<Duration>) {
        let pause = retry_after
            .unwrap_or(Duration::from_secs(1))
            .min(LONGEST_PAUSE);
        let mut s = self.lock();
        s.next = s.next.max(Instant::now() + pause);
        s.interval = if s.interval.is_zero() {
            AFTER_FIRST_429
        } else {
            (s.interval * 2).min(SLOWEST)
        };
        tracing::warn!(
            pause_ms = pause.as_millis() as u64,
            "listrak: 429, slowing down"
        );
    }

    pub(crate) fn on_success(&self) {
        let mut s = self.lock();
        if s.interval > self.base {
            let slower = s.interval.mul_f64(0.95);
            s.interval = if slower <= self.base + Duration::from_millis(1) {
                self.base
            } else {
                slower
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_limit_spaces_requests_evenly() {
        let pacer = Pacer::new(Some(10.0));
        let start = Instant::now();
        for _ in 0..5 {
            pacer.acquire().await;
        }
        assert_eq!(Instant::now() - start, Duration::from_millis(400));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_then_the_rate_recovers() {
        let pacer = Pacer::new(None);
        pacer.on_too_many_requests(Some(Duration::from_secs(2)));
        let start = Instant::now();
        pacer.acquire().await;
        assert_eq!(Instant::now() - start, Duration::from_secs(2));
        for _ in 0..200 {
            pacer.on_success();
        }
        assert!(pacer.lock().interval.is_zero());
    }
}
