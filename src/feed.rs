//! A screen's link to the hub, on its own thread with its own tokio runtime (bevy's task pools
//! are not a tokio runtime): keeps a local board in step (snapshot, replay, live events, resync on
//! a gap), reconnects with capped jittered backoff resuming with `since`, reports online/offline,
//! and caches the last good hall and board so a screen starts without its hub.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::board::{Applied, Board};
use crate::client::{ClientError, ClientOptions, Session};
use crate::hall::{Hall, PublishedStandards, ServiceStandards};
use crate::layout::Layouts;
use crate::protocol::{ClientFrame, ErrorCode, EventFrame, HubFrame, Resync, Status};

/// What the screen learns, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedUpdate {
    /// The whole board (from a snapshot, or from the cache at start).
    Board {
        board: Box<Board>,
        hall: Box<Hall>,
        /// Layouts the hub serves by name.
        layouts: Layouts,
        from_cache: bool,
    },
    /// One event, already applied to the feed's board; the screen applies it too.
    Event {
        frame: EventFrame,
        /// Older than the connection: caught up after an outage, not happening now (so it
        /// is shown in history but only announced if still fresh).
        replayed: bool,
    },
    Online,
    /// The fleet page asks this screen to show its id for a while.
    Identify {
        seconds: u32,
    },
    /// The fleet page asks for a screenshot; answer with [`Feed::upload_screenshot`].
    Screenshot,
    /// The hall's service standards, fetched over HTTP after each snapshot (the snapshot's hall
    /// comes without them); `None` if they could not be had this time (the screen keeps its last).
    Services {
        standards: Option<ServiceStandards>,
    },
    /// The hub is unreachable or silent; the screen keeps its last board and shows a badge.
    Offline {
        reason: String,
    },
}

#[derive(Clone)]
pub struct FeedOptions {
    /// The hub and the display token (role display).
    pub client: ClientOptions,
    /// Silence after which the link counts as dead. The hub pings at most every 5 s, so 8 s is a
    /// missed ping plus slack, and a cut link shows its badge within 8 s.
    pub offline_after: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// How often the screen's status goes to the hub again, with fresh numbers (memory, frame
    /// rate, the seq shown), besides at once when it changes.
    pub status_every: Duration,
    /// Folder for the last good hall and board.
    pub cache_dir: Option<PathBuf>,
}

impl FeedOptions {
    pub fn new(client: ClientOptions) -> FeedOptions {
        FeedOptions {
            client,
            offline_after: Duration::from_secs(8),
            backoff_min: Duration::from_millis(500),
            // A screen is back within 5 s of its network; 1000 screens retrying over 2.5–5 s is a
            // few hundred connections a second, which a hub takes in its stride.
            backoff_max: Duration::from_secs(5),
            status_every: Duration::from_secs(10),
            cache_dir: None,
        }
    }
}

/// Called after each update, e.g. to wake a reactive bevy loop.
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// What the screen has drawn, counted by the app and read by the network thread for its status
/// reports (so an idle board need not wake to report).
#[derive(Default)]
pub struct Progress {
    frames: AtomicU64,
    shown_seq: AtomicU64,
}

impl Progress {
    /// One more frame drawn, showing the board at `shown_seq`.
    pub fn frame_drawn(&self, shown_seq: u64) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.shown_seq.store(shown_seq, Ordering::Relaxed);
    }
}

