//! Two of bevy's 2D render passes without the full-screen clears a board never needs: on a CPU adapter each was a pass over every pixel of every frame.
//!
//! bevy's 2D camera clears a depth buffer each frame for sprites and meshes (the board draws
//! neither: its nodes go through the UI pass, which uses no depth), and clears the window's image
//! before copying its main texture into all of it. On lavapipe at 1920×1080 the copy is ~11 ms of
//! CPU a frame and each clear a further pass over 8 MB (the copy's clear ~1–1.5 ms a frame; at
//! 3840×2160 both together ~9 ms; docs/benchmark-notes.md). These two systems take the place of bevy's
//! `main_transparent_pass_2d` (it cleared the main texture and the depth buffer; this one clears
//! the main texture only) and `upscaling` (the copy into the window; this one lets the driver skip
//! loading or clearing what the full-screen copy overwrites anyway). On a GPU both are at least
//! as cheap as bevy's. `PAPAN_BEVY_PASSES=1` keeps bevy's own passes, to compare or should a
//! driver misbehave.

use bevy::camera::{CameraOutputMode, ClearColorConfig};
use bevy::core_pipeline::blit::{BlitPipeline, BlitPipelineKey};
use bevy::core_pipeline::core_2d::Transparent2d;
use bevy::core_pipeline::core_2d::main_transparent_pass_2d;
use bevy::core_pipeline::upscaling::upscaling;
use bevy::core_pipeline::{Core2d, Core2dSystems};
use bevy::ecs::schedule::ScheduleCleanupPolicy;
use bevy::prelude::*;
use bevy::render::camera::ExtractedCamera;
use bevy::render::render_phase::ViewSortedRenderPhases;
use bevy::render::render_resource::{
    BindGroup, BlendState, CachedRenderPipelineId, LoadOp, PipelineCache, RenderPassDescriptor,
    SpecializedRenderPipelines, TextureViewId,
};
use bevy::render::renderer::{RenderContext, ViewQuery};
use bevy::render::view::{ExtractedView, ViewTarget};
use bevy::render::{Render, RenderApp, RenderSystems};

use super::x_present::FrameDamage;

/// Logged once both passes are in place (the demo test looks for it).
pub const LEAN_PASSES_LOG: &str = "2D passes in place: no depth buffer, no clear under the copy";

/// Whether both passes were replaced (frames put on X by hand need the clear of this one).
pub(super) fn plugin(app: &mut App) -> bool {
    if std::env::var("PAPAN_BEVY_PASSES").as_deref() == Ok("1") {
        info!("PAPAN_BEVY_PASSES=1: bevy's own 2D passes, with their clears");
        return false;
    }
    let Some(render_app) = app.get_sub_app_mut(RenderApp) else { return false };
    // Outside `Schedules` while the schedule's systems are initialised, which may add resources.
    // Only the systems go; their sets stay, and with them the order of the UI pass between.
    let removed = render_app.world_mut().try_schedule_scope(Core2d, |world, schedule| {
        let policy = ScheduleCleanupPolicy::RemoveSystemsOnly;
        let main_pass = schedule.remove_systems_in_set(main_transparent_pass_2d, world, policy);
        let copy = schedule.remove_systems_in_set(upscaling, world, policy);
        (main_pass, copy)
    });
    let (main_pass, copy) = match removed {
        Ok(both) => both,
        Err(e) => {
            warn!("bevy's 2D schedule is not there ({e}); its own passes stay");
            return false;
        }
    };
    let both = matches!((&main_pass, &copy), (Ok(1), Ok(1)));
    if both {
        info!("{LEAN_PASSES_LOG}");
    }
    match main_pass {
        Ok(1) => {
            render_app.add_systems(
                Core2d,
                clear_main_texture.in_set(Core2dSystems::MainPass).after(main_transparent_pass_2d),
            );
        }
        other => warn!("bevy's main 2D pass is not where expected ({other:?}); it stays"),
    }
    match copy {
        Ok(1) => {
            render_app
                .add_systems(Render, prepare_copy_pipelines.in_set(RenderSystems::Prepare))
                .add_systems(Core2d, copy_into_window.after(upscaling));
        }
        other => warn!("bevy's copy into the window is not where expected ({other:?}); it stays"),
    }
    both
}

/// Clears the main texture as the camera says (a partial frame keeps it), with no depth buffer.
/// With frames put on X by hand (`x_present`) the camera never clears, and a whole frame is
/// cleared here.
fn clear_main_texture(
    view: ViewQuery<(&ExtractedView, &ViewTarget)>,
    transparent_phases: Res<ViewSortedRenderPhases<Transparent2d>>,
    (damage, clear_color): (Option<Res<FrameDamage>>, Res<ClearColor>),
    mut warned: Local<bool>,
    mut ctx: RenderContext,
) {
    let (extracted_view, target) = view.into_inner();
    let has_sprites = transparent_phases
        .get(&extracted_view.retained_view_entity)
        .is_some_and(|phase| !phase.items.is_empty());
    if has_sprites && !*warned {
        *warned = true;
        error!("2D sprites or meshes are not drawn by papan's passes; run with PAPAN_BEVY_PASSES=1");
    }
    let mut attachment = target.get_color_attachment();
    if damage.is_some_and(|damage| damage.whole) {
        // The main texture is sRGB: its clear value is linear, as bevy converts it.
        let [r, g, b, a] = clear_color.0.to_linear().to_f32_array();
        attachment.ops.load =
            LoadOp::Clear(wgpu::Color { r: r.into(), g: g.into(), b: b.into(), a: a.into() });
    }
    let _pass = ctx.command_encoder().begin_render_pass(&RenderPassDescriptor {
        label: Some("clear_main_texture"),
        color_attachments: &[Some(attachment)],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    });
}

