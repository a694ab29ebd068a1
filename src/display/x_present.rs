//! Putting frames on the X window by hand on a CPU adapter: only the rectangles a frame changed are read back and sent to X through shared memory (`x_picture`).
//!
//! On lavapipe at 1920×1080 a frame that draws nothing still cost ~20 ms of CPU: bevy's copy of
//! its main texture into the window's swapchain image (a full-screen shader pass, ~11 ms) and
//! lavapipe's PutImage of that whole image through the X socket. A browser's software compositor
//! sends X only the rectangle that changed, through shared memory. This does the same: the camera
//! still draws into its main texture (which keeps the last picture, see `partial`), but writes
//! nothing into the window (`CameraOutputMode::Skip`: bevy then acquires no swapchain image after
//! the window's first). After the frame's passes the rectangles the frame drew are copied into a
//! buffer (a memcpy on a CPU adapter), and once the frame is submitted they are swizzled into a
//! shared-memory XImage that holds the whole picture and put on the window (`XShmPutImage`;
//! `XPutImage` where the X server is not local). An Expose puts the whole picture again.
//!
//! Only on a CPU adapter (wgpu's device type), on an X window whose visual is 24-bit TrueColor,
//! and not for `--screenshot` (bevy's window screenshot needs the window written).
//! `PAPAN_X_PRESENT=0` or `=1` overrides the adapter test, for comparisons.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use bevy::asset::RenderAssetUsages;
use bevy::camera::CameraOutputMode;
use bevy::core_pipeline::Core2d;
use bevy::core_pipeline::upscaling::upscaling;
use bevy::math::URect;
use bevy::prelude::*;
use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
use bevy::render::renderer::{RenderAdapterInfo, RenderContext, RenderDevice, ViewQuery};
use bevy::render::view::ViewTarget;
use bevy::render::{Extract, ExtractSchedule, Render, RenderApp, RenderSystems};
use bevy::window::{PrimaryWindow, RawHandleWrapper};
use raw_window_handle::RawWindowHandle;
use x11_dl::xlib;

use super::partial::{FlashReplay, PartialFrames, forced_by_env};
use super::x_picture::{XPicture, bgrx_to_rgba, write_row};

pub(super) fn plugin(app: &mut App) {
    app.init_resource::<Handoff>().add_systems(Last, decide_own_present);
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else { return };
    render_app
        .add_systems(ExtractSchedule, extract_presenter)
        .add_systems(Core2d, read_back_changed_rects.after(upscaling))
        .add_systems(Render, put_changed_rects.in_set(RenderSystems::Cleanup));
}

/// In the main world once frames go to X by hand; fleet screenshots are then taken from the
/// picture put on the window.
#[derive(Resource, Clone)]
pub(super) struct OwnPresent {
    pub copies: Arc<Mutex<CopyRequest>>,
    /// Set by the render world when a kept picture of the flash patches was asked for and is not
    /// there (or could not be kept): the main world then forgets what it thinks is kept.
    pub replay_lost: Arc<AtomicBool>,
}

/// A copy of the picture on the window, asked for by the main world and made by the render world.
#[derive(Default)]
pub(super) struct CopyRequest {
    pub wanted: bool,
    pub done: Option<Image>,
}

/// Whether the decision was taken, and the presenter on its way to the render world.
#[derive(Resource, Default)]
struct Handoff {
    decided: bool,
    presenter: Mutex<Option<Presenter>>,
}

/// In the render world: what the frame being rendered drew, for the read-back (whole, or these
/// rectangles in the window's pixels).
#[derive(Resource, Default)]
pub(super) struct FrameDamage {
    pub whole: bool,
    pub rects: Vec<URect>,
    /// Pictures of the flash patches to keep after this frame, or to put instead of drawing.
    pub replay: FlashReplay,
}

