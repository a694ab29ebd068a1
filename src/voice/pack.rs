//! Clip packs: a folder with `pack.toml` (token → WAV file, optional trim/gain), decoded into memory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::hall::Language;
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
    /// The language its words are in (Indonesian unless it says).
    #[serde(default = "indonesian", skip_serializing_if = "is_indonesian")]
    pub language: Language,
    /// The loudness its clips were matched to (LUFS), where `papan voice pack build` made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness_lufs: Option<f64>,
    pub clips: BTreeMap<String, ClipSpec>,
}

fn indonesian() -> Language {
    Language::Id
}

fn is_indonesian(language: &Language) -> bool {
    *language == Language::Id
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

/// Where `language`'s pack lies, given the Indonesian pack's folder: that folder itself for
/// Indonesian, the folder beside it named by the language's code for the others.
pub fn pack_dir_beside(main: &Path, language: Language) -> PathBuf {
    match language {
        Language::Id => main.to_path_buf(),
        other => main.parent().unwrap_or(Path::new(".")).join(other.code()),
    }
}

/// The packs of the languages a hall speaks: Indonesian's from the folder given (`--pack`), every
/// other language's from the folder beside it named by its code (`assets/voice/en`). All play at
/// the Indonesian pack's rate, so one announcement in two languages is one gapless stream.
pub struct Packs {
    main: Pack,
    others: BTreeMap<Language, Pack>,
    /// Languages whose pack could not be used, and why.
    unusable: BTreeMap<Language, String>,
}

impl Packs {
    /// The Indonesian pack, with the packs of `languages` beside it.
    pub fn new(main: Pack, languages: impl IntoIterator<Item = Language>) -> Packs {
        if main.manifest.language != Language::Id {
            tracing::warn!(
                "voice pack {} is in {}, but --pack names the Indonesian pack: its words stand in for Indonesian",
                main.dir.display(),
                main.manifest.language
            );
        }
        let mut packs = Packs { main, others: BTreeMap::new(), unusable: BTreeMap::new() };
        packs.load_missing(languages);
        packs
    }

    /// Where `language`'s pack is read from.
    pub fn dir(&self, language: Language) -> PathBuf {
        pack_dir_beside(&self.main.dir, language)
    }

    pub fn rate(&self) -> u32 {
        self.main.rate()
    }

    pub fn get(&self, language: Language) -> Option<&Pack> {
        match language {
            Language::Id => Some(&self.main),
            other => self.others.get(&other),
        }
    }

    /// Why `language`'s pack cannot be used, if it was tried and cannot.
    pub fn unusable(&self, language: Language) -> Option<&str> {
        self.unusable.get(&language).map(String::as_str)
    }

    /// Loads the packs of `languages` that are not loaded yet (a hall file that now asks for
    /// English); one that cannot be read is kept in [`Packs::unusable`] and tried again on reload.
    pub fn load_missing(&mut self, languages: impl IntoIterator<Item = Language>) {
        for language in languages {
            if language != Language::Id && !self.others.contains_key(&language) {
                self.load(language);
            }
        }
    }

    /// Reads every pack again (a clip was put back); keeps a loaded one whose folder now fails.
    pub fn reload(&mut self) {
        match Pack::load(&self.main.dir) {
            Ok(pack) if pack.rate() == self.rate() => self.main = pack,
            Ok(_) => tracing::warn!("the voice pack's sample rate changed; restart the screen to use it"),
            Err(e) => tracing::warn!("cannot reload the voice pack: {e}"),
        }
        let tried: Vec<Language> = self.others.keys().chain(self.unusable.keys()).copied().collect();
        for language in tried {
            self.load(language);
        }
    }

    fn load(&mut self, language: Language) {
        let dir = self.dir(language);
        let loaded = Pack::load(&dir).map_err(|e| e.to_string()).and_then(|pack| {
            if pack.manifest.language != language {
                Err(format!(
                    "voice pack {}: its pack.toml says language = \"{}\", but it stands where the {language} \
                     pack is read from",
                    dir.display(),
                    pack.manifest.language
                ))
            } else if pack.rate() == self.rate() {
                Ok(pack)
            } else {
                Err(format!(
                    "voice pack {} is {} Hz but the Indonesian pack is {} Hz: build it again with \
                     papan voice pack build --rate {}",
                    dir.display(),
                    pack.rate(),
                    self.rate(),
                    self.rate()
                ))
            }
        });
        match loaded {
            Ok(pack) => {
                self.unusable.remove(&language);
                self.others.insert(language, pack);
            }
            // A pack that was loaded keeps serving while its folder is being fixed.
            Err(_) if self.others.contains_key(&language) => {}
            Err(reason) => {
                self.unusable.insert(language, reason);
            }
        }
    }
}

/// Above this spread between the number words, a number sounds uneven ("dua" louder than
/// "sepuluh" inside "dua puluh sepuluh").
pub const MAX_NUMBER_SPREAD_LU: f64 = 2.0;
/// A single word (a number word or a letter) longer than this has silence or a breath left in it.
pub const MAX_WORD_MS: f64 = 1500.0;
/// A peak this close to full scale has clipped, or will on the next gain.
pub const CLIPPING_DBFS: f64 = -0.1;

/// How loud and long one decoded clip is.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipLevel {
    /// Loudness of the word itself (silence around it left out), LUFS; `None` if silent.
    pub loudness_lufs: Option<f64>,
    pub peak_dbfs: f64,
    pub duration_ms: f64,
}