/// The copy pipeline of a view, as bevy's `upscaling` would choose it, and the key it was made for.
#[derive(Component)]
struct CopyPipeline(CachedRenderPipelineId, BlitPipelineKey);

fn prepare_copy_pipelines(
    mut commands: Commands,
    pipeline_cache: Res<PipelineCache>,
    mut pipelines: ResMut<SpecializedRenderPipelines<BlitPipeline>>,
    blit_pipeline: Res<BlitPipeline>,
    views: Query<(Entity, &ViewTarget, Option<&ExtractedCamera>, Option<&CopyPipeline>)>,
) {
    for (entity, target, camera, prepared) in &views {
        let Some(target_format) = target.out_texture_view_format() else { continue };
        // A later camera on the same window blends over the earlier ones (bevy's rule).
        let blend_state = camera.and_then(|camera| match camera.output_mode {
            CameraOutputMode::Skip => None,
            CameraOutputMode::Write { blend_state: Some(blend), .. } => Some(blend),
            CameraOutputMode::Write { blend_state: None, .. } => {
                (camera.sorted_camera_index_for_target > 0).then_some(BlendState::ALPHA_BLENDING)
            }
        });
        let key = BlitPipelineKey {
            target_format,
            blend_state,
            samples: 1,
            source_space: target.compositing_space,
        };
        // Only when the view is new or its key changed, not every frame.
        if prepared.is_none_or(|CopyPipeline(_, prepared_key)| *prepared_key != key) {
            let pipeline = pipelines.specialize(&pipeline_cache, &blit_pipeline, key);
            commands.entity(entity).insert(CopyPipeline(pipeline, key));
        }
    }
}

/// Copies the frame into the window's image, all of it; the image's old contents are neither
/// loaded nor cleared when every pixel is overwritten (one camera, no blending, no viewport).
fn copy_into_window(
    view: ViewQuery<(&ViewTarget, &CopyPipeline, Option<&ExtractedCamera>)>,
    pipeline_cache: Res<PipelineCache>,
    blit_pipeline: Res<BlitPipeline>,
    clear_color_global: Res<ClearColor>,
    mut bind_group_cache: Local<Option<(TextureViewId, BindGroup)>>,
    mut ctx: RenderContext,
) {
    let (target, CopyPipeline(pipeline, key), camera) = view.into_inner();
    let clear_color = match camera.map(|camera| camera.output_mode) {
        Some(CameraOutputMode::Skip) => return,
        Some(CameraOutputMode::Write { clear_color, .. }) => clear_color,
        None => ClearColorConfig::Default,
    };
    let Some(pipeline) = pipeline_cache.get_render_pipeline(*pipeline) else { return };
    let main_texture_view = target.main_texture_view();
    let bind_group = match &mut *bind_group_cache {
        Some((id, bind_group)) if main_texture_view.id() == *id => bind_group,
        cached => {
            let bind_group =
                blit_pipeline.create_bind_group(ctx.render_device(), main_texture_view, &pipeline_cache);
            &mut cached.insert((main_texture_view.id(), bind_group)).1
        }
    };
    let viewport = camera.and_then(|camera| camera.viewport.as_ref());
    let overwrites_all = key.blend_state.is_none() && viewport.is_none();
    let clear = match clear_color {
        ClearColorConfig::Default => Some(clear_color_global.0.into()),
        ClearColorConfig::Custom(color) => Some(color.into()),
        ClearColorConfig::None => None,
    };
    // Taken from the view target even when its load is replaced below: that marks the window's
    // image as written this frame, which is what makes bevy present it.
    let Some(mut attachment) = target.out_texture_color_attachment(clear) else { return };
    if overwrites_all {
        // SAFETY: the full-screen triangle below, unblended and unclipped, writes every pixel
        // of the attachment before it is stored; nothing reads it first.
        attachment.ops.load = LoadOp::DontCare(unsafe { wgpu::LoadOpDontCare::enabled() });
    }
    let mut pass = ctx.command_encoder().begin_render_pass(&RenderPassDescriptor {
        label: Some("copy_into_window"),
        color_attachments: &[Some(attachment)],
        depth_stencil_attachment: None,
        timestamp_writes: None,
        occlusion_query_set: None,
        multiview_mask: None,
    });
    if let Some(viewport) = viewport {
        let (size, position) = (viewport.physical_size, viewport.physical_position);
        pass.set_scissor_rect(position.x, position.y, size.x, size.y);
    }
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, bind_group, &[]);
    pass.draw(0..3, 0..1);
}
