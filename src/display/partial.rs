//! Partial frames for software rendering: when only part of the board changed (a call, a flash turn), a frame keeps the last picture and redraws just that part.
//!
//! On a CPU adapter (lavapipe, llvmpipe) a frame's cost is the pixels it shades. A flash toggle
//! used to redraw the whole board four times a second, and a call the whole board although it
//! changes the hero, the history and one panel. The board's cells are absolute rectangles, so at
//! each rebuild [`patches_around`] finds, around each part that may change, the smallest rectangle
//! that holds every cell touching it. In a partial frame the camera does not clear (the main
//! texture keeps the last frame), that rectangle is painted with the layout's background, and
//! only the cells inside it are drawn, in their usual order: inside the patch the pixels are
//! those of a full frame, outside it nothing was drawn and nothing changed.
//!
//! Two kinds of patch: around the flashing hero (flash turns), and around what a rebuild changed
//! ([`changed_boxes`] compares each cell's look, box included, with what was shown). Any other
//! change (the clock's minute, a ticker page, a picture loading, a resize, an overlay) draws a
//! full frame, and so does a rebuild with something else changing in its frame, the first build,
//! and the frame after a flash ends.
//!
//! With frames put on X by hand (`x_present`) a flash turn need not be drawn at all once its
//! picture was seen: the hero only turns between two looks (lit, not lit) while nothing else in
//! its patch changes, so the picture of the patch after a frame is kept per look ([`plan_replay`])
//! and a later turn to a kept look draws nothing and puts that picture on X again.
//!
//! Only for CPU adapters (wgpu's device type): on a GPU a full frame costs next to nothing and
//! nothing here runs. `PAPAN_PARTIAL_FRAMES=0` or `=1` overrides, for comparisons.

use std::sync::atomic::Ordering;

use bevy::camera::ClearColorConfig;
use bevy::camera::visibility::VisibilitySystems;
use bevy::math::URect;
use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::text::TextLayoutInfo;
use bevy::ui::{UiGlobalTransform, UiSystems};
use bevy::window::{WindowOccluded, WindowResized};

use super::view::{Flash, HeroPart};
use super::x_present::OwnPresent;
use crate::layout::Rect;

pub(super) fn plugin(app: &mut App) {
    // Registered here too, for apps without a window plugin (tests).
    app.add_message::<WindowResized>().add_message::<WindowOccluded>();
    app.init_resource::<PartialFrames>().add_systems(
        PostUpdate,
        choose_frame_kind.after(UiSystems::PostLayout).before(VisibilitySystems::VisibilityPropagate),
    );
}

/// Whether frames may be partial, and how many were (the frame log says which).
#[derive(Resource, Debug)]
pub struct PartialFrames {
    /// `PAPAN_PARTIAL_FRAMES`, when set: on or off whatever the adapter.
    pub forced: Option<bool>,
    /// Whether the frame being drawn now is partial.
    pub this_frame: bool,
    pub partial: u64,
    /// Left by a rebuild of the board in this frame, for [`choose_frame_kind`].
    pub(super) rebuilt: Option<Rebuilt>,
    /// In a partial frame, the patches it draws, in the window's pixels (rounded outwards).
    pub(super) drawn_patches: Vec<URect>,
    /// Whether the frame being drawn now is a flash turn put from a kept picture, and how many were.
    pub this_frame_replayed: bool,
    pub replayed: u64,
    /// What the render world keeps of this frame's flash patches, or puts from what it kept.
    pub(super) replay: FlashReplay,
}

/// Pictures of the flash patches kept per look of the hero, for the render world (`x_present`).
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct FlashReplay {
    /// Let every kept picture go, before anything else (the board changed, or no flash runs).
    pub forget: bool,
    /// Keep what the flash patches show once this frame is on X, as picture `n`.
    pub keep: Option<usize>,
    /// Put kept picture `n` on X: this frame drew nothing.
    pub put: Option<usize>,
    /// The flash patches, in the window's pixels.
    pub rects: Vec<URect>,
}

/// The hero's look: each part's colour, by entity.
pub(super) type HeroLook = Vec<(Entity, Color)>;

/// At most this many pictures are kept (the flash has two looks; the bound is for safety).
const MAX_KEPT_LOOKS: usize = 4;

