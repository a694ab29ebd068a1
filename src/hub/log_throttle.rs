//! Keeps a flood of one kind of log line (refused connections) from drowning the hub's log: the
//! first line in each window is written and says how many like it were left out before it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LogThrottle {
    window: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the last written line opened its window.
    written: Option<Instant>,
    left_out: u64,
}

impl LogThrottle {
    pub fn new(window: Duration) -> LogThrottle {
        LogThrottle { window, state: Mutex::default() }
    }

    /// `Some(n)`: write the line, adding that `n` like it were left out since the last one;
    /// `None`: leave it out.
    pub fn admit(&self) -> Option<u64> {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match state.written {
            Some(written) if now.saturating_duration_since(written) < self.window => {
                state.left_out += 1;
                None
            }
            _ => {
                state.written = Some(now);
                Some(std::mem::take(&mut state.left_out))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_window_counting_what_was_left_out() {
        let throttle = LogThrottle::new(Duration::from_secs(10));
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        assert_eq!(throttle.admit_at(at(0)), Some(0));
        let flood: Vec<_> = (0..1000).map(|_| throttle.admit_at(at(5))).collect();
        assert!(flood.iter().all(Option::is_none), "a flood inside the window writes nothing more");
        assert_eq!(throttle.admit_at(at(10)), Some(1000), "the next window's line counts them");
        assert_eq!(throttle.admit_at(at(21)), Some(0));
    }
}
