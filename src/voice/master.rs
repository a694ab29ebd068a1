//! Mastering one recorded clip for a pack (pure, no files): resample, trim the silence around the
//! word, match its loudness to the pack's (ITU-R BS.1770, the measure of EBU R128) and fade the
//! edges, so the words of one sentence sound equally loud and never click.

use std::ops::Range;

use ebur128::{EbuR128, Mode};
use rubato::{Resampler, SincFixedIn, SincInterpolationParameters, SincInterpolationType, WindowFunction};

/// The loudness a pack's clips are matched to unless told otherwise (LUFS, measured as one channel).
pub const DEFAULT_LOUDNESS_LUFS: f64 = -20.0;
/// No clip's peak goes above this after its gain (dBFS): a loud word may end a little quieter
/// than the target, but it never clips on a sound card.
pub const PEAK_CEILING_DBFS: f64 = -1.0;
/// Fade at each end after trimming, against clicks where a word was cut from its recording.
pub const FADE_MS: u32 = 5;
/// What is kept of the quiet before and after the word, so soft onsets ("s", "h") stay whole.
pub const TRIM_MARGIN_MS: u32 = 10;
/// Windows this far (dB) below the loudest 10 ms of the clip count as silence, as do windows
/// below [`SILENCE_FLOOR_DBFS`].
const SILENCE_BELOW_PEAK_DB: f32 = 40.0;
const SILENCE_FLOOR_DBFS: f32 = -60.0;

/// What mastering did to one clip, for the table `papan voice pack build` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Mastered {
    /// Mono samples at the pack's rate, in −1..1.
    pub samples: Vec<f32>,
    pub loudness_before: f64,
    pub loudness_after: f64,
    pub peak_after_dbfs: f64,
    /// Silence cut before and after the word (ms).
    pub trimmed_ms: (u32, u32),
    /// The gain was held back so the peak stays at [`PEAK_CEILING_DBFS`].
    pub peak_limited: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MasterError {
    #[error("the recording is silent (nothing above {SILENCE_FLOOR_DBFS} dBFS)")]
    Silent,
    #[error("cannot resample from {from} Hz to {to} Hz: {reason}")]
    Resample { from: u32, to: u32, reason: String },
}

/// Mixes interleaved frames of `channels` channels down to one.
pub fn downmix(interleaved: &[f32], channels: usize) -> Vec<f32> {
    let channels = channels.max(1);
    interleaved.chunks(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32).collect()
}

/// Masters one mono recording at `rate` into a clip at `pack_rate` whose loudness is
/// `target_lufs` (or less, where the peak ceiling holds it back).
pub fn master(samples: &[f32], rate: u32, pack_rate: u32, target_lufs: f64) -> Result<Mastered, MasterError> {
    let resampled = resample(samples, rate, pack_rate)?;
    let speech = speech_span(&resampled, pack_rate).ok_or(MasterError::Silent)?;
    // Measured on the word alone: with the kept margins in, a short word ("i") would read
    // quieter than it sounds and come out louder than a long one.
    let loudness_before = loudness_lufs(&resampled[speech.clone()], pack_rate).ok_or(MasterError::Silent)?;
    let margin = pack_rate as usize * TRIM_MARGIN_MS as usize / 1000;
    let kept = speech.start.saturating_sub(margin)..(speech.end + margin).min(resampled.len());
    let per_ms = f64::from(pack_rate) / 1000.0;
    let trimmed_ms = (
        (kept.start as f64 / per_ms).round() as u32,
        ((resampled.len() - kept.end) as f64 / per_ms).round() as u32,
    );
    let mut clip = resampled[kept.clone()].to_vec();
    let peak_before = peak_dbfs(&clip);
    let wanted_db = target_lufs - loudness_before;
    let allowed_db = PEAK_CEILING_DBFS - peak_before;
    let gain_db = wanted_db.min(allowed_db);
    let gain = 10f64.powf(gain_db / 20.0) as f32;
    for sample in &mut clip {
        *sample *= gain;
    }
    fade_edges(&mut clip, pack_rate, FADE_MS);
    let speech_after = speech.start - kept.start..speech.end - kept.start;
    let loudness_after = loudness_lufs(&clip[speech_after], pack_rate).ok_or(MasterError::Silent)?;
    Ok(Mastered {
        peak_after_dbfs: peak_dbfs(&clip),
        samples: clip,
        loudness_before,
        loudness_after,
        trimmed_ms,
        peak_limited: allowed_db < wanted_db,
    })
}

