//! `papan voice say | check`: render an announcement to WAV; list what a clip pack lacks.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::hall::Hall;
use crate::protocol::{Call, Event, Ticket};
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
    ticket: Ticket,
    #[arg(long)]
    counter: u16,
    #[arg(long)]
    agency: Option<String>,
    /// Say it as a recall ("panggilan ulang").
    #[arg(long)]
    recall: bool,
    #[arg(long)]
    out: PathBuf,
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
    let agency = hall.resolve_counter(args.counter, args.agency.as_deref())?;
    hall.check_ticket(agency, &args.ticket)?;
    let call = Call { ticket: args.ticket, counter: args.counter, agency: agency.id.clone(), service: None };
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
    write_wav(&args.out, &rendered).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{} ({:.2} s): {}", args.out.display(), rendered.duration_ms() / 1000.0, tokens.join(" "));
    Ok(())
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
