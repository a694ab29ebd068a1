//! What the fleet page can ask of a screen: show its id big for a while ("identify"), and send a
//! screenshot of what it shows now.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use bevy::window::RequestRedraw;

use super::DisplaySet;
use super::net::{FeedSource, IdentifyWanted, ScreenshotWanted};
use super::view::Fonts;
use super::wakeups::Wakeups;
use super::x_present::OwnPresent;

/// This screen's id, as it says hello to the hub.
#[derive(Resource, Clone, Debug)]
pub struct ScreenId(pub String);

/// The identify overlay on screen, and until when.
#[derive(Component)]
pub struct IdentifyOverlay {
    until: Instant,
}

const OVERLAY_BG: Color = Color::srgba(0.0, 0.0, 0.0, 0.95);
const AMBER: Color = Color::srgb(1.0, 0.76, 0.03);

pub(super) fn plugin(app: &mut App) {
    app.add_systems(
        Update,
        (
            show_identity,
            hide_identity_when_due,
            (send_requested_screenshot, send_presented_copy, draw_until_captured).chain(),
        )
            .in_set(DisplaySet::Capture),
    );
}

fn show_identity(
    mut commands: Commands,
    mut wanted: MessageReader<IdentifyWanted>,
    screen: Res<ScreenId>,
    fonts: Res<Fonts>,
    shown: Query<Entity, With<IdentifyOverlay>>,
    mut wakeups: ResMut<Wakeups>,
) {
    let Some(IdentifyWanted { seconds }) = wanted.read().last().copied() else { return };
    for entity in &shown {
        commands.entity(entity).despawn();
    }
    let until = Instant::now() + Duration::from_secs(u64::from(seconds.clamp(1, 600)));
    // The overlay is spawned after this frame's systems: ask for the frame that takes it away now.
    wakeups.at(until);
    let text = |text: &str, font: &Handle<Font>, size: f32, colour: Color| {
        (
            Text::new(text),
            TextFont { font: font.clone().into(), font_size: FontSize::Vh(size), ..default() },
            TextColor(colour),
            TextLayout::new(Justify::Center, LineBreak::NoWrap),
        )
    };
    commands
        .spawn((
            IdentifyOverlay { until },
            Node {
                position_type: PositionType::Absolute,
                width: Val::Percent(100.0),
                height: Val::Percent(100.0),
                flex_direction: FlexDirection::Column,
                justify_content: JustifyContent::Center,
                align_items: AlignItems::Center,
                border: UiRect::all(Val::Vh(1.5)),
                ..default()
            },
            BorderColor::all(AMBER),
            BackgroundColor(OVERLAY_BG),
            GlobalZIndex(1000),
        ))
        .with_children(|overlay| {
            overlay.spawn(text("Layar", &fonts.regular, 6.0, Color::WHITE));
            overlay.spawn(text(&screen.0, &fonts.bold, 16.0, AMBER));
        });
    info!("showing this screen's id ({}) for {seconds} s", screen.0);
}

fn hide_identity_when_due(
    mut commands: Commands,
    shown: Query<(Entity, &IdentifyOverlay)>,
    mut wakeups: ResMut<Wakeups>,
) {
    let now = Instant::now();
    for (entity, overlay) in &shown {
        if now >= overlay.until {
            commands.entity(entity).despawn();
        } else {
            wakeups.at(overlay.until);
        }
    }
}

/// A screenshot takes a few frames (render, copy back, encode): keep drawing until it is done.
fn draw_until_captured(
    pending: Query<(), With<Screenshot>>,
    own_present: Option<Res<OwnPresent>>,
    mut redraw: MessageWriter<RequestRedraw>,
) {
    let copy_pending =
        own_present.is_some_and(|own| own.copies.lock().is_ok_and(|c| c.wanted || c.done.is_some()));
    if !pending.is_empty() || copy_pending {
        redraw.write(RequestRedraw);
    }
}

/// Captures the next frame and hands the PNG to the network thread for upload. With frames put
/// on X by hand, the picture put on the window is copied instead (bevy's window screenshot needs
/// the window written by the camera).
fn send_requested_screenshot(
    mut commands: Commands,
    mut wanted: MessageReader<ScreenshotWanted>,
    own_present: Option<Res<OwnPresent>>,
) {
    if wanted.read().last().is_none() {
        return;
    }
    if let Some(own) = own_present {
        if let Ok(mut copies) = own.copies.lock() {
            copies.wanted = true;
        }
        return;
    }
    commands.spawn(Screenshot::primary_window()).observe(
        |captured: On<ScreenshotCaptured>, source: Res<FeedSource>| upload(&captured.image, &source),
    );
}

/// Uploads the copy of the window's picture once the render world made it.
fn send_presented_copy(own_present: Option<Res<OwnPresent>>, source: Res<FeedSource>) {
    let Some(own) = own_present else { return };
    let Some(image) = own.copies.lock().ok().and_then(|mut c| c.done.take()) else { return };
    upload(&image, &source);
}

/// Hands a screenshot to the network thread as a PNG.
fn upload(image: &Image, source: &FeedSource) {
    match encode_png(image) {
        Ok(png) => source.upload_screenshot(png),
        Err(e) => warn!("cannot encode the requested screenshot: {e}"),
    }
}

fn encode_png(image: &Image) -> Result<Vec<u8>, String> {
    let rgb = image.clone().try_into_dynamic().map_err(|e| e.to_string())?.to_rgb8();
    let mut png = std::io::Cursor::new(Vec::new());
    rgb.write_to(&mut png, image::ImageFormat::Png).map_err(|e| e.to_string())?;
    Ok(png.into_inner())
}
