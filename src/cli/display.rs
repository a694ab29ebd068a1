//! `papan display` arguments → the bevy app.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::HubClientArgs;
use crate::display::{LayoutChoice, VoiceSetup};
use crate::feed::FeedOptions;
use crate::protocol::Role;
use crate::voice::pack::Pack;

#[derive(Args)]
pub struct DisplayArgs {
    /// Screen id, shown in the hub's log and fleet page.
    #[arg(long, default_value = "screen-1")]
    screen: String,
    /// Layout: a name the hub serves (built in: hall-landscape, counter-portrait, agency-wall), or a
    /// local NAME.toml file, reloaded when it changes.
    #[arg(long, default_value = "hall-landscape")]
    layout: String,
    /// Monitor index for full screen.
    #[arg(long, default_value_t = 0)]
    monitor: usize,
    /// Run in a window of this size (WIDTHxHEIGHT) instead of full screen.
    #[arg(long)]
    windowed: Option<String>,
    /// Render, save a PNG here, and exit.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Wait this long before the screenshot.
    #[arg(long, default_value_t = 1500)]
    after_ms: u64,
    /// With --screenshot: only the texts, white on black and unclipped, and their boxes in
    /// PNG.boxes.json (the test that no text leaves its box).
    #[arg(long, hide = true, requires = "screenshot")]
    text_proof: bool,
    /// Voice clip pack for announcements.
    #[arg(long, default_value = crate::voice::pack::DEFAULT_PACK_DIR)]
    pack: PathBuf,
    /// A silent screen: no announcements from this display.
    #[arg(long)]
    no_voice: bool,
    /// Folder of the pictures the hall file and layouts name (logo, image regions).
    #[arg(long, default_value = "assets/images")]
    images: PathBuf,
    /// Folder for the last good hall and board (to start without the hub).
    #[arg(long, default_value = "papan-display-cache")]
    cache: PathBuf,
    /// At start, wait up to this many seconds for the X display (DISPLAY) to accept the screen.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    wait_for_display: u64,
    /// Log every frame to this file (used by `papan bench display`).
    #[arg(long, hide = true)]
    bench_log: Option<PathBuf>,
    #[command(flatten)]
    hub: HubClientArgs,
}

pub(super) fn run(args: DisplayArgs) -> anyhow::Result<()> {
    let layout = LayoutChoice::from(args.layout.as_str());
    let windowed = args
        .windowed
        .as_deref()
        .map(|s| {
            let (w, h) = s.split_once(['x', 'X']).context("--windowed takes WIDTHxHEIGHT")?;
            anyhow::Ok((w.parse::<u32>()?, h.parse::<u32>()?))
        })
        .transpose()?;
    let mut client = args.hub.options(Role::Display).map_err(|e| anyhow::anyhow!("{e}"))?;
    client.client = args.screen.clone();
    let mut feed = FeedOptions::new(client);
    feed.cache_dir = Some(args.cache.clone());
    // A screenshot is a picture, not an announcement.
    let voice = if args.no_voice || args.screenshot.is_some() {
        None
    } else {
        match Pack::load(&args.pack) {
            Ok(pack) => Some(VoiceSetup { pack, wav_dir: None }),
            Err(e) => {
                tracing::error!("{e}; this screen stays silent");
                None
            }
        }
    };
    crate::display::run(crate::display::DisplayOptions {
        feed,
        layout,
        windowed,
        monitor: args.monitor,
        screenshot: args.screenshot,
        screenshot_after: Duration::from_millis(args.after_ms),
        text_proof: args.text_proof,
        voice,
        quit_at_seq: None,
        bench_log: args.bench_log,
        images: args.images,
        wait_for_x: Duration::from_secs(args.wait_for_display),
    })
}
