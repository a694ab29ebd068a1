//! 2,000 phone pages following the queue live (`/antrean/live`) while a screen is called: the
//! screen's call → screen p99 measured without and with them, the phones' own delivery, and the
//! phones' caps (per address, in all) that leave screens and staff their places.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use papan::protocol::Role;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use super::{Session, call, expect_event, start_hub_with};

const PHONES: usize = 2000;
/// Phones per address (a hall's guest Wi-Fi shows many phones as one address).
const PER_ADDRESS: usize = 250;
/// Calls (and as many recalls) timed: with 400, a p99 is the fourth worst, not one stray spike
/// (at 150 a single 20 ms stall of the CI machine once made it).
const CALLS: usize = 400;

type Phone = WebSocketStream<TcpStream>;

/// A phone's live feed from `address`, or the HTTP status the hub refused it with.
async fn open_phone(hub: SocketAddr, address: &str) -> Result<Phone, u16> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{address}:0").parse().unwrap()).unwrap();
    let stream = socket.connect(hub).await.unwrap();
    // Phones read a few KB at a time; the default 128 KiB buffer × 2,000 is the test's own cost.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let url = format!("ws://{hub}/antrean/live");
    match tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("phone from {address}: {e}"),
    }
}

/// The next text frame as JSON; `None` once closed.
async fn next_json(phone: &mut Phone) -> Option<serde_json::Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), phone.next()).await.expect("the hub answered") {
            Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return None,
            Some(Ok(_)) => {}
        }
    }
}

/// Calls `CALLS` tickets 40 ms apart and returns each call → screen time, sorted.
async fn timed_calls(staff: &mut Session, screen: &mut Session) -> Vec<Duration> {
    let mut took = Vec::with_capacity(CALLS);
    for n in 1..=CALLS {
        let sent = Instant::now();
        let ack = staff.command(&format!("phones-{n}"), call(&format!("B-{n}"), 5)).await.unwrap();
        expect_event(screen, ack.seq).await;
        took.push(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    took.sort();
    took
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[sorted.len() * 99 / 100]
}

/// A runtime of its own: the hub, the phones and the measuring clients each get one, as they
/// would be separate machines (sharing one runtime, the test's 2,000 phone readers would queue the
/// measuring clients behind them and time the test rather than the hub).
fn runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build().unwrap()
}

/// The phones' runtime: they stand in for 2,000 other devices, so their own reading runs at a
/// lower priority than the hub and the measuring clients (on two shared cores it would otherwise
/// be billed to the hub's latency).
fn phones_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| {
            // SAFETY: setpriority takes plain integers and touches no memory of ours.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 15) };
        })
        .enable_all()
        .build()
        .unwrap()
}

