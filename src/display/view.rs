//! The board on screen: the layout's regions as UI nodes, every text fitted to its box with the
//! shared fitting code, rebuilt when the board, hall or window size change; the clock ticks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::window::{PrimaryWindow, RequestRedraw};

use super::DisplaySet;
use super::images::{ImageStore, Pictures, contain};
use super::net::{BoardState, Highlight};
use super::partial;
use super::wakeups::Wakeups;
use crate::board::CallRecord;
use crate::fit::{BOLD_TTF, Fitter, REGULAR_TTF};
use crate::hall::{Agency, Hall, parse_colour};
use crate::layout::{
    CONNECTING, DEFAULT_HISTORY_ROWS, DEFAULT_MISSED_ROWS, DEFAULT_QUEUE_ROWS, HERO_LABEL,
    HERO_PRIORITY_LABEL, HISTORY_TITLE, Layout, MISSED_TITLE, NO_TICKET, OFFLINE_BADGE, QR_CAPTION,
    QUEUE_TITLE, Rect, SERVICE_PAGE_SECONDS, ServiceText, TICKER_SAMPLE, WidgetKind, changing_texts,
    connecting_box, counter_label, hero_boxes, hero_counter, history_boxes, left_overhang, line_box,
    missed_boxes, missed_label, offline_badge_box, panel_boxes, panel_cells, priority_agency, qr_boxes,
    queue_boxes, region_agencies, region_rect, service_pages, waiting_count, waiting_line, widest_missed,
};
use crate::protocol::Seq;

/// The layout being shown.
#[derive(Resource)]
pub struct ScreenLayout(pub Layout);

/// Fonts as bevy assets and as fitters (same files, same engine: parley, so sizes agree).
#[derive(Resource)]
pub(super) struct Fonts {
    pub(super) regular: Handle<Font>,
    pub(super) bold: Handle<Font>,
    fit_regular: Fitter,
    fit_bold: Fitter,
}

/// Present in a text proof (`--text-proof`): the board is drawn as its texts alone, white on
/// black and unclipped, and every text's box is kept here for the screenshot to save.
#[derive(Resource, Default)]
pub struct TextProof {
    pub boxes: Vec<ProofBox>,
}

/// A text and the box the board gave it, in window pixels.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProofBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub text: String,
}

/// Root of everything the board spawned; despawned whole on rebuild.
#[derive(Component)]
struct BoardRoot;

/// The clock's text, updated in place every minute.
#[derive(Component)]
struct ClockText;

/// The ticker's pages, turned every [`TICKER_PAGE`] in place.
#[derive(Component)]
pub struct TickerPages {
    pub pages: Vec<String>,
    pub since: Instant,
}

const TICKER_PAGE: Duration = Duration::from_secs(6);

/// Parts of the hero that flash when its call is highlighted.
#[derive(Component, Debug, Clone, Copy, PartialEq)]
pub enum HeroPart {
    /// The coloured card; flashes brighter.
    Card { seq: Seq, base: Color },
    /// The margin around it; flashes amber.
    Frame { seq: Seq },
}

/// The hero text showing the current ticket (tests and the fleet page read it).
#[derive(Component)]
pub struct HeroTicket;

/// A running flash of the hero.
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct Flash {
    pub seq: Seq,
    pub started: Instant,
}

/// Three flashes, on for a third of a second each: seen from across the hall, over before it annoys.
pub(super) const FLASH_HALF_PERIOD: Duration = Duration::from_millis(330);
const FLASH_HALF_PERIODS: u32 = 6;
const AMBER: Color = Color::srgb(1.0, 0.77, 0.0);

/// What the current UI was built from, to know when to rebuild.
#[derive(Resource, Default, PartialEq)]
struct Built {
    seq: Option<u64>,
    hall_version: u64,
    online: bool,
    size: (u32, u32),
    /// The page of the `services` widgets (0 while none has more than one).
    service_turn: u64,
}

/// When the `services` widgets' pages started turning: the page shown follows from this alone,
/// so rebuilds for calls do not send the widget back to its first page.
#[derive(Resource)]
pub(super) struct ServiceTurns {
    pub(super) since: Instant,
    /// Whether some widget has several pages, for the hall version and window size it was
    /// worked out for (wrapping every line at every frame would be work for nothing).
    turning: Option<(PagesMadeFor, bool)>,
}

/// A hall version and a window size.
type PagesMadeFor = (u64, (u32, u32));

impl Default for ServiceTurns {
    fn default() -> Self {
        ServiceTurns { since: Instant::now(), turning: None }
    }
}

impl ServiceTurns {
    /// The turn due now and when the next one is, if some `services` widget of `layout` has more
    /// than one page for `hall`.
    fn due(
        &mut self,
        (layout, layout_changed): (&Layout, bool),
        state: &BoardState,
        size: (u32, u32),
        regular: &crate::fit::Fitter,
    ) -> Option<(u64, Instant)> {
        let hall = state.hall.as_ref()?;
        let key = (state.hall_version, size);
        let turning = match self.turning {
            Some((made_for, turning)) if made_for == key && !layout_changed => turning,
            _ => {
                let (width, height) = (size.0 as f32, size.1 as f32);
                let turning = layout.regions.iter().any(|region| {
                    region.widget == WidgetKind::Services
                        && service_pages(region, hall, region_rect(region, width, height), regular).len() > 1
                });
                self.turning = Some((key, turning));
                turning
            }
        };
        if !turning {
            return None;
        }
        let turn = self.since.elapsed().as_secs() / SERVICE_PAGE_SECONDS;
        Some((turn, self.since + Duration::from_secs(SERVICE_PAGE_SECONDS * (turn + 1))))
    }
}

