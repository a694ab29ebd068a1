//! The hall screen rendered for real (bevy → wgpu → Vulkan; lavapipe under Xvfb in CI): a hub with
//! scripted calls, `papan display --screenshot` at several sizes, and checks on the pixels.

mod common;

use std::path::Path;
use std::process::Command;

use papan::client::{ClientOptions, Session};
use papan::display::LEAN_PASSES_LOG;
use papan::hall::{Hall, parse_colour};
use papan::hub::config::HubConfig;
use papan::hub::{self, HubOptions};
use papan::layout::{Layout, hero_boxes, panel_cells, region_rect};
use papan::protocol::{CallCommand, Command as HubCommand, Role, TickerCommand};

type Image = image::RgbImage;

fn screenshot(hub_url: &str, token: &str, layout: &str, size: (u32, u32), out: &Path, cache: &Path) -> Image {
    screenshot_with(hub_url, token, layout, size, out, cache, &[])
}

/// `papan display --screenshot` with `extra` arguments, as the screen `test-screen`.
fn screenshot_with(
    hub_url: &str,
    token: &str,
    layout: &str,
    size: (u32, u32),
    out: &Path,
    cache: &Path,
    extra: &[&str],
) -> Image {
    let status = Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["display", "--layout", layout, "--windowed", &format!("{}x{}", size.0, size.1)])
        .args(["--hub", hub_url, "--token", token, "--screen", "test-screen", "--after-ms", "800"])
        .arg("--screenshot")
        .arg(out)
        .arg("--cache")
        .arg(cache)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "papan display exited with {status}");
    let image = image::open(out).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), size, "{layout}");
    image
}

/// Share of pixels in `rect` (fractions of the image) close to `colour`.
fn share_near(image: &Image, rect: papan::layout::Rect, colour: (u8, u8, u8)) -> f32 {
    let (mut near, mut all) = (0u32, 0u32);
    for y in rect.y as u32..(rect.y + rect.h) as u32 {
        for x in rect.x as u32..(rect.x + rect.w) as u32 {
            let p = image.get_pixel(x.min(image.width() - 1), y.min(image.height() - 1));
            let d = |a: u8, b: u8| (i32::from(a) - i32::from(b)).abs();
            if d(p[0], colour.0) + d(p[1], colour.1) + d(p[2], colour.2) < 30 {
                near += 1;
            }
            all += 1;
        }
    }
    near as f32 / all.max(1) as f32
}

/// A hub with the built-in hall: (hub, staff token, display token, its folder).
async fn start_hub() -> (hub::RunningHub, String, String, tempfile::TempDir) {
    start_hub_with(Hall::builtin()).await
}

