//! The display's announcer: speaks arriving calls through the player thread and highlights each
//! call on screen when its announcement is actually heard (or at once when nothing will be heard).

use std::collections::HashSet;
use std::sync::{Mutex, mpsc};

use bevy::prelude::*;

use super::DisplaySet;
use super::net::{Arrived, BoardState, HallChanged, Highlight};
use super::wakeups::Wakeups;
use crate::feed::Wake;
use crate::hall::Hall;
use crate::protocol::{EventFrame, Seq};
use crate::voice::announcer::{Announced, Announcer};
use crate::voice::player::PlayerEvent;

/// What speaks: the real announcer, or a stand-in in tests.
pub trait Speaker: Send + Sync + 'static {
    fn announce(&self, frame: &EventFrame, replayed: bool) -> Announced;
    fn set_hall(&mut self, hall: Hall);
    /// What stops announcements from being whole (clips missing from the pack), if anything.
    fn problem(&self) -> Option<String> {
        None
    }
    /// Looks at the clips again (called while there is a problem, so a fix is picked up).
    fn reload(&mut self) {}
}

impl Speaker for Announcer {
    fn announce(&self, frame: &EventFrame, replayed: bool) -> Announced {
        Announcer::announce(self, frame, replayed)
    }

    fn set_hall(&mut self, hall: Hall) {
        Announcer::set_hall(self, hall)
    }

    fn problem(&self) -> Option<String> {
        self.pack_problem()
    }

    fn reload(&mut self) {
        self.reload_pack()
    }
}

/// The speaker and what its player thread reports.
#[derive(Resource)]
pub struct Voice {
    speaker: Box<dyn Speaker>,
    events: Mutex<mpsc::Receiver<PlayerEvent>>,
    /// Queued announcements not yet started, merged or dropped.
    pending: HashSet<Seq>,
    /// Queued announcements not yet finished (or merged, dropped).
    unfinished: HashSet<Seq>,
    /// False while the player has no audio device: calls are highlighted at once, not when heard.
    device_ready: bool,
    /// What the speaker last said is wrong with its clips (reported to the fleet page).
    problem: Option<String>,
    /// When the clips were last looked at again because of `problem`.
    rechecked: std::time::Instant,
}

impl Voice {
    pub fn new(speaker: Box<dyn Speaker>, events: mpsc::Receiver<PlayerEvent>) -> Voice {
        let mut voice = Voice {
            speaker,
            events: Mutex::new(events),
            pending: HashSet::new(),
            unfinished: HashSet::new(),
            device_ready: true,
            problem: None,
            rechecked: std::time::Instant::now(),
        };
        voice.note_problem();
        voice
    }

    /// What is wrong with the voice's clips, if anything (for the status report).
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Asks the speaker again and logs a change.
    fn note_problem(&mut self) {
        let now = self.speaker.problem();
        if now != self.problem {
            match &now {
                Some(problem) => warn!("{problem}"),
                None => info!("the voice pack has every clip the hall needs again"),
            }
            self.problem = now;
        }
    }

    /// The audio output as the status report names it.
    pub fn audio(&self) -> &'static str {
        if self.device_ready { "ok" } else { "no device" }
    }

    /// Announcements still to be heard to their end (the demo waits for them before quitting).
    pub fn unfinished(&self) -> usize {
        self.unfinished.len()
    }
}

/// A channel for the player's reports that wakes the reactive loop with each one: a call is
/// highlighted the moment its announcement is heard, not at the next frame drawn for another
/// reason. The player's start report comes from the audio callback, which must not wait on the
/// window system, so a small thread relays it.
pub(super) fn waking_channel(wake: Option<Wake>) -> (mpsc::Sender<PlayerEvent>, mpsc::Receiver<PlayerEvent>) {
    let (to_app, app_side) = mpsc::channel();
    let Some(wake) = wake else { return (to_app, app_side) };
    let (player_side, from_player) = mpsc::channel::<PlayerEvent>();
    let relay = std::thread::Builder::new().name("papan-voice-events".into()).spawn(move || {
        // Ends when the player is gone or the app stopped listening.
        for event in from_player {
            if to_app.send(event).is_err() {
                return;
            }
            wake();
        }
    });
    match relay {
        Ok(_) => (player_side, app_side),
        Err(e) => {
            warn!("cannot start the voice event relay ({e}); highlights may come a frame late");
            // The relay took the first channel's sender with it: the player talks to the app directly.
            mpsc::channel()
        }
    }
}

