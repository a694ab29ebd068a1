//! The display's end of the feed: drains what the network thread delivered into [`BoardState`]
//! and tells the other features what arrived.

use std::sync::{Arc, Mutex, mpsc};

use bevy::prelude::*;

use super::DisplaySet;
use crate::board::{Applied, Board};
use crate::feed::{Feed, FeedUpdate, Progress};
use crate::hall::Hall;
use crate::layout::Layouts;
use crate::protocol::{EventFrame, Seq, Status};

/// What the screen shows, as last received.
#[derive(Resource, Default)]
pub struct BoardState {
    pub board: Option<Board>,
    pub hall: Option<Hall>,
    /// Goes up with every change of the hall data (the board is redrawn).
    pub hall_version: u64,
    /// Layouts the hub serves by name.
    pub layouts: Layouts,
    pub online: bool,
    pub offline_reason: Option<String>,
    /// The service standards last fetched (the hall in a snapshot comes without them), given to
    /// every hall that arrives; `hall` carries them.
    pub standards: crate::hall::ServiceStandards,
    /// Whether a fetch of them has ended since the last board arrived (a screenshot waits for it).
    pub standards_settled: bool,
}

/// An event just applied to the board.
#[derive(Message, Debug, Clone)]
pub struct Arrived {
    pub frame: EventFrame,
    /// Caught up after an outage rather than happening now.
    pub replayed: bool,
}

/// Draw the eye to this call now (its announcement has started, or there is none).
#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Highlight {
    pub seq: Seq,
}

/// The hall data changed (new snapshot or edited hall file).
#[derive(Message, Debug, Clone, Copy)]
pub struct HallChanged;

/// The fleet page asks this screen to show its id.
#[derive(Message, Debug, Clone, Copy)]
pub struct IdentifyWanted {
    pub seconds: u32,
}

/// The fleet page asks for a screenshot.
#[derive(Message, Debug, Clone)]
pub struct ScreenshotWanted;

/// Where updates come from: the network thread, or a channel in tests.
#[derive(Resource)]
pub struct FeedSource {
    updates: Mutex<mpsc::Receiver<FeedUpdate>>,
    /// The network thread (runs as long as the app holds it).
    feed: Option<Mutex<Feed>>,
    /// The last status reported, for tests.
    last_report: Mutex<Option<Status>>,
    progress: Arc<Progress>,
}

impl FeedSource {
    pub fn from_feed(mut feed: Feed) -> FeedSource {
        let (_, empty) = mpsc::channel();
        let updates = std::mem::replace(&mut feed.updates, empty);
        FeedSource {
            updates: Mutex::new(updates),
            progress: feed.progress(),
            feed: Some(Mutex::new(feed)),
            last_report: Mutex::new(None),
        }
    }

    pub fn from_channel(updates: mpsc::Receiver<FeedUpdate>) -> FeedSource {
        FeedSource {
            updates: Mutex::new(updates),
            feed: None,
            last_report: Mutex::new(None),
            progress: Arc::default(),
        }
    }

    /// Where frames drawn are counted for the status reports.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// Sends the screen's status to the hub (nowhere in tests).
    pub fn report(&self, status: Status) {
        if let Some(Ok(feed)) = self.feed.as_ref().map(Mutex::lock) {
            feed.report(status.clone());
        }
        if let Ok(mut last) = self.last_report.lock() {
            *last = Some(status);
        }
    }

    /// Sends a PNG of the screen to the hub (nowhere in tests, which have no feed).
    pub fn upload_screenshot(&self, png: Vec<u8>) {
        if let Some(Ok(feed)) = self.feed.as_ref().map(Mutex::lock) {
            feed.upload_screenshot(png);
        }
    }

    /// The status most recently reported.
    pub fn last_report(&self) -> Option<Status> {
        self.last_report.lock().ok()?.clone()
    }
}

pub(super) fn plugin(app: &mut App, source: FeedSource) {
    app.insert_resource(source)
        .init_resource::<BoardState>()
        .add_message::<Arrived>()
        .add_message::<Highlight>()
        .add_message::<HallChanged>()
        .add_message::<IdentifyWanted>()
        .add_message::<ScreenshotWanted>()
        .add_systems(Update, receive_updates.in_set(DisplaySet::Receive));
}

/// Applies every update the network thread has delivered since the last frame.
fn receive_updates(
    source: Res<FeedSource>,
    mut state: ResMut<BoardState>,
    mut arrived: MessageWriter<Arrived>,
    mut hall_changed: MessageWriter<HallChanged>,
    (mut identify, mut screenshot): (MessageWriter<IdentifyWanted>, MessageWriter<ScreenshotWanted>),
) {
    let Ok(updates) = source.updates.lock() else { return };
    for update in updates.try_iter() {
        match update {
            FeedUpdate::Board { board, mut hall, layouts, from_cache } => {
                state.board = Some(*board);
                state.layouts = layouts;
                hall.fill_services(&state.standards);
                // A fresh snapshot is followed by a fetch of the standards.
                state.standards_settled = from_cache;
                if state.hall.as_ref() != Some(&*hall) {
                    state.hall = Some(*hall);
                    state.hall_version += 1;
                    hall_changed.write(HallChanged);
                }
            }
            FeedUpdate::Event { frame, replayed } => {
                let Some(board) = state.board.as_mut() else { continue };
                match board.apply(&frame) {
                    Applied::Changed => {
                        arrived.write(Arrived { frame, replayed });
                    }
                    Applied::AlreadyApplied => {}
                    // The feed resyncs before passing events on, so this would be a bug.
                    Applied::Gap { expected, got } => {
                        warn!("display board out of step: expected {expected}, got {got}")
                    }
                }
            }
            FeedUpdate::Services { standards } => {
                state.standards_settled = true;
                let Some(standards) = standards else { continue };
                let changed = state.hall.as_mut().is_some_and(|hall| hall.fill_services(&standards));
                state.standards = standards;
                if changed {
                    state.hall_version += 1;
                    hall_changed.write(HallChanged);
                }
            }
            FeedUpdate::Identify { seconds } => {
                identify.write(IdentifyWanted { seconds });
            }
            FeedUpdate::Screenshot => {
                screenshot.write(ScreenshotWanted);
            }
            FeedUpdate::Online => {
                state.online = true;
                state.offline_reason = None;
            }
            FeedUpdate::Offline { reason } => {
                state.online = false;
                state.offline_reason = Some(reason);
            }
        }
    }
}