/// A hub with this hall: (hub, staff token, display token, its folder).
async fn start_hub_with(hall: Hall) -> (hub::RunningHub, String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = HubConfig::generate();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let (staff, display) = (
        config.token_for(Role::Staff).unwrap().to_string(),
        config.token_for(Role::Display).unwrap().to_string(),
    );
    let options = HubOptions {
        config,
        data_dir: dir.path().join("hub"),
        hall,
        clock: hub::core::system_clock(),
        shared_journal: None,
    };
    (hub::start(options).await.unwrap(), staff, display, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hall_screens_show_the_calls_at_every_size() {
    let (running, staff, display, dir) = start_hub().await;
    let hall = Hall::builtin();
    let mut session = staff_session(&running, &staff).await;
    let calls = [("B-17", 5), ("G-204", 13), ("A-123", 2)];
    for (i, (ticket, counter)) in calls.iter().enumerate() {
        let call =
            CallCommand { ticket: ticket.parse().unwrap(), counter: *counter, agency: None, service: None };
        session.command(&format!("c{i}"), HubCommand::Call(call)).await.unwrap();
    }
    let ticker = TickerCommand { text: "Selamat datang di Mal Pelayanan Publik Kota Palembang".into() };
    session.command("t", HubCommand::Ticker(ticker)).await.unwrap();

    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    let cases = [
        ("hall-landscape", (1920, 1080)),
        ("hall-landscape", (1366, 768)),
        ("hall-landscape", (3840, 2160)),
        ("agency-wall", (1920, 1080)),
        ("counter-portrait", (1080, 1920)),
    ];
    for (name, size) in cases {
        let out = dir.path().join(format!("{name}-{}x{}.png", size.0, size.1));
        let url = running.ws_url();
        let (token, cache) = (display.clone(), dir.path().join(format!("cache-{name}-{}", size.0)));
        let out2 = out.clone();
        let image = tokio::task::spawn_blocking(move || screenshot(&url, &token, name, size, &out2, &cache))
            .await
            .unwrap();
        let layout = Layout::builtin(name).unwrap();
        let (w, h) = (size.0 as f32, size.1 as f32);
        let background = parse_colour(&layout.background).unwrap();
        for region in &layout.regions {
            let area = region_rect(region, w, h);
            match region.widget {
                papan::layout::WidgetKind::NowCalling => {
                    // The newest call of the region's agencies fills the hero with its colour,
                    // and its ticket is drawn in white on it.
                    let agency = match &region.agencies {
                        Some(ids) => hall.agency(&ids[0]).unwrap(),
                        None => hall.agency("disdukcapil").unwrap(),
                    };
                    let hero = hero_boxes(area);
                    let colour = parse_colour(&agency.colour).unwrap();
                    assert!(
                        share_near(&image, hero.counter, colour) > 0.3,
                        "{name} {size:?}: hero in agency colour"
                    );
                    let white = share_near(&image, hero.ticket, (255, 255, 255));
                    assert!(
                        white > 0.05 && white < 0.8,
                        "{name} {size:?}: ticket text in the hero ({white})"
                    );
                }
                papan::layout::WidgetKind::AgencyPanels => {
                    // Called agencies' panels are in their colour; the others are not.
                    let agencies = papan::layout::region_agencies(region, &hall);
                    let cells = panel_cells(area, agencies.len(), region.columns);
                    for (agency, cell) in agencies.iter().zip(cells) {
                        let colour = parse_colour(&agency.colour).unwrap();
                        let called = ["bni", "bpjs-kesehatan", "disdukcapil"].contains(&agency.id.as_str());
                        let share = share_near(&image, cell.part(0.1, 0.1, 0.8, 0.8), colour);
                        assert_eq!(share > 0.3, called, "{name} {size:?}: panel of {} ({share})", agency.id);
                    }
                }
                // Without tickets handed out through papan these stay empty, by design.
                papan::layout::WidgetKind::Queue | papan::layout::WidgetKind::Missed => {}
                _ => {
                    let share = share_near(&image, area, background);
                    assert!(share < 0.98, "{name} {size:?}: region {} shows something", region.widget.name());
                }
            }
        }
        // PAPAN_UPDATE_DOCS=1 refreshes the README's screenshot; otherwise tests leave docs/ alone.
        if name == "hall-landscape" && size == (1920, 1080) && std::env::var_os("PAPAN_UPDATE_DOCS").is_some()
        {
            std::fs::copy(&out, docs.join("hall-landscape-1920x1080.png")).unwrap();
        }
    }
    running.stop().await.unwrap();
}

/// A text and its box, as `papan display --text-proof` saves them beside the screenshot.
#[derive(serde::Deserialize, Debug)]
struct ProofBox {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    text: String,
}

/// The board drawn as its texts alone (white on black, not clipped) and their boxes.
fn text_proof(
    hub_url: &str,
    token: &str,
    layout: &str,
    size: (u32, u32),
    out: &Path,
) -> (Image, Vec<ProofBox>) {
    let image =
        screenshot_with(hub_url, token, layout, size, out, &out.with_extension("cache"), &["--text-proof"]);
    let boxes_path = format!("{}.boxes.json", out.display());
    let boxes = serde_json::from_slice(&std::fs::read(&boxes_path).unwrap()).unwrap();
    (image, boxes)
}

/// Lit pixels outside every box (a pixel of anti-aliasing beyond an edge allowed), and each
/// box's count of lit pixels.
fn ink_outside_boxes(image: &Image, boxes: &[ProofBox]) -> (Vec<(u32, u32)>, Vec<u32>) {
    let mut outside = Vec::new();
    let mut inside = vec![0u32; boxes.len()];
    for (x, y, p) in image.enumerate_pixels() {
        if p.0.iter().all(|&c| c < 48) {
            continue;
        }
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        let mut seen = false;
        for (i, b) in boxes.iter().enumerate() {
            if fx >= b.x - 1.0 && fx <= b.x + b.w + 1.0 && fy >= b.y - 1.0 && fy <= b.y + b.h + 1.0 {
                inside[i] += 1;
                seen = true;
            }
        }
        if !seen {
            outside.push((x, y));
        }
    }
    (outside, inside)
}

/// Every text the screens show (the hall's longest agency names in the hero and the history, a
/// long ticker, the clock) stays inside the box it was fitted to, checked by pixels at the sizes
/// halls use. The proof draws texts unclipped, so a text measured narrower than it is drawn
/// would show outside its box; a text too long for any size must show too (the control).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fitted_texts_stay_inside_their_boxes_at_every_screen_size() {
    let (running, staff, display, dir) = start_hub().await;
    let mut session = staff_session(&running, &staff).await;
    // The longest names of MPP Palembang last, so they are in the hero and at the top of history.
    let calls = [("A-123", 2), ("R-88", 28), ("U-105", 34), ("V-7", 36), ("W-12", 38)];
    for (i, (ticket, counter)) in calls.iter().enumerate() {
        let call =
            CallCommand { ticket: ticket.parse().unwrap(), counter: *counter, agency: None, service: None };
        session.command(&format!("c{i}"), HubCommand::Call(call)).await.unwrap();
    }
    let ticker = "Pelayanan Kementerian Agraria dan Tata Ruang / Badan Pertanahan Nasional dan Dinas \
        Penanaman Modal dan Pelayanan Terpadu Satu Pintu Provinsi buka Senin sampai Jumat pukul 08.00–15.00 WIB";
    session.command("t", HubCommand::Ticker(TickerCommand { text: ticker.into() })).await.unwrap();

    // The portrait screen of the agency with the longest name (a local copy of the shipped layout).
    let portrait = dir.path().join("dpmptsp-portrait.toml");
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/layouts/counter-portrait.toml"),
    )
    .unwrap();
    std::fs::write(&portrait, shipped.replace("\"disdukcapil\"", "\"dpmptsp-prov\"")).unwrap();
    let portrait = portrait.display().to_string();

    let cases = [
        ("hall-landscape", (1366, 768)),
        ("hall-landscape", (1920, 1080)),
        ("agency-wall", (1366, 768)),
        ("agency-wall", (1920, 1080)),
        (portrait.as_str(), (1080, 1920)),
    ];
    for (layout, size) in cases {
        let name = Path::new(layout).file_stem().unwrap().to_string_lossy().to_string();
        let out = dir.path().join(format!("proof-{name}-{}x{}.png", size.0, size.1));
        let (url, token, layout_arg, out2) =
            (running.ws_url(), display.clone(), layout.to_string(), out.clone());
        let (image, boxes) =
            tokio::task::spawn_blocking(move || text_proof(&url, &token, &layout_arg, size, &out2))
                .await
                .unwrap();
        assert!(boxes.len() >= 10, "{name} {size:?}: {} texts", boxes.len());
        for long in ["Dinas Penanaman Modal", "Loket 38"] {
            assert!(
                boxes.iter().any(|b| b.text.replace('\n', " ").to_lowercase().contains(&long.to_lowercase())),
                "{name} {size:?}: {long} is shown"
            );
        }
        let (outside, inside) = ink_outside_boxes(&image, &boxes);
        if std::env::var_os("PAPAN_KEEP_PROOF").is_some() {
            std::fs::copy(&out, std::env::temp_dir().join(out.file_name().unwrap())).unwrap();
        }
        assert!(
            outside.is_empty(),
            "{name} {size:?}: {} lit pixels outside every text box, first at {:?}; {}",
            outside.len(),
            outside[0],
            out.display()
        );
        for (b, ink) in boxes.iter().zip(&inside) {
            if !b.text.trim().is_empty() {
                assert!(*ink > 0, "{name} {size:?}: {:?} was not drawn", b.text);
            }
        }
    }

    running.stop().await.unwrap();

    // The control: an agency name that is one word longer than the hero's line cannot fit at any
    // size; drawn unclipped it shows outside its box, and the check above sees it.
    let mut hall = Hall::builtin();
    let agency = hall.agencies.iter_mut().find(|a| a.id == "dpmptsp-prov").unwrap();
    agency.name = "PelayananTerpadu".repeat(12);
    let (running, staff, display, dir) = start_hub_with(hall).await;
    let mut session = staff_session(&running, &staff).await;
    let call = CallCommand { ticket: "W-12".parse().unwrap(), counter: 38, agency: None, service: None };
    session.command("c", HubCommand::Call(call)).await.unwrap();
    let out = dir.path().join("proof-control.png");
    let (url, token, out2) = (running.ws_url(), display.clone(), out.clone());
    let (image, boxes) =
        tokio::task::spawn_blocking(move || text_proof(&url, &token, "hall-landscape", (1366, 768), &out2))
            .await
            .unwrap();
    let (outside, _) = ink_outside_boxes(&image, &boxes);
    assert!(outside.len() > 100, "the uncut name shows outside its box ({} pixels)", outside.len());
    running.stop().await.unwrap();
}

