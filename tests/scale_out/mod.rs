//! Hubs sharing a hall's journal on NATS JetStream: a real `nats-server` (Debian's) on a loopback
//! port, real hubs in this process and as `papan hub` processes, real WebSocket clients.

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use papan::client::{ClientOptions, Session};
use papan::feed::{Feed, FeedOptions, FeedUpdate};
use papan::hall::Hall;
use papan::hub::config::HubConfig;
use papan::hub::jetstream::JetStreamOptions;
use papan::hub::{self, HubOptions, RunningHub};
use papan::protocol::{CallNextCommand, Command, HubFrame, Role, Seq};

use super::{HubProcess, WAIT, call, free_listen_addr, next_update};

const HALL_ID: &str = "test-hall";

/// A JetStream-enabled `nats-server` on a free loopback port, stopped when dropped.
pub struct NatsServer {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        let listen = free_listen_addr();
        let port = listen.rsplit(':').next().unwrap().to_string();
        let child = Process::new("nats-server")
            .args(["--jetstream", "--addr", "127.0.0.1", "--port", &port, "--store_dir"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server (Debian package nats-server; scripts/setup installs it)");
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(&listen).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on {listen} within {WAIT:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
        NatsServer { child, url: format!("nats://{listen}"), _dir: dir }
    }

    fn journal(&self) -> JetStreamOptions {
        JetStreamOptions { servers: self.url.clone(), hall_id: HALL_ID.into(), replicas: 1 }
    }

    /// Messages in the hall's stream and its last sequence, read straight from JetStream.
    async fn stream_state(&self) -> (u64, u64) {
        let client = async_nats::connect(self.url.as_str()).await.unwrap();
        let mut stream =
            async_nats::jetstream::new(client).get_stream(self.journal().stream_name()).await.unwrap();
        let state = &stream.info().await.unwrap().state;
        (state.messages, state.last_sequence)
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A hub in this process on the shared journal, with its own data folder and everyone's tokens.
async fn start_shared_hub(nats: &NatsServer, config: &HubConfig, data: &Path) -> RunningHub {
    let options = HubOptions {
        config: config.clone(),
        data_dir: data.to_path_buf(),
        hall: Hall::builtin(),
        clock: hub::core::system_clock(),
        shared_journal: Some(nats.journal()),
    };
    hub::start(options).await.unwrap()
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
        let frame =
            tokio::time::timeout(WAIT, screen.next_frame()).await.expect("events keep coming").unwrap();
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
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut config = HubConfig::generate();
    config.listen = "127.0.0.1:0".parse().unwrap();
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
    let journal = ["--journal", &nats.url, "--hall-id", HALL_ID, "--config", config.to_str().unwrap()];
    HubProcess::spawn_with(data, &free_listen_addr(), Stdio::null(), &journal)
}

/// A screen given two hubs (`--hub a,b`) whose hub is killed moves to the other one, resumes
/// from its seq and misses nothing, including calls made while it was moving; a staff client
/// given the same list reaches the hub that is still up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_fails_over_to_the_other_hub_and_misses_nothing() {
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config_path: PathBuf = dir.path().join("hub.toml");
    let mut config = HubConfig::generate();
    config.listen = "127.0.0.1:0".parse().unwrap();
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
