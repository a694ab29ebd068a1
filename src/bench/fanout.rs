//! `papan bench fanout`: hub fan-out latency from command to delivery at every screen, papan's
//! hub in or out of process (SQLite or JetStream journal) against mosquitto.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use futures_util::future::join_all;

use crate::client::{ClientOptions, Session};
use crate::hall::Hall;
use crate::hub::config::{HubConfig, Limits};
use crate::hub::jetstream::JetStreamOptions;
use crate::hub::{self, RunningHub};
use crate::process_stats::{Process, clock_ticks_per_second, cpu_ticks, status_kib};
use crate::protocol::{Call, CallCommand, Command, Event, EventFrame, HubFrame, Seq, Ticket};

use super::harness::{BenchHub, bench_clients, print_row};

#[derive(Args)]
pub struct FanoutArgs {
    #[arg(long, default_value_t = 1000)]
    screens: usize,
    /// What the screens connect to.
    #[arg(long, value_enum, default_value = "in-process")]
    server: FanoutServer,
    #[arg(long, default_value_t = 2000)]
    calls: usize,
    /// Folder for the benchmark's journal (default: a new temp folder, removed afterwards).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The hub's journal on NATS JetStream (nats://HOST:4222) instead of SQLite, under a fresh
    /// hall id (papan hub only).
    #[arg(long, value_name = "nats://HOST:PORT[,…]")]
    journal: Option<String>,
    /// Copies JetStream keeps of the hall's events (with --journal; at most the cluster's size).
    #[arg(long, default_value_t = 1, value_name = "N")]
    journal_replicas: usize,
}

/// What serves the screens in `papan bench fanout`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FanoutServer {
    /// papan's hub inside the bench process: hub and screens share one runtime.
    InProcess,
    /// `papan hub` in its own process, as in a hall; the bench process holds the screens.
    Process,
    /// mosquitto in its own process (the peer): MQTT 3.1.1 subscribers at QoS 0 get the same
    /// payload papan's screens get (an event frame of a call).
    Mosquitto,
}

/// Screens connecting at once while the bench sets up.
const CONNECT_CONCURRENCY: usize = 50;

pub(super) async fn run(args: FanoutArgs) -> anyhow::Result<()> {
    hub::raise_open_file_limit();
    let temp = std::env::temp_dir().join(format!("papan-bench-{}", std::process::id()));
    let data = args.data.clone().unwrap_or_else(|| temp.clone());
    std::fs::create_dir_all(&data)?;
    let result = fanout_in(&args, &data).await;
    if args.data.is_none() {
        let _ = std::fs::remove_dir_all(&temp);
    }
    result
}

/// The server under test, with what the bench needs to read its cost.
enum FanoutHub {
    InProcess(RunningHub),
    Child(super::harness::KillOnDrop),
}

/// Who sends the calls: papan's staff client (acked once durable) or an MQTT publisher.
enum Publisher {
    Papan(Box<Session>),
    /// `agency`: the agency of counter 1, resolved once so that no hall parsing is timed.
    Mqtt {
        mqtt: super::mqtt::Mqtt,
        next_seq: Seq,
        agency: String,
    },
}

impl Publisher {
    /// Sends call `i`: its seq, and (papan only) the time until the hub's ack.
    async fn send(&mut self, i: usize) -> anyhow::Result<(Seq, Option<Duration>)> {
        let sent = Instant::now();
        match self {
            Publisher::Papan(session) => {
                let seq = session.command(&format!("bench-{i}"), call(i as u16 % 9999 + 1)).await?.seq;
                Ok((seq, Some(sent.elapsed())))
            }
            Publisher::Mqtt { mqtt, next_seq, agency } => {
                *next_seq += 1;
                mqtt.publish(&call_event(*next_seq, i as u16 % 9999 + 1, agency)).await?;
                Ok((*next_seq, None))
            }
        }
    }
}

