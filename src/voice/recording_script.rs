//! What a hall must record for its own voice (`papan voice script`): every clip its announcements
//! need, with the exact words, a hint on how they are said, and the settings to record with.

use super::script::{number_clips, required_tokens};
use crate::hall::{Hall, Language};

/// The clip that is a sound, not words: `papan voice pack build` makes it when none is recorded.
pub use super::script::CHIME;

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

/// The same for an English pack, in English: what its speaker reads.
pub const RECORDING_SETTINGS_EN: &str = "\
Record in a quiet room (not in the busy hall), microphone 15-30 cm from the mouth, one file per
clip, file name = clip name (e.g. hundred.wav, hundred.flac, hundred.mp3).
Any format: WAV, FLAC, MP3 or Ogg; 44.1 or 48 kHz; mono or stereo.
Say each word in a level tone, as in the middle of a sentence, without long pauses before and
after (papan trims silence and evens out loudness: papan voice pack build).
Do not let the voice distort: peaks below 0 dBFS (papan voice check reports it).";

/// The recording settings in the language of the pack being recorded.
pub fn recording_settings(language: Language) -> &'static str {
    match language {
        Language::Id => RECORDING_SETTINGS,
        Language::En => RECORDING_SETTINGS_EN,
    }
}

/// Every clip `hall` needs in `language`, in the order a speaker would record them: template
/// words, numbers, letters, places and agencies, then phrases; the chime last (it is made, not said).
pub fn recording_script(hall: &Hall, language: Language) -> Vec<ScriptLine> {
    let needed = required_tokens(hall, language);
    let mut lines: Vec<ScriptLine> = needed
        .iter()
        .filter(|token| *token != CHIME)
        .map(|token| {
            let (words, hint) = match language {
                Language::Id => say(hall, token),
                Language::En => say_in_english(hall, token),
            };
            ScriptLine { token: token.clone(), words, hint }
        })
        .collect();
    // Numbers in counting order (nol, satu, ... sepuluh, sebelas, belas, ...), the rest as listed.
    let numbers = number_clips(language);
    lines.sort_by_key(|line| {
        (group(hall, language, &line.token), numbers.iter().position(|n| *n == line.token))
    });
    if needed.contains(CHIME) {
        lines.push(match language {
            Language::Id => ScriptLine {
                token: CHIME.into(),
                words: "(bunyi dua nada, bukan suara)".into(),
                hint: "tidak perlu direkam: papan voice pack build membuatnya jika tidak ada chime.*".into(),
            },
            Language::En => ScriptLine {
                token: CHIME.into(),
                words: "(a two-tone sound, not a voice)".into(),
                hint: "no need to record it: papan voice pack build makes it when there is no chime.*".into(),
            },
        });
    }
    lines
}

fn group(hall: &Hall, language: Language, token: &str) -> u8 {
    if hall.phrases.iter().any(|p| p.id == token) {
        4
    } else if number_clips(language).contains(&token) {
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

/// An English pack's line: the hall's own words (where to go, agency names, phrases) keep their
/// Indonesian clip names and are said in English; papan knows the shipped hall's.
fn say_in_english(hall: &Hall, token: &str) -> (String, String) {
    if let Some(phrase) = hall.phrases.iter().find(|p| p.id == token) {
        let hint = format!("a whole announcement, in English, of what the screens show: \"{}\"", phrase.text);
        return (english_of(token).unwrap_or(&phrase.text).to_string(), hint);
    }
    if let Some(hint) = english_number_hint(token) {
        return (token.to_string(), hint.into());
    }
    if let Some(name) = english_letter_name(token) {
        let upper = token.to_uppercase();
        return (
            upper.clone(),
            format!("the letter {upper} (\"{name}\"), as in \"ticket number {upper} two\""),
        );
    }
    if let Some(agency) = hall.agencies.iter().find(|a| a.voice.as_deref() == Some(token)) {
        return (agency.name.clone(), "the agency's name, as said to a visitor, in a call".into());
    }
    if let Some(words) = english_of(token) {
        let hint = format!(
            "where to go (the hall's \"{}\"): \"please proceed to {words} five\"",
            token.replace('_', " ")
        );
        return (words.to_string(), hint);
    }
    let words = token.replace('_', " ");
    let hint = match token {
        "ticket_number" => "start of a call: \"ticket number A one hundred ...\"",
        "please_proceed_to" => "before where to go: \"... please proceed to counter five\"",
        "calling_again" => "at the start of a repeated call",
        "priority_ticket" => "at the start of a priority call (elderly, disabled, pregnant)",
        _ => "a word of the hall's English call template",
    };
    (words, hint.into())
}

/// English words for the shipped hall's own clips (destinations and phrases).
fn english_of(token: &str) -> Option<&'static str> {
    Some(match token {
        "loket" => "counter",
        "meja" => "desk",
        "ruang" => "room",
        "istirahat" => "The service is taking a short break",
        "layanan_dibuka" => "The service is now open. Welcome",
        "layanan_ditutup" => "The service will close soon",
        _ => return None,
    })
}

fn english_number_hint(token: &str) -> Option<&'static str> {
    Some(match token {
        "zero" => "number 0, said alone or digit by digit: \"one zero seven\"",
        "hundred" => "only the word hundred, as in \"one hundred twenty three\"",
        "thousand" => "only the word thousand, as in \"two thousand\"",
        "ten" | "eleven" | "twelve" | "thirteen" | "fourteen" | "fifteen" | "sixteen" | "seventeen"
        | "eighteen" | "nineteen" => "10 to 19, at the end: \"one hundred fifteen\"",
        "twenty" | "thirty" | "forty" | "fifty" | "sixty" | "seventy" | "eighty" | "ninety" => {
            "tens, before another number: \"twenty three\""
        }
        t if super::english::NUMBER_CLIPS.contains(&t) => {
            "number, in the middle and at the end: \"two hundred two\""
        }
        _ => return None,
    })
}

