//! The staff console where calls used to be lost without a word: two consoles picking their
//! command ids at the same moment, a pulled cable that TCP does not notice, a shared counter PC
//! signing out; and what a browser may not do to the hub (frame its pages, open its WebSocket
//! from another site). Headless Chromium against a real hub.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::proxy::{Link, Proxy};
use super::{browser, get_json, start_hub};

/// Signs a console in at counter 1 of Disdukcapil, as staff would, and waits for what they wait
/// for: "Terhubung" and the counter's desk. "Terhubung" alone comes with the welcome, before the
/// snapshot that brings the hall; a call typed in between was refused, which in CI (a busy
/// machine, a snapshot late by a few CDP round trips) once made A-6 look lost.
async fn open_console(browser: &mut browser::Browser, base: &str, staff: &str) {
    browser.open(&format!("{base}/")).await;
    let setup = format!(
        "localStorage.setItem('papan.token', {staff:?}); localStorage.setItem('papan.counter', 'disdukcapil/1'); true"
    );
    browser.eval(&setup).await;
    browser.open(&format!("{base}/")).await;
    browser
        .wait_for(
            "document.getElementById('link').innerText === 'Terhubung' && !document.getElementById('desk').hidden",
        )
        .await;
}

/// Calls `ticket` from the console's own form.
async fn call_from_form(browser: &mut browser::Browser, ticket: &str) {
    let script = format!(
        "document.getElementById('ticket').value = {ticket:?}; document.getElementById('call-form').requestSubmit(); true"
    );
    browser.eval(&script).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_a_pulled_cable_and_signing_out_lose_no_call() {
    let _turn = super::one_load_test_at_a_time();
    let t = start_hub(|_| {}).await;
    let proxy = Proxy::start(t.hub.addr).await;
    let base = format!("http://{}", proxy.addr);
    let mut browser = browser::Browser::start(1280, 900).await;

    // Two consoles, whose clocks read the same millisecond when they call: with ids made of the
    // time and a per-page counter both sent the same id, and the second call never happened.
    open_console(&mut browser, &base, &t.staff).await;
    let first = browser.open_tab(1280, 900).await;
    open_console(&mut browser, &base, &t.staff).await;
    let second = browser.switch_to(first);
    let same_moment = "Date.now = () => 1764720000000; true";
    browser.eval(same_moment).await;
    call_from_form(&mut browser, "A-5").await;
    let first = browser.switch_to(second);
    browser.eval(same_moment).await;
    call_from_form(&mut browser, "A-6").await;
    browser.wait_for("document.getElementById('message').innerText.includes('A-006')").await;
    let second = browser.switch_to(first);
    browser.wait_for("document.getElementById('message').innerText.includes('A-005')").await;
    let state = get_json(format!("{}/api/state", t.hub.http_url()), Some(&t.staff)).await;
    let called: Vec<&str> =
        state["board"]["recent"].as_array().unwrap().iter().map(|r| r["ticket"].as_str().unwrap()).collect();
    assert_eq!(called, ["A-006", "A-005"], "both consoles' calls happened: {state}");

    // "Ganti loket" in one tab forgets the counter for every tab of the browser: the other tab's
    // call is refused in words, not dropped without a trace (and not sent: #next below gets A-007).
    browser.click("#change-counter").await;
    let first = browser.switch_to(second);
    call_from_form(&mut browser, "A-7").await;
    browser.wait_for("document.getElementById('message').innerText.includes('belum bisa')").await;
    assert!(browser.text("message").await.contains("Muat ulang halaman lalu pilih loket"));
    browser.eval("localStorage.setItem('papan.counter', 'disdukcapil/1'); true").await;
    let second = browser.switch_to(first);

    // The cable is pulled: nothing closes, nothing arrives. The console says so within its
    // silence limit (8 s, checked every second) and is back once the cable is.
    browser.open(&format!("{base}/")).await;
    browser.wait_for("document.getElementById('link').innerText === 'Terhubung'").await;
    proxy.set(Link::Cut);
    let cut = Instant::now();
    browser.wait_for("document.getElementById('link').innerText.includes('Terputus')").await;
    let noticed = cut.elapsed();
    assert_eq!(browser.eval("document.getElementById('next').disabled").await, json!(true));
    proxy.set(Link::Up);
    let back = browser.wait_for("document.getElementById('link').innerText === 'Terhubung'").await;
    println!(
        "pulled cable: the console said 'Terputus' after {noticed:?}, 'Terhubung' {back:?} after the cable was back"
    );
    assert!(
        noticed >= Duration::from_secs(7) && noticed < Duration::from_secs(10),
        "noticed after {noticed:?}"
    );
    browser.click("#next").await;
    browser.wait_for("document.getElementById('serving').innerText === 'A-007'").await;

    // Every page is sent with a policy that lets only its own files run and no site frame it.
    let page = papan::tls::http_client().get(format!("{base}/screens")).send().await.unwrap();
    let policy = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");

    // A shared counter PC: "Keluar" on the fleet page forgets the token on this browser.
    browser.switch_to(second);
    browser.open(&format!("{base}/screens")).await;
    browser.wait_for("!document.getElementById('fleet').hidden").await;
    // A screen's report with numbers missing (as an fps of 1e39 used to be saved: null) is shown
    // as "—", not a broken page.
    let shown = browser
        .eval("row({screen: 'x', online: true, connections: 1, peer: '', status: {fps: null, rss: null, last_seq: null}}).innerText")
        .await;
    assert!(shown.as_str().is_some_and(|row| row.contains('—') && !row.contains("NaN")), "{shown}");
    browser.click("#logout").await;
    browser.wait_for("!document.getElementById('login').hidden").await;
    assert_eq!(browser.eval("localStorage.getItem('papan.token')").await, Value::Null);

    // Another site open in a counter PC's browser cannot use it to reach the hub's WebSocket.
    let mut foreign = t.hub.ws_url().into_client_request().unwrap();
    foreign.headers_mut().insert("origin", "http://evil.example".parse().unwrap());
    let Err(refused) = tokio_tungstenite::connect_async(foreign).await else {
        panic!("a foreign page is refused")
    };
    assert!(refused.to_string().contains("403"), "{refused}");
    let mut own = t.hub.ws_url().into_client_request().unwrap();
    own.headers_mut().insert("origin", t.hub.http_url().parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(own).await.expect("the hub's own page may");
    drop(ws);
    t.hub.stop().await.unwrap();
}

/// A counter working a queue from the console: how many wait, the next ticket (F2), a citizen
/// who does not come (Tidak hadir → Terlewat), the next served and finished (F4), and the missed
/// ticket called again from the list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_works_its_queue_from_the_console() {
    let _turn = super::one_load_test_at_a_time();
    use papan::protocol::{Command, IssueCommand, Role};
    let t = start_hub(|_| {}).await;
    let mut kiosk = papan::client::Session::connect(&t.options(Role::Kiosk), 0).await.unwrap();
    for i in 0..3 {
        let issue = IssueCommand {
            agency: "disdukcapil".into(),
            ticket: None,
            letter: None,
            service: None,
            priority: None,
        };
        kiosk.command(&format!("k{i}"), Command::Issue(issue)).await.unwrap();
    }
    let base = t.hub.http_url();
    let mut browser = browser::Browser::start(1280, 900).await;
    open_console(&mut browser, &base, &t.staff).await;
    let text = |id: &str| format!("document.getElementById('{id}').innerText");
    browser.wait_for(&format!("{} === '3'", text("waiting"))).await;
    assert!(browser.text("band").await.contains("—"), "no band before the day has services");

    browser.press("F2", 113).await;
    browser.wait_for(&format!("{} === 'A-001'", text("serving"))).await;
    browser.wait_for(&format!("{} === '2'", text("waiting"))).await;
    browser.click("#no-show").await;
    browser.wait_for(&format!("{}.includes('A-001')", text("missed"))).await;
    browser.wait_for(&format!("{} === 'Tidak hadir'", text("elapsed"))).await;

    browser.press("F2", 113).await;
    browser.wait_for(&format!("{} === 'A-002'", text("serving"))).await;
    browser.wait_for(&format!("{}.includes('dilayani')", text("elapsed"))).await;
    browser.press("F4", 115).await;
    browser.wait_for(&format!("{} === 'Selesai'", text("elapsed"))).await;

    browser.click("#missed button").await;
    browser.wait_for(&format!("{} === 'A-001'", text("serving"))).await;
    browser.wait_for(&format!("{}.includes('Tidak ada')", text("missed"))).await;
    browser.press("F2", 113).await;
    browser.wait_for(&format!("{} === 'A-003'", text("serving"))).await;
    browser.press("F2", 113).await;
    browser.wait_for(&format!("{}.includes('Tidak ada nomor antrean yang menunggu')", text("message"))).await;
    browser.wait_for(&format!("{} === '0'", text("waiting"))).await;
    // The four buttons sit side by side, none cut by the next.
    let overlap = browser
        .eval("(() => { const r = ['next','recall','done','no-show'].map((id) => document.getElementById(id).getBoundingClientRect()); return r.some((a, i) => i > 0 && a.left < r[i - 1].right) || r[3].right > window.innerWidth; })()")
        .await;
    assert_eq!(overlap, json!(false), "the console's buttons overlap or run off the page");
    if std::env::var_os("PAPAN_KEEP_PROOF").is_some() {
        browser.screenshot(&std::env::temp_dir().join("console-queue.png")).await;
    }

    let waiting = get_json(format!("{base}/api/waiting"), Some(&t.staff)).await;
    let counts = &waiting["agencies"][0]["counts"];
    assert_eq!((counts["issued"].as_u64(), counts["called"].as_u64()), (Some(3), Some(3)), "{waiting}");
    // A-002 finished with F4; A-001, called again, ended when A-003 was called at the counter.
    assert_eq!((counts["served"].as_u64(), counts["no_shows"].as_u64()), (Some(2), Some(1)), "{waiting}");
    t.hub.stop().await.unwrap();
}

/// The ticket kiosk (`/ambil`) as a citizen meets it: a button per agency, a priority choice, a
/// tap → the number shown big with the people ahead and the band, and a receipt printed from the
/// browser: the PDF holds the ticket and its QR code decodes to the ticket's phone page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticket_kiosk_hands_out_a_number_and_prints_its_receipt() {
    let _turn = super::one_load_test_at_a_time();
    let t = start_hub(|_| {}).await;
    let base = t.hub.http_url();
    let mut browser = browser::Browser::start(1280, 1024).await;
    browser.open(&format!("{base}/ambil")).await;
    browser.eval(&format!("localStorage.setItem('papan.token', {:?}); true", t.kiosk)).await;
    browser.open(&format!("{base}/ambil")).await;
    browser.wait_for("document.querySelectorAll('#agencies button').length === 28").await;
    // Grouped as the hall file says, so a citizen finds "Samsat" under vehicles and taxes.
    assert_eq!(browser.eval("document.querySelectorAll('#agencies .group h2').length").await, json!(7));
    let banks = browser
        .eval("[...document.querySelectorAll('#agencies .group')].find((g) => g.querySelector('h2').innerText === 'Perbankan dan Keuangan').innerText")
        .await;
    assert!(banks.as_str().is_some_and(|t| t.contains("BNI") && t.contains("Pegadaian")), "{banks}");
    let dir = tempfile::tempdir().unwrap();
    if std::env::var_os("PAPAN_KEEP_PROOF").is_some() {
        browser.screenshot(&std::env::temp_dir().join("ambil-choose.png")).await;
    }

    // The page prints each ticket itself (a kiosk browser prints silently to its receipt
    // printer); here the test counts the requests and prints through DevTools instead.
    browser.eval("window.printed = 0; window.print = () => { window.printed += 1; }; true").await;
    browser.click(".kind[data-kind='lansia']").await;
    browser.click("#agencies button[data-agency='disdukcapil']").await;
    browser.wait_for("document.getElementById('r-ticket').innerText === 'A-001'").await;
    assert!(browser.text("r-priority").await.contains("PRIORITAS"));
    assert_eq!(browser.text("r-ahead").await, "Tidak ada antrean di depan Anda");
    assert_eq!(browser.text("r-estimate").await, "Perkiraan waktu tunggu belum tersedia");
    browser.wait_for("!!document.querySelector('#r-qr svg')").await;
    browser.wait_for("window.printed === 1").await;
    if std::env::var_os("PAPAN_KEEP_PROOF").is_some() {
        browser.screenshot(&std::env::temp_dir().join("ambil-ticket.png")).await;
    }
    let phone = browser.eval("document.getElementById('r-qr').dataset.url").await;
    let phone = phone.as_str().unwrap().to_string();
    assert!(phone.starts_with(&base) && phone.ends_with("/A-001"), "{phone}");

    // The receipt as the browser prints it: its text, and its QR code read back from the page.
    let pdf = dir.path().join("receipt.pdf");
    browser.print_pdf(&pdf).await;
    let text = std::process::Command::new("pdftotext").arg(&pdf).arg("-").output().unwrap();
    // Words as printed, whatever the lines the narrow paper breaks them into.
    let text = String::from_utf8_lossy(&text.stdout).split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in ["A-001", "Dinas Kependudukan dan Pencatatan Sipil", "PRIORITAS", "Mal Pelayanan Publik"]
    {
        assert!(text.contains(expected), "the receipt says {expected:?}: {text}");
    }
    assert!(!text.contains("Sentuh layanan"), "only the receipt is printed: {text}");
    let png = dir.path().join("receipt");
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "300", "-singlefile"])
        .arg(&pdf)
        .arg(&png)
        .status();
    assert!(status.unwrap().success());
    let decoded = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png.with_extension("png"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&decoded.stdout).trim(),
        phone,
        "the QR code leads to the ticket's page"
    );
    if std::env::var_os("PAPAN_KEEP_PROOF").is_some() {
        std::fs::copy(png.with_extension("png"), std::env::temp_dir().join("ambil-receipt.png")).unwrap();
    }

    // The hub has it, as a priority ticket waiting at Disdukcapil; the next one is behind it.
    browser.click("#again").await;
    browser.click("#agencies button[data-agency='disdukcapil']").await;
    browser.wait_for("document.getElementById('r-ticket').innerText === 'A-002'").await;
    assert_eq!(browser.text("r-ahead").await, "1 orang di depan Anda");
    let waiting = get_json(format!("{base}/api/waiting"), Some(&t.staff)).await;
    assert_eq!(waiting["agencies"][0]["waiting"], 2, "{waiting}");
    assert_eq!(waiting["agencies"][0]["priority_waiting"], 1, "{waiting}");
    t.hub.stop().await.unwrap();
}

