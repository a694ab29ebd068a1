//! `papan display`: the bevy app on a hall screen, composed of feature plugins (network feed,
//! voice, board view, screenshot). Full screen borderless on a chosen monitor, or windowed.

mod atlases;
mod audio;
mod fleet;
mod images;
mod kiosk;
mod layouts;
mod lean_passes;
mod net;
mod partial;
mod probe;
mod screenshot;
mod status;
#[cfg(test)]
mod tests;
mod view;
mod wakeups;
mod x_picture;
mod x_present;
mod x_session;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use bevy::prelude::*;
use bevy::window::{ExitCondition, MonitorSelection, WindowMode, WindowResolution};
use bevy::winit::{EventLoopProxyWrapper, UpdateMode, WinitSettings, WinitUserEvent};

use crate::feed::{Feed, FeedOptions, Wake};
use crate::layout::Layout;
use crate::voice::announcer::Announcer;
use crate::voice::pack::Pack;

pub use audio::{Speaker, Voice};
pub use fleet::{IdentifyOverlay, ScreenId};
pub use layouts::{LayoutChoice, LayoutProblem};
pub use lean_passes::LEAN_PASSES_LOG;
pub use net::{Arrived, BoardState, FeedSource, HallChanged, Highlight, IdentifyWanted};
pub use wakeups::Wakeups;
pub use x_session::XSessionError;

/// Everything `papan display` needs.
pub struct DisplayOptions {
    pub feed: FeedOptions,
    pub layout: LayoutChoice,
    /// Windowed at this size instead of full screen.
    pub windowed: Option<(u32, u32)>,
    pub monitor: usize,
    /// Render, save a PNG here and exit.
    pub screenshot: Option<PathBuf>,
    /// How long to wait before the screenshot (for the board to arrive).
    pub screenshot_after: Duration,
    /// With the screenshot: draw only the texts, white on black and unclipped, and save their
    /// boxes beside it, so a test can see by pixels whether any text leaves its box.
    pub text_proof: bool,
    /// Speak calls with this clip pack (None: a silent screen).
    pub voice: Option<VoiceSetup>,
    /// Set by someone else (the demo) to a seq: the display closes once its board has reached
    /// it and everything is spoken (0: keep running).
    pub quit_at_seq: Option<Arc<AtomicU64>>,
    /// Folder of the pictures layouts and the hall file name.
    pub images: PathBuf,
    /// Log every frame here (for `papan bench display`).
    pub bench_log: Option<PathBuf>,
    /// How long to wait for the X display at start (a screen PC may start papan before X).
    pub wait_for_x: Duration,
}

pub struct VoiceSetup {
    pub pack: Pack,
    /// Also keep every announcement as a WAV here.
    pub wav_dir: Option<PathBuf>,
}

/// The order of the display's systems within a frame.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisplaySet {
    /// Take what the network thread delivered.
    Receive,
    /// Follow layout changes (the hub's or the local file's).
    Configure,
    /// Speak what arrived; decide what to highlight.
    Announce,
    /// Rebuild or update what is shown.
    Show,
    /// Screenshots after everything is in place.
    Capture,
}

/// The longest an idle kiosk goes without drawing a frame, should every wake-up be missed.
const SAFETY_FRAME_EVERY: Duration = Duration::from_secs(60);

/// The Vulkan adapter bevy will find, or what to do about there being none. bevy itself panics
/// deep in its renderer without one; a screen PC with a missing driver should say so plainly.
pub fn find_gpu() -> Result<String, String> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN,
        ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    });
    let adapters = bevy::tasks::block_on(instance.enumerate_adapters(wgpu::Backends::VULKAN));
    match adapters.first() {
        Some(adapter) => Ok(adapter.get_info().name),
        None => Err("no Vulkan GPU driver found: install the GPU vendor's Vulkan driver, or Mesa's \
            (`apt install mesa-vulkan-drivers libvulkan1`, which also brings lavapipe for PCs \
            without a GPU)"
            .into()),
    }
}