pub(super) fn plugin(app: &mut App, voice: Option<Voice>) {
    match voice {
        Some(voice) => {
            app.insert_resource(voice).add_systems(
                Update,
                (follow_hall, recheck_clips, announce_arrivals, relay_player_events)
                    .chain()
                    .in_set(DisplaySet::Announce),
            );
        }
        None => {
            app.add_systems(Update, highlight_arrivals.in_set(DisplaySet::Announce));
        }
    }
}

fn is_call(frame: &EventFrame) -> bool {
    matches!(frame.event, crate::protocol::Event::Call(_) | crate::protocol::Event::Recall(_))
}

/// Without a voice, live calls are highlighted as they arrive.
fn highlight_arrivals(mut arrived: MessageReader<Arrived>, mut highlight: MessageWriter<Highlight>) {
    for Arrived { frame, replayed } in arrived.read() {
        if is_call(frame) && !replayed {
            highlight.write(Highlight { seq: frame.seq });
        }
    }
}

fn follow_hall(mut changed: MessageReader<HallChanged>, state: Res<BoardState>, mut voice: ResMut<Voice>) {
    if changed.read().last().is_some()
        && let Some(hall) = &state.hall
    {
        voice.speaker.set_hall(hall.clone());
        voice.note_problem();
    }
}

/// How often clips are looked at again while some are missing (so putting a clip back is enough).
pub const RECHECK_CLIPS: std::time::Duration = std::time::Duration::from_secs(10);

fn recheck_clips(mut voice: ResMut<Voice>, mut wakeups: ResMut<Wakeups>) {
    if voice.problem.is_none() {
        return;
    }
    if voice.rechecked.elapsed() >= RECHECK_CLIPS {
        voice.rechecked = std::time::Instant::now();
        voice.speaker.reload();
        voice.note_problem();
    }
    wakeups.at(voice.rechecked + RECHECK_CLIPS);
}

fn announce_arrivals(
    mut arrived: MessageReader<Arrived>,
    mut voice: ResMut<Voice>,
    mut highlight: MessageWriter<Highlight>,
) {
    for Arrived { frame, replayed } in arrived.read() {
        let outcome = voice.speaker.announce(frame, *replayed);
        if outcome == Announced::Queued && voice.device_ready {
            voice.unfinished.insert(frame.seq);
        }
        if !is_call(frame) {
            continue;
        }
        match outcome {
            Announced::Queued if voice.device_ready => {
                voice.pending.insert(frame.seq);
            }
            // Nothing will be heard (no device, no clips): the screen must not wait for it.
            Announced::Queued | Announced::Silent if !replayed => {
                highlight.write(Highlight { seq: frame.seq });
            }
            _ => {}
        }
    }
}

fn relay_player_events(mut voice: ResMut<Voice>, mut highlight: MessageWriter<Highlight>) {
    let events: Vec<PlayerEvent> = match voice.events.lock() {
        Ok(rx) => rx.try_iter().collect(),
        Err(_) => return,
    };
    for event in events {
        match event {
            PlayerEvent::Started { seq, .. } => {
                if voice.pending.remove(&seq) {
                    highlight.write(Highlight { seq });
                }
            }
            PlayerEvent::Merged { seq, .. } => {
                voice.unfinished.remove(&seq);
                if voice.pending.remove(&seq) {
                    highlight.write(Highlight { seq });
                }
            }
            PlayerEvent::Dropped { seq, .. } => {
                voice.pending.remove(&seq);
                voice.unfinished.remove(&seq);
            }
            PlayerEvent::Finished { seq } => {
                voice.unfinished.remove(&seq);
            }
            PlayerEvent::DeviceReady => voice.device_ready = true,
            PlayerEvent::DeviceUnavailable(_) => {
                voice.device_ready = false;
                voice.unfinished.clear();
                // What waits for the device is shown now; it is spoken when the device returns.
                for seq in std::mem::take(&mut voice.pending) {
                    highlight.write(Highlight { seq });
                }
            }
        }
    }
}
