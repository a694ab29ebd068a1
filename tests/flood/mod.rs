//! Floods from one address of the hall's LAN (127.0.0.2 on loopback): half-sent HTTP headers and
//! WebSockets that never say hello, reopened as fast as they are cut. Bounded in count and time.
//! Meanwhile a real screen connects (from 127.0.0.1) and an honest counter calls.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use papan::feed::{Feed, FeedOptions, FeedUpdate};
use papan::protocol::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use super::{call, get_json, next_update};

/// What the attacker's connections met.
#[derive(Default)]
struct Tally {
    opened: AtomicU64,
    /// Refused at once (reset or closed before anything was read).
    refused: AtomicU64,
    /// Held, then closed by the hub (header deadline, hello deadline).
    timed_out: AtomicU64,
}

#[derive(Clone, Copy)]
enum Attack {
    HalfHeaders,
    SilentWebSocket,
}

/// One attacker connection after another until `stop`.
async fn attacker(hub: SocketAddr, attack: Attack, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let request = match attack {
        Attack::HalfHeaders => "GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Slow: ".to_string(),
        Attack::SilentWebSocket => format!(
            "GET /ws HTTP/1.1\r\nHost: {hub}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ),
    };
    while !stop.load(Ordering::Relaxed) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let Ok(mut stream) = socket.connect(hub).await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        tally.opened.fetch_add(1, Ordering::Relaxed);
        let opened = Instant::now();
        let _ = stream.write_all(request.as_bytes()).await;
        let mut buffer = [0u8; 4096];
        // Read until the hub closes; never send another byte.
        loop {
            tokio::select! {
                read = stream.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                },
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                }
            }
        }
        let counter =
            if opened.elapsed() < Duration::from_secs(1) { &tally.refused } else { &tally.timed_out };
        counter.fetch_add(1, Ordering::Relaxed);
        // A refused attacker comes back after 250 ms: 1200 of them still open thousands of
        // connections a second, without the test measuring mostly its own CPU (tests run two
        // at a time on two cores).
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// 600 connections with half-sent headers and 600 WebSockets that never say hello, from one
/// address, for about 10 s, against a hub whose signed-in places are 300 (so silent sockets
/// holding those places, as they did, would lock screens out). A real screen connecting during the
/// flood is online at its first try; 200 honest calls, 50 ms apart, reach it with p99 under 50 ms
/// and none later than 250 ms; `/healthz` answers. 200 calls so that p99 is a p99: with 80 it was
/// the single worst call, which one fsync behind a Chromium test starting on the other core could
/// push past 50 ms (52–54 ms seen twice in CI, with p50 2 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_silent_connections_leaves_room_for_screens_and_staff() {
    let _turn = super::one_load_test_at_a_time();
    papan::hub::raise_open_file_limit();
    // The journal in memory: the disk's fsync stalls under the flood say nothing about places.
    let t = super::start_hub_with(papan::hall::Hall::builtin(), super::memory_dir(), |limits| {
        limits.max_connections = 300;
        limits.commands_per_second = 1000.0;
    })
    .await;
    let hub = t.hub.addr;
    let (stop, tally) = (Arc::new(AtomicBool::new(false)), Arc::new(Tally::default()));
    let mut attackers = Vec::new();
    for n in 0..1200 {
        let attack = if n % 2 == 0 { Attack::HalfHeaders } else { Attack::SilentWebSocket };
        attackers.push(tokio::spawn(attacker(hub, attack, stop.clone(), tally.clone())));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let started = Instant::now();
    let mut options = FeedOptions::new(t.options(Role::Display));
    options.client.client = "lobby-1".into();
    let feed = tokio::task::spawn_blocking(move || {
        let feed = Feed::start(options, None);
        assert_eq!(next_update(&feed), FeedUpdate::Online, "the screen's first try gets in");
        assert!(matches!(next_update(&feed), FeedUpdate::Board { .. }));
        feed
    })
    .await
    .unwrap();
    let online_after = started.elapsed();
    let health = get_json(format!("{}/healthz", t.hub.http_url()), None).await;
    assert_eq!(health["status"], "ok", "{health}");

    let mut staff = t.session(Role::Staff, 0).await;
    let mut took = Vec::new();
    let feed = Arc::new(std::sync::Mutex::new(feed));
    for n in 1..=200u16 {
        let sent = Instant::now();
        let ack = staff.command(&format!("flood-{n}"), call(&format!("A-{n}"), 1)).await.unwrap();
        let feed = feed.clone();
        let seen = tokio::task::spawn_blocking(move || {
            loop {
                match next_update(&feed.lock().unwrap()) {
                    FeedUpdate::Event { frame, .. } if frame.seq == ack.seq => return Instant::now(),
                    FeedUpdate::Event { .. } | FeedUpdate::Online => {}
                    other => panic!("unexpected {other:?} during the flood"),
                }
            }
        })
        .await
        .unwrap();
        took.push(seen.duration_since(sent));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The hub stops while the flood still holds half-sent headers and silent sockets: those must
    // not hold its stop up (each holds the hub's state, and with it the journal's writer).
    let stopping = Instant::now();
    t.hub.stop().await.expect("a clean stop: everything was stored");
    let stop_took = stopping.elapsed();
    stop.store(true, Ordering::Relaxed);
    for attacker in attackers {
        let _ = attacker.await;
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p99) = (took[took.len() / 2], took[took.len() * 99 / 100]);
    println!(
        "flood from 127.0.0.2: {} connections opened, {} refused at once, {} held until the hub's deadline; \
         screen online {:.0} ms after starting; honest call → screen p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; \
         the hub stopped in {:.0} ms during the flood",
        tally.opened.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.timed_out.load(Ordering::Relaxed),
        ms(online_after),
        ms(p50),
        ms(p99),
        ms(*took.last().unwrap()),
        ms(stop_took)
    );
    assert!(online_after < Duration::from_secs(2), "screen online after {online_after:?}");
    assert!(p99 < Duration::from_millis(50), "call → screen p99 {p99:?} during the flood");
    let worst = *took.last().unwrap();
    assert!(worst < Duration::from_millis(250), "a call took {worst:?} to reach the screen during the flood");
    assert!(tally.timed_out.load(Ordering::Relaxed) > 0, "the hub's deadlines closed held connections");
    assert!(stop_took < Duration::from_secs(2), "the hub took {stop_took:?} to stop during the flood");
    drop(feed);
}
