//! What a screen tells its hub about itself (for the fleet page and the hub's log): every 10 s,
//! and at once when its layout, a layout problem or a voice-pack problem changes.

use std::time::{Duration, Instant};

use bevy::prelude::*;

use super::DisplaySet;
use super::audio::Voice;
use super::layouts::LayoutProblem;
use super::net::{BoardState, FeedSource};
use super::view::ScreenLayout;
use crate::protocol::Status;

const EVERY: Duration = Duration::from_secs(10);

/// Frames since the last report, and when that was.
#[derive(Resource, Default)]
struct StatusClock {
    last: Option<Instant>,
    frames: u64,
}

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<StatusClock>().add_systems(Update, report_status.after(DisplaySet::Configure));
}

fn report_status(
    mut clock: ResMut<StatusClock>,
    (problem, layout): (Res<LayoutProblem>, Res<ScreenLayout>),
    state: Res<BoardState>,
    source: Res<FeedSource>,
    voice: Option<Res<Voice>>,
    mut voice_reported: Local<Option<String>>,
) {
    clock.frames += 1;
    let due = clock.last.is_none_or(|at| at.elapsed() >= EVERY);
    let voice_error = voice.as_ref().and_then(|v| v.problem());
    if !due && !problem.is_changed() && !layout.is_changed() && voice_error == voice_reported.as_deref() {
        return;
    }
    let voice_error = voice_error.map(str::to_string);
    voice_reported.clone_from(&voice_error);
    let secs = clock.last.map_or(0.0, |at| at.elapsed().as_secs_f32());
    let fps = if secs > 0.0 { clock.frames as f32 / secs } else { 0.0 };
    *clock = StatusClock { last: Some(Instant::now()), frames: 0 };
    source.report(Status {
        version: env!("CARGO_PKG_VERSION").into(),
        screen: String::new(),
        layout: layout.0.name.clone(),
        fps,
        rss: resident_bytes().unwrap_or(0),
        audio: voice.as_ref().map_or("off", |v| v.audio()).into(),
        voice_error,
        last_seq: state.board.as_ref().map_or(0, |b| b.seq),
        layout_error: problem.0.clone(),
    });
}

/// This process's resident memory (Linux).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 =
        status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