const WHITE: Color = Color::WHITE;
const DIM: Color = Color::srgb(0.75, 0.8, 0.88);
const PANEL_EMPTY: Color = Color::srgb(0.14, 0.2, 0.3);
const HEADER_BG: Color = Color::srgb(0.03, 0.09, 0.2);
const OFFLINE: Color = Color::srgb(0.75, 0.1, 0.1);
/// Dark text on an amber badge.
const INK: Color = Color::srgb(0.04, 0.07, 0.12);

pub(super) fn plugin(app: &mut App, layout: Layout) {
    app.insert_resource(ScreenLayout(layout))
        .init_resource::<Built>()
        .init_resource::<ServiceTurns>()
        .init_resource::<WarmGlyphs>()
        // Normally registered by the window plugin; test apps run without it.
        .add_message::<RequestRedraw>()
        .add_systems(Startup, (load_fonts, spawn_camera))
        .add_systems(
            Update,
            (
                start_flash,
                drop_warmed_texts,
                rebuild_board,
                warm_glyphs,
                tick_clock,
                turn_ticker_pages,
                flash_hero,
            )
                .chain()
                .in_set(DisplaySet::Show),
        );
}

fn spawn_camera(mut commands: Commands) {
    // The board is flat rectangles and text, which multisampling does not improve; without its
    // sample buffers a 1920x1080 screen on lavapipe was 61 MiB smaller (RSS 299 → 237 MiB).
    commands.spawn((Camera2d, Msaa::Off));
}

fn load_fonts(mut commands: Commands, mut fonts: ResMut<Assets<Font>>) {
    commands.insert_resource(Fonts {
        regular: fonts.add(Font::from_bytes(REGULAR_TTF.to_vec())),
        bold: fonts.add(Font::from_bytes(BOLD_TTF.to_vec())),
        fit_regular: Fitter::regular(),
        fit_bold: Fitter::bold(),
    });
}

