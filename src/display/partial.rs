//! Partial frames for software rendering: while only the flashing hero changes, a frame keeps the last picture and redraws just the hero's patch.
//!
//! On a CPU adapter (lavapipe, llvmpipe) a frame's cost is the pixels it shades, and a flash
//! toggle used to redraw the whole board four times a second. The board's cells are absolute
//! rectangles, so at each rebuild [`flash_patches`] finds, around each flashing part, the smallest
//! rectangle that holds every cell touching it. In a partial frame the camera does not clear (the
//! main texture keeps the last frame), that rectangle is painted with the layout's background,
//! and only the cells inside it are drawn, in their usual order: inside the patch the pixels are
//! those of a full frame, outside it nothing was drawn and nothing changed. Any other change (a
//! rebuild, the clock's minute, a ticker page, a picture loading, a resize) draws a full frame,
//! and so does the frame after a flash ends.
//!
//! Only for CPU adapters (wgpu's device type): on a GPU a full frame costs next to nothing and
//! nothing here runs. `PAPAN_PARTIAL_FRAMES=0` or `=1` overrides, for comparisons.

use bevy::camera::ClearColorConfig;
use bevy::camera::visibility::VisibilitySystems;
use bevy::prelude::*;
use bevy::render::renderer::RenderAdapterInfo;
use bevy::text::TextLayoutInfo;
use bevy::ui::{UiGlobalTransform, UiSystems};
use bevy::window::{WindowOccluded, WindowResized};

use super::view::{Flash, HeroPart};
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
}

impl Default for PartialFrames {
    fn default() -> Self {
        let forced = match std::env::var("PAPAN_PARTIAL_FRAMES").as_deref() {
            Ok("0") => Some(false),
            Ok("1") => Some(true),
            Ok(other) => {
                warn!("PAPAN_PARTIAL_FRAMES={other:?} is neither 0 nor 1; ignored");
                None
            }
            Err(_) => None,
        };
        PartialFrames { forced, this_frame: false, partial: 0 }
    }
}

/// A cell of the board: a direct child of its root, with its own rectangle.
#[derive(Component)]
pub(super) struct BoardCell {
    /// Drawn in partial frames: it lies inside a flash patch.
    pub in_patch: bool,
}

/// The background painted under a flash patch's cells in a partial frame (hidden otherwise).
#[derive(Component)]
pub(super) struct FlashPatch;

/// Rectangles around the flashing parts (`flashing` indexes `cells`), each grown until every cell
/// it touches lies wholly inside it, and merged where they meet; and, per cell, whether it lies
/// in one. Cells that only share an edge with a patch stay out of it.
pub fn flash_patches(cells: &[Rect], flashing: &[usize]) -> (Vec<Rect>, Vec<bool>) {
    let mut patches: Vec<Rect> = flashing.iter().filter_map(|&i| cells.get(i).copied()).collect();
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

fn overlaps(a: Rect, b: Rect) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

fn contains(outer: Rect, inner: Rect) -> bool {
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
type ShownElsewhere = (Changed<Visibility>, Without<BoardCell>, Without<FlashPatch>);

/// Hero parts placed anew.
type HeroMoved = (With<HeroPart>, Or<(Changed<ComputedNode>, Changed<UiGlobalTransform>, Changed<Node>)>);

/// Decides, once the frame's layout and text are known, whether it may be partial, and sets the
/// camera's clearing and the cells' visibility for it (before visibility propagates, so that it
/// holds for this frame).
#[allow(clippy::too_many_arguments)]
fn choose_frame_kind(
    mut frames: ResMut<PartialFrames>,
    adapter: Option<Res<RenderAdapterInfo>>,
    changed: Query<(), PictureChanged>,
    shown_elsewhere: Query<(), ShownElsewhere>,
    moved_heroes: Query<(), HeroMoved>,
    mut removed: RemovedComponents<Node>,
    mut image_events: MessageReader<AssetEvent<Image>>,
    (mut resized, mut occluded): (MessageReader<WindowResized>, MessageReader<WindowOccluded>),
    flash: Option<Res<Flash>>,
    mut flash_was_running: Local<bool>,
    mut cameras: Query<&mut Camera, With<Camera2d>>,
    mut cells: Query<(&BoardCell, &mut Visibility), Without<FlashPatch>>,
    mut patches: Query<&mut Visibility, With<FlashPatch>>,
) {
    let on_cpu = adapter.is_some_and(|a| a.device_type == wgpu::DeviceType::Cpu);
    // Every event and removal is read, so none counts again next frame.
    let removed_any = removed.read().count() > 0;
    let images_changed = image_events.read().count() > 0;
    let window_changed = resized.read().count() + occluded.read().count() > 0;
    // The frame after a flash is whole: if a full frame was ever not drawn (the window had no
    // image to draw into), what the partial frames since showed of the rest is put right.
    let flash_ended = *flash_was_running && flash.is_none();
    *flash_was_running = flash.is_some();
    let partial = frames.forced.unwrap_or(on_cpu)
        && changed.is_empty()
        && shown_elsewhere.is_empty()
        && moved_heroes.is_empty()
        && !removed_any
        && !images_changed
        && !window_changed
        && !flash_ended;
    frames.this_frame = partial;
    frames.partial += u64::from(partial);
    for mut camera in &mut cameras {
        // Written only when it changes: the camera's change ticks re-extract it.
        let keeps_last_picture = matches!(camera.clear_color, ClearColorConfig::None);
        if keeps_last_picture != partial {
            camera.clear_color = if partial { ClearColorConfig::None } else { ClearColorConfig::Default };
        }
    }
    for (cell, mut visibility) in &mut cells {
        let wanted = if partial && !cell.in_patch { Visibility::Hidden } else { Visibility::Inherited };
        visibility.set_if_neq(wanted);
    }
    for mut visibility in &mut patches {
        visibility.set_if_neq(if partial { Visibility::Inherited } else { Visibility::Hidden });
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
        let (patches, inside) = flash_patches(&cells, &[0, 1]);
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
        let (patches, inside) = flash_patches(&cells, &[0]);
        assert_eq!(patches, vec![rect(100.0, 100.0, 210.0, 230.0)]);
        assert_eq!(inside, vec![true, true, true, false]);
    }

    #[test]
    fn patches_that_meet_become_one_and_apart_stay_two() {
        let cells =
            [rect(0.0, 0.0, 100.0, 100.0), rect(50.0, 50.0, 100.0, 100.0), rect(500.0, 500.0, 50.0, 50.0)];
        let (patches, _) = flash_patches(&cells, &[0, 1, 2]);
        assert_eq!(patches, vec![rect(0.0, 0.0, 150.0, 150.0), cells[2]]);
        let (none, inside) = flash_patches(&cells, &[]);
        assert!(none.is_empty());
        assert_eq!(inside, vec![false; 3]);
    }
}
