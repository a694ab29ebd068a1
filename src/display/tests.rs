//! The display's features in a `MinimalPlugins` app with no window server or GPU: updates from a
//! channel, a stand-in speaker, then asserts on the entities after `app.update()`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::window::PrimaryWindow;

use super::layouts::{LayoutChoice, LayoutProblem};
use super::view::{Flash, HeroPart, HeroTicket, ScreenLayout, TickerPages};
use super::{FeedSource, IdentifyOverlay, ScreenId, Speaker, Voice, Wakeups, add_board_features};
use crate::board::Board;
use crate::feed::FeedUpdate;
use crate::hall::Hall;
use crate::layout::Layout;
use crate::protocol::{Call, Event, EventFrame, Seq};
use crate::voice::announcer::Announced;
use crate::voice::player::PlayerEvent;

struct Harness {
    app: App,
    feed: mpsc::Sender<FeedUpdate>,
    player: mpsc::Sender<PlayerEvent>,
    spoken: Arc<Mutex<Vec<(Seq, bool)>>>,
}

/// Records what it was asked to say and answers as a player with a device would.
struct FakeSpeaker {
    spoken: Arc<Mutex<Vec<(Seq, bool)>>>,
}

impl Speaker for FakeSpeaker {
    fn announce(&self, frame: &EventFrame, replayed: bool) -> Announced {
        self.spoken.lock().unwrap().push((frame.seq, replayed));
        if replayed { Announced::Stale { age: Duration::from_secs(600) } } else { Announced::Queued }
    }

    fn set_hall(&mut self, _hall: Hall) {}
}

fn test_app(with_voice: bool) -> Harness {
    test_app_showing(with_voice, LayoutChoice::Named("hall-landscape".into()))
}

fn test_app_showing(with_voice: bool, choice: LayoutChoice) -> Harness {
    test_app_with(with_voice, choice, std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/images"))
}

fn test_app_with(with_voice: bool, choice: LayoutChoice, images: std::path::PathBuf) -> Harness {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, AssetPlugin::default())).init_asset::<Font>().init_asset::<Image>();
    app.world_mut().spawn((Window { resolution: (1920, 1080).into(), ..default() }, PrimaryWindow));
    let (feed, updates) = mpsc::channel();
    let (player, events) = mpsc::channel();
    let spoken = Arc::new(Mutex::new(Vec::new()));
    let voice = with_voice.then(|| Voice::new(Box::new(FakeSpeaker { spoken: spoken.clone() }), events));
    let (layout, problem) = choice.initial();
    let screen = ScreenId("lobby-3".into());
    add_board_features(&mut app, screen, FeedSource::from_channel(updates), voice, layout, images, None);
    super::layouts::plugin(&mut app, choice, problem, None);
    super::status::plugin(&mut app);
    feed.send(FeedUpdate::Online).unwrap();
    feed.send(FeedUpdate::Board {
        board: Box::new(Board::default()),
        hall: Box::new(Hall::builtin()),
        layouts: Default::default(),
        from_cache: false,
    })
    .unwrap();
    app.update();
    Harness { app, feed, player, spoken }
}

fn until_the_minute_turns() -> Duration {
    let now = jiff::Timestamp::now();
    let into = now.as_second().rem_euclid(60) * 1_000_000_000 + i64::from(now.subsec_nanosecond());
    Duration::from_secs(60) - Duration::from_nanos(into as u64)
}

fn call(seq: Seq, ticket: &str, counter: u16) -> EventFrame {
    let agency = Hall::builtin().resolve_counter(counter, None).unwrap().id.clone();
    EventFrame {
        seq,
        at: jiff::Timestamp::now(),
        event: Event::Call(Call {
            ticket: ticket.parse().unwrap(),
            counter,
            agency,
            service: None,
            priority: None,
        }),
    }
}

impl Harness {
    fn send_board(&self, hall: Hall, layouts: crate::layout::Layouts) {
        let board = Box::new(Board::default());
        let update = FeedUpdate::Board { board, hall: Box::new(hall), layouts, from_cache: false };
        self.feed.send(update).unwrap();
    }

    fn texts(&mut self) -> Vec<String> {
        let mut query = self.app.world_mut().query::<&Text>();
        query.iter(self.app.world()).map(|t| t.0.clone()).collect()
    }

    fn hero_ticket(&mut self) -> Option<String> {
        let mut query = self.app.world_mut().query_filtered::<&Text, With<HeroTicket>>();
        query.single(self.app.world()).ok().map(|t| t.0.clone())
    }

