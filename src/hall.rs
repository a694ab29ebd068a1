//! Hall data (agencies, counters, ticket letters, phrases, time zone): parsing and validation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::queue::Ticket;
use crate::source_error::{PathStep, SourceErrors, error_at, parse_toml};

/// The hall file shipped for MPP Palembang, built into the binary so an installed `papan`
/// runs without an `assets/` folder beside it.
pub const DEFAULT_HALL_TOML: &str = include_str!("../assets/halls/mpp-palembang.toml");
pub const DEFAULT_HALL_FILE: &str = "assets/halls/mpp-palembang.toml";

/// Everything the hub and the screens know about one hall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hall {
    pub name: String,
    pub short_name: String,
    pub timezone: TimeZone,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    #[serde(default)]
    pub phrases: Vec<Phrase>,
    #[serde(default)]
    pub voice: VoiceSettings,
    #[serde(default, skip_serializing_if = "WaitingSettings::is_default")]
    pub waiting: WaitingSettings,
    /// Where citizens reach the hub's phone page from: the address a reverse proxy gives it on the
    /// Internet, e.g. `https://antrean.example.go.id` (the page is `/antrean` under it). The
    /// screens' `qr` widget and the kiosk's receipts lead there. Unset: the hub's own address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    pub agencies: Vec<Agency>,
}

/// How the hall treats tickets that were handed out (see docs/waiting.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaitingSettings {
    /// How long a ticket that did not come when called stays on the missed list ("Terlewat"),
    /// from where staff can call it again.
    pub missed_minutes: u16,
}

impl Default for WaitingSettings {
    fn default() -> Self {
        WaitingSettings { missed_minutes: 30 }
    }
}

impl WaitingSettings {
    fn is_default(&self) -> bool {
        *self == WaitingSettings::default()
    }
}

/// When an agency calls its priority tickets (lansia, disabilitas, ibu hamil): `"first"` (before
/// any other ticket) or a number N (one call in N goes to a priority ticket while one waits).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawPriorityRule", into = "RawPriorityRule")]
pub enum PriorityRule {
    #[default]
    First,
    Every(u16),
}

