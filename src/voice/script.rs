//! Announcement scripts: a hall event becomes the list of clip tokens the hall's template says.

use std::collections::BTreeSet;

use super::terbilang::{self, NUMBER_CLIPS};
use crate::hall::{Hall, NumberStyle, VoiceSettings};
use crate::protocol::{Call, Event};

/// Clip tokens for an event, or `None` for events that are not spoken.
pub fn script(hall: &Hall, event: &Event) -> Option<Vec<String>> {
    let voice = &hall.voice;
    let priority_call;
    let (template, call, phrase) = match event {
        Event::Call(call) if call.priority.is_some() => {
            priority_call = voice.priority_call();
            (&priority_call, Some(call), None)
        }
        Event::Call(call) => (&voice.call, Some(call), None),
        Event::Recall(call) => (&voice.recall, Some(call), None),
        Event::Announce { phrase } => (&voice.announce, None, Some(phrase.as_str())),
        _ => return None,
    };
    let mut tokens = Vec::new();
    for _ in 0..voice.repeat.max(1) {
        if !tokens.is_empty() {
            tokens.push(PAUSE.to_string());
        }
        expand(template, voice, hall, call, phrase, &mut tokens);
    }
    Some(tokens)
}

/// Identity of what an event says, for merging repeats: the same call to the same counter.
pub fn merge_key(event: &Event) -> Option<String> {
    match event {
        Event::Call(c) => Some(format!("call {} {} {}", c.ticket, c.counter, c.agency)),
        Event::Recall(c) => Some(format!("recall {} {} {}", c.ticket, c.counter, c.agency)),
        Event::Announce { phrase } => Some(format!("announce {phrase}")),
        _ => None,
    }
}

/// Marks the longer silence between repeats; not a clip.
pub const PAUSE: &str = "{pause}";

fn expand(
    template: &[String],
    voice: &VoiceSettings,
    hall: &Hall,
    call: Option<&Call>,
    phrase: Option<&str>,
    out: &mut Vec<String>,
) {
    let agency = call.and_then(|c| hall.agency(&c.agency));
    for token in template {
        match (token.as_str(), call) {
            ("{letter}", Some(call)) => out.extend(letter_tokens(call.ticket.letters())),
            ("{number}", Some(call)) => {
                out.extend(number_tokens(u64::from(call.ticket.number()), voice.numbers))
            }
            // Counters are always said in words: "loket dua belas", even where tickets go digit by digit.
            ("{counter}", Some(call)) => {
                out.extend(number_tokens(u64::from(call.counter), NumberStyle::Terbilang))
            }
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

fn number_tokens(n: u64, style: NumberStyle) -> Vec<String> {
    // Tickets and counters are at most 9999, far inside terbilang's range.
    terbilang::speak(n, style).map(|t| t.into_iter().map(str::to_string).collect()).unwrap_or_default()
}

/// Every clip the hall's announcements can need: template words, letters, all number words,
/// destinations, agency names (if a template says them) and phrases.
pub fn required_tokens(hall: &Hall) -> BTreeSet<String> {
    let voice = &hall.voice;
    let priority_call = voice.priority_call();
    let templates = [&voice.call, &priority_call, &voice.recall, &voice.announce];
    let uses = |placeholder: &str| templates.iter().any(|t| t.iter().any(|token| token == placeholder));
    let mut needed: BTreeSet<String> =
        templates.iter().flat_map(|t| t.iter()).filter(|t| !t.starts_with('{')).cloned().collect();
    if uses("{letter}") {
        needed.extend(hall.agencies.iter().flat_map(|a| a.letters.iter()).flat_map(|l| letter_tokens(l)));
    }
    if uses("{number}") || uses("{counter}") {
        needed.extend(NUMBER_CLIPS.iter().map(|t| t.to_string()));
    }
    if uses("{destination}") {
        needed.insert(voice.destination.clone());
        needed.extend(hall.agencies.iter().filter_map(|a| a.destination.clone()));
    }
    if uses("{agency}") {
        needed.extend(hall.agencies.iter().filter_map(|a| a.voice.clone()));
    }
    if uses("{phrase}") {
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
        script(hall, event).unwrap().join(" ")
    }

    #[test]
    fn calls_and_recalls_follow_the_templates() {
        let hall = Hall::builtin();
        assert_eq!(
            spoken(&hall, &Event::Call(call("A-123", 4, "disdukcapil"))),
            "chime nomor_antrean a seratus dua puluh tiga silakan_menuju loket empat"
        );
        assert_eq!(
            spoken(&hall, &Event::Recall(call("KB-12", 43, "kesbangpol"))),
            "chime panggilan_ulang nomor_antrean k b dua belas silakan_menuju loket empat puluh tiga"
        );
        assert_eq!(spoken(&hall, &Event::Announce { phrase: "istirahat".into() }), "chime istirahat");
        let mut lansia = call("A-7", 4, "disdukcapil");
        lansia.priority = Some(crate::protocol::Priority::Lansia);
        assert_eq!(
            spoken(&hall, &Event::Call(lansia)),
            "chime antrean_prioritas nomor_antrean a tujuh silakan_menuju loket empat"
        );
        assert!(required_tokens(&hall).contains("antrean_prioritas"), "voice check asks for the clip");
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
            format!("{once} {PAUSE} {once}")
        );
        let needed = required_tokens(&hall);
        for token in ["meja", "loket", "bpjs_kesehatan", "g", "k", "o", "m", "sebelas", "chime", "istirahat"]
        {
            assert!(needed.contains(token), "{token} missing from {needed:?}");
        }
        assert!(!needed.contains("{agency}"));
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
