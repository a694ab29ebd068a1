//! Clip packs: a folder with `pack.toml` (token → WAV file, optional trim/gain), decoded into memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::source_error::{SourceError, parse_toml};

/// The default pack, relative to the working folder.
pub const DEFAULT_PACK_DIR: &str = "assets/voice/id";

/// `pack.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    /// Sample rate every clip must have (one rate keeps playback gapless and unresampled).
    pub rate: u32,
    pub clips: BTreeMap<String, ClipSpec>,
}

/// A clip entry: just a file name, or a file with adjustments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClipSpec {
    File(String),
    Adjusted(ClipOptions),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClipOptions {
    pub file: String,
    #[serde(default)]
    pub gain_db: f32,
    #[serde(default)]
    pub trim_start_ms: u32,
    #[serde(default)]
    pub trim_end_ms: u32,
}

impl ClipSpec {
    fn options(&self) -> ClipOptions {
        match self {
            ClipSpec::File(file) => {
                ClipOptions { file: file.clone(), gain_db: 0.0, trim_start_ms: 0, trim_end_ms: 0 }
            }
            ClipSpec::Adjusted(options) => options.clone(),
        }
    }
}

/// Mono 16-bit samples at the pack's rate.
pub type Samples = Arc<[i16]>;

/// A loaded pack: every clip that decoded, and what went wrong with the others.
pub struct Pack {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub clips: HashMap<String, Samples>,
    /// Clips listed in the manifest that could not be used, with the reason.
    pub broken: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("voice pack {dir}: cannot read pack.toml: {error} (pass --pack DIR to use another folder)")]
    Unreadable { dir: PathBuf, error: std::io::Error },
    #[error("{0}")]
    Manifest(#[from] SourceError),
}

/// What a pack lacks for a hall.
#[derive(Debug, Default, PartialEq)]
pub struct CheckReport {
    pub missing: Vec<String>,
    pub broken: Vec<(String, String)>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.missing.is_empty() && self.broken.is_empty()
    }
}

impl Pack {
    /// Reads the manifest and decodes every clip into memory, so playback never waits on disk.
    pub fn load(dir: &Path) -> Result<Pack, PackError> {
        let manifest_path = dir.join("pack.toml");
        let src = std::fs::read_to_string(&manifest_path)
            .map_err(|error| PackError::Unreadable { dir: dir.to_path_buf(), error })?;
        let manifest: Manifest = parse_toml(&manifest_path.display().to_string(), &src)?;
        let mut clips = HashMap::new();
        let mut broken = Vec::new();
        for (token, spec) in &manifest.clips {
            match decode(&dir.join(spec.options().file), manifest.rate, &spec.options()) {
                Ok(samples) => {
                    clips.insert(token.clone(), samples);
                }
                Err(reason) => broken.push((token.clone(), reason)),
            }
        }
        Ok(Pack { dir: dir.to_path_buf(), manifest, clips, broken })
    }

    pub fn rate(&self) -> u32 {
        self.manifest.rate
    }

    /// Which of `needed` this pack lacks or cannot decode.
    pub fn check(&self, needed: &BTreeSet<String>) -> CheckReport {
        CheckReport {
            missing: needed.iter().filter(|t| !self.manifest.clips.contains_key(*t)).cloned().collect(),
            broken: self.broken.iter().filter(|(t, _)| needed.contains(t)).cloned().collect(),
        }
    }
}

/// Decodes one WAV file to mono i16 at `rate`, applying trim and gain.
fn decode(path: &Path, rate: u32, options: &ClipOptions) -> Result<Samples, String> {
    let mut reader = hound::WavReader::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let spec = reader.spec();
    if spec.sample_rate != rate {
        return Err(format!(
            "{} is {} Hz but the pack is {rate} Hz (convert it, e.g. sox in.wav -r {rate} out.wav)",
            path.display(),
            spec.sample_rate
        ));
    }
    let raw: Result<Vec<f32>, hound::Error> = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, 16) => {
            reader.samples::<i16>().map(|s| s.map(|s| f32::from(s) / 32768.0)).collect()
        }
        (hound::SampleFormat::Int, bits @ (24 | 32)) => {
            let scale = (1u64 << (bits - 1)) as f32;
            reader.samples::<i32>().map(|s| s.map(|s| s as f32 / scale)).collect()
        }
        (hound::SampleFormat::Float, 32) => reader.samples::<f32>().collect(),
        (format, bits) => {
            return Err(format!("{}: unsupported {bits}-bit {format:?} samples", path.display()));
        }
    };
    let raw = raw.map_err(|e| format!("{}: {e}", path.display()))?;
    // Stereo (or more) is mixed down to mono.
    let channels = usize::from(spec.channels.max(1));
    let mono = raw.chunks(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32);
    let per_ms = rate as usize / 1000;
    let frames = raw.len() / channels;
    let start = (options.trim_start_ms as usize * per_ms).min(frames);
    let end = frames.saturating_sub(options.trim_end_ms as usize * per_ms).max(start);
    let gain = 10f32.powf(options.gain_db / 20.0);
    let samples: Vec<i16> = mono
        .skip(start)
        .take(end - start)
        .map(|s| (s * gain * 32767.0).clamp(-32768.0, 32767.0) as i16)
        .collect();
    if samples.is_empty() {
        return Err(format!("{}: no audio left after trimming", path.display()));
    }
    Ok(samples.into())
}
