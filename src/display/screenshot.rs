//! `--screenshot`: once the board is shown (or the wait is over), save a PNG and exit.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured, save_to_disk};

use super::DisplaySet;
use super::net::BoardState;

#[derive(Resource)]
struct ScreenshotPlan {
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

fn take_screenshot(mut commands: Commands, mut plan: ResMut<ScreenshotPlan>, state: Res<BoardState>) {
    let now = Instant::now();
    if plan.requested || now < plan.not_before || (state.board.is_none() && now < plan.not_after) {
        return;
    }
    plan.requested = true;
    info!("taking a screenshot to {}", plan.path.display());
    commands.spawn(Screenshot::primary_window()).observe(save_to_disk(plan.path.clone())).observe(
        |_: On<ScreenshotCaptured>, mut exit: MessageWriter<AppExit>| {
            exit.write(AppExit::Success);
        },
    );
}
