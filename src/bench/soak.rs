//! `papan bench soak`: a real display (speaking, unless `--no-voice`) against an embedded hub
//! through a long run of calls at an accelerated rate, sampling over time the display's memory,
//! CPU, frames, how far it lags, and its image count (font atlases among them), then judging
//! memory growth after warm-up.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::harness::{BenchHub, KillOnDrop, frames};
use crate::client::Session;
use crate::hall::Hall;
use crate::process_stats::{Process, clock_ticks_per_second, cpu_ticks, status_kib};
use crate::protocol::{CallCommand, Command, TickerCommand, Ticket};

#[derive(Args)]
pub struct SoakArgs {
    #[arg(long, default_value_t = 100_000)]
    calls: u32,
    /// Calls per second.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Seconds between two samples.
    #[arg(long, default_value_t = 30)]
    sample_secs: u64,
    /// Memory growth is judged from the first sample after this many seconds.
    #[arg(long, default_value_t = 300)]
    warmup_secs: u64,
    #[arg(long, default_value = "1920x1080")]
    size: String,
    #[arg(long, default_value = "hall-landscape")]
    layout: String,
    /// A silent display (by default it speaks through the default ALSA device).
    #[arg(long)]
    no_voice: bool,
    /// Also write the samples here, as CSV.
    #[arg(long)]
    csv: Option<PathBuf>,
}

/// One sample of the run.
struct Sample {
    secs: f64,
    calls: u32,
    lag: u64,
    rss_kib: u64,
    cpu_percent: f64,
    fps: f64,
    images: usize,
    bench_rss_kib: u64,
}

/// Every (letter, counter) the built-in hall accepts, so that calls reach every agency panel.
fn destinations() -> Vec<(String, u16)> {
    Hall::builtin()
        .agencies
        .iter()
        .flat_map(|a| {
            let letter = a.letters.first().cloned().unwrap_or_else(|| "Q".into());
            a.counters.iter().map(move |&c| (letter.clone(), c))
        })
        .collect()
}