/// Opens the phones from 8 addresses, checking the cap of each address as it fills; every phone
/// follows a ticket and reads everything it is sent, counting views, until `stop`. Returns the
/// readers (each ends with the bytes it read; `Err` if the hub cut it).
async fn open_phones(
    hub: SocketAddr,
    views: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> Vec<JoinHandle<Result<u64, u64>>> {
    let mut readers = Vec::with_capacity(PHONES);
    for n in 0..PHONES {
        let address = format!("127.0.1.{}", 1 + n / PER_ADDRESS);
        let mut phone = open_phone(hub, &address).await.unwrap_or_else(|s| panic!("phone {n} refused: {s}"));
        if n % PER_ADDRESS == PER_ADDRESS - 1 {
            assert_eq!(open_phone(hub, &address).await.err(), Some(503), "{PER_ADDRESS} per address");
        }
        let ticket = format!(r#"{{"ticket":"B-{}"}}"#, 200 + n % 300);
        phone.send(Message::text(ticket)).await.unwrap();
        let (views, stop) = (views.clone(), stop.clone());
        readers.push(tokio::spawn(async move {
            let mut bytes = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(200), phone.next()).await {
                    Ok(Some(Ok(Message::Text(text)))) => {
                        bytes += text.len() as u64;
                        if text.contains(r#""type":"view""#) || text.contains(r#""type":"changes""#) {
                            views.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Ok(Some(Ok(_))) | Err(_) => {}
                    Ok(None | Some(Err(_))) => return Err(bytes),
                }
            }
            Ok(bytes)
        }));
    }
    readers
}

/// 2,000 phone pages (the issue's number) on a hall whose 28 agencies are all at work, so each
/// whole view is as big as a busy day's. The screen's call p99 while every phone is sent the call
/// may be at most 5 ms above its p99 for recalls in between, which no phone is sent.
#[test]
fn two_thousand_phone_pages_leave_the_screens_alone() {
    let _turn = super::one_load_test_at_a_time();
    papan::hub::raise_open_file_limit();
    let (hub_runtime, phones_runtime, clients) = (runtime(2), phones_runtime(), runtime(1));
    // The journal in memory: the disk's fsync stalls (40–240 ms here, for calls and recalls alike)
    // would drown what the phones do to the screen's frame.
    let t =
        hub_runtime.block_on(start_hub_with(papan::hall::Hall::builtin(), super::memory_dir(), |limits| {
            limits.max_public = PHONES;
            limits.public_per_peer = PER_ADDRESS;
            limits.commands_per_second = 1000.0;
        }));
    let hub = t.hub.addr;
    clients.block_on(async {
        let mut staff = t.session(Role::Staff, 0).await;
        let mut screen = t.session(Role::Display, 0).await;
        let hall = papan::hall::Hall::builtin();
        for agency in &hall.agencies {
            let letter = agency.letters.first().map_or("Z", String::as_str);
            let command = papan::protocol::Command::Call(papan::protocol::CallCommand {
                ticket: format!("{letter}-1").parse().unwrap(),
                counter: agency.counters[0],
                agency: Some(agency.id.clone()),
                service: None,
            });
            staff.command(&format!("open-{}", agency.id), command).await.unwrap();
        }
        let without = timed_calls(&mut staff, &mut screen).await;

        // What a phone may send: one ticket at a time, a few a second, nothing else.
        let mut phone = open_phone(hub, "127.0.0.1").await.unwrap();
        let view = next_json(&mut phone).await.unwrap();
        assert_eq!((view["type"].as_str(), view["view"]["agencies"].as_array().map(Vec::len)), (Some("view"), Some(28)));
        phone.send(Message::text(format!(r#"{{"ticket":"B-{CALLS}"}}"#))).await.unwrap();
        let status = next_json(&mut phone).await.unwrap();
        assert_eq!((status["type"].as_str(), status["status"]["state"].as_str()), (Some("ticket"), Some("called")));
        phone.send(Message::text(r#"{"ticket":"loket lima"}"#)).await.unwrap();
        assert_eq!(next_json(&mut phone).await.unwrap()["code"], "bad_ticket", "a typo is answered");
        phone.send(Message::text(r#"{"call":"B-3","counter":1}"#)).await.unwrap();
        assert_eq!(next_json(&mut phone).await.unwrap()["code"], "bad_frame");
        assert!(next_json(&mut phone).await.is_none(), "anything but a subscription closes the feed");
        let mut eager = open_phone(hub, "127.0.0.1").await.unwrap();
        for _ in 0..8 {
            let _ = eager.send(Message::text(r#"{"ticket":"B-3"}"#)).await;
        }
        let mut codes = Vec::new();
        while let Some(frame) = next_json(&mut eager).await {
            codes.extend(frame["code"].as_str().map(str::to_string));
        }
        assert_eq!(codes, ["rate_limited"], "five subscriptions at once, then one a second");

        let (views, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let opening = Instant::now();
        let readers = phones_runtime.spawn(open_phones(hub, views.clone(), stop.clone())).await.unwrap();
        let opened = opening.elapsed();
        assert_eq!(open_phone(hub, "127.0.2.1").await.err(), Some(503), "{PHONES} phones in all");
        let health = super::get_json(format!("{}/healthz", t.hub.http_url()), None).await;
        assert_eq!(health["connections"]["public"], PHONES, "{health}");
        let mut late_screen = t.session(Role::Display, 0).await;
        assert!(late_screen.next_frame().await.unwrap().is_some(), "a screen still gets in");

        // Every phone has its first view before the calls begin.
        let waiting = Instant::now();
        while views.load(Ordering::Relaxed) < PHONES as u64 {
            assert!(waiting.elapsed() < Duration::from_secs(10), "{} phones have a view", views.load(Ordering::Relaxed));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Each call (a change every phone is sent) is followed by a recall of it (the event is
        // journaled and fanned out to the screen just the same, and no phone is sent anything):
        // the two, interleaved, meet the same background load, so their difference is the phones'.
        let (mut with, mut recalls, mut delivered, mut behind) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for k in 0..CALLS {
            let n = 1 + CALLS + k;
            let sent = Instant::now();
            let ack = staff.command(&format!("phones-{n}"), call(&format!("B-{n}"), 5)).await.unwrap();
            expect_event(&mut screen, ack.seq).await;
            with.push(sent.elapsed());
            let all = ((k + 2) * PHONES) as u64;
            while views.load(Ordering::Relaxed) < all && sent.elapsed() < Duration::from_secs(2) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            match views.load(Ordering::Relaxed) >= all {
                true => delivered.push(sent.elapsed()),
                false => behind += 1,
            }
            tokio::time::sleep(Duration::from_millis(40)).await;
            let recall = papan::protocol::Command::Recall(papan::protocol::RecallCommand {
                counter: 5,
                agency: None,
                ticket: None,
            });
            let sent = Instant::now();
            let ack = staff.command(&format!("recall-{n}"), recall).await.unwrap();
            expect_event(&mut screen, ack.seq).await;
            recalls.push(sent.elapsed());
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        assert_eq!(views.load(Ordering::Relaxed), ((CALLS + 1) * PHONES) as u64, "recalls sent the phones nothing");
        with.sort();
        recalls.sort();
        stop.store(true, Ordering::Relaxed);
        let mut bytes = 0;
        for reader in readers {
            bytes += reader.await.unwrap().expect("no phone was cut");
        }
        delivered.sort();
        println!(
            "{PHONES} phone pages opened in {:.1} s. Call → screen before they came: p50 {:.1} ms, p99 {:.1} ms; \
             with them, calls (every phone is sent the change) p50 {:.1} ms, p99 {:.1} ms, and recalls between \
             them (no phone is sent anything) p50 {:.1} ms, p99 {:.1} ms ({CALLS} of each, 40 ms apart). \
             A call's change at all {PHONES} phones: p50 {:.1} ms, p99 {:.1} ms; {behind} calls not at all of \
             them within 2 s. {:.1} KB per whole view; {:.1} KB sent to each phone in all",
            opened.as_secs_f64(),
            ms(without[CALLS / 2]),
            ms(p99(&without)),
            ms(with[CALLS / 2]),
            ms(p99(&with)),
            ms(recalls[CALLS / 2]),
            ms(p99(&recalls)),
            ms(delivered[delivered.len() / 2]),
            ms(p99(&delivered)),
            view.to_string().len() as f64 / 1e3,
            bytes as f64 / 1e3 / PHONES as f64,
        );
        assert_eq!(behind, 0, "every call's change reached every phone");
        let slower = p99(&with).saturating_sub(p99(&recalls));
        assert!(slower < Duration::from_millis(5), "2,000 phones slowed the screen's p99 by {slower:?}");
        assert!(p99(&with) < Duration::from_millis(50), "call → screen p99 {:?} with the phones", p99(&with));
    });
    hub_runtime.block_on(t.hub.stop()).unwrap();
}

/// A phone's feed takes a subscription and nothing else: a ticket to follow gets its status, a
/// frame bigger than any subscription (256 bytes) or one with other fields ends the feed, a
/// refused frame saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_that_sends_more_than_a_ticket_number_is_cut_off() {
    let t = start_hub_with(papan::hall::Hall::builtin(), tempfile::tempdir().unwrap(), |_| {}).await;
    let mut kiosk = t.session(Role::Kiosk, 0).await;
    kiosk.command("k1", super::issue("disdukcapil", None)).await.unwrap();

    let mut phone = open_phone(t.hub.addr, "127.0.0.1").await.unwrap();
    assert_eq!(next_json(&mut phone).await.unwrap()["type"], "view", "the hall's view first");
    phone.send(Message::text(r#"{"ticket":"A-001"}"#)).await.unwrap();
    let status = loop {
        let frame = next_json(&mut phone).await.expect("the feed stays open");
        if frame["type"] == "ticket" {
            break frame;
        }
    };
    assert_eq!(status["ticket"], "A-001", "{status}");

    // 300 bytes: more than a subscription can be.
    let oversized = format!(r#"{{"ticket":"{}"}}"#, "A".repeat(290));
    phone.send(Message::text(oversized)).await.unwrap();
    while let Some(frame) = next_json(&mut phone).await {
        assert_ne!(frame["type"], "ticket", "an oversized frame is not read: {frame}");
    }

    let mut phone = open_phone(t.hub.addr, "127.0.0.1").await.unwrap();
    next_json(&mut phone).await.unwrap();
    phone.send(Message::text(r#"{"ticket":"A-001","token":"staff"}"#)).await.unwrap();
    let refused = loop {
        let frame = next_json(&mut phone).await.expect("told why before the end");
        if frame["type"] == "error" {
            break frame;
        }
    };
    assert_eq!(refused["code"], "bad_frame", "{refused}");
    assert!(next_json(&mut phone).await.is_none(), "then the feed ends");
    t.hub.stop().await.unwrap();
}
