//! Hub events → spoken announcements: script, render and queue on the player, judging staleness
//! of caught-up events by when the hub recorded them. Shared by the display and the demo.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::pack::{Pack, Packs};
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
    packs: Packs,
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
    /// Starts the player thread; it reports on `events`. `pack` is the Indonesian pack; the
    /// packs of the hall's other languages are read from beside it.
    pub fn start(hall: Hall, pack: Pack, events: mpsc::Sender<PlayerEvent>) -> Announcer {
        let packs = Packs::new(pack, hall.languages_spoken());
        let player = AudioPlayer::spawn(PlayerOptions::for_hall(&hall, packs.rate()), events);
        Announcer { hall, packs, player, wav_dir: None }
    }

    pub fn keep_wavs_in(mut self, dir: PathBuf) -> std::io::Result<Announcer> {
        std::fs::create_dir_all(&dir)?;
        self.wav_dir = Some(dir);
        Ok(self)
    }

    /// What the voice packs lack for this hall's announcements, in one line for the fleet page
    /// (None: every clip of every language the hall speaks is there and decodes).
    pub fn pack_problem(&self) -> Option<String> {
        let mut unusable = Vec::new();
        let mut count = 0;
        let mut dirs = Vec::new();
        for language in self.hall.languages_spoken() {
            let needed = required_tokens(&self.hall, language);
            let Some(pack) = self.packs.get(language) else {
                let reason = self.packs.unusable(language).unwrap_or("not loaded");
                unusable.push(format!("all {} {language} clips ({reason})", needed.len()));
                count += needed.len();
                dirs.push(self.packs.dir(language).display().to_string());
                continue;
            };
            let report = pack.check(&needed);
            if report.is_ok() {
                continue;
            }
            dirs.push(pack.dir.display().to_string());
            count += report.missing.len() + report.broken.len();
            unusable.extend(report.missing.iter().map(|t| format!("{t} (not in pack.toml)")));
            unusable.extend(report.broken.iter().map(|(t, reason)| format!("{t} ({reason})")));
        }
        if unusable.is_empty() {
            return None;
        }
        let shown = unusable.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
        let more =
            if unusable.len() > 3 { format!("; and {} more", unusable.len() - 3) } else { String::new() };
        Some(format!(
            "voice pack {}: {count} clip(s) the hall needs cannot be used, those words are left out: {shown}{more}",
            dirs.join(", ")
        ))
    }

    /// Loads the packs from their folders again (after a clip was put back); keeps the old one if
    /// a folder cannot be read or its sample rate changed.
    pub fn reload_pack(&mut self) {
        self.packs.reload();
    }

    /// Templates and player limits follow the hall file when it changes.
    pub fn set_hall(&mut self, hall: Hall) {
        if hall.voice != self.hall.voice {
            self.player.set_options(PlayerOptions::for_hall(&hall, self.packs.rate()));
        }
        self.packs.load_missing(hall.languages_spoken());
        self.hall = hall;
    }

    /// Speaks `frame` unless it is silent or, when `replayed`, older than the hall's limit.
    pub fn announce(&self, frame: &EventFrame, replayed: bool) -> Announced {
        let (Some(parts), Some(key)) = (script(&self.hall, &frame.event), merge_key(&frame.event)) else {
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
        let rendered = render(&parts, &self.packs, self.hall.voice.gap_ms, self.hall.voice.repeat_gap_ms);
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
