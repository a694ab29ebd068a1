//! Announcement scripts: a hall event becomes the list of clip tokens the hall's template says.

use std::collections::BTreeSet;

use super::terbilang::OutOfRange;
use super::{english, terbilang};
use crate::hall::{Agency, Hall, Language, NumberStyle, Templates};
use crate::protocol::{Call, Event};

/// One language's part of an announcement: the clips of its pack, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub language: Language,
    pub tokens: Vec<String>,
}

/// What an event says, or `None` for events that are not spoken: each repeat in each of the
/// languages of the agency (or hall), in order, with a pause between parts. The chime opens a
/// repeat once, not again for its second language. All of it is one queue entry, so another call
/// never comes between the languages.
pub fn script(hall: &Hall, event: &Event) -> Option<Vec<Said>> {
    let (call, phrase) = match event {
        Event::Call(call) | Event::Recall(call) => (Some(call), None),
        Event::Announce { phrase } => (None, Some(phrase.as_str())),
        _ => return None,
    };
    let agency = call.and_then(|c| hall.agency(&c.agency));
    let languages = hall.languages_of(agency);
    let mut parts = Vec::new();
    for _ in 0..hall.voice.repeat.max(1) {
        for (i, &language) in languages.iter().enumerate() {
            let templates = hall.voice.templates(language);
            let priority_call;
            let template = match event {
                Event::Call(call) if call.priority.is_some() => {
                    priority_call = templates.priority_call();
                    &priority_call[..]
                }
                Event::Call(_) => templates.call,
                Event::Recall(_) => templates.recall,
                _ => templates.announce,
            };
            let template = match template.split_first() {
                Some((first, rest)) if i > 0 && first == CHIME => rest,
                _ => template,
            };
            let mut tokens = Vec::new();
            expand(template, language, hall, agency, call, phrase, &mut tokens);
            parts.push(Said { language, tokens });
        }
    }
    Some(parts)
}

/// The clip that opens an announcement.
pub const CHIME: &str = "chime";

/// Identity of what an event says, for merging repeats: the same call to the same counter.
pub fn merge_key(event: &Event) -> Option<String> {
    match event {
        Event::Call(c) => Some(format!("call {} {} {}", c.ticket, c.counter, c.agency)),
        Event::Recall(c) => Some(format!("recall {} {} {}", c.ticket, c.counter, c.agency)),
        Event::Announce { phrase } => Some(format!("announce {phrase}")),
        _ => None,
    }
}

fn expand(
    template: &[String],
    language: Language,
    hall: &Hall,
    agency: Option<&Agency>,
    call: Option<&Call>,
    phrase: Option<&str>,
    out: &mut Vec<String>,
) {
    let voice = &hall.voice;
    for token in template {
        match (token.as_str(), call) {
            ("{letter}", Some(call)) => out.extend(letter_tokens(call.ticket.letters())),
            ("{number}", Some(call)) => {
                out.extend(number_tokens(language, u64::from(call.ticket.number()), voice.numbers))
            }
            // Counters are always said in words: "loket dua belas", even where tickets go digit by digit.
            ("{counter}", Some(call)) => {
                out.extend(number_tokens(language, u64::from(call.counter), NumberStyle::Terbilang))
            }
            // The hall's own words (where to go, agency names, phrases) keep their clip names in
            // every language; each language's pack says them in its language.
            ("{destination}", _) => {
                out.push(
                    agency.and_then(|a| a.destination.clone()).unwrap_or_else(|| voice.destination.clone()),
                );
            }
            ("{agency}", _) => out.extend(agency.and_then(|a| a.voice.clone())),
            ("{phrase}", _) => out.extend(phrase.map(str::to_string)),
            (literal, _) if !literal.starts_with('{') => out.push(literal.to_string()),
            _ => {}
        }
    }
}

/// `KB` → `k`, `b`: letters are spelled one by one.
fn letter_tokens(letters: &str) -> impl Iterator<Item = String> + '_ {
    letters.chars().map(|c| c.to_ascii_lowercase().to_string())
}

/// The clips every number of `language` is said with.
pub fn number_clips(language: Language) -> &'static [&'static str] {
    match language {
        Language::Id => &terbilang::NUMBER_CLIPS,
        Language::En => &english::NUMBER_CLIPS,
    }
}

/// Clip tokens for `n` in `language`.
pub fn speak_number(language: Language, n: u64, style: NumberStyle) -> Result<Vec<&'static str>, OutOfRange> {
    match language {
        Language::Id => terbilang::speak(n, style),
        Language::En => english::speak(n, style),
    }
}

fn number_tokens(language: Language, n: u64, style: NumberStyle) -> Vec<String> {
    // Tickets and counters are at most 9999, far inside the range of both.
    speak_number(language, n, style).map(|t| t.into_iter().map(str::to_string).collect()).unwrap_or_default()
}