impl PriorityRule {
    fn is_first(&self) -> bool {
        *self == PriorityRule::First
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RawPriorityRule {
    Word(String),
    Every(i64),
}

impl TryFrom<RawPriorityRule> for PriorityRule {
    type Error = String;

    fn try_from(raw: RawPriorityRule) -> Result<Self, Self::Error> {
        match raw {
            RawPriorityRule::Word(word) if word == "first" => Ok(PriorityRule::First),
            RawPriorityRule::Every(n) if (2..=20).contains(&n) => Ok(PriorityRule::Every(n as u16)),
            RawPriorityRule::Word(word) => {
                Err(format!("priority {word:?}: write \"first\" or a number of calls from 2 to 20"))
            }
            RawPriorityRule::Every(n) => {
                Err(format!("priority {n}: one call in N goes to priority tickets, N from 2 to 20"))
            }
        }
    }
}

impl From<PriorityRule> for RawPriorityRule {
    fn from(rule: PriorityRule) -> Self {
        match rule {
            PriorityRule::First => RawPriorityRule::Word("first".into()),
            PriorityRule::Every(n) => RawPriorityRule::Every(i64::from(n)),
        }
    }
}

/// How announcements are built from clips: templates of clip tokens with placeholders
/// `{letter}`, `{number}`, `{destination}`, `{counter}`, `{agency}` and `{phrase}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceSettings {
    /// How ticket numbers are read: `terbilang` (seratus dua puluh tiga) or `digits` (satu dua tiga).
    pub numbers: NumberStyle,
    pub call: Vec<String>,
    /// A priority ticket's call; by default the call with "antrean prioritas" after its chime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_call: Option<Vec<String>>,
    pub recall: Vec<String>,
    pub announce: Vec<String>,
    /// Clip for where to go, unless the agency has its own ("loket", "meja", "ruang").
    pub destination: String,
    /// Silence between clips, exact to the sample.
    pub gap_ms: u32,
    /// How many times each announcement is spoken (1 or 2).
    pub repeat: u8,
    /// Silence between the repeats.
    pub repeat_gap_ms: u32,
    /// Silence between two announcements that follow each other.
    pub between_ms: u32,
    /// The same call queued again within this many seconds is spoken once.
    pub merge_window_s: u32,
    /// Calls older than this many seconds when their turn comes (after an outage, a replay of
    /// missed calls) are not spoken: citizens would go to a counter that has moved on.
    pub stale_after_s: u32,
    /// The languages every announcement is said in, one after the other (an agency may have its
    /// own list). The templates above are Indonesian's; another language's are in its own table.
    #[serde(skip_serializing_if = "Language::is_indonesian_only")]
    pub languages: Vec<Language>,
    /// English templates (`[voice.en]`), used where a hall or agency speaks English.
    #[serde(skip_serializing_if = "LanguageTemplates::is_english_default")]
    pub en: LanguageTemplates,
}

/// A language announcements can be said in: one with number words papan knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Bahasa Indonesia: the `[voice]` templates and the default pack (assets/voice/id).
    Id,
    /// English: `[voice.en]` templates and its pack beside the Indonesian one (assets/voice/en).
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Id, Language::En];

    /// The code used in hall files and pack folder names.
    pub fn code(self) -> &'static str {
        match self {
            Language::Id => "id",
            Language::En => "en",
        }
    }

    fn is_indonesian_only(languages: &Vec<Language>) -> bool {
        languages.as_slice() == [Language::Id]
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One language's announcement templates, as `[voice]` has Indonesian's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageTemplates {
    pub call: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority_call: Option<Vec<String>>,
    pub recall: Vec<String>,
    pub announce: Vec<String>,
}

/// The clip an English priority call says after its chime.
pub const PRIORITY_CLIP_EN: &str = "priority_ticket";

/// A default template, written as its tokens.
fn template(tokens: &[&str]) -> Vec<String> {
    tokens.iter().map(|t| t.to_string()).collect()
}

impl Default for LanguageTemplates {
    /// English: "Ticket number A one hundred twenty three, please proceed to counter five". The
    /// destination, agency names and phrases are the hall's clips, recorded in English in the
    /// English pack (its `loket` says "counter").
    fn default() -> Self {
        let call = template(&[
            "chime",
            "ticket_number",
            "{letter}",
            "{number}",
            "please_proceed_to",
            "{destination}",
            "{counter}",
        ]);
        let mut recall = call.clone();
        recall.insert(1, "calling_again".into());
        LanguageTemplates { call, priority_call: None, recall, announce: template(&["chime", "{phrase}"]) }
    }
}

impl LanguageTemplates {
    fn is_english_default(&self) -> bool {
        *self == LanguageTemplates::default()
    }
}

/// The templates of one language, borrowed from the hall's voice settings.
#[derive(Debug, Clone, Copy)]
pub struct Templates<'a> {
    pub call: &'a [String],
    pub priority_call: Option<&'a [String]>,
    pub recall: &'a [String],
    pub announce: &'a [String],
    /// What a priority call made from `call` says after the chime.
    pub priority_clip: &'static str,
}

impl Templates<'_> {
    /// A priority ticket's call: the hall's own template, or its call with the language's
    /// priority clip after the chime.
    pub fn priority_call(&self) -> Vec<String> {
        if let Some(template) = self.priority_call {
            return template.to_vec();
        }
        let mut template = self.call.to_vec();
        let at = usize::from(template.first().is_some_and(|t| t == "chime"));
        template.insert(at, self.priority_clip.to_string());
        template
    }
}

/// The clip a priority call says after its chime (or first).
pub const PRIORITY_CLIP: &str = "antrean_prioritas";

impl VoiceSettings {
    /// The template of a priority ticket's Indonesian call: the hall's own, or its call with
    /// [`PRIORITY_CLIP`] after the chime.
    pub fn priority_call(&self) -> Vec<String> {
        self.templates(Language::Id).priority_call()
    }

    /// The templates `language` is said with.
    pub fn templates(&self, language: Language) -> Templates<'_> {
        match language {
            Language::Id => Templates {
                call: &self.call,
                priority_call: self.priority_call.as_deref(),
                recall: &self.recall,
                announce: &self.announce,
                priority_clip: PRIORITY_CLIP,
            },
            Language::En => Templates {
                call: &self.en.call,
                priority_call: self.en.priority_call.as_deref(),
                recall: &self.en.recall,
                announce: &self.en.announce,
                priority_clip: PRIORITY_CLIP_EN,
            },
        }
    }
}

