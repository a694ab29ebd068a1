//! A hall's journal as a NATS JetStream stream, which several hubs can share: the stream
//! sequence is the seq, a command id is the message id (JetStream stores a retry once), and
//! each hall's latest snapshot is the one message of its subject in a second stream.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use async_nats::{HeaderMap, ServerAddr};
use futures_util::StreamExt;
use tokio::runtime::Handle;

use super::journal::{CommandKey, Entry, Journal, JournalError, StoredCommand};
use crate::board::{Applied, Board};
use crate::protocol::{EventFrame, Seq};

/// The stream holding each hall's latest snapshot, on subject `papan.<id>.snapshot`. (Not a
/// key-value bucket: async-nats's bucket creation does not understand nats-server 2.9's answer.)
const SNAPSHOT_STREAM: &str = "PAPAN_SNAPSHOTS";
/// How long JetStream remembers a command id: a staff retry within a day is stored once.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);
/// The message id of seq 1. JetStream checks an expected last sequence only from 1 on, so two
/// hubs starting a fresh stream at once are kept apart by storing its first event only once.
const FIRST_EVENT_ID: &str = "papan-first-event";
/// The header carrying a command's digest (its id is the message id).
const DIGEST_HEADER: &str = "Papan-Command-Digest";
/// A publish or request unanswered this long counts as the journal being unavailable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a hall's JetStream journal is.
#[derive(Debug, Clone)]
pub struct JetStreamOptions {
    /// `nats://HOST:4222[,nats://HOST2:4222…]`: servers of one cluster.
    pub servers: String,
    /// The hall's id on the cluster: names its stream (`PAPAN_<ID>`) and subject (`papan.<id>.events`).
    pub hall_id: String,
    /// Copies of the stream and snapshots (at most the cluster's size; 1 for a single server).
    pub replicas: usize,
}

impl JetStreamOptions {
    /// The stream's name: JetStream allows letters, digits, `-` and `_`.
    pub fn stream_name(&self) -> String {
        format!("PAPAN_{}", self.hall_id.to_ascii_uppercase().replace('-', "_"))
    }

    pub fn subject(&self) -> String {
        format!("papan.{}.events", self.hall_id)
    }

    fn snapshot_subject(&self) -> String {
        format!("papan.{}.snapshot", self.hall_id)
    }

    /// Shown in logs and the hub's start line.
    pub fn describe(&self) -> String {
        format!("JetStream stream {} on {}", self.stream_name(), redact_servers(&self.servers))
    }
}

/// A hall id: lowercase letters, digits and `-` (a NATS subject token and a stream name).
pub fn check_hall_id(id: &str) -> Result<(), String> {
    let fine = !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.starts_with('-');
    if fine {
        Ok(())
    } else {
        Err(format!("hall id {id:?}: use 1 to 64 lowercase letters, digits and '-', e.g. mpp-palembang"))
    }
}

/// The events this hub has seen, shared with the task following the stream.
#[derive(Default)]
struct Tail {
    /// Seq before the first kept entry: replays from before it need a snapshot.
    floor: Seq,
    entries: VecDeque<Entry>,
    /// Command id → seq and digest, for ids of the kept events and older ones up to the
    /// compaction horizon.
    commands: HashMap<String, StoredCommand>,
    notify: Option<Box<dyn Fn() + Send + Sync>>,
}

impl Tail {
    fn last(&self) -> Seq {
        self.entries.back().map_or(self.floor, |e| e.frame.seq)
    }

    /// Keeps `entry` if it is the next one; false if it was already here (or out of order).
    fn push(&mut self, entry: Entry) -> bool {
        if entry.frame.seq != self.last() + 1 {
            return false;
        }
        if let Some(CommandKey { id, digest }) = &entry.command {
            // An empty digest: stored before digests were kept.
            let digest = Some(digest.clone()).filter(|d| !d.is_empty());
            let stored = StoredCommand { seq: entry.frame.seq, digest };
            self.commands.insert(id.clone(), stored);
        }
        self.entries.push_back(entry);
        true
    }
}

/// The JetStream journal of one hall.
pub struct JetStreamJournal {
    runtime: Handle,
    context: jetstream::Context,
    stream: stream::Stream,
    snapshots: stream::Stream,
    options: JetStreamOptions,
    tail: Arc<Mutex<Tail>>,
    /// The board read at open, handed out once by `recover`.
    recovered: Option<Board>,
    follower: tokio::task::JoinHandle<()>,
}

