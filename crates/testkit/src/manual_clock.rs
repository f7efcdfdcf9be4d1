use std::sync::{Mutex, PoisonError};

use kyc_core::ports::Clock;
use time::{Duration, OffsetDateTime};

/// A [`Clock`] that stands still until the test moves it.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Mutex::new(start) }
    }

    /// Moves the clock by `by` (backwards when negative).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_clock_moves_only_when_told() {
        let clock = ManualClock::new(datetime!(2024-05-01 12:00 UTC));
        assert_eq!(clock.now(), datetime!(2024-05-01 12:00 UTC));
        clock.advance(Duration::minutes(90));
        assert_eq!(clock.now(), datetime!(2024-05-01 13:30 UTC));
        clock.advance(Duration::seconds(-30));
        assert_eq!(clock.now(), datetime!(2024-05-01 13:29:30 UTC));
        clock.set(datetime!(2030-01-01 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2030-01-01 0:00 UTC));
    }
}
