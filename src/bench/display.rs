//! `papan bench display`: a real `papan display` process against an embedded hub, measured from
//! outside through its frame log and /proc: cold start to the first frame drawing the board, call
//! → the frame that draws it, and CPU and memory of a static board with its ticking clock; then the
//! same for a browser board in Chromium, fed by the same hub.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::browser::{BoardHub, TreeMemory, board_frames, board_html, tree_cpu_ticks, tree_memory};
use super::harness::{BenchHub, Frame, KillOnDrop, frames, now_us, percentile};
use crate::client::{ClientOptions, Session};
use crate::process_stats::{Process, clock_ticks_per_second, cpu_ticks, status_kib};
use crate::protocol::{CallCommand, Command, Seq, TickerCommand, Ticket};

#[derive(Args)]
pub struct DisplayBenchArgs {
    /// Calls to time, one every --interval-ms.
    #[arg(long, default_value_t = 30)]
    calls: u16,
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// How long to watch the static board for CPU use.
    #[arg(long, default_value_t = 30)]
    idle_secs: u64,
    #[arg(long, default_value = "1920x1080")]
    size: String,
    #[arg(long, default_value = "hall-landscape")]
    layout: String,
    /// Then show the same board as an HTML page in Chromium's kiosk mode (software rendering) and
    /// measure its processes the same way, side by side.
    #[arg(long)]
    against_chromium: bool,
    #[arg(long, default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    /// How long Chromium may settle after its calls before its static board is measured.
    #[arg(long, default_value_t = 10)]
    chromium_settle_secs: u64,
}

/// Where a board under test logs the frames it drew.
#[derive(Clone, Copy)]
enum FrameLog<'a> {
    /// papan's `--bench-log`.
    Papan(&'a Path),
    /// Chromium's log (`--enable-logging=stderr`), where the browser board's console lines land.
    Chromium(&'a Path),
}

impl FrameLog<'_> {
    fn frames(self) -> Vec<Frame> {
        match self {
            FrameLog::Papan(path) => frames(path),
            FrameLog::Chromium(path) => board_frames(&std::fs::read_to_string(path).unwrap_or_default())
                .into_iter()
                .map(|(seq, unix_us)| Frame { unix_us, seq, images: 0 })
                .collect(),
        }
    }
}