impl JetStreamJournal {
    /// Connects, creates the stream and bucket if missing, reads the latest snapshot and the
    /// events after it, and starts following the stream for other hubs' events.
    pub async fn open(options: JetStreamOptions) -> Result<JetStreamJournal, JournalError> {
        check_hall_id(&options.hall_id).map_err(JournalError::Unavailable)?;
        let (connect, servers) = connect_options(&options.servers)?;
        let client = connect
            .name(format!("papan-hub {}", options.hall_id))
            .custom_inbox_prefix(super::city_link::inbox_prefix(&options.hall_id))
            .connection_timeout(REQUEST_TIMEOUT)
            .connect(servers)
            .await
            .map_err(|e| {
                unavailable(format!("cannot reach NATS at {}", redact_servers(&options.servers)), e)
            })?;
        let mut context = jetstream::new(client);
        context.set_timeout(REQUEST_TIMEOUT);
        let replicas = options.replicas.max(1);
        let stream = context
            .get_or_create_stream(stream::Config {
                name: options.stream_name(),
                subjects: vec![options.subject()],
                storage: stream::StorageType::File,
                num_replicas: replicas,
                duplicate_window: DUPLICATE_WINDOW,
                discard: stream::DiscardPolicy::Old,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("creating stream {}", options.stream_name()), e))?;
        let snapshots = context
            .get_or_create_stream(stream::Config {
                name: SNAPSHOT_STREAM.into(),
                subjects: vec!["papan.*.snapshot".into()],
                storage: stream::StorageType::File,
                num_replicas: replicas,
                max_messages_per_subject: 1,
                discard: stream::DiscardPolicy::Old,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("creating stream {SNAPSHOT_STREAM}"), e))?;
        let (snapshot_seq, mut board) = match latest_snapshot(&snapshots, &options.snapshot_subject()).await?
        {
            Some((_, board)) => (board.seq, board),
            None => (0, Board::default()),
        };
        let mut tail = Tail { floor: snapshot_seq, ..Default::default() };
        let last = last_seq(&stream).await?;
        if last < snapshot_seq {
            return Err(JournalError::Gap { expected: snapshot_seq, found: last });
        }
        for seq in snapshot_seq + 1..=last {
            let entry = fetch_entry(&stream, seq).await?;
            if let Applied::Gap { expected, got } = board.apply(&entry.frame) {
                return Err(JournalError::Gap { expected, found: got });
            }
            tail.push(entry);
        }
        tracing::info!(stream = options.stream_name(), snapshot_seq, last, "JetStream journal read");
        let tail = Arc::new(Mutex::new(tail));
        let follower = tokio::spawn({
            let (stream, client, tail) = (stream.clone(), context.client(), tail.clone());
            async move {
                tokio::join!(
                    follow(stream.clone(), client, tail.clone(), last),
                    check_for_missed(stream, tail)
                );
            }
        });
        Ok(JetStreamJournal {
            runtime: Handle::current(),
            context,
            stream,
            snapshots,
            options,
            tail,
            recovered: Some(board),
            follower,
        })
    }

    fn tail(&self) -> MutexGuard<'_, Tail> {
        lock(&self.tail)
    }

    async fn publish(&self, entry: &Entry) -> Result<(), JournalError> {
        let seq = entry.frame.seq;
        let payload = serde_json::to_vec(&entry.frame).expect("event frames serialize");
        let mut message = jetstream::message::PublishMessage::build()
            .payload(payload.into())
            .expected_last_sequence(seq - 1);
        let id = if seq == 1 { Some(FIRST_EVENT_ID) } else { entry.command.as_ref().map(|c| c.id.as_str()) };
        if let Some(id) = id {
            message = message.message_id(id);
        }
        if let Some(command) = &entry.command {
            message = message.header(DIGEST_HEADER, command.digest.as_str());
        }
        match publish_acked(&self.context, self.options.subject(), message).await {
            Ok(ack) if ack.duplicate => {
                // Stored before (a retry that reached another hub, or the race for seq 1): the
                // stored message says which command that id stands for.
                if let Some(CommandKey { id, .. }) = &entry.command {
                    let stored = fetch_entry(&self.stream, ack.sequence).await.ok();
                    let digest = stored.and_then(|e| e.command).map(|c| c.digest);
                    self.tail().commands.insert(id.clone(), StoredCommand { seq: ack.sequence, digest });
                }
                Err(JournalError::Conflict)
            }
            Ok(ack) if ack.sequence != seq => Err(JournalError::Conflict),
            Ok(_) => {
                self.tail().push(entry.clone());
                Ok(())
            }
            Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => Err(JournalError::Conflict),
            Err(e) => Err(unavailable("publishing", e)),
        }
    }
}

