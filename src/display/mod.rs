//! `papan display`: the bevy app on a hall screen, composed of feature plugins (network feed,
//! board view, screenshot). Full screen borderless on a chosen monitor, or windowed for desks.

mod net;
mod screenshot;
mod view;

use std::path::PathBuf;
use std::time::Duration;

use bevy::prelude::*;
use bevy::window::{ExitCondition, MonitorSelection, WindowMode, WindowResolution};
use bevy::winit::{UpdateMode, WinitSettings};

use crate::feed::FeedOptions;
use crate::layout::Layout;

/// Everything `papan display` needs.
pub struct DisplayOptions {
    pub feed: FeedOptions,
    pub layout: Layout,
    /// Windowed at this size instead of full screen.
    pub windowed: Option<(u32, u32)>,
    pub monitor: usize,
    /// Render, save a PNG here and exit.
    pub screenshot: Option<PathBuf>,
    /// How long to wait before the screenshot (for the board to arrive).
    pub screenshot_after: Duration,
}

/// The order of the display's systems within a frame.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisplaySet {
    /// Take what the network thread delivered.
    Receive,
    /// Rebuild or update what is shown.
    Show,
    /// Screenshots after everything is in place.
    Capture,
}

/// Runs the display until it is closed (or the screenshot is saved).
pub fn run(options: DisplayOptions) -> anyhow::Result<()> {
    let (width, height) = options.windowed.unwrap_or(match options.layout.orientation {
        crate::layout::Orientation::Landscape => (1920, 1080),
        crate::layout::Orientation::Portrait => (1080, 1920),
    });
    let kiosk = options.windowed.is_none() && options.screenshot.is_none();
    let window = Window {
        title: format!("papan — {}", options.layout.name),
        // Pixel-exact layouts: the OS scale factor must not resize the board.
        resolution: WindowResolution::new(width, height).with_scale_factor_override(1.0),
        // Never exclusive full screen: it panics when the monitor lookup fails (bevy#25477).
        mode: if kiosk {
            WindowMode::BorderlessFullscreen(MonitorSelection::Index(options.monitor))
        } else {
            WindowMode::Windowed
        },
        decorations: !kiosk,
        ..default()
    };
    let update_mode = if options.screenshot.is_some() {
        UpdateMode::Continuous
    } else {
        // Redraw only when woken (new data) or once a second for the clock; mouse moves do not count.
        UpdateMode::reactive_low_power(Duration::from_secs(1))
    };
    let background = crate::hall::parse_colour(&options.layout.background).unwrap_or((11, 31, 58));
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .build()
            // papan's own tracing subscriber is already installed.
            .disable::<bevy::log::LogPlugin>()
            .set(WindowPlugin {
                primary_window: Some(window),
                primary_cursor_options: Some(bevy::window::CursorOptions { visible: !kiosk, ..default() }),
                // A kiosk survives its monitor going away (bevy#24867) instead of exiting.
                exit_condition: if kiosk { ExitCondition::DontExit } else { ExitCondition::OnPrimaryClosed },
                ..default()
            }),
    )
    .insert_resource(WinitSettings { focused_mode: update_mode, unfocused_mode: update_mode })
    .insert_resource(ClearColor(Color::srgb_u8(background.0, background.1, background.2)))
    .configure_sets(Update, (DisplaySet::Receive, DisplaySet::Show, DisplaySet::Capture).chain());
    net::plugin(&mut app, options.feed);
    view::plugin(&mut app, options.layout);
    if let Some(path) = options.screenshot {
        screenshot::plugin(&mut app, path, options.screenshot_after);
    }
    app.run();
    Ok(())
}
