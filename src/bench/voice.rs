//! `papan bench voice`: event → script → rendered clip → first sample pulled by the audio device.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::harness::print_row;
use crate::hall::Hall;
use crate::protocol::{Seq, Ticket};

#[derive(Args)]
pub struct VoiceArgs {
    #[arg(long, default_value_t = 50)]
    calls: usize,
    #[arg(long, default_value = crate::voice::pack::DEFAULT_PACK_DIR)]
    pack: PathBuf,
}

/// Each call: the event is scripted and rendered, queued on the real player, and timed until its
/// first sample is pulled by the device; the next call waits until the previous has finished.
pub(super) fn run(args: VoiceArgs) -> anyhow::Result<()> {
    use crate::protocol::{Call, Event};
    use crate::voice::pack::Pack;
    use crate::voice::player::{AudioPlayer, PlayerEvent, PlayerOptions, Queued};

    let hall = Hall::builtin();
    let packs = crate::voice::pack::Packs::new(Pack::load(&args.pack)?, hall.languages_spoken());
    let (events, rx) = std::sync::mpsc::channel();
    let player = AudioPlayer::spawn(
        PlayerOptions { rate: packs.rate(), between: Duration::ZERO, ..PlayerOptions::default() },
        events,
    );
    let wait = |want: &dyn Fn(&PlayerEvent) -> bool| -> anyhow::Result<PlayerEvent> {
        loop {
            match rx.recv_timeout(Duration::from_secs(30))? {
                PlayerEvent::DeviceUnavailable(problem) => anyhow::bail!("no audio device: {problem}"),
                event if want(&event) => return Ok(event),
                _ => {}
            }
        }
    };
    // Opening the device (~100 ms) happens once at start, not per call: time calls after it.
    wait(&|e| *e == PlayerEvent::DeviceReady)?;
    let (mut render_ms, mut first_sample_ms) = (Vec::new(), Vec::new());
    for i in 0..args.calls {
        let agency = &hall.agencies[i % hall.agencies.len()];
        let ticket = Ticket::new(&agency.letters[0], (i % 999 + 1) as u16)?;
        let event = Event::Call(Call {
            ticket,
            counter: agency.counters[0],
            agency: agency.id.clone(),
            service: None,
            priority: None,
        });
        let received = Instant::now();
        let parts = crate::voice::script::script(&hall, &event).context("calls are spoken")?;
        let rendered =
            crate::voice::render::render(&parts, &packs, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
        render_ms.push(received.elapsed().as_secs_f64() * 1e3);
        let seq = i as Seq + 1;
        player.enqueue(Queued {
            seq,
            key: format!("bench {i}"),
            samples: rendered.samples.into(),
            queued_at: received,
        });
        if let PlayerEvent::Started { at, .. } =
            wait(&|e| matches!(e, PlayerEvent::Started { seq: s, .. } if *s == seq))?
        {
            first_sample_ms.push(at.saturating_duration_since(received).as_secs_f64() * 1e3);
        }
        wait(&|e| *e == PlayerEvent::Finished { seq })?;
    }
    player.finish();
    println!("papan bench voice — {} calls through rodio → cpal → the default ALSA device", args.calls);
    println!("  {:<34} {:>8} {:>8} {:>8}", "latency (ms)", "p50", "p99", "max");
    print_row("event → rendered samples", &mut render_ms);
    print_row("event → first sample to device", &mut first_sample_ms);
    Ok(())
}