impl Journal for JetStreamJournal {
    fn recover(&mut self) -> Result<Board, JournalError> {
        match self.recovered.take() {
            Some(board) => Ok(board),
            None => Err(JournalError::Unavailable("the JetStream journal was already recovered".into())),
        }
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        // One message per event, each expecting the one before: JetStream (2.9) has no batches.
        self.runtime.block_on(async {
            for entry in entries {
                self.publish(entry).await?;
            }
            Ok(())
        })
    }

    fn sync(&mut self) -> Result<(), JournalError> {
        self.runtime.block_on(fetch_missing(&self.stream, &self.tail)).map(|_| ())
    }

    fn entries_after(&mut self, seq: Seq) -> Vec<Entry> {
        self.tail().entries.iter().filter(|e| e.frame.seq > seq).cloned().collect()
    }

    fn on_new_entries(&mut self, notify: Box<dyn Fn() + Send + Sync>) {
        self.tail().notify = Some(notify);
    }

    fn stored_command(&mut self, id: &str) -> Result<Option<StoredCommand>, JournalError> {
        Ok(self.tail().commands.get(id).cloned())
    }

    fn events_since(&mut self, since: Seq, max: usize) -> Result<Option<Vec<EventFrame>>, JournalError> {
        let tail = self.tail();
        if since < tail.floor {
            return Ok(None);
        }
        let frames: Vec<EventFrame> = tail
            .entries
            .iter()
            .filter(|e| e.frame.seq > since)
            .take(max + 1)
            .map(|e| e.frame.clone())
            .collect();
        Ok((frames.len() <= max).then_some(frames))
    }

    fn compact(&mut self, board: &Board, keep: u64) -> Result<(), JournalError> {
        let horizon = board.seq.saturating_sub(keep);
        self.runtime.block_on(async {
            // Another hub may have stored a newer snapshot: never replace it with an older one,
            // or a restart would need events already purged. Storing expects the snapshot
            // message read here to still be the last, so two hubs cannot both replace it.
            let subject = self.options.snapshot_subject();
            let current = latest_snapshot(&self.snapshots, &subject).await?;
            let message = jetstream::message::PublishMessage::build()
                .payload(serde_json::to_vec(board).expect("boards serialize").into());
            let message = match current {
                Some((_, stored)) if stored.seq >= board.seq => return Ok(()),
                Some((message_seq, _)) => message.expected_last_subject_sequence(message_seq),
                None => message.expected_last_subject_sequence(0),
            };
            match publish_acked(&self.context, subject, message).await {
                Ok(_) => {}
                // Another hub stored one meanwhile: it purges; this one tries at its next compaction.
                Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => return Ok(()),
                Err(e) => return Err(unavailable("storing the snapshot", e)),
            }
            if horizon > 0 {
                self.stream
                    .purge()
                    .sequence(horizon + 1)
                    .await
                    .map_err(|e| unavailable("purging old events", e))?;
            }
            Ok::<(), JournalError>(())
        })?;
        let mut tail = self.tail();
        while tail.entries.front().is_some_and(|e| e.frame.seq <= horizon) {
            tail.entries.pop_front();
        }
        tail.floor = tail.floor.max(horizon);
        let forget = board.seq.saturating_sub(keep.saturating_mul(2));
        tail.commands.retain(|_, stored| stored.seq > forget);
        Ok(())
    }

    fn event_count(&mut self) -> Result<u64, JournalError> {
        Ok(self.tail().entries.len() as u64)
    }

    fn size_bytes(&mut self) -> Result<u64, JournalError> {
        Ok(self.runtime.block_on(stream_state(&self.stream))?.bytes)
    }
}

