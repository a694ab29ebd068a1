//! The hall's hub: WebSocket `/ws`, HTTP API and the durable journal, started as one unit.

pub mod admission;
pub mod auth;
pub mod city_link;
pub mod config;
mod connection;
pub mod core;
pub mod files;
pub mod fleet;
pub mod history;
pub mod http;
pub mod http_server;
pub mod jetstream;
pub mod journal;
pub(crate) mod log_throttle;
pub mod metrics;
pub(crate) mod pages;
pub mod public;
mod qr;
pub mod rate;
pub mod report;
pub(crate) mod saved_list;
pub mod server;
pub mod shutdown;

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::Semaphore;

use self::admission::Admission;
use self::auth::Tokens;
use self::config::HubConfig;
use self::core::{Clock, CoreOptions};
use self::files::ConfigFiles;
use self::fleet::Fleet;
use self::jetstream::{JetStreamJournal, JetStreamOptions};
use self::journal::{Journal, SqliteJournal};
use self::log_throttle::LogThrottle;
use self::metrics::Metrics;
use self::rate::RateLimiter;
use self::server::Shared;
use self::shutdown::{JOURNAL_DEADLINE, ShutdownTrigger};
use crate::hall::Hall;

/// How long shutdown waits for connections to say goodbye: past the journal deadline, by which
/// a connection waiting for the journal has its answer.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(JOURNAL_DEADLINE.as_secs() + 1);
/// How long shutdown waits for the day check, the screen list's last save and the city link.
const HELPERS_TIMEOUT: Duration = Duration::from_secs(2);
/// The writer ends right after the last command is answered; this is its time to do so.
const WRITER_GRACE: Duration = Duration::from_millis(500);
/// At most one log line per this window about refused connections.
const REFUSAL_LOG_WINDOW: Duration = Duration::from_secs(10);

/// The day history in the data folder (see [`history`]).
pub const HISTORY_FILE: &str = "history.sqlite";

/// Survey answers an address may send, sustained and at once: a hall's guest Wi-Fi shows every
/// phone as one address, and each phone answers once.
const SURVEYS_PER_SECOND: f64 = 1.0;
const SURVEY_BURST: f64 = 20.0;

/// Everything needed to start a hub.
#[derive(Clone)]
pub struct HubOptions {
    pub config: HubConfig,
    /// Folder for the journal and lock file.
    pub data_dir: PathBuf,
    pub hall: Hall,
    pub clock: Clock,
    /// The hall's events on a NATS JetStream stream (shared with other hubs) instead of the
    /// SQLite file in `data_dir`.
    pub shared_journal: Option<JetStreamOptions>,
}

impl RunningHub {
    /// Watches the hall file and layouts folder, sending every good edit to the screens.
    pub fn watch_files(&self, files: ConfigFiles, hall: Hall) {
        let watched = files::Watched::new(files, hall);
        tokio::spawn(files::watch(watched, self.shared.core.clone(), self.shared.shutdown.clone()));
    }
}

/// A started hub; dropping it does not stop it: call [`RunningHub::stop`].
pub struct RunningHub {
    pub addr: SocketAddr,
    tls: bool,
    pub journal_path: PathBuf,
    /// Where the journal is, for people: the SQLite file or the JetStream stream.
    pub journal_label: String,
    shared: Arc<Shared>,
    trigger: ShutdownTrigger,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningHub {
    /// `ws://…/ws` (`wss://` with TLS) URL of this hub (loopback when it listens on all addresses).
    pub fn ws_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/ws", client_addr(self.addr))
    }

    /// `http://…` (`https://` with TLS) base URL.
    pub fn http_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", client_addr(self.addr))
    }

    /// Clients cut so far for not keeping up.
    pub fn too_slow_count(&self) -> u64 {
        self.shared.metrics.too_slow_count()
    }

    /// Times another hub on the shared journal stored events first and this one decided again.
    pub fn journal_conflict_count(&self) -> u64 {
        self.shared.metrics.journal_conflict_count()
    }

    /// Stops accepting, closes every socket, commits the journal and waits for all of it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.trigger.trigger();
        drop(self.shared);
        self.task.await.context("hub task panicked")?
    }
}

pub(crate) fn client_addr(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => SocketAddr::from(([127, 0, 0, 1], a.port())),
        SocketAddr::V6(a) if a.ip().is_unspecified() => {
            SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], a.port()))
        }
        other => other,
    }
}