/// Runs the display until it is closed (or the screenshot is saved).
pub fn run(options: DisplayOptions) -> anyhow::Result<()> {
    let gpu = find_gpu().map_err(|e| anyhow::anyhow!(e))?;
    info!("rendering with {gpu}");
    let _x_session = x_session::wait_for_x_display(options.wait_for_x)?;
    let (layout, layout_problem) = options.layout.initial();
    let (width, height) = options.windowed.unwrap_or(match layout.orientation {
        crate::layout::Orientation::Landscape => (1920, 1080),
        crate::layout::Orientation::Portrait => (1080, 1920),
    });
    let kiosk = options.windowed.is_none() && options.screenshot.is_none();
    let window = Window {
        title: format!("papan — {}", layout.name),
        // Pixel-exact layouts: the OS scale factor must not resize the board.
        resolution: WindowResolution::new(width, height).with_scale_factor_override(1.0),
        // Never exclusive full screen: it panics when the monitor lookup fails (bevy#25477).
        mode: if kiosk {
            WindowMode::BorderlessFullscreen(MonitorSelection::Index(options.monitor))
        } else {
            WindowMode::Windowed
        },
        decorations: !kiosk,
        // A board that changes a few times a minute gains nothing from queuing frames ahead; one
        // swapchain image fewer (on lavapipe at 1920x1080: RSS 237 → 225 MiB).
        desired_maximum_frame_latency: std::num::NonZeroU32::new(1),
        ..default()
    };
    let update_mode = if options.screenshot.is_some() {
        UpdateMode::Continuous
    } else {
        // Draw only when woken: by data from the hub or the voice, or by [`Wakeups`] when something
        // shown is due to change (the clock's minute). The wait is a safety net; mouse moves do
        // not count.
        UpdateMode::reactive_low_power(SAFETY_FRAME_EVERY)
    };
    let background = if options.text_proof {
        (0, 0, 0)
    } else {
        crate::hall::parse_colour(&layout.background).unwrap_or((11, 31, 58))
    };
    let cursor = bevy::window::CursorOptions { visible: !kiosk, ..default() };
    let mut app = App::new();
    if kiosk {
        kiosk::plugin(&mut app, window.clone(), cursor.clone());
    }
    app.add_plugins(
        DefaultPlugins
            .build()
            // papan's own tracing subscriber is already installed.
            .disable::<bevy::log::LogPlugin>()
            .set(WindowPlugin {
                primary_window: Some(window),
                primary_cursor_options: Some(cursor),
                // A kiosk survives its monitor going away (bevy#24867) instead of exiting.
                exit_condition: if kiosk { ExitCondition::DontExit } else { ExitCondition::OnPrimaryClosed },
                ..default()
            }),
    )
    .insert_resource(WinitSettings { focused_mode: update_mode, unfocused_mode: update_mode })
    .insert_resource(ClearColor(Color::srgb_u8(background.0, background.1, background.2)));
    // The network thread wakes the reactive loop the moment an update arrives.
    let wake: Option<Wake> = app.world().get_resource::<EventLoopProxyWrapper>().map(|proxy| {
        let proxy = std::sync::Mutex::new((**proxy).clone());
        Arc::new(move || {
            if let Ok(proxy) = proxy.lock() {
                let _ = proxy.send_event(WinitUserEvent::WakeUp);
            }
        }) as Wake
    });
    let screen = ScreenId(options.feed.client.client.clone());
    let hub_url = options.feed.client.url.clone();
    let source = FeedSource::from_feed(Feed::start(options.feed, wake.clone()));
    let voice = options.voice.and_then(|setup| {
        let hall = crate::hall::Hall::builtin();
        let (events, rx) = audio::waking_channel(wake.clone());
        let announcer = Announcer::start(hall, setup.pack, events);
        let announcer = match setup.wav_dir {
            Some(dir) => announcer.keep_wavs_in(dir).map_err(|e| warn!("cannot keep WAVs: {e}")).ok()?,
            None => announcer,
        };
        Some(Voice::new(Box::new(announcer), rx))
    });
    add_board_features(&mut app, screen, source, voice, layout, options.images, wake.clone());
    if lean_passes::plugin(&mut app) {
        x_present::plugin(&mut app);
    }
    app.world_mut().resource_mut::<images::ImageStore>().hub_url = Some(hub_url);
    layouts::plugin(&mut app, options.layout, layout_problem, wake);
    status::plugin(&mut app);
    if let Some(quit) = options.quit_at_seq {
        app.insert_resource(QuitAt(quit)).add_systems(Last, quit_when_asked.before(wakeups::schedule_wakeup));
    }
    if let Some(path) = &options.bench_log {
        probe::plugin(&mut app, path).with_context(|| format!("creating {}", path.display()))?;
    }
    if let Some(path) = options.screenshot {
        if options.text_proof {
            app.insert_resource(view::TextProof::default());
        }
        screenshot::plugin(&mut app, path, options.screenshot_after);
    }
    app.run();
    Ok(())
}

/// What every display runs, windowed or in a test app: feed, voice, board view.
pub(crate) fn add_board_features(
    app: &mut App,
    screen: ScreenId,
    source: FeedSource,
    voice: Option<Voice>,
    layout: Layout,
    images: PathBuf,
    wake: Option<Wake>,
) {
    app.insert_resource(images::ImageStore::new(images)).insert_resource(screen);
    app.configure_sets(
        Update,
        (
            DisplaySet::Receive,
            DisplaySet::Configure,
            DisplaySet::Announce,
            DisplaySet::Show,
            DisplaySet::Capture,
        )
            .chain(),
    );
    net::plugin(app, source);
    audio::plugin(app, voice);
    view::plugin(app, layout);
    atlases::plugin(app);
    fleet::plugin(app);
    partial::plugin(app);
    wakeups::plugin(app, wake);
}

#[derive(Resource)]
struct QuitAt(Arc<AtomicU64>);

/// How often a display told to quit looks whether it may (the demo sets the seq from its thread).
const QUIT_CHECK_EVERY: Duration = Duration::from_millis(250);

/// Closes the app once asked to, the board has caught up and nothing is waiting to be spoken.
fn quit_when_asked(
    quit: Res<QuitAt>,
    state: Res<BoardState>,
    voice: Option<Res<Voice>>,
    mut exit: MessageWriter<AppExit>,
    mut wakeups: ResMut<Wakeups>,
) {
    wakeups.at(std::time::Instant::now() + QUIT_CHECK_EVERY);
    let target = quit.0.load(Ordering::Relaxed);
    let caught_up = state.board.as_ref().is_some_and(|b| b.seq >= target);
    if target > 0 && caught_up && voice.is_none_or(|v| v.unfinished() == 0) {
        exit.write(AppExit::Success);
    }
}