/// Every clip the hall's announcements in `language` can need: template words, letters, all
/// number words, destinations, agency names (if a template says them) and phrases, for the
/// agencies (and hall announcements) said in that language. Empty for a language not spoken.
pub fn required_tokens(hall: &Hall, language: Language) -> BTreeSet<String> {
    let templates: Templates = hall.voice.templates(language);
    let speaking: Vec<&Agency> =
        hall.agencies.iter().filter(|a| hall.languages_of(Some(a)).contains(&language)).collect();
    let announces = hall.languages_of(None).contains(&language);
    let priority_call = templates.priority_call();
    let mut used: Vec<&[String]> = Vec::new();
    if !speaking.is_empty() {
        used.extend([templates.call, &priority_call[..], templates.recall]);
    }
    if announces {
        used.push(templates.announce);
    }
    let uses = |placeholder: &str| used.iter().any(|t| t.iter().any(|token| token == placeholder));
    let mut needed: BTreeSet<String> =
        used.iter().flat_map(|t| t.iter()).filter(|t| !t.starts_with('{')).cloned().collect();
    if uses("{letter}") {
        needed.extend(speaking.iter().flat_map(|a| a.letters.iter()).flat_map(|l| letter_tokens(l)));
    }
    if uses("{number}") || uses("{counter}") {
        needed.extend(number_clips(language).iter().map(|t| t.to_string()));
    }
    if uses("{destination}") {
        needed.extend(
            speaking.iter().map(|a| a.destination.clone().unwrap_or_else(|| hall.voice.destination.clone())),
        );
    }
    if uses("{agency}") {
        needed.extend(speaking.iter().filter_map(|a| a.voice.clone()));
    }
    if uses("{phrase}") && announces {
        needed.extend(hall.phrases.iter().map(|p| p.id.clone()));
    }
    needed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hall::{DEFAULT_HALL_TOML, Hall};

    fn call(ticket: &str, counter: u16, agency: &str) -> Call {
        Call {
            ticket: ticket.parse().unwrap(),
            counter,
            agency: agency.into(),
            service: None,
            priority: None,
        }
    }

    fn spoken(hall: &Hall, event: &Event) -> String {
        let parts = script(hall, event).unwrap();
        parts
            .iter()
            .map(|part| format!("{}: {}", part.language, part.tokens.join(" ")))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    #[test]
    fn calls_and_recalls_follow_the_templates() {
        let hall = Hall::builtin();
        assert_eq!(
            spoken(&hall, &Event::Call(call("A-123", 4, "disdukcapil"))),
            "id: chime nomor_antrean a seratus dua puluh tiga silakan_menuju loket empat"
        );
        assert_eq!(
            spoken(&hall, &Event::Recall(call("KB-12", 43, "kesbangpol"))),
            "id: chime panggilan_ulang nomor_antrean k b dua belas silakan_menuju loket empat puluh tiga"
        );
        assert_eq!(spoken(&hall, &Event::Announce { phrase: "istirahat".into() }), "id: chime istirahat");
        let mut lansia = call("A-7", 4, "disdukcapil");
        lansia.priority = Some(crate::protocol::Priority::Lansia);
        assert_eq!(
            spoken(&hall, &Event::Call(lansia)),
            "id: chime antrean_prioritas nomor_antrean a tujuh silakan_menuju loket empat"
        );
        assert!(
            required_tokens(&hall, Language::Id).contains("antrean_prioritas"),
            "voice check asks for the clip"
        );
        assert_eq!(script(&hall, &Event::Ticker { text: "x".into() }), None);
    }

    #[test]
    fn agencies_with_their_own_destination_and_name_and_digit_halls() {
        let src = DEFAULT_HALL_TOML.replace(
            "id = \"bpjs-kesehatan\"",
            "id = \"bpjs-kesehatan\"\ndestination = \"meja\"\nvoice = \"bpjs_kesehatan\"",
        ) + "\n[voice]\nnumbers = \"digits\"\nrepeat = 2\ncall = [\"nomor_antrean\", \"{letter}\", \"{number}\", \"silakan_menuju\", \"{agency}\", \"{destination}\", \"{counter}\"]\n";
        let hall = Hall::parse("h.toml", &src).unwrap();
        let counter = hall.agency("bpjs-kesehatan").unwrap().counters[0];
        let once = format!("nomor_antrean g satu nol tujuh silakan_menuju bpjs_kesehatan meja {}", {
            crate::voice::terbilang::terbilang(u64::from(counter)).unwrap().join(" ")
        });
        assert_eq!(
            spoken(&hall, &Event::Call(call("G-107", counter, "bpjs-kesehatan"))),
            format!("id: {once} | id: {once}")
        );
        let needed = required_tokens(&hall, Language::Id);
        for token in ["meja", "loket", "bpjs_kesehatan", "g", "k", "o", "m", "sebelas", "chime", "istirahat"]
        {
            assert!(needed.contains(token), "{token} missing from {needed:?}");
        }
        assert!(!needed.contains("{agency}"));
    }

    #[test]
    fn a_second_language_follows_the_first_in_the_same_announcement() {
        let src = DEFAULT_HALL_TOML.replace(
            "id = \"imigrasi\"",
            "id = \"imigrasi\"\nlanguages = [\"id\", \"en\"]\ndestination = \"meja\"",
        );
        let mut hall = Hall::parse("h.toml", &src).unwrap();
        let counter = hall.agency("imigrasi").unwrap().counters[0];
        let english_counter =
            crate::voice::english::speak(u64::from(counter), NumberStyle::Terbilang).unwrap();
        let indonesian_counter = terbilang::terbilang(u64::from(counter)).unwrap();
        assert_eq!(
            spoken(&hall, &Event::Call(call("S-123", counter, "imigrasi"))),
            format!(
                "id: chime nomor_antrean s seratus dua puluh tiga silakan_menuju meja {} | \
                 en: ticket_number s one hundred twenty three please_proceed_to meja {}",
                indonesian_counter.join(" "),
                english_counter.join(" ")
            ),
            "the chime once; the hall's word meja is the English pack's clip too"
        );
        let mut priority = call("S-7", counter, "imigrasi");
        priority.priority = Some(crate::protocol::Priority::Disabilitas);
        assert!(spoken(&hall, &Event::Call(priority)).contains("en: priority_ticket ticket_number s seven"));
        assert!(
            spoken(&hall, &Event::Recall(call("S-7", counter, "imigrasi"))).contains("en: calling_again")
        );
        // Other agencies and the hall's own announcements stay Indonesian only.
        assert!(!spoken(&hall, &Event::Call(call("A-1", 4, "disdukcapil"))).contains("en:"));
        assert_eq!(spoken(&hall, &Event::Announce { phrase: "istirahat".into() }), "id: chime istirahat");

        let english = required_tokens(&hall, Language::En);
        for token in [
            "ticket_number",
            "please_proceed_to",
            "calling_again",
            "priority_ticket",
            "meja",
            "s",
            "thousand",
            "zero",
        ] {
            assert!(english.contains(token), "{token} missing from {english:?}");
        }
        for token in ["a", "loket", "istirahat", "seratus", "nomor_antrean"] {
            assert!(!english.contains(token), "{token} is not said in English here");
        }
        // Repeats go id, en, id, en; a hall that speaks English announces its phrases in it too.
        hall.voice.repeat = 2;
        hall.voice.languages = vec![Language::Id, Language::En];
        let parts = script(&hall, &Event::Announce { phrase: "istirahat".into() }).unwrap();
        let order: Vec<Language> = parts.iter().map(|p| p.language).collect();
        assert_eq!(order, [Language::Id, Language::En, Language::Id, Language::En]);
        assert_eq!(parts[1].tokens, ["istirahat"]);
        assert!(required_tokens(&hall, Language::En).contains("istirahat"));
        assert!(required_tokens(&Hall::builtin(), Language::En).is_empty());
    }

    #[test]
    fn bad_language_lists_are_refused() {
        for (line, expected) in [
            ("languages = []", "voice.languages is empty"),
            ("languages = [\"id\", \"id\"]", "voice.languages names a language twice"),
            ("languages = [\"fr\"]", "unknown variant `fr`, expected `id` or `en`"),
        ] {
            let src = DEFAULT_HALL_TOML.to_string() + "\n[voice]\n" + line + "\n";
            let err = Hall::parse("h.toml", &src).unwrap_err().to_string();
            assert!(err.contains(expected), "{line}: {err}");
        }
        let src = DEFAULT_HALL_TOML.replace("id = \"imigrasi\"", "id = \"imigrasi\"\nlanguages = []");
        let err = Hall::parse("h.toml", &src).unwrap_err().to_string();
        assert!(err.contains("agency imigrasi: languages is empty"), "{err}");
        let src = DEFAULT_HALL_TOML.to_string() + "\n[voice.en]\ncall = [\"Ticket\"]\n";
        let err = Hall::parse("h.toml", &src).unwrap_err().to_string();
        assert!(err.contains("voice.en.call: \"Ticket\" is neither"), "{err}");
    }

    #[test]
    fn bad_templates_are_refused_with_a_position() {
        let src = DEFAULT_HALL_TOML.to_string() + "\n[voice]\ncall = [\"chime\", \"Nomor Antrean\"]\n";
        let err = Hall::parse("h.toml", &src).unwrap_err().to_string();
        assert!(err.contains("voice.call: \"Nomor Antrean\" is neither"), "{err}");
        let line = src.lines().position(|l| l.starts_with("call =")).unwrap() + 1;
        assert!(err.starts_with(&format!("h.toml:{line}:")), "{err}");
    }
}