impl Default for PartialFrames {
    fn default() -> Self {
        let forced = forced_by_env("PAPAN_PARTIAL_FRAMES");
        PartialFrames {
            forced,
            this_frame: false,
            partial: 0,
            rebuilt: None,
            drawn_patches: Vec::new(),
            this_frame_replayed: false,
            replayed: 0,
            replay: FlashReplay::default(),
        }
    }
}

/// What a rebuild of a board that was already shown leaves for deciding its frame.
#[derive(Debug, Default)]
pub(super) struct Rebuilt {
    /// Every part of the board it replaced, sorted: their removal is the rebuild's own.
    pub replaced: Vec<Entity>,
    /// Texts that other systems change in place (clock, ticker), as the rebuild drew them: if one
    /// changed within the same frame, the change patches do not cover it.
    pub texts: Vec<(Entity, String)>,
}

/// Every entity a rebuild of the board spawns (root, cells, their texts, patches).
#[derive(Component)]
pub(super) struct BoardPart;

/// A cell of the board: a direct child of its root, with its own rectangle.
#[derive(Component)]
pub(super) struct BoardCell {
    /// Drawn in flash turns: it lies inside a flash patch.
    pub in_flash_patch: bool,
    /// Drawn in the rebuild's own frame: it lies inside a change patch.
    pub in_change_patch: bool,
}

/// A flash patch's bounds, or a piece of its background, painted under its cells in a flash turn
/// (hidden otherwise).
#[derive(Component)]
pub(super) struct FlashPatch;

/// A piece of a patch's background, not its bounds.
#[derive(Component)]
pub(super) struct PatchPiece;

/// A change patch's bounds, or a piece of its background, painted under its cells in the frame
/// of the rebuild that made it (hidden otherwise).
#[derive(Component)]
pub(super) struct ChangePatch;

/// A comparison switch (`NAME=0` or `=1`) that overrides what the adapter would choose; any other
/// value is named in the log and ignored.
pub(super) fn forced_by_env(name: &str) -> Option<bool> {
    match std::env::var(name).as_deref() {
        Ok("0") => Some(false),
        Ok("1") => Some(true),
        Ok(other) => {
            warn!("{name}={other:?} is neither 0 nor 1; ignored");
            None
        }
        Err(_) => None,
    }
}

/// Rectangles around `seeds`, each grown until every cell it touches lies wholly inside it, and
/// merged where they meet; and, per cell, whether it lies in one. Cells that only share an edge
/// with a patch stay out of it.
pub fn patches_around(cells: &[Rect], seeds: Vec<Rect>) -> (Vec<Rect>, Vec<bool>) {
    let mut patches = seeds;
    loop {
        let mut grown = false;
        // Merge patches that overlap.
        let mut i = 0;
        while i < patches.len() {
            if let Some(j) = (i + 1..patches.len()).find(|&j| overlaps(patches[i], patches[j])) {
                let other = patches.remove(j);
                patches[i] = union(patches[i], other);
                grown = true;
            } else {
                i += 1;
            }
        }
        // Take in every cell a patch touches.
        for patch in &mut patches {
            for cell in cells {
                if overlaps(*patch, *cell) && !contains(*patch, *cell) {
                    *patch = union(*patch, *cell);
                    grown = true;
                }
            }
        }
        if !grown {
            break;
        }
    }
    let inside = cells.iter().map(|cell| patches.iter().any(|p| overlaps(*p, *cell))).collect();
    (patches, inside)
}

