//! Keeps a kiosk's window: bevy closes the window when its monitor goes away (TV switched off,
//! HDMI unplugged); the app stays alive and opens it again, on the same settings, until it sticks.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::window::{CursorOptions, Monitor, PrimaryWindow};

use super::wakeups::Wakeups;

/// The window to bring back, and when it was last tried.
#[derive(Resource)]
pub struct KioskWindow {
    pub window: Window,
    pub cursor: CursorOptions,
    last_try: Option<Instant>,
}

/// Not more often than this: a monitor that is still gone makes the new window fail too.
const RETRY_EVERY: Duration = Duration::from_secs(2);

pub(super) fn plugin(app: &mut App, window: Window, cursor: CursorOptions) {
    app.insert_resource(KioskWindow { window, cursor, last_try: None })
        .add_systems(Last, restore_window.before(super::wakeups::schedule_wakeup));
}

fn restore_window(
    mut commands: Commands,
    mut kiosk: ResMut<KioskWindow>,
    windows: Query<(), With<PrimaryWindow>>,
    monitors: Query<(), With<Monitor>>,
    plugged_in: Query<(), Added<Monitor>>,
    mut wakeups: ResMut<Wakeups>,
) {
    // A monitor just connected: try at once rather than at the next retry.
    if !plugged_in.is_empty() {
        kiosk.last_try = None;
    }
    if !windows.is_empty() {
        return;
    }
    // bevy looks for monitors only when the loop runs, and a monitor coming back sends no event
    // that wakes it: keep looking while the window is gone.
    wakeups.at(kiosk.last_try.unwrap_or_else(Instant::now) + RETRY_EVERY);
    if kiosk.last_try.is_some_and(|at| at.elapsed() < RETRY_EVERY) {
        return;
    }
    // A full-screen window needs a monitor to go on: wait for one to come back.
    if monitors.is_empty() {
        if kiosk.last_try.is_none() {
            warn!("the screen's window is gone and no monitor is connected; waiting for one");
            kiosk.last_try = Some(Instant::now());
        }
        return;
    }
    warn!("the screen's window is gone (monitor switched off or unplugged?); opening it again");
    kiosk.last_try = Some(Instant::now());
    commands.spawn((kiosk.window.clone(), kiosk.cursor.clone(), PrimaryWindow));
}
