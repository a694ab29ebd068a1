//! Hubs sharing a hall's journal on NATS JetStream: a real `nats-server` (Debian's) on a loopback
//! port, real hubs in this process and as `papan hub` processes, real WebSocket clients.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use papan::client::{ClientOptions, Session};
use papan::feed::{Feed, FeedOptions, FeedUpdate};
use papan::hall::Hall;
use papan::hub::config::HubConfig;
use papan::hub::jetstream::JetStreamOptions;
use papan::hub::{self, HubOptions, RunningHub};
use papan::protocol::{CallNextCommand, Command, ErrorCode, HubFrame, Role, Seq};
use tokio::task::JoinHandle;

use super::{HubProcess, WAIT, call, free_listen_addr, next_update};

mod city;

const HALL_ID: &str = "test-hall";

/// A JetStream-enabled `nats-server` on a free loopback port, stopped when dropped.
pub struct NatsServer {
    child: Child,
    pub url: String,
    config: PathBuf,
    /// Environment the server reads its users' passwords from.
    env: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with("", "")
    }

    /// A server with `jetstream_extra` inside its `jetstream { }` block and `extra` after it.
    pub fn start_with(jetstream_extra: &str, extra: &str) -> NatsServer {
        NatsServer::start_in(tempfile::tempdir().unwrap(), jetstream_extra, extra, Vec::new())
    }

    /// A server with the shipped `deploy/nats/auth.conf` included and these passwords in its
    /// environment.
    pub fn start_with_auth(passwords: Vec<(String, String)>) -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/nats/auth.conf");
        std::fs::copy(shipped, dir.path().join("auth.conf")).unwrap();
        NatsServer::start_in(dir, "", "include auth.conf", passwords)
    }

    fn start_in(
        dir: tempfile::TempDir,
        jetstream_extra: &str,
        extra: &str,
        env: Vec<(String, String)>,
    ) -> NatsServer {
        let listen = free_listen_addr();
        let conf = format!(
            "listen: \"{listen}\"\njetstream {{ store_dir: \"{store}\", {jetstream_extra} }}\n{extra}\n",
            store = dir.path().join("store").display(),
        );
        let path = dir.path().join("nats.conf");
        std::fs::write(&path, conf).unwrap();
        let child = spawn_nats_with(&path, &env);
        let mut nats = NatsServer { child, url: format!("nats://{listen}"), config: path, env, _dir: dir };
        nats.wait_listening();
        nats
    }

    fn wait_listening(&mut self) {
        let listen = self.url.trim_start_matches("nats://").to_string();
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(&listen).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on {listen} within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the server (as a lost link would look to the hubs); [`NatsServer::restart`] brings
    /// it back on the same port and store.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn restart(&mut self) {
        self.child = spawn_nats_with(&self.config, &self.env);
        self.wait_listening();
    }

    fn journal(&self) -> JetStreamOptions {
        self.journal_of(HALL_ID)
    }

    fn journal_of(&self, hall_id: &str) -> JetStreamOptions {
        JetStreamOptions { servers: self.url.clone(), hall_id: hall_id.into(), replicas: 1 }
    }

    /// Messages in the hall's stream and its last sequence, read straight from JetStream.
    async fn stream_state(&self) -> (u64, u64) {
        let client = async_nats::connect(self.url.as_str()).await.unwrap();
        let mut stream = hall_stream(client, &self.journal()).await;
        let state = &stream.info().await.unwrap().state;
        (state.messages, state.last_sequence)
    }
}

/// A `nats-server` running the config file at `path`.
fn spawn_nats(path: &Path) -> Child {
    spawn_nats_with(path, &[])
}

