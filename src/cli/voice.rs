//! `papan voice say | check | script | pack build`: render an announcement to WAV; list what a
//! clip pack lacks and how even it is; what a hall must record; a pack from its recordings.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::hall::Hall;
use crate::protocol::{Call, Event};
use crate::voice::master::DEFAULT_LOUDNESS_LUFS;
use crate::voice::pack::{DEFAULT_PACK_DIR, MAX_NUMBER_SPREAD_LU, MAX_WORD_MS, Pack};
use crate::voice::pack_build::{BuildOptions, build_pack};
use crate::voice::recording_script::{RECORDING_SETTINGS, recording_script};
use crate::voice::render::{render, write_wav};
use crate::voice::script::{required_tokens, script};

#[derive(Subcommand)]
pub enum VoiceCmd {
    /// Render the announcement of a call to a WAV file (no audio device needed).
    Say(SayArgs),
    /// List every clip the hall's announcements need that the pack lacks or cannot decode, and
    /// warn of uneven loudness, clipping and over-long words.
    Check(CheckArgs),
    /// What to record for the hall's own voice: every clip with its words, a hint and the settings.
    Script(ScriptArgs),
    /// Voice packs made from recordings.
    #[command(subcommand)]
    Pack(PackCmd),
}

#[derive(Subcommand)]
pub enum PackCmd {
    /// Build a pack from a folder of recordings (WAV, FLAC, MP3, Ogg; file name = clip name):
    /// resampled, silence trimmed, loudness-matched, faded; writes the WAVs and pack.toml.
    Build(BuildArgs),
}

#[derive(Args)]
pub struct ScriptArgs {
    /// Hall file whose templates, letters, agencies and phrases are to be recorded.
    #[arg(long)]
    hall: Option<PathBuf>,
    /// One line per clip, `token<TAB>words`, for scripts (scripts/make-voice-pack reads it).
    #[arg(long)]
    tsv: bool,
}

#[derive(Args)]
pub struct BuildArgs {
    /// Folder of recordings, one per clip, named by the clip (seratus.flac, nomor_antrean.wav).
    raw_dir: PathBuf,
    /// Folder to write the pack to (created if missing; must not be RAW_DIR).
    out_dir: PathBuf,
    /// Sample rate of the pack (Hz).
    #[arg(long, default_value_t = 48_000)]
    rate: u32,
    /// Loudness every clip is matched to (LUFS, ITU-R BS.1770).
    #[arg(long, default_value_t = DEFAULT_LOUDNESS_LUFS, allow_negative_numbers = true)]
    loudness: f64,
    /// The pack's name, as `papan voice check` shows it.
    #[arg(long)]
    name: Option<String>,
    /// Hall file whose announcements the pack must cover.
    #[arg(long)]
    hall: Option<PathBuf>,
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
        VoiceCmd::Script(args) => print_script(args),
        VoiceCmd::Pack(PackCmd::Build(args)) => build(args),
    }
}

fn print_script(args: ScriptArgs) -> anyhow::Result<()> {
    let hall = load_hall(&args.hall)?;
    let script = recording_script(&hall);
    if args.tsv {
        for line in &script {
            println!("{}\t{}", line.token, line.words);
        }
        return Ok(());
    }
    println!("Naskah rekaman suara — {} ({} klip)\n", hall.name, script.len());
    println!("{RECORDING_SETTINGS}\n");
    let width = script.iter().map(|l| l.token.len()).max().unwrap_or(0);
    for (i, line) in script.iter().enumerate() {
        println!("{:>3}. {:<width$}  \"{}\"  — {}", i + 1, line.token, line.words, line.hint);
    }
    Ok(())
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let hall = load_hall(&args.hall)?;
    let needed = required_tokens(&hall);
    let name = args.name.unwrap_or_else(|| format!("Rekaman {}", args.raw_dir.display()));
    let options = BuildOptions { rate: args.rate, loudness_lufs: args.loudness, name };
    let report = build_pack(&args.raw_dir, &args.out_dir, &needed, &options)?;
    println!(
        "{:<20} {:>8} {:>10} {:>10} {:>9} {:>12}",
        "clip", "ms", "LUFS in", "LUFS out", "peak dB", "trimmed ms"
    );
    for clip in &report.clips {
        let m = &clip.mastered;
        println!(
            "{:<20} {:>8.0} {:>10.1} {:>10.1} {:>9.1} {:>5} + {:<4}{}",
            clip.token,
            clip.duration_ms(),
            m.loudness_before,
            m.loudness_after,
            m.peak_after_dbfs,
            m.trimmed_ms.0,
            m.trimmed_ms.1,
            match (&clip.source, m.peak_limited) {
                (None, _) => "  (made: two-tone chime)",
                (_, true) => "  (held back by the peak ceiling)",
                _ => "",
            }
        );
    }
    for path in &report.unknown {
        println!(
            "unknown: {} is no clip {} needs (a typo? see papan voice script)",
            path.display(),
            hall.short_name
        );
    }
    for path in &report.ignored {
        println!("ignored: {} is not a recording (WAV, FLAC, MP3, Ogg)", path.display());
    }
    for (token, paths) in &report.ambiguous {
        let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        println!("ambiguous: {token} was recorded {} times ({}); keep one", paths.len(), names.join(", "));
    }
    for (token, reason) in &report.failed {
        println!("failed: {token}: {reason}");
    }
    for token in &report.missing {
        println!("missing: {token}");
    }
    let out = args.out_dir.display();
    if !report.is_complete() {
        bail!(
            "wrote {} clips and pack.toml to {out}, but {} of the {} clips {} needs are not there; \
             record them (papan voice script) and build again",
            report.clips.len(),
            report.missing.len() + report.ambiguous.len() + report.failed.len(),
            needed.len(),
            hall.short_name
        );
    }
    println!("wrote {} clips at {} LUFS and pack.toml to {out}", report.clips.len(), args.loudness);
    Ok(())
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
    let levels = pack.levels();
    if let Some(spread) = &levels.number_spread {
        let (quiet, quiet_lufs) = &spread.quietest;
        let (loud, loud_lufs) = &spread.loudest;
        let line = format!(
            "number words: {:.1} LU from the quietest ({quiet}, {quiet_lufs:.1} LUFS) to the loudest ({loud}, {loud_lufs:.1} LUFS)",
            spread.lu
        );
        if spread.lu > MAX_NUMBER_SPREAD_LU {
            println!(
                "warning: {line}: more than {MAX_NUMBER_SPREAD_LU} LU, so numbers sound uneven; \
                 rebuild the pack with papan voice pack build"
            );
        } else {
            println!("{line}");
        }
    }
    for token in &levels.clipping {
        println!("warning: {token} clips (its peak is at 0 dBFS); record it again, quieter");
    }
    for token in &levels.too_long {
        let ms = levels.levels[token].duration_ms;
        println!(
            "warning: {token} lasts {ms:.0} ms, more than a word's {MAX_WORD_MS:.0} ms: silence or a breath left in?"
        );
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
