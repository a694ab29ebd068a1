//! Pictures on the board (the hall's logo in the header, `image` regions): PNG files from the
//! display's images folder, deployed with it like the voice pack, decoded once and kept.

use std::collections::HashMap;
use std::path::PathBuf;

use bevy::asset::RenderAssetUsages;
use bevy::image::{CompressedImageFormats, ImageSampler, ImageType};
use bevy::prelude::*;

use crate::layout::Rect;

/// What drawing pictures needs, as one system parameter.
#[derive(bevy::ecs::system::SystemParam)]
pub struct Pictures<'w> {
    pub store: ResMut<'w, ImageStore>,
    pub assets: ResMut<'w, Assets<Image>>,
}

/// Decoded images by file name; `None` remembers a file that is missing or broken (said once).
#[derive(Resource)]
pub struct ImageStore {
    dir: PathBuf,
    loaded: HashMap<String, Option<(Handle<Image>, UVec2)>>,
    /// QR codes made, by the text in them.
    codes: HashMap<String, Option<(Handle<Image>, UVec2)>>,
    /// The hub's address as this screen reaches it (`ws://…/ws`): the phone page's, when the hall
    /// file names no `public_url`.
    pub hub_url: Option<String>,
}

impl ImageStore {
    pub fn new(dir: PathBuf) -> ImageStore {
        ImageStore { dir, loaded: HashMap::new(), codes: HashMap::new(), hub_url: None }
    }

    /// `text` as a QR code: one pixel per module inside a 4-module white quiet zone, drawn with
    /// nearest sampling so that the modules stay sharp squares at any size. The side in modules
    /// is the returned size.
    pub fn qr_code(&mut self, text: &str, assets: &mut Assets<Image>) -> Option<(Handle<Image>, UVec2)> {
        if let Some(known) = self.codes.get(text) {
            return known.clone();
        }
        let made = match qrcode::QrCode::new(text.as_bytes()) {
            Ok(code) => {
                const QUIET: usize = 4;
                let modules = code.width();
                let side = modules + 2 * QUIET;
                let mut pixels = vec![255u8; side * side * 4];
                for (i, colour) in code.to_colors().into_iter().enumerate() {
                    if colour == qrcode::Color::Dark {
                        let (x, y) = (i % modules + QUIET, i / modules + QUIET);
                        let at = (y * side + x) * 4;
                        pixels[at..at + 3].fill(0);
                    }
                }
                let size = bevy::render::render_resource::Extent3d {
                    width: side as u32,
                    height: side as u32,
                    depth_or_array_layers: 1,
                };
                let mut image = Image::new(
                    size,
                    bevy::render::render_resource::TextureDimension::D2,
                    pixels,
                    bevy::render::render_resource::TextureFormat::Rgba8UnormSrgb,
                    RenderAssetUsages::RENDER_WORLD,
                );
                image.sampler = ImageSampler::nearest();
                Some((assets.add(image), UVec2::splat(side as u32)))
            }
            Err(e) => {
                warn!("cannot make a QR code of {text:?}: {e}; its place stays empty");
                None
            }
        };
        self.codes.insert(text.to_string(), made.clone());
        made
    }

    /// The image called `name` (a file in the folder) and its size in pixels.
    pub fn get(&mut self, name: &str, assets: &mut Assets<Image>) -> Option<(Handle<Image>, UVec2)> {
        if let Some(known) = self.loaded.get(name) {
            return known.clone();
        }
        let loaded = self.load(name).map_or_else(
            |e| {
                warn!("image {name:?}: {e}; its place stays empty");
                None
            },
            |image| {
                let size = image.size();
                Some((assets.add(image), size))
            },
        );
        self.loaded.insert(name.to_string(), loaded.clone());
        loaded
    }

    fn load(&self, name: &str) -> Result<Image, String> {
        // Names stay inside the folder: a layout cannot point the screen at other files.
        if name.is_empty() || name.contains("..") || name.starts_with('/') || name.contains('\\') {
            return Err("must be a file name inside the images folder".into());
        }
        let path = self.dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Image::from_buffer(
            &bytes,
            ImageType::Extension("png"),
            CompressedImageFormats::NONE,
            true,
            ImageSampler::linear(),
            RenderAssetUsages::RENDER_WORLD,
        )
        .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// The largest rectangle of the image's proportions inside `area`, centred.
pub fn contain(area: Rect, size: UVec2) -> Rect {
    if size.x == 0 || size.y == 0 {
        return area;
    }
    let scale = (area.w / size.x as f32).min(area.h / size.y as f32);
    let (w, h) = (size.x as f32 * scale, size.y as f32 * scale);
    Rect { x: area.x + (area.w - w) / 2.0, y: area.y + (area.h - h) / 2.0, w, h }
}
