//! The display's end of the feed: drains what the network thread delivered into [`BoardState`].

use std::sync::Mutex;

use bevy::prelude::*;

use super::DisplaySet;
use crate::board::{Applied, Board};
use crate::feed::{Feed, FeedOptions, FeedUpdate};
use crate::hall::Hall;
use crate::protocol::{Event, Seq};

/// What the screen shows, as last received.
#[derive(Resource, Default)]
pub struct BoardState {
    pub board: Option<Board>,
    pub hall: Option<Hall>,
    pub online: bool,
    pub offline_reason: Option<String>,
    /// The newest call, for the highlight.
    pub newest_call: Option<Seq>,
}

#[derive(Resource)]
struct FeedLink(Mutex<Feed>);

pub(super) fn plugin(app: &mut App, options: FeedOptions) {
    app.insert_resource(FeedLink(Mutex::new(Feed::start(options, None))))
        .init_resource::<BoardState>()
        .add_systems(Update, receive_updates.in_set(DisplaySet::Receive));
}

/// Applies every update the network thread has delivered since the last frame.
fn receive_updates(link: Res<FeedLink>, mut state: ResMut<BoardState>) {
    let Ok(feed) = link.0.lock() else { return };
    for update in feed.updates.try_iter() {
        match update {
            FeedUpdate::Board { board, hall, .. } => {
                state.board = Some(*board);
                state.hall = Some(*hall);
            }
            FeedUpdate::Event(frame) => {
                if matches!(frame.event, Event::Call(_) | Event::Recall(_)) {
                    state.newest_call = Some(frame.seq);
                }
                if let Some(board) = state.board.as_mut()
                    && let Applied::Gap { expected, got } = board.apply(&frame)
                {
                    // The feed resyncs before passing events on, so this would be a bug.
                    warn!("display board out of step: expected {expected}, got {got}");
                }
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
