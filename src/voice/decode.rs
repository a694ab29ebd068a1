//! Reads a recording in any common format (WAV, FLAC, MP3, Ogg Vorbis) into mono samples, with
//! symphonia: what a voice actor or a phone hands a facility team.

use std::path::Path;

use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;

use super::master::downmix;

/// File endings `papan voice pack build` reads; anything else in the folder is reported, not read.
pub const RECORDING_EXTENSIONS: [&str; 5] = ["wav", "flac", "mp3", "ogg", "oga"];

/// One recording, mixed down to mono.
#[derive(Debug, Clone)]
pub struct Recording {
    pub samples: Vec<f32>,
    pub rate: u32,
    /// Channels in the file (stereo recordings are mixed down).
    pub channels: usize,
}

/// Decodes the first audio track of `path`. The message says which file and what is wrong.
pub fn read_recording(path: &Path) -> Result<Recording, String> {
    let failed = |what: &str, e: &dyn std::fmt::Display| format!("{}: {what}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(|e| failed("cannot open", &e))?;
    let stream = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = path.extension().and_then(|e| e.to_str()) {
        hint.with_extension(extension);
    }
    let probed = symphonia::default::get_probe()
        .format(&hint, stream, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(|e| failed("not a recording papan can read (WAV, FLAC, MP3 or Ogg Vorbis)", &e))?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| format!("{}: has no audio track", path.display()))?;
    let track_id = track.id;
    let mut rate = track.codec_params.sample_rate;
    let mut decoder = symphonia::default::get_codecs()
        .make(&track.codec_params, &DecoderOptions::default())
        .map_err(|e| failed("cannot decode its audio", &e))?;
    let mut interleaved = Vec::new();
    let mut channels = 0;
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            // The end of the stream is reported as an unexpected end of file.
            Err(SymphoniaError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(failed("cannot read", &e)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        match decoder.decode(&packet) {
            Ok(decoded) => {
                let spec = *decoded.spec();
                channels = spec.channels.count();
                rate = Some(spec.rate);
                let mut buffer = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
                buffer.copy_interleaved_ref(decoded);
                interleaved.extend_from_slice(buffer.samples());
            }
            // A damaged packet is skipped, as players do; a file of nothing but is refused below.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(failed("cannot decode", &e)),
        }
    }
    let rate = rate.ok_or_else(|| format!("{}: does not say its sample rate", path.display()))?;
    if interleaved.is_empty() {
        return Err(format!("{}: holds no audio", path.display()));
    }
    Ok(Recording { samples: downmix(&interleaved, channels), rate, channels })
}
