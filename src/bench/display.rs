//! `papan bench display`: a real `papan display` process against an embedded hub, measured from
//! outside through its frame log and /proc: cold start to the first frame drawing the board, call
//! → the frame that draws it, and CPU and memory of a static board with its ticking clock; then the
//! same for a browser board in Chromium, fed by the same hub.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use super::browser::{BoardHub, TreeMemory, board_frames, board_html, tree_cpu_ticks, tree_memory};
use super::harness::{BenchHub, Frame, KillOnDrop, frames, now_us, percentile};
use crate::client::{ClientOptions, Session};
use crate::process_stats::{
    Process, clock_ticks_per_second, cpu_ticks, status_kib, threads_context_switches,
};
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
    /// Also measure a speaking screen at rest: voice on, one call spoken, its audio going to a
    /// private PulseAudio null sink, which is paced like a sound card (ALSA's `null` is not).
    /// Needs Debian's pulseaudio and libasound2-plugins.
    #[arg(long)]
    speaking: bool,
    /// How long the speaking screen gets to say its call and come to rest before it is measured.
    #[arg(long, default_value_t = 15)]
    speaking_settle_secs: u64,
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
                .map(|(seq, unix_us)| Frame {
                    unix_us,
                    seq,
                    images: 0,
                    partial: false,
                    cpu_us: None,
                    x_present: false,
                    replayed: false,
                })
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
    // Copied before the clock starts: the cold start is the screen's, not the copy's.
    screen_executable(&temp)?;
    let started_us = now_us();
    let child = display_command(&args, &screen, "bench", &temp, &log)?
        .arg("--no-voice")
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
    let during_calls = frames(&log).split_off(frames_before_calls);
    let frames_during_calls = during_calls.len();
    let partial_during_calls = during_calls.iter().filter(|f| f.partial).count();
    // The hub drops a connection that does not read its pings for a while: a fresh one later.
    session.close().await;

    // The static board: the clock still ticks, nothing else happens.
    tokio::time::sleep(Duration::from_secs(3)).await;
    // The frames of the calls timed by kind, now that the last one has a line after it (its
    // flash's next turn); from the frame before the first call's, whose seq tells that one.
    let by_kind = {
        let mut all = frames(&log);
        all.truncate(frames_before_calls + frames_during_calls + 1);
        FrameCosts::of(&all[frames_before_calls.saturating_sub(1)..])
    };
    let frames_at_start = frames(&log).len();
    let silent_rest = measure_rest(pid, Duration::from_secs(args.idle_secs)).await?;
    let (cpu_percent, frames_at_end) = (silent_rest.cpu_percent, frames(&log).len());
    let (rss, hwm) = (status_kib(Process::Pid(pid), "VmRSS:")?, status_kib(Process::Pid(pid), "VmHWM:")?);
    let papan_memory = tree_memory(pid);
    drop(child);
    let speaking = if args.speaking {
        Some(measure_speaking(&args, &screen, &staff, calls.last_seq, &temp).await?)
    } else {
        None
    };
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
        "  frames drawn while the calls came: {frames_during_calls} ({:.1}/s), {partial_during_calls} of them partial; {:.1} ms of CPU a frame",
        frames_during_calls as f64 / calls.busy.as_secs_f64(),
        calls.busy_cpu_percent / 100.0 * calls.busy.as_secs_f64() * 1000.0
            / frames_during_calls.max(1) as f64
    );
    by_kind.print();
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
    println!(
        "  its context switches at rest: {:.1}/s ({})",
        silent_rest.switches_per_second(),
        silent_rest.busiest(3)
    );
    if let Some(speaking) = speaking {
        println!(
            "a speaking screen at rest (voice on, one call spoken, audio to a paced PulseAudio null sink), {} s:",
            args.idle_secs
        );
        println!(
            "  CPU {:.2} % of one core, context switches {:.1}/s ({})",
            speaking.cpu_percent,
            speaking.switches_per_second(),
            speaking.busiest(usize::MAX)
        );
    }
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
        // A static board often takes no measurable CPU in Chromium: no ratio then, not infinity.
        let ratio = |papan: f64, chromium: f64| {
            if chromium > 0.0 { format!("{:.2}", papan / chromium) } else { "- (Chromium 0)".to_string() }
        };
        println!(
            "papan / Chromium: PSS {}, RSS {}, CPU {}, cold start {}, call → drawn p50 {}",
            ratio(papan_memory.pss_kib as f64, chromium.memory.pss_kib as f64),
            ratio(papan_memory.rss_kib as f64, chromium.memory.rss_kib as f64),
            ratio(cpu_percent, chromium.cpu_percent),
            ratio(cold_ms, chromium.cold_ms),
            ratio(percentile(&calls.latency_ms, 0.5), percentile(&chromium.calls.latency_ms, 0.5))
        );
    }
    Ok(())
}

