//! `papan bench`: what papan costs and how fast it is, measured on this machine against its peers
//! (mosquitto for fan-out, a Chromium board for the screen). The CLI only parses the arguments.

mod browser;
mod display;
mod fanout;
mod harness;
mod mqtt;
mod soak;
mod voice;

use clap::Subcommand;

pub use self::display::DisplayBenchArgs;
pub use self::fanout::{FanoutArgs, FanoutServer};
pub use self::soak::SoakArgs;
pub use self::voice::VoiceArgs;

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Start a hub, connect N screens, send calls one after another and time each until every
    /// screen has it.
    Fanout(FanoutArgs),
    /// Time event → script → render → first sample pulled by the default audio device.
    Voice(VoiceArgs),
    /// Run a real display against an embedded hub: cold start, call → frame, idle CPU and RSS
    /// (needs a screen: X or Xvfb, and Vulkan, e.g. lavapipe).
    Display(DisplayBenchArgs),
    /// A long run: a real display through many calls at an accelerated rate, its memory, CPU,
    /// frames, lag and font atlases sampled over time (needs a screen and Vulkan, as `display`).
    Soak(SoakArgs),
    /// A simulated MPP day (tickets, priority, service, no-shows) through the hub's own queue and
    /// estimator: the share of waits inside the band shown at issue, and the median error.
    Day(crate::day_sim::DayArgs),
}

pub async fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Fanout(args) => fanout::run(args).await,
        BenchCmd::Voice(args) => tokio::task::spawn_blocking(move || voice::run(args)).await?,
        BenchCmd::Display(args) => display::run(args).await,
        BenchCmd::Soak(args) => soak::run(args).await,
        BenchCmd::Day(args) => crate::day_sim::run(args),
    }
}
