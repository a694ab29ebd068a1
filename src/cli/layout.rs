//! `papan layout check`: validate a layout (and hall) file and report text that will not fit.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};

use crate::fit::Fitter;
use crate::hall::Hall;
use crate::layout::{Layout, Orientation, text_slots};

#[derive(Subcommand)]
pub enum LayoutCmd {
    /// Validate a layout file and report every text shrunk below a readable size or cut.
    Check(CheckArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    file: PathBuf,
    /// Hall file (agencies, names); default: the built-in MPP Palembang hall.
    #[arg(long)]
    hall: Option<PathBuf>,
    /// Screen size in pixels, WIDTHxHEIGHT (default: 1920x1080, or 1080x1920 for portrait layouts).
    #[arg(long, value_parser = parse_size)]
    size: Option<(u32, u32)>,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s.split_once(['x', 'X']).ok_or("expected WIDTHxHEIGHT, e.g. 1920x1080")?;
    let parse = |v: &str| v.trim().parse::<u32>().map_err(|e| format!("{v:?}: {e}"));
    let (w, h) = (parse(w)?, parse(h)?);
    if !(320..=16384).contains(&w) || !(240..=16384).contains(&h) {
        return Err("sizes from 320x240 to 16384x16384".into());
    }
    Ok((w, h))
}

pub(super) fn run(cmd: LayoutCmd) -> anyhow::Result<()> {
    let LayoutCmd::Check(args) = cmd;
    let hall = match &args.hall {
        Some(path) => Hall::load(path)?,
        None => Hall::builtin(),
    };
    let layout = Layout::load(&args.file, Some(&hall))?;
    let (width, height) = args.size.unwrap_or(match layout.orientation {
        Orientation::Landscape => (1920, 1080),
        Orientation::Portrait => (1080, 1920),
    });
    println!("{} ({}) at {width}x{height} for {}", args.file.display(), layout.name, hall.short_name);
    let portrait_screen = height > width;
    if portrait_screen != (layout.orientation == Orientation::Portrait) {
        println!("warn: the layout is {:?} but the screen is {width}x{height}", layout.orientation);
    }
    let (regular, bold) = (Fitter::regular(), Fitter::bold());
    let short_side = width.min(height) as f32;
    let (mut fine, mut small, mut cut) = (0, 0, 0);
    for slot in text_slots(&layout, &hall, width as f32, height as f32) {
        let font = if slot.bold { &bold } else { &regular };
        let where_ = format!("region {} {} {}", slot.region + 1, slot.widget.name(), slot.what);
        if !font.covers(&slot.text) {
            println!("warn: {where_} {:?} has characters the shipped font lacks", slot.text);
        }
        let fit = font.fit(&slot.text, slot.rect.w, slot.rect.h, slot.max_lines);
        let readable = slot.emphasis.min_readable(short_side);
        if !fit.fits {
            cut += 1;
            println!(
                "cut:  {where_} {:?} does not fit its {:.0}x{:.0} px box even at {} px",
                slot.text, slot.rect.w, slot.rect.h, fit.size
            );
        } else if fit.size < readable {
            small += 1;
            println!(
                "warn: {where_} {:?} shrinks to {} px (readable from {readable:.0} px)",
                slot.text, fit.size
            );
        } else {
            fine += 1;
        }
    }
    println!("{fine} texts fit at a readable size, {small} are smaller, {cut} are cut");
    if cut > 0 {
        bail!("{cut} texts would be cut on a {width}x{height} screen");
    }
    Ok(())
}