/// The parts of `patch` that no opaque box covers, as rectangles: where a patch's background must
/// be painted under its cells (on a CPU adapter every layer of pixels costs). Each opaque box is
/// first shrunk to whole pixels and by one more, so that the background still lies under its
/// edge pixels, which are blended, at any scale factor.
pub fn uncovered(patch: Rect, opaque: &[Rect]) -> Vec<Rect> {
    let mut pieces = vec![patch];
    for o in opaque {
        let (x0, y0) = (o.x.ceil() + 1.0, o.y.ceil() + 1.0);
        let (x1, y1) = ((o.x + o.w).floor() - 1.0, (o.y + o.h).floor() - 1.0);
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        let inner = Rect { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
        pieces = pieces.into_iter().flat_map(|piece| subtract(piece, inner)).collect();
    }
    pieces
}

/// `piece` without `hole`: up to four rectangles (above, below, left and right of it).
fn subtract(piece: Rect, hole: Rect) -> Vec<Rect> {
    if !overlaps(piece, hole) {
        return vec![piece];
    }
    let (bottom, right) = (piece.y + piece.h, piece.x + piece.w);
    let (hole_bottom, hole_right) = (hole.y + hole.h, hole.x + hole.w);
    let (band_top, band_bottom) = (piece.y.max(hole.y), bottom.min(hole_bottom));
    let band = |x0: f32, x1: f32| Rect { x: x0, y: band_top, w: x1 - x0, h: band_bottom - band_top };
    [
        Rect { x: piece.x, y: piece.y, w: piece.w, h: hole.y - piece.y },
        Rect { x: piece.x, y: hole_bottom, w: piece.w, h: bottom - hole_bottom },
        band(piece.x, hole.x),
        band(hole_right, right),
    ]
    .into_iter()
    .filter(|r| r.w > 0.0 && r.h > 0.0)
    .collect()
}

/// Where a rebuild changes the picture, given each cell's box and look before and after, in
/// drawing order: the boxes of cells shown before and not now, and of cells shown now and not
/// before. A cell kept is one whose box and look are equal to one shown before; two kept cells
/// that overlap and are now drawn in the other order count as changed, both.
pub fn changed_boxes<L: PartialEq>(before: &[(Rect, L)], now: &[(Rect, L)]) -> Vec<Rect> {
    let mut taken = vec![false; before.len()];
    let mut kept: Vec<Option<usize>> = now
        .iter()
        .map(|cell| {
            let found = (0..before.len()).find(|&j| !taken[j] && before[j] == *cell)?;
            taken[found] = true;
            Some(found)
        })
        .collect();
    for i in 0..now.len() {
        for k in i + 1..now.len() {
            if let (Some(a), Some(b)) = (kept[i], kept[k])
                && a > b
                && overlaps(now[i].0, now[k].0)
            {
                (taken[a], taken[b]) = (false, false);
                (kept[i], kept[k]) = (None, None);
            }
        }
    }
    let gone = before.iter().zip(&taken).filter(|(_, taken)| !**taken).map(|(cell, _)| cell.0);
    let new = now.iter().zip(&kept).filter(|(_, kept)| kept.is_none()).map(|(cell, _)| cell.0);
    gone.chain(new).collect()
}

/// The pixels a node covers, given its centre and size in the window's pixels: rounded outwards
/// (a patch's edge pixels are partly painted), none left of or above the window.
pub fn pixel_box(centre: Vec2, size: Vec2) -> URect {
    let (min, max) = (centre - size / 2.0, centre + size / 2.0);
    URect::from_corners(min.floor().max(Vec2::ZERO).as_uvec2(), max.ceil().max(Vec2::ZERO).as_uvec2())
}

/// Whether `a` and `b` share more than an edge.
pub(super) fn overlaps(a: Rect, b: Rect) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

/// Whether `inner` lies wholly in `outer`.
pub(super) fn contains(outer: Rect, inner: Rect) -> bool {
    outer.x <= inner.x
        && outer.y <= inner.y
        && inner.x + inner.w <= outer.x + outer.w
        && inner.y + inner.h <= outer.y + outer.h
}

fn union(a: Rect, b: Rect) -> Rect {
    let (x, y) = (a.x.min(b.x), a.y.min(b.y));
    Rect { x, y, w: (a.x + a.w).max(b.x + b.w) - x, h: (a.y + a.h).max(b.y + b.h) - y }
}

/// Nodes whose picture changed, the hero parts' colours aside.
type PictureChanged = (
    With<Node>,
    Without<HeroPart>,
    Or<(
        Changed<ComputedNode>,
        Changed<UiGlobalTransform>,
        Changed<BackgroundColor>,
        Changed<Text>,
        Changed<TextColor>,
        Changed<TextFont>,
        Changed<ImageNode>,
        Changed<BorderColor>,
        Changed<Node>,
        Changed<TextLayoutInfo>,
    )>,
);

/// Nodes shown or hidden by anything but [`choose_frame_kind`] (an overlay).
type ShownElsewhere = (Changed<Visibility>, Without<BoardPart>);

/// Hero parts placed anew.
type HeroMoved = (With<HeroPart>, Or<(Changed<ComputedNode>, Changed<UiGlobalTransform>, Changed<Node>)>);

/// Nodes off the board whose picture changed.
type PictureChangedOffBoard = (PictureChanged, Without<BoardPart>);

/// A cell, whether it is drawn, and whether it is part of the hero.
type CellShown = (&'static BoardCell, &'static mut Visibility, Has<HeroPart>);

/// The board's cells, not its patches (both kinds of query write visibility).
type CellsOnly = (With<BoardPart>, Without<FlashPatch>, Without<ChangePatch>);

/// A patch's bounds or background piece, whether it is drawn, and where it lies.
type PatchShown = (
    &'static mut Visibility,
    Has<FlashPatch>,
    Has<PatchPiece>,
    &'static ComputedNode,
    &'static UiGlobalTransform,
);

/// A hero part and its colour, for the hero's look.
type HeroColour = (Entity, &'static BackgroundColor);

/// The board's patches, of either kind.
type PatchesOnly = (With<BoardPart>, Or<(With<FlashPatch>, With<ChangePatch>)>);

/// What a frame draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum FrameKind {
    Whole,
    /// The flash patches over the kept picture.
    FlashTurn,
    /// The change patches of this frame's rebuild over the kept picture.
    Rebuild,
    /// A flash turn to a look whose picture was kept: nothing is drawn, the picture is put again.
    Replayed,
}

/// Whether a frame can put a kept picture of the flash patches instead of drawing them, and what
/// of this frame the render world keeps. `look` is the hero's look while a flash runs and frames
/// go to X by hand, else `None`; `kept` the looks kept, in the render world's order.
///
/// A flash turn changes nothing but the hero's colours, so the patches' picture is a function of
/// the look as long as only flash turns follow: any other frame forgets every kept picture, then
/// keeps its own (it drew the patches, or they are as drawn before).
pub(super) fn plan_replay(
    kind: FrameKind,
    look: Option<HeroLook>,
    kept: &mut Vec<HeroLook>,
) -> (FrameKind, FlashReplay) {
    let Some(look) = look else {
        kept.clear();
        return (kind, FlashReplay { forget: true, ..default() });
    };
    match kind {
        FrameKind::FlashTurn => match kept.iter().position(|k| *k == look) {
            Some(n) => (FrameKind::Replayed, FlashReplay { put: Some(n), ..default() }),
            None if kept.len() < MAX_KEPT_LOOKS => {
                kept.push(look);
                (kind, FlashReplay { keep: Some(kept.len() - 1), ..default() })
            }
            None => (kind, FlashReplay::default()),
        },
        FrameKind::Whole | FrameKind::Rebuild | FrameKind::Replayed => {
            kept.clear();
            kept.push(look);
            (kind, FlashReplay { forget: true, keep: Some(0), ..default() })
        }
    }
}

/// Decides, once the frame's layout and text are known, whether it may be partial, and sets the
/// camera's clearing and the cells' visibility for it (before visibility propagates, so that it
/// holds for this frame).
#[allow(clippy::too_many_arguments)]
fn choose_frame_kind(
    mut frames: ResMut<PartialFrames>,
    adapter: Option<Res<RenderAdapterInfo>>,
    (changed, changed_off_board): (Query<(), PictureChanged>, Query<(), PictureChangedOffBoard>),
    (shown_elsewhere, moved_heroes, texts): (Query<(), ShownElsewhere>, Query<(), HeroMoved>, Query<&Text>),
    mut removed: RemovedComponents<Node>,
    mut image_events: MessageReader<AssetEvent<Image>>,
    (mut resized, mut occluded): (MessageReader<WindowResized>, MessageReader<WindowOccluded>),
    flash: Option<Res<Flash>>,
    mut flash_was_running: Local<bool>,
    (mut cameras, own_present): (Query<&mut Camera, With<Camera2d>>, Option<Res<OwnPresent>>),
    mut cells: Query<CellShown, CellsOnly>,
    mut patches: Query<PatchShown, PatchesOnly>,
    (heroes, mut kept_looks): (Query<HeroColour, With<HeroPart>>, Local<Vec<HeroLook>>),
) {
    let on_cpu = adapter.is_some_and(|a| a.device_type == wgpu::DeviceType::Cpu);
    let rebuilt = frames.rebuilt.take();
    // Every event and removal is read, so none counts again next frame.
    let removed: Vec<Entity> = removed.read().collect();
    let images_changed = image_events.read().count() > 0;
    let window_changed = resized.read().count() + occluded.read().count() > 0;
    // The frame after a flash is whole: if a full frame was ever not drawn (the window had no
    // image to draw into), what the partial frames since showed of the rest is put right.
    let flash_ended = *flash_was_running && flash.is_none();
    *flash_was_running = flash.is_some();
    let may_be_partial = frames.forced.unwrap_or(on_cpu)
        && !images_changed
        && !window_changed
        && !flash_ended
        && shown_elsewhere.is_empty();
    let kind = match rebuilt {
        _ if !may_be_partial => FrameKind::Whole,
        // A rebuild's own frame: everything of the new board counts as changed, so the rebuild
        // said what did; anything else that changed makes the frame whole.
        Some(rebuilt) => {
            let only_the_old_board_went = removed.iter().all(|e| rebuilt.replaced.binary_search(e).is_ok());
            let texts_as_drawn =
                rebuilt.texts.iter().all(|(entity, drawn)| texts.get(*entity).is_ok_and(|t| t.0 == *drawn));
            // A flash lights the hero in this frame: the hero must be among what it draws.
            let hero_drawn =
                flash.is_none() || cells.iter().all(|(cell, _, hero)| !hero || cell.in_change_patch);
            if changed_off_board.is_empty() && only_the_old_board_went && texts_as_drawn && hero_drawn {
                FrameKind::Rebuild
            } else {
                FrameKind::Whole
            }
        }
        None if changed.is_empty() && moved_heroes.is_empty() && removed.is_empty() => FrameKind::FlashTurn,
        None => FrameKind::Whole,
    };
    // Kept pictures of the flash patches are put on X by hand; only while a flash runs.
    let look = (own_present.is_some() && flash.is_some()).then(|| {
        let mut look: HeroLook = heroes.iter().map(|(entity, colour)| (entity, colour.0)).collect();
        look.sort_by_key(|(entity, _)| *entity);
        look
    });
    if own_present.as_ref().is_some_and(|own| own.replay_lost.swap(false, Ordering::Relaxed)) {
        kept_looks.clear();
    }
    let (kind, mut replay) = plan_replay(kind, look, &mut kept_looks);
    if replay.keep.is_some() || replay.put.is_some() {
        let flash_patches = patches.iter().filter(|(_, for_flash, piece, ..)| *for_flash && !piece);
        replay.rects = flash_patches
            .map(|(_, _, _, node, transform)| pixel_box(transform.translation, node.size()))
            .collect();
    }
    frames.replay = replay;
    let replayed = kind == FrameKind::Replayed;
    frames.this_frame_replayed = replayed;
    frames.replayed += u64::from(replayed);
    let partial = kind != FrameKind::Whole;
    frames.this_frame = partial;
    frames.partial += u64::from(partial);
    // With frames put on X by hand the camera never clears (bevy would not render it); the
    // whole frames are cleared by `lean_passes` then.
    for mut camera in cameras.iter_mut().filter(|_| own_present.is_none()) {
        // Written only when it changes: the camera's change ticks re-extract it.
        let keeps_last_picture = matches!(camera.clear_color, ClearColorConfig::None);
        if keeps_last_picture != partial {
            camera.clear_color = if partial { ClearColorConfig::None } else { ClearColorConfig::Default };
        }
    }
    for (cell, mut visibility, _) in &mut cells {
        let drawn = match kind {
            FrameKind::Whole => true,
            FrameKind::FlashTurn => cell.in_flash_patch,
            FrameKind::Rebuild => cell.in_change_patch,
            FrameKind::Replayed => false,
        };
        visibility.set_if_neq(if drawn { Visibility::Inherited } else { Visibility::Hidden });
    }
    frames.drawn_patches.clear();
    for (mut visibility, for_flash, piece, node, transform) in &mut patches {
        let drawn = match kind {
            FrameKind::Whole => false,
            FrameKind::FlashTurn => for_flash,
            FrameKind::Rebuild => !for_flash,
            FrameKind::Replayed => false,
        };
        visibility.set_if_neq(if drawn { Visibility::Inherited } else { Visibility::Hidden });
        if drawn && !piece {
            frames.drawn_patches.push(pixel_box(transform.translation, node.size()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x: f32, y: f32, w: f32, h: f32) -> Rect {
        Rect { x, y, w, h }
    }

    #[test]
    fn a_patch_holds_the_flashing_part_and_everything_drawn_on_it() {
        // The hero's frame, its card inside, two texts on the card, a neighbour sharing the
        // frame's right edge, and a panel far away.
        let cells = [
            rect(0.0, 75.0, 768.0, 400.0),
            rect(15.0, 83.0, 737.0, 384.0),
            rect(40.0, 100.0, 300.0, 60.0),
            rect(40.0, 200.0, 300.0, 90.0),
            rect(768.0, 75.0, 1152.0, 80.0),
            rect(0.0, 500.0, 250.0, 120.0),
        ];
        let (patches, inside) = patches_around(&cells, vec![cells[0], cells[1]]);
        assert_eq!(patches, vec![cells[0]]);
        assert_eq!(inside, vec![true, true, true, true, false, false]);
    }

    #[test]
    fn a_patch_grows_over_a_cell_that_crosses_its_edge_and_on_over_what_that_touches() {
        let cells = [
            rect(100.0, 100.0, 100.0, 100.0),
            // Crosses the hero's right edge ...
            rect(180.0, 120.0, 100.0, 20.0),
            // ... and reaches this one, which the hero alone does not touch.
            rect(260.0, 130.0, 50.0, 200.0),
            rect(400.0, 400.0, 10.0, 10.0),
        ];
        let (patches, inside) = patches_around(&cells, vec![cells[0]]);
        assert_eq!(patches, vec![rect(100.0, 100.0, 210.0, 230.0)]);
        assert_eq!(inside, vec![true, true, true, false]);
    }

    #[test]
    fn a_rebuild_changes_the_boxes_of_cells_that_went_came_or_look_different() {
        let a = rect(0.0, 0.0, 100.0, 50.0);
        let b = rect(0.0, 60.0, 100.0, 50.0);
        let c = rect(0.0, 120.0, 100.0, 50.0);
        let before = [(a, "A-001"), (b, "A-002"), (c, "B-001")];
        // Same cells, same order: nothing to draw.
        assert!(changed_boxes(&before, &before).is_empty());
        // A new text in b's box, c gone, a new cell below.
        let d = rect(0.0, 180.0, 100.0, 50.0);
        let now = [(a, "A-001"), (b, "A-003"), (d, "C-001")];
        let mut changed = changed_boxes(&before, &now);
        changed.sort_by(|x, y| x.y.total_cmp(&y.y));
        assert_eq!(changed, vec![b, b, c, d]);
        // The same look in another box is another cell.
        let moved = [(a, "A-001"), (b, "A-002"), (d, "B-001")];
        assert_eq!(changed_boxes(&before, &moved), vec![c, d]);
    }

    #[test]
    fn kept_cells_that_overlap_and_swap_their_order_count_as_changed() {
        let card = rect(0.0, 0.0, 100.0, 100.0);
        let text = rect(10.0, 10.0, 50.0, 20.0);
        let apart = rect(300.0, 0.0, 10.0, 10.0);
        let before = [(card, "card"), (text, "A-001"), (apart, "x")];
        let swapped = [(text, "A-001"), (card, "card"), (apart, "x")];
        let changed = changed_boxes(&before, &swapped);
        assert_eq!(changed.len(), 4, "both, before and now: {changed:?}");
        assert!(changed.iter().all(|r| *r == card || *r == text), "{changed:?}");
        // Cells apart may change order freely.
        let reordered = [(apart, "x"), (card, "card"), (text, "A-001")];
        assert!(changed_boxes(&before, &reordered).is_empty());
    }

    #[test]
    fn a_patch_background_is_painted_only_where_no_opaque_cell_covers_it() {
        let area = |pieces: &[Rect]| pieces.iter().map(|r| r.w * r.h).sum::<f32>();
        let patch = rect(0.0, 0.0, 100.0, 50.0);
        // A card inside with a 2.5 px margin: a ring around what it covers whole, less one pixel.
        let card = rect(2.5, 2.5, 95.0, 45.0);
        let ring = uncovered(patch, &[card]);
        let hole = rect(4.0, 4.0, 92.0, 42.0);
        assert_eq!(ring.len(), 4, "{ring:?}");
        assert_eq!(area(&ring), 100.0 * 50.0 - 92.0 * 42.0);
        assert!(ring.iter().all(|r| contains(patch, *r) && !overlaps(*r, hole)), "{ring:?}");
        for (i, a) in ring.iter().enumerate() {
            assert!(ring[i + 1..].iter().all(|b| !overlaps(*a, *b)), "pieces overlap: {ring:?}");
        }
        // Every pixel of the patch outside the hole is in a piece.
        for (x, y) in (0..100).flat_map(|x| (0..50).map(move |y| (x as f32 + 0.5, y as f32 + 0.5))) {
            let inside = |r: &Rect| x > r.x && x < r.x + r.w && y > r.y && y < r.y + r.h;
            assert_eq!(ring.iter().any(inside), !inside(&hole), "pixel at {x}, {y}");
        }
        // A cell crossing the patch's edge cuts only what lies in the patch; one apart, nothing;
        // one too thin to cover a whole pixel inside its edges, nothing.
        let across = uncovered(patch, &[rect(50.0, -10.0, 100.0, 100.0)]);
        assert_eq!(across, vec![rect(0.0, 0.0, 51.0, 50.0)]);
        assert_eq!(uncovered(patch, &[rect(200.0, 0.0, 10.0, 10.0)]), vec![patch]);
        assert_eq!(uncovered(patch, &[rect(10.0, 10.0, 2.5, 30.0)]), vec![patch]);
    }

    #[test]
    fn a_flash_turn_back_to_a_look_shown_puts_its_kept_picture_until_something_else_changes() {
        let card = World::new().spawn_empty().id();
        let lit: HeroLook = vec![(card, Color::WHITE)];
        let off: HeroLook = vec![(card, Color::BLACK)];
        let mut kept = Vec::new();
        let keep = |n| FlashReplay { keep: Some(n), ..default() };
        let put = |n| FlashReplay { put: Some(n), ..default() };
        let fresh = FlashReplay { forget: true, keep: Some(0), ..default() };
        // The call's frame (a rebuild) shows the hero lit: kept as the first picture.
        assert_eq!(
            plan_replay(FrameKind::Rebuild, Some(lit.clone()), &mut kept),
            (FrameKind::Rebuild, fresh.clone())
        );
        // The first turn off is drawn and kept; every later turn is put from what was kept.
        assert_eq!(
            plan_replay(FrameKind::FlashTurn, Some(off.clone()), &mut kept),
            (FrameKind::FlashTurn, keep(1))
        );
        assert_eq!(
            plan_replay(FrameKind::FlashTurn, Some(lit.clone()), &mut kept),
            (FrameKind::Replayed, put(0))
        );
        assert_eq!(
            plan_replay(FrameKind::FlashTurn, Some(off.clone()), &mut kept),
            (FrameKind::Replayed, put(1))
        );
        // A whole frame (the clock's minute) may change the patch: start again from it.
        assert_eq!(plan_replay(FrameKind::Whole, Some(off.clone()), &mut kept), (FrameKind::Whole, fresh));
        assert_eq!(
            plan_replay(FrameKind::FlashTurn, Some(lit.clone()), &mut kept),
            (FrameKind::FlashTurn, keep(1))
        );
        assert_eq!(plan_replay(FrameKind::FlashTurn, Some(off), &mut kept), (FrameKind::Replayed, put(0)));
        // No flash (or frames not put by hand): nothing kept.
        let forget = FlashReplay { forget: true, ..default() };
        assert_eq!(plan_replay(FrameKind::FlashTurn, None, &mut kept), (FrameKind::FlashTurn, forget));
        assert!(kept.is_empty());
        assert_eq!(plan_replay(FrameKind::FlashTurn, Some(lit), &mut kept), (FrameKind::FlashTurn, keep(0)));
    }

    #[test]
    fn a_patch_covers_every_pixel_it_touches_and_none_off_the_window() {
        // 100.5 px wide from x 10.25: pixels 10 to 110 inclusive.
        let centre = Vec2::new(10.25 + 50.25, 20.0 + 30.0);
        assert_eq!(pixel_box(centre, Vec2::new(100.5, 60.0)), URect::new(10, 20, 111, 80));
        // Reaching past the top-left corner: cut at the window's edge.
        assert_eq!(pixel_box(Vec2::new(5.0, 5.0), Vec2::new(20.0, 20.0)), URect::new(0, 0, 15, 15));
    }

    #[test]
    fn patches_that_meet_become_one_and_apart_stay_two() {
        let cells =
            [rect(0.0, 0.0, 100.0, 100.0), rect(50.0, 50.0, 100.0, 100.0), rect(500.0, 500.0, 50.0, 50.0)];
        let (patches, _) = patches_around(&cells, cells.to_vec());
        assert_eq!(patches, vec![rect(0.0, 0.0, 150.0, 150.0), cells[2]]);
        let (none, inside) = patches_around(&cells, Vec::new());
        assert!(none.is_empty());
        assert_eq!(inside, vec![false; 3]);
    }
}
