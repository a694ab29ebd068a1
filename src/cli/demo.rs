//! `papan demo`: an embedded hub, a screen's view of it, and simulated staff calling tickets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use crate::client::{ClientOptions, StaffLink, new_command_id};
use crate::display::{LayoutChoice, VoiceSetup};
use crate::feed::{Feed, FeedOptions, FeedUpdate};
use crate::hall::{Agency, Hall, TimeZone};
use crate::hub::config::HubConfig;
use crate::hub::{self, HubOptions, RunningHub};
use crate::protocol::{
    CallNextCommand, Command, CounterCommand, IssueCommand, Priority, RecallCommand, Role, TickerCommand,
};
use crate::voice::announcer::Announcer;
use crate::voice::pack::{DEFAULT_PACK_DIR, Pack};
use crate::voice::player::PlayerEvent;

#[derive(Args)]
pub struct DemoArgs {
    /// Where the embedded hub listens (falls back to a free port if taken).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Milliseconds between simulated staff actions.
    #[arg(long, default_value_t = 4000)]
    interval_ms: u64,
    /// Stop after this many simulated actions (default: run until Ctrl-C).
    #[arg(long)]
    calls: Option<u64>,
    /// Folder for the demo journal and the spoken WAVs (default: a new folder under the system temp dir).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Voice clip pack.
    #[arg(long, default_value = DEFAULT_PACK_DIR)]
    pack: PathBuf,
    /// Print the screen's view in the terminal instead of opening the display window.
    #[arg(long)]
    no_window: bool,
}

const WELCOME_TICKER: &str = "Selamat datang di Mal Pelayanan Publik Kota Palembang. \
    Siapkan KTP dan dokumen Anda sebelum dipanggil.";

