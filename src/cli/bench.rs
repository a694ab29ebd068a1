//! `papan bench fanout` (hub fan-out latency from command to delivery at every screen) and
//! `papan bench voice`; `papan bench display` is in its own file.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Subcommand};
use futures_util::future::join_all;

use crate::client::{ClientOptions, Session};
use crate::hall::Hall;
use crate::hub::config::{HubConfig, Limits};
use crate::hub::{self, HubOptions, RunningHub};
use crate::protocol::{CallCommand, Command, Role, Seq, Ticket};

#[derive(Subcommand)]
pub enum BenchCmd {
    /// Start a hub, connect N screens, send calls one after another and time each until every
    /// screen has it.
    Fanout(FanoutArgs),
    /// Time event → script → render → first sample pulled by the default audio device.
    Voice(VoiceArgs),
    /// Run a real display against an embedded hub: cold start, call → frame, idle CPU and RSS
    /// (needs a screen: X or Xvfb, and Vulkan, e.g. lavapipe).
    Display(super::bench_display::DisplayBenchArgs),
    /// A long run: a real display through many calls at an accelerated rate, its memory, CPU,
    /// frames, lag and font atlases sampled over time (needs a screen and Vulkan, as `display`).
    Soak(super::bench_soak::SoakArgs),
}

#[derive(Args)]
pub struct VoiceArgs {
    #[arg(long, default_value_t = 50)]
    calls: usize,
    #[arg(long, default_value = crate::voice::pack::DEFAULT_PACK_DIR)]
    pack: PathBuf,
}

#[derive(Args)]
pub struct FanoutArgs {
    #[arg(long, default_value_t = 1000)]
    screens: usize,
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Folder for the benchmark's journal (default: a new temp folder, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Screens connecting at once while the bench sets up.
const CONNECT_CONCURRENCY: usize = 50;

pub(super) async fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Fanout(args) => fanout(args).await,
        BenchCmd::Voice(args) => tokio::task::spawn_blocking(move || voice(args)).await?,
        BenchCmd::Display(args) => super::bench_display::run(args).await,
        BenchCmd::Soak(args) => super::bench_soak::run(args).await,
    }
}

