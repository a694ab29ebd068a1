//! What a screen tells its hub about itself (for the fleet page and the hub's log): its layout and
//! problems with its layout or voice pack, at once when they change. The network thread repeats
//! the report every 10 s with fresh numbers (memory, frame rate, the seq shown), so an idle board
//! draws no frame to report.

use bevy::prelude::*;

use super::DisplaySet;
use super::audio::Voice;
use super::layouts::LayoutProblem;
use super::net::{BoardState, FeedSource};
use super::view::ScreenLayout;
use crate::protocol::Status;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Update, report_status.after(DisplaySet::Configure)).add_systems(Last, count_frame);
}

fn report_status(
    (problem, layout): (Res<LayoutProblem>, Res<ScreenLayout>),
    state: Res<BoardState>,
    source: Res<FeedSource>,
    voice: Option<Res<Voice>>,
    mut reported: Local<Option<(&'static str, Option<String>)>>,
) {
    let audio = voice.as_ref().map_or("off", |v| v.audio());
    let voice_error = voice.as_ref().and_then(|v| v.problem());
    let unchanged = reported
        .as_ref()
        .is_some_and(|(was_audio, was_error)| *was_audio == audio && was_error.as_deref() == voice_error);
    if unchanged && !problem.is_changed() && !layout.is_changed() {
        return;
    }
    let voice_error = voice_error.map(str::to_string);
    *reported = Some((audio, voice_error.clone()));
    source.report(Status {
        version: env!("CARGO_PKG_VERSION").into(),
        screen: String::new(),
        layout: layout.0.name.clone(),
        fps: 0.0,
        rss: crate::feed::resident_bytes().unwrap_or(0),
        audio: audio.into(),
        voice_error,
        last_seq: state.board.as_ref().map_or(0, |b| b.seq),
        layout_error: problem.0.clone(),
    });
}

/// Counts the frame for the frame rate the network thread reports.
fn count_frame(state: Res<BoardState>, source: Res<FeedSource>) {
    source.progress().frame_drawn(state.board.as_ref().map_or(0, |b| b.seq));
}