impl Drop for JetStreamJournal {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

/// How often the journal asks the stream for events its follower has not brought.
const MISSED_CHECK_INTERVAL: Duration = Duration::from_secs(2);

/// Brings into `tail` what the stream holds beyond it; true if it brought anything.
async fn fetch_missing(stream: &stream::Stream, tail: &Mutex<Tail>) -> Result<bool, JournalError> {
    let last = last_seq(stream).await?;
    let mut brought = false;
    loop {
        let next = lock(tail).last() + 1;
        if next > last {
            return Ok(brought);
        }
        let entry = fetch_entry(stream, next).await?;
        brought |= lock(tail).push(entry);
    }
}

/// Backs up the follower: after a NATS leader election the ordered consumer can take ~10 s to
/// re-subscribe, and a hub whose own staff are idle would show other hubs' calls that late (the
/// leader-kill test saw a screen stuck at seq 411 of 501 for over 10 s in 3 of 4 runs).
async fn check_for_missed(stream: stream::Stream, tail: Arc<Mutex<Tail>>) {
    let mut every = tokio::time::interval(MISSED_CHECK_INTERVAL);
    loop {
        every.tick().await;
        match fetch_missing(&stream, &tail).await {
            Ok(true) => {
                if let Some(notify) = &lock(&tail).notify {
                    notify();
                }
            }
            Ok(false) => {}
            Err(e) => tracing::debug!("checking the JetStream journal for missed events: {e}"),
        }
    }
}

/// Follows the stream from after `last`, keeping each new event in `tail` and telling the writer;
/// starts again from where it got to if the consumer ends (a server gone, the cluster electing).
async fn follow(stream: stream::Stream, client: async_nats::Client, tail: Arc<Mutex<Tail>>, last: Seq) {
    let mut from = last + 1;
    loop {
        let config = jetstream::consumer::push::OrderedConfig {
            deliver_subject: client.new_inbox(),
            deliver_policy: jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence: from },
            ..Default::default()
        };
        let consumer = match stream.create_consumer(config).await {
            Ok(consumer) => consumer.messages().await,
            Err(e) => {
                tracing::warn!("following the JetStream journal: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut messages = match consumer {
            Ok(messages) => messages,
            Err(e) => {
                tracing::warn!("following the JetStream journal: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        while let Some(message) = messages.next().await {
            let message = match message {
                Ok(message) => message,
                Err(e) => {
                    tracing::warn!("following the JetStream journal: {e}");
                    continue;
                }
            };
            let Ok(info) = message.info() else { continue };
            let seq = info.stream_sequence;
            match to_entry(seq, message.headers.as_ref(), &message.payload) {
                Ok(entry) => {
                    let mut tail = lock(&tail);
                    if tail.push(entry)
                        && let Some(notify) = &tail.notify
                    {
                        notify();
                    }
                }
                Err(e) => tracing::error!("skipping an event of the JetStream journal: {e}"),
            }
        }
        from = lock(&tail).last() + 1;
        tracing::warn!(from, "the JetStream journal's follower ended; following again");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The stored message at `seq` as an entry (the stream sequence is the event's seq).
async fn fetch_entry(stream: &stream::Stream, seq: Seq) -> Result<Entry, JournalError> {
    let message =
        stream.get_raw_message(seq).await.map_err(|e| unavailable(format!("reading event {seq}"), e))?;
    to_entry(seq, Some(&message.headers), &message.payload)
}

fn to_entry(seq: Seq, headers: Option<&HeaderMap>, payload: &[u8]) -> Result<Entry, JournalError> {
    let mut frame: EventFrame =
        serde_json::from_slice(payload).map_err(|source| JournalError::Corrupt { seq, source })?;
    if frame.seq != seq {
        // Cannot happen while every hub publishes with an expected last sequence; the stream's
        // order is the truth that every hub shares.
        tracing::warn!(
            stored_at = seq,
            says = frame.seq,
            "an event of the JetStream journal names another seq"
        );
        frame.seq = seq;
    }
    let header = |name: &str| headers.and_then(|h| h.get(name)).map(|v| v.as_str().to_string());
    let command = header(async_nats::header::NATS_MESSAGE_ID.as_ref())
        .filter(|id| id != FIRST_EVENT_ID)
        // A message stored before digests were kept stands for whatever its id was used for.
        .map(|id| CommandKey { id, digest: header(DIGEST_HEADER).unwrap_or_default() });
    Ok(Entry { frame, command })
}

async fn last_seq(stream: &stream::Stream) -> Result<Seq, JournalError> {
    Ok(stream_state(stream).await?.last_sequence)
}

async fn stream_state(stream: &stream::Stream) -> Result<stream::State, JournalError> {
    let mut stream = stream.clone();
    let info = stream.info().await.map_err(|e| unavailable("reading the stream's state", e))?;
    Ok(info.state.clone())
}

/// The hall's latest snapshot and the sequence of its message in the snapshot stream.
async fn latest_snapshot(
    snapshots: &stream::Stream,
    subject: &str,
) -> Result<Option<(u64, Board)>, JournalError> {
    match snapshots.get_last_raw_message_by_subject(subject).await {
        Ok(message) => {
            let board: Board = serde_json::from_slice(&message.payload)
                .map_err(|source| JournalError::Corrupt { seq: 0, source })?;
            Ok(Some((message.sequence, board)))
        }
        Err(e) if e.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(None),
        Err(e) => Err(unavailable("reading the snapshot", e)),
    }
}

/// Publishes and waits for JetStream's ack (a failure to send and a refusal alike are errors).
async fn publish_acked(
    context: &jetstream::Context,
    subject: String,
    message: jetstream::message::PublishMessage,
) -> Result<jetstream::publish::PublishAck, jetstream::context::PublishError> {
    context.send_publish(subject, message).await?.await
}

fn lock(tail: &Mutex<Tail>) -> MutexGuard<'_, Tail> {
    tail.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Options to connect to `servers` with the user and password their URLs carry
/// (`nats://user:pass@host:4222`; async-nats itself does not take them from the URL).
pub(crate) fn connect_options(
    servers: &str,
) -> Result<(async_nats::ConnectOptions, Vec<ServerAddr>), JournalError> {
    let servers = parse_servers(servers)?;
    let credentials = servers
        .iter()
        .find_map(|s| Some((s.username()?.to_string(), s.password().unwrap_or_default().to_string())));
    let options = match credentials {
        Some((user, password)) => async_nats::ConnectOptions::with_user_and_password(user, password),
        None => async_nats::ConnectOptions::new(),
    };
    Ok((options, servers))
}

/// `servers` fit for a log or an error: a password in a URL is replaced by `***`.
pub fn redact_servers(servers: &str) -> String {
    servers
        .split(',')
        .map(|server| match (server.find("://"), server.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                let userinfo = &server[scheme + 3..at];
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{}{user}:***{}", &server[..scheme + 3], &server[at..])
            }
            _ => server.to_string(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn parse_servers(servers: &str) -> Result<Vec<ServerAddr>, JournalError> {
    let list: Vec<&str> = servers.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if list.is_empty() {
        return Err(JournalError::Unavailable("no NATS server given (nats://HOST:4222)".into()));
    }
    list.iter()
        .map(|s| {
            s.parse::<ServerAddr>()
                .map_err(|e| JournalError::Unavailable(format!("NATS server address {s:?}: {e}")))
        })
        .collect()
}

fn unavailable(what: impl std::fmt::Display, error: impl std::fmt::Display) -> JournalError {
    JournalError::Unavailable(format!("{what}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hall_ids_name_streams_and_subjects() {
        let options = JetStreamOptions {
            servers: "nats://127.0.0.1:4222".into(),
            hall_id: "mpp-palembang".into(),
            replicas: 1,
        };
        assert_eq!(options.stream_name(), "PAPAN_MPP_PALEMBANG");
        assert_eq!(options.subject(), "papan.mpp-palembang.events");
        assert!(check_hall_id("mpp-palembang").is_ok());
        for bad in ["", "MPP", "mpp.palembang", "mpp palembang", "-x", "a>b"] {
            assert!(check_hall_id(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn passwords_in_server_urls_are_used_and_never_shown() {
        let servers = "nats://hall-x:s3cret@a:4222, nats://b:4222";
        assert_eq!(redact_servers(servers), "nats://hall-x:***@a:4222, nats://b:4222");
        assert_eq!(redact_servers("nats://a:4222"), "nats://a:4222");
        let options = JetStreamOptions { servers: servers.into(), hall_id: "x".into(), replicas: 1 };
        assert!(!options.describe().contains("s3cret"), "{}", options.describe());
        let (_, parsed) = connect_options(servers).unwrap();
        assert_eq!(parsed[0].password(), Some("s3cret"));
    }

    #[test]
    fn server_lists_are_parsed_and_bad_ones_named() {
        assert_eq!(parse_servers("nats://a:4222, nats://b:4223").unwrap().len(), 2);
        assert!(parse_servers(" , ").is_err());
        let err = parse_servers("nats://a:4222,::bad::").unwrap_err().to_string();
        assert!(err.contains("::bad::"), "{err}");
    }
}