fn spawn_nats_with(path: &Path, env: &[(String, String)]) -> Child {
    Process::new("nats-server")
        .arg("--config")
        .arg(path)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server (Debian package nats-server; scripts/setup installs it)")
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fresh tokens, shared by every hub of a test; each hub listens on a free loopback port.
fn loopback_config() -> HubConfig {
    let mut config = HubConfig::generate();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
}

/// The hall's stream, read straight from JetStream (not through a hub).
async fn hall_stream(
    client: async_nats::Client,
    journal: &JetStreamOptions,
) -> async_nats::jetstream::stream::Stream {
    async_nats::jetstream::new(client).get_stream(journal.stream_name()).await.unwrap()
}

/// A hub in this process on the shared journal, with its own data folder and everyone's tokens.
async fn start_shared_hub(nats: &NatsServer, config: &HubConfig, data: &Path) -> RunningHub {
    hub::start(shared_hub_options(nats.journal(), config, data)).await.unwrap()
}

fn shared_hub_options(journal: JetStreamOptions, config: &HubConfig, data: &Path) -> HubOptions {
    HubOptions {
        config: config.clone(),
        data_dir: data.to_path_buf(),
        hall: Hall::builtin(),
        clock: hub::core::system_clock(),
        shared_journal: Some(journal),
    }
}

fn client(url: String, config: &HubConfig, role: Role, name: &str) -> ClientOptions {
    ClientOptions {
        url,
        token: config.token_for(role).unwrap().to_string(),
        role,
        client: name.into(),
        timeout: WAIT,
    }
}

fn call_next(counter: u16) -> Command {
    Command::CallNext(CallNextCommand { counter, agency: None, letter: None })
}

/// Events a screen receives until it has seen `last`: (seq, ticket) in arrival order.
async fn events_until(screen: &mut Session, last: Seq) -> Vec<(Seq, String)> {
    let mut seen = Vec::new();
    loop {
        let Ok(frame) = tokio::time::timeout(WAIT, screen.next_frame()).await else {
            panic!("no event for {WAIT:?} waiting for seq {last}; got up to {:?}", seen.last());
        };
        let frame = frame.unwrap();
        if let Some(HubFrame::Event(event)) = frame {
            let ticket = match &event.event {
                papan::protocol::Event::Call(call) => call.ticket.to_string(),
                other => other.kind().to_string(),
            };
            seen.push((event.seq, ticket));
            if event.seq >= last {
                return seen;
            }
        }
    }
}

/// Two hubs front one hall: a call through either reaches the screens of both with the same seq,
/// a retried command id is stored once whichever hub it reaches, and staff calling the next
/// ticket through both hubs at once never get the same ticket twice (the hubs race on the
/// stream's expected last sequence and the loser decides again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_on_one_jetstream_stream_show_the_same_sequence() {
    let _turn = super::one_load_test_at_a_time();
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config();
    let a = start_shared_hub(&nats, &config, &dir.path().join("a")).await;
    let b = start_shared_hub(&nats, &config, &dir.path().join("b")).await;
    let mut screen_a =
        Session::connect(&client(a.ws_url(), &config, Role::Display, "screen-a"), 0).await.unwrap();
    let mut screen_b =
        Session::connect(&client(b.ws_url(), &config, Role::Display, "screen-b"), 0).await.unwrap();
    let mut staff_a =
        Session::connect(&client(a.ws_url(), &config, Role::Staff, "staff-a"), 0).await.unwrap();
    let mut staff_b =
        Session::connect(&client(b.ws_url(), &config, Role::Staff, "staff-b"), 0).await.unwrap();

    let first = staff_a.command("same-id", call("A-123", 1)).await.unwrap();
    assert!(!first.duplicate);
    let seen_b = events_until(&mut screen_b, first.seq).await;
    assert_eq!(seen_b.last().unwrap(), &(first.seq, "A-123".to_string()), "hub B's screen got hub A's call");
    let retried = staff_b.command("same-id", call("A-123", 1)).await.unwrap();
    assert_eq!(
        (retried.seq, retried.duplicate),
        (first.seq, true),
        "a retry through the other hub is the same call"
    );
    // The stream keeps each command's digest: the id reused for another call is refused by
    // either hub, never acked as the earlier call.
    for staff in [&mut staff_a, &mut staff_b] {
        match staff.command("same-id", call("A-124", 1)).await {
            Err(papan::client::ClientError::Refused { code: ErrorCode::IdReused, .. }) => {}
            other => panic!("an id reused for another call must be refused id_reused: {other:?}"),
        }
    }

    // 60 "call next" through each hub at once, for two counters that share letter A.
    const EACH: u32 = 60;
    let through = |url: String, counter: u16, name: &'static str| {
        let options = client(url, &config, Role::Staff, name);
        tokio::spawn(async move {
            let mut staff = Session::connect(&options, 0).await.unwrap();
            let mut seqs = Vec::new();
            for n in 0..EACH {
                let ack = staff.command(&format!("{name}-{n}"), call_next(counter)).await.unwrap();
                assert!(!ack.duplicate);
                seqs.push(ack.seq);
            }
            seqs
        })
    };
    let (via_a, via_b) = tokio::join!(through(a.ws_url(), 1, "next-a"), through(b.ws_url(), 2, "next-b"));
    let mut seqs: Vec<Seq> = via_a.unwrap().into_iter().chain(via_b.unwrap()).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), 2 * EACH as usize, "every acked call has a seq of its own");
    let last = *seqs.last().unwrap();

    let seen_a = events_until(&mut screen_a, last).await;
    let seen_b = events_until(&mut screen_b, last).await;
    let tail =
        |seen: &[(Seq, String)]| seen.iter().filter(|(seq, _)| *seq > first.seq).cloned().collect::<Vec<_>>();
    assert_eq!(tail(&seen_a), tail(&seen_b), "both hubs' screens saw the same events in the same order");
    let tickets: Vec<String> = tail(&seen_a).into_iter().map(|(_, ticket)| ticket).collect();
    let mut unique = tickets.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        (unique.len(), tickets.len()),
        (2 * EACH as usize, 2 * EACH as usize),
        "no ticket called twice: {tickets:?}"
    );
    let contiguous: Vec<Seq> = tail(&seen_a).iter().map(|(seq, _)| *seq).collect();
    assert_eq!(contiguous, (first.seq + 1..=last).collect::<Vec<_>>(), "no seq skipped or repeated");
    assert_eq!(nats.stream_state().await, (last, last), "the stream holds each event once");
    // /metrics reads the journal's size from the stream (it used to read an SQLite file: 0 here).
    let metrics = crate::scrape_metrics(b.http_url()).await;
    assert!(metrics("papan_journal_bytes", &[]) > 0.0, "the stream's bytes");
    assert!(metrics("papan_journal_commit_seconds", &[]) >= 1.0, "hub B's commits were timed");
    println!(
        "{} calls through two hubs at once; the hubs raced for the stream {} + {} times",
        2 * EACH,
        a.journal_conflict_count(),
        b.journal_conflict_count()
    );

    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// A `papan hub` process on the shared journal.