/// Rebuilds the whole board when what it shows has changed (a call is a few hundred nodes at
/// most, a few times a minute: simpler and as cheap as patching).
fn rebuild_board(
    mut commands: Commands,
    (state, layout): (Res<BoardState>, Res<ScreenLayout>),
    (fonts, clear_colour): (Option<Res<Fonts>>, Option<Res<ClearColor>>),
    (mut built, mut frames, flash): (ResMut<Built>, ResMut<partial::PartialFrames>, Option<Res<Flash>>),
    shown: ShownBoard,
    (window, mut pictures, mut proof): (
        Query<&Window, With<PrimaryWindow>>,
        Pictures,
        Option<ResMut<TextProof>>,
    ),
    (mut turns, mut wakeups, tickers): (ResMut<ServiceTurns>, ResMut<Wakeups>, Query<&TickerPages>),
) {
    let (Some(fonts), Ok(window)) = (fonts, window.single()) else { return };
    let size = (window.width() as u32, window.height() as u32);
    let turn = turns.due((&layout.0, layout.is_changed()), &state, size, &fonts.fit_regular);
    if let Some((_, next)) = turn {
        wakeups.at(next);
    }
    let now = Built {
        seq: state.board.as_ref().map(|b| b.seq),
        hall_version: state.hall_version,
        online: state.online,
        size,
        service_turn: turn.map_or(0, |(turn, _)| turn),
    };
    if *built == now && !shown.roots.is_empty() && !layout.is_changed() {
        return;
    }
    // A ticker whose text is unchanged goes on turning where it was, rather than from its first
    // page at every call.
    let ticker_since: Vec<(Vec<String>, Instant)> =
        tickers.iter().map(|t| (t.pages.clone(), t.since)).collect();
    // What the cells show now, in drawing order, to draw only what this rebuild changes.
    let looks_shown = shown.looks(size);
    let replaced = if shown.roots.is_empty() {
        None
    } else {
        let mut parts: Vec<Entity> = shown.parts.iter().collect();
        parts.sort_unstable();
        Some(parts)
    };
    for (root, _) in &shown.roots {
        commands.entity(root).despawn();
    }
    let (width, height) = (size.0 as f32, size.1 as f32);
    let Pictures { store, assets } = &mut pictures;
    let mut painter = Painter {
        fonts: &fonts,
        store,
        image_assets: assets,
        nodes: Vec::new(),
        service_turn: now.service_turn,
    };
    match (&state.hall, &state.board) {
        (Some(hall), Some(board)) => {
            for region in &layout.0.regions {
                painter.region(region, hall, board, width, height);
            }
        }
        _ => painter.text(connecting_box(width, height), CONNECTING, false, DIM, 1, None),
    }
    if !state.online {
        painter.text(offline_badge_box(width, height), OFFLINE_BADGE, true, WHITE, 1, Some(OFFLINE));
    }
    let mut nodes = painter.nodes;
    if let Some(proof) = proof.as_mut() {
        proof.boxes = nodes.iter_mut().filter_map(prove_text).collect();
        nodes.retain(|node| node.text.is_some());
    }
    // A ticker goes on from the page it showed: drawn at its first page, it would be turned back
    // within the same frame, after the change patches were worked out.
    for node in &mut nodes {
        if let (Some(TextRole::Ticker(pages)), Some((text, ..))) = (&node.text_role, &mut node.text)
            && let Some((_, since)) = ticker_since.iter().find(|(shown, _)| shown == pages)
        {
            text.clone_from(&pages[ticker_page(pages, *since).0]);
        }
    }
    let screen = Rect { x: 0.0, y: 0.0, w: width, h: height };
    // A cell whose box is not in pixels is taken as the whole screen: a patch touching it covers
    // everything, which is still right, only not cheaper.
    let boxes: Vec<Rect> = nodes.iter().map(|node| px_rect(&node.node).unwrap_or(screen)).collect();
    let hero_boxes: Vec<Rect> =
        nodes.iter().zip(&boxes).filter(|(n, _)| n.hero.is_some()).map(|(_, b)| *b).collect();
    let (flash_patches, in_flash_patch) = partial::patches_around(&boxes, hero_boxes.clone());
    // The rebuild's own frame draws what changed, and the hero too while a flash runs (the flash
    // lights the new hero within this frame).
    let looks: Vec<(Rect, CellLook)> = nodes.iter().zip(&boxes).map(|(node, b)| (*b, node.look())).collect();
    let mut changed = partial::changed_boxes(&looks_shown, &looks);
    if flash.is_some() {
        changed.extend(hero_boxes);
    }
    let (change_patches, in_change_patch) = partial::patches_around(&boxes, changed);
    let background = clear_colour.map_or(Color::NONE, |c| c.0);
    // Cells that hide whatever lies under them, in every look (the flashing frame is built
    // clear, so it is not among them).
    let opaque: Vec<Rect> = nodes
        .iter()
        .filter(|node| node.background.is_some_and(|c| c.alpha() >= 1.0))
        .filter_map(|node| px_rect(&node.node))
        .collect();
    let mut texts_changed_in_place = Vec::new();
    commands
        .spawn((
            BoardRoot,
            partial::BoardPart,
            Node { width: percent(100), height: percent(100), ..default() },
        ))
        .with_children(|root| {
            // First, so that they lie under every cell; hidden until a partial frame needs them.
            // A patch is its bounds (drawing nothing: what a partial frame reads back) and its
            // background, painted only where no opaque cell covers it.
            let bounds = |rect| (partial::BoardPart, Painter::rect_node(rect), Visibility::Hidden);
            let piece = |rect| (partial::PatchPiece, BackgroundColor(background), bounds(rect));
            for rect in flash_patches {
                root.spawn((partial::FlashPatch, bounds(rect)));
                for part in partial::uncovered(rect, &opaque) {
                    root.spawn((partial::FlashPatch, piece(part)));
                }
            }
            for rect in change_patches {
                root.spawn((partial::ChangePatch, bounds(rect)));
                for part in partial::uncovered(rect, &opaque) {
                    root.spawn((partial::ChangePatch, piece(part)));
                }
            }
            for ((node, in_flash_patch), in_change_patch) in
                nodes.into_iter().zip(in_flash_patch).zip(in_change_patch)
            {
                let mut entity = root.spawn((
                    node.node,
                    BackgroundColor(node.background.unwrap_or(Color::NONE)),
                    partial::BoardCell { in_flash_patch, in_change_patch },
                    partial::BoardPart,
                ));
                if let Some(part) = node.hero {
                    entity.insert(part);
                }
                if let Some(image) = node.image {
                    entity.insert(ImageNode::new(image));
                }
                let role = node.text_role;
                let justify = if node.left { Justify::Left } else { Justify::Center };
                if let Some((text, font, color)) = node.text {
                    entity.with_children(|cell| {
                        let mut spawned = cell.spawn((
                            Text::new(text.clone()),
                            font,
                            TextColor(color),
                            TextLayout::new(justify, LineBreak::NoWrap),
                            partial::BoardPart,
                        ));
                        if matches!(role, Some(TextRole::Clock | TextRole::Ticker(_))) {
                            texts_changed_in_place.push((spawned.id(), text));
                        }
                        match role {
                            Some(TextRole::Clock) => {
                                spawned.insert(ClockText);
                            }
                            Some(TextRole::HeroTicket) => {
                                spawned.insert(HeroTicket);
                            }
                            Some(TextRole::Ticker(pages)) => {
                                let since = ticker_since
                                    .iter()
                                    .find(|(shown, _)| *shown == pages)
                                    .map_or_else(Instant::now, |(_, since)| *since);
                                spawned.insert(TickerPages { pages, since });
                            }
                            None => {}
                        }
                    });
                }
            }
        });
    frames.rebuilt = replaced.map(|replaced| partial::Rebuilt { replaced, texts: texts_changed_in_place });
    *built = now;
}

/// A cell as drawn: its box, colour, picture and text, to tell which cells a rebuild changed.
#[derive(Debug, PartialEq)]
struct CellLook {
    node: Node,
    background: Color,
    image: Option<AssetId<Image>>,
    text: Option<(String, TextFont, Color, Justify)>,
}

type ShownCell =
    (&'static Node, &'static BackgroundColor, Option<&'static ImageNode>, Option<&'static Children>);