/// A hall that hands out tickets through papan: every agency panel gets a queue line ("Menunggu 3")
/// where tickets wait, a priority ticket called says ANTREAN PRIORITAS in amber in the hero, and
/// the texts still stay in their boxes, on a landscape hall screen and a portrait counter screen;
/// the portrait screen's QR code, read off its screenshot, is the hall's phone page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_show_on_the_panels_and_a_priority_call_in_the_hero() {
    use papan::protocol::{CallNextCommand, IssueCommand, Priority};
    const PUBLIC: &str = "https://antrean.palembang.example";
    let hall = Hall { public_url: Some(PUBLIC.into()), ..Hall::builtin() };
    let (running, staff, display, dir) = start_hub_with(hall.clone()).await;
    let mut session = staff_session(&running, &staff).await;
    let issue = |agency: &str, priority| {
        HubCommand::Issue(IssueCommand {
            agency: agency.into(),
            ticket: None,
            letter: None,
            service: None,
            priority,
        })
    };
    let tickets = [
        ("disdukcapil", None),
        ("disdukcapil", None),
        ("disdukcapil", None),
        ("disdukcapil", Some(Priority::Lansia)),
        ("samsat", None),
        ("samsat", None),
        ("imigrasi", None),
    ];
    for (i, (agency, priority)) in tickets.into_iter().enumerate() {
        session.command(&format!("i{i}"), issue(agency, priority)).await.unwrap();
    }
    // The priority ticket to counter 2, the oldest to counter 3, who does not come; counter 2
    // repeats its call so the priority call is in the hero.
    let next = |counter| HubCommand::CallNext(CallNextCommand { counter, agency: None, letter: None });
    session.command("n2", next(2)).await.unwrap();
    session.command("n3", next(3)).await.unwrap();
    let missed = HubCommand::NoShow(papan::protocol::CounterCommand { counter: 3, agency: None });
    session.command("miss", missed).await.unwrap();
    let again = HubCommand::Recall(papan::protocol::RecallCommand { counter: 2, agency: None, ticket: None });
    session.command("again", again).await.unwrap();
    let queued = [("disdukcapil", 2), ("samsat", 2), ("imigrasi", 1)];
    for (name, size) in [("hall-landscape", (1920, 1080)), ("counter-portrait", (1080, 1920))] {
        let out = dir.path().join(format!("queues-{name}.png"));
        let (url, token, cache, out2) =
            (running.ws_url(), display.clone(), dir.path().join(format!("cache-q-{name}")), out.clone());
        let image = tokio::task::spawn_blocking(move || screenshot(&url, &token, name, size, &out2, &cache))
            .await
            .unwrap();
        if std::env::var_os("PAPAN_KEEP_PROOF").is_some() {
            std::fs::copy(&out, std::env::temp_dir().join(out.file_name().unwrap())).unwrap();
        }
        let layout = Layout::builtin(name).unwrap();
        let (w, h) = (size.0 as f32, size.1 as f32);
        for region in &layout.regions {
            let area = region_rect(region, w, h);
            match region.widget {
                papan::layout::WidgetKind::NowCalling => {
                    let amber = share_near(&image, hero_boxes(area).label, (255, 196, 0));
                    assert!(amber > 0.02, "{name}: the priority label is amber ({amber})");
                }
                papan::layout::WidgetKind::Queue => {
                    let white = share_near(&image, area, (255, 255, 255));
                    assert!(white > 0.01, "{name}: the queue widget shows the queue ({white})");
                }
                papan::layout::WidgetKind::Missed => {
                    let amber = share_near(&image, area, (255, 196, 0));
                    assert!(amber > 0.005, "{name}: the missed ticket is shown in amber ({amber})");
                }
                papan::layout::WidgetKind::Services => {
                    // The shipped standards are examples, and the screen says so in amber.
                    let pages =
                        papan::layout::service_pages(region, &hall, area, &papan::fit::Fitter::regular());
                    let texts = pages[0].texts(area);
                    let badge = texts.iter().find(|t| t.text == "CONTOH").expect("an example badge");
                    let amber = share_near(&image, badge.rect, (255, 196, 0));
                    assert!(amber > 0.3, "{name}: the CONTOH badge is amber ({amber})");
                    let white = share_near(&image, area, (255, 255, 255));
                    assert!(white > 0.005, "{name}: the service standard is written ({white})");
                }
                papan::layout::WidgetKind::Qr => {
                    // What a phone's camera reads off the screen: the hall's phone page.
                    let decoded =
                        std::process::Command::new("zbarimg").args(["--raw", "-q"]).arg(&out).output();
                    let decoded = decoded.expect("zbarimg (zbar-tools, installed by scripts/setup)");
                    let text = String::from_utf8_lossy(&decoded.stdout);
                    assert_eq!(text.trim(), format!("{PUBLIC}/antrean"), "{name}: the QR code on the screen");
                    let code = papan::layout::qr_boxes(area).code;
                    println!(
                        "{name}: QR code {:.0} px wide in a {:.0} × {:.0} px region",
                        code.w, area.w, area.h
                    );
                }
                papan::layout::WidgetKind::AgencyPanels => {
                    let agencies = papan::layout::region_agencies(region, &hall);
                    let cells = panel_cells(area, agencies.len(), region.columns);
                    for (agency, cell) in agencies.iter().zip(cells) {
                        let line = papan::layout::panel_boxes(cell, true).waiting.unwrap();
                        let white = share_near(&image, line, (255, 255, 255));
                        let waits = queued.iter().any(|(id, _)| *id == agency.id);
                        assert_eq!(white > 0.008, waits, "{name}: queue line of {} ({white})", agency.id);
                    }
                }
                _ => {}
            }
        }
        // The queue lines and the priority label stay in their boxes too.
        let proof = dir.path().join(format!("queues-proof-{name}.png"));
        let (url, token, layout_arg, proof2) =
            (running.ws_url(), display.clone(), name.to_string(), proof.clone());
        let (image, boxes) =
            tokio::task::spawn_blocking(move || text_proof(&url, &token, &layout_arg, size, &proof2))
                .await
                .unwrap();
        let (outside, _) = ink_outside_boxes(&image, &boxes);
        assert!(
            outside.is_empty(),
            "{name}: {} lit pixels outside every box, first at {:?}",
            outside.len(),
            &outside[..outside.len().min(6)]
        );
        assert!(boxes.iter().any(|b| b.text == "ANTREAN PRIORITAS"), "{name}: the hero says PRIORITAS");
        if name == "counter-portrait" {
            for text in [
                "Menunggu 2",
                "A-001 · Loket 3",
                "Disdukcapil",
                "Disdukcapil · PRIORITAS",
                "Pantau antrean Anda",
                // The services widget, from the standards the screen fetched after the snapshot.
                "Standar Pelayanan · Disdukcapil",
                "CONTOH",
                "Perekaman KTP-el",
                "• Kartu Keluarga",
                "Jangka waktu: Selesai di tempat",
                "1/2",
            ] {
                assert!(boxes.iter().any(|b| b.text == text), "{name}: {text:?} is shown");
            }
        }
        if name == "hall-landscape" {
            for (agency, waiting) in queued {
                let line = format!("Menunggu {waiting}");
                assert!(boxes.iter().any(|b| b.text == line), "{agency}: {line:?} is shown");
            }
        }
    }
    running.stop().await.unwrap();
}

