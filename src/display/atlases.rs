//! Glyph atlases without their CPU copies: an atlas that stopped growing keeps only its texture.
//!
//! bevy keeps every glyph atlas twice: its pixels in the main world, to copy new glyphs into, and
//! the texture made from them. The screen renders at start every glyph its board can show during
//! the day (`view::warm_glyphs`), so after that an atlas stops growing and its main-world pixels
//! are never read again: about 1 MiB an atlas (4 MiB for the largest sizes), for every font and
//! size. They are let go once an atlas held the same glyphs over two frames, so the frame that
//! added its last glyph has already handed its pixels to the render world (bevy keeps the texture
//! when an image comes back without pixels). Should a glyph come later that no atlas holds, bevy
//! finds no pixels to copy it into and opens a new atlas for it, which is let go the same way.

use bevy::platform::collections::HashMap;
use bevy::prelude::*;
use bevy::text::FontAtlasSet;

pub(super) fn plugin(app: &mut App) {
    app.add_systems(Last, let_go_of_settled_atlas_pixels);
}

/// Frees the main-world pixels of every atlas whose glyph count was the same the frame before.
fn let_go_of_settled_atlas_pixels(
    atlases: Option<Res<FontAtlasSet>>,
    mut images: ResMut<Assets<Image>>,
    mut glyphs_seen: Local<HashMap<AssetId<Image>, usize>>,
) {
    let Some(atlases) = atlases else { return };
    let (mut freed, mut bytes) = (0, 0);
    for atlas in atlases.values().flatten() {
        let id = atlas.texture.id();
        let glyphs = atlas.texture_atlas.textures.len();
        let settled = glyphs_seen.insert(id, glyphs) == Some(glyphs);
        if settled
            && images.get(id).is_some_and(|image| image.data.is_some())
            && let Some(mut image) = images.get_mut(id)
        {
            bytes += image.data.take().map_or(0, |pixels| pixels.len());
            freed += 1;
        }
    }
    if freed > 0 {
        // glibc keeps what is freed in its arenas (a freed large block even raises the size it
        // maps blocks at); without a trim the pixels let go stay in the process.
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: malloc_trim only returns the allocator's free pages to the system.
        unsafe {
            libc::malloc_trim(0);
        }
        info!(
            "glyph atlases: {freed} let go of their pixels ({:.1} MiB); their textures stay",
            bytes as f64 / 1048576.0
        );
    }
}

#[cfg(test)]
mod tests {
    use bevy::asset::RenderAssetUsages;
    use bevy::render::render_resource::{Extent3d, TextureDimension, TextureFormat};
    use bevy::text::{FontAtlas, FontAtlasKey, FontHinting, FontSmoothing, GlyphCacheKey};

    use super::*;

    fn glyph() -> Image {
        let size = Extent3d { width: 8, height: 8, depth_or_array_layers: 1 };
        Image::new_fill(
            size,
            TextureDimension::D2,
            &[255; 4],
            TextureFormat::Rgba8UnormSrgb,
            RenderAssetUsages::MAIN_WORLD,
        )
    }

    fn add_glyph(app: &mut App, id: u16) -> bool {
        app.world_mut().resource_scope(|world, mut atlases: Mut<FontAtlasSet>| {
            let mut images = world.resource_mut::<Assets<Image>>();
            let atlas = atlases.values_mut().flatten().next().unwrap();
            atlas.add_glyph(&mut images, GlyphCacheKey { glyph_id: id }, &glyph(), Vec2::ZERO, true).is_ok()
        })
    }

    fn pixels_kept(app: &App) -> bool {
        let atlases = app.world().resource::<FontAtlasSet>();
        let texture = atlases.values().flatten().next().unwrap().texture.id();
        app.world().resource::<Assets<Image>>().get(texture).unwrap().data.is_some()
    }

    #[test]
    fn an_atlas_that_stopped_growing_lets_its_pixels_go_and_a_later_glyph_is_refused_by_it() {
        let mut app = App::new();
        app.add_plugins((MinimalPlugins, AssetPlugin::default())).init_asset::<Image>();
        app.init_resource::<FontAtlasSet>().add_plugins(plugin);
        let atlas = FontAtlas::new(
            &mut app.world_mut().resource_mut::<Assets<Image>>(),
            UVec2::splat(64),
            FontSmoothing::AntiAliased,
        );
        let key = FontAtlasKey {
            id: 0,
            index: 0,
            font_size_bits: 20f32.to_bits(),
            variations_hash: 0,
            hinting: FontHinting::Disabled,
            font_smoothing: FontSmoothing::AntiAliased,
        };
        app.world_mut().resource_mut::<FontAtlasSet>().insert(key, vec![atlas]);
        // A glyph every frame: the atlas is growing, its pixels are kept.
        for id in 1..4 {
            assert!(add_glyph(&mut app, id));
            app.update();
            assert!(pixels_kept(&app), "a glyph was added in this frame");
        }
        // A frame with no new glyph: let go.
        app.update();
        assert!(!pixels_kept(&app), "the same glyphs over two frames");
        // A glyph that comes later finds no pixels: bevy then opens a new atlas for it.
        assert!(!add_glyph(&mut app, 9));
    }
}
