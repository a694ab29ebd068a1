//! The hub's single writer: checks commands against the hall, journals them durably, folds them
//! into the board and fans the events out. It runs on its own thread (SQLite is blocking) and
//! batches whatever commands are waiting into one transaction.
//!
//! Longer than most files (about 680 lines and 150 of tests) on purpose: the writer's loop, its
//! day rollover and its duplicate checks are one state machine whose invariants (ack only after
//! commit, one seq per event, a retried id answered from the journal) are read together.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub use axum::extract::ws::Utf8Bytes;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::history::History;
use super::journal::{CommandKey, Entry, Journal, JournalError, StoredCommand};
use super::shutdown::{JOURNAL_DEADLINE, Shutdown};
use crate::board::{Applied, Board};
use crate::day_report::{DayLog, SurveyRefusal};
use crate::hall::{Hall, LookupError};
use crate::layout::Layouts;
use crate::protocol::{
    Call, CallCommand, CallNextCommand, ClearCommand, Command, CounterCommand, ErrorCode, Event, EventFrame,
    HubFrame, IssueCommand, Issued, RecallCommand, Seq, SurveyAnswer, SurveyCommand, Ticket,
};
use crate::public_view::PublicView;

/// Where the hub gets the time from (tests move it across midnight).
pub type Clock = Arc<dyn Fn() -> jiff::Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(jiff::Timestamp::now)
}

/// Commands committed in one transaction at most.
const MAX_BATCH: usize = 512;
/// Tries of one batch against a shared journal where other hubs keep storing first; between
/// tries the writer waits a random while (up to 1, 2, 4 … 32 ms) so that a busy hub does not
/// starve the other.
const MAX_ATTEMPTS: u32 = 10;
/// Requests waiting for the writer; senders wait beyond this (backpressure on staff, not screens).
const REQUEST_QUEUE: usize = 4096;
/// The longest ticker text, in characters.
pub const MAX_TICKER_CHARS: usize = 500;
/// How often the writer checks whether the service day has changed.
pub const DAY_CHECK_INTERVAL: Duration = Duration::from_secs(30);

/// A command was applied (or had been, for a retried id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub seq: Seq,
    pub duplicate: bool,
    /// For `issue`: what was handed out (also for a retry, while the journal still holds it).
    pub issued: Option<Box<Issued>>,
}

/// Why a command was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: ErrorCode,
    pub message: String,
    /// The command field at fault, if one is.
    pub field: Option<&'static str>,
}

impl Rejection {
    fn new(code: ErrorCode, field: Option<&'static str>, message: impl Into<String>) -> Rejection {
        Rejection { code, message: message.into(), field }
    }

    fn shutting_down() -> Rejection {
        Rejection::new(ErrorCode::ShuttingDown, None, "the hub is shutting down")
    }

    /// The id was used before for a different command: acking it as a retry would silently
    /// drop this one (two consoles that picked the same id did exactly that).
    fn id_reused(id: &str, seq: Seq) -> Rejection {
        let message = format!(
            "id {:?} was used for a different command (seq {seq}); give each new command a new id",
            crate::protocol::truncate(id, 40)
        );
        Rejection::new(ErrorCode::IdReused, Some("id"), message)
    }

    /// The journal did not confirm the command before the shutdown deadline: it may or may not
    /// be stored, so the client sends it again with the same id (never applied twice).
    fn unconfirmed_at_shutdown() -> Rejection {
        let message = format!(
            "the hub is shutting down and its journal did not confirm this command within {} s; \
             send it again with the same id",
            JOURNAL_DEADLINE.as_secs()
        );
        Rejection::new(ErrorCode::ShuttingDown, None, message)
    }
}

/// An event or snapshot frame on its way to every client, with when it became durable.
#[derive(Clone)]
pub struct Fanned {
    pub text: Utf8Bytes,
    pub since: std::time::Instant,
}

impl Fanned {
    fn now(text: Utf8Bytes) -> Fanned {
        Fanned { text, since: std::time::Instant::now() }
    }
}

/// The citizens' view of the hall at one seq (see [`crate::public_view`]), and the frame every
/// phone page gets of it, serialized once.
pub struct PublicFrame {
    pub view: PublicView,
    /// The whole view, for a phone that just came or missed a change.
    pub text: Utf8Bytes,
    /// Goes up when `text` changes (a recall changes nothing a phone shows: it is not resent).
    pub generation: u64,
    /// What changed since the generation before, for a phone that has that one.
    pub changes: Option<Utf8Bytes>,
}

impl PublicFrame {
    fn new(view: PublicView, previous: Option<&PublicFrame>) -> PublicFrame {
        let text = Utf8Bytes::from(serde_json::json!({ "type": "view", "view": &view }).to_string());
        let (generation, changes) = match previous {
            Some(previous) if previous.text == text => (previous.generation, None),
            Some(previous) => {
                let changes = view.changes_since(&previous.view).to_string();
                (previous.generation + 1, Some(Utf8Bytes::from(changes)))
            }
            None => (0, None),
        };
        PublicFrame { view, text, generation, changes }
    }
}

/// What a newly connected client gets: the hub's seq, what it missed, and the live feed.
pub struct Subscription {
    pub seq: Seq,
    /// A snapshot frame, or the missed event frames in order (empty when up to date).
    pub catch_up: Vec<Utf8Bytes>,
    pub live: broadcast::Receiver<Fanned>,
}

enum Request {
    Command {
        id: String,
        command: Command,
        reply: oneshot::Sender<Result<Ack, Rejection>>,
    },
    Subscribe {
        since: Seq,
        reply: oneshot::Sender<Subscription>,
    },
    Board {
        reply: oneshot::Sender<(Board, Arc<Hall>)>,
    },
    /// The citizens' view, brought up to date, and its changes from now on.
    Public {
        reply: oneshot::Sender<watch::Receiver<Arc<PublicFrame>>>,
    },
    /// Bytes the journal takes where it is stored (asked at each /metrics scrape).
    JournalSize {
        reply: oneshot::Sender<Option<u64>>,
    },
    CheckDay,
    Reconfigure {
        hall: Arc<Hall>,
        layouts: Arc<Layouts>,
    },
    /// Another hub stored events on the shared journal.
    JournalMoved,
}