/// Polls the frame log until a frame shows `seq`; returns that frame and the frames drawn since `after_us`
/// before it.
async fn wait_for_seq(log: FrameLog<'_>, seq: Seq, after_us: i64) -> anyhow::Result<(Frame, usize)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let all = log.frames();
        if let Some(at) = all.iter().position(|f| f.seq >= seq) {
            let before = all[..at].iter().filter(|f| f.unix_us > after_us).count();
            return Ok((all[at], before));
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "the board never showed seq {seq}");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// How a board took the calls of a run: each call's time from the staff command to the frame
/// drawing it, and how many frames came between them.
#[derive(Default)]
struct CallTimings {
    latency_ms: Vec<f64>,
    frames_before: Vec<usize>,
    last_seq: Seq,
    /// CPU of the board (all its processes) from the first call sent to the last drawn.
    busy_cpu_percent: f64,
    busy: Duration,
}

/// `args.calls` calls, one every `args.interval_ms`, with tickets from `first_number` on, each
/// timed until `log` shows it.
async fn time_calls(
    session: &mut Session,
    args: &DisplayBenchArgs,
    log: FrameLog<'_>,
    first_number: u16,
    board_cpu_ticks: impl Fn() -> u64,
) -> anyhow::Result<CallTimings> {
    let mut timings = CallTimings::default();
    let (ticks_before, started) = (board_cpu_ticks(), Instant::now());
    for number in first_number..first_number + args.calls {
        tokio::time::sleep(Duration::from_millis(args.interval_ms)).await;
        let ticket = Ticket::new("A", number).expect("valid ticket");
        let call =
            Command::Call(CallCommand { ticket, counter: 1 + number % 4, agency: None, service: None });
        let sent_us = now_us();
        let seq = session.command(&format!("bench-{number}"), call).await?.seq;
        let (frame, before) = wait_for_seq(log, seq, sent_us).await?;
        timings.latency_ms.push((frame.unix_us - sent_us) as f64 / 1000.0);
        timings.frames_before.push(before);
        timings.last_seq = seq;
    }
    timings.busy = started.elapsed();
    timings.busy_cpu_percent = cpu_percent(board_cpu_ticks().saturating_sub(ticks_before), timings.busy);
    timings.latency_ms.sort_by(f64::total_cmp);
    Ok(timings)
}

impl CallTimings {
    fn print(&self) {
        let latency = &self.latency_ms;
        println!(
            "  call sent → frame drawing it: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(latency, 0.5),
            percentile(latency, 0.99),
            percentile(latency, 1.0)
        );
        println!(
            "  while the calls came ({:.0} s): CPU {:.1} % of one core",
            self.busy.as_secs_f64(),
            self.busy_cpu_percent
        );
    }
}

pub(super) async fn run(args: DisplayBenchArgs) -> anyhow::Result<()> {
    let temp = std::env::temp_dir().join(format!("papan-bench-display-{}", std::process::id()));
    let BenchHub { running, staff, screen } =
        BenchHub::start(temp.join("hub"), Duration::from_secs(10), None, |_| {}).await?;
    let mut session = Session::connect(&staff, 0).await?;
    let ticker = TickerCommand { text: "Selamat datang di Mal Pelayanan Publik Kota Palembang".into() };
    let first = session.command("bench-ticker", Command::Ticker(ticker)).await?.seq;

    let log = temp.join("frames.log");
    let started_us = now_us();
    let child = std::process::Command::new(std::env::current_exe()?)
        .args(["display", "--no-voice", "--screen", "bench", "--layout", &args.layout])
        .args(["--windowed", &args.size, "--hub", &screen.url, "--token", &screen.token])
        .arg("--cache")
        .arg(temp.join("cache"))
        .arg("--bench-log")
        .arg(&log)
        .spawn()
        .context("starting papan display")?;
    let child = KillOnDrop(child);
    let pid = child.0.id();
    let (shown, _) = wait_for_seq(FrameLog::Papan(&log), first, started_us).await?;
    let cold_ms = (shown.unix_us - started_us) as f64 / 1000.0;
    let frames_before_calls = frames(&log).len();
    let calls = time_calls(&mut session, &args, FrameLog::Papan(&log), 1, || {
        cpu_ticks(Process::Pid(pid)).unwrap_or(0)
    })
    .await?;
    let frames_during_calls = frames(&log).len() - frames_before_calls;
    // The hub drops a connection that does not read its pings for a while: a fresh one later.
    session.close().await;

    // The static board: the clock still ticks, nothing else happens.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (ticks_before, frames_at_start) = (cpu_ticks(Process::Pid(pid))?, frames(&log).len());
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let (ticks_after, frames_at_end) = (cpu_ticks(Process::Pid(pid))?, frames(&log).len());
    let cpu_percent = cpu_percent(ticks_after - ticks_before, Duration::from_secs(args.idle_secs));
    let (rss, hwm) = (status_kib(Process::Pid(pid), "VmRSS:")?, status_kib(Process::Pid(pid), "VmHWM:")?);
    let papan_memory = tree_memory(pid);
    drop(child);
    let chromium = if args.against_chromium {
        let hub = BoardHub { url: &screen.url, token: &screen.token };
        Some(measure_chromium(&args, &hub, calls.last_seq, &staff, &temp).await?)
    } else {
        None
    };
    running.stop().await?;
    let _ = std::fs::remove_dir_all(&temp);

    let next_frame = calls.frames_before.iter().filter(|&&n| n == 0).count();
    println!(
        "papan bench display — {} {}, {} calls every {} ms",
        args.layout, args.size, args.calls, args.interval_ms
    );
    println!("  cold start → first frame drawing the board: {cold_ms:.0} ms");
    calls.print();
    println!(
        "  frames drawn while the calls came: {frames_during_calls} ({:.1}/s)",
        frames_during_calls as f64 / calls.busy.as_secs_f64()
    );
    println!(
        "  drawn in the first frame after the call: {next_frame} of {} (most frames before it: {})",
        calls.frames_before.len(),
        calls.frames_before.iter().max().unwrap_or(&0)
    );
    println!(
        "  static board over {} s: CPU {cpu_percent:.2} % of one core, {} frames ({:.2}/s), RSS {} MiB (peak {} MiB)",
        args.idle_secs,
        frames_at_end - frames_at_start,
        (frames_at_end - frames_at_start) as f64 / args.idle_secs as f64,
        rss / 1024,
        hwm / 1024
    );
    if let Some(chromium) = chromium {
        println!(
            "the same board in Chromium --kiosk --disable-gpu: an HTML page whose script is a display client of the hub"
        );
        println!("  cold start → first frame drawing the board: {:.0} ms", chromium.cold_ms);
        chromium.calls.print();
        let mib = |kib: u64| kib as f64 / 1024.0;
        println!("the static board, {} s each (CPU: all processes, % of one core):", args.idle_secs);
        println!(
            "    {:<42} {:>9} {:>13} {:>13} {:>6}",
            "", "processes", "RSS sum MiB", "PSS sum MiB", "CPU %"
        );
        println!(
            "    {:<42} {:>9} {:>13.1} {:>13.1} {:>6.2}",
            "papan display (bevy, lavapipe Vulkan)",
            papan_memory.processes,
            mib(papan_memory.rss_kib),
            mib(papan_memory.pss_kib),
            cpu_percent
        );
        println!(
            "    {:<42} {:>9} {:>13.1} {:>13.1} {:>6.2}",
            "Chromium --kiosk (HTML board, --disable-gpu)",
            chromium.memory.processes,
            mib(chromium.memory.rss_kib),
            mib(chromium.memory.pss_kib),
            chromium.cpu_percent
        );
        let ratio = |papan: f64, chromium: f64| papan / chromium.max(f64::MIN_POSITIVE);
        println!(
            "papan / Chromium: PSS {:.2}, RSS {:.2}, CPU {:.2}, cold start {:.2}, call → drawn p50 {:.2}",
            ratio(papan_memory.pss_kib as f64, chromium.memory.pss_kib as f64),
            ratio(papan_memory.rss_kib as f64, chromium.memory.rss_kib as f64),
            ratio(cpu_percent, chromium.cpu_percent),
            ratio(cold_ms, chromium.cold_ms),
            ratio(percentile(&calls.latency_ms, 0.5), percentile(&chromium.calls.latency_ms, 0.5))
        );
    }
    Ok(())
}

/// CPU time over a window as a percentage of one core.
fn cpu_percent(ticks: u64, over: Duration) -> f64 {
    ticks as f64 / clock_ticks_per_second() / over.as_secs_f64() * 100.0
}

struct ChromiumCost {
    cold_ms: f64,
    calls: CallTimings,
    memory: TreeMemory,
    cpu_percent: f64,
}

/// Chromium in kiosk mode on the live HTML board, put through what papan's screen was: its cold
/// start (the hub's board at `seq`), the same number of calls at the same pace, then the static
/// board once it settled.
async fn measure_chromium(
    args: &DisplayBenchArgs,
    hub: &BoardHub<'_>,
    seq: Seq,
    staff: &ClientOptions,
    temp: &Path,
) -> anyhow::Result<ChromiumCost> {
    let layout = crate::layout::Layout::builtin(&args.layout)
        .with_context(|| format!("--against-chromium takes a built-in layout, not {}", args.layout))?;
    let fonts = std::env::current_dir()?.join("assets/fonts");
    let page = temp.join("board.html");
    std::fs::write(&page, board_html(&crate::hall::Hall::builtin(), &layout, hub, &fonts))?;
    let (width, height) = args.size.split_once('x').context("--size is WIDTHxHEIGHT")?;
    let log = temp.join("chromium.log");
    let mut command = std::process::Command::new(&args.chromium);
    command
        .args(["--kiosk", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--disable-quic", "--noerrdialogs"])
        // The page's console lines (its frame log) go to stderr, which is the log file.
        .arg("--enable-logging=stderr")
        .arg(format!("--window-size={width},{height}"))
        .arg("--window-position=0,0")
        .arg(format!("--user-data-dir={}", temp.join("chromium-profile").display()))
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log)?);
    // Chromium refuses to run as root without this (the bench often runs as root in CI images).
    if std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0) {
        command.arg("--no-sandbox");
    }
    let started_us = now_us();
    let child = KillOnDrop(command.spawn().with_context(|| format!("starting {}", args.chromium.display()))?);
    let pid = child.0.id();
    let (shown, _) = wait_for_seq(FrameLog::Chromium(&log), seq, started_us)
        .await
        .with_context(|| format!("Chromium's board (its log: {})", log.display()))?;
    let cold_ms = (shown.unix_us - started_us) as f64 / 1000.0;
    let mut session = Session::connect(staff, 0).await?;
    let calls = time_calls(&mut session, args, FrameLog::Chromium(&log), args.calls + 1, || {
        super::browser::tree_cpu_ticks(pid)
    })
    .await?;
    session.close().await;
    tokio::time::sleep(Duration::from_secs(args.chromium_settle_secs)).await;
    let before = tree_cpu_ticks(pid);
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let after = tree_cpu_ticks(pid);
    let memory = tree_memory(pid);
    drop(child);
    Ok(ChromiumCost {
        cold_ms,
        calls,
        memory,
        cpu_percent: cpu_percent(after.saturating_sub(before), Duration::from_secs(args.idle_secs)),
    })
}