    /// How long until the frame the board asked for (None: only when data arrives).
    fn next_frame_in(&self) -> Option<Duration> {
        let scheduled = self.app.world().resource::<Wakeups>().scheduled();
        scheduled.map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// The next frame is asked for within `range` from now, or earlier when the clock's minute
    /// turns first.
    fn assert_next_frame_within(&self, range: std::ops::RangeInclusive<Duration>) {
        let next = self.next_frame_in().expect("a frame asked for");
        let clock = until_the_minute_turns();
        let slack = Duration::from_millis(100);
        let clock_first = clock < *range.start() && next <= clock + slack && next + slack >= clock;
        assert!(clock_first || range.contains(&next), "next frame in {next:?}, wanted {range:?}");
    }

    fn flash(&self) -> Option<Seq> {
        self.app.world().get_resource::<Flash>().map(|f| f.seq)
    }

    fn hero_card(&mut self) -> (HeroPart, Color) {
        let mut query = self.app.world_mut().query::<(&HeroPart, &BackgroundColor)>();
        query
            .iter(self.app.world())
            .find(|(p, _)| matches!(p, HeroPart::Card { .. }))
            .map(|(p, c)| (*p, c.0))
            .expect("a hero card")
    }
}

#[test]
fn a_call_updates_hero_history_and_panels_on_the_next_update() {
    let mut h = test_app(false);
    assert_eq!(h.hero_ticket(), None, "nothing called yet");
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-012", 3), replayed: false }).unwrap();
    h.feed.send(FeedUpdate::Event { frame: call(2, "A-013", 4), replayed: false }).unwrap();
    h.app.update();

    assert_eq!(h.hero_ticket().as_deref(), Some("A-013"));
    let texts = h.texts();
    assert!(texts.contains(&"LOKET 4".to_string()), "hero counter: {texts:?}");
    // History lists both, newest first, and the agency panel shows its latest.
    assert!(texts.iter().filter(|t| *t == "A-012").count() >= 1, "{texts:?}");
    assert!(texts.iter().filter(|t| *t == "A-013").count() >= 2, "hero and history/panel: {texts:?}");
    assert!(texts.contains(&"Loket 3".to_string()), "{texts:?}");
}

#[test]
fn the_offline_badge_follows_the_link_and_the_board_stays() {
    let mut h = test_app(false);
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-012", 3), replayed: false }).unwrap();
    h.app.update();
    let badge = "Tidak terhubung".to_string();
    assert!(!h.texts().contains(&badge), "online: no badge");

    h.feed.send(FeedUpdate::Offline { reason: "no word from the hub for 8 s".into() }).unwrap();
    h.app.update();
    assert!(h.texts().contains(&badge), "offline: badge shown");
    assert_eq!(h.hero_ticket().as_deref(), Some("A-012"), "the last board stays up");

    h.feed.send(FeedUpdate::Online).unwrap();
    h.feed.send(FeedUpdate::Event { frame: call(2, "A-013", 4), replayed: true }).unwrap();
    h.app.update();
    let texts = h.texts();
    assert!(!texts.contains(&badge), "back online: badge gone");
    assert!(texts.contains(&"A-012".to_string()) && texts.contains(&"A-013".to_string()), "{texts:?}");
}

#[test]
fn without_voice_a_live_call_flashes_at_once_and_a_replayed_one_does_not() {
    let mut h = test_app(false);
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-001", 1), replayed: true }).unwrap();
    h.app.update();
    assert_eq!(h.flash(), None, "caught-up calls are shown, not flashed");

    h.feed.send(FeedUpdate::Event { frame: call(2, "A-002", 1), replayed: false }).unwrap();
    h.app.update();
    assert_eq!(h.flash(), Some(2));
    h.app.update();
    let (part, colour) = h.hero_card();
    let HeroPart::Card { seq, base } = part else { unreachable!() };
    assert_eq!(seq, 2);
    assert_ne!(colour, base, "the card is lit during the first flash");
}

#[test]
fn with_voice_the_flash_waits_for_the_announcement_to_start() {
    let mut h = test_app(true);
    h.feed.send(FeedUpdate::Event { frame: call(1, "B-020", 5), replayed: false }).unwrap();
    h.app.update();
    assert_eq!(h.spoken.lock().unwrap().as_slice(), &[(1, false)]);
    assert_eq!(h.hero_ticket().as_deref(), Some("B-020"), "shown at once");
    assert_eq!(h.flash(), None, "not flashed before it is heard");
    assert_eq!(h.app.world().resource::<Voice>().unfinished(), 1);

    h.player.send(PlayerEvent::Started { seq: 1, at: std::time::Instant::now() }).unwrap();
    h.app.update();
    assert_eq!(h.flash(), Some(1));
    h.player.send(PlayerEvent::Finished { seq: 1 }).unwrap();
    h.app.update();
    assert_eq!(h.app.world().resource::<Voice>().unfinished(), 0);

    // A stale caught-up call is neither spoken nor flashed.
    h.feed.send(FeedUpdate::Event { frame: call(2, "B-021", 5), replayed: true }).unwrap();
    h.app.update();
    assert_eq!(h.flash(), Some(1));
    assert_eq!(h.app.world().resource::<Voice>().unfinished(), 0);
}

#[test]
fn with_voice_but_no_audio_device_calls_flash_at_once() {
    let mut h = test_app(true);
    h.feed.send(FeedUpdate::Event { frame: call(1, "C-001", 9), replayed: false }).unwrap();
    h.app.update();
    assert_eq!(h.flash(), None);
    // The device is gone: what waited is highlighted now, later calls at once.
    h.player.send(PlayerEvent::DeviceUnavailable("no card".into())).unwrap();
    h.app.update();
    assert_eq!(h.flash(), Some(1));
    h.feed.send(FeedUpdate::Event { frame: call(2, "C-002", 9), replayed: false }).unwrap();
    h.app.update();
    assert_eq!(h.flash(), Some(2));
}

/// The flash turns three times on and off; the board asks for a frame at each turn and draws none
/// in between (each one is a full render: on a PC without a GPU, tens of ms of CPU).
#[test]
fn a_flash_asks_for_a_frame_at_each_turn_and_none_between() {
    use super::view::FLASH_HALF_PERIOD;
    use bevy::window::RequestRedraw;
    // Updates the app and counts the frames asked for at once (not at a set time) meanwhile.
    let update_counting_redraws = |h: &mut Harness| {
        let mut cursor = h.app.world().resource::<Messages<RequestRedraw>>().get_cursor_current();
        h.app.update();
        cursor.read(h.app.world().resource::<Messages<RequestRedraw>>()).count()
    };
    let mut h = test_app(false);
    h.app.update(); // the board and its glyphs settle first
    h.app.update();
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-001", 1), replayed: false }).unwrap();
    let asked = update_counting_redraws(&mut h) + update_counting_redraws(&mut h);
    let (HeroPart::Card { base, .. }, lit) = h.hero_card() else { unreachable!() };
    assert_ne!(lit, base, "on during the first third of a second");
    assert_eq!(asked, 0, "no frame asked for but the next turn");
    h.assert_next_frame_within(Duration::ZERO..=FLASH_HALF_PERIOD);
    // Just past the first turn: off, and the next frame at the second turn.
    let started = h.app.world().resource::<Flash>().started;
    let shift = FLASH_HALF_PERIOD + Duration::from_millis(10);
    h.app.world_mut().resource_mut::<Flash>().started = started - shift;
    assert_eq!(update_counting_redraws(&mut h), 0);
    let (_, dark) = h.hero_card();
    assert_eq!(dark, base, "off during the second third");
    h.assert_next_frame_within(FLASH_HALF_PERIOD - Duration::from_millis(100)..=FLASH_HALF_PERIOD);
}

/// What the next frame draws, as the partial-frame system left it: whether the camera keeps the
/// last picture, and which cells (their texts) and patches are drawn.
struct FrameKind {
    keeps_picture: bool,
    drawn_texts: Vec<String>,
    hidden_cells: usize,
    drawn_patches: Vec<crate::layout::Rect>,
    /// The pieces of the patches' background drawn.
    drawn_pieces: Vec<crate::layout::Rect>,
}

impl Harness {
    fn frame_kind(&mut self) -> FrameKind {
        use super::partial::{BoardCell, ChangePatch, FlashPatch, PatchPiece};
        use bevy::camera::ClearColorConfig;
        let world = self.app.world_mut();
        let keeps_picture =
            world.query::<&Camera>().iter(world).all(|c| matches!(c.clear_color, ClearColorConfig::None));
        let mut drawn_texts = Vec::new();
        let mut hidden_cells = 0;
        let mut cells = world.query_filtered::<(&Visibility, &Children), With<BoardCell>>();
        let mut texts = world.query::<&Text>();
        for (visibility, children) in cells.iter(world) {
            if *visibility == Visibility::Hidden {
                hidden_cells += 1;
            } else {
                drawn_texts
                    .extend(children.iter().filter_map(|c| texts.get(world, c).ok()).map(|t| t.0.clone()));
            }
        }
        let mut drawn_patches = Vec::new();
        let mut drawn_pieces = Vec::new();
        let mut patches =
            world.query_filtered::<(&Visibility, &Node, Has<PatchPiece>), Or<(With<FlashPatch>, With<ChangePatch>)>>();
        for (_, node, piece) in patches.iter(world).filter(|(v, ..)| **v != Visibility::Hidden) {
            let rect = super::view::px_rect(node).expect("a patch is placed in pixels");
            if piece { drawn_pieces.push(rect) } else { drawn_patches.push(rect) }
        }
        FrameKind { keeps_picture, drawn_texts, hidden_cells, drawn_patches, drawn_pieces }
    }
}

/// Software rendering: a call draws only what it changed, and a flash turn only the hero, over
/// the kept picture; the flash ending, or a call in a frame where something else changed too,
/// draws the whole board; and without a CPU adapter every frame is whole.
#[test]
fn a_call_redraws_what_it_changed_a_flash_turn_the_hero_and_anything_else_the_whole_board() {
    use super::partial::{PartialFrames, contains, overlaps};
    use super::view::FLASH_HALF_PERIOD;
    use crate::layout::WidgetKind;
    let mut h = test_app(false);
    h.app.world_mut().resource_mut::<PartialFrames>().forced = Some(true);
    h.app.update();
    h.app.update();
    let layout = h.layout();
    let area = |widget| {
        let region = layout.regions.iter().find(|r| r.widget == widget).unwrap();
        crate::layout::region_rect(region, 1920.0, 1080.0)
    };

    // A call: the hero, the history and the called agency's panel, not the header or the clock.
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-001", 1), replayed: false }).unwrap();
    h.app.update();
    let call_frame = h.frame_kind();
    assert!(call_frame.keeps_picture, "a call keeps the picture");
    let (hero, history) = (area(WidgetKind::NowCalling), area(WidgetKind::History));
    for region in [hero, history] {
        assert!(
            call_frame.drawn_patches.iter().any(|p| contains(*p, region) || contains(region, *p)),
            "{region:?} is redrawn: {:?}",
            call_frame.drawn_patches
        );
    }
    assert!(call_frame.drawn_texts.contains(&"A-001".to_string()), "{:?}", call_frame.drawn_texts);
    let hall_name = Hall::builtin().name;
    assert!(!call_frame.drawn_texts.contains(&hall_name), "the header is left: {:?}", call_frame.drawn_texts);
    let panels = area(WidgetKind::AgencyPanels);
    for patch in &call_frame.drawn_patches {
        for left in [area(WidgetKind::Header), area(WidgetKind::Clock), area(WidgetKind::Ticker)] {
            assert!(!overlaps(*patch, left), "{patch:?} reaches {left:?}");
        }
        if overlaps(*patch, panels) {
            assert!(patch.w * patch.h < panels.w * panels.h / 10.0, "more than the called panel: {patch:?}");
        }
    }
    assert!(call_frame.hidden_cells > 20, "the rest is left out: {}", call_frame.hidden_cells);
    let partial_before = h.app.world().resource::<PartialFrames>().partial;

    // The first turn: only the hero's cells, on the patch over the hero region.
    let started = h.app.world().resource::<Flash>().started;
    h.app.world_mut().resource_mut::<Flash>().started =
        started - FLASH_HALF_PERIOD - Duration::from_millis(10);
    h.app.update();
    let turn = h.frame_kind();
    assert!(turn.keeps_picture, "the flash turn keeps the picture");
    assert_eq!(turn.drawn_patches, vec![hero], "the patch is the hero's region");
    // Its background is painted around the card, not under it: the margin and a pixel or two.
    let piece_area: f32 = turn.drawn_pieces.iter().map(|p| p.w * p.h).sum();
    assert!(turn.drawn_pieces.iter().all(|p| contains(hero, *p)), "{:?}", turn.drawn_pieces);
    assert!(
        piece_area > 0.0 && piece_area < hero.w * hero.h * 0.15,
        "background painted on {piece_area} of the hero's {}: {:?}",
        hero.w * hero.h,
        turn.drawn_pieces
    );
    assert!(turn.drawn_texts.contains(&"A-001".to_string()), "the hero's ticket: {:?}", turn.drawn_texts);
    assert!(
        !turn.drawn_texts.contains(&"Panggilan Terakhir".to_string()),
        "history left out: {:?}",
        turn.drawn_texts
    );
    assert!(turn.hidden_cells > 20, "the panels and the rest are left out: {}", turn.hidden_cells);
    assert_eq!(h.app.world().resource::<PartialFrames>().partial, partial_before + 1);

    // The flash ends: the frame is whole again.
    h.app.world_mut().resource_mut::<Flash>().started = started - Duration::from_secs(10);
    h.app.update();
    assert_eq!(h.flash(), None);
    let after = h.frame_kind();
    assert!(!after.keeps_picture && after.hidden_cells == 0 && after.drawn_patches.is_empty());
    assert!(after.drawn_pieces.is_empty());

    // A call in a frame where something beside the board changed too (an overlay came): whole.
    let overlay = Node { width: percent(10), height: percent(10), ..default() };
    h.app.world_mut().spawn((overlay, BackgroundColor(Color::BLACK)));
    h.feed.send(FeedUpdate::Event { frame: call(2, "A-002", 1), replayed: false }).unwrap();
    h.app.update();
    let with_overlay = h.frame_kind();
    assert!(!with_overlay.keeps_picture && with_overlay.hidden_cells == 0, "a call with an overlay is whole");
    let partial_before = h.app.world().resource::<PartialFrames>().partial;

    // A GPU (or no adapter, as here): never partial.
    h.app.world_mut().resource_mut::<PartialFrames>().forced = None;
    h.feed.send(FeedUpdate::Event { frame: call(3, "A-003", 1), replayed: false }).unwrap();
    h.app.update();
    let call_on_gpu = h.frame_kind();
    assert!(!call_on_gpu.keeps_picture && call_on_gpu.hidden_cells == 0);
    let started = h.app.world().resource::<Flash>().started;
    h.app.world_mut().resource_mut::<Flash>().started =
        started - FLASH_HALF_PERIOD - Duration::from_millis(10);
    h.app.update();
    let on_gpu = h.frame_kind();
    assert!(!on_gpu.keeps_picture && on_gpu.hidden_cells == 0);
    assert_eq!(h.app.world().resource::<PartialFrames>().partial, partial_before, "no more partial frames");
}

#[test]
fn the_flash_ends_and_restores_the_agency_colour() {
    let mut h = test_app(false);
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-001", 1), replayed: false }).unwrap();
    h.app.update();
    let started = h.app.world().resource::<Flash>().started;
    // Pretend the flash began long ago.
    h.app.world_mut().resource_mut::<Flash>().started = started - Duration::from_secs(10);
    h.app.update();
    assert_eq!(h.flash(), None);
    let (HeroPart::Card { base, .. }, colour) = h.hero_card() else { unreachable!() };
    assert_eq!(colour, base);
}

impl Harness {
    fn layout(&self) -> Layout {
        self.app.world().resource::<ScreenLayout>().0.clone()
    }

