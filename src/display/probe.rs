//! `--bench-log FILE`: one line per frame (`frame N unix_us T seq S images I partial P cpu_us C
//! x_present X replayed R`), written
//! after the frame's systems ran, so `papan bench display` can tell when a call was first drawn, how
//! often an idle board wakes up and what each kind of frame costs, and `papan bench soak` whether
//! images (font atlases among them) pile up.

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use bevy::prelude::*;

use super::net::BoardState;
use super::partial::PartialFrames;
use super::x_present::OwnPresent;

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
    own_present: Option<Res<OwnPresent>>,
) {
    log.frame += 1;
    let seq = state.board.as_ref().map_or(0, |b| b.seq);
    let now = jiff::Timestamp::now().as_microsecond();
    let replayed = u8::from(partial.this_frame_replayed);
    let (frame, images, partial) = (log.frame, images.len(), u8::from(partial.this_frame));
    let cpu_us = process_cpu_us();
    let x_present = u8::from(own_present.is_some());
    if let Ok(mut file) = log.file.lock() {
        // Flushed every frame: the reader polls the file while the display runs.
        let line = writeln!(
            file,
            "frame {frame} unix_us {now} seq {seq} images {images} partial {partial} cpu_us {cpu_us} x_present {x_present} replayed {replayed}"
        );
        let _ = line.and_then(|_| file.flush());
    }
}

/// CPU time of the whole process so far, every thread (llvmpipe's rasterisers among them), in µs.
fn process_cpu_us() -> u64 {
    let mut time = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec, which `time` is.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut time) } != 0 {
        return 0;
    }
    time.tv_sec as u64 * 1_000_000 + time.tv_nsec as u64 / 1_000
}
