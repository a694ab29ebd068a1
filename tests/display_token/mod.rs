//! What a display token can do, and what it no longer can: it identifies screens, and can neither
//! grow the hub's memory and files without end, nor upload pictures nobody asked for, nor forge
//! the hub's log, nor slow everyone's calls with resyncs. A real `papan hub` process and raw
//! clients.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use papan::hub::config::HubConfig;
use papan::protocol::Role;
use serde_json::{Value, json};

use super::{HubProcess, Raw, call, get_json};

fn status(screen: &str, layout_error: &str) -> Value {
    json!({"type": "status", "screen": screen, "version": "t", "layout": "hall-landscape", "fps": 1.0,
           "rss": 1, "audio": "ok", "last_seq": 0, "layout_error": layout_error})
}

async fn display(url: &str, token: &str, screen: &str) -> Raw {
    let mut raw = Raw::connect(url).await;
    raw.send(json!({"type": "hello", "protocol": 1, "role": "display", "client": screen, "token": token, "since": 0}))
        .await;
    raw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_display_token_is_not_a_master_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut config = HubConfig::generate();
    config.limits.max_screens = 5;
    std::fs::write(data.join("hub.toml"), toml::to_string(&config).unwrap()).unwrap();
    let log = data.join("hub.log");
    let hub = HubProcess::start_logging(data, &log);
    let url = format!("ws://{}/ws", hub.addr);
    let base = format!("http://{}", hub.addr);
    let token = config.token_for(Role::Display).unwrap().to_string();
    let staff = config.token_for(Role::Staff).unwrap().to_string();

    // Screens beyond max_screens are refused by name; a screen gone for good can be removed.
    let mut screens = Vec::new();
    for n in 1..=5 {
        let mut screen = display(&url, &token, &format!("lobby-{n}")).await;
        assert_eq!(screen.next().await["type"], "welcome");
        screens.push(screen);
    }
    let mut sixth = display(&url, &token, "lobby-6").await;
    let refused = sixth.expect_error_and_close("too_many_screens").await;
    println!("sixth screen id: {}", refused["message"]);
    // One id, many connections: four at once, the fifth refused.
    let mut same = Vec::new();
    for _ in 0..3 {
        let mut screen = display(&url, &token, "lobby-1").await;
        assert_eq!(screen.next().await["type"], "welcome");
        same.push(screen);
    }
    display(&url, &token, "lobby-1").await.expect_error_and_close("too_many_connections").await;
    let listing = get_json(format!("{base}/api/screens"), Some(&staff)).await;
    let lobby1 = listing["screens"].as_array().unwrap().iter().find(|s| s["screen"] == "lobby-1").unwrap();
    assert_eq!(lobby1["connections"], 4, "the fleet page sees four PCs sharing an id: {lobby1}");
    let http = papan::tls::http_client();
    let remove =
        |screen: &str| http.delete(format!("{base}/api/screens/{screen}")).bearer_auth(&staff).send();
    assert_eq!(remove("lobby-5").await.unwrap().status(), 409, "an online screen stays");
    drop(screens.pop());
    let removed = loop {
        let answer = remove("lobby-5").await.unwrap();
        if answer.status() != 409 {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(removed.status(), 200);
    assert_eq!(remove("lobby-5").await.unwrap().status(), 404);
    let mut sixth = display(&url, &token, "lobby-6").await;
    assert_eq!(sixth.next().await["type"], "welcome", "its place is free again");

    // A status with a number JSON can hold but f32 cannot (1e39 → infinity) is refused; the
    // saved list stays readable.
    let mut screen = screens.remove(0);
    screen.send_text(r#"{"type":"status","screen":"lobby-1","fps":1e39}"#.into()).await;
    let error = screen.next_error().await.expect("an error frame");
    assert_eq!(error["code"], "bad_frame", "{error}");

    // A layout problem with a forged log line in it, changed 24 times in 6 s (the pace the
    // status budget allows): the log gets escaped fields, at most one line per 10 s, and no
    // forged line.
    let forged = "x\n2026-12-03T00:00:00.000000Z  INFO papan::hub: FORGED staff token accepted";
    let log_before = std::fs::metadata(&log).unwrap().len();
    for n in 0..24 {
        screen.send(status("lobby-1", &format!("{forged} {n}"))).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let grown = std::fs::metadata(&log).unwrap().len() - log_before;
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.lines().any(|l| l.contains("FORGED") && !l.contains("error=")), "a forged line:\n{text}");
    let problem_lines = text.lines().filter(|l| l.contains("layout file has a problem")).count();
    if let Some(line) = text.lines().find(|l| l.contains("layout file has a problem")) {
        println!("the hub logged: {line}");
    }
    println!(
        "24 changing layout problems with newlines: the log grew {grown} bytes, {problem_lines} problem lines"
    );
    assert!(problem_lines <= 2, "{problem_lines} lines");

    // Resyncs flooded from four screens: each gets rate_limited (and is cut after ten in a row),
    // while a counter's calls keep their pace.
    let mut flooders = Vec::new();
    for n in 2..=4 {
        let mut flooder = display(&url, &token, &format!("lobby-{n}")).await;
        assert_eq!(flooder.next().await["type"], "welcome");
        flooders.push(tokio::spawn(async move {
            let mut limited = 0;
            for _ in 0..2000 {
                if !flooder
                    .feed(tokio_tungstenite::tungstenite::Message::text(r#"{"type":"resync","since":0}"#))
                    .await
                {
                    break;
                }
            }
            flooder.flush().await;
            while let Some(error) = flooder.next_error().await {
                if error["code"] == "rate_limited" {
                    limited += 1;
                }
            }
            limited
        }));
    }
    let staff_options = hub.options(data, Role::Staff);
    let mut counter = papan::client::Session::connect(&staff_options, 0).await.unwrap();
    let mut acks = Vec::new();
    for n in 1..=50u16 {
        let sent = Instant::now();
        counter.command(&format!("during-resyncs-{n}"), call(&format!("A-{n}"), 1)).await.unwrap();
        acks.push(sent.elapsed());
    }
    let mut limited = Vec::new();
    for flooder in flooders {
        limited.push(flooder.await.unwrap());
    }
    acks.sort();
    println!(
        "3 screens sending 2000 resyncs each: rate_limited answers {limited:?}; a counter's ack p50 {:.1} ms, max {:.1} ms",
        acks[25].as_secs_f64() * 1e3,
        acks[49].as_secs_f64() * 1e3
    );
    assert!(limited.iter().all(|&n| n >= 1), "each flooder was told: {limited:?}");

    // A screenshot upload without a token is answered before its 16 MiB body is sent.
    let mut stream = std::net::TcpStream::connect(hub.addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let asked = Instant::now();
    write!(
        stream,
        "POST /api/screens/lobby-1/screenshot?request=x HTTP/1.1\r\nHost: hub\r\nContent-Length: 16777216\r\n\r\n"
    )
    .unwrap();
    let mut answer = [0u8; 64];
    let read = stream.read(&mut answer).expect("an answer before the body");
    let answer = String::from_utf8_lossy(&answer[..read]).to_string();
    println!("token-less upload: {:?} after {:?}", answer.lines().next(), asked.elapsed());
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    drop(hub);
}
