//! `papan voice say | check`: render an announcement to WAV; list what a clip pack lacks.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::hall::Hall;
use crate::protocol::{Call, Event};
use crate::voice::pack::{DEFAULT_PACK_DIR, Pack};
use crate::voice::render::{render, write_wav};
use crate::voice::script::{required_tokens, script};

#[derive(Subcommand)]
pub enum VoiceCmd {
    /// Render the announcement of a call to a WAV file (no audio device needed).
    Say(SayArgs),
    /// List every clip the hall's announcements need that the pack lacks or cannot decode.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct SayArgs {
    #[command(flatten)]
    target: super::CallTarget,
    /// Say it as a recall ("panggilan ulang").
    #[arg(long)]
    recall: bool,
    /// Write the announcement to this WAV file.
    #[arg(long, required_unless_present = "play")]
    out: Option<PathBuf>,
    /// Play it on the default audio device.
    #[arg(long)]
    play: bool,
    #[command(flatten)]
    files: VoiceFiles,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Pack folder (with pack.toml).
    #[arg(default_value = DEFAULT_PACK_DIR)]
    pack: PathBuf,
    /// Hall file whose templates, letters, agencies and phrases must be covered.
    #[arg(long)]
    hall: Option<PathBuf>,
}

#[derive(Args)]
struct VoiceFiles {
    #[arg(long, default_value = DEFAULT_PACK_DIR)]
    pack: PathBuf,
    #[arg(long)]
    hall: Option<PathBuf>,
}

fn load_hall(path: &Option<PathBuf>) -> anyhow::Result<Hall> {
    Ok(match path {
        Some(path) => Hall::load(path)?,
        None => Hall::builtin(),
    })
}

pub(super) fn run(cmd: VoiceCmd) -> anyhow::Result<()> {
    match cmd {
        VoiceCmd::Say(args) => say(args),
        VoiceCmd::Check(args) => check(args),
    }
}

fn say(args: SayArgs) -> anyhow::Result<()> {
    let hall = load_hall(&args.files.hall)?;
    let super::CallTarget { ticket, counter, agency } = args.target;
    let agency = hall.resolve_counter(counter, agency.as_deref())?;
    hall.check_ticket(agency, &ticket)?;
    let call = Call { ticket, counter, agency: agency.id.clone(), service: None, priority: None };
    let event = if args.recall { Event::Recall(call) } else { Event::Call(call) };
    let tokens = script(&hall, &event).context("calls are always spoken")?;
    let pack = Pack::load(&args.files.pack)?;
    let rendered = render(&tokens, &pack, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
    for token in &rendered.skipped {
        eprintln!("warning: the pack has no usable clip {token:?}; skipped");
    }
    if rendered.samples.is_empty() {
        bail!("nothing to say: the pack {} has none of the clips {tokens:?}", args.files.pack.display());
    }
    let seconds = rendered.duration_ms() / 1000.0;
    if let Some(out) = &args.out {
        write_wav(out, &rendered).with_context(|| format!("writing {}", out.display()))?;
        println!("{} ({seconds:.2} s): {}", out.display(), tokens.join(" "));
    }
    if args.play {
        play(rendered.samples, pack.rate(), seconds)?;
        println!("played ({seconds:.2} s): {}", tokens.join(" "));
    }
    Ok(())
}

/// Plays one announcement through the real player and waits until it has finished.
#[cfg(feature = "display")]
fn play(samples: Vec<i16>, rate: u32, seconds: f64) -> anyhow::Result<()> {
    use std::time::{Duration, Instant};

    use crate::voice::player::{AudioPlayer, PlayerEvent, PlayerOptions, Queued};

    let (events, rx) = std::sync::mpsc::channel();
    let player = AudioPlayer::spawn(PlayerOptions { rate, ..PlayerOptions::default() }, events);
    player.enqueue(Queued { seq: 0, key: "say".into(), samples: samples.into(), queued_at: Instant::now() });
    let deadline = Instant::now() + Duration::from_secs_f64(seconds + 10.0);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(PlayerEvent::Finished { .. }) => break,
            Ok(PlayerEvent::DeviceUnavailable(problem)) => bail!("cannot play: {problem}"),
            Ok(_) => {}
            Err(_) => bail!("playback did not finish within {:.0} s", seconds + 10.0),
        }
    }
    player.finish();
    Ok(())
}

/// A papan built for a server plays nothing; the WAV is the way to listen.
#[cfg(not(feature = "display"))]
fn play(_samples: Vec<i16>, _rate: u32, _seconds: f64) -> anyhow::Result<()> {
    bail!(
        "this papan was built without audio playback (cargo feature `display`); \
         write the announcement to a file with --out FILE.wav instead of --play"
    )
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let hall = load_hall(&args.hall)?;
    let pack = Pack::load(&args.pack)?;
    let needed = required_tokens(&hall);
    let report = pack.check(&needed);
    for token in &report.missing {
        println!("missing: {token}");
    }
    for (token, reason) in &report.broken {
        println!("broken:  {token}: {reason}");
    }
    if !report.is_ok() {
        bail!(
            "pack {} lacks {} and cannot decode {} of the {} clips {} needs",
            args.pack.display(),
            report.missing.len(),
            report.broken.len(),
            needed.len(),
            hall.short_name
        );
    }
    println!(
        "pack {} ({}) has all {} clips {} needs",
        args.pack.display(),
        pack.manifest.name,
        needed.len(),
        hall.short_name
    );
    Ok(())
}