/// `screen`'s entry on the fleet page (`GET /api/screens`), if it ever connected.
async fn fleet_entry(running: &hub::RunningHub, staff: &str, screen: &str) -> Option<serde_json::Value> {
    let listing: serde_json::Value = papan::tls::http_client()
        .get(format!("{}/api/screens", running.http_url()))
        .bearer_auth(staff)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listing["screens"].as_array().unwrap().iter().find(|s| s["screen"] == screen).cloned()
}

/// Whether `screen` is online on the fleet page and reporting (its status carries the layout it
/// shows) before `deadline`.
async fn reports_before(
    running: &hub::RunningHub,
    staff: &str,
    screen: &str,
    deadline: std::time::Instant,
) -> bool {
    while std::time::Instant::now() < deadline {
        let found = fleet_entry(running, staff, screen).await;
        if found.is_some_and(|s| s["online"] == true && s["status"]["layout"] == "hall-landscape") {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    false
}

/// A child process killed when the test ends, passed or not.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An X display number in `numbers` with no server on it (tests take separate ranges, so two
/// running at once do not pick the same one).
fn free_x_display(numbers: std::ops::Range<u32>) -> String {
    let free = numbers.into_iter().find(|n| {
        !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
            && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
    });
    format!(":{}", free.expect("a free X display number"))
}

/// An Xvfb of its own on `x_display`, logging to `log`.
fn start_xvfb(x_display: &str, size: &str, log: &Path) -> KillOnDrop {
    KillOnDrop(
        Command::new("Xvfb")
            .args([x_display, "-screen", "0", size, "-nolisten", "tcp"])
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// A clip deleted from a screen's voice pack: the screen keeps showing and speaking what it can,
/// the fleet page says which clip is missing, and putting the file back clears it. The hall has
/// Imigrasi call in English too, and the English pack is not beside the screen's at first: that is
/// reported as well (the screen starts on the built-in hall, so the pack is asked for when the
/// hub's hall turns English on), and copying the pack in clears it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_missing_a_clip_says_so_and_recovers_when_it_is_back() {
    let mut hall = Hall::builtin();
    let imigrasi = hall.agencies.iter_mut().find(|a| a.id == "imigrasi").unwrap();
    imigrasi.languages = Some(vec![papan::hall::Language::Id, papan::hall::Language::En]);
    let (running, staff, display, dir) = start_hub_with(hall).await;
    let pack = dir.path().join("pack");
    std::fs::create_dir(&pack).unwrap();
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join(papan::voice::pack::DEFAULT_PACK_DIR);
    for entry in std::fs::read_dir(&shipped).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), pack.join(entry.file_name())).unwrap();
    }
    std::fs::rename(pack.join("loket.wav"), dir.path().join("loket.wav")).unwrap();
    let screen = Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["display", "--windowed", "640x360", "--screen", "hoarse", "--hub", &running.ws_url()])
        .args(["--token", &display, "--cache"])
        .arg(dir.path().join("cache"))
        .arg("--pack")
        .arg(&pack)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .spawn()
        .unwrap();
    let _screen = KillOnDrop(screen);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    assert!(reports_before(&running, &staff, "hoarse", deadline).await, "the screen never reported");
    let voice_error = || async {
        let screen = fleet_entry(&running, &staff, "hoarse").await;
        screen.and_then(|s| s["status"]["voice_error"].as_str().map(str::to_string))
    };
    let english = dir.path().join("en");
    let mut problem = voice_error().await.expect("the missing clip is reported");
    // The first report may come before the hub's hall (and its English) reached the screen.
    while !problem.contains("en clips") {
        assert!(
            std::time::Instant::now() < deadline,
            "the missing English pack is never reported: {problem}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        problem = voice_error().await.expect("still reported");
    }
    assert!(
        problem.contains("loket (") && problem.contains("loket.wav"),
        "names the clip and its file: {problem}"
    );
    let packs = format!("voice pack {}, {}:", pack.display(), english.display());
    assert!(problem.starts_with(&packs) && problem.contains(" en clips (voice pack"), "{problem}");

    std::fs::rename(dir.path().join("loket.wav"), pack.join("loket.wav")).unwrap();
    let put_back = std::time::Instant::now();
    while voice_error().await.is_some_and(|problem| problem.contains("loket (")) {
        assert!(
            put_back.elapsed() < std::time::Duration::from_secs(20),
            "still reported after the clip came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let problem = voice_error().await.expect("the English pack is still missing");
    assert!(problem.starts_with(&format!("voice pack {}:", english.display())), "{problem}");
    std::fs::create_dir(&english).unwrap();
    for entry in std::fs::read_dir(shipped.parent().unwrap().join("en")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), english.join(entry.file_name())).unwrap();
    }
    let put_back = std::time::Instant::now();
    while voice_error().await.is_some() {
        assert!(
            put_back.elapsed() < std::time::Duration::from_secs(20),
            "still reported after the clip came back"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    println!("clip problem cleared {:.1} s after the file came back", put_back.elapsed().as_secs_f32());
    running.stop().await.unwrap();
}

/// A screen PC may start papan before its X session is up (or the X server may be resetting):
/// the display waits for X and comes up when it does; with no X at all it ends with a plain
/// message instead of bevy's "Failed to build event loop" panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_started_before_its_x_session_waits_for_it() {
    let (running, staff, display, dir) = start_hub().await;
    let x_display = free_x_display(150..400);
    let log = dir.path().join("early.log");
    let papan_display = |wait_s: &str| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_papan"));
        command
            .args(["display", "--windowed", "640x360", "--screen", "early", "--hub", &running.ws_url()])
            .args(["--token", &display, "--no-voice", "--wait-for-display", wait_s, "--cache"])
            .arg(dir.path().join("cache"))
            .env("DISPLAY", &x_display)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        command
    };

    // No X server there at all.
    let started = std::time::Instant::now();
    let out = papan_display("1").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "gave up before its 1 s");
    let expected = format!("papan: cannot open the X display {x_display} (waited 1 s)");
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    // X comes up 3 s after the screen.
    let screen = papan_display("60").stderr(std::fs::File::create(&log).unwrap()).spawn().unwrap();
    let mut screen = KillOnDrop(screen);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        screen.0.try_wait().unwrap().is_none(),
        "the screen gave up: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    let x_came = std::time::Instant::now();
    let _xvfb = start_xvfb(&x_display, "1280x720x24", &dir.path().join("xvfb.log"));
    let reported =
        reports_before(&running, &staff, "early", x_came + std::time::Duration::from_secs(30)).await;
    let said = std::fs::read_to_string(&log).unwrap();
    let xvfb_said = std::fs::read_to_string(dir.path().join("xvfb.log")).unwrap();
    assert!(reported, "the screen never came up after X did: {said}\nXvfb said: {xvfb_said}");
    println!("on the board {:.1} s after X came up", x_came.elapsed().as_secs_f32());
    assert!(said.contains(&format!("cannot open the X display {x_display} yet")), "{said}");
    assert!(said.contains(&format!("X display {x_display} is there after")), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    running.stop().await.unwrap();
}

