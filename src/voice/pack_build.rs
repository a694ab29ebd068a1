//! `papan voice pack build`: a folder of recordings becomes a pack. Each file is matched to its
//! clip by name, mastered (resampled, trimmed, loudness-matched, faded) and written as a 16-bit
//! mono WAV; `pack.toml` lists them. Names no announcement uses and clips nobody recorded are
//! reported, never guessed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::decode::{RECORDING_EXTENSIONS, read_recording};
use super::master::{Mastered, master};
use super::pack::{ClipSpec, Manifest};
use super::recording_script::CHIME;
use crate::hall::Language;

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    pub rate: u32,
    pub loudness_lufs: f64,
    pub name: String,
    /// The language its recordings are in, written to pack.toml.
    pub language: Language,
}

/// One clip written, for the table.
#[derive(Debug, Clone)]
pub struct BuiltClip {
    pub token: String,
    /// The recording it came from; `None` for the chime papan made.
    pub source: Option<PathBuf>,
    pub mastered: Mastered,
    pub rate: u32,
}

impl BuiltClip {
    pub fn duration_ms(&self) -> f64 {
        self.mastered.samples.len() as f64 * 1000.0 / f64::from(self.rate)
    }
}

/// What a build did and what it could not do.
#[derive(Debug, Default)]
pub struct BuildReport {
    pub clips: Vec<BuiltClip>,
    /// Needed clips with no recording.
    pub missing: Vec<String>,
    /// Recordings whose name is no clip the hall needs (a typo, or a word of another hall).
    pub unknown: Vec<PathBuf>,
    /// One clip recorded twice (satu.wav and satu.mp3): neither is used.
    pub ambiguous: Vec<(String, Vec<PathBuf>)>,
    /// Recordings that could not be read or are silent.
    pub failed: Vec<(String, String)>,
    /// Files that are not recordings (by their ending), left alone.
    pub ignored: Vec<PathBuf>,
}

impl BuildReport {
    /// Every needed clip was built.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.ambiguous.is_empty() && self.failed.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot read the recordings folder {dir}: {error}")]
    RawDir { dir: PathBuf, error: std::io::Error },
    #[error(
        "the pack folder {0} is the recordings folder: choose another, or the WAVs would replace recordings"
    )]
    SameDir(PathBuf),
    #[error("cannot write {path}: {error}")]
    Write { path: PathBuf, error: String },
    #[error("--rate {0} is not a sample rate a sound card plays (use 16000 to 96000, e.g. 48000)")]
    Rate(u32),
    #[error("--loudness {0} LUFS is outside -40 to -6 (broadcast speech is about -23; the default is -20)")]
    Loudness(f64),
}