impl Default for VoiceSettings {
    fn default() -> Self {
        let call = template(&[
            "chime",
            "nomor_antrean",
            "{letter}",
            "{number}",
            "silakan_menuju",
            "{destination}",
            "{counter}",
        ]);
        // A recall is the call with "panggilan ulang" after the chime.
        let mut recall = call.clone();
        recall.insert(1, "panggilan_ulang".into());
        VoiceSettings {
            numbers: NumberStyle::Terbilang,
            call,
            priority_call: None,
            recall,
            announce: template(&["chime", "{phrase}"]),
            destination: "loket".into(),
            gap_ms: 60,
            repeat: 1,
            repeat_gap_ms: 700,
            between_ms: 400,
            merge_window_s: 10,
            stale_after_s: 60,
            languages: vec![Language::Id],
            en: LanguageTemplates::default(),
        }
    }
}

/// Indonesia's three time zones; none observes daylight saving, so each is a fixed offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeZone {
    #[serde(rename = "WIB")]
    Wib,
    #[serde(rename = "WITA")]
    Wita,
    #[serde(rename = "WIT")]
    Wit,
}

impl TimeZone {
    pub fn offset(self) -> jiff::tz::Offset {
        jiff::tz::offset(match self {
            TimeZone::Wib => 7,
            TimeZone::Wita => 8,
            TimeZone::Wit => 9,
        })
    }

    pub fn label(self) -> &'static str {
        match self {
            TimeZone::Wib => "WIB",
            TimeZone::Wita => "WITA",
            TimeZone::Wit => "WIT",
        }
    }

    /// The hall-local date at `now`: the service day.
    pub fn date_at(self, now: jiff::Timestamp) -> jiff::civil::Date {
        now.to_zoned(jiff::tz::TimeZone::fixed(self.offset())).date()
    }
}

/// One agency (instansi) with its counters (loket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Stable identifier used on the wire, e.g. `disdukcapil`.
    pub id: String,
    /// Name for small panels, e.g. `Disdukcapil`.
    pub short: String,
    /// Full name, e.g. `Dinas Kependudukan dan Pencatatan Sipil`.
    pub name: String,
    /// What the ticket kiosk (`/ambil`) files its button under, e.g. `Perbankan dan Keuangan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Panel colour, `#RRGGBB`.
    pub colour: String,
    /// Ticket letters this agency hands out; empty accepts any letter.
    #[serde(default)]
    pub letters: Vec<String>,
    /// Counter numbers as shown on the screens ("Loket 5").
    pub counters: Vec<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<String>,
    /// Clip naming the agency, for templates that say `{agency}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Clip for this agency's destination word, instead of the hall's (e.g. "meja").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// The languages its calls are said in, instead of the hall's (Imigrasi: `["id", "en"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub languages: Option<Vec<Language>>,
    /// When its priority tickets are called.
    #[serde(default, skip_serializing_if = "PriorityRule::is_first")]
    pub priority: PriorityRule,
    /// The service time its Standar Pelayanan promises ("jangka waktu"), in minutes: the
    /// console shows a counter's service against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_minutes: Option<u16>,
    /// Its services' published standards (persyaratan, jangka waktu, biaya), for the phone page.
    /// Not sent with the hall to screens and consoles: a whole MPP's would not fit a frame.
    #[serde(default, skip_serializing)]
    pub services: Vec<ServiceStandard>,
}

/// One service's Standar Pelayanan as citizens read it before they come: what to bring, how
/// long it takes, what it costs. The hall's own official text; papan ships marked examples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceStandard {
    /// e.g. "Perekaman KTP-el".
    pub name: String,
    /// Persyaratan, one document or condition each.
    #[serde(default)]
    pub requirements: Vec<String>,
    /// Jangka waktu as the standard words it, e.g. "Selesai di tempat" or "3 hari kerja".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Biaya as the standard words it, e.g. "Gratis".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<String>,
    /// Shipped with papan to show the mechanism, not the hall's official text: the phone page
    /// marks it "CONTOH".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub example: bool,
}

/// Limits on a service standard's texts, so a page stays readable on a phone.
const MAX_SERVICE_NAME: usize = 100;
const MAX_SERVICE_TEXT: usize = 200;
const MAX_REQUIREMENTS: usize = 20;
const MAX_SERVICES: usize = 100;