fn hub_process(nats: &NatsServer, config: &Path, data: &Path) -> HubProcess {
    hub_process_logging(nats, config, data, Stdio::null())
}

fn hub_process_logging(nats: &NatsServer, config: &Path, data: &Path, log: Stdio) -> HubProcess {
    let journal = ["--journal", &nats.url, "--hall-id", HALL_ID, "--config", config.to_str().unwrap()];
    HubProcess::spawn_with(data, &free_listen_addr(), log, &journal)
}

/// A screen given two hubs (`--hub a,b`) whose hub is killed moves to the other one, resumes
/// from its seq and misses nothing, including calls made while it was moving; a staff client
/// given the same list reaches the hub that is still up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_fails_over_to_the_other_hub_and_misses_nothing() {
    let _turn = super::one_load_test_at_a_time();
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config_path: PathBuf = dir.path().join("hub.toml");
    let config = loopback_config();
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();
    let a = hub_process(&nats, &config_path, &dir.path().join("a"));
    let b = hub_process(&nats, &config_path, &dir.path().join("b"));
    let both = format!("ws://{}/ws,ws://{}/ws", a.addr, b.addr);

    let mut options = FeedOptions::new(client(both.clone(), &config, Role::Display, "lobby-1"));
    options.offline_after = Duration::from_secs(1);
    options.backoff_min = Duration::from_millis(100);
    options.backoff_max = Duration::from_millis(300);
    let feed = Feed::start(options, None);
    assert_eq!(next_update(&feed), FeedUpdate::Online);
    assert!(matches!(next_update(&feed), FeedUpdate::Board { .. }));
    let staff = client(both, &config, Role::Staff, "counter-1");
    let before = papan::client::send_command(&staff, "before", call("B-1", 5)).await.unwrap();
    assert!(matches!(next_update(&feed), FeedUpdate::Event { frame, .. } if frame.seq == before.seq));

    a.signal("-KILL");
    drop(a);
    // Staff keep calling: their list gets them to hub B.
    let mut acked = Vec::new();
    for n in 2..=6 {
        acked.push(
            papan::client::send_command(&staff, &format!("during-{n}"), call(&format!("B-{n}"), 5))
                .await
                .unwrap()
                .seq,
        );
    }
    let mut got = Vec::new();
    let deadline = Instant::now() + WAIT;
    while got.last() != acked.last() {
        assert!(Instant::now() < deadline, "the screen did not catch up: got {got:?}, acked {acked:?}");
        match next_update(&feed) {
            FeedUpdate::Event { frame, .. } => got.push(frame.seq),
            FeedUpdate::Board { .. } => panic!("resuming with since needs no snapshot"),
            FeedUpdate::Offline { .. } | FeedUpdate::Online => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, acked, "every call made meanwhile arrived, in order, once");
    drop(b);
}

