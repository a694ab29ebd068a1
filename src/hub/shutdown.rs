//! Shutdown signalling: one trigger, any number of waiters (server, connections, timers), and the
//! deadline by which whatever is still waiting for the journal is given up.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// How long shutdown gives the journal to finish what it has (a NATS cluster out of reach or a
/// stalled disk would otherwise hold the process forever); then waiting commands are answered
/// `shutting_down` and the hub exits non-zero.
pub const JOURNAL_DEADLINE: Duration = Duration::from_secs(4);

/// Fires once; every [`Shutdown`] clone sees it.
pub struct ShutdownTrigger(watch::Sender<Option<Instant>>);

/// Waits for the trigger.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<Option<Instant>>);

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(None);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    /// Starts shutdown (a second call keeps the first moment).
    pub fn trigger(&self) {
        self.0.send_if_modified(|at| {
            let first = at.is_none();
            at.get_or_insert_with(Instant::now);
            first
        });
    }
}

impl Shutdown {
    /// Returns once shutdown has been triggered (at once if it already was).
    pub async fn wait(&mut self) {
        self.triggered_at().await;
    }

    /// Returns `after` past the moment shutdown was triggered.
    pub async fn passed(&mut self, after: Duration) {
        let at = self.triggered_at().await;
        tokio::time::sleep_until(at + after).await;
    }

    async fn triggered_at(&mut self) -> Instant {
        match self.0.wait_for(Option::is_some).await {
            Ok(at) => at.expect("waited for a moment"),
            // The trigger is gone, which also means stop.
            Err(_) => Instant::now(),
        }
    }
}

/// SIGINT (Ctrl-C) and SIGTERM (systemd stop), listened to from creation on: a second signal
/// during a slow shutdown is heard even if it comes before anyone waits for it.
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn listen() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                term: signal(SignalKind::terminate()).expect("installing a SIGTERM handler"),
                interrupt: signal(SignalKind::interrupt()).expect("installing a SIGINT handler"),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Resolves at the next signal.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.interrupt.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd stop).
pub async fn os_signal() {
    Signals::listen().next().await
}

/// Waits for a signal, then runs `stop` (a server's clean shutdown); a second signal while it
/// runs ends the process at once, as most servers do (exit code 130, like an interrupted shell).
pub async fn stop_on_signals<F: Future<Output = anyhow::Result<()>>>(
    program: &str,
    stop: impl FnOnce() -> F,
) -> anyhow::Result<()> {
    let mut signals = Signals::listen();
    signals.next().await;
    tracing::info!("signal received, shutting down (a second signal stops at once)");
    tokio::select! {
        stopped = stop() => stopped,
        _ = signals.next() => {
            tracing::warn!("second signal: papan {program} exits now without finishing its shutdown");
            std::process::exit(130)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_deadline_counts_from_the_first_trigger() {
        let (trigger, shutdown) = channel();
        trigger.trigger();
        let first = Instant::now();
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.trigger();
        shutdown.clone().passed(Duration::from_millis(300)).await;
        let waited = first.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_millis(450),
            "300 ms after the first trigger, not the second: {waited:?}"
        );
        shutdown.clone().wait().await;
    }
}