/// Cheap handle to the writer thread; clone one per connection.
#[derive(Clone)]
pub struct CoreHandle {
    tx: mpsc::Sender<Request>,
    /// The hall in use, as the writer last set it.
    hall: watch::Receiver<Arc<Hall>>,
    metrics: Arc<super::metrics::Metrics>,
    shutdown: Shutdown,
}

impl CoreHandle {
    /// Applies a command (WebSocket and HTTP alike) and counts how it ended in the metrics. Once
    /// the hub is stopping, a command the journal has not confirmed by [`JOURNAL_DEADLINE`] is
    /// answered `shutting_down` (the journal may be out of reach; the answer must not wait for it).
    pub async fn command(&self, id: String, command: Command) -> Result<Ack, Rejection> {
        let kind = command.kind();
        let (reply, rx) = oneshot::channel();
        let answered = async {
            self.tx.send(Request::Command { id, command, reply }).await.ok()?;
            rx.await.ok()
        };
        let mut stopping = self.shutdown.clone();
        let result = tokio::select! {
            answer = answered => answer.unwrap_or_else(|| Err(Rejection::shutting_down())),
            _ = stopping.passed(JOURNAL_DEADLINE) => Err(Rejection::unconfirmed_at_shutdown()),
        };
        self.metrics.command(kind, &result);
        result
    }

    pub async fn subscribe(&self, since: Seq) -> Option<Subscription> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Subscribe { since, reply }).await.ok()?;
        rx.await.ok()
    }

    pub async fn board(&self) -> Option<Board> {
        Some(self.board_and_hall().await?.0)
    }

    /// The board and the hall data commands are checked against now (the last good hall file).
    pub async fn board_and_hall(&self) -> Option<(Board, Arc<Hall>)> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Board { reply }).await.ok()?;
        rx.await.ok()
    }

    /// The citizens' view of the hall now and as it changes (the phone page's feed).
    pub async fn public_view(&self) -> Option<watch::Receiver<Arc<PublicFrame>>> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::Public { reply }).await.ok()?;
        rx.await.ok()
    }

    /// The journal's size on disk (or on its servers), if it can be read now.
    /// The hall in use now, without asking the writer (a new `Arc` after every edit, so callers
    /// may keep what they made of it while the pointer stays the same).
    pub fn hall(&self) -> Arc<Hall> {
        self.hall.borrow().clone()
    }

    pub async fn journal_size(&self) -> Option<u64> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request::JournalSize { reply }).await.ok()?;
        rx.await.ok().flatten()
    }

    /// New hall data and layouts (edited files): commands are checked against them from now on
    /// and every client gets a fresh snapshot.
    pub async fn reconfigure(&self, hall: Arc<Hall>, layouts: Arc<Layouts>) -> bool {
        self.tx.send(Request::Reconfigure { hall, layouts }).await.is_ok()
    }

    /// Asks the writer to start a new service day if the date has changed.
    pub async fn check_day(&self) -> bool {
        self.tx.send(Request::CheckDay).await.is_ok()
    }
}

/// Settings of the writer.
pub struct CoreOptions {
    pub clock: Clock,
    /// Frames queued per subscriber before it is cut.
    pub send_queue: usize,
    /// Events kept for replay.
    pub journal_keep: u64,
    pub metrics: Arc<super::metrics::Metrics>,
    /// The hub's shutdown: commands still unconfirmed at its deadline are given up.
    pub shutdown: Shutdown,
    /// Where the day history is kept for reports (none: no reports, as in some tests).
    pub history: Option<std::path::PathBuf>,
}

/// Resolves when the writer thread has ended: `Ok` after it committed what was queued, `Err` if
/// it panicked. Unlike joining the thread, waiting for it can be given up.
pub type WriterDone = oneshot::Receiver<()>;

/// Recovers the board from `journal` and starts the writer thread. The thread ends when every
/// [`CoreHandle`] is dropped, after committing what was queued.
pub fn spawn(
    mut journal: Box<dyn Journal>,
    hall: Arc<Hall>,
    options: CoreOptions,
) -> Result<(CoreHandle, WriterDone), JournalError> {
    let board = journal.recover()?;
    let kept = journal.event_count()?;
    let (tx, rx) = mpsc::channel(REQUEST_QUEUE);
    let (events, _) = broadcast::channel(options.send_queue.max(1));
    tracing::info!(seq = board.seq, kept_events = kept, "journal recovered");
    let layouts = Arc::new(crate::layout::builtin_layouts());
    let (metrics, shutdown) = (options.metrics.clone(), options.shutdown.clone());
    // Other hubs' events wake the writer once however many arrive before it looks.
    let moved = Arc::new(AtomicBool::new(false));
    let (weak, flag) = (tx.downgrade(), moved.clone());
    journal.on_new_entries(Box::new(move || {
        if !flag.swap(true, Ordering::AcqRel)
            && weak.upgrade().is_none_or(|tx| tx.try_send(Request::JournalMoved).is_err())
        {
            flag.store(false, Ordering::Release);
        }
    }));
    let (public, _) =
        watch::channel(Arc::new(PublicFrame::new(PublicView::build(&board, &hall, (options.clock)()), None)));
    let published = (board.seq, hall.clone());
    let (hall_watch, hall_rx) = watch::channel(hall.clone());
    let (history, day_log) = match &options.history {
        Some(path) => open_history(path, journal.as_mut(), &board, hall.timezone),
        None => (None, DayLog::default()),
    };
    let mut writer = Writer {
        journal,
        hall,
        hall_watch,
        layouts,
        board,
        events,
        public,
        published,
        options,
        kept,
        moved,
        history,
        day_log,
    };
    let (done, writer_done) = oneshot::channel();
    std::thread::Builder::new()
        .name("papan-journal".into())
        .spawn(move || {
            writer.run(rx);
            let _ = done.send(());
        })
        .expect("spawning the journal thread");
    Ok((CoreHandle { tx, hall: hall_rx, metrics, shutdown }, writer_done))
}