pub(super) async fn run(args: SoakArgs) -> anyhow::Result<()> {
    anyhow::ensure!(args.rate > 0.0 && args.sample_secs > 0, "--rate and --sample-secs must be positive");
    let temp = std::env::temp_dir().join(format!("papan-bench-soak-{}", std::process::id()));
    let rate = args.rate;
    let BenchHub { running, staff, screen } =
        BenchHub::start(temp.join("hub"), Duration::from_secs(10), None, |l| {
            l.commands_per_second = rate * 2.0 + 10.0;
            l.command_burst = rate * 10.0 + 100.0;
        })
        .await?;
    let mut session = Session::connect(&staff, 0).await?;

    let (log, display_log) = (temp.join("frames.log"), temp.join("display.log"));
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command
        .args(["display", "--screen", "soak", "--layout", &args.layout, "--windowed", &args.size])
        .args(["--hub", &screen.url, "--token", &screen.token])
        .arg("--cache")
        .arg(temp.join("cache"))
        .arg("--bench-log")
        .arg(&log)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&display_log)?);
    if args.no_voice {
        command.arg("--no-voice");
    }
    let mut child = KillOnDrop(command.spawn().context("starting papan display")?);
    let pid = child.0.id();
    println!(
        "papan bench soak — {} {}, {} calls at {}/s, voice {}; display log {}",
        args.layout,
        args.size,
        args.calls,
        args.rate,
        if args.no_voice { "off" } else { "on" },
        display_log.display()
    );
    println!("     s    calls    lag  display RSS MiB  CPU %   fps  images  hub+bench RSS MiB");

    let destinations = destinations();
    let mut numbers = std::collections::HashMap::<String, u16>::new();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let hz = clock_ticks_per_second();
    let mut samples = Vec::<Sample>::new();
    let (mut next_sample, mut last_ticks, mut last_frames, mut last_at) =
        (Duration::from_secs(args.sample_secs), cpu_ticks(Process::Pid(pid))?, 0usize, started);
    for n in 0..args.calls {
        ticker.tick().await;
        let (letter, counter) = &destinations[n as usize % destinations.len()];
        let number = numbers.entry(letter.clone()).or_default();
        *number = *number % 9999 + 1;
        let call = CallCommand {
            ticket: Ticket::new(letter, *number).context("ticket")?,
            counter: *counter,
            agency: None,
            service: None,
        };
        let mut last_seq = session.command(&format!("soak-{n}"), Command::Call(call)).await?.seq;
        if n % 500 == 499 {
            // A ticker that changes now and then, in the same letters and digits: no new glyphs.
            let text = format!("Pengumuman {}: layanan dibuka pukul 08.00 sampai 15.00 WIB", n / 500);
            last_seq = session
                .command(&format!("soak-ticker-{n}"), Command::Ticker(TickerCommand { text }))
                .await?
                .seq;
        }
        if let Some(status) = child.0.try_wait()? {
            anyhow::bail!("the display exited ({status}) after {n} calls; see {}", display_log.display());
        }
        if started.elapsed() >= next_sample {
            next_sample += Duration::from_secs(args.sample_secs);
            let all = frames(&log);
            let ticks = cpu_ticks(Process::Pid(pid))?;
            let secs = last_at.elapsed().as_secs_f64();
            let last = all.last().copied();
            let sample = Sample {
                secs: started.elapsed().as_secs_f64(),
                calls: n + 1,
                lag: last_seq - last.map_or(0, |f| f.seq),
                rss_kib: status_kib(Process::Pid(pid), "VmRSS:")?,
                cpu_percent: (ticks - last_ticks) as f64 / hz / secs * 100.0,
                fps: (all.len() - last_frames) as f64 / secs,
                images: last.map_or(0, |f| f.images),
                bench_rss_kib: status_kib(Process::This, "VmRSS:")?,
            };
            (last_ticks, last_frames, last_at) = (ticks, all.len(), Instant::now());
            println!(
                "{:6.0} {:8} {:6} {:16.1} {:6.1} {:5.1} {:7} {:18.1}",
                sample.secs,
                sample.calls,
                sample.lag,
                sample.rss_kib as f64 / 1024.0,
                sample.cpu_percent,
                sample.fps,
                sample.images,
                sample.bench_rss_kib as f64 / 1024.0
            );
            samples.push(sample);
        }
    }
    drop(child);
    session.close().await;
    running.stop().await?;

    if let Some(path) = &args.csv {
        let mut csv =
            String::from("secs,calls,lag,display_rss_kib,display_cpu_percent,fps,images,bench_rss_kib\n");
        for s in &samples {
            let _ = writeln!(
                csv,
                "{:.1},{},{},{},{:.2},{:.2},{},{}",
                s.secs, s.calls, s.lag, s.rss_kib, s.cpu_percent, s.fps, s.images, s.bench_rss_kib
            );
        }
        std::fs::write(path, csv).with_context(|| format!("writing {}", path.display()))?;
    }
    let _ = std::fs::remove_dir_all(&temp);
    let Some(base) = samples.iter().position(|s| s.secs >= args.warmup_secs as f64) else {
        println!("run shorter than the warm-up ({} s): no growth to judge", args.warmup_secs);
        return Ok(());
    };
    let after = &samples[base..];
    let (base_rss, base_images) = (after[0].rss_kib as f64, after[0].images);
    let max_rss = after.iter().map(|s| s.rss_kib).max().unwrap_or_default() as f64;
    let last_rss = after.last().map_or(base_rss, |s| s.rss_kib as f64);
    let max_images = after.iter().map(|s| s.images).max().unwrap_or_default();
    let growth = (max_rss - base_rss) / base_rss * 100.0;
    println!(
        "display RSS after warm-up (at {:.0} s): {:.1} MiB; highest since {:.1} MiB ({growth:+.1} %), last {:.1} MiB — goal ≤ 5 %: {}",
        after[0].secs,
        base_rss / 1024.0,
        max_rss / 1024.0,
        last_rss / 1024.0,
        if growth <= 5.0 { "met" } else { "NOT met" }
    );
    println!(
        "images (font atlases among them) after warm-up: {base_images}, highest since {max_images} — {}",
        if max_images <= base_images { "no growth" } else { "GREW" }
    );
    Ok(())
}