/// CPU a frame by kind while the calls came, from each frame's line of the log to the next's
/// (the frame's rendering, which runs after its line, and the next frame's systems).
#[derive(Default)]
struct FrameCosts {
    /// Frames showing a new call.
    calls: Tally,
    /// How many of those were partial.
    partial_calls: usize,
    /// Partial frames with no new call (the hero's flash turns), drawn.
    flash_turns: Tally,
    /// Flash turns put on X from a kept picture of the hero, drawing nothing.
    replayed_turns: Tally,
    /// Whole frames with no new call (the one after a flash, the clock's minute).
    others: Tally,
    /// How many went to X by hand (`x_present`), not through bevy's copy.
    put_by_hand: usize,
}

/// Frames of one kind and the CPU they took.
#[derive(Default)]
struct Tally {
    frames: usize,
    cpu_us: u64,
}

impl Tally {
    fn add(&mut self, cpu_us: u64) {
        self.frames += 1;
        self.cpu_us += cpu_us;
    }

    /// Mean ms of CPU a frame, or "-" with no frame.
    fn mean_ms(&self) -> String {
        if self.frames == 0 {
            "-".to_string()
        } else {
            format!("{:.1}", self.cpu_us as f64 / self.frames as f64 / 1000.0)
        }
    }
}

impl FrameCosts {
    /// `frames` starts with the last frame before the first call.
    fn of(frames: &[Frame]) -> FrameCosts {
        let mut costs = FrameCosts::default();
        for window in frames.windows(3) {
            let [before, frame, next] = window else { continue };
            let (Some(start), Some(end)) = (frame.cpu_us, next.cpu_us) else { continue };
            let cpu = end.saturating_sub(start);
            costs.put_by_hand += usize::from(frame.x_present);
            if frame.seq != before.seq {
                costs.calls.add(cpu);
                costs.partial_calls += usize::from(frame.partial);
            } else if frame.replayed {
                costs.replayed_turns.add(cpu);
            } else if frame.partial {
                costs.flash_turns.add(cpu);
            } else {
                costs.others.add(cpu);
            }
        }
        costs
    }

    fn print(&self) {
        let (calls, turns, others) = (&self.calls, &self.flash_turns, &self.others);
        let replayed = &self.replayed_turns;
        println!(
            "  ms of CPU a frame, by kind: call {} ms over {} frames, {} partial, flash turn drawn {} ms over {}, flash turn from a kept picture {} ms over {}, other whole {} ms over {}, {} of them put on X by hand",
            calls.mean_ms(),
            calls.frames,
            self.partial_calls,
            turns.mean_ms(),
            turns.frames,
            replayed.mean_ms(),
            replayed.frames,
            others.mean_ms(),
            others.frames,
            self.put_by_hand
        );
    }
}

/// `papan display` as screen `name` of the bench hub, at the bench's layout and size, logging its
/// frames to `log`; run from a copy of this executable in `temp`.
fn display_command(
    args: &DisplayBenchArgs,
    screen: &ClientOptions,
    name: &str,
    temp: &Path,
    log: &Path,
) -> anyhow::Result<std::process::Command> {
    let mut command = std::process::Command::new(screen_executable(temp)?);
    let cache = temp.join(format!("cache-{name}"));
    command
        .args(["display", "--screen", name, "--layout", &args.layout])
        .args(["--windowed", &args.size, "--hub", &screen.url, "--token", &screen.token])
        .arg("--cache")
        .arg(cache)
        .arg("--bench-log")
        .arg(log);
    Ok(command)
}

/// A copy of this executable for the screen to run. The bench runs the same file, and the pages of
/// it that both processes touched would count half in the screen's PSS (8.5 of 45.8 MiB resident,
/// measured at 1920×1080), a discount a hall's screen, the only papan on its PC, does not get.
fn screen_executable(temp: &Path) -> anyhow::Result<PathBuf> {
    // Named papan still: its main thread's name, which the bench reports, comes from the file.
    let copy = temp.join("screen").join("papan");
    if !copy.exists() {
        std::fs::create_dir_all(temp.join("screen"))?;
        let this = std::env::current_exe()?;
        std::fs::copy(&this, &copy)
            .with_context(|| format!("copying {} to {}", this.display(), copy.display()))?;
    }
    Ok(copy)
}

/// A screen process over a window at rest: CPU and how often each of its threads woke.
struct Rest {
    over: Duration,
    cpu_percent: f64,
    /// Context switches in the window, by thread name.
    switches: BTreeMap<String, u64>,
}

impl Rest {
    fn switches_per_second(&self) -> f64 {
        self.switches.values().sum::<u64>() as f64 / self.over.as_secs_f64()
    }