/// Once the adapter and the window are known: hands frames to X by hand where it pays, and
/// switches the camera to leave the window alone.
fn decide_own_present(
    mut commands: Commands,
    mut handoff: ResMut<Handoff>,
    adapter: Option<Res<RenderAdapterInfo>>,
    windows: Query<&RawHandleWrapper, With<PrimaryWindow>>,
    mut cameras: Query<&mut Camera, With<Camera2d>>,
    screenshot_mode: Option<Res<super::screenshot::ScreenshotPlan>>,
) {
    if handoff.decided {
        return;
    }
    let (Some(adapter), Ok(handle)) = (adapter, windows.single()) else { return };
    if cameras.is_empty() {
        return;
    }
    handoff.decided = true;
    let wanted = forced_by_env("PAPAN_X_PRESENT").unwrap_or(adapter.device_type == wgpu::DeviceType::Cpu);
    if !wanted || screenshot_mode.is_some() {
        return;
    }
    let window = match handle.get_window_handle() {
        RawWindowHandle::Xlib(h) => h.window,
        RawWindowHandle::Xcb(h) => xlib::Window::from(h.window.get()),
        other => {
            info!("frames go through bevy's copy: the window is not an X window ({other:?})");
            return;
        }
    };
    let presenter = match Presenter::open(window) {
        Ok(presenter) => presenter,
        Err(why) => {
            warn!("frames go through bevy's copy: {why}");
            return;
        }
    };
    let path = if presenter.picture.shared() { "shared memory" } else { "the X socket" };
    info!("frames go to the X window by hand: only what changed, through {path}");
    let (copies, replay_lost) = (presenter.copies.clone(), presenter.replay_lost.clone());
    *handoff.presenter.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(presenter);
    for mut camera in &mut cameras {
        camera.output_mode = CameraOutputMode::Skip;
        // Never cleared by bevy: with no output it renders a camera only if it does not clear
        // (bevy's `prepare_view_targets`); whole frames are cleared by `lean_passes` instead.
        camera.clear_color = ClearColorConfig::None;
    }
    commands.insert_resource(OwnPresent { copies, replay_lost });
}

/// Moves the presenter into the render world once, and each frame what the frame drew.
fn extract_presenter(
    mut commands: Commands,
    handoff: Extract<Res<Handoff>>,
    own: Extract<Option<Res<OwnPresent>>>,
    frames: Extract<Option<Res<PartialFrames>>>,
) {
    if let Some(presenter) = handoff.presenter.lock().ok().and_then(|mut p| p.take()) {
        commands.insert_resource(presenter);
    }
    if own.is_none() {
        return;
    }
    let replay = frames.as_deref().map(|f| f.replay.clone()).unwrap_or_default();
    let damage = match frames.as_deref() {
        Some(frames) if frames.this_frame => {
            FrameDamage { whole: false, rects: frames.drawn_patches.clone(), replay }
        }
        _ => FrameDamage { whole: true, rects: Vec::new(), replay },
    };
    commands.insert_resource(damage);
}

/// A rectangle copied from the main texture this frame, where it lies in the staging buffer.
struct Copied {
    rect: URect,
    offset: u64,
    bytes_per_row: u32,
}

/// Copies what the frame drew from the main texture into the staging buffer.
fn read_back_changed_rects(
    view: ViewQuery<&ViewTarget>,
    presenter: Option<ResMut<Presenter>>,
    damage: Option<Res<FrameDamage>>,
    mut ctx: RenderContext,
) {
    let (Some(mut presenter), Some(damage)) = (presenter, damage) else { return };
    let target = view.into_inner();
    let texture = target.main_texture();
    let size = UVec2::new(texture.width(), texture.height());
    let swizzle = match target.main_texture_format() {
        TextureFormat::Rgba8UnormSrgb | TextureFormat::Rgba8Unorm => true,
        TextureFormat::Bgra8UnormSrgb | TextureFormat::Bgra8Unorm => false,
        other => {
            if !presenter.warned_format {
                presenter.warned_format = true;
                error!("the main texture is {other:?}, which papan cannot put on X; nothing is shown");
            }
            return;
        }
    };
    presenter.swizzle = swizzle;
    let whole = damage.whole || presenter.needs_whole || presenter.picture.size() != Some(size);
    let rects = if whole {
        vec![URect::from_corners(UVec2::ZERO, size)]
    } else {
        let screen = URect::from_corners(UVec2::ZERO, size);
        damage.rects.iter().map(|r| r.intersect(screen)).filter(|r| !r.is_empty()).collect()
    };
    if rects.is_empty() {
        // Nothing drawn (a partial frame with no patch shown): nothing to put.
        return;
    }
    let row = |width: u32| RenderDevice::align_copy_bytes_per_row(width as usize * 4) as u64;
    let whole_bytes = row(size.x) * u64::from(size.y);
    let needed = rects.iter().map(|r| row(r.width()) * u64::from(r.height())).sum::<u64>().min(whole_bytes);
    let device = ctx.render_device();
    if presenter.staging.as_ref().is_none_or(|b| b.size() < needed) {
        presenter.staging = Some(device.wgpu_device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("x_present_staging"),
            size: needed,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        }));
    }
    let Some(staging) = presenter.staging.clone() else { return };
    let needed = staging.size();
    let mut copied = Vec::with_capacity(rects.len());
    let mut offset = 0;
    for rect in rects {
        let bytes_per_row = row(rect.width());
        if offset + bytes_per_row * u64::from(rect.height()) > needed {
            // Rectangles that overlap may add up to more than the screen: the next frame goes
            // whole instead (this one's copies are left unread, so nothing of it may be kept).
            presenter.needs_whole = true;
            presenter.frame_unread = true;
            return;
        }
        ctx.command_encoder().copy_texture_to_buffer(
            wgpu::TexelCopyTextureInfo {
                texture,
                mip_level: 0,
                origin: wgpu::Origin3d { x: rect.min.x, y: rect.min.y, z: 0 },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::TexelCopyBufferInfo {
                buffer: &staging,
                layout: wgpu::TexelCopyBufferLayout {
                    offset,
                    bytes_per_row: Some(bytes_per_row as u32),
                    rows_per_image: None,
                },
            },
            Extent3d { width: rect.width(), height: rect.height(), depth_or_array_layers: 1 },
        );
        copied.push(Copied { rect, offset, bytes_per_row: bytes_per_row as u32 });
        offset += bytes_per_row * u64::from(rect.height());
    }
    presenter.needs_whole = false;
    presenter.read_whole = whole;
    presenter.frame_size = size;
    presenter.copied = copied;
}