/// Opens the day history, fills in what the journal stored after it (a crash between the two
/// commits), forgets days past keeping, and folds today's events for survey answers. A history
/// that cannot be opened costs the reports, not the calls: the hub goes on without.
fn open_history(
    path: &std::path::Path,
    journal: &mut dyn Journal,
    board: &Board,
    zone: crate::hall::TimeZone,
) -> (Option<History>, DayLog) {
    let opened = History::open(path).and_then(|mut history| {
        let last = history.last_seq()?;
        if last < board.seq {
            match journal.events_since(last, 1 << 24) {
                Ok(Some(frames)) => history.record(&frames, zone)?,
                Ok(None) => tracing::warn!(
                    from = last + 1,
                    to = board.seq,
                    "the journal no longer keeps these events: the day history lacks them"
                ),
                Err(e) => tracing::warn!("cannot read the journal to fill the day history: {e}"),
            }
        }
        if let Some(day) = board.day {
            history.forget_old_days(day)?;
        }
        let log = match board.day {
            Some(day) => DayLog::from_events(&history.day(day)?),
            None => DayLog::default(),
        };
        Ok((history, log))
    });
    match opened {
        Ok((history, log)) => (Some(history), log),
        Err(e) => {
            tracing::error!(
                "the day history {} cannot be used, reports will lack events: {e}",
                path.display()
            );
            (None, DayLog::default())
        }
    }
}

struct Writer {
    journal: Box<dyn Journal>,
    hall: Arc<Hall>,
    /// Where handlers read the hall without a trip through the writer's queue.
    hall_watch: watch::Sender<Arc<Hall>>,
    layouts: Arc<Layouts>,
    board: Board,
    events: broadcast::Sender<Fanned>,
    /// The citizens' view, rebuilt after changes while a phone page watches it.
    public: watch::Sender<Arc<PublicFrame>>,
    /// The board seq and hall the citizens' view was last built from.
    published: (Seq, Arc<Hall>),
    options: CoreOptions,
    /// Events in the journal, tracked here to decide on compaction without counting rows.
    kept: u64,
    /// A [`Request::JournalMoved`] is on its way.
    moved: Arc<AtomicBool>,
    /// The day history the reports read, written after each commit.
    history: Option<History>,
    /// Today's tickets as far as committed: which may still be rated.
    day_log: DayLog,
}

/// A command waiting for the batch's commit.
struct Pending {
    id: String,
    command: Command,
    /// What the journal keeps to tell a retry of this command from another command with its id.
    digest: String,
    reply: oneshot::Sender<Result<Ack, Rejection>>,
}

impl Pending {
    /// The answer to this command when its id is already stored: a retry is acked with the
    /// stored seq, a different command under the same id is refused.
    fn answer_stored(&self, stored: &StoredCommand, journal: &mut dyn Journal) -> Result<Ack, Rejection> {
        match &stored.digest {
            Some(digest) if *digest != self.digest => Err(Rejection::id_reused(&self.id, stored.seq)),
            _ => {
                // A retried issue gets its ticket again, not a second one.
                let issued = match &self.command {
                    Command::Issue(_) => stored_issue(journal, stored.seq),
                    _ => None,
                };
                Ok(Ack { seq: stored.seq, duplicate: true, issued })
            }
        }
    }

    fn key(&self) -> CommandKey {
        CommandKey { id: self.id.clone(), digest: self.digest.clone() }
    }
}

/// The ticket the `issue` event at `seq` handed out, while the journal still keeps it.
fn stored_issue(journal: &mut dyn Journal, seq: Seq) -> Option<Box<Issued>> {
    let frames = journal.events_since(seq.checked_sub(1)?, 1).ok().flatten()?;
    match frames.into_iter().next()?.event {
        Event::Issue(issued) => Some(Box::new(issued)),
        _ => None,
    }
}

