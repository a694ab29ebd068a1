//! Shared by the test binaries that play sound: the ALSA default device as a `file` plugin over
//! `null` in a private HOME, which captures exactly what is played, with no sound card.

use std::path::Path;

/// Makes `home/.asoundrc` send the default device's output to `capture` (raw S16_LE).
pub fn write_asoundrc(home: &Path, capture: &Path) {
    let config = format!(
        "pcm.!default {{\n    type file\n    slave.pcm \"null\"\n    file \"{}\"\n    format \"raw\"\n}}\n",
        capture.display()
    );
    std::fs::write(home.join(".asoundrc"), config).unwrap();
}

/// The samples ALSA wrote to `path`.
pub fn read_capture(path: &Path) -> Vec<i16> {
    std::fs::read(path).unwrap().chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// Where `needle` occurs in `haystack` at or after `from`.
#[allow(dead_code, reason = "the display tests capture sound but look for no passage in it")]
pub fn find(haystack: &[i16], needle: &[i16], from: usize) -> Option<usize> {
    let start = needle.iter().position(|&s| s != 0)?;
    let key = &needle[start..start + 64];
    (from + start..haystack.len().saturating_sub(needle.len() - start))
        .find(|&i| &haystack[i..i + 64] == key && haystack[i - start..i - start + needle.len()] == *needle)
        .map(|i| i - start)
}