    fn problem(&self) -> Option<String> {
        self.app.world().resource::<LayoutProblem>().0.clone()
    }

    /// Updates until `done` holds (the file watcher polls every 250 ms).
    fn update_until(&mut self, what: &str, done: impl Fn(&Harness) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while !done(self) {
            assert!(std::time::Instant::now() < deadline, "waited for {what}");
            std::thread::sleep(Duration::from_millis(20));
            self.app.update();
        }
    }
}

#[test]
fn a_named_layout_follows_what_the_hub_serves() {
    let mut h = test_app(false);
    assert_eq!(h.layout(), Layout::builtin("hall-landscape").unwrap());
    let mut edited = Layout::builtin("hall-landscape").unwrap();
    edited.regions.truncate(2);
    let layouts = [("hall-landscape".to_string(), edited.clone())].into_iter().collect();
    h.send_board(Hall::builtin(), layouts);
    h.app.update();
    assert_eq!(h.layout(), edited);
}

#[test]
fn a_layout_file_reloads_and_a_broken_edit_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lobby.toml");
    let good = "name = \"lobby\"\n\n[[region]]\nat = [0.0, 0.0, 1.0, 1.0]\nwidget = \"now_calling\"\n";
    std::fs::write(&file, good).unwrap();
    let mut h = test_app_showing(false, LayoutChoice::File(file.clone()));
    assert_eq!((h.layout().name.as_str(), h.problem()), ("lobby", None));