pub(super) fn run(args: DemoArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("papan-demo-{}", std::process::id())));
    let hall = Hall::builtin();
    let (running, config) = runtime.block_on(start_hub(&args, &data, &hall))?;
    let token = |role| config.token_for(role).expect("generated configs have both roles").to_string();
    let (staff_token, display_token) = (token(Role::Staff), token(Role::Display));
    println!("papan demo — {}", hall.name);
    println!("  hub:      {} (WebSocket {})", running.http_url(), running.ws_url());
    println!("  journal:  {}", running.journal_path.display());
    println!("  staff token (this demo only):   {staff_token}");
    println!("  display token (this demo only): {display_token}");
    println!(
        "  staff console: {}/ (sign in with the staff token) · screens: {}/screens",
        running.http_url(),
        running.http_url()
    );
    println!("  try in another terminal: papan watch --hub {} --token {display_token}", running.ws_url());
    println!(
        "  or call yourself:        papan call A-123 --counter 2 --hub {} --token {staff_token}",
        running.ws_url()
    );
    let pack = match Pack::load(&args.pack) {
        Ok(pack) => {
            println!(
                "  voice:    {} — every announcement is also saved in {}",
                pack.manifest.name,
                data.join("voice").display()
            );
            Some(pack)
        }
        Err(e) => {
            println!("  voice:    off ({e})");
            None
        }
    };
    let window = if args.no_window {
        false
    } else if !has_graphics() {
        println!("  screen:   no graphical session (DISPLAY/WAYLAND_DISPLAY unset): printed here instead");
        false
    } else if let Err(e) = crate::display::find_gpu() {
        println!("  screen:   {e}; printed here instead");
        false
    } else {
        true
    };
    println!("  ({} stops)\n", if window { "closing the window or Ctrl-C" } else { "Ctrl-C" });

    let screen = ClientOptions {
        url: running.ws_url(),
        token: display_token,
        role: Role::Display,
        client: "demo-screen".into(),
        timeout: Duration::from_secs(5),
    };
    let staff = ClientOptions {
        token: staff_token,
        role: Role::Staff,
        client: "demo-staff".into(),
        ..screen.clone()
    };
    // The last seq the simulated staff made, once they are done (0 until then).
    let staff_done = Arc::new(AtomicU64::new(0));
    let staff_task = runtime.spawn({
        let (hall, done, limit) = (hall.clone(), staff_done.clone(), args.calls);
        let every = Duration::from_millis(args.interval_ms.max(50));
        async move {
            let last = match simulate_staff(&staff, &hall, limit, every).await {
                Ok(last) => last,
                Err(e) => {
                    println!("  staff   stopped: {e:#}");
                    1
                }
            };
            done.store(last.max(1), Ordering::Relaxed);
        }
    });
    if window {
        let mut feed = FeedOptions::new(screen);
        feed.cache_dir = Some(data.join("screen-cache"));
        crate::display::run(crate::display::DisplayOptions {
            feed,
            layout: LayoutChoice::Named("hall-landscape".into()),
            windowed: Some((1280, 720)),
            monitor: 0,
            screenshot: None,
            screenshot_after: Duration::ZERO,
            text_proof: false,
            voice: pack.map(|pack| VoiceSetup { pack, wav_dir: Some(data.join("voice")) }),
            // With --calls the demo ends once they are made, shown and spoken; without, when closed.
            quit_at_seq: args.calls.map(|_| staff_done),
            bench_log: None,
            images: "assets/images".into(),
            wait_for_x: Duration::from_secs(30),
        })?;
    } else {
        let announcer = pack.and_then(|pack| start_announcer(&hall, pack, &data.join("voice")));
        let stop_screen = Arc::new(AtomicBool::new(false));
        let screen_thread = std::thread::spawn({
            let (stop, quit_at, timezone) = (stop_screen.clone(), staff_done.clone(), hall.timezone);
            move || {
                show_screen(screen, timezone, announcer.as_ref(), &quit_at, &stop);
                // Let what was called finish speaking, as a hall would.
                if let Some(announcer) = announcer {
                    announcer.finish();
                }
            }
        });
        runtime.block_on(async {
            tokio::select! {
                _ = async { while !screen_thread.is_finished() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                } } => {}
                _ = hub::shutdown::os_signal() => stop_screen.store(true, Ordering::Relaxed),
            }
        });
        let _ = screen_thread.join();
    }
    staff_task.abort();
    runtime.block_on(running.stop())?;
    println!("\ndemo stopped; its journal and spoken WAVs stay in {}", data.display());
    Ok(())
}

fn has_graphics() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()))
}

async fn start_hub(
    args: &DemoArgs,
    data: &std::path::Path,
    hall: &Hall,
) -> anyhow::Result<(RunningHub, HubConfig)> {
    let mut config = HubConfig::generate();
    config.listen = args.listen;
    let options = |config: &HubConfig| HubOptions {
        config: config.clone(),
        data_dir: data.to_path_buf(),
        hall: hall.clone(),
        clock: hub::core::system_clock(),
        shared_journal: None,
    };
    match hub::start(options(&config)).await {
        Ok(running) => Ok((running, config)),
        Err(e) if is_addr_in_use(&e) => {
            println!("{} is taken; the demo hub uses a free port instead", args.listen);
            config.listen = SocketAddr::new(args.listen.ip(), 0);
            Ok((hub::start(options(&config)).await?, config))
        }
        Err(e) => Err(e),
    }
}

fn is_addr_in_use(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::AddrInUse)
}