/// A digest of a command's wire form: the same command gives the same digest on every hub.
pub fn command_digest(command: &Command) -> String {
    use sha2::Digest;
    let wire = serde_json::to_vec(command).expect("commands serialize");
    let hash = sha2::Sha256::digest(&wire);
    hash[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl Writer {
    fn run(&mut self, mut rx: mpsc::Receiver<Request>) {
        let mut batch: Vec<Pending> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            let mut next = Some(first);
            while let Some(request) = next {
                match request {
                    Request::Command { id, command, reply } => {
                        let digest = command_digest(&command);
                        batch.push(Pending { id, command, digest, reply });
                    }
                    other => {
                        // Anything that reads state sees every command queued before it.
                        self.commit(&mut batch);
                        self.serve(other);
                    }
                }
                if batch.len() >= MAX_BATCH {
                    self.commit(&mut batch);
                }
                next = rx.try_recv().ok();
            }
            self.commit(&mut batch);
            // After the acks and the screens' frames: phones come second.
            if self.public.receiver_count() > 0 {
                self.publish_public();
            }
        }
        tracing::info!(seq = self.board.seq, "journal writer stopped");
    }

    fn serve(&mut self, request: Request) {
        match request {
            Request::Subscribe { since, reply } => {
                let _ = reply.send(self.subscription(since));
            }
            Request::Board { reply } => {
                let _ = reply.send((self.board.clone(), self.hall.clone()));
            }
            Request::Public { reply } => {
                self.publish_public();
                let _ = reply.send(self.public.subscribe());
            }
            Request::JournalSize { reply } => {
                let size = self.journal.size_bytes();
                if let Err(e) = &size {
                    tracing::warn!("cannot read the journal's size: {e}");
                }
                let _ = reply.send(size.ok());
            }
            Request::CheckDay => self.commit(&mut Vec::new()),
            Request::JournalMoved => {
                self.moved.store(false, Ordering::Release);
                self.catch_up(false);
            }
            Request::Reconfigure { hall, layouts } => {
                self.hall_watch.send_replace(hall.clone());
                self.hall = hall;
                self.layouts = layouts;
                // No receivers (no clients) is not an error.
                let _ = self.events.send(Fanned::now(self.snapshot_frame()));
            }
            Request::Command { .. } => unreachable!("commands are batched"),
        }
    }

    /// Rebuilds the citizens' view if the board or the hall changed since it was last built.
    fn publish_public(&mut self) {
        if self.published.0 == self.board.seq && Arc::ptr_eq(&self.published.1, &self.hall) {
            return;
        }
        let view = PublicView::build(&self.board, &self.hall, (self.options.clock)());
        let frame = PublicFrame::new(view, Some(&self.public.borrow()));
        self.public.send_replace(Arc::new(frame));
        self.published = (self.board.seq, self.hall.clone());
    }

    fn subscription(&mut self, since: Seq) -> Subscription {
        let live = self.events.subscribe();
        let seq = self.board.seq;
        let catch_up = if since == seq && since != 0 {
            Vec::new()
        } else if since == 0 || since > seq {
            vec![self.snapshot_frame()]
        } else {
            let max = usize::try_from(self.options.journal_keep).unwrap_or(usize::MAX);
            match self.journal.events_since(since, max) {
                // A shared journal may hold events this hub has not applied yet: they reach the
                // client live, once applied, not twice.
                Ok(Some(frames)) => frames
                    .into_iter()
                    .filter(|f| f.seq <= seq)
                    .map(|f| frame_text(&HubFrame::Event(for_clients(&f))))
                    .collect(),
                Ok(None) => vec![self.snapshot_frame()],
                Err(e) => {
                    tracing::error!("reading the journal for a replay failed, sending a snapshot: {e}");
                    vec![self.snapshot_frame()]
                }
            }
        };
        Subscription { seq, catch_up, live }
    }

    fn snapshot_frame(&self) -> Utf8Bytes {
        frame_text(&HubFrame::Snapshot {
            seq: self.board.seq,
            board: Box::new(self.board.clone()),
            hall: Box::new((*self.hall).clone()),
            layouts: (*self.layouts).clone(),
        })
    }

    /// Turns the waiting commands into events, stores them in one transaction, then acks and
    /// broadcasts. Also starts a new service day first when the date has changed. On a shared
    /// journal another hub may have stored events first: then the writer catches up and decides
    /// the commands again against the newer board (a `call_next` must not reuse a ticket).
    fn commit(&mut self, batch: &mut Vec<Pending>) {
        let mut waiting = std::mem::take(batch);
        // Decide against the newest board this hub knows of: fewer races on a shared journal.
        self.catch_up(false);
        for attempt in 1..=MAX_ATTEMPTS {
            let now = (self.options.clock)();
            let today = self.hall.timezone.date_at(now);
            if waiting.is_empty() && self.board.day == Some(today) {
                return;
            }
            let before = self.board.clone();
            let mut entries = Vec::new();
            if self.board.day != Some(today) {
                self.push_event(&mut entries, None, now, Event::Reset { day: today });
            }
            let mut decided = Vec::with_capacity(waiting.len());
            let mut seen: HashMap<String, StoredCommand> = HashMap::new();
            // Tickets rated in this batch: the day log learns of them only once committed.
            let mut rated: Vec<Ticket> = Vec::new();
            for pending in waiting.drain(..) {
                let earlier = match seen.get(&pending.id) {
                    Some(stored) => Ok(Some(stored.clone())),
                    None => self.journal.stored_command(&pending.id),
                };
                let result = match earlier {
                    Ok(Some(stored)) => pending.answer_stored(&stored, self.journal.as_mut()),
                    Err(e) => {
                        tracing::error!("journal lookup failed: {e}");
                        Err(Rejection::new(ErrorCode::JournalUnavailable, None, "the journal cannot be read"))
                    }
                    Ok(None) => self.event_for(&pending.command, today, now, &rated).map(|event| {
                        let issued = match &event {
                            Event::Issue(issued) => Some(Box::new(issued.clone())),
                            _ => None,
                        };
                        if let Event::Survey(answer) = &event {
                            rated.push(answer.ticket.clone());
                        }
                        let seq = self.push_event(&mut entries, Some(pending.key()), now, event);
                        let stored = StoredCommand { seq, digest: Some(pending.digest.clone()) };
                        seen.insert(pending.id.clone(), stored);
                        Ack { seq, duplicate: false, issued }
                    }),
                };
                decided.push((pending, result));
            }
            let stored = if entries.is_empty() {
                Ok(())
            } else {
                let started = std::time::Instant::now();
                let stored = self.journal.append(&entries);
                self.options.metrics.journal_commit(started.elapsed());
                stored
            };
            match stored {
                Ok(()) => {
                    // Durable now: acks and screens may learn about it.
                    for entry in &entries {
                        self.fan_out(entry);
                    }
                    self.remember(&entries);
                    for (pending, result) in decided {
                        let _ = pending.reply.send(result);
                    }
                    self.kept += entries.len() as u64;
                    self.compact_if_due();
                    return;
                }
                Err(e) => {
                    self.board = before;
                    let raced = matches!(e, JournalError::Conflict);
                    if raced {
                        self.options.metrics.journal_conflict();
                        tracing::debug!(attempt, "another hub stored events first; catching up");
                    } else {
                        tracing::error!("journal append failed, {} events not stored: {e}", entries.len());
                    }
                    // A shared journal may have stored part of the batch (a timeout can lose only
                    // the ack), and other hubs' events: ask its server.
                    self.catch_up(true);
                    for (pending, result) in decided {
                        match result {
                            Ok(Ack { duplicate: false, .. }) => {
                                match self.journal.stored_command(&pending.id) {
                                    // Stored after all, by this hub (the ack was lost) or, on a shared
                                    // journal, by another hub the same id reached first.
                                    Ok(Some(stored)) => {
                                        let answer = pending
                                            .answer_stored(&stored, self.journal.as_mut())
                                            .map(|ack| Ack { duplicate: false, ..ack });
                                        let _ = pending.reply.send(answer);
                                    }
                                    _ if raced && attempt < MAX_ATTEMPTS => waiting.push(pending),
                                    _ => {
                                        let message = format!("not stored: {e}");
                                        let refused =
                                            Rejection::new(ErrorCode::JournalUnavailable, None, message);
                                        let _ = pending.reply.send(Err(refused));
                                    }
                                }
                            }
                            other => {
                                let _ = pending.reply.send(other);
                            }
                        }
                    }
                    if !raced || waiting.is_empty() {
                        return;
                    }
                    let most = 1u64 << attempt.min(5);
                    std::thread::sleep(Duration::from_micros(fastrand::u64(0..most * 1000)));
                }
            }
        }
    }

    /// Applies what other hubs stored on a shared journal (`fetch`: ask its server first rather
    /// than rely on what has arrived) and sends it to this hub's screens.
    fn catch_up(&mut self, fetch: bool) {
        if fetch && let Err(e) = self.journal.sync() {
            tracing::warn!("cannot fetch other hubs' events from the journal: {e}");
        }
        let mut applied = 0u64;
        for entry in self.journal.entries_after(self.board.seq) {
            match self.board.apply(&entry.frame) {
                Applied::Changed => {
                    self.fan_out(&entry);
                    self.remember(std::slice::from_ref(&entry));
                    applied += 1;
                }
                Applied::AlreadyApplied => {}
                Applied::Gap { expected, got } => {
                    tracing::error!(expected, got, "the shared journal skipped events; waiting for them");
                    break;
                }
            }
        }
        if applied > 0 {
            self.kept += applied;
            self.compact_if_due();
        }
    }

    /// Committed entries join today's log and the day history (after the acks: the history is a
    /// copy the journal can refill).
    fn remember(&mut self, entries: &[Entry]) {
        for entry in entries {
            self.day_log.apply(&entry.frame);
        }
        if let Some(history) = &mut self.history
            && let Err(e) = history.record(entries.iter().map(|e| &e.frame), self.hall.timezone)
        {
            tracing::warn!("the day history missed {} events (the journal has them): {e}", entries.len());
        }
    }

    fn fan_out(&self, entry: &Entry) {
        self.options.metrics.event(entry.frame.event.kind());
        // No receivers (no screen connected) is fine.
        let _ = self.events.send(Fanned::now(frame_text(&HubFrame::Event(for_clients(&entry.frame)))));
    }

    fn push_event(
        &mut self,
        entries: &mut Vec<Entry>,
        command: Option<CommandKey>,
        at: jiff::Timestamp,
        event: Event,
    ) -> Seq {
        let frame = EventFrame { seq: self.board.seq + 1, at, event };
        self.board.apply(&frame);
        entries.push(Entry { frame, command });
        self.board.seq
    }

    fn compact_if_due(&mut self) {
        let keep = self.options.journal_keep.max(1);
        if self.kept <= keep.saturating_mul(2) {
            return;
        }
        match self.journal.compact(&self.board, keep) {
            Ok(()) => {
                tracing::info!(seq = self.board.seq, keep, "journal compacted into a snapshot");
                self.kept = keep.min(self.kept);
            }
            Err(e) => tracing::warn!("journal compaction failed (will retry): {e}"),
        }
    }

    /// Checks a command against the hall and the board; the event it becomes.
    fn event_for(
        &self,
        command: &Command,
        today: jiff::civil::Date,
        now: jiff::Timestamp,
        rated: &[Ticket],
    ) -> Result<Event, Rejection> {
        match command {
            Command::Call(CallCommand { ticket, counter, agency, service }) => {
                let found =
                    self.hall.resolve_counter(*counter, agency.as_deref()).map_err(lookup_rejection)?;
                self.hall.check_ticket(found, ticket).map_err(lookup_rejection)?;
                check_service(service.as_deref())?;
                Ok(Event::Call(Call {
                    ticket: ticket.clone(),
                    counter: *counter,
                    agency: found.id.clone(),
                    service: service.clone(),
                    priority: self.board.queued_priority(&found.id, ticket),
                }))
            }
            Command::CallNext(CallNextCommand { counter, agency, letter }) => {
                let found =
                    self.hall.resolve_counter(*counter, agency.as_deref()).map_err(lookup_rejection)?;
                let letters = match letter {
                    Some(letter) => letter.trim().to_ascii_uppercase(),
                    None => found.letters.first().cloned().unwrap_or_default(),
                };
                if !found.letters.contains(&letters) {
                    return Err(wrong_letter(found, &letters));
                }
                // An agency that hands out tickets through papan calls from its queue; one whose
                // ticket system never reports them keeps counting.
                if self.board.queues_tickets(&found.id) {
                    let Some(next) = self.board.next_in_queue(found, &letters) else {
                        return Err(Rejection::new(
                            ErrorCode::QueueEmpty,
                            Some("counter"),
                            format!("no ticket {letters} is waiting at {}", found.short),
                        ));
                    };
                    return Ok(Event::Call(Call {
                        ticket: next.ticket.clone(),
                        counter: *counter,
                        agency: found.id.clone(),
                        service: next.service.clone(),
                        priority: next.priority,
                    }));
                }
                let ticket = self.board.next_ticket(&letters).map_err(|_| letters_used_up(&letters))?;
                Ok(Event::Call(Call {
                    ticket,
                    counter: *counter,
                    agency: found.id.clone(),
                    service: None,
                    priority: None,
                }))
            }
            Command::Recall(RecallCommand { counter, agency, ticket }) => {
                let found =
                    self.hall.resolve_counter(*counter, agency.as_deref()).map_err(lookup_rejection)?;
                let serving = self.board.serving(*counter, &found.id);
                let ticket = match (ticket, serving) {
                    (Some(ticket), _) => {
                        self.hall.check_ticket(found, ticket).map_err(lookup_rejection)?;
                        ticket.clone()
                    }
                    (None, Some(record)) => record.ticket.clone(),
                    (None, None) => {
                        return Err(Rejection::new(
                            ErrorCode::NothingToRecall,
                            Some("counter"),
                            format!("counter {counter} ({}) has no call to repeat today", found.id),
                        ));
                    }
                };
                let same = serving.filter(|r| r.ticket == ticket);
                let (service, priority) =
                    (same.and_then(|r| r.service.clone()), same.and_then(|r| r.priority));
                Ok(Event::Recall(Call {
                    ticket,
                    counter: *counter,
                    agency: found.id.clone(),
                    service,
                    priority,
                }))
            }
            Command::Announce(announce) => match self.hall.phrase(&announce.phrase) {
                Some(phrase) => Ok(Event::Announce { phrase: phrase.id.clone() }),
                None => Err(Rejection::new(
                    ErrorCode::UnknownPhrase,
                    Some("phrase"),
                    format!(
                        "unknown phrase {:?}; this hall has: {}",
                        crate::protocol::truncate(&announce.phrase, 40),
                        self.hall.phrases.iter().map(|p| p.id.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                )),
            },
            Command::Ticker(ticker) => {
                let text = ticker.text.split_whitespace().collect::<Vec<_>>().join(" ");
                if text.chars().count() > MAX_TICKER_CHARS {
                    return Err(Rejection::new(
                        ErrorCode::InvalidCommand,
                        Some("text"),
                        format!("ticker text is longer than {MAX_TICKER_CHARS} characters"),
                    ));
                }
                Ok(Event::Ticker { text })
            }
            Command::Clear(ClearCommand { counter, agency }) => {
                let found =
                    self.hall.resolve_counter(*counter, agency.as_deref()).map_err(lookup_rejection)?;
                Ok(Event::Clear { counter: *counter, agency: found.id.clone() })
            }
            Command::Issue(issue) => self.issue_event(issue),
            Command::Done(CounterCommand { counter, agency }) => {
                let found = self.serving_counter(*counter, agency.as_deref(), "done")?;
                Ok(Event::Done { counter: *counter, agency: found })
            }
            Command::NoShow(CounterCommand { counter, agency }) => {
                let found = self.serving_counter(*counter, agency.as_deref(), "no_show")?;
                let minutes = i64::from(self.hall.waiting.missed_minutes);
                let until = now + jiff::SignedDuration::from_mins(minutes);
                Ok(Event::NoShow { counter: *counter, agency: found, until })
            }
            Command::Reset => Ok(Event::Reset { day: today }),
            Command::Survey(survey) => self.survey_event(survey, today, rated),
        }
    }

    /// A survey answer for a ticket served today and not rated yet, with where it was served.
    fn survey_event(
        &self,
        survey: &SurveyCommand,
        today: jiff::civil::Date,
        rated: &[Ticket],
    ) -> Result<Event, Rejection> {
        let comment = survey_comment(survey.comment.as_deref())?;
        let target = if self.day_log.day != Some(today) {
            Err(SurveyRefusal::NotServed(survey.ticket.clone()))
        } else if rated.contains(&survey.ticket) {
            Err(SurveyRefusal::AlreadyAnswered(survey.ticket.clone()))
        } else {
            self.day_log.survey_target(&survey.ticket)
        };
        let (agency, counter) = target.map_err(|refusal| {
            let code = match refusal {
                SurveyRefusal::NotServed(_) => ErrorCode::NotServed,
                SurveyRefusal::AlreadyAnswered(_) => ErrorCode::AlreadyAnswered,
            };
            Rejection::new(code, Some("ticket"), refusal.to_string())
        })?;
        Ok(Event::Survey(SurveyAnswer {
            ticket: survey.ticket.clone(),
            agency: agency.to_string(),
            counter,
            rating: survey.rating,
            comment,
        }))
    }

    /// The agency id of a counter that is serving a ticket now.
    fn serving_counter(&self, counter: u16, agency: Option<&str>, what: &str) -> Result<String, Rejection> {
        let found = self.hall.resolve_counter(counter, agency).map_err(lookup_rejection)?;
        match self.board.serving(counter, &found.id) {
            Some(record) if record.service_state == crate::board::Service::Serving => Ok(found.id.clone()),
            Some(record) => Err(Rejection::new(
                ErrorCode::NotServing,
                Some("counter"),
                format!(
                    "counter {counter} already ended {} ({what} needs a ticket being served)",
                    record.ticket
                ),
            )),
            None => Err(Rejection::new(
                ErrorCode::NotServing,
                Some("counter"),
                format!("counter {counter} ({}) is not serving a ticket", found.id),
            )),
        }
    }

    /// A ticket handed out: checked against the hall, numbered if the hub numbers it, with the
    /// people ahead and the band the citizen is shown.
    fn issue_event(&self, issue: &IssueCommand) -> Result<Event, Rejection> {
        let IssueCommand { agency, ticket, letter, service, priority } = issue;
        let found = self.hall.agency(agency).ok_or_else(|| {
            Rejection::new(ErrorCode::UnknownAgency, Some("agency"), format!("unknown agency {agency:?}"))
        })?;
        check_service(service.as_deref())?;
        let ticket = match ticket {
            Some(ticket) => {
                self.hall.check_ticket(found, ticket).map_err(lookup_rejection)?;
                if self.board.is_queued(ticket) {
                    return Err(Rejection::new(
                        ErrorCode::InvalidCommand,
                        Some("ticket"),
                        format!("ticket {ticket} is already waiting; each ticket is handed out once a day"),
                    ));
                }
                ticket.clone()
            }
            None => {
                let letters = match letter {
                    Some(letter) => letter.trim().to_ascii_uppercase(),
                    None => found.letters.first().cloned().ok_or_else(|| {
                        Rejection::new(
                            ErrorCode::InvalidCommand,
                            Some("ticket"),
                            format!("{} has no ticket letters in the hall file; give the ticket", found.id),
                        )
                    })?,
                };
                if !found.letters.is_empty() && !found.letters.contains(&letters) {
                    return Err(wrong_letter(found, &letters));
                }
                self.board.next_issued(&letters).map_err(|_| letters_used_up(&letters))?
            }
        };
        let (ahead, estimate) = self.board.outlook(found, *priority);
        Ok(Event::Issue(Issued {
            ticket,
            agency: found.id.clone(),
            service: service.clone(),
            priority: *priority,
            ahead,
            estimate,
        }))
    }
}

fn wrong_letter(agency: &crate::hall::Agency, letters: &str) -> Rejection {
    let message = format!("{} hands out tickets {}, not {letters:?}", agency.id, agency.letters.join(", "));
    Rejection::new(ErrorCode::InvalidCommand, Some("letter"), message)
}

fn letters_used_up(letters: &str) -> Rejection {
    let message = format!("tickets {letters} reached {} today", crate::protocol::MAX_TICKET_NUMBER);
    Rejection::new(ErrorCode::InvalidCommand, Some("letter"), message)
}

/// A service name is 1 to 64 characters.
/// An event as screens and consoles get it: a survey answer without the citizen's comment (it
/// is for the day's report; screens keep the seq and ignore the rest).
fn for_clients(frame: &EventFrame) -> EventFrame {
    match &frame.event {
        Event::Survey(answer) if answer.comment.is_some() => {
            let answer = SurveyAnswer { comment: None, ..answer.clone() };
            EventFrame { event: Event::Survey(answer), ..frame.clone() }
        }
        _ => frame.clone(),
    }
}

/// The longest survey comment kept, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

/// A survey comment as kept: trimmed, control characters other than line breaks dropped, none
/// when empty; refused past [`MAX_COMMENT_CHARS`].
fn survey_comment(comment: Option<&str>) -> Result<Option<String>, Rejection> {
    let Some(comment) = comment else { return Ok(None) };
    let kept: String = comment.chars().filter(|c| !c.is_control() || *c == '\n').collect();
    let kept = kept.trim();
    if kept.chars().count() > MAX_COMMENT_CHARS {
        return Err(Rejection::new(
            ErrorCode::InvalidCommand,
            Some("comment"),
            format!("a comment is at most {MAX_COMMENT_CHARS} characters"),
        ));
    }
    Ok((!kept.is_empty()).then(|| kept.to_string()))
}

fn check_service(service: Option<&str>) -> Result<(), Rejection> {
    match service {
        Some(service) if service.trim().is_empty() || service.chars().count() > 64 => Err(Rejection::new(
            ErrorCode::InvalidCommand,
            Some("service"),
            "service must be 1 to 64 characters",
        )),
        _ => Ok(()),
    }
}

fn lookup_rejection(err: LookupError) -> Rejection {
    let (code, field) = match &err {
        LookupError::UnknownAgency(_) => (ErrorCode::UnknownAgency, "agency"),
        LookupError::UnknownCounter(_) => (ErrorCode::UnknownCounter, "counter"),
        LookupError::WrongAgency { .. } | LookupError::AmbiguousCounter { .. } => {
            (ErrorCode::InvalidCommand, "agency")
        }
        LookupError::WrongLetter { .. } => (ErrorCode::InvalidCommand, "ticket"),
    };
    Rejection::new(code, Some(field), err.to_string())
}

fn frame_text(frame: &HubFrame) -> Utf8Bytes {
    Utf8Bytes::from(frame.to_json())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::hub::journal::SqliteJournal;
    use crate::protocol::{AnnounceCommand, TickerCommand};

    struct Fixture {
        handle: CoreHandle,
        now: Arc<Mutex<jiff::Timestamp>>,
        _dir: tempfile::TempDir,
        _running: crate::hub::shutdown::ShutdownTrigger,
    }

    fn start(keep: u64) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let journal = SqliteJournal::open(&dir.path().join("j.sqlite")).unwrap();
        let now = Arc::new(Mutex::new("2026-11-23T01:00:00Z".parse::<jiff::Timestamp>().unwrap()));
        let clock_now = now.clone();
        let (running, shutdown) = crate::hub::shutdown::channel();
        let options = CoreOptions {
            clock: Arc::new(move || *clock_now.lock().unwrap()),
            send_queue: 64,
            journal_keep: keep,
            metrics: Default::default(),
            shutdown,
            history: Some(dir.path().join("h.sqlite")),
        };
        let (handle, _done) = spawn(Box::new(journal), Arc::new(Hall::builtin()), options).unwrap();
        Fixture { handle, now, _dir: dir, _running: running }
    }

    fn call(ticket: &str, counter: u16) -> Command {
        Command::Call(CallCommand { ticket: ticket.parse().unwrap(), counter, agency: None, service: None })
    }

    #[tokio::test]
    async fn first_command_of_the_day_starts_the_day() {
        let f = start(100);
        let ack = f.handle.command("c1".into(), call("A-1", 1)).await.unwrap();
        assert_eq!(ack, Ack { seq: 2, duplicate: false, issued: None }, "seq 1 is the day's reset");
        let board = f.handle.board().await.unwrap();
        assert_eq!(board.day.unwrap().to_string(), "2026-11-23");
        // 17:00 UTC is midnight WIB: the next check starts a new day and clears the board.
        *f.now.lock().unwrap() = "2026-11-23T17:00:00Z".parse().unwrap();
        assert!(f.handle.check_day().await);
        let board = f.handle.board().await.unwrap();
        assert_eq!((board.seq, board.day.unwrap().to_string()), (3, "2026-11-24".to_string()));
        assert!(board.recent.is_empty());
    }

    fn survey(ticket: &str, rating: crate::protocol::Rating, comment: Option<&str>) -> Command {
        Command::Survey(SurveyCommand {
            ticket: ticket.parse().unwrap(),
            rating,
            comment: comment.map(String::from),
        })
    }

    #[tokio::test]
    async fn a_served_ticket_is_rated_once_even_when_two_answers_race_and_not_after_its_day() {
        use crate::protocol::Rating;
        let f = start(100);
        let code = |r: Result<Ack, Rejection>| r.map(|_| ()).map_err(|e| e.code);
        let not_yet = f.handle.command("s0".into(), survey("A-1", Rating::Baik, None)).await;
        assert_eq!(code(not_yet), Err(ErrorCode::NotServed), "not called yet");
        f.handle.command("c1".into(), call("A-1", 1)).await.unwrap();
        let serving = f.handle.command("s1".into(), survey("A-1", Rating::Baik, None)).await;
        assert_eq!(code(serving), Err(ErrorCode::NotServed), "still at the counter");
        let done = Command::Done(CounterCommand { counter: 1, agency: None });
        f.handle.command("d1".into(), done).await.unwrap();
        let long = "x".repeat(MAX_COMMENT_CHARS + 1);
        let too_long = f.handle.command("s2".into(), survey("A-1", Rating::Baik, Some(&long))).await;
        assert_eq!(code(too_long), Err(ErrorCode::InvalidCommand));
        // Two phones answer at once (one batch or two): one answer is kept.
        let (a, b) = tokio::join!(
            f.handle.command("s3".into(), survey("A-1", Rating::SangatBaik, Some(" ramah\u{7} "))),
            f.handle.command("s4".into(), survey("A-1", Rating::TidakBaik, None)),
        );
        let answers = [code(a), code(b)];
        assert!(
            answers.contains(&Ok(())) && answers.contains(&Err(ErrorCode::AlreadyAnswered)),
            "{answers:?}"
        );
        // Yesterday's ticket is not rated on the next day.
        f.handle.command("c2".into(), call("A-2", 1)).await.unwrap();
        *f.now.lock().unwrap() = "2026-11-23T17:00:00Z".parse().unwrap();
        let next_day = f.handle.command("s5".into(), survey("A-2", Rating::Baik, None)).await;
        assert_eq!(code(next_day), Err(ErrorCode::NotServed));
    }

    #[tokio::test]
    async fn an_edited_hall_is_the_one_commands_and_reports_use() {
        let f = start(100);
        let break_time = || Command::Announce(AnnounceCommand { phrase: "istirahat".into() });
        f.handle.command("before".into(), break_time()).await.unwrap();
        let mut edited = Hall::builtin();
        edited.name = "Mal Pelayanan Publik Jakabaring".into();
        edited.phrases.retain(|p| p.id != "istirahat");
        let layouts = Arc::new(crate::layout::builtin_layouts());
        assert!(f.handle.reconfigure(Arc::new(edited), layouts).await);
        let (_, hall) = f.handle.board_and_hall().await.unwrap();
        assert_eq!(hall.name, "Mal Pelayanan Publik Jakabaring");
        // Handlers that read the hall without the writer (the standards phones and screens
        // fetch) have the edit once the writer took it.
        assert!(Arc::ptr_eq(&f.handle.hall(), &hall));
        assert_eq!(
            f.handle.command("after".into(), break_time()).await.unwrap_err().code,
            ErrorCode::UnknownPhrase
        );
    }

    #[tokio::test]
    async fn commands_are_checked_against_the_hall() {
        let f = start(100);
        let err = |c| async { f.handle.command("x".into(), c).await.unwrap_err() };
        assert_eq!(err(call("A-1", 999)).await.code, ErrorCode::UnknownCounter);
        let wrong_letter = err(call("Z-1", 1)).await;
        assert_eq!((wrong_letter.code, wrong_letter.field), (ErrorCode::InvalidCommand, Some("ticket")));
        let recall = Command::Recall(RecallCommand { counter: 1, agency: None, ticket: None });
        assert_eq!(err(recall.clone()).await.code, ErrorCode::NothingToRecall);
        let phrase = Command::Announce(AnnounceCommand { phrase: "dance".into() });
        assert_eq!(err(phrase).await.code, ErrorCode::UnknownPhrase);
        let long = Command::Ticker(TickerCommand { text: "x".repeat(MAX_TICKER_CHARS + 1) });
        assert_eq!(err(long).await.field, Some("text"));
        f.handle.command("c1".into(), call("A-7", 1)).await.unwrap();
        let ack = f.handle.command("c2".into(), recall).await.unwrap();
        let board = f.handle.board().await.unwrap();
        assert_eq!((board.seq, ack.seq), (3, 3));
        assert_eq!(board.recent[0].recalls, 1);
    }

    #[tokio::test]
    async fn call_next_counts_per_letter_and_a_retry_does_not_skip_a_ticket() {
        let f = start(100);
        let next = |counter, letter: Option<&str>| {
            Command::CallNext(CallNextCommand { counter, agency: None, letter: letter.map(str::to_string) })
        };
        f.handle.command("n1".into(), next(1, None)).await.unwrap();
        f.handle.command("n1".into(), next(1, None)).await.unwrap();
        f.handle.command("n2".into(), next(2, None)).await.unwrap();
        f.handle.command("c".into(), call("B-40", 5)).await.unwrap();
        f.handle.command("n3".into(), next(6, Some("b"))).await.unwrap();
        let board = f.handle.board().await.unwrap();
        let called: Vec<String> = board.recent.iter().rev().map(|r| r.ticket.to_string()).collect();
        assert_eq!(called, ["A-001", "A-002", "B-040", "B-041"]);
        let wrong = f.handle.command("n4".into(), next(1, Some("B"))).await.unwrap_err();
        assert_eq!((wrong.code, wrong.field), (ErrorCode::InvalidCommand, Some("letter")));
    }

    #[tokio::test]
    async fn retried_ids_are_acked_with_their_seq_and_applied_once() {
        let f = start(100);
        let first = f.handle.command("same".into(), call("A-1", 1)).await.unwrap();
        let again = f.handle.command("same".into(), call("A-1", 1)).await.unwrap();
        assert_eq!(again, Ack { seq: first.seq, duplicate: true, issued: None });
        assert_eq!(f.handle.board().await.unwrap().seq, first.seq);
        // Two consoles that pick the same id for different calls: the second is refused, not
        // acked as a duplicate of the first (which would drop it without a word).
        let other = f.handle.command("same".into(), call("A-2", 1)).await.unwrap_err();
        assert_eq!((other.code, other.field), (ErrorCode::IdReused, Some("id")));
        assert!(other.message.contains(&format!("seq {}", first.seq)), "{}", other.message);
        // Within one batch too: the writer decides both before either is stored.
        let (a, b) = tokio::join!(
            f.handle.command("batch".into(), call("A-3", 1)),
            f.handle.command("batch".into(), call("A-4", 2)),
        );
        assert!(a.is_ok(), "{a:?}");
        assert_eq!(b.unwrap_err().code, ErrorCode::IdReused);
        assert_eq!(f.handle.board().await.unwrap().seq, first.seq + 1);
    }

    #[tokio::test]
    async fn subscribers_get_snapshot_replay_or_nothing() {
        let f = start(5);
        for n in 1..=4 {
            f.handle.command(format!("c{n}"), call(&format!("A-{n}"), 1)).await.unwrap();
        }
        let fresh = f.handle.subscribe(0).await.unwrap();
        assert_eq!(fresh.seq, 5);
        assert!(fresh.catch_up[0].as_str().starts_with(r#"{"type":"snapshot""#));
        let behind = f.handle.subscribe(3).await.unwrap();
        assert_eq!(behind.catch_up.len(), 2);
        assert!(behind.catch_up[0].as_str().contains(r#""seq":4"#));
        assert!(f.handle.subscribe(5).await.unwrap().catch_up.is_empty());
        let mut live = f.handle.subscribe(5).await.unwrap().live;
        f.handle.command("c5".into(), call("A-5", 1)).await.unwrap();
        assert!(live.recv().await.unwrap().text.as_str().contains(r#""seq":6"#));
        // Past 2 × keep events the journal compacts; a client from before gets a snapshot.
        for n in 6..=12 {
            f.handle.command(format!("c{n}"), call(&format!("A-{n}"), 1)).await.unwrap();
        }
        let old = f.handle.subscribe(2).await.unwrap();
        assert!(old.catch_up[0].as_str().starts_with(r#"{"type":"snapshot""#));
    }
}
