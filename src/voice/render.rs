//! Renders a token list into one continuous announcement (exact gaps, no sleeping) and to WAV.

use std::path::Path;

use super::pack::Packs;
use super::script::Said;
use crate::hall::Language;

/// One announcement as samples, ready to play or save.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub samples: Vec<i16>,
    pub rate: u32,
    /// Tokens the pack could not provide; the rest plays without them.
    pub skipped: Vec<String>,
}

impl Rendered {
    pub fn duration_ms(&self) -> f64 {
        self.samples.len() as f64 * 1000.0 / f64::from(self.rate)
    }
}

/// Concatenates the clips of every part, each from its language's pack, with `gap_ms` of
/// silence between clips and `repeat_gap_ms` between parts (a repeat, another language). A missing
/// clip is skipped, with no gap left for it; it is named `token` (Indonesian) or `en/token`.
pub fn render(parts: &[Said], packs: &Packs, gap_ms: u32, repeat_gap_ms: u32) -> Rendered {
    let rate = packs.rate();
    let silence = |ms: u32| (u64::from(ms) * u64::from(rate) / 1000) as usize;
    let mut samples = Vec::new();
    let mut skipped = Vec::new();
    let mut next_gap = silence(gap_ms);
    for part in parts {
        let pack = packs.get(part.language);
        for token in &part.tokens {
            let Some(clip) = pack.and_then(|pack| pack.clips.get(token)) else {
                skipped.push(match part.language {
                    Language::Id => token.clone(),
                    other => format!("{other}/{token}"),
                });
                continue;
            };
            if !samples.is_empty() {
                samples.resize(samples.len() + next_gap, 0);
            }
            samples.extend_from_slice(clip);
            next_gap = silence(gap_ms);
        }
        next_gap = silence(repeat_gap_ms);
    }
    Rendered { samples, rate, skipped }
}

/// Writes mono 16-bit PCM WAV.
pub fn write_wav(path: &Path, rendered: &Rendered) -> Result<(), hound::Error> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rendered.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for &sample in &rendered.samples {
        writer.write_sample(sample)?;
    }
    writer.finalize()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::voice::pack::Pack;

    fn indonesian(tokens: &[&str]) -> Said {
        Said { language: Language::Id, tokens: tokens.iter().map(|s| s.to_string()).collect() }
    }

    /// A pack of three tones of known lengths, written as real WAV files.
    fn tone_pack(dir: &Path) -> Pack {
        let rate = 48_000;
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: rate,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut manifest = String::from("name = \"tones\"\nrate = 48000\n[clips]\n");
        for (token, ms) in [("satu", 300u32), ("dua", 450), ("tiga", 125)] {
            let mut w = hound::WavWriter::create(dir.join(format!("{token}.wav")), spec).unwrap();
            for i in 0..(ms * rate / 1000) {
                w.write_sample(((i as f32 * 0.05).sin() * 8000.0) as i16).unwrap();
            }
            w.finalize().unwrap();
            manifest += &format!("{token} = \"{token}.wav\"\n");
        }
        manifest +=
            "trimmed = { file = \"dua.wav\", trim_start_ms = 50, trim_end_ms = 100, gain_db = -6.0 }\n";
        manifest += "gone = \"gone.wav\"\n";
        std::fs::write(dir.join("pack.toml"), manifest).unwrap();
        Pack::load(dir).unwrap()
    }

    #[test]
    fn duration_is_clips_plus_gaps_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::new(tone_pack(dir.path()), []);
        let rendered = render(&[indonesian(&["satu", "dua", "tiga"])], &packs, 60, 700);
        assert!((rendered.duration_ms() - (300.0 + 450.0 + 125.0 + 2.0 * 60.0)).abs() < 1.0);
        assert_eq!(rendered.samples.len(), (875 + 120) * 48);
        // The gap is real silence, and the clip after it starts right after.
        let gap_start = 300 * 48;
        assert!(rendered.samples[gap_start..gap_start + 60 * 48].iter().all(|&s| s == 0));
        assert_ne!(rendered.samples[gap_start + 60 * 48 + 1], 0);

        let out = dir.path().join("out.wav");
        write_wav(&out, &rendered).unwrap();
        let reader = hound::WavReader::open(&out).unwrap();
        assert_eq!(reader.duration() as usize, rendered.samples.len());
    }

    #[test]
    fn missing_clips_are_skipped_and_pauses_are_longer() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::new(tone_pack(dir.path()), []);
        let english = Said { language: Language::En, tokens: vec!["one".into()] };
        let parts = [indonesian(&["satu", "nope"]), english, indonesian(&["tiga", "trimmed"])];
        let rendered = render(&parts, &packs, 60, 700);
        assert_eq!(rendered.skipped, ["nope", "en/one"], "no English pack here: its words are named");
        // satu + 700 pause + tiga + 60 gap + dua trimmed by 150 ms.
        assert_eq!(rendered.samples.len(), (300 + 700 + 125 + 60 + 300) * 48);
        let peak = rendered.samples[rendered.samples.len() - 300 * 48..]
            .iter()
            .map(|s| s.unsigned_abs())
            .max()
            .unwrap();
        assert!((3900..=4100).contains(&peak), "-6 dB of 8000 ≈ 4000, got {peak}");
    }

    #[test]
    fn a_second_languages_pack_is_read_from_beside_the_first_and_must_match_it() {
        let dir = tempfile::tempdir().unwrap();
        let (id, en) = (dir.path().join("id"), dir.path().join("en"));
        std::fs::create_dir_all(&id).unwrap();
        let mut packs = Packs::new(tone_pack(&id), [Language::En]);
        assert_eq!(packs.dir(Language::En), en);
        assert!(packs.unusable(Language::En).unwrap().contains("cannot read pack.toml"));

        std::fs::create_dir_all(&en).unwrap();
        let manifest = std::fs::read_to_string(id.join("pack.toml")).unwrap();
        std::fs::write(en.join("pack.toml"), &manifest).unwrap();
        packs.reload();
        let why = packs.unusable(Language::En).unwrap();
        assert!(why.contains("says language = \"id\""), "an Indonesian pack copied in is refused: {why}");

        let english = manifest.replace("rate = 48000", "rate = 22050\nlanguage = \"en\"");
        std::fs::write(en.join("pack.toml"), english).unwrap();
        packs.reload();
        let why = packs.unusable(Language::En).unwrap();
        assert!(why.contains("22050 Hz but the Indonesian pack is 48000 Hz"), "{why}");

        for entry in std::fs::read_dir(&id).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, en.join(path.file_name().unwrap())).unwrap();
        }
        std::fs::write(
            en.join("pack.toml"),
            manifest.replace("rate = 48000", "rate = 48000\nlanguage = \"en\""),
        )
        .unwrap();
        packs.reload();
        assert_eq!(packs.unusable(Language::En), None);
        let english = Said { language: Language::En, tokens: vec!["tiga".into()] };
        let rendered = render(&[indonesian(&["satu"]), english], &packs, 60, 700);
        assert_eq!(rendered.samples.len(), (300 + 700 + 125) * 48, "both languages, the pause between");
    }

    #[test]
    fn check_reports_missing_and_undecodable_clips() {
        let dir = tempfile::tempdir().unwrap();
        let pack = tone_pack(dir.path());
        let needed: BTreeSet<String> = ["satu", "gone", "empat"].iter().map(|s| s.to_string()).collect();
        let report = pack.check(&needed);
        assert_eq!(report.missing, ["empat"]);
        assert_eq!(report.broken.len(), 1);
        assert_eq!(report.broken[0].0, "gone");
        assert!(!report.is_ok());
    }
}