/// Opens the journal, binds the listener and starts serving.
pub async fn start(options: HubOptions) -> anyhow::Result<RunningHub> {
    start_on(options, None).await
}

/// [`start`], on `journal` instead of the one the options name when given (tests stall it).
async fn start_on(options: HubOptions, journal: Option<Box<dyn Journal>>) -> anyhow::Result<RunningHub> {
    let HubOptions { config, data_dir, hall, clock, shared_journal } = options;
    // Certificate problems are found before anything else starts.
    let tls = match &config.tls {
        Some(files) => Some(crate::tls::server_config(&files.cert, &files.key)?),
        None => None,
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data folder {}", data_dir.display()))?;
    let lock = lock_data_dir(&data_dir)?;
    let journal_path = data_dir.join("journal.sqlite");
    let screens_path = data_dir.join("screens.json");
    let (journal, journal_label): (Box<dyn Journal>, String) = match (journal, &shared_journal) {
        (Some(journal), _) => (journal, "the given journal".to_string()),
        (None, None) => {
            let journal = SqliteJournal::open(&journal_path)
                .with_context(|| format!("opening the journal {}", journal_path.display()))?;
            (Box::new(journal), journal_path.display().to_string())
        }
        (None, Some(options)) => {
            let journal = JetStreamJournal::open(options.clone())
                .await
                .with_context(|| format!("opening the journal, {}", options.describe()))?;
            (Box::new(journal), options.describe())
        }
    };
    let metrics = Arc::new(Metrics::default());
    let (trigger, shutdown) = shutdown::channel();
    let options = CoreOptions {
        clock,
        send_queue: config.limits.send_queue,
        journal_keep: config.limits.journal_keep,
        metrics: metrics.clone(),
        shutdown: shutdown.clone(),
        history: Some(data_dir.join(HISTORY_FILE)),
    };
    let (core, writer_done) = self::core::spawn(journal, Arc::new(hall), options)
        .with_context(|| format!("recovering the journal {journal_label}"))?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let max_connections = config.limits.max_connections;
    let admission = Admission::new(config.limits.max_unauthenticated, config.limits.connections_per_peer);

    let fleet = Arc::new(Fleet::restore(&screens_path, config.limits.max_screens));
    let shared = Arc::new(Shared {
        core: core.clone(),
        tokens: Tokens::new(&config.tokens),
        rate: RateLimiter::new(config.limits.commands_per_second, config.limits.command_burst),
        connections: Arc::new(Semaphore::new(max_connections)),
        uploads: Semaphore::new(http::UPLOADS_AT_ONCE),
        allowed_origins: config.allowed_origins.clone(),
        public_places: Admission::new(config.limits.max_public, config.limits.public_per_peer),
        phones: public::PhoneRuntime::start().context("starting the phone pages' thread")?,
        history: data_dir.join(HISTORY_FILE),
        survey_rate: RateLimiter::new(SURVEYS_PER_SECOND, SURVEY_BURST),
        standards: Default::default(),
        limits: config.limits,
        shutdown: shutdown.clone(),
        metrics,
        fleet,
        refusals: LogThrottle::new(REFUSAL_LOG_WINDOW),
    });

    let day_check = tokio::spawn(check_day_periodically(core, shutdown.clone()));
    let fleet_saver = tokio::spawn(save_fleet(shared.fleet.clone(), screens_path, shutdown.clone()));
    let city_link = match &shared_journal {
        Some(journal) => Some(link_to_city(journal, addr, &shared).await),
        None => None,
    };
    let app = server::router(shared.clone());
    let connections = shared.connections.clone();
    let serving = tokio::spawn(http_server::serve(listener, tls.clone(), app, admission, shutdown.clone()));
    let journal_for_log = journal_label.clone();
    let mut stopping = shutdown.clone();
    let task = tokio::spawn(async move {
        stopping.wait().await;
        // All at once, each bounded from the signal: the HTTP server finishing the requests in
        // flight; WebSockets, which outlive it, giving their permits back (one waiting for the
        // journal answers its client by the journal deadline); the helper tasks.
        let drained = async {
            if tokio::time::timeout(DRAIN_TIMEOUT, connections.acquire_many(max_connections as u32))
                .await
                .is_err()
            {
                tracing::warn!("some connections did not close within {DRAIN_TIMEOUT:?}");
            }
        };
        let helpers = async {
            let helpers = async {
                let _ = day_check.await;
                let _ = fleet_saver.await;
                if let Some(city_link) = city_link {
                    let _ = city_link.await;
                }
            };
            if tokio::time::timeout(HELPERS_TIMEOUT, helpers).await.is_err() {
                tracing::warn!("the hub's helper tasks did not stop within {HELPERS_TIMEOUT:?}");
            }
        };
        let served = async {
            if serving.await.is_err() {
                tracing::error!("the HTTP server panicked");
            }
        };
        tokio::join!(served, drained, helpers);
        // The writer stops once the last handle is gone, after committing what was queued; it
        // may be stuck on a journal out of reach (NATS down, a stalled disk), so it gets until
        // the deadline and the process does not wait for it beyond. Done counts over late.
        let writer = tokio::select! {
            biased;
            done = writer_done => Some(done),
            _ = stopping.passed(JOURNAL_DEADLINE + WRITER_GRACE) => None,
        };
        drop(lock);
        match writer {
            Some(Ok(())) => Ok(()),
            Some(Err(_)) => anyhow::bail!("the journal writer panicked"),
            None => {
                let secs = (JOURNAL_DEADLINE + WRITER_GRACE).as_secs_f32();
                tracing::error!(journal = %journal_for_log, "the journal did not finish within {secs} s of the signal; commands it had not confirmed were answered shutting_down");
                anyhow::bail!(
                    "stopped without the journal ({journal_for_log}) confirming everything within {secs} s; \
                     no acked call is lost, unconfirmed ones were refused"
                )
            }
        }
    });
    tracing::info!(%addr, tls = tls.is_some(), journal = %journal_label, "hub started");
    Ok(RunningHub { addr, tls: tls.is_some(), journal_path, journal_label, shared, trigger, task })
}

/// Reports the hall to the city view and takes its commands, over the journal's NATS servers.
/// Without the link the hall works on; only the city does not see it.
async fn link_to_city(
    journal: &JetStreamOptions,
    addr: SocketAddr,
    shared: &Arc<Shared>,
) -> tokio::task::JoinHandle<()> {
    let hub = city_link::hub_name(addr.port());
    let side = city_link::HubSide {
        hall_id: journal.hall_id.clone(),
        hub: hub.clone(),
        core: shared.core.clone(),
        fleet: shared.fleet.clone(),
        history: shared.history.clone(),
    };
    let shutdown = shared.shutdown.clone();
    let (name, inbox) =
        (format!("papan-hub {hub} {}", journal.hall_id), city_link::inbox_prefix(&journal.hall_id));
    match city_link::connect(&journal.servers, name, inbox).await {
        Ok(client) => tokio::spawn(city_link::serve(client, side, shutdown)),
        Err(e) => {
            tracing::error!(
                "the city view will not see this hall: connecting to {}: {e}",
                jetstream::redact_servers(&journal.servers)
            );
            tokio::spawn(async {})
        }
    }
}

/// Starts a new service day at midnight even when no one calls.
async fn check_day_periodically(core: self::core::CoreHandle, mut shutdown: shutdown::Shutdown) {
    let mut every = tokio::time::interval(self::core::DAY_CHECK_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = every.tick() => {
                if !core.check_day().await {
                    return;
                }
            }
        }
    }
}