type ShownText = (&'static Text, &'static TextFont, &'static TextColor, &'static TextLayout);

/// The board on screen, as the rebuild replacing it reads it.
#[derive(bevy::ecs::system::SystemParam)]
struct ShownBoard<'w, 's> {
    roots: Query<'w, 's, (Entity, Option<&'static Children>), With<BoardRoot>>,
    cells: Query<'w, 's, ShownCell, With<partial::BoardCell>>,
    texts: Query<'w, 's, ShownText>,
    parts: Query<'w, 's, Entity, With<partial::BoardPart>>,
}

impl ShownBoard<'_, '_> {
    /// Each cell's box and look, in drawing order, in a window of `size`.
    fn looks(&self, size: (u32, u32)) -> Vec<(Rect, CellLook)> {
        let cells = self.roots.iter().filter_map(|(_, children)| children).flat_map(|c| c.iter());
        cells.filter_map(|cell| self.cells.get(cell).ok()).map(|cell| self.look(cell, size)).collect()
    }

    fn look(
        &self,
        (node, background, image, children): (&Node, &BackgroundColor, Option<&ImageNode>, Option<&Children>),
        size: (u32, u32),
    ) -> (Rect, CellLook) {
        let text = children
            .and_then(|children| children.iter().find_map(|child| self.texts.get(child).ok()))
            .map(|(text, font, colour, layout)| (text.0.clone(), font.clone(), colour.0, layout.justify));
        // As for the new cells: a box not in pixels is taken as the whole window.
        let rect = px_rect(node).unwrap_or(Rect { x: 0.0, y: 0.0, w: size.0 as f32, h: size.1 as f32 });
        let image = image.map(|i| i.image.id());
        (rect, CellLook { node: node.clone(), background: background.0, image, text })
    }
}

/// A node's box, when it is placed in pixels (every cell [`Painter`] places is).
pub(super) fn px_rect(node: &Node) -> Option<Rect> {
    match (node.left, node.top, node.width, node.height) {
        (Val::Px(x), Val::Px(y), Val::Px(w), Val::Px(h)) => Some(Rect { x, y, w, h }),
        _ => None,
    }
}

/// A placed text as its proof shows it (white, nothing behind, not clipped), and its box.
fn prove_text(node: &mut Placed) -> Option<ProofBox> {
    let (text, _, colour) = node.text.as_mut()?;
    *colour = WHITE;
    node.background = None;
    node.image = None;
    node.hero = None;
    node.node.overflow = Overflow::visible();
    let unplaced = Rect { x: f32::NAN, y: f32::NAN, w: f32::NAN, h: f32::NAN };
    let Rect { x, y, w, h } = px_rect(&node.node).unwrap_or(unplaced);
    Some(ProofBox { x, y, w, h, text: text.clone() })
}

/// Out-of-sight texts holding the glyphs the board may show later, at the sizes it will show them.
#[derive(Component)]
struct GlyphWarmup;

/// What the screen has rendered ahead ([`changing_texts`]): bevy keeps each glyph it rasterized,
/// per font and size, for as long as the app runs.
#[derive(Resource, Default)]
struct WarmGlyphs {
    /// Layout changes seen, so that a new layout counts as new in a later frame too.
    layouts: u64,
    /// The hall version, layout change and window size they were worked out for.
    built: Option<(u64, u64, (u32, u32))>,
    /// The same for the frame before, whose board was drawn first.
    due: Option<(u64, u64, (u32, u32))>,
    /// Texts by (bold, font size in px).
    texts: BTreeMap<(bool, u32), BTreeSet<String>>,
}

/// In the frame after the hall, layout or window changed (that frame draws the board without
/// waiting for this): renders, hidden, every form of every changing text, each at the size the
/// board would give it, so that later calls, clock lines, tickers and offline spells find their
/// glyphs in the atlases built at start.
fn warm_glyphs(
    mut commands: Commands,
    (state, layout): (Res<BoardState>, Res<ScreenLayout>),
    fonts: Option<Res<Fonts>>,
    mut warm: ResMut<WarmGlyphs>,
    earlier: Query<Entity, With<GlyphWarmup>>,
    window: Query<&Window, With<PrimaryWindow>>,
    mut redraw: MessageWriter<RequestRedraw>,
) {
    let (Some(fonts), Ok(window), Some(hall)) = (fonts, window.single(), &state.hall) else { return };
    if layout.is_changed() {
        warm.layouts += 1;
    }
    let size = (window.width() as u32, window.height() as u32);
    let now = Some((state.hall_version, warm.layouts, size));
    if warm.built == now {
        return;
    }
    if warm.due != now {
        warm.due = now;
        redraw.write(RequestRedraw);
        return;
    }
    warm.built = now;
    for text in changing_texts(&layout.0, hall, size.0 as f32, size.1 as f32) {
        let fitter = if text.bold { &fonts.fit_bold } else { &fonts.fit_regular };
        let px = fitter.fit(&text.sample, text.rect.w, text.rect.h, text.max_lines).size;
        warm.texts.entry((text.bold, px as u32)).or_default().insert(text.glyphs);
    }
    for entity in &earlier {
        commands.entity(entity).despawn();
    }
    let root = (GlyphWarmup, Node { position_type: PositionType::Absolute, ..default() }, Visibility::Hidden);
    commands.spawn(root).with_children(|root| {
        for ((bold, px), texts) in &warm.texts {
            let font = if *bold { &fonts.bold } else { &fonts.regular };
            root.spawn((
                Text::new(texts.iter().map(String::as_str).collect::<Vec<_>>().join(" ")),
                TextFont { font: font.clone().into(), font_size: FontSize::Px(*px as f32), ..default() },
                TextLayout::new(Justify::Left, LineBreak::NoWrap),
            ));
        }
    });
}

/// Removes the warm-up texts once bevy has laid them out: their glyphs stay in the atlases, and
/// kept they would be laid out again with every rebuild of the board.
fn drop_warmed_texts(
    mut commands: Commands,
    roots: Query<(Entity, &Children), With<GlyphWarmup>>,
    laid_out: Query<&bevy::text::TextLayoutInfo>,
) {
    for (root, texts) in &roots {
        if texts.iter().all(|text| laid_out.get(text).is_ok_and(|info| !info.glyphs.is_empty())) {
            commands.entity(root).despawn();
        }
    }
}

/// Shows the ticker page due now and asks for a frame when the next one is.
fn turn_ticker_pages(mut tickers: Query<(&TickerPages, &mut Text)>, mut wakeups: ResMut<Wakeups>) {
    for (ticker, mut text) in &mut tickers {
        if ticker.pages.len() < 2 {
            continue;
        }
        let (page, next) = ticker_page(&ticker.pages, ticker.since);
        if text.0 != ticker.pages[page] {
            text.0.clone_from(&ticker.pages[page]);
        }
        wakeups.at(next);
    }
}

/// The page of `pages` due now for a ticker turning since `since`, and when the next is due.
fn ticker_page(pages: &[String], since: Instant) -> (usize, Instant) {
    let turns = since.elapsed().as_secs() / TICKER_PAGE.as_secs();
    (turns as usize % pages.len().max(1), since + TICKER_PAGE * (turns + 1) as u32)
}

/// A highlighted call starts the hero's flash (the newest highlight wins).
fn start_flash(mut commands: Commands, mut highlights: MessageReader<Highlight>) {
    if let Some(highlight) = highlights.read().last() {
        commands.insert_resource(Flash { seq: highlight.seq, started: Instant::now() });
    }
}

/// Turns the flash of the hero showing the highlighted call on and off. The reactive loop draws
/// a frame only at each turn: drawing every frame in between changed nothing on screen, kept a
/// software-rendering PC's CPU busy for the whole flash, and made the next call wait for the
/// frame in flight.
fn flash_hero(
    mut commands: Commands,
    flash: Option<Res<Flash>>,
    mut parts: Query<(&HeroPart, &mut BackgroundColor)>,
    mut wakeups: ResMut<Wakeups>,
) {
    let Some(flash) = flash else { return };
    let half_periods = (flash.started.elapsed().as_millis() / FLASH_HALF_PERIOD.as_millis()) as u32;
    let over = half_periods >= FLASH_HALF_PERIODS;
    let on = !over && half_periods.is_multiple_of(2);
    for (part, mut background) in &mut parts {
        let colour = match *part {
            HeroPart::Card { seq, base } if seq == flash.seq => {
                if on {
                    base.mix(&Color::WHITE, 0.35)
                } else {
                    base
                }
            }
            HeroPart::Frame { seq } if seq == flash.seq => {
                if on {
                    AMBER
                } else {
                    Color::NONE
                }
            }
            _ => continue,
        };
        if background.0 != colour {
            background.0 = colour;
        }
    }
    if over {
        commands.remove_resource::<Flash>();
    } else {
        wakeups.at(flash.started + FLASH_HALF_PERIOD * (half_periods + 1));
    }
}

/// Updates the clock's text and asks for a frame when the minute changes.
fn tick_clock(
    state: Res<BoardState>,
    mut clocks: Query<&mut Text, With<ClockText>>,
    mut wakeups: ResMut<Wakeups>,
) {
    let Some(hall) = &state.hall else { return };
    if clocks.is_empty() {
        return;
    }
    let now = jiff::Timestamp::now();
    let line = crate::clock::clock_line(now, hall.timezone);
    for mut text in &mut clocks {
        if text.0 != line {
            text.0 = line.clone();
        }
    }
    wakeups.at(super::wakeups::next_minute(now));
}

/// A positioned node, optionally holding one fitted text.
#[derive(Default)]
struct Placed {
    node: Node,
    background: Option<Color>,
    text: Option<(String, TextFont, Color)>,
    /// What the text is, for the systems that change it in place.
    text_role: Option<TextRole>,
    hero: Option<HeroPart>,
    image: Option<Handle<Image>>,
    /// The text starts at the box's left edge instead of its middle.
    left: bool,
}

impl Placed {
    /// How this cell will be drawn (see [`CellLook`]).
    fn look(&self) -> CellLook {
        let justify = if self.left { Justify::Left } else { Justify::Center };
        CellLook {
            node: self.node.clone(),
            background: self.background.unwrap_or(Color::NONE),
            image: self.image.as_ref().map(Handle::id),
            text: self
                .text
                .as_ref()
                .map(|(text, font, colour)| (text.clone(), font.clone(), *colour, justify)),
        }
    }
}

enum TextRole {
    Clock,
    HeroTicket,
    /// Pages to turn (the text shows the one due, from its first).
    Ticker(Vec<String>),
}

/// Collects nodes for one rebuild.
struct Painter<'a> {
    fonts: &'a Fonts,
    store: &'a mut ImageStore,
    image_assets: &'a mut Assets<Image>,
    nodes: Vec<Placed>,
    /// Which page the `services` widgets show.
    service_turn: u64,
}

