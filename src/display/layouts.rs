//! Which layout a screen shows: its own file (watched; a broken edit keeps the last good version
//! and is reported to the hub), or the hub's layout of that name, else the built-in one.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::Duration;

use bevy::prelude::*;

use super::DisplaySet;
use super::net::BoardState;
use super::view::ScreenLayout;
use crate::feed::Wake;
use crate::layout::Layout;

/// Where the layout comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum LayoutChoice {
    /// Served by the hub under this name (the built-in one until the hub has sent it).
    Named(String),
    /// A file on this screen, reloaded when it changes.
    File(PathBuf),
}

/// What `papan display --layout X` means: a built-in name or else a path.
impl From<&str> for LayoutChoice {
    fn from(value: &str) -> Self {
        if Layout::builtin(value).is_some() || !value.ends_with(".toml") {
            LayoutChoice::Named(value.to_string())
        } else {
            LayoutChoice::File(PathBuf::from(value))
        }
    }
}

const FALLBACK: &str = "hall-landscape";
const POLL_EVERY: Duration = Duration::from_millis(250);

impl LayoutChoice {
    /// The layout to start with, and the problem if the wanted one is unusable. Never fails:
    /// a screen that restarts with a broken file shows the built-in board rather than nothing.
    pub fn initial(&self) -> (Layout, Option<String>) {
        let fallback = || Layout::builtin(FALLBACK).expect("the fallback layout is built in");
        match self {
            LayoutChoice::Named(name) => match Layout::builtin(name) {
                Some(layout) => (layout, None),
                // Maybe one only the hub has; until it arrives, the default board.
                None => (fallback(), None),
            },
            LayoutChoice::File(path) => match Layout::load(path, None) {
                Ok(layout) => (layout, None),
                Err(e) => (fallback(), Some(e.to_string())),
            },
        }
    }
}

/// The layout problem this screen reports to the hub (and logs).
#[derive(Resource, Default, Debug, PartialEq)]
pub struct LayoutProblem(pub Option<String>);

#[derive(Resource)]
struct Choice(LayoutChoice);

/// Results of parsing the watched file after each change.
#[derive(Resource)]
struct FileUpdates {
    rx: Mutex<mpsc::Receiver<Result<Layout, String>>>,
    /// The watching thread stops once this is dropped.
    _alive: Arc<()>,
}

pub(super) fn plugin(app: &mut App, choice: LayoutChoice, problem: Option<String>, wake: Option<Wake>) {
    if let LayoutChoice::File(path) = &choice {
        let alive = Arc::new(());
        let rx = watch_file(path.clone(), Arc::downgrade(&alive), wake);
        app.insert_resource(FileUpdates { rx: Mutex::new(rx), _alive: alive });
    }
    if let Some(problem) = &problem {
        error!("{problem} — showing the built-in {FALLBACK} layout");
    }
    app.insert_resource(Choice(choice))
        .insert_resource(LayoutProblem(problem))
        .add_systems(Update, (follow_hub_layouts, apply_file_updates).chain().in_set(DisplaySet::Configure));
}

/// Reads the file every [`POLL_EVERY`] and sends each new version, parsed, waking the display.
fn watch_file(path: PathBuf, alive: Weak<()>, wake: Option<Wake>) -> mpsc::Receiver<Result<Layout, String>> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("papan-layout-watch".into()).spawn(move || {
        let mut last = std::fs::read(&path).ok();
        while alive.strong_count() > 0 {
            std::thread::sleep(POLL_EVERY);
            let now = std::fs::read(&path).ok();
            if now == last {
                continue;
            }
            last = now;
            if tx.send(parse(&path, last.as_deref())).is_err() {
                return;
            }
            if let Some(wake) = &wake {
                wake();
            }
        }
    });
    if let Err(e) = spawned {
        error!("cannot watch the layout file: {e}");
    }
    rx
}

fn parse(path: &Path, bytes: Option<&[u8]>) -> Result<Layout, String> {
    let label = path.display().to_string();
    let Some(bytes) = bytes else { return Err(format!("{label}: cannot read the layout file")) };
    Layout::parse(&label, &String::from_utf8_lossy(bytes), None).map_err(|e| e.to_string())
}

/// A named layout follows what the hub serves under that name.
fn follow_hub_layouts(choice: Res<Choice>, state: Res<BoardState>, mut layout: ResMut<ScreenLayout>) {
    let LayoutChoice::Named(name) = &choice.0 else { return };
    if !state.is_changed() {
        return;
    }
    if let Some(served) = state.layouts.get(name)
        && *served != layout.0
    {
        info!("the hub's layout {name} changed; showing it");
        layout.0 = served.clone();
    }
}

fn apply_file_updates(
    updates: Option<Res<FileUpdates>>,
    mut layout: ResMut<ScreenLayout>,
    mut problem: ResMut<LayoutProblem>,
) {
    let Some(updates) = updates else { return };
    let Ok(rx) = updates.rx.lock() else { return };
    for update in rx.try_iter() {
        match update {
            Ok(new) => {
                info!("layout file changed; showing it");
                layout.0 = new;
                if problem.0.is_some() {
                    problem.0 = None;
                }
            }
            Err(e) => {
                error!("{e} — the screen keeps its last good layout");
                problem.0 = Some(e);
            }
        }
    }
}
