//! What the benchmarks share: a hub on a free port with its clients, the child processes they
//! start, and the frame log a board under test writes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::client::ClientOptions;
use crate::hall::Hall;
use crate::hub::config::{HubConfig, Limits};
use crate::hub::jetstream::JetStreamOptions;
use crate::hub::{self, HubOptions, RunningHub};
use crate::protocol::{Role, Seq};

/// A hub on a free loopback port for a benchmark, and how its staff and screens reach it.
pub(super) struct BenchHub {
    pub running: RunningHub,
    pub staff: ClientOptions,
    pub screen: ClientOptions,
}

impl BenchHub {
    /// Starts a hub with fresh tokens and the built-in hall, its journal in `data`.
    pub async fn start(
        data: PathBuf,
        timeout: Duration,
        shared_journal: Option<JetStreamOptions>,
        tune: impl FnOnce(&mut Limits),
    ) -> anyhow::Result<BenchHub> {
        let mut config = HubConfig::generate();
        config.listen = "127.0.0.1:0".parse()?;
        tune(&mut config.limits);
        // The Chromium board of `bench display` is a page opened from a file (origin "null").
        config.allowed_origins = vec!["null".into()];
        let tokens = config.clone();
        let options = HubOptions {
            config,
            data_dir: data,
            hall: Hall::builtin(),
            clock: hub::core::system_clock(),
            shared_journal,
        };
        let running = hub::start(options).await?;
        let (staff, screen) = bench_clients(&tokens, running.ws_url(), timeout);
        Ok(BenchHub { running, staff, screen })
    }
}

/// How the bench's staff client and its screens reach a hub at `url` with `config`'s tokens.
pub(super) fn bench_clients(
    config: &HubConfig,
    url: String,
    timeout: Duration,
) -> (ClientOptions, ClientOptions) {
    let token = |role| config.token_for(role).expect("generated configs have both roles").to_string();
    let screen = ClientOptions {
        url,
        token: token(Role::Display),
        role: Role::Display,
        client: "bench-screen".into(),
        timeout,
    };
    let staff = ClientOptions {
        token: token(Role::Staff),
        role: Role::Staff,
        client: "bench-staff".into(),
        ..screen.clone()
    };
    (staff, screen)
}

/// One line of the display's `--bench-log`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Frame {
    pub unix_us: i64,
    pub seq: Seq,
    /// Image assets alive (font atlases among them).
    pub images: usize,
    /// Drawn as a partial frame (software rendering: only what a call changed, or the flashing
    /// hero, redrawn over the kept picture).
    pub partial: bool,
    /// The display process's CPU time when the line was written (all threads), in µs.
    pub cpu_us: Option<u64>,
    /// Whether the frame went to X by hand (only what changed), not through bevy's copy.
    pub x_present: bool,
    /// Whether it was a flash turn put on X from a kept picture, drawing nothing.
    pub replayed: bool,
}

pub(super) fn frames(log: &Path) -> Vec<Frame> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                ["frame", _, "unix_us", t, "seq", s, "images", i, "partial", p, "cpu_us", c, rest @ ..] => {
                    Some(Frame {
                        unix_us: t.parse().ok()?,
                        seq: s.parse().ok()?,
                        images: i.parse().ok()?,
                        partial: *p == "1",
                        cpu_us: c.parse().ok(),
                        x_present: rest.starts_with(&["x_present", "1"]),
                        replayed: rest.get(2..4) == Some(&["replayed", "1"]),
                    })
                }
                _ => None,
            }
        })
        .collect()
}

pub(super) fn now_us() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

/// The display goes when the bench does, also on an error.
pub(super) struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn print_row(label: &str, samples: &mut [f64]) {
    samples.sort_by(f64::total_cmp);
    let at = |q| percentile(samples, q);
    println!("  {label:<34} {:>8.2} {:>8.2} {:>8.2}", at(0.5), at(0.99), at(1.0));
}

/// The `q` quantile (0–1) of sorted samples, nearest rank.
pub(super) fn percentile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}