    /// The `n` threads that woke most, as "name 12.3/s, …" (threads that never woke left out).
    fn busiest(&self, n: usize) -> String {
        let mut threads: Vec<(&String, &u64)> =
            self.switches.iter().filter(|(_, count)| **count > 0).collect();
        threads.sort_by(|a, b| b.1.cmp(a.1));
        let rate = |count: u64| count as f64 / self.over.as_secs_f64();
        let shown: Vec<String> =
            threads.iter().take(n).map(|(name, count)| format!("{name} {:.1}/s", rate(**count))).collect();
        shown.join(", ")
    }
}

/// Watches process `pid` for `over`.
async fn measure_rest(pid: u32, over: Duration) -> anyhow::Result<Rest> {
    let (ticks_before, switches_before) =
        (cpu_ticks(Process::Pid(pid))?, threads_context_switches(Process::Pid(pid))?);
    tokio::time::sleep(over).await;
    let (ticks_after, switches_after) =
        (cpu_ticks(Process::Pid(pid))?, threads_context_switches(Process::Pid(pid))?);
    let switches = switches_after
        .into_iter()
        .map(|(name, after)| {
            let before = switches_before.get(&name).copied().unwrap_or(0);
            (name, after.saturating_sub(before))
        })
        .collect();
    Ok(Rest { over, cpu_percent: cpu_percent(ticks_after.saturating_sub(ticks_before), over), switches })
}

/// A private PulseAudio with one null sink: it takes samples at the rate a sound card would, so a
/// player's and a device's wake-ups show as they would in a hall, with no sound card here.
struct PacedSink {
    _daemon: KillOnDrop,
    home: PathBuf,
    runtime: PathBuf,
}

impl PacedSink {
    async fn start(dir: &Path) -> anyhow::Result<PacedSink> {
        let (home, runtime) = (dir.join("home"), dir.join("run"));
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(runtime.join("pulse"))?;
        // ALSA's default device goes to PulseAudio (the plugin is in libasound2-plugins).
        std::fs::write(home.join(".asoundrc"), "pcm.!default { type pulse }\nctl.!default { type pulse }\n")?;
        let socket = runtime.join("pulse/native");
        let log = dir.join("pulseaudio.log");
        let daemon = std::process::Command::new("pulseaudio")
            .args(["--daemonize=no", "-n", "--exit-idle-time=-1", "--load=module-null-sink"])
            .arg(format!("--load=module-native-protocol-unix auth-anonymous=1 socket={}", socket.display()))
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .context("starting pulseaudio (Debian: apt install pulseaudio libasound2-plugins)")?;
        let daemon = KillOnDrop(daemon);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "pulseaudio did not open {} within 10 s; its log: {}",
                socket.display(),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(PacedSink { _daemon: daemon, home, runtime })
    }

    /// `command` with its sound going to this sink.
    fn route<'a>(&self, command: &'a mut std::process::Command) -> &'a mut std::process::Command {
        command.env("HOME", &self.home).env("XDG_RUNTIME_DIR", &self.runtime)
    }
}

/// A speaking screen: a second `papan display`, voice on and its sound on a paced sink, is shown
/// the board, says one call, comes to rest, and is watched at rest.
async fn measure_speaking(
    args: &DisplayBenchArgs,
    screen: &ClientOptions,
    staff: &ClientOptions,
    seq: Seq,
    temp: &Path,
) -> anyhow::Result<Rest> {
    let sink = PacedSink::start(&temp.join("pulse")).await?;
    let log = temp.join("speaking-frames.log");
    let started_us = now_us();
    let mut command = display_command(args, screen, "bench-speaking", temp, &log)?;
    let child = KillOnDrop(sink.route(&mut command).spawn().context("starting a speaking papan display")?);
    let pid = child.0.id();
    wait_for_seq(FrameLog::Papan(&log), seq, started_us).await?;
    let mut session = Session::connect(staff, 0).await?;
    let ticket = Ticket::new("B", 17).expect("valid ticket");
    let call = Command::Call(CallCommand { ticket, counter: 5, agency: None, service: None });
    let called = session.command("bench-speaking", call).await?.seq;
    session.close().await;
    wait_for_seq(FrameLog::Papan(&log), called, started_us).await?;
    tokio::time::sleep(Duration::from_secs(args.speaking_settle_secs)).await;
    let rest = measure_rest(pid, Duration::from_secs(args.idle_secs)).await?;
    // A screen that found no device would be quiet for the wrong reason.
    anyhow::ensure!(
        rest.switches.contains_key("cpal_alsa_out"),
        "the speaking screen has no audio device open (threads: {:?}); is libasound2-plugins installed?",
        rest.switches.keys().collect::<Vec<_>>()
    );
    drop(child);
    Ok(rest)
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
