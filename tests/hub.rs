//! Hub integration tests: a real hub on 127.0.0.1:0, real WebSocket and HTTP clients, the real
//! `papan` binary for restarts, `kill -9` and the CLI, and the staff console and fleet page in a
//! real headless Chromium.

mod browser;
mod console;
mod display_token;
mod durable;
mod flood;
mod hostile;
mod phones;
mod proxy;
mod report;
mod scale_out;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command as Process, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use papan::client::ClientError;
use papan::client::{ClientOptions, Session, StaffLink};
use papan::feed::{Feed, FeedOptions, FeedUpdate};
use papan::hall::Hall;
use papan::hub::config::{HubConfig, Limits};
use papan::hub::{self, HubOptions, RunningHub};
use papan::protocol::{CallCommand, Command, CounterCommand, HubFrame, IssueCommand, Priority, Role};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const WAIT: Duration = Duration::from_secs(10);

/// Taken by the tests that load the machine and time the hub under it (a flood, hostile frames,
/// a stuck screen among 13,000 events, 2,000 phone pages), and by the tests that load it most (the
/// browser tests' Chromium, the NATS tests' servers and hubs): one at a time, so that none times
/// another's load (tests run two at a time on two cores; a 2,000-phone run once saw a 20 ms
/// stall beside them). Other tests still run beside them. A turn, not a lock guard: it is held
/// across the test's awaits on purpose, and each test has its own runtime.
static LOAD_TEST_RUNNING: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
static LOAD_TEST_ENDED: std::sync::Condvar = std::sync::Condvar::new();

struct LoadTestTurn;

impl Drop for LoadTestTurn {
    fn drop(&mut self) {
        *LOAD_TEST_RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = false;
        LOAD_TEST_ENDED.notify_one();
    }
}

fn one_load_test_at_a_time() -> LoadTestTurn {
    let mut running = LOAD_TEST_RUNNING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    while *running {
        running = LOAD_TEST_ENDED.wait(running).unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    *running = true;
    LoadTestTurn
}

struct TestHub {
    hub: RunningHub,
    staff: String,
    display: String,
    kiosk: String,
    _dir: tempfile::TempDir,
}

async fn start_hub(tune: impl FnOnce(&mut Limits)) -> TestHub {
    start_hub_for(Hall::builtin(), tune).await
}

async fn start_hub_for(hall: Hall, tune: impl FnOnce(&mut Limits)) -> TestHub {
    start_hub_with(hall, tempfile::tempdir().unwrap(), tune).await
}

/// A folder in memory (tmpfs) for the journal of a test that times the hub under load: on this
/// class of disk an fsync under load now and then takes 100–600 ms (and once 2.8 s in CI), which
/// says nothing about fan-out or admission. Elsewhere a temporary folder on disk.
fn memory_dir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).unwrap()
}

/// A hub whose journal is in `dir`.
async fn start_hub_with(hall: Hall, dir: tempfile::TempDir, tune: impl FnOnce(&mut Limits)) -> TestHub {
    let mut config = HubConfig::generate();
    config.listen = "127.0.0.1:0".parse().unwrap();
    tune(&mut config.limits);
    let staff = config.token_for(Role::Staff).unwrap().to_string();
    let display = config.token_for(Role::Display).unwrap().to_string();
    let kiosk = config.token_for(Role::Kiosk).unwrap().to_string();
    let options = HubOptions {
        config,
        data_dir: dir.path().to_path_buf(),
        hall,
        clock: hub::core::system_clock(),
        shared_journal: None,
    };
    TestHub { hub: hub::start(options).await.unwrap(), staff, display, kiosk, _dir: dir }
}

impl TestHub {
    fn options(&self, role: Role) -> ClientOptions {
        ClientOptions {
            url: self.hub.ws_url(),
            token: match role {
                Role::Staff => self.staff.clone(),
                Role::Display => self.display.clone(),
                Role::Kiosk => self.kiosk.clone(),
            },
            role,
            client: format!("test-{role}"),
            timeout: WAIT,
        }
    }

    async fn session(&self, role: Role, since: u64) -> Session {
        Session::connect(&self.options(role), since).await.unwrap()
    }

    async fn raw(&self) -> Raw {
        Raw::connect(&self.hub.ws_url()).await
    }

    async fn hello(&self, role: Role, since: u64) -> Raw {
        let mut raw = self.raw().await;
        let token = if role == Role::Staff { &self.staff } else { &self.display };
        raw.send(json!({"type": "hello", "protocol": 1, "role": role, "client": "raw", "token": token, "since": since}))
            .await;
        assert_eq!(raw.next().await["type"], "welcome");
        raw
    }
}

fn call(ticket: &str, counter: u16) -> Command {
    Command::Call(CallCommand { ticket: ticket.parse().unwrap(), counter, agency: None, service: None })
}

/// A bare WebSocket client that sends whatever a test wants.
struct Raw {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Raw {
    async fn connect(url: &str) -> Raw {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Raw { ws }
    }

    async fn send(&mut self, value: Value) {
        self.send_text(value.to_string()).await;
    }

    async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    /// Sends without flushing; false once the connection is gone.
    async fn feed(&mut self, message: Message) -> bool {
        self.ws.feed(message).await.is_ok()
    }

    /// Flushes what was fed; false once the connection is gone.
    async fn flush(&mut self) -> bool {
        self.ws.flush().await.is_ok()
    }

    /// The next error frame, skipping the live traffic every subscriber gets; `None` once closed.
    async fn next_error(&mut self) -> Option<Value> {
        loop {
            let frame = self.next().await;
            match frame["type"].as_str() {
                None => return None,
                Some("error") => return Some(frame),
                Some("welcome" | "snapshot" | "event") => {}
                Some(other) => panic!("unexpected {other} frame: {frame}"),
            }
        }
    }