/// A citizen scans the receipt's QR code: the phone page (no token) follows the ticket from
/// waiting to called (the phone vibrates and beeps, once the page was touched) to done; the
/// hall's queues show beside it; a mistyped number gets a message. The page is one small file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_follows_a_ticket_on_the_phone_page() {
    let _turn = super::one_load_test_at_a_time();
    let t = start_hub(|_| {}).await;
    let base = t.hub.http_url();
    let mut kiosk = t.session(papan::protocol::Role::Kiosk, 0).await;
    for n in 1..=2 {
        kiosk.command(&format!("issue-{n}"), super::issue("disdukcapil", None)).await.unwrap();
    }
    let page = papan::tls::http_client().get(format!("{base}/antrean/A-002")).send().await.unwrap();
    assert_eq!(page.status(), 200, "no token needed");
    let mut page = page.text().await.unwrap();
    assert!(page.contains("/antrean/app.js") && page.contains("/antrean/app.css"));
    for part in ["app.js", "app.css"] {
        let url = format!("{base}/antrean/{part}");
        let response = papan::tls::http_client().get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        page += &response.text().await.unwrap();
    }
    assert!(page.len() < 30_000, "the page is {} bytes", page.len());
    for outside in ["src=\"http", "href=\"http", "@import", "url(", "//fonts"] {
        assert!(!page.contains(outside), "the page loads nothing from elsewhere ({outside})");
    }

    let mut phone = browser::Browser::start(400, 860).await;
    phone.open(&format!("{base}/antrean/A-002")).await;
    phone.wait_for("document.getElementById('mine').className === 'mine waiting'").await;
    let mine = phone.text("mine").await;
    assert!(mine.contains("A-002") && mine.contains("1 orang di depan Anda"), "{mine}");
    let listed = phone.text("agencies").await;
    assert!(
        listed.contains("Dinas Kependudukan dan Pencatatan Sipil") && listed.contains("Menunggu 2 orang"),
        "{listed}"
    );
    assert_eq!(phone.eval("localStorage.length").await, json!(0), "nothing stored, no token asked");
    // The phone records its vibrations and tones; a finger touches the page once.
    phone
        .eval("window.vibrated = []; navigator.vibrate = (p) => { window.vibrated.push(p); return true; }; true")
        .await;
    phone.tap("header").await;
    phone.wait_for("audio !== null").await;
    phone
        .eval("window.tones = 0; const make = audio.createOscillator.bind(audio); audio.createOscillator = () => { window.tones++; return make(); }; true")
        .await;

    let mut staff = t.session(papan::protocol::Role::Staff, 0).await;
    assert_eq!(super::called(&mut staff, "next-1", super::next_at(1)).await, "A-001");
    phone.wait_for("document.getElementById('mine').innerText.includes('Anda berikutnya')").await;
    assert_eq!(phone.eval("window.papanAlerts").await, json!(0), "another ticket's call is no alarm");
    assert_eq!(super::called(&mut staff, "next-2", super::next_at(3)).await, "A-002");
    phone.wait_for("document.getElementById('mine').className === 'mine called'").await;
    assert!(phone.text("mine").await.contains("Silakan menuju Loket 3"));
    phone.wait_for("window.tones === 2").await;
    assert_eq!(phone.eval("[window.papanAlerts, window.vibrated.length]").await, json!([1, 1]));
    let listed = phone.text("agencies").await;
    assert!(listed.contains("A-002 · Loket 3") && listed.contains("A-001 · Loket 1"), "{listed}");
    if std::env::var_os("PAPAN_KEEP_PROOF").is_some() {
        phone.screenshot(&std::env::temp_dir().join("antrean-called.png")).await;
    }
    let done = papan::protocol::Command::Done(papan::protocol::CounterCommand { counter: 3, agency: None });
    staff.command("done-2", done).await.unwrap();
    phone.wait_for("document.getElementById('mine').className === 'mine done'").await;
    assert!(phone.text("mine").await.contains("Selesai dilayani"));
    assert_eq!(phone.eval("window.papanAlerts").await, json!(1), "called once, alarmed once");

    // Served: the page asks once how it went. Nothing is sent before an answer is chosen.
    // Seen, not only present: a style may not show what the page hides or hide what it shows.
    let survey_shown = "document.getElementById('survey').offsetParent !== null";
    phone.wait_for(survey_shown).await;
    assert!(phone.text("survey").await.contains("Bagaimana pelayanan tadi?"));
    assert_eq!(phone.eval("document.getElementById('send').disabled").await, json!(true));
    phone.tap("[data-rating='baik']").await;
    phone.fill("comment", "Cepat, petugas ramah").await;
    phone.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("antrean-survey.png")).await;
    phone.tap("#send").await;
    phone
        .wait_for("document.getElementById('thanks').innerText.includes('Terima kasih atas penilaian Anda')")
        .await;
    assert_eq!(phone.eval(survey_shown).await, json!(false));
    // Followed again on this phone: not asked again.
    phone.eval("document.getElementById('ticket').value = 'A-2'; document.getElementById('follow').requestSubmit(); true").await;
    phone.wait_for("document.getElementById('mine').className === 'mine done'").await;
    assert_eq!(phone.eval(survey_shown).await, json!(false), "asked once");
    // Another phone (nothing remembered) answers the same ticket: the hub refuses, kindly.
    phone
        .eval(
            "localStorage.removeItem('papan.rated'); document.getElementById('follow').requestSubmit(); true",
        )
        .await;
    phone.wait_for(survey_shown).await;
    phone.tap("[data-rating='tidak_baik']").await;
    phone.tap("#send").await;
    phone.wait_for("document.getElementById('thanks').innerText.includes('sudah kami terima')").await;
    assert_eq!(phone.eval(survey_shown).await, json!(false), "refused: the question goes");
    let again = papan::tls::http_client()
        .post(format!("{base}/antrean/penilaian"))
        .body(r#"{"ticket":"A-002","rating":"sangat_baik"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "refused a second time");

    // Staff read the day's report: one answer, "baik" (3 × 25 = 75, C). In a tab of the same
    // browser (a second Chromium's cold start costs seconds).
    let phone_tab = phone.open_tab(1280, 1400).await;
    phone.open(&format!("{base}/laporan")).await;
    phone.eval(&format!("localStorage.setItem('papan.token', {:?}); location.reload(); true", t.staff)).await;
    phone.wait_for("document.querySelector('tr[data-agency=disdukcapil]') !== null").await;
    let row = phone.eval("document.querySelector('tr[data-agency=disdukcapil]').innerText").await;
    let cells: Vec<&str> = row.as_str().unwrap().split('\t').map(str::trim).collect();
    assert_eq!(cells[..5], ["Disdukcapil", "2", "1", "0", "0"], "{row}");
    assert_eq!(cells[11], "75 C (1)", "{row}");
    let comments = phone.text("comments").await;
    assert!(
        comments.contains("Disdukcapil · Baik") && comments.contains("Cepat, petugas ramah"),
        "{comments}"
    );
    phone.wait_for("document.getElementById('chart-hours').naturalWidth > 0 && document.getElementById('chart-waits').naturalWidth > 0").await;
    phone.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("laporan.png")).await;
    phone.switch_to(phone_tab);

    // The agencies' service standards, on demand: the shipped ones say they are examples.
    let standards = get_json(format!("{base}/antrean/layanan"), None).await;
    let ids: Vec<&str> =
        standards["agencies"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["samsat", "disdukcapil"], "hall order, only agencies with standards");
    phone.eval("document.getElementById('show-standards').scrollIntoView(); true").await;
    phone.tap("#show-standards").await;
    phone.wait_for("document.getElementById('standards').innerText.includes('Kependudukan')").await;
    phone.eval("document.querySelectorAll('#standards details').forEach((d) => d.open = true); true").await;
    let shown = phone.text("standards").await;
    for words in [
        "Perekaman KTP-el",
        "CONTOH",
        "Persyaratan",
        "Kartu Keluarga",
        "Jangka waktu: Selesai di tempat",
        "Biaya: Gratis",
    ] {
        assert!(shown.contains(words), "{words:?} not in {shown}");
    }
    phone.screenshot(&Path::new(env!("CARGO_TARGET_TMPDIR")).join("antrean-standards.png")).await;

    // Typed numbers: a sloppy one is understood, a wrong one is explained.
    phone.eval("document.getElementById('ticket').value = 'a 1'; document.getElementById('follow').requestSubmit(); true").await;
    phone.wait_for("location.pathname.endsWith('/antrean/A-001')").await;
    phone.wait_for("document.getElementById('mine').innerText.includes('Loket 1')").await;
    phone.eval("document.getElementById('ticket').value = 'loket'; document.getElementById('follow').requestSubmit(); true").await;
    phone.wait_for("document.getElementById('mine').innerText.includes('Tulis nomor seperti A-124')").await;
    t.hub.stop().await.unwrap();
}