/// Each call: the event is scripted and rendered, queued on the real player, and timed until its
/// first sample is pulled by the device; the next call waits until the previous has finished.
fn voice(args: VoiceArgs) -> anyhow::Result<()> {
    use crate::protocol::{Call, Event};
    use crate::voice::pack::Pack;
    use crate::voice::player::{AudioPlayer, PlayerEvent, PlayerOptions, Queued};

    let hall = Hall::builtin();
    let pack = Pack::load(&args.pack)?;
    let (events, rx) = std::sync::mpsc::channel();
    let player = AudioPlayer::spawn(
        PlayerOptions { rate: pack.rate(), between: Duration::ZERO, ..PlayerOptions::default() },
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
        });
        let received = Instant::now();
        let tokens = crate::voice::script::script(&hall, &event).context("calls are spoken")?;
        let rendered =
            crate::voice::render::render(&tokens, &pack, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
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

async fn fanout(args: FanoutArgs) -> anyhow::Result<()> {
    hub::raise_open_file_limit();
    let temp = std::env::temp_dir().join(format!("papan-bench-{}", std::process::id()));
    let data = args.data.clone().unwrap_or_else(|| temp.clone());
    let BenchHub { running, staff, screen } =
        BenchHub::start(data.clone(), Duration::from_secs(30), |limits| {
            limits.max_connections = args.screens + 16;
            limits.commands_per_second = 1e9;
            limits.command_burst = 1e9;
        })
        .await?;
    let mut session = Session::connect(&staff, 0).await.context("staff connecting")?;
    // The first command may start the service day (a reset event); get it out of the way.
    let warmup = call(1);
    let base = session.command("bench-warmup", warmup).await?.seq;

    let tracker = Arc::new(Tracker::new(base, args.calls, args.screens));
    let connect_started = Instant::now();
    let mut screens = Vec::with_capacity(args.screens);
    for chunk in (0..args.screens).collect::<Vec<_>>().chunks(CONNECT_CONCURRENCY) {
        let sessions = join_all(chunk.iter().map(|_| Session::connect(&screen, base))).await;
        for session in sessions {
            screens.push(tokio::spawn(receive(session.context("screen connecting")?, tracker.clone())));
        }
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();

    let mut ack_ms = Vec::with_capacity(args.calls);
    let mut all_ms = Vec::with_capacity(args.calls);
    let started = Instant::now();
    let mut delivered = tracker.delivered.subscribe();
    for i in 0..args.calls {
        let sent = Instant::now();
        let seq = session.command(&format!("bench-{i}"), call(i as u16 % 9999 + 1)).await?.seq;
        ack_ms.push(sent.elapsed().as_secs_f64() * 1e3);
        tokio::time::timeout(Duration::from_secs(30), delivered.wait_for(|&last| last >= seq))
            .await
            .with_context(|| {
                format!("call seq {seq} did not reach all {} screens within 30 s", args.screens)
            })??;
        let done_at = tracker.done_at(seq).context("delivery time missing")?;
        all_ms.push(done_at.saturating_duration_since(sent).as_secs_f64() * 1e3);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let cut = running.too_slow_count();
    for task in screens {
        task.abort();
    }
    session.close().await;
    running.stop().await?;
    if args.data.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }

    println!("papan bench fanout — hub and {} screens in one process on this machine", args.screens);
    println!(
        "  cores: {}, calls: {} sent one after another, each waited until every screen had it",
        num_cpus(),
        args.calls
    );
    println!("  screens connected in {connect_secs:.2} s; screens cut as too slow: {cut}");
    println!("  {:<34} {:>8} {:>8} {:>8}", "latency (ms)", "p50", "p99", "max");
    print_row("command → ack (durable)", &mut ack_ms);
    print_row("command → delivered to all screens", &mut all_ms);
    println!(
        "  throughput: {:.0} calls/s ({:.0} frames/s delivered)",
        args.calls as f64 / elapsed,
        (args.calls * args.screens) as f64 / elapsed
    );
    Ok(())
}

/// A hub on a free loopback port for a benchmark, and how its staff and screens reach it.
pub(super) struct BenchHub {
    pub running: RunningHub,
    pub staff: ClientOptions,
    pub screen: ClientOptions,
}

impl BenchHub {
    /// Starts a hub with fresh tokens and the built-in hall, its journal in `data`.
    pub async fn start(
        data: PathBuf,
        timeout: Duration,
        tune: impl FnOnce(&mut Limits),
    ) -> anyhow::Result<BenchHub> {
        let mut config = HubConfig::generate();
        config.listen = "127.0.0.1:0".parse()?;
        tune(&mut config.limits);
        let token = |role| config.token_for(role).expect("generated configs have both roles").to_string();
        let (staff_token, display_token) = (token(Role::Staff), token(Role::Display));
        let options =
            HubOptions { config, data_dir: data, hall: Hall::builtin(), clock: hub::core::system_clock() };
        let running = hub::start(options).await?;
        let screen = ClientOptions {
            url: running.ws_url(),
            token: display_token,
            role: Role::Display,
            client: "bench-screen".into(),
            timeout,
        };
        let staff = ClientOptions {
            token: staff_token,
            role: Role::Staff,
            client: "bench-staff".into(),
            ..screen.clone()
        };
        Ok(BenchHub { running, staff, screen })
    }
}

fn call(number: u16) -> Command {
    let ticket = Ticket::new("A", number).expect("valid ticket");
    Command::Call(CallCommand { ticket, counter: 1, agency: None, service: None })
}

fn print_row(label: &str, samples: &mut [f64]) {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    println!("  {label:<34} {:>8.2} {:>8.2} {:>8.2}", at(0.5), at(0.99), at(1.0));
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Counts deliveries per call and notes when the last screen got each one.
struct Tracker {
    base: Seq,
    screens: u32,
    started: Instant,
    counts: Vec<AtomicU32>,
    done_nanos: Vec<AtomicU64>,
    /// Highest seq every screen has.
    delivered: tokio::sync::watch::Sender<Seq>,
}

impl Tracker {
    fn new(base: Seq, calls: usize, screens: usize) -> Tracker {
        Tracker {
            base,
            screens: screens as u32,
            started: Instant::now(),
            counts: (0..calls + 8).map(|_| AtomicU32::new(0)).collect(),
            done_nanos: (0..calls + 8).map(|_| AtomicU64::new(0)).collect(),
            delivered: tokio::sync::watch::channel(base).0,
        }
    }

    fn record(&self, seq: Seq) {
        let Some(i) = seq.checked_sub(self.base + 1).map(|i| i as usize).filter(|&i| i < self.counts.len())
        else {
            return;
        };
        if self.counts[i].fetch_add(1, Ordering::AcqRel) + 1 == self.screens {
            self.done_nanos[i].store(self.started.elapsed().as_nanos() as u64, Ordering::Release);
            self.delivered.send_modify(|last| *last = (*last).max(seq));
        }
    }

    fn done_at(&self, seq: Seq) -> Option<Instant> {
        let nanos = self.done_nanos.get(seq.checked_sub(self.base + 1)? as usize)?.load(Ordering::Acquire);
        Some(self.started + Duration::from_nanos(nanos))
    }
}

/// A screen: reads frames and records each event's seq (peeking, not parsing the whole frame).
async fn receive(mut session: Session, tracker: Arc<Tracker>) {
    const PREFIX: &str = r#"{"type":"event","seq":"#;
    while let Ok(Some(text)) = session.next_text().await {
        if let Some(rest) = text.strip_prefix(PREFIX) {
            let digits = rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
            if let Ok(seq) = digits.parse() {
                tracker.record(seq);
            }
        }
    }
}