/// The fleet page's actions reach a real screen: "identify" puts the screen id over the board,
/// and the screenshot the hub asks for arrives as a PNG of what the screen shows (id included).
/// Before that, the idle board draws no frame but when its clock turns. The screen has an X server
/// of its own, as on a hall PC: other tests' windows coming and going would wake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_page_actions_reach_a_real_screen() {
    let (running, staff, display, dir) = start_hub().await;
    let x_display = free_x_display(400..650);
    let _xvfb = start_xvfb(&x_display, "1280x720x24", &dir.path().join("xvfb.log"));
    let frames = dir.path().join("frames.log");
    let screen = logged_screen(&running, &display, "lobby-2", "960x540", &x_display, dir.path());
    let http = papan::tls::http_client();
    let api = |path: &str| format!("{}/api/screens{path}", running.http_url());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    assert!(
        reports_before(&running, &staff, "lobby-2", deadline).await,
        "the screen never reported to the hub"
    );
    // Idle: frames only when the clock's minute turns (an earlier build drew two frames ~20 ms
    // apart at every wake-up; allowed here, while the ticker below must take one).
    let before = settled_frames(&frames).await.len();
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    let idle = frame_lines(&frames).split_off(before);
    println!("an idle board drew {} frames in 5 s: {idle:?}", idle.len());
    assert!(idle.len() <= 2, "an idle board drew {} frames in 5 s: {idle:#?}", idle.len());
    // Something shown changes (a short ticker: no pages, no flash): one frame draws it, not two.
    // Not near the turn of a minute, whose clock frame would count too.
    let into_minute = jiff::Timestamp::now().as_second().rem_euclid(60) as u64;
    if into_minute > 45 {
        tokio::time::sleep(std::time::Duration::from_secs(62 - into_minute)).await;
    }
    let mut session = staff_session(&running, &staff).await;
    let before = settled_frames(&frames).await.len();
    let ticker = TickerCommand { text: "Layanan dibuka".into() };
    let seq = session.command("idle-ticker", HubCommand::Ticker(ticker)).await.unwrap().seq;
    drawn(&frames, seq).await;
    let woken = settled_frames(&frames).await.split_off(before);
    println!("a ticker on an idle board drew {} frames: {woken:?}", woken.len());
    assert_eq!(woken.len(), 1, "one change, one frame: {woken:#?}");
    a_call_and_flash_turns_redraw_only_what_changed(
        &mut session,
        &frames,
        &x_display,
        &dir.path().join("flash"),
    )
    .await;
    session.close().await;
    let identify = http.post(api("/lobby-2/identify")).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(identify.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let asked = http.post(api("/lobby-2/screenshot-request")).bearer_auth(&staff).send().await.unwrap();
    assert_eq!(asked.status(), 202);
    let png = loop {
        assert!(
            std::time::Instant::now() < deadline + std::time::Duration::from_secs(15),
            "no screenshot came"
        );
        let shot = http.get(api("/lobby-2/screenshot")).bearer_auth(&staff).send().await.unwrap();
        if shot.status() == 200 {
            assert_eq!(shot.headers()["content-type"], "image/png");
            break shot.bytes().await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    drop(screen);
    let image = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(image.dimensions(), (960, 540));
    image.save(dir.path().join("identify.png")).unwrap();
    if std::env::var_os("PAPAN_KEEP_SHOTS").is_some() {
        image.save(Path::new(env!("CARGO_TARGET_TMPDIR")).join("identify.png")).unwrap();
    }
    // The identify overlay: an amber frame around the whole screen, the id in amber in the middle.
    let amber = (255, 194, 8);
    let frame = papan::layout::Rect { x: 0.0, y: 0.0, w: 960.0, h: 6.0 };
    assert!(share_near(&image, frame, amber) > 0.9, "amber frame along the top");
    let middle = papan::layout::Rect { x: 240.0, y: 230.0, w: 480.0, h: 110.0 };
    assert!(share_near(&image, middle, amber) > 0.05, "the id in amber in the middle");
    running.stop().await.unwrap();
}

/// What X shows at the top left (`size`), as the test's own X client reads it: the window of a
/// screen started on an empty X server lies there.
fn grab_x(x_display: &str, size: (u32, u32)) -> image::RgbImage {
    let xlib = x11_dl::xlib::Xlib::open().expect("libX11");
    let name = std::ffi::CString::new(x_display).unwrap();
    // SAFETY: plain Xlib calls on a display opened here and closed before returning; the image
    // is ZPixmap at 32 bits a pixel (Xvfb at depth 24), read within its bytes_per_line rows.
    unsafe {
        let display = (xlib.XOpenDisplay)(name.as_ptr());
        assert!(!display.is_null(), "cannot open {x_display}");
        let root = (xlib.XDefaultRootWindow)(display);
        let ximage = (xlib.XGetImage)(display, root, 0, 0, size.0, size.1, !0, x11_dl::xlib::ZPixmap);
        assert!(!ximage.is_null());
        let (data, stride) = ((*ximage).data as *const u8, (*ximage).bytes_per_line as usize);
        assert_eq!((*ximage).bits_per_pixel, 32);
        let image = image::RgbImage::from_fn(size.0, size.1, |x, y| {
            let pixel = data.add(y as usize * stride + x as usize * 4);
            image::Rgb([*pixel.add(2), *pixel.add(1), *pixel])
        });
        (xlib.XDestroyImage)(ximage);
        (xlib.XCloseDisplay)(display);
        image
    }
}

/// [`grab_x`] off the async runtime's threads.
async fn grab_x_blocking(x_display: &str, size: (u32, u32)) -> image::RgbImage {
    let x_display = x_display.to_string();
    tokio::task::spawn_blocking(move || grab_x(&x_display, size)).await.unwrap()
}

/// On a CPU adapter (lavapipe here) a call draws only what it changed (hero, history, a panel)
/// and a flash turn only the hero, over the kept picture. What X shows during the flash must be,
/// outside the hero, exactly the board drawn whole after it (a change the call's frame left out
/// would show there); inside, either that (off) or the lit hero in its amber frame (on). Turns
/// back to a look already shown are put from the picture kept of it, drawing nothing: every lit
/// picture must then be the same, the call's own (drawn) and the later (kept) ones.
/// Screen: 960x540, landscape.
async fn a_call_and_flash_turns_redraw_only_what_changed(
    session: &mut Session,
    frames: &Path,
    x_display: &str,
    out: &Path,
) {
    let size = (960, 540);
    let call = CallCommand { ticket: "A-321".parse().unwrap(), counter: 2, agency: None, service: None };
    let seq = session.command("flash", HubCommand::Call(call)).await.unwrap().seq;
    let called_at = drawn(frames, seq).await;
    // The log has the frame once its systems ran; it is on X a little later (rendering is
    // pipelined, then what it drew is put on X).
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let unix_us =
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as i64;
    // Each grab with when it began and ended.
    let timed: Vec<(image::RgbImage, i64, i64)> = {
        let mut grabs = Vec::new();
        let flash_over = std::time::Instant::now() + std::time::Duration::from_millis(1700);
        while std::time::Instant::now() < flash_over {
            let began = unix_us();
            let grab = grab_x_blocking(x_display, size).await;
            grabs.push((grab, began, unix_us()));
            tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        }
        grabs
    };
    let during: Vec<&image::RgbImage> = timed.iter().map(|(grab, ..)| grab).collect();
    let after = settled_frames(frames).await;
    let since_call: Vec<&String> = after.iter().skip_while(|l| **l != called_at).collect();
    let partial = since_call.iter().filter(|l| frame_field(l, "partial") == 1).count();
    println!("the flash drew {} frames after the call's, {partial} partial", since_call.len() - 1);
    assert!(partial >= 3, "flash turns on lavapipe are partial frames: {since_call:#?}");
    let call_frame = after.iter().find(|l| frame_field(l, "seq") >= seq).expect("the call's frame");
    assert_eq!(frame_field(call_frame, "partial"), 1, "the call's own frame is partial: {call_frame}");
    assert_eq!(frame_field(after.last().unwrap(), "partial"), 0, "the frame after the flash is whole");
    // On lavapipe the frames go to X by hand, only what they drew: what X shows below is that.
    assert!(
        since_call.iter().all(|l| frame_field(l, "x_present") == 1),
        "frames put on X by hand: {since_call:#?}"
    );
    // Lit (the call's frame), off, then lit and off again from the kept pictures.
    let replayed = since_call.iter().filter(|l| frame_field(l, "replayed") == 1).count();
    println!("{replayed} flash turns put from a kept picture");
    assert!(replayed >= 2, "turns back to a look already shown are not drawn again: {since_call:#?}");
    let whole = grab_x_blocking(x_display, size).await;
    std::fs::create_dir_all(out).unwrap();
    whole.save(out.join("whole.png")).unwrap();
    let layout = Layout::builtin("hall-landscape").unwrap();
    let now_calling =
        layout.regions.iter().find(|r| r.widget == papan::layout::WidgetKind::NowCalling).unwrap();
    let hero = region_rect(now_calling, size.0 as f32, size.1 as f32);
    let in_hero = |x: u32, y: u32| {
        let (x, y) = (x as f32 + 0.5, y as f32 + 0.5);
        x >= hero.x && x < hero.x + hero.w && y >= hero.y && y < hero.y + hero.h
    };
    let amber = (255, 196, 0);
    // The frame's left margin, beside the card (2 % of the region's width, 7 px here).
    let margin = papan::layout::Rect { x: hero.x + 1.0, y: hero.y + 20.0, w: 4.0, h: 100.0 };
    let (mut lit, mut off) = (0, 0);
    let mut first_lit: Option<&image::RgbImage> = None;
    for (i, grab) in during.iter().copied().enumerate() {
        let stale: Vec<(u32, u32)> = grab
            .enumerate_pixels()
            .filter(|(x, y, p)| !in_hero(*x, *y) && whole.get_pixel(*x, *y) != *p)
            .map(|(x, y, _)| (x, y))
            .take(5)
            .collect();
        if !stale.is_empty() {
            grab.save(out.join(format!("during-{i}.png"))).unwrap();
        }
        assert!(stale.is_empty(), "grab {i}: outside the hero, pixels unlike the whole board at {stale:?}");
        let same_hero = grab.enumerate_pixels().all(|(x, y, p)| !in_hero(x, y) || whole.get_pixel(x, y) == p);
        if same_hero {
            off += 1;
        } else {
            grab.save(out.join(format!("lit-{i}.png"))).unwrap();
            // Lit: the card brighter than the board's and the margin amber, both at once (a
            // partial frame that left the last turn's amber, or missed the card, is neither).
            let brightness = |p: &image::Rgb<u8>| p.0.iter().map(|c| u32::from(*c)).sum::<u32>();
            let (card_x, card_y) = ((hero.x + hero.w * 0.03) as u32, (hero.y + hero.h * 0.5) as u32);
            let brighter =
                brightness(grab.get_pixel(card_x, card_y)) > brightness(whole.get_pixel(card_x, card_y)) + 60;
            assert!(
                brighter && share_near(grab, margin, amber) > 0.9,
                "grab {i}: the hero is neither the board's nor lit (brighter card: {brighter}, amber margin: {:.2})",
                share_near(grab, margin, amber)
            );
            lit += 1;
            // A lit picture put from the kept one is the lit picture drawn, pixel for pixel.
            let first = *first_lit.get_or_insert(grab);
            let unlike = first.pixels().zip(grab.pixels()).filter(|(a, b)| a != b).count();
            assert_eq!(unlike, 0, "grab {i}: lit, but {unlike} pixels unlike the first lit grab");
        }
    }
    println!("{} grabs during the flash: {lit} lit, {off} off", during.len());
    assert!(lit > 0 && off > 0, "both turns seen: {lit} lit, {off} off");
    // And each in its turn (a kept picture put for the wrong look would show lit and off pictures
    // all the same): the flash starts lit in the call's frame and turns every 330 ms. Grabs within
    // 120 ms after a turn (X shows it once the frame is drawn and put; tests run side by side) or
    // 30 ms before one are not judged.
    let flash_started = frame_field(&called_at, "unix_us") as i64;
    let half_period = 330_000;
    let turn_of = |t: i64| (t - flash_started).div_euclid(half_period);
    let settled =
        |t: i64| (120_000..half_period - 30_000).contains(&(t - flash_started).rem_euclid(half_period));
    let mut judged = 0;
    for (i, (grab, began, ended)) in timed.iter().enumerate() {
        if turn_of(*began) != turn_of(*ended) || !settled(*began) || !settled(*ended) {
            continue;
        }
        let is_lit = grab.enumerate_pixels().any(|(x, y, p)| in_hero(x, y) && whole.get_pixel(x, y) != p);
        let turn = turn_of(*began);
        assert_eq!(
            is_lit,
            turn % 2 == 0,
            "grab {i}, {} ms into the flash (turn {turn})",
            (began - flash_started) / 1000
        );
        judged += 1;
    }
    println!("{judged} grabs judged by their turn");
    assert!(judged >= 5, "only {judged} grabs lay clear of a turn");
}

/// A staff client of `running`.
async fn staff_session(running: &hub::RunningHub, staff: &str) -> Session {
    let client = ClientOptions {
        url: running.ws_url(),
        token: staff.to_string(),
        role: Role::Staff,
        client: "t".into(),
        timeout: std::time::Duration::from_secs(10),
    };
    Session::connect(&client, 0).await.unwrap()
}

/// A silent real screen of `running` on `x_display`, in a window of `size`, its cache in `dir` and
/// every frame logged to `dir/frames.log` (`--bench-log`).
fn logged_screen(
    running: &hub::RunningHub,
    display: &str,
    screen: &str,
    size: &str,
    x_display: &str,
    dir: &Path,
) -> KillOnDrop {
    KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_papan"))
            .args(["display", "--windowed", size, "--screen", screen, "--hub", &running.ws_url()])
            .args(["--token", display, "--no-voice", "--cache"])
            .arg(dir.join("cache"))
            .arg("--bench-log")
            .arg(dir.join("frames.log"))
            .env("DISPLAY", x_display)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .spawn()
            .unwrap(),
    )
}

/// The lines of a screen's `--bench-log` so far: `frame N unix_us T seq S images I partial P
/// cpu_us C x_present X`.
fn frame_lines(frames: &Path) -> Vec<String> {
    std::fs::read_to_string(frames).unwrap_or_default().lines().map(str::to_string).collect()
}

/// The frame log once the screen's start-up frames are over (a second without one; slower on a
/// busy machine).
async fn settled_frames(frames: &Path) -> Vec<String> {
    let settling = std::time::Instant::now();
    let mut before = frame_lines(frames);
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = frame_lines(frames);
        if now.len() == before.len() {
            return now;
        }
        assert!(settling.elapsed() < std::time::Duration::from_secs(20), "never settled: {now:#?}");
        before = now;
    }
}