    std::fs::write(&file, good.replace("now_calling", "history")).unwrap();
    h.update_until("the edit", |h| h.layout().regions[0].widget.name() == "history");

    // Broken: the error with its position is kept for the hub; the screen keeps "history".
    std::fs::write(&file, good.replace("[0.0, 0.0, 1.0, 1.0]", "[0.0, 0.0, 1.5, 1.0]")).unwrap();
    h.update_until("the error", |h| h.problem().is_some());
    let problem = h.problem().unwrap();
    assert!(problem.starts_with(&format!("{}:4:", file.display())), "{problem}");
    let reported = h.app.world().resource::<FeedSource>().last_report().unwrap().layout_error;
    assert_eq!(reported.as_deref(), Some(problem.as_str()));
    assert_eq!(h.layout().regions[0].widget.name(), "history");

    std::fs::write(&file, good).unwrap();
    h.update_until("the fix", |h| h.problem().is_none());
    assert_eq!(h.layout().regions[0].widget.name(), "now_calling");
    let status = h.app.world().resource::<FeedSource>().last_report().unwrap();
    assert_eq!((status.layout.as_str(), status.layout_error), ("lobby", None));
}

#[test]
fn a_screen_starting_with_a_broken_layout_file_shows_the_default_board() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(&file, "name = \"broken\"\n[[region]]\nwidget = 3\n").unwrap();
    let mut h = test_app_showing(false, LayoutChoice::File(file.clone()));
    assert_eq!(h.layout().name, "hall-landscape");
    assert!(h.problem().unwrap().starts_with(&file.display().to_string()));
    // The hub hears of it in the screen's status.
    let status = h.app.world().resource::<FeedSource>().last_report().expect("a status report");
    assert_eq!(status.layout, "hall-landscape");
    assert_eq!(status.layout_error, h.problem());
    assert!(status.rss > 1 << 20, "resident memory reported: {}", status.rss);
    assert_eq!((status.audio.as_str(), status.version.as_str()), ("off", env!("CARGO_PKG_VERSION")));
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-001", 1), replayed: false }).unwrap();
    h.app.update();
    assert_eq!(h.hero_ticket().as_deref(), Some("A-001"));
}