    /// Next JSON frame; `Value::Null` once the hub has closed.
    async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next()).await.expect("hub answered in time");
            match message {
                Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Value::Null,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Next frame, then checks the hub closes the connection.
    async fn expect_error_and_close(&mut self, code: &str) -> Value {
        let frame = self.next().await;
        assert_eq!((frame["type"].as_str(), frame["code"].as_str()), (Some("error"), Some(code)), "{frame}");
        assert!(frame["message"].as_str().is_some_and(|m| m.len() > 10), "a readable message: {frame}");
        assert_eq!(self.next().await, Value::Null, "closed after {code}");
        frame
    }
}

/// `GET url` (with a bearer token if given), answered 200 with JSON.
async fn get_json(url: String, token: Option<&str>) -> Value {
    let mut request = papan::tls::http_client().get(&url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.unwrap()
}

/// Skips frames until an event of the given seq arrives.
async fn expect_event(session: &mut Session, seq: u64) -> papan::protocol::EventFrame {
    loop {
        match tokio::time::timeout(WAIT, session.next_frame()).await.expect("event in time").unwrap() {
            Some(HubFrame::Event(frame)) if frame.seq == seq => return frame,
            Some(HubFrame::Event(frame)) if frame.seq > seq => panic!("got seq {} before {seq}", frame.seq),
            Some(_) => {}
            None => panic!("closed while waiting for seq {seq}"),
        }
    }
}

#[tokio::test]
async fn snapshot_on_connect_then_live_events() {
    let t = start_hub(|_| {}).await;
    let mut staff = t.session(Role::Staff, 0).await;
    let first = staff.command("c1", call("A-12", 2)).await.unwrap();
    let mut display = t.session(Role::Display, 0).await;
    assert_eq!(display.welcome_seq, first.seq);
    let Some(HubFrame::Snapshot { seq, board, hall, .. }) = display.next_frame().await.unwrap() else {
        panic!("snapshot expected")
    };
    assert_eq!((seq, board.seq), (first.seq, first.seq));
    assert_eq!(hall.agencies.len(), 28);
    assert_eq!(board.serving(2, "disdukcapil").unwrap().ticket.to_string(), "A-012");
    let second = staff.command("c2", call("B-1", 5)).await.unwrap();
    let event = expect_event(&mut display, second.seq).await;
    assert_eq!(event.event.kind(), "call");
    t.hub.stop().await.unwrap();
}

#[tokio::test]
async fn replay_from_since_in_order_then_live() {
    let t = start_hub(|_| {}).await;
    let mut staff = t.session(Role::Staff, 0).await;
    let mut seqs = Vec::new();
    for n in 1..=6 {
        seqs.push(staff.command(&format!("c{n}"), call(&format!("A-{n}"), 1)).await.unwrap().seq);
    }
    let since = seqs[2];
    let mut display = t.session(Role::Display, since).await;
    for &seq in &seqs[3..] {
        let Some(HubFrame::Event(frame)) = display.next_frame().await.unwrap() else {
            panic!("replayed event")
        };
        assert_eq!(frame.seq, seq, "exactly the events after since, in order");
    }
    let live = staff.command("c7", call("A-7", 1)).await.unwrap();
    let Some(HubFrame::Event(frame)) = display.next_frame().await.unwrap() else { panic!("live event") };
    assert_eq!(frame.seq, live.seq);
    // An unknown future seq (e.g. a screen that saw another hub) gets a snapshot.
    let mut confused = t.session(Role::Display, 10_000).await;
    assert!(matches!(confused.next_frame().await.unwrap(), Some(HubFrame::Snapshot { .. })));
    t.hub.stop().await.unwrap();
}

#[tokio::test]
async fn retried_command_id_is_acked_again_and_applied_once() {
    let t = start_hub(|_| {}).await;
    let mut display = t.session(Role::Display, 0).await;
    display.next_frame().await.unwrap(); // snapshot
    let mut staff = t.session(Role::Staff, 0).await;
    let first = staff.command("same-id", call("A-1", 1)).await.unwrap();
    let mut other = t.session(Role::Staff, 0).await;
    let again = other.command("same-id", call("A-1", 1)).await.unwrap();
    assert_eq!((again.seq, again.duplicate, first.duplicate), (first.seq, true, false));
    let next = staff.command("next-id", call("A-2", 1)).await.unwrap();
    assert_eq!(next.seq, first.seq + 1, "the retry took no seq");
    expect_event(&mut display, first.seq).await;
    expect_event(&mut display, next.seq).await;
    // Over HTTP, the same id is also acked with its original seq.
    let http = papan::tls::http_client();
    let post = |id: &str| {
        http.post(format!("{}/api/calls", t.hub.http_url()))
            .bearer_auth(&t.staff)
            .json(&json!({"id": id, "ticket": "A-3", "counter": 1}))
            .send()
    };
    let a: Value = post("http-1").await.unwrap().json().await.unwrap();
    let b: Value = post("http-1").await.unwrap().json().await.unwrap();
    assert_eq!(
        (a["seq"].clone(), b["seq"].clone(), b["duplicate"].clone()),
        (a["seq"].clone(), a["seq"].clone(), json!(true))
    );
    t.hub.stop().await.unwrap();
}

#[tokio::test]
async fn bad_clients_get_clear_errors_and_others_keep_being_served() {
    let t = start_hub(|_| {}).await;
    let mut watcher = t.session(Role::Display, 0).await;
    watcher.next_frame().await.unwrap();
    let mut staff = t.session(Role::Staff, 0).await;

    let mut wrong_token = t.raw().await;
    wrong_token
        .send(json!({"type": "hello", "protocol": 1, "role": "staff", "client": "x", "token": "guess-guess-guess"}))
        .await;
    wrong_token.expect_error_and_close("bad_token").await;

    let mut no_hello = t.raw().await;
    no_hello.send(json!({"type": "command", "id": "1", "command": {"type": "reset"}})).await;
    no_hello.expect_error_and_close("hello_required").await;

    let mut old_client = t.raw().await;
    old_client
        .send(json!({"type": "hello", "protocol": 9, "role": "display", "client": "x", "token": t.display}))
        .await;
    old_client.expect_error_and_close("protocol_version").await;

    let mut impostor = t.raw().await;
    impostor
        .send(json!({"type": "hello", "protocol": 1, "role": "staff", "client": "x", "token": t.display}))
        .await;
    impostor.expect_error_and_close("forbidden").await;

    // A display that sends a command is refused but stays connected.
    let mut display = t.hello(Role::Display, 0).await;
    display.next().await; // snapshot
    display.send(json!({"type": "command", "id": "d1", "command": {"type": "call", "ticket": "A-1", "counter": 1}})).await;
    let refused = display.next().await;
    assert_eq!(
        (refused["code"].as_str(), refused["id"].as_str()),
        (Some("forbidden"), Some("d1")),
        "{refused}"
    );

    display.send_text("{this is not json".into()).await;
    assert_eq!(display.next().await["code"], "bad_frame");
    display.send(json!({"type": "launch_rockets"})).await;
    let unknown = display.next().await;
    assert_eq!(unknown["code"], "unknown_type");
    assert!(unknown["message"].as_str().unwrap().contains("launch_rockets"));

    let mut staff_raw = t.hello(Role::Staff, 0).await;
    staff_raw.next().await;
    staff_raw.send(json!({"type": "command", "id": "s1", "command": {"type": "call", "ticket": "A-1", "counter": "one"}})).await;
    let field = staff_raw.next().await;
    assert!(field["message"].as_str().unwrap().contains("command.counter"), "names the field: {field}");
    staff_raw.send(json!({"type": "command", "id": "s2", "command": {"type": "call", "ticket": "A-1", "counter": 999}})).await;
    let unknown_counter = staff_raw.next().await;
    assert_eq!(
        (unknown_counter["code"].as_str(), unknown_counter["id"].as_str()),
        (Some("unknown_counter"), Some("s2"))
    );

    let mut huge = t.hello(Role::Staff, 0).await;
    huge.next().await;
    huge.send_text(format!(r#"{{"type":"status","screen":"{}"}}"#, "x".repeat(100 * 1024))).await;
    huge.expect_error_and_close("frame_too_large").await;

    // After all that, honest clients are still served.
    let ack = staff.command("after", call("A-99", 1)).await.unwrap();
    expect_event(&mut watcher, ack.seq).await;
    let mut display_event = display.next().await;
    while display_event["seq"] != json!(ack.seq) {
        display_event = display.next().await;
    }
    assert_eq!(display_event["event"]["ticket"], "A-099");
    t.hub.stop().await.unwrap();
}

/// What the hub made of one hostile round.
#[derive(Debug, Default)]
struct Answers {
    frames: usize,
    /// Frames answered with an error frame.
    errors: usize,
    /// Frames that met a connection the hub had closed (after an error that said why).
    unanswered_closed: usize,
    /// Times the hub hung up.
    hangups: usize,
    /// HTTP bodies answered 4xx with an error; those that happened to be valid calls.
    http_refused: usize,
    http_applied: usize,
}

impl Answers {
    fn add(&mut self, other: Answers) {
        self.frames += other.frames;
        self.errors += other.errors;
        self.unanswered_closed += other.unanswered_closed;
        self.hangups += other.hangups;
        self.http_refused += other.http_refused;
        self.http_applied += other.http_applied;
    }
}

/// A clear error: a known code and a short readable message.
fn check_error(frame: &Value) {
    let (code, message) = (frame["code"].as_str().unwrap_or(""), frame["message"].as_str().unwrap_or(""));
    let known = ["bad_frame", "unknown_type", "frame_too_large", "hello_required", "bad_token", "forbidden"];
    assert!(known.contains(&code), "unexpected code: {frame}");
    assert!((10..=400).contains(&message.chars().count()), "a short readable message: {frame}");
}

/// One hostile client: runs its attacks one after another, reconnecting whenever the hub hangs
/// up, and checks that every frame got an error or a closed connection.
async fn attack(
    url: String,
    http: String,
    token: String,
    role: Role,
    name: String,
    attacks: Vec<hostile::Attack>,
) -> Answers {
    use hostile::Attack;
    let mut answers = Answers::default();
    let mut conn: Option<Raw> = None;
    // The last error on the current connection: a hang-up must follow one that said so.
    let mut last_error: Option<Value> = None;
    // Each attacker names itself: one screen id has at most four connections at once.
    let hello =
        json!({"type": "hello", "protocol": 1, "role": role, "client": name, "token": token, "since": 0});
    for attack in attacks {
        answers.frames += attack.frames();
        let messages = match attack {
            Attack::BeforeHello(text) => {
                let mut raw = Raw::connect(&url).await;
                raw.send_text(text).await;
                let refusal = raw.next_error().await.expect("an error before the hub hangs up");
                check_error(&refusal);
                assert_eq!(raw.next_error().await, None, "closed after refusing {refusal}");
                (answers.errors, answers.hangups) = (answers.errors + 1, answers.hangups + 1);
                continue;
            }
            Attack::Http(body) => {
                let response = papan::tls::http_client()
                    .post(format!("{http}/api/calls"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                if status.is_success() {
                    answers.http_applied += 1;
                    continue;
                }
                assert!(status.is_client_error(), "{status}");
                check_error(&response.json::<Value>().await.unwrap()["error"]);
                answers.http_refused += 1;
                continue;
            }
            Attack::Text(text) => vec![Message::text(text)],
            Attack::Binary(bytes) => vec![Message::binary(bytes)],
            Attack::Flood(texts) => texts.into_iter().map(Message::text).collect(),
        };
        let total = messages.len();
        let raw = match &mut conn {
            Some(raw) => raw,
            None => {
                let mut raw = Raw::connect(&url).await;
                raw.send(hello.clone()).await;
                assert_eq!(raw.next().await["type"], "welcome");
                conn.insert(raw)
            }
        };
        let mut sent = 0;
        for message in messages {
            if !raw.feed(message).await {
                break;
            }
            sent += 1;
        }
        let delivered = raw.flush().await;
        let mut answered = 0;
        while answered < sent {
            match raw.next_error().await {
                Some(error) => {
                    check_error(&error);
                    answered += 1;
                    last_error = Some(error);
                }
                None => {
                    let said = last_error.take().unwrap_or_default();
                    let closing = said["code"] == "frame_too_large"
                        || said["message"].as_str().is_some_and(|m| m.ends_with("in a row; closing)"));
                    assert!(closing, "the hub hung up without saying why; last error: {said}");
                    break;
                }
            }
        }
        answers.errors += answered;
        if answered < total || !delivered {
            // The hub hung up (too big, or too many bad frames in a row): the rest met a closed door.
            answers.unanswered_closed += total - answered;
            answers.hangups += 1;
            conn = None;
        }
    }
    answers
}

/// 10,000 hostile frames (random bytes, broken, deeply nested and huge JSON, wrong and unknown
/// types, frames before hello, floods, bad HTTP bodies) from 16 clients at once, twice: the hub
/// answers every one with a clear error or hangs up, keeps serving an honest screen and counter,
/// does not panic, and its memory does not grow from the first round to the second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_get_clear_errors_while_honest_clients_are_served() {
    let _turn = one_load_test_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // The attacker holds a staff token of its own: rate limits are per token.
    let mut config = HubConfig::generate();
    let attacker = papan::random_id::random_id("staff");
    config.tokens.push(papan::hub::config::TokenEntry {
        name: "attacker".into(),
        role: Role::Staff,
        token: attacker.clone(),
    });
    std::fs::write(data.join("hub.toml"), toml::to_string(&config).unwrap()).unwrap();
    let log = data.join("hub.log");
    let mut hub = HubProcess::start_logging(data, &log);
    let (url, http) = (format!("ws://{}/ws", hub.addr), format!("http://{}", hub.addr));

    let rounds_of_attacks = [hostile::attacks(10_000, 1), hostile::attacks(10_000, 2)];

    // The honest side: a counter calling every 20 ms and a screen that must see each call; the
    // delays are kept while the attack runs.
    const WARMING: u8 = 0;
    const ATTACKED: u8 = 1;
    const DONE: u8 = 2;
    let phase = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(WARMING));
    let honest = {
        let (staff, display, phase) =
            (hub.options(data, Role::Staff), hub.options(data, Role::Display), phase.clone());
        tokio::spawn(async move {
            let mut counter = Session::connect(&staff, 0).await.unwrap();
            let mut screen = Session::connect(&display, 0).await.unwrap();
            let mut delays = Vec::new();
            for n in 1u16.. {
                let now = phase.load(std::sync::atomic::Ordering::Relaxed);
                if now == DONE {
                    break;
                }
                let sent = Instant::now();
                let ack = counter.command(&format!("honest-{n}"), call(&format!("A-{n}"), 1)).await.unwrap();
                expect_event(&mut screen, ack.seq).await;
                if now == ATTACKED {
                    delays.push(sent.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            delays
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = hub.rss_kib();

    phase.store(ATTACKED, std::sync::atomic::Ordering::Relaxed);
    let mut rounds = Vec::new();
    for attacks in rounds_of_attacks {
        let started = Instant::now();
        let mut clients = Vec::new();
        for client in 0..16 {
            let share: Vec<_> = attacks.iter().skip(client).step_by(16).cloned().collect();
            let role = if client % 2 == 0 { Role::Staff } else { Role::Display };
            let token = if role == Role::Staff {
                attacker.clone()
            } else {
                config.token_for(Role::Display).unwrap().into()
            };
            let name = format!("attacker-{client}");
            clients.push(tokio::spawn(attack(url.clone(), http.clone(), token, role, name, share)));
        }
        let mut answers = Answers::default();
        for client in clients {
            answers.add(client.await.unwrap());
        }
        assert_eq!(answers.frames, 10_000);
        assert_eq!(
            answers.errors + answers.unanswered_closed + answers.http_refused + answers.http_applied,
            answers.frames,
            "every frame accounted for: {answers:?}"
        );
        rounds.push((answers, started.elapsed(), hub.rss_kib()));
    }
    phase.store(DONE, std::sync::atomic::Ordering::Relaxed);
    let mut delays = honest.await.unwrap();
    delays.sort();

    assert_eq!(hub.child.try_wait().unwrap(), None, "the hub is still running");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(!log_text.contains("panicked"), "no panic in the hub's log");
    let metrics = scrape_metrics(http.clone()).await;
    let (rss_1, rss_2) = (rounds[0].2, rounds[1].2);
    for (i, (answers, took, rss)) in rounds.iter().enumerate() {
        eprintln!(
            "hostile round {}: {answers:?} in {:.1} s; hub RSS {:.1} MiB",
            i + 1,
            took.as_secs_f64(),
            *rss as f64 / 1024.0
        );
    }
    let p = |q: f64| delays[((delays.len() - 1) as f64 * q) as usize].as_secs_f64() * 1000.0;
    eprintln!(
        "hub RSS before {:.1} MiB; honest calls during the attack: {}, command → screen p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        rss_before as f64 / 1024.0,
        delays.len(),
        p(0.5),
        p(0.99),
        p(1.0)
    );
    assert!(delays.len() >= 10, "the honest counter kept calling during the attack");
    assert!(p(1.0) < 2000.0, "honest calls stayed prompt");
    assert!(rss_2 <= rss_1 + 8 * 1024, "RSS grew from {rss_1} KiB to {rss_2} KiB between identical rounds");
    assert!(metrics("papan_connections", &[("role", "staff")]) <= 1.0, "attackers' connections are gone");
}

#[tokio::test]
async fn a_slow_screen_is_cut_and_never_delays_a_fast_one() {
    let _turn = one_load_test_at_a_time();
    let t = start_hub_with(Hall::builtin(), memory_dir(), |limits| {
        limits.send_queue = 32;
        // A hub that blocked fan-out on a stuck screen would stall the fast one this long.
        limits.send_timeout_ms = 3000;
        limits.commands_per_second = 1e9;
        limits.command_burst = 1e9;
    })
    .await;
    // The slow screen says hello, then never reads again.
    let mut slow = t.hello(Role::Display, 0).await;
    let mut fast = t.session(Role::Display, 0).await;
    fast.next_frame().await.unwrap();
    let mut staff = t.session(Role::Staff, 0).await;
    // Long ticker texts fill the slow screen's socket buffers quickly.
    let text = "Selamat datang di MPP Palembang. ".repeat(15);
    let mut worst = Duration::ZERO;
    // Keep calling until the stuck screen's buffers are full and the hub cuts it, then a bit more.
    // The cut comes send_timeout after the buffers fill, so the bound is time, not a call count: a
    // fast machine made 20,000 calls before that and the test failed without the hub being wrong.
    let (mut after_cut, mut calls) = (0, 0);
    let give_up = Instant::now() + Duration::from_secs(60);
    for n in 0.. {
        if Instant::now() > give_up {
            break;
        }
        calls += 1;
        let command = Command::Ticker(papan::protocol::TickerCommand { text: format!("{n} {text}") });
        let sent = Instant::now();
        let ack = staff.command(&format!("t{n}"), command).await.unwrap();
        expect_event(&mut fast, ack.seq).await;
        worst = worst.max(sent.elapsed());
        if t.hub.too_slow_count() > 0 {
            after_cut += 1;
            if after_cut == 50 {
                break;
            }
        }
    }
    assert_eq!(after_cut, 50, "the stuck screen was cut");
    eprintln!(
        "slow screen cut after about {} events; fast screen's worst command → event: {worst:?}",
        calls - 50
    );
    assert!(worst < Duration::from_millis(1500), "the fast screen waited {worst:?} at worst for one call");
    // The stuck screen, reading again, gets what was buffered without a gap, then the end of
    // the connection (with a too_slow error if it still fit): it must reconnect with since.
    let final_seq = staff.command("last", Command::Reset).await.unwrap().seq;
    let (mut last_seq, mut frames) = (0, 0);
    loop {
        let frame = slow.next().await;
        match frame["type"].as_str() {
            None => break,
            Some("event") => {
                let seq = frame["seq"].as_u64().unwrap();
                assert!(last_seq == 0 || seq == last_seq + 1, "gap: {last_seq} then {seq}");
                last_seq = seq;
                frames += 1;
            }
            Some("error") => assert_eq!(frame["code"], "too_slow"),
            Some(_) => {}
        }
    }
    assert!(frames > 0 && last_seq < final_seq, "cut before the end: got up to {last_seq} of {final_seq}");
    t.hub.stop().await.unwrap();
}

/// A staff client waiting between calls reads nothing, so it answers no pings and the hub drops
/// it; the demo's simulated staff with calls 20 s apart lost every call after the first that way.
#[tokio::test]
async fn a_staff_link_reconnects_after_the_hub_dropped_its_idle_session() {
    let t = start_hub(|limits| limits.ping_interval_ms = 100).await;
    let staff_connections = || async {
        let v = get_json(format!("{}/healthz", t.hub.http_url()), None).await;
        v["connections"]["staff"].as_i64().unwrap()
    };
    let mut link = StaffLink::connect(t.options(Role::Staff)).await.unwrap();
    let before = link.command("before-idle", call("A-1", 1)).await.unwrap();
    let deadline = Instant::now() + WAIT;
    while staff_connections().await > 0 {
        assert!(Instant::now() < deadline, "the hub kept a session that answers no pings");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = link.command("after-idle", call("A-2", 1)).await.unwrap();
    assert_eq!((after.seq, after.duplicate), (before.seq + 1, false));
    // Sent again on a new connection with its id, the first call is acked, not applied twice.
    let again = link.command("before-idle", call("A-1", 1)).await.unwrap();
    assert_eq!((again.seq, again.duplicate), (before.seq, true));
    let mut display = t.session(Role::Display, 0).await;
    match display.next_frame().await.unwrap() {
        Some(HubFrame::Snapshot { seq, .. }) => assert_eq!(seq, after.seq),
        other => panic!("expected a snapshot, got {other:?}"),
    }
    link.close().await;
    t.hub.stop().await.unwrap();
}

#[tokio::test]
async fn silent_peers_are_dropped_and_the_cap_is_enforced() {
    let t = start_hub(|limits| {
        limits.ping_interval_ms = 100;
        limits.max_connections = 2;
    })
    .await;
    let health = || async {
        let v = get_json(format!("{}/healthz", t.hub.http_url()), None).await;
        v["connections"]["display"].as_i64().unwrap()
    };
    // Neither client reads after connecting, so neither answers the hub's pings.
    let silent = t.hello(Role::Display, 0).await;
    let second = t.session(Role::Display, 0).await;
    assert_eq!(health().await, 2);
    // The third is refused after its hello: sockets not signed in never take these places.
    let err = Session::connect(&t.options(Role::Display), 0).await.err().expect("third connection refused");
    assert!(err.to_string().contains("too_many_connections"), "{err}");
    let deadline = Instant::now() + WAIT;
    while health().await > 0 {
        assert!(Instant::now() < deadline, "silent peers still connected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Their places under the cap are free again.
    let mut third = t.session(Role::Display, 0).await;
    assert!(matches!(third.next_frame().await.unwrap(), Some(HubFrame::Snapshot { .. })));
    drop((silent, second));
    t.hub.stop().await.unwrap();
}

#[tokio::test]
async fn http_api_answers_with_the_right_status_codes() {
    let t = start_hub(|limits| {
        limits.commands_per_second = 0.5;
        limits.command_burst = 3.0;
    })
    .await;
    let http = papan::tls::http_client();
    let url = |path: &str| format!("{}{path}", t.hub.http_url());
    let post = |path: &str, token: Option<&str>, body: String| {
        let mut request = http.post(url(path)).header("content-type", "application/json").body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let staff = Some(t.staff.as_str());
    let ok = post("/api/calls", staff, json!({"ticket": "A-7", "counter": 2}).to_string()).await.unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    assert!(body["seq"].as_u64().unwrap() >= 1);

    let bad =
        post("/api/calls", staff, json!({"ticket": "A-7", "counter": "two"}).to_string()).await.unwrap();
    assert_eq!(bad.status(), 400);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["error"]["field"], "counter", "{bad}");

    let missing = post("/api/recall", staff, json!({"ticket": "A-7"}).to_string()).await.unwrap();
    assert_eq!(missing.status(), 400);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["field"], "counter");

    let unauthorized =
        post("/api/calls", None, json!({"ticket": "A-7", "counter": 2}).to_string()).await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    assert_eq!(unauthorized.headers()["www-authenticate"], "Bearer");
    let wrong = post("/api/calls", Some("nope-nope-nope-nope"), "{}".into()).await.unwrap();
    assert_eq!(wrong.status(), 401);
    let forbidden =
        post("/api/announce", Some(&t.display), json!({"phrase": "istirahat"}).to_string()).await.unwrap();
    assert_eq!(forbidden.status(), 403);
    let too_large = post("/api/calls", staff, "x".repeat(70 * 1024)).await.unwrap();
    assert_eq!(too_large.status(), 413);
    assert_eq!(too_large.json::<Value>().await.unwrap()["error"]["code"], "frame_too_large");

    let recall = post("/api/recall", staff, json!({"counter": 2}).to_string()).await.unwrap();
    assert_eq!(recall.status(), 200);
    let announce = post("/api/announce", staff, json!({"phrase": "istirahat"}).to_string()).await.unwrap();
    assert_eq!(announce.status(), 200);
    // Burst of 3 used up: the next is refused until the bucket refills.
    let limited =
        post("/api/calls", staff, json!({"ticket": "A-8", "counter": 2}).to_string()).await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));

    let state: Value =
        http.get(url("/api/state")).bearer_auth(&t.display).send().await.unwrap().json().await.unwrap();
    assert_eq!(state["board"]["recent"][0]["ticket"], "A-007");
    assert_eq!(state["board"]["recent"][0]["recalls"], 1);
    assert_eq!(http.get(url("/api/state")).send().await.unwrap().status(), 401);
    let health = http.get(url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(http.get(url("/nope")).send().await.unwrap().status(), 404);
    t.hub.stop().await.unwrap();
}

/// The `papan` binary running a hub on a free port.
/// A loopback address nobody listens on, for a hub that must come back on the same one.
fn free_listen_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("127.0.0.1:{port}")
}

struct HubProcess {
    child: Child,
    addr: SocketAddr,
}

impl HubProcess {
    fn start(data: &Path) -> HubProcess {
        HubProcess::start_on(data, "127.0.0.1:0")
    }

    fn start_on(data: &Path, listen: &str) -> HubProcess {
        HubProcess::spawn(data, listen, Stdio::null())
    }

    /// Starts with the hub's log going to `log`.
    fn start_logging(data: &Path, log: &Path) -> HubProcess {
        HubProcess::spawn(data, "127.0.0.1:0", std::fs::File::create(log).unwrap().into())
    }

    fn spawn(data: &Path, listen: &str, stderr: Stdio) -> HubProcess {
        HubProcess::spawn_with(data, listen, stderr, &[])
    }

    fn spawn_with(data: &Path, listen: &str, stderr: Stdio, extra: &[&str]) -> HubProcess {
        HubProcess::spawn_under(Process::new(env!("CARGO_BIN_EXE_papan")), data, listen, stderr, extra)
    }

    /// `program` (papan itself, or a tracer running it) given `hub` and its arguments.
    fn spawn_under(
        mut program: Process,
        data: &Path,
        listen: &str,
        stderr: Stdio,
        extra: &[&str],
    ) -> HubProcess {
        let mut child = program
            .args(["hub", "--listen", listen, "--data"])
            .arg(data)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("hub printed its address").unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        HubProcess { child, addr }
    }

    fn options(&self, data: &Path, role: Role) -> ClientOptions {
        let config = std::fs::read_to_string(data.join("hub.toml")).unwrap();
        let config: HubConfig = toml::from_str(&config).unwrap();
        ClientOptions {
            url: format!("ws://{}/ws", self.addr),
            token: config.token_for(role).unwrap().to_string(),
            role,
            client: "process-test".into(),
            timeout: WAIT,
        }
    }

    /// Resident memory now (VmRSS), in KiB.
    fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/PID/status");
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    fn signal(&self, signal: &str) {
        let status = Process::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn acked_calls_survive_sigterm_and_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();

    // Graceful: SIGTERM closes sockets with a reason and exits 0; the state is there after restart.
    let mut hub = HubProcess::start(data);
    let mut staff = Session::connect(&hub.options(data, Role::Staff), 0).await.unwrap();
    let first = staff.command("before-term", call("A-1", 1)).await.unwrap();
    let mut display = Session::connect(&hub.options(data, Role::Display), 0).await.unwrap();
    display.next_frame().await.unwrap();
    hub.signal("-TERM");
    let goodbye = tokio::time::timeout(WAIT, display.next_frame()).await.unwrap().unwrap();
    assert!(matches!(goodbye, Some(HubFrame::Error { code: papan::protocol::ErrorCode::ShuttingDown, .. })));
    let status = hub.child.wait().unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status}");

    // Hard: kill -9 in the middle of a burst from four staff clients (rate limit lifted).
    let mut config: HubConfig =
        toml::from_str(&std::fs::read_to_string(data.join("hub.toml")).unwrap()).unwrap();
    config.limits.commands_per_second = 1e6;
    config.limits.command_burst = 1e6;
    std::fs::write(data.join("hub.toml"), toml::to_string(&config).unwrap()).unwrap();
    // On a fixed address, so that screens find the hub again after the restart.
    let listen = free_listen_addr();
    let hub = HubProcess::start_on(data, &listen);
    let mut staff = Session::connect(&hub.options(data, Role::Staff), 0).await.unwrap();
    assert!(staff.command("before-term", call("A-1", 1)).await.unwrap().duplicate, "journal kept the id");
    // Two screens watch the burst live and ride through the kill.
    let screens: Vec<Feed> = (0..2)
        .map(|i| {
            let mut options = FeedOptions::new(hub.options(data, Role::Display));
            options.client.client = format!("screen-{i}");
            options.offline_after = Duration::from_secs(2);
            (options.backoff_min, options.backoff_max) =
                (Duration::from_millis(100), Duration::from_millis(300));
            Feed::start(options, None)
        })
        .collect();
    let options = hub.options(data, Role::Staff);
    let (acked_tx, mut acked_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut burst = Vec::new();
    for client in 0..4u16 {
        let (options, acked_tx) = (options.clone(), acked_tx.clone());
        burst.push(tokio::spawn(async move {
            let mut session = Session::connect(&options, 0).await.unwrap();
            for n in 1..=2000u16 {
                let id = format!("burst-{client}-{n}");
                let ticket = format!("A-{}", client * 2000 + n);
                match session.command(&id, call(&ticket, 1 + client)).await {
                    Ok(ack) => acked_tx.send((id, ticket, 1 + client, ack.seq)).unwrap(),
                    Err(_) => return,
                }
            }
        }));
    }
    drop(acked_tx);
    // Let the burst run, then kill the hub without warning.
    let mut acked = Vec::new();
    while acked.len() < 300 {
        acked.push(acked_rx.recv().await.expect("burst running"));
    }
    hub.signal("-KILL");
    for task in burst {
        let _ = task.await;
    }
    while let Ok(one) = acked_rx.try_recv() {
        acked.push(one);
    }
    drop(hub);

    let hub = HubProcess::start_on(data, &listen);
    let mut staff = Session::connect(&hub.options(data, Role::Staff), 0).await.unwrap();
    let mut display = Session::connect(&hub.options(data, Role::Display), first.seq).await.unwrap();
    let mut journal = std::collections::HashMap::new();
    while journal.len() < display.welcome_seq as usize - first.seq as usize {
        match display.next_frame().await.unwrap() {
            Some(HubFrame::Event(frame)) => {
                journal.insert(frame.seq, frame.event);
            }
            other => panic!("expected the replay, got {other:?}"),
        }
    }
    for (id, ticket, counter, seq) in &acked {
        let Some(papan::protocol::Event::Call(c)) = journal.get(seq) else { panic!("acked seq {seq} lost") };
        assert_eq!(
            (c.ticket.to_string(), c.counter),
            (ticket.parse::<papan::protocol::Ticket>().unwrap().to_string(), *counter)
        );
        let retry = staff.command(id, call(ticket, *counter)).await.unwrap();
        assert_eq!(
            (retry.seq, retry.duplicate),
            (*seq, true),
            "retry of {id} after restart is not applied again"
        );
    }
    let calls = journal.values().filter(|e| matches!(e, papan::protocol::Event::Call(_))).count();
    let unique: std::collections::HashSet<String> = journal
        .values()
        .filter_map(|e| match e {
            papan::protocol::Event::Call(c) => Some(c.ticket.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(calls, unique.len(), "no call applied twice");
    let after = staff.command("after-restart", call("A-9999", 1)).await.unwrap();
    assert_eq!(after.seq, display.welcome_seq + 1, "the seq continues where the journal ends");

    // Each screen got every event exactly once (so it announced none twice), before and after the
    // kill, and ends with the hub's board.
    let mut watcher = Session::connect(&hub.options(data, Role::Display), 0).await.unwrap();
    let Some(HubFrame::Snapshot { board: hub_board, .. }) = watcher.next_frame().await.unwrap() else {
        panic!("snapshot")
    };
    for (i, screen) in screens.iter().enumerate() {
        let (mut board, mut delivered) = (None::<papan::board::Board>, std::collections::HashSet::new());
        let mut base = 0;
        while board.as_ref().is_none_or(|b| b.seq < after.seq) {
            match screen.updates.recv_timeout(WAIT).expect("the screen catches up") {
                FeedUpdate::Board { board: b, .. } => {
                    base = b.seq;
                    board = Some(*b);
                }
                FeedUpdate::Event { frame, .. } => {
                    assert!(delivered.insert(frame.seq), "screen {i} got seq {} twice", frame.seq);
                    board.as_mut().expect("a board before events").apply(&frame);
                }
                _ => {}
            }
        }
        let board = board.unwrap();
        assert_eq!(board, *hub_board, "screen {i} shows the hub's board");
        let missing: Vec<u64> = (base + 1..=after.seq).filter(|seq| !delivered.contains(seq)).collect();
        assert!(missing.is_empty(), "screen {i} never got {missing:?}");
    }
    eprintln!(
        "kill -9 test: {} acked before the kill, {} events recovered, both screens at seq {}",
        acked.len(),
        journal.len(),
        after.seq
    );
}

fn issue(agency: &str, priority: Option<Priority>) -> Command {
    Command::Issue(IssueCommand {
        agency: agency.into(),
        ticket: None,
        letter: None,
        service: None,
        priority,
    })
}

fn next_at(counter: u16) -> Command {
    Command::CallNext(papan::protocol::CallNextCommand { counter, agency: None, letter: None })
}

/// The ticket a command called: the counter's current ticket on the hub's board.
async fn called(staff: &mut Session, id: &str, command: Command) -> String {
    let ack = staff.command(id, command).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    let frame = expect_event(staff, ack.seq).await;
    match frame.event {
        papan::protocol::Event::Call(c) => c.ticket.to_string(),
        other => panic!("{id}: expected a call, got {other:?}"),
    }
}

/// Tickets handed out by a kiosk, called by staff priority first then oldest, a no-show on the
/// missed list, and all of it still there after `kill -9`; kiosk tokens cannot call, display
/// tokens cannot issue; the HTTP API answers with the ticket and the day's queues.
#[tokio::test]
async fn issued_tickets_queue_in_order_and_survive_kill_9() {
    use papan::protocol::ErrorCode;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let listen = free_listen_addr();
    let hub = HubProcess::start_on(data, &listen);
    let mut kiosk = Session::connect(&hub.options(data, Role::Kiosk), 0).await.unwrap();
    let mut staff = Session::connect(&hub.options(data, Role::Staff), 0).await.unwrap();
    let first = kiosk.command("k1", issue("disdukcapil", None)).await.unwrap();
    let ticket = first.issued.clone().expect("an issue is answered with its ticket");
    assert_eq!((ticket.ticket.to_string(), ticket.ahead, ticket.estimate), ("A-001".into(), 0, None));
    let retry = kiosk.command("k1", issue("disdukcapil", None)).await.unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.issued.unwrap().ticket.to_string(), "A-001", "a retried issue gets the same ticket");
    kiosk.command("k2", issue("disdukcapil", None)).await.unwrap();
    let lansia = kiosk.command("k3", issue("disdukcapil", Some(Priority::Lansia))).await.unwrap();
    assert_eq!(lansia.issued.unwrap().ahead, 0, "a priority ticket goes before the two waiting");
    let fourth = kiosk.command("k4", issue("disdukcapil", None)).await.unwrap();
    assert_eq!(fourth.issued.unwrap().ahead, 3);

    let refused = kiosk.command("k-call", next_at(1)).await.unwrap_err();
    assert!(matches!(&refused, ClientError::Refused { code: ErrorCode::Forbidden, .. }), "{refused}");
    let mut display = Session::connect(&hub.options(data, Role::Display), 0).await.unwrap();
    let refused = display.command("d-issue", issue("disdukcapil", None)).await.unwrap_err();
    assert!(matches!(&refused, ClientError::Refused { code: ErrorCode::Forbidden, .. }), "{refused}");

    assert_eq!(called(&mut staff, "n1", next_at(1)).await, "A-003", "priority first");
    assert_eq!(called(&mut staff, "n2", next_at(2)).await, "A-001");
    let missed = staff.command("miss", Command::NoShow(CounterCommand { counter: 2, agency: None })).await;
    missed.unwrap();
    staff.command("done", Command::Done(CounterCommand { counter: 1, agency: None })).await.unwrap();
    let again = staff.command("done-2", Command::Done(CounterCommand { counter: 1, agency: None })).await;
    assert!(matches!(&again.unwrap_err(), ClientError::Refused { code: ErrorCode::NotServing, .. }));

    // Killed without warning: every queue is read back from the journal.
    hub.signal("-KILL");
    drop(hub);
    let hub = HubProcess::start_on(data, &listen);
    let mut staff = Session::connect(&hub.options(data, Role::Staff), 0).await.unwrap();
    let http = format!("http://{}", hub.addr);
    let token = hub.options(data, Role::Staff).token;
    let waiting = get_json(format!("{http}/api/waiting"), Some(&token)).await;
    let dukcapil = &waiting["agencies"][0];
    assert_eq!(dukcapil["agency"], "disdukcapil", "{waiting}");
    assert_eq!((dukcapil["waiting"].as_u64(), dukcapil["counts"]["issued"].as_u64()), (Some(2), Some(4)));
    assert_eq!(dukcapil["missed"][0]["ticket"], "A-001", "{waiting}");
    assert_eq!(dukcapil["estimate_text"], "—", "no band before the day has enough services");
    let state = get_json(format!("{http}/api/state"), Some(&token)).await;
    let lansia =
        state["board"]["recent"].as_array().unwrap().iter().find(|r| r["ticket"] == "A-003").cloned();
    assert_eq!(lansia.unwrap()["priority"], "lansia", "the priority call keeps its mark: {state}");
    assert_eq!(called(&mut staff, "n3", next_at(1)).await, "A-002", "FIFO goes on after the restart");
    assert_eq!(called(&mut staff, "n4", next_at(2)).await, "A-004");
    let empty = staff.command("n5", next_at(3)).await.unwrap_err();
    assert!(matches!(&empty, ClientError::Refused { code: ErrorCode::QueueEmpty, .. }), "{empty}");
    // A missed ticket is called again by its number.
    assert_eq!(called(&mut staff, "again", call("A-1", 3)).await, "A-001");

    // Over HTTP with the kiosk token: the ticket, people ahead and the band in words.
    let kiosk_token = hub.options(data, Role::Kiosk).token;
    let client = papan::tls::http_client();
    let answer = client
        .post(format!("{http}/api/tickets"))
        .bearer_auth(&kiosk_token)
        .json(&json!({"agency": "samsat", "priority": "ibu_hamil"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer: Value = answer.json().await.unwrap();
    assert_eq!(answer["issued"]["ticket"], "R-001", "{answer}");
    assert_eq!(
        (answer["issued"]["priority"].as_str(), answer["estimate_text"].as_str()),
        (Some("ibu_hamil"), Some("—"))
    );
    let forbidden = client
        .post(format!("{http}/api/calls/next"))
        .bearer_auth(&kiosk_token)
        .json(&json!({"counter": 26}))
        .send()
        .await
        .unwrap();
    assert_eq!(forbidden.status(), 403);
    let unknown = client
        .post(format!("{http}/api/tickets"))
        .bearer_auth(&kiosk_token)
        .json(&json!({"agency": "nasa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 400);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["field"], "agency");
    // The kiosk's helpers answer tokens only: no token, a display token, an oversized text.
    let qr = |token: Option<String>, data: String| {
        let request = client.get(format!("{http}/api/qr?data={data}"));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    assert_eq!(qr(None, "x".into()).await.unwrap().status(), 401);
    let display_token = hub.options(data, Role::Display).token;
    assert_eq!(qr(Some(display_token), "x".into()).await.unwrap().status(), 403);
    let too_long = qr(Some(kiosk_token.clone()), "x".repeat(513)).await.unwrap();
    assert_eq!(too_long.status(), 400);
    let svg = qr(Some(kiosk_token.clone()), "http://hub/antrean/A-001".into()).await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert_eq!(client.get(format!("{http}/api/hall")).send().await.unwrap().status(), 401);
    // Every called ticket is graded; these were shown no band, and the metrics say so.
    let metric = scrape_metrics(http.clone()).await;
    assert_eq!(metric("papan_tickets_waiting", &[("agency", "samsat")]), 1.0);
    assert_eq!(metric("papan_estimates_today", &[("outcome", "without")]), 4.0);
    assert_eq!(metric("papan_estimate_median_error_minutes", &[]), -1.0);
}

#[test]
fn cli_exits_non_zero_with_a_readable_message() {
    let papan = env!("CARGO_BIN_EXE_papan");
    let down = Process::new(papan)
        .args(["call", "A-1", "--counter", "1", "--hub", "127.0.0.1:9", "--token", "x", "--timeout", "2"])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&down.stderr);
    assert!(stderr.contains("cannot reach the hub at ws://127.0.0.1:9/ws"), "{stderr}");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(start_hub(|_| {}));
    let run = |args: &[&str]| {
        Process::new(papan).args(args).args(["--hub", &t.hub.ws_url(), "--token", &t.staff]).output().unwrap()
    };
    let ok = run(&["call", "A-5", "--counter", "3"]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("call A-005 to counter 3: ok, seq"));
    let refused = run(&["call", "A-5", "--counter", "999"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("counter 999 does not exist"));
    let recall = run(&["recall", "--counter", "3"]);
    assert!(recall.status.success());
    let no_token = Process::new(papan)
        .args(["announce", "istirahat", "--hub", &t.hub.ws_url()])
        .env_remove("PAPAN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(no_token.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("no token"));
    runtime.block_on(t.hub.stop()).unwrap();

    // Paired flags are refused by name before anything starts.
    let half_tls = Process::new(papan).args(["hub", "--tls-cert", "cert.pem"]).output().unwrap();
    assert_eq!(half_tls.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&half_tls.stderr).contains("--tls-key"), "{half_tls:?}");
    // A server build (--no-default-features) says what it lacks instead of "unrecognized".
    let display = Process::new(papan).args(["display", "--help"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&display.stderr);
    if cfg!(feature = "display") {
        assert!(display.status.success(), "{stderr}");
    } else {
        assert_eq!(display.status.code(), Some(2));
        assert!(stderr.contains("not in this build") && stderr.contains("`display`"), "{stderr}");
    }
}

fn next_update(feed: &Feed) -> FeedUpdate {
    update_within(feed, WAIT)
}

/// The next update, which must come within `limit`. Service standards are skipped: a screen
/// fetches them over HTTP after each snapshot, so they arrive whenever that answer does, between
/// the updates these tests put in order ([`next_standards_where`] waits for them).
fn update_within(feed: &Feed, limit: Duration) -> FeedUpdate {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match feed.updates.recv_timeout(left) {
            Ok(FeedUpdate::Services { .. }) => {}
            Ok(update) => return update,
            Err(_) => panic!("no feed update within {limit:?}"),
        }
    }
}

/// Waits for the feed's next service standards that satisfy `pred`, skipping everything else.
fn next_standards_where(feed: &Feed, pred: impl Fn(&papan::hall::ServiceStandards) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let update = feed.updates.recv_timeout(WAIT).expect("service standards within the wait");
        if let FeedUpdate::Services { standards: Some(standards) } = update
            && pred(&standards)
        {
            return started.elapsed();
        }
    }
}

#[tokio::test]
async fn screen_feed_resumes_with_since_after_a_hub_restart_and_starts_from_cache() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("hub");
    let cache = dir.path().join("screen-cache");
    let listen = free_listen_addr();
    let hub = HubProcess::start_on(&data, &listen);
    let staff_options = hub.options(&data, Role::Staff);
    let mut staff = Session::connect(&staff_options, 0).await.unwrap();
    let first = staff.command("f1", call("A-1", 1)).await.unwrap();

    let mut options = FeedOptions::new(hub.options(&data, Role::Display));
    options.offline_after = Duration::from_secs(1);
    options.backoff_min = Duration::from_millis(100);
    options.backoff_max = Duration::from_millis(300);
    options.cache_dir = Some(cache.clone());
    let feed = Feed::start(options.clone(), None);
    assert_eq!(next_update(&feed), FeedUpdate::Online);
    let FeedUpdate::Board { board, from_cache: false, .. } = next_update(&feed) else {
        panic!("snapshot first")
    };
    assert_eq!(board.seq, first.seq);
    let second = staff.command("f2", call("A-2", 1)).await.unwrap();
    assert!(
        matches!(next_update(&feed), FeedUpdate::Event { frame: e, replayed: false } if e.seq == second.seq)
    );

    // The hub dies: the screen says so within the silence limit and keeps its board.
    hub.signal("-KILL");
    drop(hub);
    let went_offline = Instant::now();
    assert!(matches!(next_update(&feed), FeedUpdate::Offline { .. }));
    assert!(went_offline.elapsed() < Duration::from_secs(3));

    // Back on the same address with a call made meanwhile: the screen resumes with since and
    // gets the missed event, not a snapshot.
    let hub = HubProcess::start_on(&data, &listen);
    let mut staff = Session::connect(&staff_options, 0).await.unwrap();
    let third = staff.command("f3", call("A-3", 1)).await.unwrap();
    assert_eq!(next_update(&feed), FeedUpdate::Online);
    match next_update(&feed) {
        FeedUpdate::Event { frame: e, .. } => assert_eq!(e.seq, third.seq),
        other => panic!("expected the missed event, got {other:?}"),
    }
    drop(feed);
    drop(hub);

    // A screen starting while its hub is down shows the cached board at once.
    let feed = Feed::start(options, None);
    let FeedUpdate::Board { board, from_cache: true, .. } = next_update(&feed) else {
        panic!("cached board first")
    };
    assert_eq!((board.seq, board.recent[0].ticket.to_string()), (third.seq, "A-003".to_string()));
    assert!(matches!(next_update(&feed), FeedUpdate::Offline { .. }));
}

/// A screen's status reaches the fleet page at once, then again every `status_every` with fresh
/// numbers taken by the network thread (memory, frames drawn, the seq shown): an idle board draws no
/// frame just to say it is alive.
/// A screen that is shut down (its feed dropped) closes its connection with a WebSocket close
/// frame, so its hub logs a screen that left rather than a broken connection.
#[tokio::test]
async fn a_stopped_screen_says_goodbye_to_its_hub() {
    // A hub of one connection that welcomes the screen, then waits for what it does.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let hub = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let hello = ws.next().await.unwrap().unwrap();
        assert!(hello.to_text().unwrap().contains(r#""type":"hello""#), "{hello:?}");
        let welcome = HubFrame::Welcome { seq: 0, protocol: 1, hub: "fake".into() };
        ws.send(Message::text(welcome.to_json())).await.unwrap();
        loop {
            match tokio::time::timeout(WAIT, ws.next()).await.expect("the screen went quiet without closing")
            {
                Some(Ok(Message::Close(_))) => return true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return false,
            }
        }
    });
    let options = ClientOptions {
        url,
        token: "display-token".into(),
        role: Role::Display,
        client: "lobby-1".into(),
        timeout: WAIT,
    };
    let feed = tokio::task::spawn_blocking(move || {
        let feed = Feed::start(FeedOptions::new(options), None);
        assert_eq!(update_within(&feed, WAIT), FeedUpdate::Online);
        feed
    })
    .await
    .unwrap();
    tokio::task::spawn_blocking(move || drop(feed)).await.unwrap();
    assert!(hub.await.unwrap(), "the connection ended without a close frame");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_status_is_repeated_with_fresh_numbers_while_the_board_is_idle() {
    let t = start_hub(|_| {}).await;
    let mut options = FeedOptions::new(t.options(Role::Display));
    options.status_every = Duration::from_millis(400);
    let feed = Feed::start(options, None);
    let progress = feed.progress();
    progress.frame_drawn(0);
    feed.report(papan::protocol::Status {
        version: "test".into(),
        layout: "hall-landscape".into(),
        audio: "off".into(),
        ..Default::default()
    });
    let screens = format!("{}/api/screens", t.hub.http_url());
    let status_where = |pred: fn(&Value, &Value) -> bool, before: Value| {
        fleet_screen_where(screens.clone(), t.staff.clone(), move |screen| pred(screen, &before))
    };
    let first = status_where(|_, _| true, Value::Null).await;
    assert_eq!(first["status"]["layout"], "hall-landscape");
    assert!(first["status"]["rss"].as_u64().unwrap() > 1 << 20, "the process's memory: {first}");

    // The app draws 20 frames showing seq 5 and reports nothing itself: the next repeat says so.
    let since = Instant::now();
    for _ in 0..20 {
        progress.frame_drawn(5);
    }
    let repeated = status_where(|s, _| s["status"]["last_seq"] == 5, Value::Null).await;
    assert!(since.elapsed() < Duration::from_secs(2), "repeated within {:?}", since.elapsed());
    let fps = repeated["status"]["fps"].as_f64().unwrap();
    assert!(fps > 0.0, "frames drawn since the last report count: {repeated}");
    // And again with nothing drawn since: a rate of zero, a later report time.
    let idle = status_where(|s, before| s["status_at"] != *before, repeated["status_at"].clone()).await;
    assert_eq!(idle["status"]["fps"].as_f64(), Some(0.0), "{idle}");
    assert_eq!(idle["status"]["last_seq"], 5);
}

/// The only screen on the fleet page once it has a status that `pred` accepts.
async fn fleet_screen_where(url: String, staff: String, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let listing = get_json(url.clone(), Some(&staff)).await;
        let screen = &listing["screens"][0];
        if !screen["status"].is_null() && pred(screen) {
            return screen.clone();
        }
        assert!(Instant::now() < deadline, "no such status: {listing}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// Multi-threaded: the test blocks on the feed's channel while the scripted hub runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_feed_asks_for_a_resync_when_events_are_missing() {
    // A scripted hub that skips seq 7, then answers the resync.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
        let ticker = |seq: u64| {
            let event = papan::protocol::Event::Ticker { text: format!("t{seq}") };
            let frame = papan::protocol::EventFrame {
                seq,
                at: jiff::Timestamp::from_second(1_795_000_000).unwrap(),
                event,
            };
            Message::text(HubFrame::Event(frame).to_json())
        };
        ws.next().await.unwrap().unwrap(); // hello
        let welcome = HubFrame::Welcome { seq: 8, protocol: 1, hub: "fake".into() };
        let board = papan::board::Board { seq: 5, ..Default::default() };
        let snapshot = HubFrame::Snapshot {
            seq: 5,
            board: Box::new(board),
            hall: Box::new(Hall::builtin()),
            layouts: Default::default(),
        };
        for frame in
            [Message::text(welcome.to_json()), Message::text(snapshot.to_json()), ticker(6), ticker(8)]
        {
            ws.send(frame).await.unwrap();
        }
        let resync = ws.next().await.unwrap().unwrap();
        assert_eq!(resync.to_text().unwrap(), r#"{"type":"resync","since":6}"#);
        ws.send(ticker(7)).await.unwrap();
        ws.send(ticker(8)).await.unwrap();
        ws
    });
    let options = ClientOptions {
        url: format!("ws://{addr}/ws"),
        token: "display-token-for-the-fake".into(),
        role: Role::Display,
        client: "gap-test".into(),
        timeout: WAIT,
    };
    let mut options = FeedOptions::new(options);
    options.offline_after = Duration::from_secs(1);
    let feed = Feed::start(options, None);
    assert_eq!(next_update(&feed), FeedUpdate::Online);
    assert!(matches!(next_update(&feed), FeedUpdate::Board { .. }));
    let seqs: Vec<u64> = (0..3)
        .map(|_| match next_update(&feed) {
            FeedUpdate::Event { frame: e, .. } => e.seq,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(seqs, [6, 7, 8], "applied in order, nothing skipped");
    // The screen reports a problem: the hub gets a status frame naming the screen.
    let mut ws = fake.await.unwrap();
    let silent_since = Instant::now();
    let problem = "lobby.toml:4:6: region 1: at = …".to_string();
    feed.report(papan::protocol::Status { layout_error: Some(problem.clone()), ..Default::default() });
    let sent = ws.next().await.unwrap().unwrap();
    let Ok(papan::protocol::ClientFrame::Status(status)) =
        papan::protocol::parse_client_frame(sent.to_text().unwrap())
    else {
        panic!("expected a status frame: {sent:?}")
    };
    assert_eq!((status.screen.as_str(), status.layout_error), ("gap-test", Some(problem)));
    // The scripted hub now holds the socket open but says nothing, not even pings: a dead link
    // that TCP has not noticed. The screen notices within its silence limit, although it sent
    // in between, every 300 ms (sending does not restart the silence clock).
    let offline = loop {
        feed.report(papan::protocol::Status { layout: "lobby".into(), ..Default::default() });
        match feed.updates.recv_timeout(Duration::from_millis(300)) {
            // The scripted hub serves no HTTP: the fetch of the standards fails in the background.
            Ok(FeedUpdate::Services { .. }) => {}
            Ok(update) => break update,
            Err(_) => assert!(silent_since.elapsed() < WAIT, "never went offline"),
        }
    };
    match offline {
        FeedUpdate::Offline { reason } => assert!(reason.contains("no word from the hub"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let waited = silent_since.elapsed();
    assert!(waited < Duration::from_millis(2500), "offline after {waited:?}");
}

/// A pulled cable between a screen and its hub for 60 s while staff keep calling: the screen shows
/// its offline badge within 10 s (its silence limit is 8 s), comes back by itself when the cable
/// does, replays what it missed in order into its history, and speaks only the calls that are
/// still fresh. Then a reset link (a switch rebooting): offline at once, back within seconds.
/// Product defaults throughout (silence limit, backoff, a 5 s connect timeout like the CLI's).
#[cfg(feature = "display")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_cut_off_for_a_minute_catches_up_in_order_and_speaks_only_fresh_calls() {
    use papan::voice::announcer::{Announced, Announcer};
    use proxy::{Link, Proxy};

    let mut hall = Hall::builtin();
    hall.voice.stale_after_s = 45;
    let t = start_hub_for(hall.clone(), |_| {}).await;
    let proxy = Proxy::start(t.hub.addr).await;
    let mut client = t.options(Role::Display);
    (client.url, client.client, client.timeout) =
        (format!("ws://{}/ws", proxy.addr), "behind-the-cable".into(), Duration::from_secs(5));
    let feed = Feed::start(FeedOptions::new(client), None);
    assert_eq!(next_update(&feed), FeedUpdate::Online);
    let FeedUpdate::Board { board, .. } = next_update(&feed) else { panic!("snapshot first") };
    let mut board = *board;
    let pack = papan::voice::pack::Pack::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/voice/id"));
    // The player has no sound device here: what matters is the announcer's decision per call.
    let (player_events, _heard) = std::sync::mpsc::channel();
    let speaker = Announcer::start(hall.clone(), pack.unwrap(), player_events);
    let mut staff = t.session(Role::Staff, 0).await;
    let live = staff.command("live", call("A-1", 1)).await.unwrap();
    let FeedUpdate::Event { frame, replayed: false } = next_update(&feed) else { panic!("the live call") };
    assert_eq!((frame.seq, speaker.announce(&frame, false)), (live.seq, Announced::Queued));
    board.apply(&frame);

    proxy.set(Link::Cut);
    let cut = tokio::time::Instant::now();
    let mut stale = Vec::new();
    for (id, ticket, counter) in [("old-1", "A-2", 1), ("old-2", "B-3", 5), ("old-3", "A-4", 2)] {
        stale.push(staff.command(id, call(ticket, counter)).await.unwrap().seq);
    }
    let offline = tokio::task::block_in_place(|| update_within(&feed, Duration::from_secs(12)));
    let badge_after = cut.elapsed();
    assert!(
        matches!(&offline, FeedUpdate::Offline { reason } if reason.contains("no word from the hub")),
        "{offline:?}"
    );
    assert!(badge_after <= Duration::from_secs(10), "offline badge after {badge_after:?}");

    tokio::time::sleep_until(cut + Duration::from_secs(55)).await;
    // A new staff connection: the idle one was dropped by the hub, as it answered no pings.
    let mut staff = t.session(Role::Staff, 0).await;
    let mut fresh = Vec::new();
    for (id, ticket, counter) in [("new-1", "A-5", 3), ("new-2", "A-6", 1)] {
        fresh.push(staff.command(id, call(ticket, counter)).await.unwrap().seq);
    }
    tokio::time::sleep_until(cut + Duration::from_secs(60)).await;
    assert!(feed.updates.try_recv().is_err(), "nothing reaches a cut-off screen");
    proxy.set(Link::Up);
    let restored = Instant::now();
    let online = tokio::task::block_in_place(|| update_within(&feed, Duration::from_secs(15)));
    let back_after = restored.elapsed();
    assert_eq!(online, FeedUpdate::Online);
    assert!(back_after <= Duration::from_secs(8), "back {back_after:?} after the cable (backoff ≤ 5 s)");

    let mut replayed = Vec::new();
    for _ in 0..stale.len() + fresh.len() {
        let FeedUpdate::Event { frame, replayed: true } = next_update(&feed) else {
            panic!("a replayed call")
        };
        let heard = speaker.announce(&frame, true);
        board.apply(&frame);
        replayed.push((frame.seq, heard));
    }
    let seqs: Vec<u64> = replayed.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs, [stale.clone(), fresh.clone()].concat(), "every missed call, in order");
    for (seq, heard) in &replayed {
        if stale.contains(seq) {
            assert!(
                matches!(heard, Announced::Stale { age } if *age >= Duration::from_secs(55)),
                "seq {seq}: {heard:?}"
            );
        } else {
            assert_eq!(*heard, Announced::Queued, "seq {seq} is still fresh");
        }
    }
    let history: Vec<String> = board.recent.iter().take(6).map(|c| c.ticket.to_string()).collect();
    assert_eq!(history, ["A-006", "A-005", "A-004", "B-003", "A-002", "A-001"]);
    let mut check = t.session(Role::Display, 0).await;
    let Some(HubFrame::Snapshot { board: hub_board, .. }) = check.next_frame().await.unwrap() else {
        panic!("snapshot")
    };
    assert_eq!(board, *hub_board, "the screen's board is the hub's again");
    eprintln!(
        "cable pulled 60 s: offline badge after {:.1} s, back {:.1} s after the cable, {} calls replayed",
        badge_after.as_secs_f64(),
        back_after.as_secs_f64(),
        replayed.len()
    );

    // A reset link: the screen knows at once and is back soon after, resuming with since.
    proxy.set(Link::Reset);
    let reset = Instant::now();
    let offline = tokio::task::block_in_place(|| update_within(&feed, Duration::from_secs(3)));
    assert!(matches!(offline, FeedUpdate::Offline { .. }), "{offline:?}");
    let during = staff.command("during-reset", call("A-7", 4)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.set(Link::Up);
    assert_eq!(
        tokio::task::block_in_place(|| update_within(&feed, Duration::from_secs(10))),
        FeedUpdate::Online
    );
    let FeedUpdate::Event { frame, replayed: true } = next_update(&feed) else { panic!("the missed call") };
    assert_eq!((frame.seq, speaker.announce(&frame, true)), (during.seq, Announced::Queued));
    eprintln!("link reset 2 s: back {:.1} s after the reset began", reset.elapsed().as_secs_f64());
    t.hub.stop().await.unwrap();
}

/// Waits for the feed's next whole-board update that satisfies `pred`, skipping events.
fn next_board_where(feed: &Feed, pred: impl Fn(&Hall, &papan::layout::Layouts) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if let FeedUpdate::Board { hall, layouts, .. } = next_update(feed)
            && pred(&hall, &layouts)
        {
            return started.elapsed();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_hall_and_layout_files_reach_connected_screens_and_broken_edits_do_not() {
    let t = start_hub(|_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let (hall_file, layouts) = (dir.path().join("hall.toml"), dir.path().join("layouts"));
    let hall_src = std::fs::read_to_string("assets/halls/mpp-palembang.toml").unwrap();
    std::fs::write(&hall_file, &hall_src).unwrap();
    std::fs::create_dir(&layouts).unwrap();
    let lobby = "name = \"lobby\"\n\n[[region]]\nat = [0.0, 0.0, 1.0, 1.0]\nwidget = \"now_calling\"\n";
    std::fs::write(layouts.join("lobby.toml"), lobby).unwrap();
    let files =
        papan::hub::files::ConfigFiles { hall: Some(hall_file.clone()), layouts: Some(layouts.clone()) };
    t.hub.watch_files(files, Hall::builtin());

    let feed = Feed::start(FeedOptions::new(t.options(Role::Display)), None);
    next_board_where(&feed, |_, layouts| {
        layouts.contains_key("lobby") && layouts.contains_key("agency-wall")
    });

    // The hall renamed: every connected screen has it within a second.
    std::fs::write(
        &hall_file,
        hall_src.replacen("Publik Kota Palembang\"", "Publik Kota Palembang (Uji)\"", 1),
    )
    .unwrap();
    let took = next_board_where(&feed, |hall, _| hall.name.ends_with("(Uji)"));
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // The service standards come apart from the hall (GET /antrean/layanan after each snapshot),
    // and an edited standard reaches the screens as fast as the hall does.
    let shipped = |s: &papan::hall::ServiceStandards| {
        s.get("disdukcapil").is_some_and(|d| d.iter().any(|x| x.name == "Perekaman KTP-el" && x.example))
    };
    next_standards_where(&feed, shipped);
    std::fs::write(
        &hall_file,
        hall_src.replacen("name = \"Perekaman KTP-el\"", "name = \"Perekaman KTP-el baru\"", 1),
    )
    .unwrap();
    let took = next_standards_where(&feed, |s| s["disdukcapil"][0].name == "Perekaman KTP-el baru");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // A typo: nothing is sent, calls are still checked against the last good hall.
    std::fs::write(&hall_file, hall_src.replacen("timezone = \"WIB\"", "timezone = \"WIBB\"", 1)).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut staff = t.session(Role::Staff, 0).await;
    let ack = staff.command("after-typo", call("A-5", 1)).await.unwrap();
    match next_update(&feed) {
        FeedUpdate::Event { frame, .. } => assert_eq!(frame.seq, ack.seq),
        other => panic!("the broken hall was sent: {other:?}"),
    }
    let unknown = staff.command("unknown-counter", call("A-6", 99)).await;
    assert!(unknown.is_err(), "counter 99 is not in the hall");

    // A layout edit reaches the screens too.
    std::fs::write(layouts.join("lobby.toml"), lobby.replace("now_calling", "history")).unwrap();
    let took = next_board_where(&feed, |_, layouts| layouts["lobby"].regions[0].widget.name() == "history");
    assert!(took < Duration::from_secs(1), "took {took:?}");
    drop(feed);
    t.hub.stop().await.unwrap();
}

/// The metrics page is valid Prometheus text and its counters follow what happens.
/// Reads `/metrics` (checking it is valid Prometheus text); the result looks samples up by name
/// and labels (0 when absent).
async fn scrape_metrics(http_url: String) -> impl Fn(&str, &[(&str, &str)]) -> f64 {
    let response = papan::tls::http_client().get(format!("{http_url}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    move |name: &str, labels: &[(&str, &str)]| -> f64 {
        let sample = parsed
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)));
        match sample.map(|s| &s.value) {
            Some(prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v)) => *v,
            Some(prometheus_parse::Value::Untyped(v)) => *v,
            Some(prometheus_parse::Value::Histogram(buckets)) => {
                buckets.iter().map(|b| b.count).fold(0.0, f64::max)
            }
            Some(other) => panic!("{name}: unexpected {other:?}"),
            None => 0.0,
        }
    }
}

#[tokio::test]
async fn metrics_are_prometheus_text_and_move_with_calls() {
    let t = start_hub(|_| {}).await;
    let mut screen = t.session(Role::Display, 0).await;
    let scrape = || scrape_metrics(t.hub.http_url());
    let before = scrape().await;
    assert_eq!(before("papan_connections", &[("role", "display")]), 1.0);
    let applied = [("kind", "call"), ("result", "applied")];
    let calls_before = before("papan_commands_total", &applied);

    let mut staff = t.session(Role::Staff, 0).await;
    let ack = staff.command("m1", call("A-5", 1)).await.unwrap();
    staff.command("m1", call("A-5", 1)).await.unwrap();
    staff.command("m2", call("A-5", 999)).await.unwrap_err();
    expect_event(&mut screen, ack.seq).await;

    let after = scrape().await;
    assert_eq!(after("papan_commands_total", &applied), calls_before + 1.0);
    assert_eq!(after("papan_commands_total", &[("kind", "call"), ("result", "duplicate")]), 1.0);
    assert_eq!(after("papan_commands_total", &[("kind", "call"), ("result", "rejected")]), 1.0);
    assert!(after("papan_events_total", &[("kind", "call")]) >= 1.0);
    assert_eq!(after("papan_seq", &[]), ack.seq as f64);
    assert!(after("papan_journal_bytes", &[]) > 0.0);
    assert!(after("papan_journal_commit_seconds", &[]) >= 1.0, "the call's commit was timed");
    assert_eq!(after("papan_connections", &[("role", "staff")]), 1.0);
    assert!(after("papan_fanout_seconds", &[]) >= 1.0, "the call's fan-out was timed");
}

/// A made-up screen for the fleet page: reports a status, and answers identify and screenshot
/// requests (uploading a small PNG as `papan display` does).
async fn fake_screen(
    url: String,
    token: String,
    id: &str,
    seen: tokio::sync::mpsc::UnboundedSender<HubFrame>,
) {
    let options = ClientOptions {
        url: url.clone(),
        token: token.clone(),
        role: Role::Display,
        client: id.into(),
        timeout: WAIT,
    };
    let mut session = Session::connect(&options, 0).await.unwrap();
    let status = papan::protocol::Status {
        version: "test".into(),
        layout: "hall-landscape".into(),
        fps: 1.0,
        audio: "ok".into(),
        ..Default::default()
    };
    session.send(&papan::protocol::ClientFrame::Status(status)).await.unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(64, 36, image::Rgb([255, 193, 7]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let upload = format!("{}/api/screens/{id}/screenshot", papan::client::http_base(&url).unwrap());
    let mut snapshots = 0;
    while let Ok(Some(frame)) = session.next_frame().await {
        // The first snapshot is the connection's own; later ones come from "reload".
        if matches!(frame, HubFrame::Snapshot { .. }) {
            snapshots += 1;
            if snapshots > 1 && seen.send(frame.clone()).is_err() {
                return;
            }
        }
        if let HubFrame::Screenshot { request } = &frame {
            let http = papan::tls::http_client();
            let post = |request: &str| {
                http.post(format!("{upload}?request={request}"))
                    .bearer_auth(&token)
                    .body(png.get_ref().clone())
            };
            // Only the request id sent down this connection opens the door, and only once.
            assert_eq!(post("shot-guessed").send().await.unwrap().status(), 403);
            assert_eq!(post(request).send().await.unwrap().status(), 200);
            assert_eq!(post(request).send().await.unwrap().status(), 403);
        }
        if matches!(frame, HubFrame::Identify { .. } | HubFrame::Screenshot { .. })
            && seen.send(frame).is_err()
        {
            return;
        }
    }
}

/// The staff console as a counter uses it, in headless Chromium: wrong token, sign in, choose a
/// counter, call next (button and F2), recall (F3), a refused call, the hub restarting under it;
/// then the fleet page: the screen listed, identify and a screenshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_console_and_fleet_page_work_in_a_real_browser() {
    let _turn = one_load_test_at_a_time();
    let dir = tempfile::tempdir().unwrap();
    let mut config = HubConfig::generate();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let staff = config.token_for(Role::Staff).unwrap().to_string();
    let display = config.token_for(Role::Display).unwrap().to_string();
    let options = |config: HubConfig| HubOptions {
        config,
        data_dir: dir.path().to_path_buf(),
        hall: Hall::builtin(),
        clock: hub::core::system_clock(),
        shared_journal: None,
    };
    let running = hub::start(options(config.clone())).await.unwrap();
    let base = running.http_url();
    let screen_options = ClientOptions {
        url: running.ws_url(),
        token: display.clone(),
        role: Role::Display,
        client: "t".into(),
        timeout: WAIT,
    };
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));

    let mut browser = browser::Browser::start(1280, 900).await;
    browser.open(&format!("{base}/")).await;
    browser.wait_for("!document.getElementById('login').hidden").await;
    browser.fill("token", "not-a-token-of-this-hall").await;
    browser.click("#login-button").await;
    browser.wait_for("document.getElementById('login-error')").await;
    assert!(browser.text("login-error").await.contains("Token salah"));

    browser.fill("token", &staff).await;
    browser.click("#login-button").await;
    browser.wait_for("!document.getElementById('setup').hidden").await;
    browser.eval("document.getElementById('counter').value = 'disdukcapil/1'").await;
    browser.click("#setup-button").await;
    browser.wait_for("!document.getElementById('desk').hidden && document.getElementById('link').innerText === 'Terhubung'").await;
    let message = browser.text("message").await;
    assert!(
        !message.contains("Token salah"),
        "the refusal of the wrong token stays after signing in: {message}"
    );

    let called = |frame: &papan::protocol::EventFrame| match &frame.event {
        papan::protocol::Event::Call(c) => format!("call {} {} {}", c.ticket, c.counter, c.agency),
        papan::protocol::Event::Recall(c) => format!("recall {} {} {}", c.ticket, c.counter, c.agency),
        other => format!("{other:?}"),
    };
    // The screen connects once the console is up: a session that is not read answers no pings,
    // and the hub drops it after 15 s, less than a cold Chromium start took in CI once.
    let mut screen = Session::connect(&screen_options, 0).await.unwrap();
    browser.click("#next").await;
    browser.wait_for("document.getElementById('serving').innerText === 'A-001'").await;
    assert_eq!(called(&expect_event(&mut screen, 2).await), "call A-001 1 disdukcapil");
    browser
        .wait_for("document.getElementById('message').innerText.includes('Dipanggil: A-001 → Loket 1')")
        .await;
    browser.press("F2", 113).await;
    browser.wait_for("document.getElementById('serving').innerText === 'A-002'").await;
    assert_eq!(called(&expect_event(&mut screen, 3).await), "call A-002 1 disdukcapil");
    browser.press("F3", 114).await;
    assert_eq!(called(&expect_event(&mut screen, 4).await), "recall A-002 1 disdukcapil");
    browser.wait_for("document.getElementById('mine').innerText.includes('ulang')").await;

    // A ticket of another agency's letter is refused, in words.
    browser.fill("ticket", "B-5").await;
    browser.click("#call").await;
    browser.wait_for("document.getElementById('message').className.includes('error')").await;
    let message = browser.text("message").await;
    assert!(message.contains("bukan milik loket ini") && message.contains("letter B"), "{message}");
    // A ticket that is not a ticket is caught in the page, before the hub.
    browser.fill("ticket", "123").await;
    browser.click("#call").await;
    browser.wait_for("document.getElementById('message').innerText.includes('seperti A-123')").await;

    // The hub goes away and comes back on the same address: the console says so and carries on.
    let addr = running.addr;
    running.stop().await.unwrap();
    browser.wait_for("document.getElementById('link').innerText.includes('Terputus')").await;
    assert_eq!(browser.eval("document.getElementById('next').disabled").await, json!(true));
    config.listen = addr;
    let running = hub::start(options(config.clone())).await.unwrap();
    // The screen that was connected before the restart is still listed, as offline.
    let listing = get_json(format!("{base}/api/screens"), Some(&staff)).await;
    assert_eq!(listing["screens"][0]["screen"], "t", "{listing}");
    assert_eq!(listing["screens"][0]["online"], false, "{listing}");
    let back = browser.wait_for("document.getElementById('link').innerText === 'Terhubung'").await;
    assert!(back < Duration::from_secs(12), "reconnected in {back:?}");
    browser.click("#next").await;
    browser.wait_for("document.getElementById('serving').innerText === 'A-003'").await;
    browser.wait_for("document.getElementById('message').innerText.includes('A-003')").await;
    browser.screenshot(&shots.join("console.png")).await;
    // PAPAN_UPDATE_DOCS=1 refreshes the README's picture; otherwise tests leave docs/ alone.
    if std::env::var_os("PAPAN_UPDATE_DOCS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console.png");
        std::fs::copy(shots.join("console.png"), docs).unwrap();
    }

    // How long from a key press in the console to the call reaching a screen (printed, and held
    // to a bound far above what it takes so only a real stall fails it).
    let mut screen = Session::connect(&ClientOptions { url: running.ws_url(), ..screen_options.clone() }, 0)
        .await
        .unwrap();
    let mut took = Vec::new();
    for n in 0..20u64 {
        let started = Instant::now();
        browser.press("F2", 113).await;
        let seq = screen.welcome_seq + n + 1;
        let event = expect_event(&mut screen, seq).await;
        took.push(started.elapsed());
        assert_eq!(called(&event), format!("call A-{:03} 1 disdukcapil", 4 + n));
    }
    took.sort();
    eprintln!(
        "console key press → event at a screen, 20 calls: p50 {:.1} ms, max {:.1} ms",
        took[10].as_secs_f64() * 1e3,
        took[19].as_secs_f64() * 1e3
    );
    assert!(took[19] < Duration::from_secs(2), "{took:?}");

    // The fleet page lists a connected screen and gets its screenshot.
    let (seen, mut actions) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(fake_screen(running.ws_url(), display.clone(), "lobby-1", seen));
    browser.open(&format!("{base}/screens")).await;
    let row = "document.querySelector('tr[data-screen=\"lobby-1\"]')";
    browser
        .wait_for(&format!(
            "{row} && {row}.innerText.includes('Daring') && {row}.innerText.includes('hall-landscape')"
        ))
        .await;
    browser.click("tr[data-screen=\"lobby-1\"] button[data-action=\"Identifikasi\"]").await;
    let action = tokio::time::timeout(WAIT, actions.recv()).await.unwrap().unwrap();
    assert_eq!(action, HubFrame::Identify { seconds: 10 });
    browser.click("tr[data-screen=\"lobby-1\"] button[data-action=\"Muat ulang\"]").await;
    let action = tokio::time::timeout(WAIT, actions.recv()).await.unwrap().unwrap();
    assert!(matches!(action, HubFrame::Snapshot { .. }), "reload sends a fresh snapshot: {action:?}");
    browser.click("tr[data-screen=\"lobby-1\"] button[data-action=\"Tangkapan layar\"]").await;
    browser.wait_for("!document.getElementById('shot').hidden && document.getElementById('shot-image').naturalWidth === 64").await;
    browser.screenshot(&shots.join("screens.png")).await;

    // Only staff tokens see the fleet.
    let listing = papan::tls::http_client()
        .get(format!("{base}/api/screens"))
        .bearer_auth(&display)
        .send()
        .await
        .unwrap();
    assert_eq!(listing.status(), 403);
    let post =
        |path: &str| papan::tls::http_client().post(format!("{base}{path}")).bearer_auth(&staff).send();
    let unknown = post("/api/screens/nope/identify").await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"]["code"], "unknown_screen");
    assert_eq!(post("/api/screens/lobby-1/dance").await.unwrap().status(), 404);
    running.stop().await.unwrap();
}

/// With `--tls-cert/--tls-key` the hub speaks only https and wss: a client that trusts the
/// certificate (here through SSL_CERT_FILE) calls, one that does not is told why, and a plain
/// ws:// client gets nowhere.
#[test]
fn a_tls_hub_serves_wss_and_https_to_clients_that_trust_it() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("hub.crt"), dir.path().join("hub.key"));
    let made = Process::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
        .args([
            "-days",
            "2",
            "-subj",
            "/CN=papan-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            // A certificate for the hub itself, not a CA (webpki refuses a CA as the server).
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = HubConfig::generate();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.tls = Some(papan::hub::config::TlsFiles { cert: cert.clone(), key });
    let staff = config.token_for(Role::Staff).unwrap().to_string();
    let options = HubOptions {
        config,
        data_dir: dir.path().join("hub"),
        hall: Hall::builtin(),
        clock: hub::core::system_clock(),
        shared_journal: None,
    };
    let running = runtime.block_on(hub::start(options)).unwrap();
    assert!(running.ws_url().starts_with("wss://"), "{}", running.ws_url());
    let call = |hub: &str, trusted: &Path| {
        Process::new(env!("CARGO_BIN_EXE_papan"))
            .args(["call", "A-9", "--counter", "2", "--hub", hub, "--token", &staff, "--timeout", "3"])
            .env("SSL_CERT_FILE", trusted)
            .output()
            .unwrap()
    };
    let ok = call(&running.ws_url(), &cert);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("call A-009 to counter 2: ok, seq"));

    let untrusted = call(&running.ws_url(), Path::new("/etc/ssl/certs/ca-certificates.crt"));
    assert_eq!(untrusted.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    assert!(stderr.contains("certificate"), "says it is about the certificate: {stderr}");

    let plain = call(&running.ws_url().replace("wss://", "ws://"), &cert);
    assert_eq!(plain.status.code(), Some(3), "{}", String::from_utf8_lossy(&plain.stderr));

    // The console and the API over https, checked by curl against the same certificate.
    let page = Process::new("curl")
        .args(["-sS", "--fail", "--cacert"])
        .arg(&cert)
        .arg(format!("{}/", running.http_url()))
        .output()
        .unwrap();
    assert!(page.status.success(), "{}", String::from_utf8_lossy(&page.stderr));
    assert!(String::from_utf8_lossy(&page.stdout).contains("Konsol Petugas"));
    runtime.block_on(running.stop()).unwrap();
}
