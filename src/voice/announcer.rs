//! Hub events → spoken announcements: script, render and queue on the player, judging staleness
//! of caught-up events by when the hub recorded them. Shared by the display and the demo.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::pack::Pack;
use super::player::{AudioPlayer, PlayerEvent, PlayerOptions, Queued};
use super::render::{render, write_wav};
use super::script::{merge_key, required_tokens, script};
use crate::hall::Hall;
use crate::protocol::EventFrame;

/// What became of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Announced {
    /// On the player's queue; [`PlayerEvent::Started`] follows when it is heard.
    Queued,
    /// The event says nothing (a ticker, a clear) or the pack has none of its clips.
    Silent,
    /// Caught up after an outage and too old to send anyone to a counter now.
    Stale { age: Duration },
}

pub struct Announcer {
    hall: Hall,
    pack: Pack,
    player: AudioPlayer,
    /// Every announcement is also written here as a WAV (the demo keeps them to listen to).
    wav_dir: Option<PathBuf>,
}

impl PlayerOptions {
    /// The hall's `[voice]` limits at the pack's sample rate.
    pub fn for_hall(hall: &Hall, rate: u32) -> PlayerOptions {
        let voice = &hall.voice;
        PlayerOptions {
            rate,
            merge_window: Duration::from_secs(voice.merge_window_s.into()),
            stale_after: Duration::from_secs(voice.stale_after_s.into()),
            between: Duration::from_millis(voice.between_ms.into()),
            ..PlayerOptions::default()
        }
    }
}

impl Announcer {
    /// Starts the player thread; it reports on `events`.
    pub fn start(hall: Hall, pack: Pack, events: mpsc::Sender<PlayerEvent>) -> Announcer {
        let player = AudioPlayer::spawn(PlayerOptions::for_hall(&hall, pack.rate()), events);
        Announcer { hall, pack, player, wav_dir: None }
    }

    pub fn keep_wavs_in(mut self, dir: PathBuf) -> std::io::Result<Announcer> {
        std::fs::create_dir_all(&dir)?;
        self.wav_dir = Some(dir);
        Ok(self)
    }

    pub fn pack(&self) -> &Pack {
        &self.pack
    }

    /// What the voice pack lacks for this hall's announcements, in one line for the fleet page
    /// (None: every clip is there and decodes).
    pub fn pack_problem(&self) -> Option<String> {
        let report = self.pack.check(&required_tokens(&self.hall));
        if report.is_ok() {
            return None;
        }
        let unusable: Vec<String> = (report.missing.iter().map(|t| format!("{t} (not in pack.toml)")))
            .chain(report.broken.iter().map(|(t, reason)| format!("{t} ({reason})")))
            .collect();
        let shown = unusable.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
        let more =
            if unusable.len() > 3 { format!("; and {} more", unusable.len() - 3) } else { String::new() };
        Some(format!(
            "voice pack {}: {} clip(s) the hall needs cannot be used, those words are left out: {shown}{more}",
            self.pack.dir.display(),
            unusable.len()
        ))
    }

    /// Loads the pack from its folder again (after a clip was put back); keeps the old one if the
    /// folder cannot be read or its sample rate changed.
    pub fn reload_pack(&mut self) {
        match Pack::load(&self.pack.dir) {
            Ok(pack) if pack.rate() == self.pack.rate() => self.pack = pack,
            Ok(_) => tracing::warn!("the voice pack's sample rate changed; restart the screen to use it"),
            Err(e) => tracing::warn!("cannot reload the voice pack: {e}"),
        }
    }

    /// Templates and player limits follow the hall file when it changes.
    pub fn set_hall(&mut self, hall: Hall) {
        if hall.voice != self.hall.voice {
            self.player.set_options(PlayerOptions::for_hall(&hall, self.pack.rate()));
        }
        self.hall = hall;
    }

    /// Speaks `frame` unless it is silent or, when `replayed`, older than the hall's limit.
    pub fn announce(&self, frame: &EventFrame, replayed: bool) -> Announced {
        let (Some(tokens), Some(key)) = (script(&self.hall, &frame.event), merge_key(&frame.event)) else {
            return Announced::Silent;
        };
        // Live events count from now, whatever the two clocks say; caught-up ones by the hub's
        // timestamp (a display clock that is off only matters for those).
        let age = if replayed {
            let since = jiff::Timestamp::now().duration_since(frame.at);
            Duration::try_from(since).unwrap_or_default()
        } else {
            Duration::ZERO
        };
        if age > Duration::from_secs(self.hall.voice.stale_after_s.into()) {
            tracing::info!(seq = frame.seq, ?age, "caught-up call too old to announce");
            return Announced::Stale { age };
        }
        let rendered = render(&tokens, &self.pack, self.hall.voice.gap_ms, self.hall.voice.repeat_gap_ms);
        if !rendered.skipped.is_empty() {
            tracing::warn!(seq = frame.seq, skipped = ?rendered.skipped, "clips missing from the voice pack");
        }
        if rendered.samples.is_empty() {
            return Announced::Silent;
        }
        if let Some(dir) = &self.wav_dir {
            let wav = dir.join(format!("{:05}-{}.wav", frame.seq, frame.event.kind()));
            if let Err(e) = write_wav(&wav, &rendered) {
                tracing::warn!("writing {}: {e}", wav.display());
            }
        }
        let queued_at = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        self.player.enqueue(Queued { seq: frame.seq, key, samples: rendered.samples.into(), queued_at });
        Announced::Queued
    }

    /// Lets what is queued finish speaking, then stops the player.
    pub fn finish(self) {
        self.player.finish();
    }
}