#[test]
fn a_kiosk_opens_its_window_again_after_the_monitor_went_away() {
    let mut h = test_app(false);
    let window = Window { title: "papan — hall-landscape".into(), ..default() };
    super::kiosk::plugin(&mut h.app, window, bevy::window::CursorOptions { visible: false, ..default() });
    h.app.update();
    let mut primary = h.app.world_mut().query_filtered::<Entity, With<PrimaryWindow>>();
    let first = primary.single(h.app.world()).unwrap();
    assert_ne!(h.app.world().get::<Window>(first).unwrap().title, "papan — hall-landscape", "the test's own");

    // What bevy does when the monitor goes: the window entity is despawned. Nothing comes back
    // while no monitor is connected; once one is, the window does.
    h.app.world_mut().despawn(first);
    h.app.update();
    assert!(primary.single(h.app.world()).is_err(), "no window without a monitor");
    // bevy only looks for monitors when the loop runs: it keeps running while the window is gone.
    let next = h.next_frame_in().expect("frames while waiting for a monitor");
    assert!(next <= Duration::from_secs(2), "{next:?}");
    h.app.world_mut().spawn(bevy::window::Monitor {
        name: Some("HDMI-1".into()),
        physical_height: 1080,
        physical_width: 1920,
        physical_position: IVec2::ZERO,
        refresh_rate_millihertz: Some(60_000),
        scale_factor: 1.0,
        video_modes: Vec::new(),
    });
    h.app.update();
    let again = primary.single(h.app.world()).expect("a primary window again");
    assert_ne!(again, first);
    assert_eq!(h.app.world().get::<Window>(again).unwrap().title, "papan — hall-landscape");
    assert!(!h.app.world().get::<bevy::window::CursorOptions>(again).unwrap().visible);

    // The board is drawn into it: a call still reaches the hero.
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-009", 1), replayed: false }).unwrap();
    h.app.update();
    assert_eq!(h.hero_ticket().as_deref(), Some("A-009"));
}

