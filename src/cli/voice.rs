//! `papan voice say | check | script | pack build`: render an announcement to WAV; list what a
//! clip pack lacks and how even it is; what a hall must record; a pack from its recordings.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::hall::{Hall, Language};
use crate::protocol::{Call, Event};
use crate::voice::master::DEFAULT_LOUDNESS_LUFS;
use crate::voice::pack::{DEFAULT_PACK_DIR, MAX_NUMBER_SPREAD_LU, MAX_WORD_MS, Pack, Packs, pack_dir_beside};
use crate::voice::pack_build::{BuildOptions, build_pack};
use crate::voice::recording_script::{recording_script, recording_settings};
use crate::voice::render::{render, write_wav};
use crate::voice::script::{Said, required_tokens, script};

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
    /// The language of the pack to record: id or en.
    #[arg(long, default_value = "id", value_parser = parse_language)]
    language: Language,
}

fn parse_language(code: &str) -> Result<Language, String> {
    Language::ALL
        .into_iter()
        .find(|l| l.code() == code)
        .ok_or_else(|| format!("{code:?} is no language papan speaks: id (Indonesian) or en (English)"))
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
    /// The language of the recordings: id or en.
    #[arg(long, default_value = "id", value_parser = parse_language)]
    language: Language,
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
    /// Pack folder (with pack.toml), checked in its own language. Without it: the Indonesian
    /// pack (assets/voice/id) and every language's pack beside it.
    pack: Option<PathBuf>,
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

/// The hall whose announcements a pack in `language` must cover: the hall itself if it speaks
/// the language anywhere, else the hall as if it announced everything in it too (a pack made
/// ahead, like the shipped English one, serves whichever agency turns it on).
fn hall_speaking(hall: &Hall, language: Language) -> Hall {
    let mut hall = hall.clone();
    if !hall.languages_spoken().contains(&language) {
        hall.voice.languages.push(language);
        for agency in &mut hall.agencies {
            agency.languages = None;
        }
    }
    hall
}

/// An announcement's clips as text, its parts (repeats, languages) apart.
fn spoken(parts: &[Said]) -> String {
    parts.iter().map(|part| part.tokens.join(" ")).collect::<Vec<_>>().join(" | ")
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
    let hall = hall_speaking(&load_hall(&args.hall)?, args.language);
    let script = recording_script(&hall, args.language);
    if args.tsv {
        for line in &script {
            println!("{}\t{}", line.token, line.words);
        }
        return Ok(());
    }
    match args.language {
        Language::Id => println!("Naskah rekaman suara — {} ({} klip)\n", hall.name, script.len()),
        Language::En => {
            println!("Recording script, English voice — {} ({} clips)\n", hall.name, script.len())
        }
    }
    println!("{}\n", recording_settings(args.language));
    let width = script.iter().map(|l| l.token.len()).max().unwrap_or(0);
    for (i, line) in script.iter().enumerate() {
        println!("{:>3}. {:<width$}  \"{}\"  — {}", i + 1, line.token, line.words, line.hint);
    }
    Ok(())
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let hall = hall_speaking(&load_hall(&args.hall)?, args.language);
    let needed = required_tokens(&hall, args.language);
    let name = args.name.unwrap_or_else(|| format!("Rekaman {}", args.raw_dir.display()));
    let options =
        BuildOptions { rate: args.rate, loudness_lufs: args.loudness, name, language: args.language };
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
    let parts = script(&hall, &event).context("calls are always spoken")?;
    let packs = Packs::new(Pack::load(&args.files.pack)?, hall.languages_of(Some(agency)).iter().copied());
    for language in hall.languages_of(Some(agency)) {
        if let Some(reason) = packs.unusable(*language) {
            eprintln!("warning: {reason}; the {language} words are left out");
        }
    }
    let rendered = render(&parts, &packs, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
    for token in &rendered.skipped {
        eprintln!("warning: the pack has no usable clip {token:?}; skipped");
    }
    let tokens = spoken(&parts);
    if rendered.samples.is_empty() {
        bail!("nothing to say: the pack {} has none of the clips {tokens}", args.files.pack.display());
    }
    let seconds = rendered.duration_ms() / 1000.0;
    if let Some(out) = &args.out {
        write_wav(out, &rendered).with_context(|| format!("writing {}", out.display()))?;
        println!("{} ({seconds:.2} s): {tokens}", out.display());
    }
    if args.play {
        play(rendered.samples, packs.rate(), seconds)?;
        println!("played ({seconds:.2} s): {tokens}");
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
    let packs: Vec<PathBuf> = match &args.pack {
        Some(dir) => vec![dir.clone()],
        None => {
            // The Indonesian pack, and each other language's pack the hall speaks or that is there.
            let main = PathBuf::from(DEFAULT_PACK_DIR);
            let beside = |language: Language| pack_dir_beside(&main, language);
            let spoken = hall.languages_spoken();
            let mut dirs = vec![main.clone()];
            dirs.extend(
                Language::ALL
                    .into_iter()
                    .filter(|l| *l != Language::Id && (spoken.contains(l) || beside(*l).is_dir()))
                    .map(beside),
            );
            dirs
        }
    };
    let mut failed = Vec::new();
    for dir in &packs {
        if let Err(e) = check_pack(&hall, dir) {
            failed.push(e.to_string());
        }
        println!();
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// Checks one pack, in the language its pack.toml names, against what the hall needs said in it.
fn check_pack(hall: &Hall, dir: &std::path::Path) -> anyhow::Result<()> {
    let pack = Pack::load(dir)?;
    let language = pack.manifest.language;
    let spoken_here = hall.languages_spoken().contains(&language);
    let hall = hall_speaking(hall, language);
    let needed = required_tokens(&hall, language);
    println!("pack {} ({}, language {language}):", dir.display(), pack.manifest.name);
    if !spoken_here {
        println!(
            "  {} says nothing in {language} yet; checked for every agency, should one turn it on",
            hall.short_name
        );
    }
    let report = pack.check(&needed);
    for token in &report.missing {
        println!("missing: {token}");
    }
    for (token, reason) in &report.broken {
        println!("broken:  {token}: {reason}");
    }
    let levels = pack.levels(language);
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
            "pack {} lacks {} and cannot decode {} of the {} clips {} needs in {language}",
            dir.display(),
            report.missing.len(),
            report.broken.len(),
            needed.len(),
            hall.short_name
        );
    }
    println!(
        "pack {} ({}) has all {} clips {} needs in {language}",
        dir.display(),
        pack.manifest.name,
        needed.len(),
        hall.short_name
    );
    Ok(())
}