/// A hub on the shared journal compacts it like the SQLite one (snapshot, older events purged)
/// and a hub started later begins from that snapshot and the events after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_starts_from_the_shared_snapshot_and_the_events_after_it() {
    let _turn = super::one_load_test_at_a_time();
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = loopback_config();
    config.limits.journal_keep = 5;
    let a = start_shared_hub(&nats, &config, &dir.path().join("a")).await;
    let staff = client(a.ws_url(), &config, Role::Staff, "staff");
    let mut last = 0;
    for n in 1..=30 {
        last = papan::client::send_command(&staff, &format!("c{n}"), call(&format!("C-{n}"), 7))
            .await
            .unwrap()
            .seq;
    }
    a.stop().await.unwrap();
    let (kept, stream_last) = nats.stream_state().await;
    assert_eq!(stream_last, last);
    assert!(kept <= 15, "compaction purged old events: {kept} of {last} kept");

    let b = start_shared_hub(&nats, &config, &dir.path().join("b")).await;
    let mut screen = Session::connect(&client(b.ws_url(), &config, Role::Display, "late"), 0).await.unwrap();
    match screen.next_frame().await.unwrap() {
        Some(HubFrame::Snapshot { seq, board, .. }) => {
            assert_eq!(seq, last);
            assert_eq!(board.recent[0].ticket.to_string(), "C-030", "the board has the last call");
        }
        other => panic!("expected a snapshot, got {other:?}"),
    }
    // A retry of a call from before the restart is still recognised.
    let retried = papan::client::send_command(
        &client(b.ws_url(), &config, Role::Staff, "staff"),
        "c30",
        call("C-30", 7),
    )
    .await
    .unwrap();
    assert_eq!((retried.seq, retried.duplicate), (last, true));
    b.stop().await.unwrap();
}

/// Three `nats-server`s in one JetStream cluster on loopback ports.
struct NatsCluster {
    nodes: Vec<(String, Option<Child>)>,
    urls: Vec<String>,
    _dir: tempfile::TempDir,
}

impl NatsCluster {
    fn start() -> NatsCluster {
        let dir = tempfile::tempdir().unwrap();
        let clients: Vec<String> = (0..3).map(|_| free_listen_addr()).collect();
        let routes: Vec<String> = (0..3).map(|_| free_listen_addr()).collect();
        let mut nodes = Vec::new();
        for n in 0..3 {
            let name = format!("n{}", n + 1);
            let (host, port) = clients[n].rsplit_once(':').unwrap();
            let others: Vec<String> =
                (0..3).filter(|&o| o != n).map(|o| format!("\"nats-route://{}\"", routes[o])).collect();
            let conf = format!(
                "server_name: {name}\nlisten: \"{host}:{port}\"\njetstream {{ store_dir: \"{store}\" }}\n\
                 cluster {{ name: papan-test, listen: \"{route}\", routes: [{others}] }}\n",
                store = dir.path().join(&name).display(),
                route = routes[n],
                others = others.join(", "),
            );
            let path = dir.path().join(format!("{name}.conf"));
            std::fs::write(&path, conf).unwrap();
            let child = spawn_nats(&path);
            nodes.push((name, Some(child)));
        }
        let urls = clients.iter().map(|c| format!("nats://{c}")).collect();
        NatsCluster { nodes, urls, _dir: dir }
    }