#[test]
fn a_long_ticker_turns_pages_that_each_fit() {
    let mut h = test_app(false);
    let text = "Selamat datang di Mal Pelayanan Publik Kota Palembang. Siapkan KTP, Kartu Keluarga dan \
        dokumen asli Anda sebelum dipanggil. Layanan Samsat dan Imigrasi buka sampai pukul 15.00 WIB. \
        Terima kasih atas kesabaran Anda.";
    let ticker = Event::Ticker { text: text.into() };
    h.feed
        .send(FeedUpdate::Event {
            frame: EventFrame { seq: 1, at: jiff::Timestamp::now(), event: ticker },
            replayed: false,
        })
        .unwrap();
    h.app.update();
    let mut query = h.app.world_mut().query::<(&TickerPages, &Text)>();
    let (pages, shown) = query.single(h.app.world()).map(|(p, t)| (p.pages.clone(), t.0.clone())).unwrap();
    assert!(pages.len() >= 2, "{pages:?}");
    assert_eq!(shown, pages[0]);
    assert_eq!(pages.join(" "), text.split_whitespace().collect::<Vec<_>>().join(" "));
    // The next frame is asked for when the page turns, not before (unless the clock turns first).
    h.assert_next_frame_within(Duration::from_secs(5)..=Duration::from_secs(6));

    let mut query = h.app.world_mut().query::<&mut TickerPages>();
    for mut ticker in query.iter_mut(h.app.world_mut()) {
        ticker.since -= Duration::from_secs(7);
    }
    h.app.update();
    let mut query = h.app.world_mut().query::<(&TickerPages, &Text)>();
    assert_eq!(query.single(h.app.world()).unwrap().1.0, pages[1]);
    h.assert_next_frame_within(Duration::from_secs(4)..=Duration::from_secs(5));

    // A call rebuilds the board: the ticker goes on from the page it was on, so that in a busy
    // hall its later pages are read too.
    h.feed.send(FeedUpdate::Event { frame: call(2, "A-7", 1), replayed: false }).unwrap();
    h.app.update();
    assert_eq!(h.hero_ticket().as_deref(), Some("A-007"));
    let mut query = h.app.world_mut().query::<(&TickerPages, &Text)>();
    assert_eq!(query.single(h.app.world()).unwrap().1.0, pages[1]);
}

#[test]
fn service_standards_fetched_after_the_board_turn_page_by_page_and_outlive_new_snapshots() {
    use crate::hall::PublishedStandards;
    use crate::layout::SERVICE_PAGE_SECONDS;
    let mut h = test_app_showing(false, LayoutChoice::Named("counter-portrait".into()));
    h.app.update();
    // The hall in a snapshot comes without standards: the widget is empty until they are fetched.
    assert!(!h.texts().iter().any(|t| t.starts_with("Standar Pelayanan")), "{:?}", h.texts());
    let hall = Hall::builtin();
    let services: Vec<String> =
        hall.agency("disdukcapil").unwrap().services.iter().map(|s| s.name.clone()).collect();
    assert_eq!(services.len(), 2, "the shipped examples");
    let standards = PublishedStandards::of(&hall).by_agency();
    h.feed.send(FeedUpdate::Services { standards: Some(standards.clone()) }).unwrap();
    h.app.update();
    let texts = h.texts();
    for shown in ["Standar Pelayanan · Disdukcapil", "CONTOH", services[0].as_str(), "1/2", "Biaya: Gratis"]
    {
        assert!(texts.iter().any(|t| t == shown), "{shown:?} in {texts:?}");
    }
    assert!(!texts.contains(&services[1]), "one service per page: {texts:?}");
    // The screen wakes for the next page and not much earlier (the clock may turn first).
    let next = h.next_frame_in().expect("a frame for the next page");
    assert!(next <= Duration::from_secs(SERVICE_PAGE_SECONDS), "{next:?}");

    let turn = |h: &mut Harness| {
        let mut turns = h.app.world_mut().resource_mut::<super::view::ServiceTurns>();
        turns.since -= Duration::from_secs(SERVICE_PAGE_SECONDS);
        h.app.update();
    };
    turn(&mut h);
    let texts = h.texts();
    assert!(texts.contains(&services[1]) && texts.iter().any(|t| t == "2/2"), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("• ")), "requirements are listed: {texts:?}");

    // A call, a hall edit's snapshot, a fetch that failed: the page and the standards stay.
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-7", 1), replayed: false }).unwrap();
    h.send_board(Hall::builtin(), Default::default());
    h.feed.send(FeedUpdate::Services { standards: None }).unwrap();
    h.app.update();
    assert!(h.texts().contains(&services[1]), "{:?}", h.texts());
    turn(&mut h);
    assert!(h.texts().contains(&services[0]), "the turn starts over after the last page");

    // The hall dropped its standards: the widget is empty again.
    h.feed.send(FeedUpdate::Services { standards: Some(Default::default()) }).unwrap();
    h.app.update();
    // (The glyphs warmed for them stay, hidden, in texts of their own: bevy keeps the atlases.)
    let texts = h.texts();
    assert!(!texts.iter().any(|t| services.contains(t) || t == "CONTOH"), "{texts:?}");
}