/// The quietest and the loudest of a group of clips.
#[derive(Debug, Clone, PartialEq)]
pub struct Spread {
    pub lu: f64,
    pub quietest: (String, f64),
    pub loudest: (String, f64),
}

/// What `papan voice check` says of a pack's levels.
#[derive(Debug, Default)]
pub struct LevelReport {
    pub levels: BTreeMap<String, ClipLevel>,
    /// Among the number words, which carry every number said.
    pub number_spread: Option<Spread>,
    /// Clips whose peak reaches full scale.
    pub clipping: Vec<String>,
    /// Single words much longer than a word is.
    pub too_long: Vec<String>,
}

impl Pack {
    /// Measures every decoded clip (BS.1770 loudness of the word, peak, length).
    pub fn levels(&self, language: Language) -> LevelReport {
        use super::master::{loudness_lufs, peak_dbfs, speech_span};
        let rate = self.rate();
        let levels: BTreeMap<String, ClipLevel> = self
            .clips
            .iter()
            .map(|(token, samples)| {
                let samples: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
                let loudness =
                    speech_span(&samples, rate).and_then(|word| loudness_lufs(&samples[word], rate));
                let level = ClipLevel {
                    loudness_lufs: loudness,
                    peak_dbfs: peak_dbfs(&samples),
                    duration_ms: samples.len() as f64 * 1000.0 / f64::from(rate),
                };
                (token.clone(), level)
            })
            .collect();
        let number_clips = super::script::number_clips(language);
        let numbers: Vec<(String, f64)> = number_clips
            .iter()
            .filter_map(|token| Some((token.to_string(), levels.get(*token)?.loudness_lufs?)))
            .collect();
        let quietest = numbers.iter().min_by(|a, b| a.1.total_cmp(&b.1));
        let loudest = numbers.iter().max_by(|a, b| a.1.total_cmp(&b.1));
        let number_spread = quietest.zip(loudest).map(|(quietest, loudest)| Spread {
            lu: loudest.1 - quietest.1,
            quietest: quietest.clone(),
            loudest: loudest.clone(),
        });
        let is_word = |token: &str| {
            number_clips.contains(&token) || super::recording_script::letter_index(token).is_some()
        };
        LevelReport {
            clipping: levels
                .iter()
                .filter(|(_, l)| l.peak_dbfs >= CLIPPING_DBFS)
                .map(|(t, _)| t.clone())
                .collect(),
            too_long: levels
                .iter()
                .filter(|(t, l)| is_word(t) && l.duration_ms > MAX_WORD_MS)
                .map(|(t, _)| t.clone())
                .collect(),
            levels,
            number_spread,
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
    let mono = super::master::downmix(&raw, usize::from(spec.channels));
    let per_ms = rate as usize / 1000;
    let frames = mono.len();
    let start = (options.trim_start_ms as usize * per_ms).min(frames);
    let end = frames.saturating_sub(options.trim_end_ms as usize * per_ms).max(start);
    let gain = 10f32.powf(options.gain_db / 20.0);
    let samples: Vec<i16> =
        mono[start..end].iter().map(|s| (s * gain * 32767.0).clamp(-32768.0, 32767.0) as i16).collect();
    if samples.is_empty() {
        return Err(format!("{}: no audio left after trimming", path.display()));
    }
    Ok(samples.into())
}