/// The running feed; dropping it stops the thread.
pub struct Feed {
    pub updates: mpsc::Receiver<FeedUpdate>,
    /// The screen's latest status, sent to the hub now and after every reconnect.
    status: tokio::sync::watch::Sender<Option<Status>>,
    uploads: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    progress: Arc<Progress>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    pub fn start(options: FeedOptions, wake: Option<Wake>) -> Feed {
        let (tx, updates) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let (status, status_rx) = tokio::sync::watch::channel(None);
        let (uploads, uploads_rx) = tokio::sync::mpsc::unbounded_channel();
        let progress = Arc::new(Progress::default());
        let counted = progress.clone();
        let thread = std::thread::Builder::new()
            .name("papan-feed".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
                let Ok(runtime) = runtime else {
                    let _ =
                        tx.send(FeedUpdate::Offline { reason: "cannot start the network runtime".into() });
                    return;
                };
                let (standards_fetched, standards_rx) = tokio::sync::mpsc::unbounded_channel();
                let link = Link {
                    options,
                    tx,
                    wake,
                    board: None,
                    layouts: Layouts::new(),
                    standards: None,
                    standards_fetched,
                    standards_rx,
                    status: status_rx,
                    uploads: uploads_rx,
                    progress: counted,
                    last_report: None,
                    online: false,
                    offline_reported: false,
                };
                runtime.block_on(async move {
                    let mut current = None;
                    tokio::select! {
                        _ = link.run(&mut current) => {}
                        _ = stopped => {}
                    }
                    // Say goodbye: the hub logs a screen that closed, not a broken connection.
                    if let Some(session) = current.take() {
                        session.close().await;
                    }
                });
            })
            .expect("spawning the feed thread");
        Feed { updates, status, uploads, progress, stop: Some(stop), thread: Some(thread) }
    }

    /// Where the app counts the frames it draws.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// Tells the hub how this screen is doing (e.g. a broken layout file).
    pub fn report(&self, status: Status) {
        self.status.send_replace(Some(status));
    }

    /// Sends a PNG of the screen to the hub's fleet page (over HTTP, in the background).
    pub fn upload_screenshot(&self, png: Vec<u8>) {
        let _ = self.uploads.send(png);
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The cache file: the last good hall and board.
#[derive(Serialize, Deserialize)]
struct Cached {
    hall: Hall,
    board: Board,
    #[serde(default)]
    layouts: Layouts,
    #[serde(default)]
    standards: Option<ServiceStandards>,
}

const CACHE_FILE: &str = "last-board.json";

struct Link {
    options: FeedOptions,
    tx: mpsc::Sender<FeedUpdate>,
    wake: Option<Wake>,
    board: Option<(Board, Hall)>,
    layouts: Layouts,
    /// The service standards last fetched, and where fetches report back.
    standards: Option<ServiceStandards>,
    standards_fetched: tokio::sync::mpsc::UnboundedSender<Option<ServiceStandards>>,
    standards_rx: tokio::sync::mpsc::UnboundedReceiver<Option<ServiceStandards>>,
    status: tokio::sync::watch::Receiver<Option<Status>>,
    uploads: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
    progress: Arc<Progress>,
    /// When the last status went out and the frame count then (for the frame rate).
    last_report: Option<(Instant, u64)>,
    online: bool,
    offline_reported: bool,
}

impl Link {
    /// Follows the hub until stopped; the session in use is kept in `current`, so that whoever
    /// stops this can close it.
    async fn run(mut self, current: &mut Option<Session>) {
        if let Some(cached) = self.options.cache_dir.as_deref().and_then(load_cache) {
            self.send(FeedUpdate::Board {
                board: Box::new(cached.board.clone()),
                hall: Box::new(cached.hall.clone()),
                layouts: cached.layouts.clone(),
                from_cache: true,
            });
            self.layouts = cached.layouts;
            self.board = Some((cached.board, cached.hall));
            if let Some(standards) = cached.standards {
                self.send(FeedUpdate::Services { standards: Some(standards.clone()) });
                self.standards = Some(standards);
            }
        }
        let mut backoff = self.options.backoff_min;
        // With several hubs (`--hub a,b`), which one to try first.
        let mut first_hub = 0;
        loop {
            let since = self.board.as_ref().map_or(0, |(board, _)| board.seq);
            match Session::connect_from(&self.options.client, since, first_hub).await {
                Ok((session, hub)) => {
                    backoff = self.options.backoff_min;
                    let session = current.insert(session);
                    session.set_silence_limit(self.options.offline_after);
                    self.set_online(true, "");
                    let reason = self.follow(session).await;
                    *current = None;
                    self.set_online(false, &reason);
                    // Its hub failed: the next one is tried first, resuming from the same seq
                    // (hubs of one hall share the journal, so seqs are the same everywhere).
                    first_hub = hub + 1;
                }
                Err(e) => self.set_online(false, &e.to_string()),
            }
            tokio::time::sleep(jitter(backoff)).await;
            backoff = (backoff * 2).min(self.options.backoff_max);
        }
    }

    /// Applies frames until the session ends; returns why it ended.
    async fn follow(&mut self, session: &mut Session) -> String {
        self.status.mark_changed();
        let every = self.options.status_every;
        let mut repeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        repeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The request id of the screenshot the hub asked for on this connection: the hub takes an
        // upload only with it.
        let mut asked: Option<String> = None;
        loop {
            let next = tokio::select! {
                next = session.next_frame() => next,
                Ok(()) = self.status.changed() => {
                    if let Err(e) = self.send_status(session).await {
                        return e;
                    }
                    repeat.reset();
                    continue;
                }
                _ = repeat.tick() => {
                    if let Err(e) = self.send_status(session).await {
                        return e;
                    }
                    continue;
                }
                Some(fetched) = self.standards_rx.recv() => {
                    if let Some(standards) = &fetched {
                        self.standards = Some(standards.clone());
                        self.save_cache();
                    }
                    self.send(FeedUpdate::Services { standards: fetched });
                    continue;
                }
                Some(png) = self.uploads.recv() => {
                    let Some(request) = asked.take() else {
                        tracing::debug!("a screenshot the hub did not ask for on this connection is not sent");
                        continue;
                    };
                    // In the background: a slow upload must not hold up live calls. It goes
                    // to the hub this screen is connected to.
                    let client = ClientOptions { url: session.url().to_string(), ..self.options.client.clone() };
                    tokio::spawn(upload_screenshot(client, request, png));
                    continue;
                }
            };
            let frame = match next {
                Ok(Some(frame)) => frame,
                Ok(None) => return "the hub closed the connection".into(),
                Err(ClientError::Silent { secs, .. }) => {
                    return format!("no word from the hub for {secs:.0} s");
                }
                Err(e) => return e.to_string(),
            };
            match frame {
                HubFrame::Snapshot { board, hall, layouts, .. } => {
                    self.board = Some(((*board).clone(), (*hall).clone()));
                    self.layouts = layouts.clone();
                    self.send(FeedUpdate::Board { board, hall, layouts, from_cache: false });
                    // After the screen has it: the cache's fsync must not delay what is shown.
                    self.save_cache();
                    // A snapshot comes after every edit of the hall file, so the standards are
                    // fetched again; in the background, so that no call waits for them.
                    let (url, fetched) = (session.url().to_string(), self.standards_fetched.clone());
                    tokio::spawn(async move {
                        let _ = fetched.send(fetch_standards(&url).await);
                    });
                }
                HubFrame::Event(event) => {
                    let Some((board, _)) = self.board.as_mut() else {
                        // Events before any snapshot cannot be placed: ask for everything.
                        if let Err(e) = session.send(&ClientFrame::Resync(Resync { since: 0 })).await {
                            return e.to_string();
                        }
                        continue;
                    };
                    match board.apply(&event) {
                        Applied::Changed => {
                            let replayed = event.seq <= session.welcome_seq;
                            self.send(FeedUpdate::Event { frame: event, replayed });
                            self.save_cache();
                        }
                        Applied::AlreadyApplied => {}
                        Applied::Gap { expected, got } => {
                            tracing::warn!(expected, got, "missed events; asking the hub to resync");
                            let resync = ClientFrame::Resync(Resync { since: expected - 1 });
                            if let Err(e) = session.send(&resync).await {
                                return e.to_string();
                            }
                        }
                    }
                }
                HubFrame::Error { code: ErrorCode::TooSlow | ErrorCode::ShuttingDown, message, .. } => {
                    return message;
                }
                HubFrame::Error { code, message, .. } => tracing::warn!(%code, "hub error: {message}"),
                HubFrame::Identify { seconds } => self.send(FeedUpdate::Identify { seconds }),
                HubFrame::Screenshot { request } => {
                    asked = Some(request);
                    self.send(FeedUpdate::Screenshot);
                }
                HubFrame::Welcome { .. } | HubFrame::Ack { .. } | HubFrame::Pong => {}
            }
        }
    }

    /// Sends the app's latest status with this moment's numbers (nothing before the app reported).
    async fn send_status(&mut self, session: &mut Session) -> Result<(), String> {
        let Some(status) = self.fresh_status() else { return Ok(()) };
        session.send(&ClientFrame::Status(status)).await.map_err(|e| e.to_string())
    }

    fn fresh_status(&mut self) -> Option<Status> {
        let mut status = self.status.borrow_and_update().clone()?;
        if status.screen.is_empty() {
            status.screen = self.options.client.client.clone();
        }
        let now = Instant::now();
        let frames = self.progress.frames.load(Ordering::Relaxed);
        if let Some((at, before)) = self.last_report {
            let secs = now.duration_since(at).as_secs_f32();
            status.fps = if secs > 0.0 { frames.saturating_sub(before) as f32 / secs } else { 0.0 };
        }
        self.last_report = Some((now, frames));
        status.last_seq = self.progress.shown_seq.load(Ordering::Relaxed);
        if let Some(rss) = resident_bytes() {
            status.rss = rss;
        }
        Some(status)
    }

    /// Reports a change of link state once, not at every retry.
    fn set_online(&mut self, online: bool, reason: &str) {
        if online {
            if !self.online {
                tracing::info!("connected to the hub");
                self.send(FeedUpdate::Online);
            }
            self.offline_reported = false;
        } else if self.online || !self.offline_reported {
            tracing::warn!("hub link down: {reason}");
            self.send(FeedUpdate::Offline { reason: reason.to_string() });
            self.offline_reported = true;
        }
        self.online = online;
    }

    fn send(&self, update: FeedUpdate) {
        let _ = self.tx.send(update);
        if let Some(wake) = &self.wake {
            wake();
        }
    }

    fn save_cache(&self) {
        let (Some(dir), Some((board, hall))) = (&self.options.cache_dir, &self.board) else { return };
        if let Err(e) = save_cache(dir, hall, board, &self.layouts, &self.standards) {
            tracing::warn!("cannot cache the board in {}: {e}", dir.display());
        }
    }
}

fn load_cache(dir: &Path) -> Option<Cached> {
    let text = std::fs::read_to_string(dir.join(CACHE_FILE)).ok()?;
    serde_json::from_str(&text).map_err(|e| tracing::warn!("ignoring a damaged board cache: {e}")).ok()
}

/// Writes whole and durably: a power cut leaves the last cache or this one, never half of one.
fn save_cache(
    dir: &Path,
    hall: &Hall,
    board: &Board,
    layouts: &Layouts,
    standards: &Option<ServiceStandards>,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let cached = Cached {
        hall: hall.clone(),
        board: board.clone(),
        layouts: layouts.clone(),
        standards: standards.clone(),
    };
    let json = serde_json::to_vec(&cached).expect("boards serialize");
    crate::durable_file::replace(&dir.join(CACHE_FILE), &json)
}

/// `GET {hub}/antrean/layanan` (no token: the phone page's data), by agency; `None` if the hub
/// could not be asked or answered nonsense, which is logged.
async fn fetch_standards(hub_url: &str) -> Option<ServiceStandards> {
    let Some(base) = crate::client::http_base(hub_url) else {
        tracing::warn!(url = hub_url, "cannot tell the hub's HTTP address; no service standards");
        return None;
    };
    let fetched = async {
        let response = crate::tls::http_client()
            .get(format!("{base}/antrean/layanan"))
            .timeout(Duration::from_secs(20))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| e.to_string())?;
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        serde_json::from_slice::<PublishedStandards>(&body).map_err(|e| e.to_string())
    };
    match fetched.await {
        Ok(published) => Some(published.by_agency()),
        Err(e) => {
            tracing::warn!("cannot fetch the service standards from the hub: {e}");
            None
        }
    }
}

