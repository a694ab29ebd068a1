//! The queue's own words: tickets, calls and the journaled events the board is folded from.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The hub's monotonic sequence number of journaled events.
pub type Seq = u64;

/// One journaled event with its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventFrame {
    pub seq: Seq,
    pub at: jiff::Timestamp,
    pub event: Event,
}

/// A call of one ticket to one counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub ticket: Ticket,
    pub counter: u16,
    pub agency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// A priority ticket (from the queue it waited in): the screens mark it, the voice says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// What happened in the hall; the board is the fold of these.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Event {
    Call(Call),
    Recall(Call),
    Announce {
        phrase: String,
    },
    Ticker {
        text: String,
    },
    Clear {
        counter: u16,
        agency: String,
    },
    /// A ticket was handed out (by a ticket system or the `/ambil` kiosk page) and waits.
    Issue(Issued),
    /// The counter finished serving its ticket.
    Done {
        counter: u16,
        agency: String,
    },
    /// The counter's ticket did not come: it waits on the agency's missed list until `until`,
    /// from where staff can call it again.
    NoShow {
        counter: u16,
        agency: String,
        until: jiff::Timestamp,
    },
    /// A citizen's answer to "Bagaimana pelayanan tadi?" after a served ticket, from the phone
    /// page: no name, no number, no address, one per ticket and day.
    Survey(SurveyAnswer),
    /// Start of a service day (hall-local date).
    Reset {
        day: jiff::civil::Date,
    },
    HallChanged,
    LayoutChanged,
}

impl Event {
    /// Short lower-case name, as in the wire `type`.
    pub fn kind(&self) -> &'static str {
        self.into()
    }
}

/// A ticket handed out, with what the citizen was told: people ahead and the wait band.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub ticket: Ticket,
    pub agency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// Tickets of the agency that were to be called before this one when it was issued.
    pub ahead: u32,
    /// The wait band shown at issue; none while the day knows too little to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Band>,
}

/// One survey answer as the journal keeps it: where the ticket was served, the rating and the
/// optional comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyAnswer {
    pub ticket: Ticket,
    pub agency: String,
    pub counter: u16,
    pub rating: Rating,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The four answers of the national public-satisfaction survey scale (PermenPAN-RB 14/2017).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantNames,
    strum::EnumString,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Rating {
    TidakBaik,
    KurangBaik,
    Baik,
    SangatBaik,
}

impl Rating {
    /// Its value on the scale, 1 (tidak baik) to 4 (sangat baik).
    pub fn value(self) -> u8 {
        match self {
            Rating::TidakBaik => 1,
            Rating::KurangBaik => 2,
            Rating::Baik => 3,
            Rating::SangatBaik => 4,
        }
    }

    /// How the citizen reads it.
    pub fn label(self) -> &'static str {
        match self {
            Rating::TidakBaik => "Tidak baik",
            Rating::KurangBaik => "Kurang baik",
            Rating::Baik => "Baik",
            Rating::SangatBaik => "Sangat baik",
        }
    }
}

/// Who is served before the queue's order (how often is the hall's choice per agency).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantNames,
    strum::EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Priority {
    Lansia,
    Disabilitas,
    IbuHamil,
}

impl Priority {
    /// The wire name (`ibu_hamil`).
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// How a citizen reads it.
    pub fn label(self) -> &'static str {
        match self {
            Priority::Lansia => "Lansia",
            Priority::Disabilitas => "Disabilitas",
            Priority::IbuHamil => "Ibu hamil",
        }
    }
}

/// A wait estimate in whole minutes; both ends are multiples of 5 and `low < high`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    pub low: u16,
    pub high: u16,
}

impl Band {
    /// Whether a wait of `secs` seconds fell inside the band.
    pub fn holds(self, secs: u64) -> bool {
        u64::from(self.low) * 60 <= secs && secs <= u64::from(self.high) * 60
    }

    /// The band as screens write it, short: "15–25 mnt" ("≤ 5 mnt" when it starts at 0).
    pub fn short(self) -> String {
        if self.low == 0 {
            format!("≤ {} mnt", self.high)
        } else {
            format!("{}–{} mnt", self.low, self.high)
        }
    }
}

impl fmt::Display for Band {
    /// "15–25 menit", or "≤ 5 menit" when the band starts at 0.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.low == 0 {
            write!(f, "≤ {} menit", self.high)
        } else {
            write!(f, "{}–{} menit", self.low, self.high)
        }
    }
}

/// A queue ticket such as `A-123`: 1–3 letters and a number 1–9999.
///
/// Written canonically as upper-case letters, a dash and at least three digits (`A-007`), so
/// `a7`, `A007` and `A-7` are the same ticket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket {
    letters: String,
    number: u16,
}

/// The largest ticket number a hall hands out.
pub const MAX_TICKET_NUMBER: u16 = 9999;

impl Ticket {
    pub fn new(letters: &str, number: u16) -> Result<Ticket, TicketError> {
        let letters = letters.to_ascii_uppercase();
        if letters.is_empty() || letters.len() > 3 || !letters.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(TicketError::Letters);
        }
        if number == 0 || number > MAX_TICKET_NUMBER {
            return Err(TicketError::Number);
        }
        Ok(Ticket { letters, number })
    }

    pub fn letters(&self) -> &str {
        &self.letters
    }

    pub fn number(&self) -> u16 {
        self.number
    }
}

/// Why a ticket string was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("a ticket starts with 1 to 3 letters, e.g. A-123")]
    Letters,
    #[error("a ticket number is 1 to 9999, e.g. A-123")]
    Number,
}

impl std::str::FromStr for Ticket {
    type Err = TicketError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(s.len());
        let (letters, rest) = s.split_at(split);
        let digits = rest.strip_prefix('-').unwrap_or(rest);
        if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(if letters.is_empty() { TicketError::Letters } else { TicketError::Number });
        }
        let number: u32 = digits.parse().map_err(|_| TicketError::Number)?;
        let number = u16::try_from(number).map_err(|_| TicketError::Number)?;
        Ticket::new(letters, number)
    }
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:03}", self.letters, self.number)
    }
}

impl Serialize for Ticket {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ticket {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(|e: TicketError| serde::de::Error::custom(format!("invalid ticket {s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tickets_parse_to_one_canonical_form() {
        for s in ["A-123", "a123", "A0123", " A-123 "] {
            assert_eq!(s.parse::<Ticket>().unwrap().to_string(), "A-123", "{s}");
        }
        assert_eq!("b7".parse::<Ticket>().unwrap().to_string(), "B-007");
        assert_eq!("AB-9999".parse::<Ticket>().unwrap().number(), 9999);
        assert_eq!("123".parse::<Ticket>(), Err(TicketError::Letters));
        assert_eq!("A-".parse::<Ticket>(), Err(TicketError::Number));
        assert_eq!("A-0".parse::<Ticket>(), Err(TicketError::Number));
        assert_eq!("A-10000".parse::<Ticket>(), Err(TicketError::Number));
        assert_eq!("ABCD-1".parse::<Ticket>(), Err(TicketError::Letters));
        assert_eq!("A-1x".parse::<Ticket>(), Err(TicketError::Number));
        assert_eq!("Á-1".parse::<Ticket>(), Err(TicketError::Letters));
    }
}