#[test]
fn the_hall_logo_and_image_regions_are_drawn_in_proportion_and_missing_ones_left_empty() {
    let dir = tempfile::tempdir().unwrap();
    image::RgbaImage::from_pixel(200, 100, image::Rgba([200, 30, 30, 255]))
        .save(dir.path().join("logo.png"))
        .unwrap();
    let layout = dir.path().join("with-images.toml");
    std::fs::write(
        &layout,
        "name = \"with-images\"\n\n[[region]]\nat = [0.0, 0.0, 1.0, 0.1]\nwidget = \"header\"\n\n\
         [[region]]\nat = [0.0, 0.1, 0.5, 0.9]\nwidget = \"image\"\nimage = \"logo.png\"\n\n\
         [[region]]\nat = [0.5, 0.1, 0.5, 0.9]\nwidget = \"image\"\nimage = \"missing.png\"\n",
    )
    .unwrap();
    let mut h = test_app_with(false, LayoutChoice::File(layout), dir.path().to_path_buf());
    let hall = Hall { logo: Some("logo.png".into()), ..Hall::builtin() };
    h.send_board(hall, Default::default());
    h.app.update();
    let mut query = h.app.world_mut().query::<(&ImageNode, &Node)>();
    let mut placed: Vec<(f32, f32, f32, f32)> = query
        .iter(h.app.world())
        .map(|(_, node)| {
            let px = |v: Val| if let Val::Px(p) = v { p } else { panic!("{v:?}") };
            (px(node.left), px(node.top), px(node.width), px(node.height))
        })
        .collect();
    placed.sort_by(|a, b| a.1.total_cmp(&b.1));
    assert_eq!(placed.len(), 2, "logo in the header and one image region: {placed:?}");
    for (x, y, w, h) in &placed {
        assert!((w / h - 2.0).abs() < 0.01, "proportions kept: {w}x{h}");
        assert!(
            *x > -0.5 && x + w <= 960.5 && *y > -0.5 && y + h <= 1080.5,
            "inside its half: {x},{y} {w}x{h}"
        );
    }
    let (header, region) = (placed[0], placed[1]);
    assert!(header.1 + header.3 <= 108.0 + 0.5, "the logo sits in the header: {header:?}");
    assert!((region.2 - 960.0).abs() < 0.5, "the image fills its region's width: {region:?}");
}

#[test]
fn an_agency_logo_sits_left_of_its_name_in_its_panel() {
    let dir = tempfile::tempdir().unwrap();
    image::RgbaImage::from_pixel(64, 64, image::Rgba([250, 250, 250, 255]))
        .save(dir.path().join("bpjs.png"))
        .unwrap();
    let mut h = test_app_with(false, LayoutChoice::Named("hall-landscape".into()), dir.path().to_path_buf());
    let mut hall = Hall::builtin();
    hall.agencies.iter_mut().find(|a| a.id == "bpjs-kesehatan").unwrap().logo = Some("bpjs.png".into());
    h.send_board(hall.clone(), Default::default());
    h.app.update();
    let mut query = h.app.world_mut().query::<(&ImageNode, &Node)>();
    let nodes: Vec<Node> = query.iter(h.app.world()).map(|(_, n)| n.clone()).collect();
    assert_eq!(nodes.len(), 1, "one logo: {nodes:?}");
    let px = |v: Val| if let Val::Px(p) = v { p } else { panic!("{v:?}") };
    let (x, y, w, hgt) = (px(nodes[0].left), px(nodes[0].top), px(nodes[0].width), px(nodes[0].height));
    assert!((w - hgt).abs() < 0.5, "square logo stays square: {w}x{hgt}");

    // It is inside the BPJS Kesehatan panel, in the name's row, left of centre.
    let layout = Layout::builtin("hall-landscape").unwrap();
    let region = layout.regions.iter().find(|r| r.widget == crate::layout::WidgetKind::AgencyPanels).unwrap();
    let area = crate::layout::region_rect(region, 1920.0, 1080.0);
    let agencies = crate::layout::region_agencies(region, &hall);
    let index = agencies.iter().position(|a| a.id == "bpjs-kesehatan").unwrap();
    let cell = crate::layout::panel_cells(area, agencies.len(), region.columns)[index];
    let name = crate::layout::panel_boxes(cell, false).name;
    assert!(x >= name.x - 0.5 && x + w <= cell.x + cell.w / 2.0, "left part of the panel: {x} in {cell:?}");
    assert!(y >= name.y - 0.5 && y + hgt <= name.y + name.h + 0.5, "in the name row: {y} in {name:?}");
}

#[test]
fn identify_shows_the_screen_id_over_the_board_then_goes_away() {
    let mut h = test_app(false);
    h.feed.send(FeedUpdate::Identify { seconds: 1 }).unwrap();
    h.app.update();
    let mut overlays = h.app.world_mut().query_filtered::<Entity, With<IdentifyOverlay>>();
    let overlay = overlays.single(h.app.world()).expect("one overlay");
    let texts: Vec<String> = h
        .app
        .world()
        .entity(overlay)
        .get::<Children>()
        .unwrap()
        .iter()
        .map(|child| h.app.world().get::<Text>(child).unwrap().0.clone())
        .collect();
    assert_eq!(texts, ["Layar", "lobby-3"]);
    let next = h.next_frame_in().expect("a frame to take the overlay away");
    assert!(next <= Duration::from_secs(1), "{next:?}");
    // Asked again: still one overlay, not two stacked.
    h.feed.send(FeedUpdate::Identify { seconds: 1 }).unwrap();
    h.app.update();
    assert_eq!(overlays.iter(h.app.world()).count(), 1);
    std::thread::sleep(Duration::from_millis(1100));
    h.app.update();
    assert_eq!(overlays.iter(h.app.world()).count(), 0, "gone after its seconds");
}