impl ServiceStandard {
    /// What is wrong with it, in words, if anything.
    fn problem(&self) -> Option<String> {
        let blank_or_long = |text: &str, max: usize| text.trim().is_empty() || text.chars().count() > max;
        if blank_or_long(&self.name, MAX_SERVICE_NAME) {
            return Some(format!("name must be 1 to {MAX_SERVICE_NAME} characters"));
        }
        if self.requirements.len() > MAX_REQUIREMENTS {
            return Some(format!("at most {MAX_REQUIREMENTS} requirements"));
        }
        if self.requirements.iter().any(|r| blank_or_long(r, MAX_SERVICE_TEXT)) {
            return Some(format!("each requirement must be 1 to {MAX_SERVICE_TEXT} characters"));
        }
        for (field, text) in [("time", &self.time), ("cost", &self.cost)] {
            if text.as_deref().is_some_and(|t| blank_or_long(t, MAX_SERVICE_TEXT)) {
                return Some(format!("{field} must be 1 to {MAX_SERVICE_TEXT} characters"));
            }
        }
        None
    }
}

/// Every agency's service standards by agency id: what a screen fetches from its hub
/// (`GET /antrean/layanan`) because the hall it gets in the snapshot comes without them.
pub type ServiceStandards = BTreeMap<String, Vec<ServiceStandard>>;

/// `GET /antrean/layanan`'s body: the agencies that publish standards, in hall order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedStandards {
    pub agencies: Vec<AgencyStandards>,
}

/// One agency's entry in [`PublishedStandards`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgencyStandards {
    pub id: String,
    pub short: String,
    pub name: String,
    pub services: Vec<ServiceStandard>,
}

impl PublishedStandards {
    /// What a hall publishes: each agency that has standards, with them.
    pub fn of(hall: &Hall) -> PublishedStandards {
        let agencies = hall
            .agencies
            .iter()
            .filter(|a| !a.services.is_empty())
            .map(|a| AgencyStandards {
                id: a.id.clone(),
                short: a.short.clone(),
                name: a.name.clone(),
                services: a.services.clone(),
            })
            .collect();
        PublishedStandards { agencies }
    }

    pub fn by_agency(self) -> ServiceStandards {
        self.agencies.into_iter().map(|a| (a.id, a.services)).collect()
    }
}

/// A prerecorded announcement staff can trigger, e.g. the lunch break.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phrase {
    pub id: String,
    /// What the screens show while it plays.
    pub text: String,
}

/// All problems found in a hall file, each with its place.
pub type HallError = SourceErrors;

/// Why a call's counter/agency/ticket does not fit the hall.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("unknown agency {0:?}")]
    UnknownAgency(String),
    #[error("counter {0} does not exist in this hall")]
    UnknownCounter(u16),
    #[error("counter {counter} belongs to {owner}, not {asked}")]
    WrongAgency { counter: u16, owner: String, asked: String },
    #[error("counter {counter} exists at several agencies ({owners}); say which with agency")]
    AmbiguousCounter { counter: u16, owners: String },
    #[error("ticket letter {letter} is not handed out by {agency} (its letters: {letters})")]
    WrongLetter { letter: String, agency: String, letters: String },
}

impl Hall {
    /// The built-in MPP Palembang hall.
    pub fn builtin() -> Hall {
        Hall::parse(DEFAULT_HALL_FILE, DEFAULT_HALL_TOML).expect("the built-in hall file is valid")
    }