/// Builds the pack in `out` from the recordings in `raw`, for the clips in `needed`.
pub fn build_pack(
    raw: &Path,
    out: &Path,
    needed: &BTreeSet<String>,
    options: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    if !(16_000..=96_000).contains(&options.rate) {
        return Err(BuildError::Rate(options.rate));
    }
    if !(-40.0..=-6.0).contains(&options.loudness_lufs) {
        return Err(BuildError::Loudness(options.loudness_lufs));
    }
    let raw_error = |error| BuildError::RawDir { dir: raw.to_path_buf(), error };
    let mut report = BuildReport::default();
    let mut by_token: BTreeMap<String, Vec<PathBuf>> = BTreeMap::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(raw)
        .map_err(raw_error)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(raw_error)?;
    entries.sort();
    for path in entries {
        if !path.is_file() {
            continue;
        }
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if !extension.is_some_and(|e| RECORDING_EXTENSIONS.contains(&e.as_str())) {
            report.ignored.push(path);
            continue;
        }
        let token = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_lowercase();
        if needed.contains(&token) {
            by_token.entry(token).or_default().push(path);
        } else {
            report.unknown.push(path);
        }
    }
    std::fs::create_dir_all(out)
        .map_err(|e| BuildError::Write { path: out.to_path_buf(), error: e.to_string() })?;
    if same_dir(raw, out) {
        return Err(BuildError::SameDir(out.to_path_buf()));
    }
    for token in needed {
        let sources = by_token.remove(token).unwrap_or_default();
        let built = match sources.as_slice() {
            [] if token == CHIME => {
                let chime = two_tone_chime(options.rate);
                master(&chime, options.rate, options.rate, options.loudness_lufs)
                    .map(|mastered| (None, mastered))
                    .map_err(|e| e.to_string())
            }
            [] => {
                report.missing.push(token.clone());
                continue;
            }
            [source] => read_recording(source).and_then(|recording| {
                master(&recording.samples, recording.rate, options.rate, options.loudness_lufs)
                    .map(|mastered| (Some(source.clone()), mastered))
                    .map_err(|e| format!("{}: {e}", source.display()))
            }),
            _ => {
                report.ambiguous.push((token.clone(), sources));
                continue;
            }
        };
        match built {
            Ok((source, mastered)) => {
                report.clips.push(BuiltClip { token: token.clone(), source, mastered, rate: options.rate })
            }
            Err(reason) => report.failed.push((token.clone(), reason)),
        }
    }
    for clip in &report.clips {
        write_clip(&out.join(format!("{}.wav", clip.token)), &clip.mastered.samples, options.rate)?;
    }
    let manifest = Manifest {
        name: options.name.clone(),
        rate: options.rate,
        language: options.language,
        loudness_lufs: Some(options.loudness_lufs),
        clips: report
            .clips
            .iter()
            .map(|clip| (clip.token.clone(), ClipSpec::File(format!("{}.wav", clip.token))))
            .collect(),
    };
    let header = format!(
        "# papan voice pack: clip token → WAV file (mono, 16-bit, {} Hz), each matched to {} LUFS.\n\
         # Built by papan voice pack build from a folder of recordings (papan voice script lists\n\
         # them); build again after recording a clip anew. Check with: papan voice check {}\n",
        options.rate,
        options.loudness_lufs,
        out.display()
    );
    let toml = toml::to_string(&manifest)
        .map_err(|e| BuildError::Write { path: out.join("pack.toml"), error: e.to_string() })?;
    let path = out.join("pack.toml");
    std::fs::write(&path, header + &toml).map_err(|e| BuildError::Write { path, error: e.to_string() })?;
    Ok(report)
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// 16-bit mono WAV, rounded to the nearest step.
fn write_clip(path: &Path, samples: &[f32], rate: u32) -> Result<(), BuildError> {
    let failed = |e: hound::Error| BuildError::Write { path: path.to_path_buf(), error: e.to_string() };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).map_err(failed)?;
    for sample in samples {
        writer.write_sample((sample * 32767.0).round().clamp(-32768.0, 32767.0) as i16).map_err(failed)?;
    }
    writer.finalize().map_err(failed)
}

