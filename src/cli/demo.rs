//! `papan demo`: an embedded hub, a screen's view of it, and simulated staff calling tickets.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;

use crate::client::{ClientOptions, Session, new_command_id};
use crate::feed::{Feed, FeedOptions, FeedUpdate};
use crate::hall::{Hall, TimeZone};
use crate::hub::config::HubConfig;
use crate::hub::{self, HubOptions, RunningHub};
use crate::protocol::{CallCommand, Command, EventFrame, RecallCommand, Role, TickerCommand, Ticket};
use crate::voice::pack::{DEFAULT_PACK_DIR, Pack};
use crate::voice::player::{AudioPlayer, PlayerEvent, PlayerOptions, Queued};
use crate::voice::render::{render, write_wav};
use crate::voice::script::{merge_key, script};

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
}

const WELCOME_TICKER: &str = "Selamat datang di Mal Pelayanan Publik Kota Palembang. \
    Siapkan KTP dan dokumen Anda sebelum dipanggil.";

pub(super) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let data = args
        .data
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("papan-demo-{}", std::process::id())));
    let hall = Hall::builtin();
    let (running, config) = start_hub(&args, &data, &hall).await?;
    let token = |role| config.token_for(role).expect("generated configs have both roles").to_string();
    let (staff_token, display_token) = (token(Role::Staff), token(Role::Display));
    println!("papan demo — {}", hall.name);
    println!("  hub:      {} (WebSocket {})", running.http_url(), running.ws_url());
    println!("  journal:  {}", running.journal_path.display());
    println!("  staff token (this demo only):   {staff_token}");
    println!("  display token (this demo only): {display_token}");
    println!("  try in another terminal: papan watch --hub {} --token {display_token}", running.ws_url());
    println!(
        "  or call yourself:        papan call A-123 --counter 2 --hub {} --token {staff_token}",
        running.ws_url()
    );
    let announcer = Announcer::start(hall.clone(), &args.pack, &data.join("voice"));
    match &announcer {
        Some(a) => println!(
            "  voice:    {} — every announcement is also saved in {}",
            a.pack.manifest.name,
            a.wav_dir.display()
        ),
        None => println!("  voice:    off (no usable clip pack at {})", args.pack.display()),
    }
    println!("  (the bevy screen joins the demo when it lands; Ctrl-C stops)\n");

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
    let stop_screen = Arc::new(AtomicBool::new(false));
    let screen_task = tokio::task::spawn_blocking({
        let (stop, announcer, timezone) = (stop_screen.clone(), announcer.clone(), hall.timezone);
        move || show_screen(screen, timezone, announcer, &stop)
    });
    let simulated = tokio::select! {
        result = simulate_staff(&staff, &hall, args.calls, Duration::from_millis(args.interval_ms.max(50))) => result,
        _ = hub::shutdown::os_signal() => Ok(()),
    };
    stop_screen.store(true, Ordering::Relaxed);
    screen_task.await?;
    running.stop().await?;
    if let Some(announcer) = announcer {
        // Let what was called finish speaking, as a hall would.
        if let Ok(announcer) = Arc::try_unwrap(announcer) {
            tokio::task::spawn_blocking(move || announcer.player.finish()).await?;
        }
    }
    println!("\ndemo stopped; its journal stays in {}", data.display());
    simulated
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
fn show_screen(
    options: ClientOptions,
    timezone: TimeZone,
    announcer: Option<Arc<Announcer>>,
    stop: &AtomicBool,
) {
    let feed = Feed::start(FeedOptions::new(options), None);
    while !stop.load(Ordering::Relaxed) {
        match feed.updates.recv_timeout(Duration::from_millis(100)) {
            Ok(FeedUpdate::Event(event)) => {
                println!("  screen  {}", super::staff::describe_event(&event, timezone));
                if let Some(announcer) = &announcer {
                    announcer.announce(&event);
                }
            }
            Ok(FeedUpdate::Board { board, .. }) => println!("  screen  board at seq {}", board.seq),
            Ok(FeedUpdate::Online) => println!("  screen  online"),
            Ok(FeedUpdate::Offline { reason }) => println!("  screen  OFFLINE: {reason}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Calls tickets at random counters, with an occasional recall, like a busy morning.
async fn simulate_staff(
    options: &ClientOptions,
    hall: &Hall,
    limit: Option<u64>,
    every: Duration,
) -> anyhow::Result<()> {
    let mut session = Session::connect(options, 0).await.context("demo staff connecting")?;
    let ticker = Command::Ticker(TickerCommand { text: WELCOME_TICKER.into() });
    session.command(&new_command_id(), ticker).await?;
    let mut next_number: HashMap<String, u16> = HashMap::new();
    let mut serving: Vec<u16> = Vec::new();
    let mut tick = tokio::time::interval(every);
    let mut done = 0u64;
    while limit.is_none_or(|limit| done < limit) {
        tick.tick().await;
        let command = if done % 4 == 3 && !serving.is_empty() {
            let counter = serving[fastrand::usize(..serving.len())];
            Command::Recall(RecallCommand { counter, agency: None, ticket: None })
        } else {
            let agency = &hall.agencies[fastrand::usize(..hall.agencies.len())];
            let counter = agency.counters[fastrand::usize(..agency.counters.len())];
            let letter = agency.letters.first().map_or("A", String::as_str);
            let number = next_number.entry(letter.to_string()).or_insert(0);
            *number = *number % crate::protocol::MAX_TICKET_NUMBER + 1;
            serving.push(counter);
            let ticket = Ticket::new(letter, *number).expect("hall letters are valid");
            Command::Call(CallCommand { ticket, counter, agency: Some(agency.id.clone()), service: None })
        };
        let what = match &command {
            Command::Call(c) => format!("call {} → loket {}", c.ticket, c.counter),
            Command::Recall(r) => format!("recall loket {}", r.counter),
            _ => unreachable!("the demo sends calls and recalls"),
        };
        match session.command(&new_command_id(), command).await {
            Ok(ack) => println!("  staff   {what}: ack seq {}", ack.seq),
            Err(e) => println!("  staff   {what}: {e}"),
        }
        done += 1;
    }
    session.close().await;
    Ok(())
}

/// The demo's announcer: renders what each event says, keeps it as a WAV, and plays it.
struct Announcer {
    hall: Hall,
    pack: Pack,
    player: AudioPlayer,
    wav_dir: PathBuf,
}

impl Announcer {
    fn start(hall: Hall, pack_dir: &Path, wav_dir: &Path) -> Option<Arc<Announcer>> {
        let pack = match Pack::load(pack_dir) {
            Ok(pack) => pack,
            Err(e) => {
                eprintln!("demo voice: {e}");
                return None;
            }
        };
        if let Err(e) = std::fs::create_dir_all(wav_dir) {
            eprintln!("demo voice: cannot create {}: {e}", wav_dir.display());
            return None;
        }
        let (events, rx) = std::sync::mpsc::channel();
        let player =
            AudioPlayer::spawn(PlayerOptions { rate: pack.rate(), ..PlayerOptions::default() }, events);
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
        Some(Arc::new(Announcer { hall, pack, player, wav_dir: wav_dir.to_path_buf() }))
    }

    fn announce(&self, frame: &EventFrame) {
        let (Some(tokens), Some(key)) = (script(&self.hall, &frame.event), merge_key(&frame.event)) else {
            return;
        };
        let rendered = render(&tokens, &self.pack, self.hall.voice.gap_ms, self.hall.voice.repeat_gap_ms);
        let wav = self.wav_dir.join(format!("{:05}-{}.wav", frame.seq, frame.event.kind()));
        if let Err(e) = write_wav(&wav, &rendered) {
            eprintln!("demo voice: writing {}: {e}", wav.display());
        }
        let samples = rendered.samples.into();
        self.player.enqueue(Queued { seq: frame.seq, key, samples, queued_at: Instant::now() });
    }
}
