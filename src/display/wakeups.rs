//! Wakes the reactive loop when something shown is due to change (the clock's next minute, the
//! next ticker page, the end of an overlay), so that an idle board draws no frame in between.
//!
//! Every frame costs a full render (on a PC without a GPU, about a tenth of a second of CPU), so
//! drawing once a second "just in case" kept a core 11 % busy on a board that changes once a minute.
//! Systems say when they next need a frame with [`Wakeups::at`]; after the frame, the earliest of
//! those goes to a timer thread that wakes the loop then. Data from the hub and from the voice wake
//! it through their own paths.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bevy::prelude::*;

use crate::feed::Wake;

/// When the board next needs a frame, as asked by the systems of this frame.
#[derive(Resource, Default)]
pub struct Wakeups {
    asked: Option<Instant>,
    /// What the last frame settled on (tests read it).
    scheduled: Option<Instant>,
    timer: Option<WakeTimer>,
}

impl Wakeups {
    /// Wakes the loop at `when` through `wake` (the winit event proxy).
    pub fn with_timer(wake: Wake) -> Wakeups {
        Wakeups { timer: Some(WakeTimer::start(wake)), ..default() }
    }

    /// Asks for a frame at `when` (the earliest asked this frame wins).
    pub fn at(&mut self, when: Instant) {
        self.asked = Some(self.asked.map_or(when, |asked| asked.min(when)));
    }

    /// When the next frame is due, as settled at the end of the last frame (None: only when data
    /// arrives).
    pub fn scheduled(&self) -> Option<Instant> {
        self.scheduled
    }
}

/// Hands the earliest wake-up asked this frame to the timer. Runs last in the frame.
pub(super) fn schedule_wakeup(mut wakeups: ResMut<Wakeups>) {
    let next = wakeups.asked.take();
    wakeups.scheduled = next;
    if let Some(timer) = &wakeups.timer {
        timer.set(next);
    }
}

pub(super) fn plugin(app: &mut App, wake: Option<Wake>) {
    let wakeups = wake.map_or_else(Wakeups::default, Wakeups::with_timer);
    app.insert_resource(wakeups).add_systems(Last, schedule_wakeup);
}

/// The instant just after the wall clock's next minute starts (time zones here are whole hours
/// from UTC, so every hall's minute turns with UTC's).
pub fn next_minute(now: jiff::Timestamp) -> Instant {
    let into_minute = Duration::from_secs(now.as_second().rem_euclid(60) as u64)
        + Duration::from_nanos(u64::from(now.subsec_nanosecond().unsigned_abs()));
    // A little late rather than early: woken early, the clock would still show the old minute.
    Instant::now() + Duration::from_secs(60).saturating_sub(into_minute) + Duration::from_millis(20)
}

#[derive(Default)]
struct TimerState {
    due: Option<Instant>,
    stop: bool,
}

/// A thread that calls `wake` when the set instant comes.
struct WakeTimer {
    state: Arc<(Mutex<TimerState>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl WakeTimer {
    fn start(wake: Wake) -> WakeTimer {
        let state = Arc::new((Mutex::new(TimerState::default()), Condvar::new()));
        let shared = state.clone();
        let thread = std::thread::Builder::new()
            .name("papan-wakeups".into())
            .spawn(move || run_timer(&shared, &wake))
            .expect("spawning the wake-up timer");
        WakeTimer { state, thread: Some(thread) }
    }

    fn set(&self, due: Option<Instant>) {
        let (lock, changed) = &*self.state;
        let Ok(mut state) = lock.lock() else { return };
        if state.due != due {
            state.due = due;
            changed.notify_one();
        }
    }
}

fn run_timer(state: &(Mutex<TimerState>, Condvar), wake: &Wake) {
    let (lock, changed) = state;
    let Ok(mut guard) = lock.lock() else { return };
    loop {
        if guard.stop {
            return;
        }
        let now = Instant::now();
        guard = match guard.due {
            None => match changed.wait(guard) {
                Ok(guard) => guard,
                Err(_) => return,
            },
            Some(due) if due <= now => {
                guard.due = None;
                drop(guard);
                wake();
                match lock.lock() {
                    Ok(guard) => guard,
                    Err(_) => return,
                }
            }
            Some(due) => match changed.wait_timeout(guard, due - now) {
                Ok((guard, _)) => guard,
                Err(_) => return,
            },
        };
    }
}

impl Drop for WakeTimer {
    fn drop(&mut self) {
        let (lock, changed) = &*self.state;
        if let Ok(mut state) = lock.lock() {
            state.stop = true;
            changed.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting_timer() -> (WakeTimer, Arc<AtomicUsize>) {
        let woken = Arc::new(AtomicUsize::new(0));
        let counter = woken.clone();
        let timer = WakeTimer::start(Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        (timer, woken)
    }

    #[test]
    fn the_timer_wakes_once_when_due_and_not_when_moved_away() {
        let (timer, woken) = counting_timer();
        let asked = Instant::now();
        timer.set(Some(asked + Duration::from_millis(60)));
        while woken.load(Ordering::SeqCst) == 0 {
            assert!(asked.elapsed() < Duration::from_secs(5), "never woken");
            std::thread::sleep(Duration::from_millis(2));
        }
        let late = asked.elapsed();
        assert!(late >= Duration::from_millis(60), "woken early: {late:?}");
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(woken.load(Ordering::SeqCst), 1, "a deadline wakes once");

        // Moved later before it came, then cleared: no wake-up at the first time.
        timer.set(Some(Instant::now() + Duration::from_millis(50)));
        timer.set(Some(Instant::now() + Duration::from_secs(3600)));
        std::thread::sleep(Duration::from_millis(150));
        timer.set(None);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(woken.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_next_minute_is_just_after_it_turns() {
        let start = Instant::now();
        let at = |text: &str| next_minute(text.parse().unwrap()).duration_since(start);
        let near = |got: Duration, want_ms: u64| {
            let want = Duration::from_millis(want_ms);
            assert!(got >= want && got < want + Duration::from_millis(200), "{got:?} vs {want:?}");
        };
        near(at("2026-11-22T07:05:59.500Z"), 520);
        near(at("2026-11-22T07:05:00Z"), 60_020);
        near(at("2026-11-22T07:05:30.250Z"), 29_770);
    }
}