/// The default chime: B5 then G5, so citizens look up before the words (what the shipped pack
/// has always played).
pub fn two_tone_chime(rate: u32) -> Vec<f32> {
    let note = |freq: f32, seconds: f32, fade_out: f32| {
        let len = (seconds * rate as f32) as usize;
        let fade_in = 0.005 * rate as f32;
        let fade_out_len = fade_out * rate as f32;
        (0..len).map(move |i| {
            let t = i as f32;
            let up = (t / fade_in).min(1.0);
            let down = ((len as f32 - t) / fade_out_len).min(1.0);
            // Quarter-sine fades, as sox's `fade q`.
            let envelope =
                (up * std::f32::consts::FRAC_PI_2).sin() * (down * std::f32::consts::FRAC_PI_2).sin();
            0.5 * envelope * (std::f32::consts::TAU * freq * t / rate as f32).sin()
        })
    };
    note(988.0, 0.32, 0.28).chain(note(784.0, 0.60, 0.55)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::master::loudness_lufs;
    use crate::voice::pack::Pack;

    fn write_tone(path: &Path, rate: u32, channels: u16, peak: f32, seconds: f32) {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(path, spec).unwrap();
        let frames = (seconds * rate as f32) as usize;
        for i in 0..frames {
            // Quiet lead-in and tail, as a recording has.
            let t = i as f32 / rate as f32;
            let on = t > 0.2 && t < seconds - 0.2;
            let value = if on { peak * (std::f32::consts::TAU * 440.0 * t).sin() } else { 0.0 };
            for _ in 0..channels {
                writer.write_sample((value * 32767.0) as i16).unwrap();
            }
        }
        writer.finalize().unwrap();
    }

    fn needed(tokens: &[&str]) -> BTreeSet<String> {
        tokens.iter().map(|t| t.to_string()).collect()
    }

    #[test]
    fn recordings_are_matched_by_name_and_what_is_off_is_reported() {
        let raw = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        write_tone(&raw.path().join("satu.wav"), 44_100, 2, 0.8, 0.9);
        write_tone(&raw.path().join("DUA.wav"), 22_050, 1, 0.05, 0.7);
        write_tone(&raw.path().join("tiga.wav"), 48_000, 1, 0.3, 0.6);
        std::fs::copy(raw.path().join("tiga.wav"), raw.path().join("tiga.flac")).unwrap();
        write_tone(&raw.path().join("sepulu.wav"), 48_000, 1, 0.3, 0.6);
        std::fs::write(raw.path().join("catatan.txt"), "ambil ulang: tiga").unwrap();
        std::fs::write(raw.path().join("empat.mp3"), "not an mp3 at all").unwrap();
        let options =
            BuildOptions { rate: 48_000, loudness_lufs: -20.0, name: "uji".into(), language: Language::Id };
        let needed = needed(&["satu", "dua", "tiga", "empat", "lima", "chime"]);
        let report = build_pack(raw.path(), out.path(), &needed, &options).unwrap();

        let built: Vec<&str> = report.clips.iter().map(|c| c.token.as_str()).collect();
        assert_eq!(built, ["chime", "dua", "satu"], "the chime is made when nobody recorded one");
        assert_eq!(report.missing, ["lima"]);
        assert_eq!(report.unknown, [raw.path().join("sepulu.wav")]);
        assert_eq!(report.ignored, [raw.path().join("catatan.txt")]);
        assert_eq!(
            report.ambiguous,
            [("tiga".to_string(), vec![raw.path().join("tiga.flac"), raw.path().join("tiga.wav")])]
        );
        assert_eq!(report.failed.len(), 1);
        assert!(
            report.failed[0].0 == "empat" && report.failed[0].1.contains("empat.mp3"),
            "{:?}",
            report.failed
        );
        assert!(!report.is_complete());

        // What was built is a pack papan plays: one rate, every clip at the target.
        let pack = Pack::load(out.path()).unwrap();
        assert!(pack.broken.is_empty(), "{:?}", pack.broken);
        assert_eq!((pack.rate(), pack.manifest.loudness_lufs, pack.clips.len()), (48_000, Some(-20.0), 3));
        for (token, level) in pack.levels(Language::Id).levels {
            let lufs = level.loudness_lufs.unwrap();
            assert!((lufs - -20.0).abs() <= 0.5, "{token} at {lufs} LUFS");
        }
        // 0.2 s of silence each side, of which 10 ms are kept: 0.38 s shorter than recorded.
        let satu = &pack.clips["satu"];
        assert!((satu.len() as i64 - (0.52 * 48_000.0) as i64).abs() < 960, "{} samples", satu.len());
        let samples: Vec<f32> = satu.iter().map(|&s| f32::from(s) / 32768.0).collect();
        assert!(loudness_lufs(&samples, 48_000).is_some());
    }

    #[test]
    fn the_pack_folder_may_not_be_the_recordings_folder() {
        let raw = tempfile::tempdir().unwrap();
        write_tone(&raw.path().join("satu.wav"), 48_000, 1, 0.3, 0.6);
        let options =
            BuildOptions { rate: 48_000, loudness_lufs: -20.0, name: "uji".into(), language: Language::Id };
        let error = build_pack(raw.path(), raw.path(), &needed(&["satu"]), &options).unwrap_err();
        assert!(matches!(error, BuildError::SameDir(_)), "{error}");
        let quiet = BuildOptions { loudness_lufs: -60.0, ..options.clone() };
        let error = build_pack(raw.path(), &raw.path().join("out"), &needed(&["satu"]), &quiet).unwrap_err();
        assert!(error.to_string().contains("outside -40 to -6"), "{error}");
        assert!(!raw.path().join("out").exists(), "nothing written for refused options");
    }
}