/// Letters by their English names, as tickets are spelled to visitors (the capital letter is
/// what the speaker reads: every reader, and espeak-ng, says its name).
pub fn english_letter_name(token: &str) -> Option<&'static str> {
    const NAMES: [&str; 26] = [
        "ay",
        "bee",
        "see",
        "dee",
        "ee",
        "eff",
        "gee",
        "aitch",
        "eye",
        "jay",
        "kay",
        "el",
        "em",
        "en",
        "oh",
        "pee",
        "cue",
        "ar",
        "ess",
        "tee",
        "you",
        "vee",
        "double you",
        "ex",
        "why",
        "zed",
    ];
    letter_index(token).map(|i| NAMES[i])
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

/// Where a letter token (`a` to `z`, one character) stands in the alphabet.
pub fn letter_index(token: &str) -> Option<usize> {
    let mut chars = token.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ 'a'..='z'), None) => Some(usize::from(c as u8 - b'a')),
        _ => None,
    }
}

/// Letters by their Indonesian names, as tickets are spelled.
pub fn letter_name(token: &str) -> Option<&'static str> {
    const NAMES: [&str; 26] = [
        "a", "be", "ce", "de", "e", "ef", "ge", "ha", "i", "je", "ka", "el", "em", "en", "o", "pe", "ki",
        "er", "es", "te", "u", "fe", "we", "eks", "ye", "zet",
    ];
    letter_index(token).map(|i| NAMES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_lists_every_needed_clip_once_with_words_and_a_hint() {
        let hall = Hall::builtin();
        let script = recording_script(&hall, Language::Id);
        let needed = required_tokens(&hall, Language::Id);
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
        assert!(number_clips(Language::Id).iter().all(|n| position(n) < position("a")));
        assert!(recording_script(&hall, Language::En).is_empty(), "the shipped hall speaks only Indonesian");
    }

    #[test]
    fn an_english_script_lists_english_words_and_the_halls_own_words_in_english() {
        let mut hall = Hall::builtin();
        hall.agencies.iter_mut().find(|a| a.id == "imigrasi").unwrap().languages =
            Some(vec![Language::Id, Language::En]);
        let script = recording_script(&hall, Language::En);
        let listed: std::collections::BTreeSet<String> = script.iter().map(|l| l.token.clone()).collect();
        assert_eq!(listed, required_tokens(&hall, Language::En));
        let line = |token: &str| script.iter().find(|l| l.token == token).unwrap().clone();
        assert_eq!(line("ticket_number").words, "ticket number");
        assert_eq!(line("loket").words, "counter");
        assert_eq!(line("s").words, "S", "Imigrasi's letter, read by its English name");
        assert!(line("s").hint.contains("\"ess\""));
        assert!(!listed.contains("a"), "only the letters of agencies that speak English");
        assert!(!listed.contains("istirahat"), "hall announcements stay Indonesian: the hall speaks [id]");
        assert!(line("thousand").hint.contains("two thousand"));
        assert!(line("zero").hint.contains("one zero seven"));
        let position = |token: &str| script.iter().position(|l| l.token == token).unwrap();
        assert!(position("zero") < position("one") && position("nineteen") < position("twenty"));
        assert_eq!(script.last().unwrap().token, CHIME);
        // A hall that announces in English too needs its phrases said in English.
        hall.voice.languages = vec![Language::Id, Language::En];
        let script = recording_script(&hall, Language::En);
        let istirahat = script.iter().find(|l| l.token == "istirahat").unwrap();
        assert_eq!(istirahat.words, "The service is taking a short break");
        assert!(istirahat.hint.contains("Layanan istirahat sejenak"));
    }
}
