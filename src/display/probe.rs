//! `--bench-log FILE`: one line per frame (`frame N unix_us T seq S images I partial P`), written after the
//! frame's systems ran, so `papan bench display` can tell when a call was first drawn and how often
//! an idle board wakes up, and `papan bench soak` whether images (font atlases among them) pile up.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use bevy::prelude::*;

use super::net::BoardState;
use super::partial::PartialFrames;

#[derive(Resource)]
struct ProbeLog {
    file: Mutex<std::io::BufWriter<std::fs::File>>,
    frame: u64,
}

pub(super) fn plugin(app: &mut App, path: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    app.insert_resource(ProbeLog { file: Mutex::new(std::io::BufWriter::new(file)), frame: 0 })
        .add_systems(Last, log_frame);
    Ok(())
}

fn log_frame(
    mut log: ResMut<ProbeLog>,
    state: Res<BoardState>,
    images: Res<Assets<Image>>,
    partial: Res<PartialFrames>,
) {
    log.frame += 1;
    let seq = state.board.as_ref().map_or(0, |b| b.seq);
    let now = jiff::Timestamp::now().as_microsecond();
    let (frame, images, partial) = (log.frame, images.len(), u8::from(partial.this_frame));
    if let Ok(mut file) = log.file.lock() {
        // Flushed every frame: the reader polls the file while the display runs.
        let line = writeln!(file, "frame {frame} unix_us {now} seq {seq} images {images} partial {partial}");
        let _ = line.and_then(|_| file.flush());
    }
}
