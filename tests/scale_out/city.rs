//! The city view (`papan city`) over real nats-servers: halls and their screens as the hubs
//! report them, city-wide tickers and announcements, and a kecamatan site on a leaf node that
//! keeps calling while its link to the city is down.

use std::time::{Duration, Instant};

use papan::city::{self, CityOptions, RunningCity};
use papan::client::Session;
use papan::hall::Hall;
use papan::hub;
use papan::hub::city_link::{self, CityCommand, CityReply, command_subject};
use papan::hub::config::HubConfig;
use papan::protocol::{ErrorCode, Event, EventFrame, HubFrame, Role, Seq};
use serde_json::{Value, json};

use super::super::proxy::{Link, Proxy};
use super::super::{WAIT, call, free_listen_addr};
use super::{NatsServer, client, events_until, loopback_config, shared_hub_options};

const PALEMBANG: &str = "mpp-palembang";
const KECAMATAN: &str = "kec-ilir-barat";

async fn start_city(nats_url: &str, data: &std::path::Path) -> (RunningCity, String) {
    start_city_with(nats_url, data, loopback_config()).await
}

async fn start_city_with(nats_url: &str, data: &std::path::Path, config: HubConfig) -> (RunningCity, String) {
    let token = config.token_for(Role::Staff).unwrap().to_string();
    let options = CityOptions { servers: nats_url.to_string(), config, data_dir: data.to_path_buf() };
    (city::start(options).await.unwrap(), token)
}