/// A screen's view through the same feed a display uses: printed as it arrives, and spoken.
/// Returns when stopped, or once the board reached `quit_at` (0: not yet asked).
fn show_screen(
    options: ClientOptions,
    timezone: TimeZone,
    announcer: Option<&Announcer>,
    quit_at: &AtomicU64,
    stop: &AtomicBool,
) {
    let feed = Feed::start(FeedOptions::new(options), None);
    let mut seq = 0;
    while !stop.load(Ordering::Relaxed) {
        let target = quit_at.load(Ordering::Relaxed);
        if target > 0 && seq >= target {
            return;
        }
        match feed.updates.recv_timeout(Duration::from_millis(100)) {
            Ok(FeedUpdate::Event { frame, replayed }) => {
                seq = frame.seq;
                println!("  screen  {}", super::staff::describe_event(&frame, timezone));
                if let Some(announcer) = announcer {
                    announcer.announce(&frame, replayed);
                }
            }
            Ok(FeedUpdate::Board { board, .. }) => {
                println!("  screen  board at seq {}", board.seq);
                seq = board.seq;
            }
            Ok(FeedUpdate::Online) => println!("  screen  online"),
            Ok(FeedUpdate::Services { standards }) => match standards {
                Some(standards) => {
                    let services: usize = standards.values().map(Vec::len).sum();
                    println!("  screen  {services} service standards of {} agencies", standards.len());
                }
                None => println!("  screen  service standards not available"),
            },
            Ok(FeedUpdate::Identify { .. } | FeedUpdate::Screenshot) => {
                println!("  screen  (the fleet page's identify and screenshot need the window)");
            }
            Ok(FeedUpdate::Offline { reason }) => println!("  screen  OFFLINE: {reason}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Agencies the demo hall is busy at: their tickets are handed out, served and missed.
const DEMO_AGENCIES: [&str; 8] =
    ["disdukcapil", "samsat", "imigrasi", "bpjs-kesehatan", "bni", "pln", "polresta", "bppd-kota"];

/// A busy morning: a kiosk hands out tickets (some priority), staff end their counter's service
/// (now and then the citizen does not come), call the next ticket of the queue, and now and then
/// recall. Each call or recall is one action of `limit`.
async fn simulate_staff(
    options: &ClientOptions,
    hall: &Hall,
    limit: Option<u64>,
    every: Duration,
) -> anyhow::Result<u64> {
    // The calls may be further apart than the hub waits for an unread session: the link reconnects.
    let mut staff = StaffLink::connect(options.clone()).await.context("demo staff connecting")?;
    let ticker = Command::Ticker(TickerCommand { text: WELCOME_TICKER.into() });
    let mut last_seq = staff.command(&new_command_id(), ticker).await?.seq;
    let agencies: Vec<&Agency> = DEMO_AGENCIES.iter().filter_map(|id| hall.agency(id)).collect();
    anyhow::ensure!(!agencies.is_empty(), "the demo hall has none of the demo agencies");
    // Tickets waiting per agency, so staff call only where someone waits.
    let mut waiting: HashMap<&str, u32> = HashMap::new();
    // A queue to start from: two tickets at each busy agency.
    for agency in &agencies {
        for _ in 0..2 {
            if let Some(seq) = issue(&mut staff, agency).await {
                last_seq = seq;
                *waiting.entry(agency.id.as_str()).or_default() += 1;
            }
        }
    }
    let mut serving: Vec<(u16, String)> = Vec::new();
    // The first call waits one interval, so the screen has joined and hears it.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut done = 0u64;
    while limit.is_none_or(|limit| done < limit) {
        tick.tick().await;
        // Citizens keep arriving: one or two tickets each time.
        for _ in 0..fastrand::usize(1..=2) {
            let agency = agencies[fastrand::usize(..agencies.len())];
            if let Some(seq) = issue(&mut staff, agency).await {
                last_seq = seq;
                *waiting.entry(agency.id.as_str()).or_default() += 1;
            }
        }
        let (command, what) = if done % 4 == 3 && !serving.is_empty() {
            let (counter, agency) = serving[fastrand::usize(..serving.len())].clone();
            let recall = Command::Recall(RecallCommand { counter, agency: Some(agency), ticket: None });
            (recall, format!("recall loket {counter}"))
        } else {
            let busy: Vec<&Agency> = agencies
                .iter()
                .copied()
                .filter(|a| waiting.get(a.id.as_str()).is_some_and(|n| *n > 0))
                .collect();
            // Nobody waits only when the kiosk could not issue (the hub refused): try again next time.
            if busy.is_empty() {
                continue;
            }
            let agency = busy[fastrand::usize(..busy.len())];
            *waiting.entry(agency.id.as_str()).or_default() -= 1;
            let counter = agency.counters[fastrand::usize(..agency.counters.len())];
            // The counter ends its current ticket first: served, or now and then not come.
            let ending = CounterCommand { counter, agency: Some(agency.id.clone()) };
            let (ending, word) = if fastrand::u8(..10) == 0 {
                (Command::NoShow(ending), "tidak hadir")
            } else {
                (Command::Done(ending), "selesai")
            };
            if serving.iter().any(|(c, a)| *c == counter && *a == agency.id)
                && let Ok(ack) = staff.command(&new_command_id(), ending).await
            {
                println!("  staff   {word} loket {counter}: seq {}", ack.seq);
                last_seq = ack.seq;
            }
            serving.retain(|(c, a)| !(*c == counter && *a == agency.id));
            serving.push((counter, agency.id.clone()));
            let next =
                Command::CallNext(CallNextCommand { counter, agency: Some(agency.id.clone()), letter: None });
            (next, format!("call next → loket {counter} ({})", agency.short))
        };
        match staff.command(&new_command_id(), command).await {
            Ok(ack) => {
                println!("  staff   {what}: ack seq {}", ack.seq);
                last_seq = ack.seq;
            }
            Err(e) => println!("  staff   {what}: {e}"),
        }
        done += 1;
    }
    staff.close().await;
    Ok(last_seq)
}

/// The kiosk hands out a ticket at `agency` (one in ten a priority ticket); its seq.
async fn issue(staff: &mut StaffLink, agency: &Agency) -> Option<u64> {
    let priority = (fastrand::u8(..10) == 0).then_some(Priority::Lansia);
    let command = Command::Issue(IssueCommand {
        agency: agency.id.clone(),
        ticket: None,
        letter: None,
        service: None,
        priority,
    });
    match staff.command(&new_command_id(), command).await {
        Ok(ack) => {
            if let Some(issued) = &ack.issued {
                println!(
                    "  kiosk   {} ({}){}: {} ahead, {}",
                    issued.ticket,
                    agency.short,
                    if priority.is_some() { " prioritas" } else { "" },
                    issued.ahead,
                    crate::waiting::estimate_text(issued.estimate)
                );
            }
            Some(ack.seq)
        }
        Err(e) => {
            println!("  kiosk   issue at {}: {e}", agency.short);
            None
        }
    }
}

/// The terminal demo's announcer: prints what the player does.
fn start_announcer(hall: &Hall, pack: Pack, wav_dir: &Path) -> Option<Announcer> {
    let (events, rx) = std::sync::mpsc::channel();
    let announcer = match Announcer::start(hall.clone(), pack, events).keep_wavs_in(wav_dir.to_path_buf()) {
        Ok(announcer) => announcer,
        Err(e) => {
            eprintln!("demo voice: cannot create {}: {e}", wav_dir.display());
            return None;
        }
    };
    std::thread::spawn(move || {
        for event in rx {
            match event {
                PlayerEvent::Started { seq, .. } => println!("  voice   ▶ #{seq} speaking"),
                PlayerEvent::Merged { seq, into } => {
                    println!("  voice   #{seq} is the same call as #{into}: merged")
                }
                PlayerEvent::Dropped { seq, waited } => {
                    println!("  voice   #{seq} dropped: waited {waited:?}")
                }
                PlayerEvent::DeviceUnavailable(problem) => {
                    println!("  voice   no audio output ({problem}); WAVs are still written, retrying")
                }
                PlayerEvent::DeviceReady => println!("  voice   audio output ready"),
                PlayerEvent::Finished { .. } => {}
            }
        }
    });
    Some(announcer)
}
