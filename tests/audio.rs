//! Playback end to end through rodio → cpal → ALSA with no sound card: the default ALSA device
//! is a `file` plugin over `null` (set up in a private HOME), which captures exactly what is played.
//! One test function, because ALSA reads HOME's .asoundrc process-wide.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{find, read_capture, write_asoundrc};
use papan::hall::Hall;
use papan::protocol::{Call, Event};
use papan::voice::pack::{Pack, Packs};
use papan::voice::player::{AudioPlayer, PlayerEvent, PlayerOptions, Queued};
use papan::voice::render::render;
use papan::voice::script::script;

fn rendered(hall: &Hall, pack: &Packs, ticket: &str, counter: u16) -> Vec<i16> {
    let agency = hall.resolve_counter(counter, None).unwrap().id.clone();
    let call = Call { ticket: ticket.parse().unwrap(), counter, agency, service: None, priority: None };
    let parts = script(hall, &Event::Call(call)).unwrap();
    let out = render(&parts, pack, hall.voice.gap_ms, hall.voice.repeat_gap_ms);
    assert!(out.skipped.is_empty());
    out.samples
}

fn wait_for(
    rx: &mpsc::Receiver<PlayerEvent>,
    what: &str,
    pred: impl Fn(&PlayerEvent) -> bool,
) -> Vec<PlayerEvent> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        let event = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        let event = event.unwrap_or_else(|_| panic!("waited for {what}; saw {seen:?}"));
        let done = pred(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

#[test]
fn playback_through_alsa_is_exact_ordered_merged_and_survives_no_device() {
    let home = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let hall = Hall::builtin();
    let pack = Packs::new(Pack::load(&root.join("assets/voice/id")).unwrap(), []);

    // 1. `papan voice say --play` hands the device exactly the rendered announcement.
    let capture = home.path().join("say.raw");
    write_asoundrc(home.path(), &capture);
    let out = Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["voice", "say", "A-123", "--counter", "4", "--play"])
        .current_dir(root)
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let captured = read_capture(&capture);
    let expected = rendered(&hall, &pack, "A-123", 4);
    assert!(find(&captured, &expected, 0).is_some(), "capture holds the announcement bit for bit");

    // 2. In this process: no device at first. The player says so once and keeps the call waiting.
    std::fs::write(home.path().join(".asoundrc"), "pcm.!default { type hw card 97 }\n").unwrap();
    // SAFETY: the only test in this binary; no other thread reads the environment yet.
    unsafe { std::env::set_var("HOME", home.path()) };
    let (events, rx) = mpsc::channel();
    let options = PlayerOptions {
        rate: pack.rate(),
        retry_every: Duration::from_millis(200),
        stale_after: Duration::from_secs(30),
        ..PlayerOptions::default()
    };
    let player = AudioPlayer::spawn(options, events);
    let first = rendered(&hall, &pack, "A-001", 1);
    let second = rendered(&hall, &pack, "B-002", 5);
    let queue = |seq, key: &str, samples: &[i16], queued_at| Queued {
        seq,
        key: key.into(),
        samples: samples.into(),
        queued_at,
    };
    player.enqueue(queue(1, "call A-001 1", &first, Instant::now()));
    wait_for(&rx, "device unavailable", |e| matches!(e, PlayerEvent::DeviceUnavailable(_)));

    // 3. The device appears: the waiting call plays; a second call follows it whole; the same
    //    call again within the window is merged; one queued long ago is dropped as stale.
    let capture = home.path().join("queue.raw");
    write_asoundrc(home.path(), &capture);
    wait_for(&rx, "device ready", |e| *e == PlayerEvent::DeviceReady);
    player.enqueue(queue(2, "call B-002 5", &second, Instant::now()));
    player.enqueue(queue(3, "call A-001 1", &first, Instant::now()));
    player.enqueue(queue(4, "call C-003 7", &second, Instant::now() - Duration::from_secs(120)));
    let seen = wait_for(&rx, "stale call dropped", |e| matches!(e, PlayerEvent::Dropped { seq: 4, .. }));
    assert!(seen.contains(&PlayerEvent::Merged { seq: 3, into: 1 }), "{seen:?}");
    let started: Vec<u64> = seen
        .iter()
        .filter_map(|e| match e {
            PlayerEvent::Started { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    assert_eq!(started, [1, 2], "FIFO, each once: {seen:?}");
    let first_done = seen.iter().position(|e| *e == PlayerEvent::Finished { seq: 1 }).unwrap();
    let second_started = seen.iter().position(|e| matches!(e, PlayerEvent::Started { seq: 2, .. })).unwrap();
    assert!(first_done < second_started, "the second waits for the first to finish: {seen:?}");

    // 4. At rest with its device open, the player's thread sleeps: it waited on a 5 ms poll
    //    before (about 200 wake-ups a second on every speaking screen, all day).
    let wait_for_rest = Instant::now() + Duration::from_secs(20);
    while !matches!(rx.recv_timeout(Duration::from_millis(300)), Err(mpsc::RecvTimeoutError::Timeout)) {
        assert!(Instant::now() < wait_for_rest, "the player never came to rest");
    }
    let before = papan::process_stats::thread_context_switches("papan-audio").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let woken = papan::process_stats::thread_context_switches("papan-audio").unwrap() - before;
    println!("the idle player thread was switched in {woken} times in 2 s");
    assert!(woken <= 4, "{woken} context switches in 2 s at rest");
    player.finish();

    let captured = read_capture(&capture);
    let at_first = find(&captured, &first, 0).expect("first call captured whole");
    let at_second = find(&captured, &second, at_first + first.len())
        .expect("second call captured whole, after the first");
    assert!(at_second >= at_first + first.len(), "no overlap");
    assert_eq!(find(&captured, &first, at_first + first.len()), None, "the merged repeat was not played");
    let loud_after = captured[at_second + second.len()..].iter().any(|&s| s != 0);
    assert!(!loud_after, "the stale call was not played");
}
