//! Renders a token list into one continuous announcement (exact gaps, no sleeping) and to WAV.

use std::path::Path;

use super::pack::Pack;
use super::script::PAUSE;

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

/// Concatenates the clips of `tokens` with `gap_ms` of silence between them (`repeat_gap_ms` at a
/// [`PAUSE`]). A missing clip is skipped, with no gap left for it.
pub fn render(tokens: &[String], pack: &Pack, gap_ms: u32, repeat_gap_ms: u32) -> Rendered {
    let rate = pack.rate();
    let silence = |ms: u32| (u64::from(ms) * u64::from(rate) / 1000) as usize;
    let mut samples = Vec::new();
    let mut skipped = Vec::new();
    let mut next_gap = silence(gap_ms);
    for token in tokens {
        if token == PAUSE {
            next_gap = silence(repeat_gap_ms);
            continue;
        }
        let Some(clip) = pack.clips.get(token) else {
            skipped.push(token.clone());
            continue;
        };
        if !samples.is_empty() {
            samples.resize(samples.len() + next_gap, 0);
        }
        samples.extend_from_slice(clip);
        next_gap = silence(gap_ms);
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
        let pack = tone_pack(dir.path());
        let tokens: Vec<String> = ["satu", "dua", "tiga"].iter().map(|s| s.to_string()).collect();
        let rendered = render(&tokens, &pack, 60, 700);
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
        let pack = tone_pack(dir.path());
        let tokens: Vec<String> =
            ["satu", "nope", PAUSE, "tiga", "trimmed"].iter().map(|s| s.to_string()).collect();
        let rendered = render(&tokens, &pack, 60, 700);
        assert_eq!(rendered.skipped, ["nope"]);
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