#[test]
fn an_idle_board_asks_for_a_frame_only_when_its_clock_turns() {
    let mut h = test_app(false);
    h.feed.send(FeedUpdate::Event { frame: call(1, "A-001", 1), replayed: false }).unwrap();
    h.app.update();
    // Let the flash of the call end: then nothing on the board changes before the next minute.
    h.app.world_mut().remove_resource::<super::view::Flash>();
    h.app.update();
    let next = h.next_frame_in().expect("a frame for the clock");
    let minute_turns = until_the_minute_turns();
    assert!(
        next <= minute_turns + Duration::from_millis(50) && next + Duration::from_millis(100) >= minute_turns,
        "next frame in {next:?}, the minute turns in {minute_turns:?}"
    );
}

/// A voice pack missing clips is looked at again every [`RECHECK_CLIPS`], and the board asks for a
/// frame then (nothing else would wake an idle board).
#[test]
fn a_voice_problem_asks_for_a_frame_at_each_recheck() {
    struct MissingClips;
    impl Speaker for MissingClips {
        fn announce(&self, _: &EventFrame, _: bool) -> Announced {
            Announced::Silent
        }
        fn set_hall(&mut self, _: Hall) {}
        fn problem(&self) -> Option<String> {
            Some("loket.wav: missing".into())
        }
    }
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, AssetPlugin::default())).init_asset::<Font>().init_asset::<Image>();
    let (_player, events) = mpsc::channel();
    let (_feed, updates) = mpsc::channel();
    let voice = Voice::new(Box::new(MissingClips), events);
    let images = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/images");
    let layout = Layout::builtin("hall-landscape").unwrap();
    let screen = ScreenId("lobby-3".into());
    add_board_features(
        &mut app,
        screen,
        FeedSource::from_channel(updates),
        Some(voice),
        layout,
        images,
        None,
    );
    app.update();
    let scheduled = app.world().resource::<Wakeups>().scheduled().expect("a frame for the recheck");
    let next = scheduled.saturating_duration_since(Instant::now());
    assert!(
        next > super::audio::RECHECK_CLIPS - Duration::from_secs(1) && next <= super::audio::RECHECK_CLIPS
    );
}

/// Characters of every text in the app now, shown or hidden, by (bold, font size in px): what
/// bevy rasterizes into its glyph atlases.
fn glyphs_in(app: &mut App) -> BTreeMap<(bool, u32), BTreeSet<char>> {
    let bold = bevy::text::FontSource::from(app.world().resource::<super::view::Fonts>().bold.clone());
    let mut query = app.world_mut().query::<(&Text, &TextFont)>();
    let mut glyphs: BTreeMap<(bool, u32), BTreeSet<char>> = BTreeMap::new();
    for (text, font) in query.iter(app.world()) {
        let FontSize::Px(px) = font.font_size else { panic!("sizes are pixels from the ladder: {text:?}") };
        let chars = text.0.chars().filter(|c| !c.is_whitespace());
        glyphs.entry((font.font == bold, px as u32)).or_default().extend(chars);
    }
    glyphs
}

#[test]
fn every_glyph_the_board_shows_during_the_day_is_rendered_when_it_starts() {
    let hall = Hall::builtin();
    for layout in ["hall-landscape", "agency-wall"] {
        let mut h = test_app_showing(false, LayoutChoice::Named(layout.into()));
        // The first board is drawn without waiting for the warm-up, which comes a frame later.
        let board_only = h.texts().len();
        h.app.update();
        assert!(h.texts().len() > board_only, "{layout}: no warm-up texts in the second frame");
        let at_start = glyphs_in(&mut h.app);
        let mut seq = 0;
        let check = |h: &mut Harness, what: &str| {
            h.app.update();
            for ((bold, px), chars) in glyphs_in(&mut h.app) {
                let started_with = at_start.get(&(bold, px)).cloned().unwrap_or_default();
                let new: String = chars.difference(&started_with).collect();
                assert!(
                    new.is_empty(),
                    "{layout}, {what}: {new:?} at {px} px (bold {bold}) was not rendered at start"
                );
            }
        };
        // Every letter at every counter, with the shortest and longest numbers, so each agency
        // is the hero, the newest panel and a history row with each width of ticket.
        for agency in &hall.agencies {
            for letter in &agency.letters {
                for &counter in &agency.counters {
                    for number in [1, 999, 1000, 9999] {
                        seq += 1;
                        let ticket = format!("{letter}-{number:03}");
                        h.feed
                            .send(FeedUpdate::Event { frame: call(seq, &ticket, counter), replayed: false })
                            .unwrap();
                        check(&mut h, &ticket);
                    }
                }
            }
        }
        seq += 1;
        let text: String = (' '..='~').collect();
        let ticker = EventFrame { seq, at: jiff::Timestamp::now(), event: Event::Ticker { text } };
        h.feed.send(FeedUpdate::Event { frame: ticker, replayed: false }).unwrap();
        check(&mut h, "a ticker of every printable character");
        h.feed.send(FeedUpdate::Offline { reason: "cable pulled".into() }).unwrap();
        check(&mut h, "offline");
    }
}