/// A number field of a frame log line (`seq`, `images`).
fn frame_field(line: &str, name: &str) -> u64 {
    let mut words = line.split_whitespace();
    words.find(|w| *w == name).and_then(|_| words.next()).and_then(|v| v.parse().ok()).unwrap()
}

/// The last frame log line once a frame has shown `seq` or later.
async fn drawn(frames: &Path, seq: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(last) = frame_lines(frames).pop().filter(|l| frame_field(l, "seq") >= seq) {
            return last;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "seq {seq} never drawn: {:?}",
            frame_lines(frames).pop()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// bevy keeps every glyph atlas it makes for as long as the screen runs: the screen renders the
/// glyphs of every ticket, counter, ticker and notice it may show when it gets the hall, so that a
/// day of calls adds none (`papan bench soak` saw one more atlas at 45,000 calls before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_calls_needs_no_glyph_atlas_the_screen_did_not_make_at_start() {
    let (running, staff, display, dir) = start_hub().await;
    let x_display = free_x_display(650..900);
    let _xvfb = start_xvfb(&x_display, "1920x1080x24", &dir.path().join("xvfb.log"));
    let frames = dir.path().join("frames.log");
    let _screen = logged_screen(&running, &display, "lobby-4", "1920x1080", &x_display, dir.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    assert!(reports_before(&running, &staff, "lobby-4", deadline).await, "the screen never reported");
    let start = settled_frames(&frames).await.pop().unwrap();
    let mut session = staff_session(&running, &staff).await;
    // Each letter as the hero with its shortest and longest numbers, every counter once.
    let mut calls = 0;
    for agency in &Hall::builtin().agencies {
        for letter in &agency.letters {
            let counters = agency.counters.iter().cycle().take(agency.counters.len().max(2));
            for (counter, number) in counters.zip([7, 9999, 999, 1000].into_iter().cycle()) {
                let ticket = format!("{letter}-{number:03}").parse().unwrap();
                let call = CallCommand { ticket, counter: *counter, agency: None, service: None };
                let ack = session.command(&format!("c{calls}"), HubCommand::Call(call)).await.unwrap();
                drawn(&frames, ack.seq).await;
                calls += 1;
            }
        }
    }
    let ticker = TickerCommand { text: (' '..='~').collect() };
    let ack = session.command("t", HubCommand::Ticker(ticker)).await.unwrap();
    let after_calls = drawn(&frames, ack.seq).await;
    session.close().await;
    // The hub goes away: the screen keeps its board under the offline badge.
    running.stop().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let offline = settled_frames(&frames).await.pop().unwrap();
    println!(
        "glyph atlases and other images: {start} at start; {after_calls} after {calls} calls and a ticker; {offline} offline"
    );
    let images = |line: &str| frame_field(line, "images");
    assert_eq!(images(&after_calls), images(&start), "{calls} calls and a ticker made images");
    assert_eq!(images(&offline), images(&start), "the offline badge made images");
}

/// `papan demo` as a hall would run it: embedded hub, the bevy display in a window, simulated
/// staff, and the voice played through ALSA (a `file` device in a private HOME captures it).
#[test]
fn demo_shows_and_speaks_its_calls_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (home, data) = (dir.path().join("home"), dir.path().join("data"));
    std::fs::create_dir_all(&home).unwrap();
    let capture = dir.path().join("played.raw");
    common::write_asoundrc(&home, &capture);
    let out = Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["demo", "--calls", "4", "--interval-ms", "600", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .env("HOME", &home)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("Creating new window"), "the demo opens the display: {stderr}");
    // Both of bevy's clearing 2D passes were replaced (a bevy upgrade that moved them would
    // leave them silently, and every frame would pay their clears again).
    assert!(stderr.contains(LEAN_PASSES_LOG), "the display's 2D passes without clears: {stderr}");
    assert!(stdout.contains("demo stopped"), "{stdout}");

    // Every simulated action was acked and spoken (three calls and a recall → four WAVs).
    let acks = stdout.lines().filter(|l| l.contains("staff") && l.contains("ack seq")).count();
    assert_eq!(acks, 4, "{stdout}");
    let mut wavs: Vec<String> = std::fs::read_dir(data.join("voice"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    wavs.sort();
    assert_eq!(wavs.len(), 4, "{wavs:?}");
    assert!(wavs[3].ends_with("-recall.wav"), "{wavs:?}");

    // What reached the audio device holds each announcement in full.
    let played = common::read_capture(&capture);
    for wav in &wavs {
        let samples: Vec<i16> = hound::WavReader::open(data.join("voice").join(wav))
            .unwrap()
            .samples::<i16>()
            .map(Result::unwrap)
            .collect();
        // Every announcement opens alike (chime, "nomor antrean"): compare whole candidates.
        let played_whole = (0..played.len().saturating_sub(samples.len()))
            .filter(|&at| {
                played[at] == samples[0] && played[at + samples.len() / 2] == samples[samples.len() / 2]
            })
            .any(|at| played[at..at + samples.len()] == *samples);
        assert!(played_whole, "{wav} was played whole");
    }
}

/// A screen PC without a Vulkan driver says what to install instead of panicking inside bevy.
#[test]
fn a_screen_without_a_gpu_driver_says_what_to_install() {
    let out = Command::new(env!("CARGO_BIN_EXE_papan"))
        .args(["display", "--hub", "ws://127.0.0.1:9/ws", "--token", "t", "--cache"])
        .arg(tempfile::tempdir().unwrap().path())
        .env("VK_ICD_FILENAMES", "/nonexistent/icd.json")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("papan: no Vulkan GPU driver found: install"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