/// Once the frame is submitted: waits for it, puts what it drew on the window (or a kept picture
/// of the flash patches), keeps what the main world asked to keep, and answers a request for a
/// copy of the picture.
fn put_changed_rects(
    presenter: Option<ResMut<Presenter>>,
    device: Res<RenderDevice>,
    damage: Option<Res<FrameDamage>>,
) {
    let Some(mut presenter) = presenter else { return };
    let presenter = &mut *presenter;
    let exposed = presenter.picture.x.take_exposures();
    let copied = std::mem::take(&mut presenter.copied);
    let mut read_back_failed = std::mem::take(&mut presenter.frame_unread);
    if !copied.is_empty() {
        if let Err(why) = presenter.picture.ensure_size(presenter.frame_size) {
            error!("cannot put frames on the X window: {why}");
            return;
        }
        let Some(staging) = presenter.staging.clone() else { return };
        let used = copied.iter().map(|c| c.offset + u64::from(c.bytes_per_row) * u64::from(c.rect.height()));
        let used = used.max().unwrap_or(0);
        let slice = staging.slice(0..used);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |result| {
            let _ = tx.send(result);
        });
        if let Err(e) = device.poll(wgpu::PollType::wait_indefinitely()) {
            error!("waiting for the frame to be drawn: {e}");
        }
        match rx.try_recv() {
            Ok(Ok(())) => {
                {
                    let mapped = slice.get_mapped_range();
                    for c in &copied {
                        presenter.write_rect(&mapped, c);
                    }
                }
                staging.unmap();
                for c in &copied {
                    presenter.picture.put(c.rect);
                }
                // A buffer for a whole frame is let go (a whole frame comes once a minute at
                // most, for the clock): the static board keeps only what a flash turn needs.
                // Kept when whole frames come one after another (partial frames off).
                if presenter.read_whole && !presenter.last_read_whole {
                    presenter.staging = None;
                }
                presenter.last_read_whole = presenter.read_whole;
            }
            other => {
                error!("cannot read the frame back: {other:?}");
                read_back_failed = true;
            }
        }
    }
    let replayed = match damage {
        // What the picture holds is not this frame's: nothing of it may be kept.
        Some(_) if read_back_failed => {
            presenter.kept_flash = Vec::new();
            presenter.replay_lost.store(true, Ordering::Relaxed);
            false
        }
        Some(damage) => presenter.replay_flash(&damage.replay),
        None => false,
    };
    if exposed && presenter.picture.size().is_some() {
        let size = presenter.frame_size;
        presenter.picture.put(URect::from_corners(UVec2::ZERO, size));
    }
    if !copied.is_empty() || exposed || replayed {
        presenter.picture.x.sync();
    }
    presenter.answer_copy_request();
}

/// In the render world: everything that puts frames on the window.
#[derive(Resource)]
pub(super) struct Presenter {
    picture: XPicture,
    staging: Option<wgpu::Buffer>,
    copied: Vec<Copied>,
    frame_size: UVec2,
    /// The first picture, and one after the read-back could not be split, go whole.
    needs_whole: bool,
    /// Whether this frame was read back whole, and the last one.
    read_whole: bool,
    last_read_whole: bool,
    /// Whether this frame's rectangles were left unread (the next frame goes whole).
    frame_unread: bool,
    /// Whether the main texture is RGBA (X takes BGRX).
    swizzle: bool,
    warned_format: bool,
    copies: Arc<Mutex<CopyRequest>>,
    /// Pictures of the flash patches kept per look of the hero (`partial::plan_replay`), BGRX,
    /// the patches' rows one after another.
    kept_flash: Vec<Vec<u32>>,
    replay_lost: Arc<AtomicBool>,
}

