//! `--screenshot`: once the board is shown (or the wait is over), save a PNG and exit.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};

use super::DisplaySet;
use super::net::BoardState;
use super::view::TextProof;

/// Where a text proof's boxes go: beside the screenshot, `shot.png` → `shot.png.boxes.json`.
fn proof_boxes_path(screenshot: &std::path::Path) -> PathBuf {
    let mut name = screenshot.as_os_str().to_owned();
    name.push(".boxes.json");
    PathBuf::from(name)
}

/// Present while `--screenshot` runs (bevy's window screenshot needs the window written).
#[derive(Resource)]
pub(super) struct ScreenshotPlan {
    path: PathBuf,
    not_before: Instant,
    /// Taken even without a board after this (e.g. the hub is down: the screen still shows).
    not_after: Instant,
    requested: bool,
}

pub(super) fn plugin(app: &mut App, path: PathBuf, after: Duration) {
    let now = Instant::now();
    app.insert_resource(ScreenshotPlan {
        path,
        not_before: now + after,
        not_after: now + after + Duration::from_secs(10),
        requested: false,
    })
    .add_systems(Update, take_screenshot.in_set(DisplaySet::Capture));
}

fn take_screenshot(
    mut commands: Commands,
    mut plan: ResMut<ScreenshotPlan>,
    state: Res<BoardState>,
    proof: Option<Res<TextProof>>,
) {
    let now = Instant::now();
    // The board, and while the hub is reachable the service standards fetched after it.
    let ready = state.board.is_some() && (state.standards_settled || !state.online);
    if plan.requested || now < plan.not_before || (!ready && now < plan.not_after) {
        return;
    }
    plan.requested = true;
    info!("taking a screenshot to {}", plan.path.display());
    if let Some(proof) = proof {
        let path = proof_boxes_path(&plan.path);
        let written = serde_json::to_vec_pretty(&proof.boxes)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(&path, json));
        if let Err(e) = written {
            error!("cannot write the text boxes to {}: {e}", path.display());
        }
    }
    commands.spawn(Screenshot::primary_window()).observe(save_to_disk(plan.path.clone())).observe(
        |_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
            exit.write(AppExit::Success);
        },
    );
}