/// Integrated loudness (LUFS, BS.1770 with its gates) of a mono clip, or `None` for silence.
///
/// The measure gates in 400 ms blocks and many words are shorter ("i", "a"), so a clip under 3 s
/// is measured looped to at least 3 s: the same mean power, and enough blocks for the gates.
pub fn loudness_lufs(samples: &[f32], rate: u32) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut meter = EbuR128::new(1, rate, Mode::I).ok()?;
    let at_least = rate as usize * 3;
    let mut fed = 0;
    while fed < at_least {
        meter.add_frames_f32(samples).ok()?;
        fed += samples.len();
    }
    meter.loudness_global().ok().filter(|lufs| lufs.is_finite())
}

/// The highest sample's level in dBFS (−∞ for silence).
pub fn peak_dbfs(samples: &[f32]) -> f64 {
    let peak = samples.iter().fold(0f32, |peak, s| peak.max(s.abs()));
    20.0 * f64::from(peak).log10()
}

/// Where the word is: from the first to the last 10 ms window that is not silence. `None` if
/// every window is silence.
pub fn speech_span(samples: &[f32], rate: u32) -> Option<Range<usize>> {
    let window = (rate as usize / 100).max(1);
    let levels: Vec<f32> = samples
        .chunks(window)
        .map(|w| {
            let power = w.iter().map(|s| s * s).sum::<f32>() / w.len() as f32;
            10.0 * power.max(1e-20).log10()
        })
        .collect();
    let loudest = levels.iter().copied().fold(f32::MIN, f32::max);
    let threshold = (loudest - SILENCE_BELOW_PEAK_DB).max(SILENCE_FLOOR_DBFS);
    let first = levels.iter().position(|&l| l >= threshold)?;
    let last = levels.iter().rposition(|&l| l >= threshold)?;
    Some(first * window..((last + 1) * window).min(samples.len()))
}

/// Raised-cosine fades of `ms` at both ends.
pub fn fade_edges(samples: &mut [f32], rate: u32, ms: u32) {
    let len = (rate as usize * ms as usize / 1000).min(samples.len() / 2);
    for i in 0..len {
        let gain = 0.5 - 0.5 * (std::f32::consts::PI * i as f32 / len as f32).cos();
        samples[i] *= gain;
        let end = samples.len() - 1 - i;
        samples[end] *= gain;
    }
}

