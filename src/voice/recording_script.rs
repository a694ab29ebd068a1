//! What a hall must record for its own voice (`papan voice script`): every clip its announcements
//! need, with the exact words, a hint on how they are said, and the settings to record with.

use super::script::required_tokens;
use super::terbilang::NUMBER_CLIPS;
use crate::hall::Hall;

/// The clip that is a sound, not words: `papan voice pack build` makes it when none is recorded.
pub const CHIME: &str = "chime";

/// Recording settings printed with the script.
pub const RECORDING_SETTINGS: &str = "\
Rekam di ruangan tenang (bukan di aula yang ramai), mikrofon 15-30 cm dari mulut, satu file per
klip, nama file = nama klip (mis. seratus.wav, seratus.flac, seratus.mp3).
Format apa saja: WAV, FLAC, MP3 atau Ogg; 44,1 atau 48 kHz; mono atau stereo.
Ucapkan setiap kata dengan nada datar, seperti di tengah kalimat, tanpa jeda panjang di awal
dan akhir (papan memotong hening dan menyamakan kerasnya suara: papan voice pack build).
Jangan sampai suara pecah: puncak di bawah 0 dBFS (papan voice check melaporkannya).";

/// One line of the script.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptLine {
    pub token: String,
    /// What to say, exactly.
    pub words: String,
    /// How it is used, so the speaker says it the way it will be heard.
    pub hint: String,
}

/// Every clip `hall` needs, in the order a speaker would record them: template words, numbers,
/// letters, places and agencies, then phrases; the chime last (it is made, not said).
pub fn recording_script(hall: &Hall) -> Vec<ScriptLine> {
    let mut lines: Vec<ScriptLine> = required_tokens(hall)
        .into_iter()
        .filter(|token| token != CHIME)
        .map(|token| {
            let (words, hint) = say(hall, &token);
            ScriptLine { token, words, hint }
        })
        .collect();
    // Numbers in counting order (nol, satu, ... sepuluh, sebelas, belas, ...), the rest as listed.
    lines.sort_by_key(|line| (group(hall, &line.token), NUMBER_CLIPS.iter().position(|n| *n == line.token)));
    if required_tokens(hall).contains(CHIME) {
        lines.push(ScriptLine {
            token: CHIME.into(),
            words: "(bunyi dua nada, bukan suara)".into(),
            hint: "tidak perlu direkam: papan voice pack build membuatnya jika tidak ada chime.*".into(),
        });
    }
    lines
}

fn group(hall: &Hall, token: &str) -> u8 {
    if hall.phrases.iter().any(|p| p.id == token) {
        4
    } else if number_hint(token).is_some() {
        1
    } else if letter_name(token).is_some() {
        2
    } else if hall.agencies.iter().any(|a| a.voice.as_deref() == Some(token)) {
        3
    } else {
        0
    }
}

fn say(hall: &Hall, token: &str) -> (String, String) {
    if let Some(phrase) = hall.phrases.iter().find(|p| p.id == token) {
        return (phrase.text.clone(), "pengumuman utuh, satu kalimat".into());
    }
    if let Some(hint) = number_hint(token) {
        return (token.to_string(), hint.to_string());
    }
    if let Some(name) = letter_name(token) {
        let upper = token.to_uppercase();
        return (name.to_string(), format!("huruf {upper}, seperti dalam \"nomor antrean {name} dua\""));
    }
    if let Some(agency) = hall.agencies.iter().find(|a| a.voice.as_deref() == Some(token)) {
        return (agency.name.clone(), "nama instansi, dalam panggilan".into());
    }
    let words = token.replace('_', " ");
    let hint = match token {
        "nomor_antrean" => "awal panggilan: \"nomor antrean A seratus ...\"",
        "silakan_menuju" => "sebelum tujuan: \"... silakan menuju loket lima\"",
        "panggilan_ulang" => "di awal panggilan ulang",
        "antrean_prioritas" => "di awal panggilan antrean prioritas (lansia, disabilitas, ibu hamil)",
        "loket" | "meja" | "ruang" => "tujuan: \"silakan menuju loket lima\"",
        _ => "kata dalam templat panggilan aula",
    };
    (words, hint.into())
}

/// Number words, each said as it sounds inside a longer number.
fn number_hint(token: &str) -> Option<&'static str> {
    Some(match token {
        "nol" => "angka 0, seperti dalam \"loket satu nol\"",
        "satu" | "dua" | "tiga" | "empat" | "lima" | "enam" | "tujuh" | "delapan" | "sembilan" => {
            "angka, di tengah dan di akhir: \"dua ratus dua\""
        }
        "sepuluh" => "10, seperti dalam \"loket sepuluh\"",
        "sebelas" => "11, seperti dalam \"nomor sebelas\"",
        "seratus" => "100, seperti dalam \"seratus dua puluh tiga\"",
        "seribu" => "1000, seperti dalam \"seribu dua ratus\"",
        "belas" => "akhiran 12-19, seperti dalam \"dua belas\" (hanya kata belas)",
        "puluh" => "puluhan, seperti dalam \"dua puluh\" (hanya kata puluh)",
        "ratus" => "ratusan, seperti dalam \"dua ratus\" (hanya kata ratus)",
        "ribu" => "ribuan, seperti dalam \"dua ribu\" (hanya kata ribu)",
        _ => return None,
    })
}

/// Letters by their Indonesian names, as tickets are spelled.
pub fn letter_name(token: &str) -> Option<&'static str> {
    const NAMES: [&str; 26] = [
        "a", "be", "ce", "de", "e", "ef", "ge", "ha", "i", "je", "ka", "el", "em", "en", "o", "pe", "ki",
        "er", "es", "te", "u", "fe", "we", "eks", "ye", "zet",
    ];
    let mut chars = token.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ 'a'..='z'), None) => Some(NAMES[usize::from(c as u8 - b'a')]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_lists_every_needed_clip_once_with_words_and_a_hint() {
        let hall = Hall::builtin();
        let script = recording_script(&hall);
        let needed = required_tokens(&hall);
        let listed: std::collections::BTreeSet<String> = script.iter().map(|l| l.token.clone()).collect();
        assert_eq!(listed, needed);
        assert_eq!(script.len(), needed.len(), "no clip twice");
        assert!(script.iter().all(|l| !l.words.is_empty() && !l.hint.is_empty()));
        let line = |token: &str| script.iter().find(|l| l.token == token).unwrap().clone();
        assert_eq!(line("seribu").hint, "1000, seperti dalam \"seribu dua ratus\"");
        assert_eq!(line("nomor_antrean").words, "nomor antrean");
        assert_eq!(line("q").words, "ki");
        let phrase = &hall.phrases[0];
        assert_eq!(line(&phrase.id).words, phrase.text);
        assert_eq!(script.last().unwrap().token, CHIME, "the chime, which is made not said, comes last");
        // Numbers together, before the letters.
        let position = |token: &str| script.iter().position(|l| l.token == token).unwrap();
        assert!(NUMBER_CLIPS.iter().all(|n| position(n) < position("a")));
    }
}