impl Presenter {
    fn open(window: xlib::Window) -> Result<Presenter, String> {
        Ok(Presenter {
            picture: XPicture::open(window)?,
            staging: None,
            copied: Vec::new(),
            frame_size: UVec2::ZERO,
            needs_whole: true,
            read_whole: false,
            last_read_whole: false,
            frame_unread: false,
            swizzle: true,
            warned_format: false,
            copies: Arc::default(),
            kept_flash: Vec::new(),
            replay_lost: Arc::default(),
        })
    }

    /// Forgets, puts or keeps pictures of the flash patches as the main world planned; whether
    /// something was put on X.
    fn replay_flash(&mut self, replay: &FlashReplay) -> bool {
        if replay.forget {
            self.kept_flash = Vec::new();
        }
        let Some(size) = self.picture.size() else {
            if replay.keep.is_some() || replay.put.is_some() {
                self.replay_lost.store(true, Ordering::Relaxed);
            }
            return false;
        };
        let screen = URect::from_corners(UVec2::ZERO, size);
        let rects: Vec<URect> =
            replay.rects.iter().map(|r| r.intersect(screen)).filter(|r| !r.is_empty()).collect();
        let width = size.x as usize;
        let mut put = false;
        if let Some(n) = replay.put {
            match self.kept_flash.get(n) {
                Some(kept)
                    if kept.len()
                        == rects.iter().map(|r| r.size().element_product() as usize).sum::<usize>() =>
                {
                    let pixels = self.picture.pixels();
                    let mut from = 0;
                    for rect in &rects {
                        let (x0, w) = (rect.min.x as usize, rect.width() as usize);
                        for y in rect.min.y as usize..rect.max.y as usize {
                            pixels[y * width + x0..][..w].copy_from_slice(&kept[from..from + w]);
                            from += w;
                        }
                    }
                    for rect in &rects {
                        self.picture.put(*rect);
                    }
                    put = true;
                }
                _ => {
                    error!("the flash's picture {n} was not kept; the next turns are drawn");
                    self.replay_lost.store(true, Ordering::Relaxed);
                }
            }
        }
        if let Some(n) = replay.keep {
            let pixels = self.picture.pixels();
            let mut kept =
                Vec::with_capacity(rects.iter().map(|r| r.size().element_product() as usize).sum());
            for rect in &rects {
                let (x0, w) = (rect.min.x as usize, rect.width() as usize);
                for y in rect.min.y as usize..rect.max.y as usize {
                    kept.extend_from_slice(&pixels[y * width + x0..][..w]);
                }
            }
            if n == self.kept_flash.len() {
                self.kept_flash.push(kept);
            } else if let Some(slot) = self.kept_flash.get_mut(n) {
                *slot = kept;
            } else {
                self.replay_lost.store(true, Ordering::Relaxed);
            }
        }
        put
    }

    /// Writes one copied rectangle into the picture, turning RGBA into BGRX where needed.
    fn write_rect(&mut self, mapped: &[u8], copied: &Copied) {
        let swizzle = self.swizzle;
        let width = self.frame_size.x as usize;
        let pixels = self.picture.pixels();
        let (x0, w) = (copied.rect.min.x as usize, copied.rect.width() as usize);
        for row in 0..copied.rect.height() as usize {
            let from = copied.offset as usize + row * copied.bytes_per_row as usize;
            let Some(source) = mapped.get(from..from + w * 4) else { return };
            let start = (copied.rect.min.y as usize + row) * width + x0;
            let Some(dest) = pixels.get_mut(start..start + w) else { return };
            write_row(source, dest, swizzle);
        }
    }

    /// Hands the main world a copy of the picture on the window, if it asked for one.
    fn answer_copy_request(&mut self) {
        let copies = self.copies.clone();
        let Ok(mut request) = copies.lock() else { return };
        if !request.wanted || self.picture.size().is_none() {
            return;
        }
        request.wanted = false;
        let size = self.frame_size;
        let rgba: Vec<u8> = self.picture.pixels().iter().flat_map(|p| bgrx_to_rgba(*p)).collect();
        request.done = Some(Image::new(
            Extent3d { width: size.x, height: size.y, depth_or_array_layers: 1 },
            TextureDimension::D2,
            rgba,
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::MAIN_WORLD,
        ));
    }
}