    fn journal(&self) -> JetStreamOptions {
        JetStreamOptions { servers: self.urls.join(","), hall_id: HALL_ID.into(), replicas: 3 }
    }

    fn kill(&mut self, name: &str) {
        let (_, child) = self.nodes.iter_mut().find(|(n, _)| n == name).expect("a node of the cluster");
        let mut child = child.take().expect("node still running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    async fn connect(&self) -> async_nats::Client {
        let servers: Vec<async_nats::ServerAddr> = self.urls.iter().map(|u| u.parse().unwrap()).collect();
        async_nats::connect(servers).await.unwrap()
    }

    /// The server leading the hall's stream now.
    async fn stream_leader(&self) -> String {
        let client = self.connect().await;
        let mut stream = hall_stream(client, &self.journal()).await;
        let info = stream.info().await.unwrap();
        info.cluster.as_ref().and_then(|c| c.leader.clone()).expect("the stream has a leader")
    }

    async fn stored_ids(&self) -> Vec<(Seq, Option<String>)> {
        stored_ids(self.connect().await, &self.journal()).await
    }
}

/// Every (seq, command id) in the hall's stream.
async fn stored_ids(client: async_nats::Client, journal: &JetStreamOptions) -> Vec<(Seq, Option<String>)> {
    let mut stream = hall_stream(client, journal).await;
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut stored = Vec::new();
    for seq in 1..=last {
        let message = stream.get_raw_message(seq).await.unwrap();
        let id = message.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_string());
        stored.push((seq, id));
    }
    stored
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            if let Some(child) = child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Two hubs on a stream with three replicas; the server leading the stream is killed in the
/// middle of a 500-call burst from four staff clients. Every acked call is in the stream once,
/// and the screens of both hubs end on the same seq with the same events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_stream_leader_mid_burst_loses_no_acked_call() {
    let _turn = super::one_load_test_at_a_time();
    let mut cluster = NatsCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = loopback_config();
    config.limits.commands_per_second = 1000.0;
    config.limits.command_burst = 1000.0;
    let start = |name: &'static str| {
        let options = shared_hub_options(cluster.journal(), &config, &dir.path().join(name));
        async move {
            // The cluster elects its JetStream leader a few seconds after starting.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match hub::start(options.clone()).await {
                    Ok(hub) => return hub,
                    Err(e) if Instant::now() < deadline => {
                        tracing::debug!("waiting for the cluster: {e:#}");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => panic!("the cluster never took the hall's stream: {e:#}"),
                }
            }
        }
    };
    let a = start("a").await;
    let b = start("b").await;
    let mut screen_a =
        Session::connect(&client(a.ws_url(), &config, Role::Display, "screen-a"), 0).await.unwrap();
    let mut screen_b =
        Session::connect(&client(b.ws_url(), &config, Role::Display, "screen-b"), 0).await.unwrap();
    let both = format!("{},{}", a.ws_url(), b.ws_url());

    const CLIENTS: u32 = 4;
    const EACH: u32 = 125;
    let acked_so_far = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        // Two clients start on each hub.
        let url = if c % 2 == 0 { both.clone() } else { format!("{},{}", b.ws_url(), a.ws_url()) };
        let options = client(url, &config, Role::Staff, "burst");
        let acked_so_far = acked_so_far.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut failed = 0;
            for n in 1..=EACH {
                let id = format!("burst-{c}-{n}");
                let ticket = format!("{}-{n}", ["A", "B", "C", "D"][c as usize]);
                let counter = [1, 5, 7, 9][c as usize];
                match papan::client::send_command(&options, &id, call(&ticket, counter)).await {
                    Ok(ack) => {
                        acked.push((id, ack.seq));
                        acked_so_far.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("{id} not acked: {e}");
                    }
                }
            }
            (acked, failed)
        }));
    }
    while acked_so_far.load(std::sync::atomic::Ordering::Relaxed) < 150 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let leader = cluster.stream_leader().await;
    cluster.kill(&leader);
    let killed_at = acked_so_far.load(std::sync::atomic::Ordering::Relaxed);

    let mut acked = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (a, f) = task.await.unwrap();
        acked.extend(a);
        failed += f;
    }
    println!(
        "killed stream leader {leader} after {killed_at} acked calls; {} acked, {failed} not acked of {}",
        acked.len(),
        CLIENTS * EACH
    );
    let stored = cluster.stored_ids().await;
    let last = stored.len() as Seq;
    let mut ids: Vec<&String> = stored.iter().filter_map(|(_, id)| id.as_ref()).collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "no command stored twice");
    for (id, seq) in &acked {
        assert!(stored.contains(&(*seq, Some(id.clone()))), "acked {id} at seq {seq} is in the stream");
    }
    let seen_a = events_until(&mut screen_a, last).await;
    let seen_b = events_until(&mut screen_b, last).await;
    assert_eq!(seen_a.last().map(|(seq, _)| *seq), Some(last));
    assert_eq!(seen_a, seen_b, "both hubs' screens saw the same events");
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