async fn fanout_in(args: &FanoutArgs, data: &std::path::Path) -> anyhow::Result<()> {
    let (server, mut publisher, tracker, screens, connect_secs) = match args.server {
        FanoutServer::InProcess | FanoutServer::Process => {
            let (server, staff, screen) = start_fanout_hub(args, data).await?;
            let mut session = Session::connect(&staff, 0).await.context("staff connecting")?;
            // The first command may start the service day (a reset event); get it out of the way.
            let base = session.command("bench-warmup", call(1)).await?.seq;
            let tracker = Arc::new(Tracker::new(base, args.calls, args.screens));
            let connect_started = Instant::now();
            let mut screens = Vec::with_capacity(args.screens);
            for chunk in (0..args.screens).collect::<Vec<_>>().chunks(CONNECT_CONCURRENCY) {
                let sessions = join_all(chunk.iter().map(|n| {
                    let screen = ClientOptions { client: format!("bench-screen-{n}"), ..screen.clone() };
                    async move { Session::connect(&screen, base).await }
                }))
                .await;
                for session in sessions {
                    screens
                        .push(tokio::spawn(receive(session.context("screen connecting")?, tracker.clone())));
                }
            }
            let secs = connect_started.elapsed().as_secs_f64();
            (server, Publisher::Papan(Box::new(session)), tracker, screens, secs)
        }
        FanoutServer::Mosquitto => {
            use super::mqtt::Mqtt;
            let (child, addr) = super::mqtt::start_mosquitto(data).await?;
            let tracker = Arc::new(Tracker::new(0, args.calls, args.screens));
            let connect_started = Instant::now();
            let mut screens = Vec::with_capacity(args.screens);
            for chunk in (0..args.screens).collect::<Vec<_>>().chunks(CONNECT_CONCURRENCY) {
                let subscribers = join_all(chunk.iter().map(|n| async move {
                    let mut mqtt = Mqtt::connect(addr, &format!("bench-screen-{n}")).await?;
                    mqtt.subscribe().await?;
                    anyhow::Ok(mqtt)
                }))
                .await;
                for mqtt in subscribers {
                    screens.push(tokio::spawn(receive_mqtt(
                        mqtt.context("screen subscribing")?,
                        tracker.clone(),
                    )));
                }
            }
            let secs = connect_started.elapsed().as_secs_f64();
            let mqtt = Mqtt::connect(addr, "bench-staff").await.context("publisher connecting")?;
            let agency = Hall::builtin().resolve_counter(1, None).map(|a| a.id.clone()).unwrap_or_default();
            (FanoutHub::Child(child), Publisher::Mqtt { mqtt, next_seq: 0, agency }, tracker, screens, secs)
        }
    };
    let child_pid = match &server {
        FanoutHub::Child(child) => Some(child.0.id()),
        FanoutHub::InProcess(_) => None,
    };
    let cpu_before = child_pid.map(|pid| cpu_ticks(Process::Pid(pid))).transpose()?;
    let metrics_url = match args.server {
        FanoutServer::InProcess | FanoutServer::Process => Some(hub_metrics_url(&publisher)?),
        FanoutServer::Mosquitto => None,
    };
    let commits_before = match &metrics_url {
        Some(url) => Some(journal_commits(url).await?),
        None => None,
    };

    let mut ack_ms = Vec::with_capacity(args.calls);
    let mut all_ms = Vec::with_capacity(args.calls);
    let started = Instant::now();
    let mut delivered = tracker.delivered.subscribe();
    for i in 0..args.calls {
        let sent = Instant::now();
        let (seq, acked) = publisher.send(i).await?;
        ack_ms.extend(acked.map(|d| d.as_secs_f64() * 1e3));
        tokio::time::timeout(Duration::from_secs(30), delivered.wait_for(|&last| last >= seq))
            .await
            .with_context(|| {
                format!("call seq {seq} did not reach all {} screens within 30 s", args.screens)
            })??;
        let done_at = tracker.done_at(seq).context("delivery time missing")?;
        all_ms.push(done_at.saturating_duration_since(sent).as_secs_f64() * 1e3);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let commits = match (&metrics_url, commits_before) {
        (Some(url), Some(before)) => Some(journal_commits(url).await?.since(before)),
        _ => None,
    };
    let server_cost = match (child_pid, cpu_before) {
        (Some(pid), Some(before)) => Some((
            (cpu_ticks(Process::Pid(pid))? - before) as f64 / clock_ticks_per_second(),
            status_kib(Process::Pid(pid), "VmHWM:")?,
        )),
        _ => None,
    };
    for task in screens {
        task.abort();
    }
    if let Publisher::Papan(session) = publisher {
        session.close().await;
    }
    let cut = match server {
        FanoutHub::InProcess(running) => {
            let cut = running.too_slow_count();
            running.stop().await?;
            Some(cut)
        }
        FanoutHub::Child(_) => None,
    };

    let (what, label) = match args.server {
        FanoutServer::InProcess => ("hub and screens in one process", "command → delivered to all screens"),
        FanoutServer::Process => ("`papan hub` in its own process", "command → delivered to all screens"),
        FanoutServer::Mosquitto => {
            ("mosquitto in its own process, MQTT QoS 0", "publish → delivered to all screens")
        }
    };
    let journal = match (args.server, &args.journal) {
        (FanoutServer::InProcess | FanoutServer::Process, Some(_)) if args.journal_replicas > 1 => {
            format!(", journal on NATS JetStream ({} replicas)", args.journal_replicas)
        }
        (FanoutServer::InProcess | FanoutServer::Process, Some(_)) => ", journal on NATS JetStream".into(),
        _ => String::new(),
    };
    println!("papan bench fanout — {what}{journal}, {} screens on this machine", args.screens);
    println!(
        "  cores: {}, calls: {} sent one after another, each waited until every screen had it",
        num_cpus(),
        args.calls
    );
    println!(
        "  screens connected in {connect_secs:.2} s{}",
        match cut {
            Some(cut) => format!("; screens cut as too slow: {cut}"),
            None => String::new(),
        }
    );
    println!("  {:<34} {:>8} {:>8} {:>8}", "latency (ms)", "p50", "p99", "max");
    if !ack_ms.is_empty() {
        print_row("command → ack (durable)", &mut ack_ms);
    }
    print_row(label, &mut all_ms);
    if let Some(commits) = commits {
        let how =
            if args.journal.is_some() { "publish and JetStream's ack" } else { "transaction and fsync" };
        println!(
            "  of which the journal's commit ({how}, timed in the hub): mean {:.2} ms over {} commits",
            commits.mean_ms(),
            commits.count
        );
    }
    println!(
        "  throughput: {:.0} calls/s ({:.0} frames/s delivered)",
        args.calls as f64 / elapsed,
        (args.calls * args.screens) as f64 / elapsed
    );
    if let Some((cpu_s, hwm_kib)) = server_cost {
        println!(
            "  server process: {:.1} s CPU over the calls ({:.1} µs per delivered frame), peak RSS {:.1} MiB",
            cpu_s,
            cpu_s * 1e6 / (args.calls * args.screens) as f64,
            hwm_kib as f64 / 1024.0
        );
    }
    Ok(())
}

/// Starts papan's hub in this process or as `papan hub`: (hub, staff, screen) options.
async fn start_fanout_hub(
    args: &FanoutArgs,
    data: &std::path::Path,
) -> anyhow::Result<(FanoutHub, ClientOptions, ClientOptions)> {
    let tune = |limits: &mut Limits| {
        // Every simulated screen is a screen of its own, and all come from this one address.
        limits.max_connections = args.screens + 16;
        limits.max_screens = args.screens + 16;
        limits.max_unauthenticated = args.screens + 16;
        limits.connections_per_peer = args.screens + 16;
        limits.commands_per_second = 1e9;
        limits.command_burst = 1e9;
    };
    let timeout = Duration::from_secs(30);
    // A hall of its own per run: earlier runs' events stay out of the measurement.
    let shared = args.journal.as_ref().map(|servers| JetStreamOptions {
        servers: servers.clone(),
        hall_id: format!("bench-{}-{}", std::process::id(), jiff::Timestamp::now().as_second()),
        replicas: args.journal_replicas,
    });
    if args.server == FanoutServer::InProcess {
        let BenchHub { running, staff, screen } =
            BenchHub::start(data.to_path_buf(), timeout, shared, tune).await?;
        return Ok((FanoutHub::InProcess(running), staff, screen));
    }
    let mut config = HubConfig::generate();
    tune(&mut config.limits);
    let config_path = data.join("hub.toml");
    let log = data.join("hub.log");
    std::fs::write(&config_path, toml::to_string(&config)?)?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args(["hub", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .arg("--data")
        .arg(data)
        .args(shared.iter().flat_map(|s| {
            ["--journal", &s.servers, "--hall-id", &s.hall_id, "--journal-replicas", &s.replicas.to_string()]
                .map(str::to_string)
        }))
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log)?)
        .spawn()
        .context("starting papan hub")?;
    let stdout = child.stdout.take().context("the hub's stdout")?;
    let child = super::harness::KillOnDrop(child);
    // The hub prints its address on stdout; keep reading so its later lines never block it.
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if let Some(addr) = line.split("listening on http://").nth(1)
                && let Some(tx) = tx.take()
            {
                let _ = tx.send(addr.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let log_tail = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    let addr = match tokio::time::timeout(Duration::from_secs(30), rx).await {
        Ok(Ok(addr)) => addr,
        Ok(Err(_)) => anyhow::bail!("papan hub exited before listening; the end of its log:\n{}", log_tail()),
        Err(_) => anyhow::bail!("papan hub did not print its address within 30 s; its log:\n{}", log_tail()),
    };
    let (staff, screen) = bench_clients(&config, format!("ws://{addr}/ws"), timeout);
    Ok((FanoutHub::Child(child), staff, screen))
}

/// The hub's `/metrics` address, from the staff client's WebSocket URL.
fn hub_metrics_url(publisher: &Publisher) -> anyhow::Result<String> {
    let Publisher::Papan(session) = publisher else { anyhow::bail!("not a papan hub") };
    let base = crate::client::http_base(session.url()).context("the hub's URL has no HTTP base")?;
    Ok(format!("{base}/metrics"))
}

/// Total time and number of journal commits so far, from the hub's histogram.
#[derive(Clone, Copy)]
struct Commits {
    seconds: f64,
    count: u64,
}

impl Commits {
    fn since(self, before: Commits) -> Commits {
        Commits { seconds: self.seconds - before.seconds, count: self.count - before.count }
    }

    fn mean_ms(self) -> f64 {
        self.seconds * 1e3 / self.count.max(1) as f64
    }
}

async fn journal_commits(metrics_url: &str) -> anyhow::Result<Commits> {
    let text = crate::tls::http_client().get(metrics_url).send().await?.error_for_status()?.text().await?;
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<f64>().ok())
            .with_context(|| format!("{name} missing from {metrics_url}"))
    };
    Ok(Commits {
        seconds: value("papan_journal_commit_seconds_sum")?,
        count: value("papan_journal_commit_seconds_count")? as u64,
    })
}

fn call(number: u16) -> Command {
    let ticket = Ticket::new("A", number).expect("valid ticket");
    Command::Call(CallCommand { ticket, counter: 1, agency: None, service: None })
}

/// The frame papan's screens receive for `call(number)` (counter 1 of `agency`), as the MQTT payload.
fn call_event(seq: Seq, number: u16, agency: &str) -> String {
    let ticket = Ticket::new("A", number).expect("valid ticket");
    let event =
        Event::Call(Call { ticket, counter: 1, agency: agency.to_string(), service: None, priority: None });
    HubFrame::Event(EventFrame { seq, at: jiff::Timestamp::now(), event }).to_json()
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

    /// Records an event frame's seq (peeking at its start, not parsing the whole frame).
    fn record_frame(&self, text: &str) {
        const PREFIX: &str = r#"{"type":"event","seq":"#;
        if let Some(rest) = text.strip_prefix(PREFIX) {
            let digits = rest.split(|c: char| !c.is_ascii_digit()).next().unwrap_or("");
            if let Ok(seq) = digits.parse() {
                self.record(seq);
            }
        }
    }

    fn done_at(&self, seq: Seq) -> Option<Instant> {
        let nanos = self.done_nanos.get(seq.checked_sub(self.base + 1)? as usize)?.load(Ordering::Acquire);
        Some(self.started + Duration::from_nanos(nanos))
    }
}

/// A screen: reads frames and records each event's seq.
async fn receive(mut session: Session, tracker: Arc<Tracker>) {
    while let Ok(Some(text)) = session.next_text().await {
        tracker.record_frame(&text);
    }
}

/// An MQTT screen: the same, for each PUBLISH payload.
async fn receive_mqtt(mut mqtt: super::mqtt::Mqtt, tracker: Arc<Tracker>) {
    while let Ok(Some(payload)) = mqtt.next_payload().await {
        tracker.record_frame(&String::from_utf8_lossy(&payload));
    }
}