/// Band-limited resampling of a whole mono clip (rubato's windowed-sinc resampler), lined up with
/// the input and as long as it (in time).
pub fn resample(samples: &[f32], from: u32, to: u32) -> Result<Vec<f32>, MasterError> {
    if from == to {
        return Ok(samples.to_vec());
    }
    let failed = |reason: String| MasterError::Resample { from, to, reason };
    let ratio = f64::from(to) / f64::from(from);
    let parameters = SincInterpolationParameters {
        sinc_len: 256,
        f_cutoff: 0.95,
        interpolation: SincInterpolationType::Linear,
        oversampling_factor: 256,
        window: WindowFunction::BlackmanHarris2,
    };
    const CHUNK: usize = 1024;
    let mut resampler =
        SincFixedIn::<f32>::new(ratio, 1.0, parameters, CHUNK, 1).map_err(|e| failed(e.to_string()))?;
    let expected = (samples.len() as f64 * ratio).round() as usize;
    let mut out = Vec::with_capacity(expected + 2 * CHUNK);
    let mut chunks = samples.chunks_exact(CHUNK);
    for chunk in &mut chunks {
        let resampled = resampler.process(&[chunk], None).map_err(|e| failed(e.to_string()))?;
        out.extend_from_slice(&resampled[0]);
    }
    // rubato refuses an empty partial chunk (a clip of a whole number of chunks has none).
    if !chunks.remainder().is_empty() {
        let resampled = resampler
            .process_partial(Some(&[chunks.remainder()]), None)
            .map_err(|e| failed(e.to_string()))?;
        out.extend_from_slice(&resampled[0]);
    }
    // The resampler holds its filter's delay back from its first output (the output lines up
    // with the input); the end of the clip is still inside the filter and comes out as it is fed
    // silence.
    while out.len() < expected {
        let resampled = resampler.process_partial::<&[f32]>(None, None).map_err(|e| failed(e.to_string()))?;
        if resampled[0].is_empty() {
            break;
        }
        out.extend_from_slice(&resampled[0]);
    }
    out.truncate(expected);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, peak_dbfs: f32, seconds: f32, rate: u32) -> Vec<f32> {
        let amplitude = 10f32.powf(peak_dbfs / 20.0);
        (0..(seconds * rate as f32) as usize)
            .map(|i| amplitude * (std::f32::consts::TAU * freq * i as f32 / rate as f32).sin())
            .collect()
    }

    #[test]
    fn a_1_khz_sine_reads_as_bs1770_says() {
        // BS.1770: a 1 kHz sine at 0 dBFS peak in one channel reads −3.01 LUFS.
        for level in [-6.0f32, -20.0, -35.0] {
            let lufs = loudness_lufs(&tone(1000.0, level, 2.0, 48_000), 48_000).unwrap();
            assert!((lufs - (f64::from(level) - 3.01)).abs() < 0.1, "{level} dBFS read as {lufs} LUFS");
        }
        assert_eq!(loudness_lufs(&[0.0; 48_000], 48_000), None, "silence has no loudness");
    }

    #[test]
    fn tones_at_any_level_come_out_at_the_target() {
        for (level, rate) in [(-40.0, 48_000), (-12.0, 44_100), (-28.0, 16_000)] {
            let mut recording = vec![0.0; rate as usize / 2];
            recording.extend(tone(1000.0, level, 0.6, rate));
            recording.extend(vec![0.0; rate as usize / 3]);
            let clip = master(&recording, rate, 48_000, -20.0).unwrap();
            assert!(
                (clip.loudness_after - -20.0).abs() <= 0.5,
                "{level} dBFS at {rate} Hz came out at {} LUFS",
                clip.loudness_after
            );
            assert!(!clip.peak_limited && clip.peak_after_dbfs < PEAK_CEILING_DBFS);
            // Half a second of silence before and a third after, less the margin kept.
            let (before, after) = clip.trimmed_ms;
            assert!(
                (before as i64 - 490).abs() <= 15 && (after as i64 - 323).abs() <= 15,
                "{:?}",
                clip.trimmed_ms
            );
        }
    }

    #[test]
    fn a_peak_ceiling_holds_back_a_word_that_would_clip() {
        // A click-like recording: one loud spike in a quiet tone. Matching its loudness to −10 LUFS
        // would push the spike past full scale.
        let mut recording = tone(1000.0, -40.0, 0.5, 48_000);
        recording[12_000] = 0.9;
        let clip = master(&recording, 48_000, 48_000, -10.0).unwrap();
        assert!(clip.peak_limited);
        assert!((clip.peak_after_dbfs - PEAK_CEILING_DBFS).abs() < 0.01, "{}", clip.peak_after_dbfs);
        assert!(clip.loudness_after < -10.5);
    }

    #[test]
    fn silence_is_refused() {
        assert_eq!(master(&[0.0; 4800], 48_000, 48_000, -20.0), Err(MasterError::Silent));
        assert_eq!(master(&[1e-5; 4800], 48_000, 48_000, -20.0), Err(MasterError::Silent));
    }

    #[test]
    fn edges_fade_from_and_to_zero() {
        let mut clip = vec![0.5; 4800];
        fade_edges(&mut clip, 48_000, FADE_MS);
        assert_eq!((clip[0], clip[4799]), (0.0, 0.0));
        assert!(clip[120] > 0.2 && clip[120] < 0.3, "half way up at half the fade: {}", clip[120]);
        assert_eq!(clip[240], 0.5);
    }

    #[test]
    fn resampling_keeps_pitch_length_and_level() {
        let input = tone(1000.0, -6.0, 1.0, 44_100);
        let output = resample(&input, 44_100, 48_000).unwrap();
        assert_eq!(output.len(), 48_000);
        // A 1 kHz tone crosses zero 2,000 times a second at any rate.
        let crossings = output.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        assert!((999..=1001).contains(&crossings), "{crossings} upward crossings");
        let middle = &output[4_800..43_200];
        assert!((peak_dbfs(middle) - -6.0).abs() < 0.1, "peak {}", peak_dbfs(middle));
        // Aligned: the tone starts where it started (no filter delay left in front).
        let first = output.iter().position(|s| s.abs() > 0.25).unwrap();
        assert!(first < 20, "the tone starts {first} samples late");
        // A clip of a whole number of the resampler's chunks (an MP3 decodes to such lengths).
        let whole_chunks = tone(1000.0, -6.0, 2048.0 / 44_100.0, 44_100);
        assert_eq!(whole_chunks.len(), 2048);
        assert_eq!(resample(&whole_chunks, 44_100, 48_000).unwrap().len(), 2229);
    }

    #[test]
    fn stereo_is_mixed_down() {
        assert_eq!(downmix(&[1.0, 0.0, 0.5, 0.5], 2), vec![0.5, 0.5]);
        assert_eq!(downmix(&[0.25, 0.75], 1), vec![0.25, 0.75]);
    }
}