/// What one staff client got during a burst: the calls acked, and how its last call ended.
struct Burst {
    acked: Vec<(String, Seq)>,
    last: Option<papan::client::ClientError>,
}

/// Calls one after another through one connection, a few milliseconds apart, until a call is
/// not acked after NATS went away. Before that, a refusal is two hubs racing for the stream's
/// next seq (the loser gives up after ten tries against a hub calling hundreds of times a
/// second): the call is sent again with the same id, as staff clients do.
fn burst(
    options: ClientOptions,
    name: &'static str,
    counter: u16,
    acked_count: Arc<AtomicU32>,
    nats_gone: Arc<AtomicBool>,
) -> JoinHandle<Burst> {
    tokio::spawn(async move {
        let mut staff = Session::connect(&options, 0).await.unwrap();
        let mut acked = Vec::new();
        for n in 1.. {
            let id = format!("{name}-{n}");
            loop {
                match staff.command(&id, call_next(counter)).await {
                    Ok(ack) => {
                        acked.push((id, ack.seq));
                        acked_count.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Err(e) if nats_gone.load(Ordering::Relaxed) => return Burst { acked, last: Some(e) },
                    Err(papan::client::ClientError::Refused {
                        code: ErrorCode::JournalUnavailable, ..
                    }) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(e) => panic!("{name}'s call {id} before NATS went away: {e:?}"),
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Burst { acked, last: None }
    })
}

/// Waits up to `limit` for a hub process to exit: its status and how long it took.
fn exit_within(
    hub: &mut HubProcess,
    since: Instant,
    limit: Duration,
) -> (std::process::ExitStatus, Duration) {
    loop {
        if let Some(status) = hub.child.try_wait().unwrap() {
            return (status, since.elapsed());
        }
        assert!(since.elapsed() < limit, "the hub was still running {limit:?} after the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// NATS goes away in the middle of a burst of calls to two hubs, then the hubs get SIGTERM. Hub
/// A stops within its journal deadline, exits non-zero saying the journal was out of reach, and
/// answers every call it had not confirmed with an error; hub B, given a second SIGTERM, exits at
/// once. When NATS comes back, every call either hub acked is in the stream at its seq.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubs_stop_on_sigterm_while_nats_is_gone_and_lose_no_acked_call() {
    let _turn = super::one_load_test_at_a_time();
    let mut nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("hub.toml");
    let mut config = loopback_config();
    config.limits.commands_per_second = 1000.0;
    config.limits.command_burst = 1000.0;
    std::fs::write(&config_path, toml::to_string(&config).unwrap()).unwrap();
    let log_path = dir.path().join("a.log");
    let log = Stdio::from(std::fs::File::create(&log_path).unwrap());
    let mut a = hub_process_logging(&nats, &config_path, &dir.path().join("a"), log);
    let mut b = hub_process(&nats, &config_path, &dir.path().join("b"));
    let url = |hub: &HubProcess| format!("ws://{}/ws", hub.addr);
    let mut city = Process::new(env!("CARGO_BIN_EXE_papan"))
        .args(["city", "--nats", &nats.url, "--listen", "127.0.0.1:0", "--data"])
        .arg(dir.path().join("city"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // One count per staff client, and NATS goes only once each has calls acked, so both hubs
    // have calls in flight. With one count for all, hub A's clients reached it alone: hub B's,
    // losing the race for the stream's next seq, was refused at its first call unnoticed, and
    // in one CI run was still connecting when the second SIGTERM cut it.
    let acked_by: [Arc<AtomicU32>; 3] = Default::default();
    let nats_gone = Arc::new(AtomicBool::new(false));
    let staff = |hub: &HubProcess, name: &'static str, counter: u16, acked: &Arc<AtomicU32>| {
        let options = client(url(hub), &config, Role::Staff, name);
        burst(options, name, counter, acked.clone(), nats_gone.clone())
    };
    let through_a = [staff(&a, "a1", 1, &acked_by[0]), staff(&a, "a2", 2, &acked_by[1])];
    let through_b = staff(&b, "b1", 3, &acked_by[2]);
    let counts = || acked_by.iter().map(|acked| acked.load(Ordering::Relaxed)).collect::<Vec<u32>>();
    let started = Instant::now();
    while counts().iter().any(|acked| *acked < 30) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "calls acked by a1, a2, b1 after 30 s: {:?}",
            counts()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    println!(
        "calls acked by a1, a2, b1 when NATS went away: {:?} ({:?} after the start)",
        counts(),
        started.elapsed()
    );
    nats_gone.store(true, Ordering::Relaxed);
    nats.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let signalled = Instant::now();
    a.signal("-TERM");
    b.signal("-TERM");
    Process::new("kill").args(["-TERM", &city.id().to_string()]).status().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    b.signal("-TERM");
    let (b_status, b_took) = exit_within(&mut b, signalled, Duration::from_secs(3));
    let limit = hub::shutdown::JOURNAL_DEADLINE + Duration::from_secs(3);
    let (a_status, a_took) = exit_within(&mut a, signalled, limit);
    println!(
        "NATS gone: hub A exited {a_status} {a_took:?} after SIGTERM; hub B {b_status} {b_took:?} after the first of two"
    );

    let city_status = loop {
        if let Some(status) = city.try_wait().unwrap() {
            break status;
        }
        assert!(signalled.elapsed() < Duration::from_secs(3), "papan city still runs 3 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(city_status.success(), "the city view has nothing to flush: {city_status}");
    assert_eq!(b_status.code(), Some(130), "a second signal ends the hub at once");
    assert!(b_took < Duration::from_secs(1), "hub B took {b_took:?} with two signals");
    assert!(!a_status.success(), "hub A could not reach its journal: exit non-zero");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("the journal did not finish"), "hub A says why it exits non-zero:\n{log}");

    let mut acked = Vec::new();
    for task in through_a {
        let Burst { acked: calls, last } = task.await.unwrap();
        match last {
            Some(papan::client::ClientError::Refused {
                code: ErrorCode::ShuttingDown | ErrorCode::JournalUnavailable,
                ..
            }) => {}
            other => panic!("a call hub A did not confirm must get an error, got {other:?}"),
        }
        acked.extend(calls);
    }
    acked.extend(through_b.await.unwrap().acked);

    nats.restart();
    let client = async_nats::connect(nats.url.as_str()).await.unwrap();
    let stored = stored_ids(client, &nats.journal()).await;
    println!("{} calls acked before NATS went away; the stream holds {} events", acked.len(), stored.len());
    for (id, seq) in &acked {
        assert!(stored.contains(&(*seq, Some(id.clone()))), "acked {id} at seq {seq} is in the stream");
    }
}