/// Keeps `screens.json` up to date; writes it a last time at shutdown.
async fn save_fleet(fleet: Arc<Fleet>, path: PathBuf, shutdown: shutdown::Shutdown) {
    saved_list::keep_saved(path, "screen list", shutdown, |path| fleet.save_if_changed(path)).await
}

/// One hub per data folder: two would hand out the same seqs.
fn lock_data_dir(data_dir: &Path) -> anyhow::Result<File> {
    let path = data_dir.join("hub.lock");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            anyhow::bail!(
                "another papan hub is already using {} (lock {})",
                data_dir.display(),
                path.display()
            )
        }
        Err(std::fs::TryLockError::Error(e)) => Err(e).with_context(|| format!("locking {}", path.display())),
    }
}

/// Lets one process hold many sockets (1000 screens need more than the usual 1024 files).
pub fn raise_open_file_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::debug!(limit, "open file limit"),
        Err(e) => tracing::warn!("could not raise the open file limit: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Condvar, Mutex};
    use std::time::Instant;

    use super::*;
    use crate::board::Board;
    use crate::client::{ClientError, ClientOptions, Session};
    use crate::hub::journal::{Entry, JournalError, StoredCommand};
    use crate::protocol::{CallCommand, Command, ErrorCode, EventFrame, Role, Seq};

    /// A SQLite journal whose disk stops answering on request: `append` blocks, as a commit's
    /// fsync does on a stalled disk, until the stall is lifted.
    struct StallingJournal {
        inner: SqliteJournal,
        stalled: Arc<(Mutex<bool>, Condvar)>,
    }

    impl Journal for StallingJournal {
        fn recover(&mut self) -> Result<Board, JournalError> {
            self.inner.recover()
        }
        fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
            let (stalled, lifted) = &*self.stalled;
            let _stall = lifted.wait_while(stalled.lock().unwrap(), |stalled| *stalled).unwrap();
            self.inner.append(entries)
        }
        fn stored_command(&mut self, id: &str) -> Result<Option<StoredCommand>, JournalError> {
            self.inner.stored_command(id)
        }
        fn events_since(&mut self, since: Seq, max: usize) -> Result<Option<Vec<EventFrame>>, JournalError> {
            self.inner.events_since(since, max)
        }
        fn compact(&mut self, board: &Board, keep: u64) -> Result<(), JournalError> {
            self.inner.compact(board, keep)
        }
        fn event_count(&mut self) -> Result<u64, JournalError> {
            self.inner.event_count()
        }
        fn size_bytes(&mut self) -> Result<u64, JournalError> {
            self.inner.size_bytes()
        }
    }

    fn call(ticket: &str) -> Command {
        Command::Call(CallCommand {
            ticket: ticket.parse().unwrap(),
            counter: 1,
            agency: None,
            service: None,
        })
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stalled_journal_delays_shutdown_only_until_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let stalled = Arc::new((Mutex::new(false), Condvar::new()));
        let journal = StallingJournal {
            inner: SqliteJournal::open(&dir.path().join("stalling.sqlite")).unwrap(),
            stalled: stalled.clone(),
        };
        let mut config = HubConfig::generate();
        config.listen = "127.0.0.1:0".parse().unwrap();
        let options = HubOptions {
            config: config.clone(),
            data_dir: dir.path().join("data"),
            hall: Hall::builtin(),
            clock: self::core::system_clock(),
            shared_journal: None,
        };
        let hub = start_on(options, Some(Box::new(journal))).await.unwrap();
        let staff = ClientOptions {
            url: hub.ws_url(),
            token: config.token_for(Role::Staff).unwrap().to_string(),
            role: Role::Staff,
            client: "stall-test".into(),
            timeout: Duration::from_secs(20),
        };
        let mut session = Session::connect(&staff, 0).await.unwrap();
        let stored = session.command("before-stall", call("A-1")).await.unwrap();

        *stalled.0.lock().unwrap() = true;
        let waiting = tokio::spawn(async move { session.command("during-stall", call("A-2")).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        let stopping = Instant::now();
        let stopped = tokio::time::timeout(JOURNAL_DEADLINE * 3, hub.stop()).await;
        let took = stopping.elapsed();
        let answer = waiting.await.unwrap();
        // Let the writer thread finish before the folder goes.
        *stalled.0.lock().unwrap() = false;
        stalled.1.notify_all();

        let stopped = stopped.unwrap_or_else(|_| panic!("the hub did not stop within {took:?}"));
        let error = stopped.expect_err("a journal that never confirmed is an error at shutdown");
        assert!(format!("{error:#}").contains("confirming"), "{error:#}");
        let limit = JOURNAL_DEADLINE + Duration::from_secs(1);
        assert!(took < limit, "shutdown took {took:?}, more than {limit:?}");
        assert!(took >= JOURNAL_DEADLINE, "shutdown gave the journal its {JOURNAL_DEADLINE:?}: {took:?}");
        match answer {
            Err(ClientError::Refused { code, .. }) => assert_eq!(code, ErrorCode::ShuttingDown),
            other => panic!("the waiting command must be refused shutting_down, got {other:?}"),
        }
        assert_eq!(stored.seq, 2, "seq 1 is the day's reset");
    }
}