impl Painter<'_> {
    fn rect_node(rect: Rect) -> Node {
        Node {
            position_type: PositionType::Absolute,
            left: px(rect.x),
            top: px(rect.y),
            width: px(rect.w),
            height: px(rect.h),
            justify_content: JustifyContent::Center,
            align_items: AlignItems::Center,
            overflow: Overflow::clip(),
            ..default()
        }
    }

    /// Places the image `name` as large as fits `area`, keeping its proportions; whether it could.
    fn image(&mut self, area: Rect, name: &str) -> bool {
        let Some((handle, size)) = self.store.get(name, self.image_assets) else { return false };
        self.nodes.push(Placed {
            node: Self::rect_node(contain(area, size)),
            image: Some(handle),
            ..Default::default()
        });
        true
    }

    fn mark(&mut self, part: HeroPart) {
        self.nodes.last_mut().expect("just placed").hero = Some(part);
    }

    fn fill(&mut self, rect: Rect, colour: Color) {
        self.nodes.push(Placed {
            node: Self::rect_node(rect),
            background: Some(colour),
            text: None,
            ..Default::default()
        });
    }

    /// Places `text` at the largest ladder size that fits `rect`.
    fn text(
        &mut self,
        rect: Rect,
        text: &str,
        bold: bool,
        colour: Color,
        max_lines: usize,
        background: Option<Color>,
    ) {
        let fitter = if bold { &self.fonts.fit_bold } else { &self.fonts.fit_regular };
        let fit = fitter.fit(text, rect.w, rect.h, max_lines);
        self.place(rect, fit, bold, colour);
        if let Some(background) = background {
            self.nodes.last_mut().expect("just placed").background = Some(background);
        }
    }

    /// Places `text` on one line like [`Self::text`], but from the box's left edge; its node
    /// reaches [`left_overhang`] further left, for glyphs that start left of their origin.
    fn text_from_left(&mut self, rect: Rect, text: &str, bold: bool, colour: Color) {
        self.text(rect, text, bold, colour, 1, None);
        let overhang = left_overhang(rect);
        let placed = self.nodes.last_mut().expect("just placed");
        placed.left = true;
        placed.node.left = px(rect.x - overhang);
        placed.node.width = px(rect.w + overhang);
        placed.node.padding = UiRect::left(px(overhang));
        placed.node.justify_content = JustifyContent::FlexStart;
    }

    /// Places already fitted lines.
    fn place(&mut self, rect: Rect, fit: crate::fit::Fit, bold: bool, colour: Color) {
        let font = if bold { &self.fonts.bold } else { &self.fonts.regular };
        let font = TextFont { font: font.clone().into(), font_size: FontSize::Px(fit.size), ..default() };
        self.nodes.push(Placed {
            node: Self::rect_node(rect),
            background: None,
            text: Some((fit.lines.join("\n"), font, colour)),
            ..Default::default()
        });
    }

    fn region(
        &mut self,
        region: &crate::layout::Region,
        hall: &Hall,
        board: &crate::board::Board,
        w: f32,
        h: f32,
    ) {
        let area = region_rect(region, w, h);
        let agencies = region_agencies(region, hall);
        let ids: Vec<&str> = agencies.iter().map(|a| a.id.as_str()).collect();
        let shown = |record: &&CallRecord| region.agencies.is_none() || ids.contains(&record.agency.as_str());
        match region.widget {
            WidgetKind::Header => {
                self.fill(area, HEADER_BG);
                let mut text_box = line_box(area);
                // The logo at the left; the name stays centred between equal margins.
                let logo = Rect {
                    x: area.x + area.h * 0.15,
                    y: area.y + area.h * 0.1,
                    w: area.h * 1.6,
                    h: area.h * 0.8,
                };
                if let Some(name) = &hall.logo
                    && self.image(logo, name)
                {
                    let margin = logo.x + logo.w - area.x + area.h * 0.15;
                    text_box = Rect { x: area.x + margin, w: (area.w - 2.0 * margin).max(1.0), ..text_box };
                }
                self.text(text_box, &hall.name, true, WHITE, 1, None);
            }
            WidgetKind::Clock => {
                self.fill(area, HEADER_BG);
                let line = crate::clock::clock_line(jiff::Timestamp::now(), hall.timezone);
                // Fitted for the widest date, so the size never changes (one font atlas).
                let longest = crate::clock::longest_clock_line(hall.timezone);
                let fit = self.fonts.fit_regular.fit(&longest, line_box(area).w, line_box(area).h, 1);
                let font = TextFont {
                    font: self.fonts.regular.clone().into(),
                    font_size: FontSize::Px(fit.size),
                    ..default()
                };
                self.nodes.push(Placed {
                    node: Self::rect_node(line_box(area)),
                    background: None,
                    text: Some((line, font, DIM)),
                    text_role: Some(TextRole::Clock),
                    ..Default::default()
                });
            }
            WidgetKind::Ticker => {
                self.fill(area, HEADER_BG);
                let text = board.ticker.clone().unwrap_or_default();
                let rect = line_box(area);
                // One line at the size its height allows; longer text is shown page by page.
                let size = self.fonts.fit_regular.fit(TICKER_SAMPLE, f32::INFINITY, rect.h, 1).size;
                let pages = self.fonts.fit_regular.pages(&text, size, rect.w);
                let font = TextFont {
                    font: self.fonts.regular.clone().into(),
                    font_size: FontSize::Px(size),
                    ..default()
                };
                self.nodes.push(Placed {
                    node: Self::rect_node(rect),
                    background: None,
                    text: Some((pages[0].clone(), font, WHITE)),
                    text_role: (pages.len() > 1).then_some(TextRole::Ticker(pages)),
                    ..Default::default()
                });
            }
            WidgetKind::NowCalling => {
                let current = board.recent.iter().find(shown);
                let agency = current.and_then(|c| hall.agency(&c.agency));
                let base = agency.map_or(PANEL_EMPTY, agency_colour);
                let card = area.part(0.02, 0.02, 0.96, 0.96);
                if let Some(call) = current {
                    // The frame is a ring under the card's edges, not the whole area under it: a
                    // lit frame then shades the margin, not the card's pixels twice.
                    for strip in partial::uncovered(area, &[card]) {
                        self.fill(strip, Color::NONE);
                        self.mark(HeroPart::Frame { seq: call.seq });
                    }
                }
                self.fill(card, base);
                if let Some(call) = current {
                    self.mark(HeroPart::Card { seq: call.seq, base });
                }
                let hero = hero_boxes(area);
                // A priority ticket (lansia, disabilitas, ibu hamil) says so, in amber.
                match current.and_then(|c| c.priority) {
                    Some(_) => self.text(hero.label, HERO_PRIORITY_LABEL, true, AMBER, 1, None),
                    None => self.text(hero.label, HERO_LABEL, true, WHITE, 1, None),
                }
                match (current, agency) {
                    (Some(call), Some(agency)) => {
                        self.text(hero.ticket, &call.ticket.to_string(), true, WHITE, 1, None);
                        self.nodes.last_mut().expect("just placed").text_role = Some(TextRole::HeroTicket);
                        self.text(hero.counter, &hero_counter(call.counter), true, WHITE, 1, None);
                        self.text(hero.agency, &agency.name, false, WHITE, 2, None);
                    }
                    _ => self.text(hero.ticket, NO_TICKET, true, DIM, 1, None),
                }
            }
            WidgetKind::History => {
                let rows = region.rows.unwrap_or(DEFAULT_HISTORY_ROWS);
                let (title, row_boxes) = history_boxes(area, rows);
                self.text(title, HISTORY_TITLE, true, DIM, 1, None);
                for (record, row) in board.recent.iter().filter(shown).zip(row_boxes) {
                    let short =
                        hall.agency(&record.agency).map_or(record.agency.as_str(), |a| a.short.as_str());
                    let colour = if record.priority.is_some() { AMBER } else { WHITE };
                    self.text(row.ticket, &record.ticket.to_string(), true, colour, 1, None);
                    self.text(row.counter, &counter_label(record.counter), false, WHITE, 1, None);
                    match record.priority {
                        Some(_) => self.text(row.agency, &priority_agency(short), false, AMBER, 1, None),
                        None => self.text(row.agency, short, false, DIM, 1, None),
                    }
                }
            }
            WidgetKind::AgencyPanels => {
                let cells = panel_cells(area, agencies.len(), region.columns);
                // Once the hall hands out tickets through papan, every panel gets a queue line.
                let with_queue = !board.queues.is_empty();
                let newest = board.recent.iter().find(shown).map(|c| c.agency.as_str());
                // An agency's logo, when it has one, goes left of its name.
                let name_boxes: Vec<(Rect, Option<Rect>)> = agencies
                    .iter()
                    .zip(&cells)
                    .map(|(agency, cell)| {
                        let name = panel_boxes(*cell, with_queue).name;
                        let logo =
                            agency.logo.as_deref().and_then(|file| self.store.get(file, self.image_assets));
                        match logo {
                            Some(_) => {
                                let side = name.h * 0.8;
                                let logo = Rect { x: name.x, y: name.y + name.h * 0.1, w: side, h: side };
                                let gap = side * 1.1;
                                (Rect { x: name.x + gap, w: (name.w - gap).max(1.0), ..name }, Some(logo))
                            }
                            None => (name, None),
                        }
                    })
                    .collect();
                // One name size for the whole grid (the size the longest name needs): tidier from
                // afar, and one font atlas instead of many.
                let name_size = agencies
                    .iter()
                    .zip(&name_boxes)
                    .map(|(a, (b, _))| self.fonts.fit_bold.fit(&a.short, b.w, b.h, 2).size)
                    .fold(f32::MAX, f32::min);
                for ((agency, cell), (name_box, logo_box)) in agencies.iter().zip(cells).zip(name_boxes) {
                    let latest = board.agencies.get(&agency.id);
                    let colour = if latest.is_some() { agency_colour(agency) } else { PANEL_EMPTY };
                    // The agency just called stands out in an amber frame.
                    if newest == Some(agency.id.as_str()) {
                        self.fill(cell.part(0.005, 0.01, 0.99, 0.98), AMBER);
                    }
                    self.fill(cell.part(0.03, 0.05, 0.94, 0.9), colour);
                    let panel = panel_boxes(cell, with_queue);
                    if let (Some(logo_box), Some(file)) = (logo_box, &agency.logo) {
                        self.image(logo_box, file);
                    }
                    let fit =
                        self.fonts.fit_bold.fit_at_most(&agency.short, name_size, name_box.w, name_box.h, 2);
                    self.place(name_box, fit, true, WHITE);
                    match latest {
                        Some(call) => {
                            self.text(panel.ticket, &call.ticket.to_string(), true, WHITE, 1, None);
                            self.text(panel.counter, &counter_label(call.counter), false, WHITE, 1, None);
                        }
                        None => self.text(panel.ticket, NO_TICKET, true, DIM, 1, None),
                    }
                    if let (Some(waiting_box), Some(queue)) = (panel.waiting, board.queue(&agency.id)) {
                        let (waiting, _) = queue.waiting_counts();
                        let band = board.outlook(agency, None).1;
                        self.text(waiting_box, &waiting_line(waiting, band), false, WHITE, 1, None);
                    }
                }
            }
            WidgetKind::Queue => {
                let (title, rows) = queue_boxes(area, region.rows.unwrap_or(DEFAULT_QUEUE_ROWS));
                let queued: Vec<_> =
                    agencies.iter().filter_map(|agency| Some((*agency, board.queue(&agency.id)?))).collect();
                // A hall whose tickets papan does not know shows nothing here.
                if !queued.is_empty() {
                    self.text(title, QUEUE_TITLE, true, DIM, 1, None);
                }
                for ((agency, queue), row) in queued.into_iter().zip(rows) {
                    let (waiting, _) = queue.waiting_counts();
                    let band = board.outlook(agency, None).1;
                    self.text(row.agency, &agency.short, true, WHITE, 1, None);
                    self.text(row.waiting, &waiting_count(waiting), false, WHITE, 1, None);
                    self.text(
                        row.band,
                        &band.map_or_else(|| NO_TICKET.to_string(), |b| b.short()),
                        false,
                        DIM,
                        1,
                        None,
                    );
                }
            }
            WidgetKind::Missed => {
                let (title, cells) = missed_boxes(area, region.rows.unwrap_or(DEFAULT_MISSED_ROWS));
                let now = jiff::Timestamp::now();
                let missed: Vec<String> = agencies
                    .iter()
                    .filter_map(|agency| board.queue(&agency.id))
                    .flat_map(|queue| queue.missed_at(now))
                    .map(|m| missed_label(&m.ticket.to_string(), m.counter))
                    .collect();
                if !missed.is_empty() {
                    self.text(title, MISSED_TITLE, true, DIM, 1, None);
                }
                // One size for every label: the widest a ticket and counter of this hall make.
                let widest = widest_missed(hall);
                let size = cells.first().map_or(0.0, |c| self.fonts.fit_bold.fit(&widest, c.w, c.h, 1).size);
                for (label, cell) in missed.iter().zip(cells) {
                    let fit = self.fonts.fit_bold.fit_at_most(label, size, cell.w, cell.h, 1);
                    self.place(cell, fit, true, AMBER);
                }
            }
            WidgetKind::Qr => {
                let page =
                    crate::public_view::phone_page(hall.public_url.as_deref(), self.store.hub_url.as_deref());
                let Some(page) = page else { return };
                let boxes = qr_boxes(area);
                let Some((code, size)) = self.store.qr_code(&page, self.image_assets) else { return };
                // A whole number of pixels per module: even squares read best from afar.
                let per_module = (boxes.code.w / size.x as f32).floor().max(1.0);
                let side = per_module * size.x as f32;
                let square = Rect {
                    x: (boxes.code.x + (boxes.code.w - side) / 2.0).round(),
                    y: (boxes.code.y + (boxes.code.h - side) / 2.0).round(),
                    w: side,
                    h: side,
                };
                self.nodes.push(Placed {
                    node: Self::rect_node(square),
                    image: Some(code),
                    ..Default::default()
                });
                self.text(boxes.caption, QR_CAPTION, true, WHITE, 1, None);
            }
            WidgetKind::Services => {
                let pages = service_pages(region, hall, area, &self.fonts.fit_regular);
                // A region whose agencies publish no standards stays empty.
                if pages.is_empty() {
                    return;
                }
                self.fill(area.part(0.01, 0.01, 0.98, 0.98), PANEL_EMPTY);
                let page = &pages[(self.service_turn % pages.len() as u64) as usize];
                for text in page.texts(area) {
                    let (colour, background) = match text.kind {
                        ServiceText::Title | ServiceText::Label | ServiceText::PageNumber => (DIM, None),
                        ServiceText::Example => (INK, Some(AMBER)),
                        ServiceText::Name | ServiceText::Requirement | ServiceText::Detail => (WHITE, None),
                    };
                    if text.left {
                        self.text_from_left(text.rect, &text.text, text.bold, colour);
                    } else {
                        self.text(text.rect, &text.text, text.bold, colour, 1, background);
                    }
                }
            }
            WidgetKind::Image => {
                if let Some(name) = &region.image {
                    self.image(area, name);
                }
            }
        }
    }
}

fn agency_colour(agency: &Agency) -> Color {
    let (r, g, b) = parse_colour(&agency.colour).unwrap_or((40, 60, 90));
    Color::srgb_u8(r, g, b)
}