    pub fn load(path: &Path) -> Result<Hall, HallError> {
        let label = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|e| SourceErrors::unreadable(&label, &e))?;
        Hall::parse(&label, &src)
    }

    /// Parses and validates a hall file; `file` names it in errors.
    pub fn parse(file: &str, src: &str) -> Result<Hall, HallError> {
        let hall: Hall = parse_toml(file, src).map_err(|e| SourceErrors(vec![e]))?;
        let problems = hall.problems();
        if problems.is_empty() {
            Ok(hall)
        } else {
            Err(SourceErrors(
                problems
                    .into_iter()
                    .map(|(path, message)| error_at(file, src, &path.steps(), message))
                    .collect(),
            ))
        }
    }

    /// Semantic problems, each with the path of the value at fault.
    fn problems(&self) -> Vec<(FieldPath, String)> {
        let mut problems = Vec::new();
        let mut add = |path: FieldPath, message: String| problems.push((path, message));
        if self.name.trim().is_empty() {
            add(FieldPath::top("name"), "hall name is empty".into());
        }
        if self.short_name.trim().is_empty() {
            add(FieldPath::top("short_name"), "short_name is empty".into());
        }
        if let Some(url) = &self.public_url
            && let Err(why) = check_public_url(url)
        {
            add(FieldPath::top("public_url"), why);
        }
        if self.agencies.is_empty() {
            add(FieldPath::top("agencies"), "a hall needs at least one [[agencies]] entry".into());
        }
        let mut ids = BTreeSet::new();
        let mut letter_owner: BTreeMap<&str, &str> = BTreeMap::new();
        for (i, agency) in self.agencies.iter().enumerate() {
            let at = |field: &'static str| FieldPath::item("agencies", i, field);
            if !is_identifier(&agency.id) {
                add(
                    at("id"),
                    format!("agency id {:?} must be lower-case letters, digits and '-'", agency.id),
                );
            } else if !ids.insert(agency.id.as_str()) {
                add(at("id"), format!("agency id {:?} is used twice", agency.id));
            }
            if agency.name.trim().is_empty() {
                add(at("name"), format!("agency {} has an empty name", agency.id));
            }
            if agency.short.trim().is_empty() {
                add(at("short"), format!("agency {} has an empty short name", agency.id));
            }
            if parse_colour(&agency.colour).is_none() {
                add(at("colour"), format!("colour {:?} is not of the form #RRGGBB", agency.colour));
            }
            if agency.counters.is_empty() {
                add(at("counters"), format!("agency {} has no counters", agency.id));
            }
            let mut seen = BTreeSet::new();
            for &counter in &agency.counters {
                if counter == 0 {
                    add(at("counters"), format!("agency {}: counter numbers start at 1", agency.id));
                } else if !seen.insert(counter) {
                    add(at("counters"), format!("agency {}: counter {counter} is listed twice", agency.id));
                }
            }
            if agency.group.as_ref().is_some_and(|g| g.trim().is_empty() || g.chars().count() > 60) {
                add(at("group"), format!("agency {}: group must be 1 to 60 characters", agency.id));
            }
            if agency.standard_minutes == Some(0) {
                add(at("standard_minutes"), format!("agency {}: standard_minutes starts at 1", agency.id));
            }
            if agency.services.len() > MAX_SERVICES {
                add(at("services"), format!("agency {}: at most {MAX_SERVICES} services", agency.id));
            }
            for (j, service) in agency.services.iter().enumerate() {
                if let Some(why) = service.problem() {
                    add(
                        at("services"),
                        format!("agency {}, service {} ({:?}): {why}", agency.id, j + 1, service.name),
                    );
                }
            }
            for (field, token) in [("voice", &agency.voice), ("destination", &agency.destination)] {
                if let Some(token) = token
                    && (PLACEHOLDERS.contains(&token.as_str()) || !is_clip_token(token))
                {
                    add(at(field), format!("{field} {token:?} must be a clip name (a-z, 0-9, _)"));
                }
            }
            if let Some(problem) = agency.languages.as_deref().and_then(languages_problem) {
                add(at("languages"), format!("agency {}: languages {problem}", agency.id));
            }
            for letter in &agency.letters {
                if Ticket::new(letter, 1).map(|t| t.letters() != letter).unwrap_or(true) {
                    add(at("letters"), format!("ticket letters {letter:?} must be 1 to 3 capital letters"));
                } else if let Some(other) = letter_owner.insert(letter, &agency.id) {
                    add(
                        at("letters"),
                        format!("ticket letter {letter} is used by both {other} and {}", agency.id),
                    );
                }
            }
        }
        let voice = &self.voice;
        for (language, own) in
            [(Language::Id, voice.priority_call.as_ref()), (Language::En, voice.en.priority_call.as_ref())]
        {
            let templates = voice.templates(language);
            let (prefix, key) = match language {
                Language::Id => ("voice.", None),
                Language::En => ("voice.en.", Some("en")),
            };
            // A priority call made from `call` has its faults reported there, once.
            for (name, template) in [
                ("call", Some(templates.call)),
                ("priority_call", own.map(Vec::as_slice)),
                ("recall", Some(templates.recall)),
                ("announce", Some(templates.announce)),
            ] {
                let Some(template) = template else { continue };
                let path = FieldPath::item_key("voice", key.unwrap_or(name));
                if template.is_empty() {
                    add(path, format!("{prefix}{name} template is empty"));
                } else if let Some(bad) = template.iter().find(|t| !is_clip_token(t)) {
                    add(
                        path,
                        format!(
                            "{prefix}{name}: {bad:?} is neither a clip name (a-z, 0-9, _) nor a placeholder"
                        ),
                    );
                }
            }
        }
        if let Some(problem) = languages_problem(&voice.languages) {
            add(FieldPath::item_key("voice", "languages"), format!("voice.languages {problem}"));
        }
        if !(1..=3).contains(&voice.repeat) {
            add(FieldPath::item_key("voice", "repeat"), "voice.repeat must be 1, 2 or 3".into());
        }
        if voice.gap_ms > 5000 || voice.repeat_gap_ms > 10_000 {
            add(
                FieldPath::item_key("voice", "gap_ms"),
                "voice gaps are at most 5 s (10 s between repeats)".into(),
            );
        }
        if voice.between_ms > 10_000 {
            add(FieldPath::item_key("voice", "between_ms"), "voice.between_ms is at most 10000".into());
        }
        if voice.merge_window_s > 300 {
            add(FieldPath::item_key("voice", "merge_window_s"), "voice.merge_window_s is at most 300".into());
        }
        if !(5..=3600).contains(&voice.stale_after_s) {
            add(
                FieldPath::item_key("voice", "stale_after_s"),
                "voice.stale_after_s must be between 5 and 3600".into(),
            );
        }
        if !(1..=480).contains(&self.waiting.missed_minutes) {
            add(
                FieldPath::item_key("waiting", "missed_minutes"),
                "waiting.missed_minutes must be between 1 and 480".into(),
            );
        }
        let mut phrase_ids = BTreeSet::new();
        for (i, phrase) in self.phrases.iter().enumerate() {
            if !is_identifier(&phrase.id) || !phrase_ids.insert(phrase.id.as_str()) {
                add(
                    FieldPath::item("phrases", i, "id"),
                    format!("phrase id {:?} is empty, malformed or used twice", phrase.id),
                );
            }
        }
        problems
    }

    /// Gives each agency the standards `standards` has for it (none if it has none); whether
    /// anything changed.
    pub fn fill_services(&mut self, standards: &ServiceStandards) -> bool {
        let mut changed = false;
        for agency in &mut self.agencies {
            let services = standards.get(&agency.id).map_or(&[][..], Vec::as_slice);
            if agency.services != services {
                agency.services = services.to_vec();
                changed = true;
            }
        }
        changed
    }

    pub fn agency(&self, id: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.id == id)
    }

    /// The languages an agency's calls are said in: its own, else the hall's (which is also what
    /// announcements of no agency, `agency: None`, are said in).
    pub fn languages_of<'a>(&'a self, agency: Option<&'a Agency>) -> &'a [Language] {
        agency.and_then(|a| a.languages.as_deref()).unwrap_or(&self.voice.languages)
    }

    /// Every language some announcement of this hall is said in.
    pub fn languages_spoken(&self) -> BTreeSet<Language> {
        let mut spoken: BTreeSet<Language> = self.voice.languages.iter().copied().collect();
        spoken.extend(self.agencies.iter().flat_map(|a| a.languages.iter().flatten().copied()));
        spoken
    }

    pub fn phrase(&self, id: &str) -> Option<&Phrase> {
        self.phrases.iter().find(|p| p.id == id)
    }

    /// Finds the agency serving `counter`, checking `agency` if the caller named one.
    pub fn resolve_counter(&self, counter: u16, agency: Option<&str>) -> Result<&Agency, LookupError> {
        if let Some(id) = agency {
            let found = self.agency(id).ok_or_else(|| LookupError::UnknownAgency(id.to_string()))?;
            if found.counters.contains(&counter) {
                return Ok(found);
            }
        }
        let owners: Vec<&Agency> = self.agencies.iter().filter(|a| a.counters.contains(&counter)).collect();
        match (owners.as_slice(), agency) {
            ([], _) => Err(LookupError::UnknownCounter(counter)),
            ([only], None) => Ok(only),
            ([only], Some(asked)) => {
                Err(LookupError::WrongAgency { counter, owner: only.id.clone(), asked: asked.to_string() })
            }
            (many, _) => Err(LookupError::AmbiguousCounter {
                counter,
                owners: many.iter().map(|a| a.id.as_str()).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Checks that `agency` hands out tickets with this ticket's letters.
    pub fn check_ticket(&self, agency: &Agency, ticket: &Ticket) -> Result<(), LookupError> {
        if agency.letters.is_empty() || agency.letters.iter().any(|l| l == ticket.letters()) {
            Ok(())
        } else {
            Err(LookupError::WrongLetter {
                letter: ticket.letters().to_string(),
                agency: agency.id.clone(),
                letters: agency.letters.join(", "),
            })
        }
    }
}

/// `#RRGGBB` → (r, g, b).
/// A phone page's address: http(s), a host, no spaces, short enough for a QR code read at 3 m.
fn check_public_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    match rest {
        _ if url.len() > 100 => {
            Err(format!("public_url is {} characters; at most 100 keep its QR code readable", url.len()))
        }
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') && !url.chars().any(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!("public_url {url:?} must be an address like https://antrean.example.go.id")),
    }
}

pub fn parse_colour(s: &str) -> Option<(u8, u8, u8)> {
    let hex = s.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

/// What is wrong with a list of announcement languages, if anything.
fn languages_problem(languages: &[Language]) -> Option<String> {
    let distinct: BTreeSet<&Language> = languages.iter().collect();
    if languages.is_empty() {
        Some("is empty: name at least one, e.g. [\"id\"] or [\"id\", \"en\"]".into())
    } else if distinct.len() < languages.len() {
        Some("names a language twice: each is said once per announcement".into())
    } else {
        None
    }
}

/// The placeholders a voice template may use.
pub const PLACEHOLDERS: [&str; 6] =
    ["{letter}", "{number}", "{destination}", "{counter}", "{agency}", "{phrase}"];

/// A clip token (file-name safe) or a placeholder.
fn is_clip_token(s: &str) -> bool {
    PLACEHOLDERS.contains(&s)
        || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Where in the hall file a semantic problem is, for the error position.
struct FieldPath {
    table: &'static str,
    index: Option<usize>,
    field: Option<&'static str>,
}

impl FieldPath {
    fn top(table: &'static str) -> FieldPath {
        FieldPath { table, index: None, field: None }
    }

    fn item(table: &'static str, index: usize, field: &'static str) -> FieldPath {
        FieldPath { table, index: Some(index), field: Some(field) }
    }

    fn item_key(table: &'static str, field: &'static str) -> FieldPath {
        FieldPath { table, index: None, field: Some(field) }
    }

    fn steps(&self) -> Vec<PathStep<'static>> {
        let mut steps = vec![PathStep::Key(self.table)];
        steps.extend(self.index.map(PathStep::Index));
        steps.extend(self.field.map(PathStep::Key));
        steps
    }
}

/// How a hall reads ticket numbers aloud.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NumberStyle {
    /// "seratus dua puluh tiga"
    #[default]
    Terbilang,
    /// "satu dua tiga"
    Digits,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_hall_is_mpp_palembang_with_28_agencies() {
        let hall = Hall::builtin();
        assert_eq!(hall.agencies.len(), 28);
        assert_eq!(hall.timezone, TimeZone::Wib);
        let dukcapil = hall.agency("disdukcapil").unwrap();
        assert_eq!(dukcapil.name, "Dinas Kependudukan dan Pencatatan Sipil");
        // Every counter number is unique hall-wide, so a bare counter always resolves.
        for agency in &hall.agencies {
            for &c in &agency.counters {
                assert_eq!(hall.resolve_counter(c, None).unwrap().id, agency.id);
            }
        }
    }

    #[test]
    fn counters_resolve_with_clear_errors() {
        let src = DEFAULT_HALL_TOML.to_string()
            + "\n[[agencies]]\nid = \"extra\"\nshort = \"Extra\"\nname = \"Extra\"\ncolour = \"#123456\"\ncounters = [1]\n";
        let hall = Hall::parse("h.toml", &src).unwrap();
        assert!(matches!(hall.resolve_counter(1, None), Err(LookupError::AmbiguousCounter { .. })));
        assert_eq!(hall.resolve_counter(1, Some("extra")).unwrap().id, "extra");
        assert_eq!(hall.resolve_counter(999, None), Err(LookupError::UnknownCounter(999)));
        assert_eq!(hall.resolve_counter(1, Some("nope")), Err(LookupError::UnknownAgency("nope".into())));
        let owner = &hall.resolve_counter(1, Some("disdukcapil")).unwrap_or_else(|e| panic!("{e}")).id;
        assert_eq!(owner, "disdukcapil");
        let samsat_counter = hall.agency("samsat").unwrap().counters[0];
        assert!(matches!(
            hall.resolve_counter(samsat_counter, Some("bni")),
            Err(LookupError::WrongAgency { .. })
        ));
    }

    #[test]
    fn semantic_errors_point_at_the_line() {
        let src = "name = \"H\"\nshort_name = \"H\"\ntimezone = \"WIB\"\n\n[[agencies]]\nid = \"a\"\nshort = \"A\"\nname = \"A\"\ncolour = \"#00ff00\"\nletters = [\"A\"]\ncounters = [1]\n\n[[agencies]]\nid = \"a\"\nshort = \"B\"\nname = \"B\"\ncolour = \"green\"\nletters = [\"A\"]\ncounters = [2, 2]\n";
        let err = Hall::parse("h.toml", src).unwrap_err().to_string();
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(
            lines,
            [
                "h.toml:14:6: agency id \"a\" is used twice",
                "h.toml:17:10: colour \"green\" is not of the form #RRGGBB",
                "h.toml:19:12: agency a: counter 2 is listed twice",
                "h.toml:18:11: ticket letter A is used by both a and a",
            ]
        );
    }

    #[test]
    fn syntax_and_type_errors_have_positions() {
        let err =
            Hall::parse("h.toml", "name = \"H\"\nshort_name = \"H\"\ntimezone = \"CET\"\nagencies = []\n")
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("h.toml:3:12: "), "{err}");
        let err = Hall::parse("h.toml", "name = = 1").unwrap_err().to_string();
        assert!(err.starts_with("h.toml:1:8: "), "{err}");
        let err = Hall::parse(
            "h.toml",
            "name = \"H\"\nshort_name = \"H\"\ntimezone = \"WIB\"\ncolor = 1\nagencies = []\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("h.toml:4:1: ") && err.contains("color"), "{err}");
    }

    #[test]
    fn service_standards_are_checked_marked_as_examples_and_kept_off_the_wire() {
        let hall = Hall::builtin();
        let services: Vec<&ServiceStandard> = hall.agencies.iter().flat_map(|a| &a.services).collect();
        assert!(services.len() >= 3, "the shipped hall shows the mechanism");
        assert!(services.iter().all(|s| s.example), "every shipped standard is marked as an example");
        let json = serde_json::to_string(&hall).unwrap();
        assert!(!json.contains("Perekaman KTP-el"), "screens get the hall without its standards");

        let bad = DEFAULT_HALL_TOML.replacen("name = \"Perekaman KTP-el\"", "name = \" \"", 1);
        let err = Hall::parse("hall.toml", &bad).unwrap_err().to_string();
        assert!(
            err.contains("agency disdukcapil, service 1") && err.contains("name must be 1 to 100"),
            "{err}"
        );
        let bad = DEFAULT_HALL_TOML.replacen("cost = \"Gratis\"", "cost = \"\"", 1);
        let err = Hall::parse("hall.toml", &bad).unwrap_err().to_string();
        assert!(err.contains("cost must be 1 to 200 characters"), "{err}");
        let bad = DEFAULT_HALL_TOML.replacen("example = true", "exampel = true", 1);
        let err = Hall::parse("hall.toml", &bad).unwrap_err().to_string();
        assert!(err.contains("exampel"), "a misspelt key is named: {err}");
    }

    #[test]
    fn service_day_follows_the_hall_time_zone() {
        let t: jiff::Timestamp = "2026-11-22T17:30:00Z".parse().unwrap();
        assert_eq!(TimeZone::Wib.date_at(t).to_string(), "2026-11-23");
        let t: jiff::Timestamp = "2026-11-22T16:59:59Z".parse().unwrap();
        assert_eq!(TimeZone::Wib.date_at(t).to_string(), "2026-11-22");
        assert_eq!(TimeZone::Wit.date_at(t).to_string(), "2026-11-23");
    }
}