/// `GET /api/halls` as (status, body).
async fn halls(city: &RunningCity, token: Option<&str>) -> (u16, Value) {
    let mut request = papan::tls::http_client().get(format!("{}/api/halls", city.http_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Polls the city until `ready` holds for the hall listing, or fails saying what it last saw.
async fn wait_for_halls(
    city: &RunningCity,
    token: &str,
    within: Duration,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (_, body) = halls(city, Some(token)).await;
        if ready(&body["halls"]) {
            return body["halls"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "the city view did not get there within {within:?}; it shows {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn hall<'a>(halls: &'a Value, id: &str) -> &'a Value {
    halls.as_array().unwrap().iter().find(|h| h["hall_id"] == id).unwrap_or(&Value::Null)
}

async fn post(city: &RunningCity, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = papan::tls::http_client()
        .post(format!("{}{path}", city.http_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// `DELETE /api/halls/{hall}`: forgets a hall; answers (status, error code or "").
async fn forget(city: &RunningCity, token: &str, hall: &str) -> (u16, String) {
    let response = papan::tls::http_client()
        .delete(format!("{}/api/halls/{hall}", city.http_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or("").to_string())
}

/// The next event a screen receives (skipping pings, acks, snapshots).
async fn next_event(screen: &mut Session) -> EventFrame {
    loop {
        let frame = tokio::time::timeout(WAIT, screen.next_frame()).await.expect("an event arrives").unwrap();
        if let Some(HubFrame::Event(event)) = frame {
            return event;
        }
    }
}

/// Two halls on one cluster (one with two hubs): the city lists both with their hubs and screens,
/// sends a ticker to every hall and an announcement to a chosen one, repeats are stored once, a
/// hall nobody serves is reported as unreachable, and a hub refuses anything but ticker and
/// announce from the city.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_city_view_shows_every_hall_and_sends_to_all_or_chosen_halls() {
    let _turn = super::super::one_load_test_at_a_time();
    let nats = NatsServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config();
    let start = |hall: &str, name: &str| {
        hub::start(shared_hub_options(nats.journal_of(hall), &config, &dir.path().join(name)))
    };
    let palembang_a = start(PALEMBANG, "a").await.unwrap();
    let palembang_b = start(PALEMBANG, "b").await.unwrap();
    // A site in another time zone: the city shows its times in WITA, the MPP's in WIB.
    let mut kecamatan_options =
        shared_hub_options(nats.journal_of(KECAMATAN), &config, &dir.path().join("k"));
    kecamatan_options.hall.timezone = papan::hall::TimeZone::Wita;
    let kecamatan = hub::start(kecamatan_options).await.unwrap();
    let mut lobby =
        Session::connect(&client(palembang_a.ws_url(), &config, Role::Display, "lobby-1"), 0).await.unwrap();
    let mut kec_screen =
        Session::connect(&client(kecamatan.ws_url(), &config, Role::Display, "kec-1"), 0).await.unwrap();
    let city_data = tempfile::tempdir().unwrap();
    let (city, token) = start_city(&nats.url, city_data.path()).await;

    assert_eq!(halls(&city, None).await.0, 401, "the city page needs a token");
    let listed = wait_for_halls(&city, &token, Duration::from_secs(10), |halls| {
        hall(halls, PALEMBANG)["hubs"].as_array().is_some_and(|h| h.len() == 2)
            && hall(halls, PALEMBANG)["screens_online"] == 1
            && hall(halls, KECAMATAN)["screens_online"] == 1
    })
    .await;
    let palembang = hall(&listed, PALEMBANG);
    assert_eq!(palembang["online"], true);
    assert_eq!(palembang["name"], Hall::builtin().name);
    assert_eq!(palembang["screens"][0]["screen"], "lobby-1");
    assert_eq!(hall(&listed, KECAMATAN)["screens"][0]["screen"], "kec-1");
    assert_eq!(
        (palembang["timezone"].as_str(), hall(&listed, KECAMATAN)["timezone"].as_str()),
        (Some("WIB"), Some("WITA"))
    );

    // Any NATS publisher could post a report for any hall; the city takes a hall's report only
    // on its own subject (and NATS permissions in deploy/ keep a hall's hubs to theirs).
    let rogue_client = async_nats::connect(nats.url.as_str()).await.unwrap();
    let rogue = json!({"hall_id": PALEMBANG, "hall_name": "Dibajak", "hub": "rogue:1", "version": "x",
        "seq": u64::MAX, "ticker": "Dibajak", "recent": [], "screens": [], "phrases": []});
    rogue_client.publish("papan.rogue.report", serde_json::to_vec(&rogue).unwrap().into()).await.unwrap();
    rogue_client.flush().await.unwrap();
    // A ticker to every hall: both store it and their screens show it.
    let text = "Layanan hari ini tutup pukul 15.00 WIB";
    let (status, sent) =
        post(&city, &token, "/api/ticker", json!({"id": "city-ticker-1", "text": text})).await;
    assert_eq!(status, 200, "{sent:#}");
    assert_eq!(sent["halls"].as_object().unwrap().len(), 2, "{sent:#}");
    for screen in [&mut lobby, &mut kec_screen] {
        assert_eq!(next_event(screen).await.event, Event::Ticker { text: text.into() });
    }
    let (status, again) =
        post(&city, &token, "/api/ticker", json!({"id": "city-ticker-1", "text": text})).await;
    assert_eq!(status, 200);
    for id in [PALEMBANG, KECAMATAN] {
        assert_eq!(again["halls"][id]["duplicate"], true, "a repeat is stored once: {again:#}");
        assert_eq!(again["halls"][id]["seq"], sent["halls"][id]["seq"]);
    }

    // An announcement to the kecamatan only; the next thing the MPP screen sees is its own call.
    let phrase = Hall::builtin().phrases[0].id.clone();
    let (status, announced) =
        post(&city, &token, "/api/announce", json!({"phrase": phrase, "halls": [KECAMATAN]})).await;
    assert_eq!(status, 200, "{announced:#}");
    assert_eq!(announced["halls"].as_object().unwrap().keys().collect::<Vec<_>>(), [KECAMATAN]);
    assert!(matches!(next_event(&mut kec_screen).await.event, Event::Announce { phrase: p } if p == phrase));
    let mut staff =
        Session::connect(&client(palembang_b.ws_url(), &config, Role::Staff, "staff"), 0).await.unwrap();
    staff.command("after-announce", call("A-5", 1)).await.unwrap();
    assert!(matches!(next_event(&mut lobby).await.event, Event::Call(c) if c.ticket.to_string() == "A-005"));

    // A hall nobody serves, and an unknown phrase: 502 with the reason per hall.
    let asked = Instant::now();
    let (status, missing) =
        post(&city, &token, "/api/ticker", json!({"text": "x", "halls": [KECAMATAN, "kec-nowhere"]})).await;
    assert_eq!(status, 502, "{missing:#}");
    assert_eq!(missing["halls"]["kec-nowhere"]["error"]["code"], "hall_unreachable", "{missing:#}");
    assert!(missing["halls"][KECAMATAN]["seq"].is_u64(), "the reachable hall still got it: {missing:#}");
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "no responders is known at once: {:?}",
        asked.elapsed()
    );
    let (status, unknown) = post(&city, &token, "/api/announce", json!({"phrase": "no-such-phrase"})).await;
    assert_eq!(status, 502);
    assert_eq!(unknown["halls"][PALEMBANG]["error"]["code"], "unknown_phrase", "{unknown:#}");

    // Straight over NATS: a hub takes no calls from the city.
    let nats_client = async_nats::connect(nats.url.as_str()).await.unwrap();
    let command = CityCommand { id: "city-call".into(), command: call("B-1", 2) };
    let answer = nats_client
        .request(command_subject(PALEMBANG), serde_json::to_vec(&command).unwrap().into())
        .await
        .unwrap();
    let reply: CityReply = serde_json::from_slice(&answer.payload).unwrap();
    assert!(matches!(reply, CityReply::Refused { code: ErrorCode::Forbidden, .. }), "{reply:?}");

    // The MPP's screens follow: both hubs report the same seq, and the last call.
    let last: Seq = staff.command("last", call("A-6", 1)).await.unwrap().seq;
    let listed = wait_for_halls(&city, &token, Duration::from_secs(10), |halls| {
        let p = hall(halls, PALEMBANG);
        p["seq"] == last && p["hubs"].as_array().unwrap().iter().all(|h| h["seq"] == last)
    })
    .await;
    assert_eq!(hall(&listed, PALEMBANG)["recent"][0]["ticket"], "A-006");
    assert_eq!(hall(&listed, PALEMBANG)["name"], Hall::builtin().name, "the rogue report was not taken");
    assert!(hall(&listed, PALEMBANG)["hubs"].as_array().unwrap().iter().all(|h| h["hub"] != "rogue:1"));
    let mut kec_staff =
        Session::connect(&client(kecamatan.ws_url(), &config, Role::Staff, "kec-staff"), 0).await.unwrap();
    kec_staff.command("kec-call", call("A-9", 1)).await.unwrap();
    wait_for_halls(&city, &token, Duration::from_secs(10), |halls| {
        hall(halls, KECAMATAN)["recent"][0]["ticket"] == "A-009"
    })
    .await;

    // The day's report per hall and for the city: each hall adds up its own day (A-005 was
    // served at the MPP until A-006's call; the kecamatan's A-009 is still at the counter).
    let report_url = format!("{}/api/report", city.http_url());
    let report = papan::tls::http_client().get(&report_url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(report.status(), 200);
    let report: Value = report.json().await.unwrap();
    let rows: Vec<(&str, u64)> = report["agencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["id"].as_str().unwrap(), h["served"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows, [(KECAMATAN, 0), (PALEMBANG, 1)], "{report:#}");
    assert_eq!(
        (report["total"]["served"].as_u64(), report["total"]["service"]["count"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(report["unreachable"], json!({}), "{report:#}");
    let unauthorized = papan::tls::http_client().get(&report_url).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    let chart = papan::tls::http_client()
        .get(format!("{report_url}/chart/waits"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(chart.status(), 200);
    assert!(chart.text().await.unwrap().contains("Lama menunggu per aula"));
    // `papan report` reads the city as it reads a hub.
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["report", "--csv", "--hub", &city.http_url(), "--token", &token])
        .output()
        .unwrap();
    assert!(cli.status.success(), "{}", String::from_utf8_lossy(&cli.stderr));
    let csv = String::from_utf8_lossy(&cli.stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[2].contains(&format!(",{PALEMBANG},{},", Hall::builtin().name)), "{csv}");
    assert!(lines[3].contains(",total,Semua aula,"), "{csv}");

    // The city page: both halls listed, a ticker sent to the ticked halls from its form.
    let mut browser = super::super::browser::Browser::start(1280, 800).await;
    browser.open(&format!("{}/", city.http_url())).await;
    browser.wait_for("!document.getElementById('login').hidden").await;
    browser.fill("token", &token).await;
    browser.click("#login-button").await;
    browser.wait_for("document.querySelectorAll('#halls tr[data-hall]').length === 2").await;
    browser.wait_for("document.querySelectorAll('#targets input:checked').length === 2").await;
    let row =
        browser.eval(&format!("document.querySelector('tr[data-hall=\"{PALEMBANG}\"]').innerText")).await;
    let row = row.as_str().unwrap_or_default().to_string();
    assert!(row.contains("Terhubung") && row.contains("2 dari 2") && row.contains("A-006"), "{row}");
    assert!(row.contains(" WIB"), "times in the hall's zone: {row}");
    let kec_row =
        browser.eval(&format!("document.querySelector('tr[data-hall=\"{KECAMATAN}\"]').innerText")).await;
    assert!(kec_row.as_str().unwrap_or_default().contains(" WITA"), "{kec_row}");
    browser.fill("ticker-text", "Antrean dibuka kembali pukul 13.00").await;
    browser.click("#ticker-send").await;
    browser.wait_for("document.getElementById('message').innerText.includes('diterima 2 aula')").await;
    let sent = Event::Ticker { text: "Antrean dibuka kembali pukul 13.00".into() };
    for screen in [&mut lobby, &mut kec_screen] {
        // Skipping what came before (the last call, the ticker "x").
        while next_event(screen).await.event != sent {}
    }
    browser.screenshot(&std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("city.png")).await;

    city.stop().await.unwrap();
    for hub in [palembang_a, palembang_b, kecamatan] {
        hub.stop().await.unwrap();
    }
}

/// A kecamatan site runs its own nats-server (a JetStream domain of its own) linked to the city's
/// as a leaf node. With the link down, calls at the site are stored and shown as usual and the
/// city shows the hall as cut off; when the link returns, the city sees those calls and reaches
/// the hall again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaf_site_keeps_calling_while_cut_off_and_the_city_sees_it_after() {
    let _turn = super::super::one_load_test_at_a_time();
    // The site reaches the city's leaf port through a link the test can cut. The city advertises
    // the link's address: a leaf node also dials the addresses its hub advertises, and would
    // otherwise go round the cut.
    let leaf_port = free_listen_addr();
    let link = Proxy::start(leaf_port.parse().unwrap()).await;
    let city_nats = NatsServer::start_with(
        "domain: city",
        &format!("leafnodes {{ listen: \"{leaf_port}\", advertise: \"{}\" }}", link.addr),
    );
    let site_nats = NatsServer::start_with(
        &format!("domain: {KECAMATAN}"),
        &format!("leafnodes {{ reconnect: 1, remotes: [ {{ url: \"nats-leaf://{}\" }} ] }}", link.addr),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = loopback_config();
    let site =
        hub::start(shared_hub_options(site_nats.journal_of(KECAMATAN), &config, dir.path())).await.unwrap();
    let mut screen =
        Session::connect(&client(site.ws_url(), &config, Role::Display, "kec-1"), 0).await.unwrap();
    let mut staff = Session::connect(&client(site.ws_url(), &config, Role::Staff, "loket"), 0).await.unwrap();
    let before = staff.command("before", call("A-1", 1)).await.unwrap().seq;
    events_until(&mut screen, before).await;
    let city_data = tempfile::tempdir().unwrap();
    let city_config = loopback_config();
    let (city, token) = start_city_with(&city_nats.url, city_data.path(), city_config.clone()).await;
    wait_for_halls(&city, &token, Duration::from_secs(15), |halls| {
        hall(halls, KECAMATAN)["online"] == true && hall(halls, KECAMATAN)["seq"] == before
    })
    .await;

    // The link to the city goes down: calls at the site go on, each acked at once.
    link.set(Link::Reset);
    let mut acked = Vec::new();
    for n in 2..=6 {
        let sent = Instant::now();
        let ack = staff.command(&format!("offline-{n}"), call(&format!("A-{n}"), 1)).await.unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "call {n} took {:?} with the city gone",
            sent.elapsed()
        );
        assert_eq!(next_event(&mut screen).await.seq, ack.seq, "the site's screen shows it");
        acked.push(ack.seq);
    }
    let last = *acked.last().unwrap();
    let cut = wait_for_halls(&city, &token, Duration::from_secs(12), |halls| {
        hall(halls, KECAMATAN)["online"] == false
    })
    .await;
    assert_eq!(hall(&cut, KECAMATAN)["seq"], before, "the city cannot know the calls yet");
    let (status, unreachable) =
        post(&city, &token, "/api/ticker", json!({"text": "x", "halls": [KECAMATAN]})).await;
    assert_eq!(
        (status, &unreachable["halls"][KECAMATAN]["error"]["code"]),
        (502, &json!("hall_unreachable"))
    );
    // The day's report names the site it could not ask, rather than counting it as an empty day.
    let report = super::super::get_json(format!("{}/api/report", city.http_url()), Some(&token)).await;
    let why = report["unreachable"][KECAMATAN].as_str().unwrap_or_else(|| panic!("{report:#}"));
    assert!(why.contains(KECAMATAN), "{why}");
    assert!(report["agencies"].as_array().unwrap().iter().all(|row| row["id"] != KECAMATAN), "{report:#}");

    // The city view restarts meanwhile: it still lists the site, offline at what it last heard, and
    // "all halls" still means the site too, so its staff learn the ticker did not reach it.
    city.stop().await.unwrap();
    let (city, token) = start_city_with(&city_nats.url, city_data.path(), city_config.clone()).await;
    let (_, listed) = halls(&city, Some(&token)).await;
    let site_hall = hall(&listed["halls"], KECAMATAN);
    assert_eq!((&site_hall["online"], &site_hall["seq"]), (&json!(false), &json!(before)), "{listed:#}");
    assert_eq!(site_hall["screens"][0]["screen"], "kec-1");
    let (status, unreachable) = post(&city, &token, "/api/ticker", json!({"text": "Semua aula"})).await;
    assert_eq!(
        (status, &unreachable["halls"][KECAMATAN]["error"]["code"]),
        (502, &json!("hall_unreachable")),
        "{unreachable:#}"
    );

    // The link returns: the city shows the site's calls and reaches it again.
    link.set(Link::Up);
    let back = wait_for_halls(&city, &token, Duration::from_secs(20), |halls| {
        hall(halls, KECAMATAN)["online"] == true && hall(halls, KECAMATAN)["seq"] == last
    })
    .await;
    assert_eq!(hall(&back, KECAMATAN)["recent"][0]["ticket"], "A-006");
    assert_eq!(hall(&back, KECAMATAN)["screens_online"], 1);
    let (status, sent) =
        post(&city, &token, "/api/ticker", json!({"text": "Kembali terhubung", "halls": [KECAMATAN]})).await;
    assert_eq!(status, 200, "{sent:#}");
    assert_eq!(sent["halls"][KECAMATAN]["seq"], last + 1);

    // The site closes for good. While it reports it cannot be forgotten (it would be listed again
    // at its next report); once silent it can, and stays forgotten across a restart.
    assert_eq!(forget(&city, &token, KECAMATAN).await, (409, "hall_online".to_string()));
    drop(screen);
    site.stop().await.unwrap();
    wait_for_halls(&city, &token, Duration::from_secs(12), |halls| hall(halls, KECAMATAN)["online"] == false)
        .await;
    // Forgotten from the city page, as an operator would: the button on the offline hall's row.
    let mut browser = super::super::browser::Browser::start(1280, 800).await;
    browser.open(&format!("{}/", city.http_url())).await;
    browser.wait_for("!document.getElementById('login').hidden").await;
    browser.fill("token", &token).await;
    browser.click("#login-button").await;
    let button = format!("document.querySelector('[data-forget=\"{KECAMATAN}\"]')");
    browser.wait_for(&format!("{button} !== null")).await;
    browser.eval(&format!("window.confirm = () => true; {button}.click(); true")).await;
    browser.wait_for("document.querySelectorAll('#halls tr[data-hall]').length === 0").await;
    assert!(browser.text("message").await.contains("tidak lagi tercantum"));
    assert_eq!(forget(&city, &token, KECAMATAN).await, (404, "unknown_hall".to_string()));
    let (status, none) = post(&city, &token, "/api/ticker", json!({"text": "Semua aula"})).await;
    assert_eq!((status, &none["error"]["code"]), (409, &json!("invalid_command")), "no hall left: {none:#}");
    city.stop().await.unwrap();
    let (city, token) = start_city_with(&city_nats.url, city_data.path(), city_config).await;
    let (_, listed) = halls(&city, Some(&token)).await;
    assert_eq!(listed["halls"], json!([]), "forgotten for good: {listed:#}");
    city.stop().await.unwrap();
}

/// The NATS users and permissions shipped in deploy/nats/auth.conf: each hall's hubs, with their
/// own user, keep their journal (including compaction), report and answer the city; the city
/// sends to both; a hall's user can neither post another hall's report, nor read another hall's
/// journal, nor listen to the city's replies; a hub without a password is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_nats_permissions_keep_each_hall_to_its_own_subjects() {
    let _turn = super::super::one_load_test_at_a_time();
    let password = |_| papan::random_id::random_id("pw");
    let users = [
        ("city", "PAPAN_CITY_PASSWORD"),
        ("hall-mpp-palembang", "PAPAN_HALL_MPP_PALEMBANG_PASSWORD"),
        ("hall-kec-ilir-barat", "PAPAN_HALL_KEC_ILIR_BARAT_PASSWORD"),
    ];
    let passwords: Vec<(String, String)> =
        users.iter().map(|(_, var)| (var.to_string(), password(var))).collect();
    let nats = NatsServer::start_with_auth(passwords.clone());
    let host = nats.url.trim_start_matches("nats://").to_string();
    let url_of = |user: usize| format!("nats://{}:{}@{host}", users[user].0, passwords[user].1);

    let dir = tempfile::tempdir().unwrap();
    let mut config = loopback_config();
    // Compaction (a snapshot, a purge) every few events: the hub's user must be allowed it.
    config.limits.journal_keep = 2;
    let journal = |user: usize, hall: &str| papan::hub::jetstream::JetStreamOptions {
        servers: url_of(user),
        hall_id: hall.into(),
        replicas: 1,
    };
    let palembang =
        hub::start(shared_hub_options(journal(1, PALEMBANG), &config, &dir.path().join("p"))).await.unwrap();
    let kecamatan =
        hub::start(shared_hub_options(journal(2, KECAMATAN), &config, &dir.path().join("k"))).await.unwrap();
    // A second hub of the MPP, with the same user, follows the first's events on the stream.
    let palembang_b =
        hub::start(shared_hub_options(journal(1, PALEMBANG), &config, &dir.path().join("p2"))).await.unwrap();
    let mut screen_b =
        Session::connect(&client(palembang_b.ws_url(), &config, Role::Display, "lobby-b"), 0).await.unwrap();
    let city_data = tempfile::tempdir().unwrap();
    let (city, token) = start_city(&url_of(0), city_data.path()).await;

    let mut staff =
        Session::connect(&client(palembang.ws_url(), &config, Role::Staff, "staff"), 0).await.unwrap();
    let mut last = 0;
    for n in 1..=8 {
        last = staff.command(&format!("perm-{n}"), call(&format!("A-{n}"), 1)).await.unwrap().seq;
    }
    let seen = events_until(&mut screen_b, last).await;
    assert_eq!(seen.last().map(|(seq, _)| *seq), Some(last), "hub B followed hub A's calls");
    let hall_user =
        async_nats::ConnectOptions::with_user_and_password(users[1].0.into(), passwords[1].1.clone())
            .custom_inbox_prefix("_INBOX_mpp-palembang")
            .connect(host.as_str())
            .await
            .unwrap();
    let mut stream = async_nats::jetstream::new(hall_user).get_stream("PAPAN_MPP_PALEMBANG").await.unwrap();
    let first = stream.info().await.unwrap().state.first_sequence;
    assert!(first > 1, "the journal was compacted (snapshot stored, old events purged): first seq {first}");
    wait_for_halls(&city, &token, Duration::from_secs(10), |halls| {
        hall(halls, PALEMBANG)["seq"] == last && hall(halls, KECAMATAN)["online"] == true
    })
    .await;
    let (status, sent) = post(&city, &token, "/api/ticker", json!({"text": "Dengan izin NATS"})).await;
    assert_eq!(status, 200, "the city reaches both halls and hears their answers: {sent:#}");

    // The kecamatan's user, misused: each attempt is refused by the server.
    let rogue = async_nats::ConnectOptions::with_user_and_password(users[2].0.into(), passwords[2].1.clone())
        .custom_inbox_prefix("_INBOX_kec-ilir-barat")
        .connect(host.as_str())
        .await
        .unwrap();
    let report = json!({"hall_id": PALEMBANG, "hall_name": "Dibajak", "hub": "rogue:1", "version": "x",
        "seq": u64::MAX, "ticker": null, "recent": [], "screens": [], "phrases": []});
    rogue
        .publish(city_link::report_subject(PALEMBANG), serde_json::to_vec(&report).unwrap().into())
        .await
        .unwrap();
    rogue.flush().await.unwrap();
    // The server drops the request: no answer comes (2 s is plenty on loopback).
    let mut rogue_jetstream = async_nats::jetstream::new(rogue.clone());
    rogue_jetstream.set_timeout(Duration::from_secs(2));
    let other_journal = rogue_jetstream.get_stream("PAPAN_MPP_PALEMBANG").await;
    assert!(other_journal.is_err(), "another hall's journal is out of reach");
    let mut snooping = rogue.subscribe("_INBOX_city.>").await.unwrap();
    let (status, _) = post(&city, &token, "/api/ticker", json!({"text": "Hanya untuk kota"})).await;
    assert_eq!(status, 200);
    let snooped =
        tokio::time::timeout(Duration::from_secs(1), futures_util::StreamExt::next(&mut snooping)).await;
    assert!(!matches!(snooped, Ok(Some(_))), "the city's replies are not for a hall's user");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let listed = wait_for_halls(&city, &token, Duration::from_secs(5), |_| true).await;
    assert_eq!(
        hall(&listed, PALEMBANG)["name"],
        Hall::builtin().name,
        "the rogue report never reached the city"
    );

    let anonymous = papan::hub::jetstream::JetStreamOptions {
        servers: nats.url.clone(),
        hall_id: PALEMBANG.into(),
        replicas: 1,
    };
    let refused = hub::start(shared_hub_options(anonymous, &config, &dir.path().join("x")))
        .await
        .err()
        .expect("no password, no hub");
    println!("a hub without NATS credentials: {refused:#}");

    city.stop().await.unwrap();
    for hub in [palembang, palembang_b, kecamatan] {
        hub.stop().await.unwrap();
    }
}