/// `POST {hub}/api/screens/{screen}/screenshot?request=…` with the display token.
async fn upload_screenshot(client: ClientOptions, request: String, png: Vec<u8>) {
    let Some(base) = crate::client::http_base(&client.url) else {
        tracing::warn!(url = client.url, "cannot tell the hub's HTTP address; screenshot not sent");
        return;
    };
    let url = format!(
        "{base}/api/screens/{}/screenshot?request={}",
        crate::client::path_segment(&client.client),
        crate::client::path_segment(&request)
    );
    let sent = crate::tls::http_client()
        .post(&url)
        .bearer_auth(&client.token)
        .header("content-type", "image/png")
        .timeout(Duration::from_secs(30))
        .body(png)
        .send()
        .await;
    match sent.map(|r| r.error_for_status()) {
        Ok(Ok(_)) => tracing::info!("screenshot sent to the hub"),
        Ok(Err(e)) | Err(e) => tracing::warn!("screenshot upload failed: {e}"),
    }
}

/// This process's resident memory (Linux).
pub fn resident_bytes() -> Option<u64> {
    use crate::process_stats::{Process, status_kib};
    status_kib(Process::This, "VmRSS:").ok().map(|kib| kib * 1024)
}

/// Between 50 % and 100 % of `d`, so screens that lost the hub together do not return together.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(0.5 + fastrand::f64() * 0.5)
}
