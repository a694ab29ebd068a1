//! Board state and its pure reducer: what every screen shows is the fold of the journal's events.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::queue::{Call, Event, EventFrame, Seq, Ticket};

/// How many recent calls the board keeps (screens show fewer).
pub const RECENT_CALLS: usize = 20;

/// The whole hall's board at one seq.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Board {
    /// Seq of the last applied event.
    pub seq: Seq,
    /// Service day (hall-local) the board belongs to; set by `reset`.
    pub day: Option<jiff::civil::Date>,
    /// What each counter serves now, ordered by agency then counter.
    pub counters: Vec<CallRecord>,
    /// Latest calls, newest first.
    pub recent: VecDeque<CallRecord>,
    /// Latest call per agency id.
    pub agencies: BTreeMap<String, CallRecord>,
    pub ticker: Option<String>,
    /// The last prerecorded phrase announced today.
    pub announcement: Option<Announcement>,
    /// Highest ticket number called today per ticket letter: where `call_next` goes on from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub last_numbers: BTreeMap<String, u16>,
}

/// One call as the screens show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Seq of the event that last called (or recalled) this ticket.
    pub seq: Seq,
    pub at: jiff::Timestamp,
    pub ticket: Ticket,
    pub counter: u16,
    pub agency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// How many times it was recalled after the first call.
    #[serde(default)]
    pub recalls: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub seq: Seq,
    pub at: jiff::Timestamp,
    pub phrase: String,
}

/// What [`Board::apply`] did with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Seq at or below the board's: already applied, nothing changed.
    AlreadyApplied,
    /// Events are missing in between: nothing changed; the client must resync.
    Gap {
        expected: Seq,
        got: Seq,
    },
}

impl Board {
    /// Applies the next event. Idempotent: replaying old events changes nothing.
    pub fn apply(&mut self, frame: &EventFrame) -> Applied {
        if frame.seq <= self.seq {
            return Applied::AlreadyApplied;
        }
        if frame.seq != self.seq + 1 {
            return Applied::Gap { expected: self.seq + 1, got: frame.seq };
        }
        self.seq = frame.seq;
        match &frame.event {
            Event::Call(call) => self.record_call(frame, call, false),
            Event::Recall(call) => self.record_call(frame, call, true),
            Event::Announce { phrase } => {
                self.announcement =
                    Some(Announcement { seq: frame.seq, at: frame.at, phrase: phrase.clone() });
            }
            Event::Ticker { text } => {
                let text = text.trim();
                self.ticker = (!text.is_empty()).then(|| text.to_string());
            }
            Event::Clear { counter, agency } => {
                self.counters.retain(|c| !(c.counter == *counter && &c.agency == agency));
            }
            Event::Reset { day } => {
                self.day = Some(*day);
                self.counters.clear();
                self.recent.clear();
                self.agencies.clear();
                self.announcement = None;
                self.last_numbers.clear();
            }
            Event::HallChanged | Event::LayoutChanged => {}
        }
        Applied::Changed
    }

    /// What `counter` of `agency` serves now.
    pub fn serving(&self, counter: u16, agency: &str) -> Option<&CallRecord> {
        self.counters.iter().find(|c| c.counter == counter && c.agency == agency)
    }

    /// The ticket `call_next` would call for `letters` now.
    pub fn next_ticket(&self, letters: &str) -> Result<Ticket, crate::queue::TicketError> {
        let last = self.last_numbers.get(letters).copied().unwrap_or(0);
        Ticket::new(letters, last.saturating_add(1))
    }

    fn record_call(&mut self, frame: &EventFrame, call: &Call, recall: bool) {
        let last = self.last_numbers.entry(call.ticket.letters().to_string()).or_default();
        *last = (*last).max(call.ticket.number());
        let earlier_recalls = self
            .recent
            .iter()
            .find(|r| r.ticket == call.ticket && r.counter == call.counter && r.agency == call.agency)
            .map(|r| r.recalls);
        let record = CallRecord {
            seq: frame.seq,
            at: frame.at,
            ticket: call.ticket.clone(),
            counter: call.counter,
            agency: call.agency.clone(),
            service: call.service.clone(),
            recalls: match (recall, earlier_recalls) {
                (true, Some(n)) => n + 1,
                (true, None) => 1,
                (false, _) => 0,
            },
        };
        // A ticket shows once in the history: a recall or repeated call moves it to the top.
        self.recent.retain(|r| {
            !(r.ticket == record.ticket && r.counter == record.counter && r.agency == record.agency)
        });
        self.recent.push_front(record.clone());
        self.recent.truncate(RECENT_CALLS);
        self.agencies.insert(record.agency.clone(), record.clone());
        let key = (record.agency.as_str(), record.counter);
        match self.counters.binary_search_by(|c| (c.agency.as_str(), c.counter).cmp(&key)) {
            Ok(i) => self.counters[i] = record,
            Err(i) => self.counters.insert(i, record),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_795_000_000 + second).unwrap()
    }

    fn call(ticket: &str, counter: u16, agency: &str) -> Event {
        Event::Call(Call { ticket: ticket.parse().unwrap(), counter, agency: agency.into(), service: None })
    }

    fn recall(ticket: &str, counter: u16, agency: &str) -> Event {
        let Event::Call(c) = call(ticket, counter, agency) else { unreachable!() };
        Event::Recall(c)
    }

    fn fold(events: Vec<Event>) -> Board {
        let mut board = Board::default();
        for (i, event) in events.into_iter().enumerate() {
            let seq = i as Seq + 1;
            assert_eq!(board.apply(&EventFrame { seq, at: at(seq as i64), event }), Applied::Changed);
        }
        board
    }

    #[test]
    fn calls_fill_counters_history_and_agencies() {
        let board =
            fold(vec![call("A-1", 1, "disdukcapil"), call("B-5", 5, "bni"), call("A-2", 1, "disdukcapil")]);
        assert_eq!(board.seq, 3);
        let tickets: Vec<String> = board.recent.iter().map(|r| r.ticket.to_string()).collect();
        assert_eq!(tickets, ["A-002", "B-005", "A-001"]);
        assert_eq!(board.serving(1, "disdukcapil").unwrap().ticket.to_string(), "A-002");
        assert_eq!(board.counters.len(), 2);
        assert_eq!(board.counters[0].agency, "bni", "ordered by agency then counter");
        assert_eq!(board.agencies["disdukcapil"].seq, 3);
    }

    #[test]
    fn next_ticket_follows_the_highest_called_number_per_letter_and_restarts_each_day() {
        let mut board = fold(vec![call("A-7", 1, "disdukcapil"), call("A-3", 2, "disdukcapil")]);
        assert_eq!(board.next_ticket("A").unwrap().to_string(), "A-008", "an earlier ticket called late");
        assert_eq!(board.next_ticket("B").unwrap().to_string(), "B-001");
        let day = "2026-11-24".parse().unwrap();
        board.apply(&EventFrame { seq: 3, at: at(3), event: Event::Reset { day } });
        assert_eq!(board.next_ticket("A").unwrap().to_string(), "A-001");
        let full = fold(vec![call("A-9999", 1, "disdukcapil")]);
        assert!(full.next_ticket("A").is_err(), "no ticket after 9999");
    }

    #[test]
    fn recall_moves_the_call_to_the_top_and_counts() {
        let board = fold(vec![
            call("A-1", 1, "disdukcapil"),
            call("B-5", 5, "bni"),
            recall("A-1", 1, "disdukcapil"),
            recall("A-1", 1, "disdukcapil"),
        ]);
        assert_eq!(board.recent.len(), 2);
        assert_eq!(board.recent[0].ticket.to_string(), "A-001");
        assert_eq!(board.recent[0].recalls, 2);
        assert_eq!(board.recent[0].seq, 4);
        assert_eq!(board.serving(1, "disdukcapil").unwrap().recalls, 2);
    }

    #[test]
    fn history_is_capped() {
        let events = (1..=RECENT_CALLS as u16 + 5).map(|n| call(&format!("A-{n}"), 1, "x")).collect();
        let board = fold(events);
        assert_eq!(board.recent.len(), RECENT_CALLS);
        assert_eq!(board.recent[0].ticket.number(), RECENT_CALLS as u16 + 5);
    }

    #[test]
    fn clear_ticker_announce_and_reset() {
        let day: jiff::civil::Date = "2026-11-23".parse().unwrap();
        let mut board = fold(vec![
            call("A-1", 1, "disdukcapil"),
            call("B-5", 5, "bni"),
            Event::Clear { counter: 1, agency: "disdukcapil".into() },
            Event::Ticker { text: "  Selamat datang  ".into() },
            Event::Announce { phrase: "istirahat".into() },
        ]);
        assert!(board.serving(1, "disdukcapil").is_none());
        assert_eq!(board.recent.len(), 2, "clearing a counter keeps its history");
        assert_eq!(board.ticker.as_deref(), Some("Selamat datang"));
        assert_eq!(board.announcement.as_ref().unwrap().phrase, "istirahat");
        board.apply(&EventFrame { seq: 6, at: at(6), event: Event::Reset { day } });
        assert_eq!(board.day, Some(day));
        assert!(board.counters.is_empty() && board.recent.is_empty() && board.agencies.is_empty());
        assert!(board.announcement.is_none());
        assert_eq!(board.ticker.as_deref(), Some("Selamat datang"), "the ticker outlives the day");
    }

    #[test]
    fn apply_is_idempotent_and_refuses_gaps() {
        let mut board = fold(vec![call("A-1", 1, "x"), call("A-2", 1, "x")]);
        let before = board.clone();
        let replay = EventFrame { seq: 2, at: at(2), event: call("A-2", 1, "x") };
        assert_eq!(board.apply(&replay), Applied::AlreadyApplied);
        let skip = EventFrame { seq: 5, at: at(5), event: call("A-5", 1, "x") };
        assert_eq!(board.apply(&skip), Applied::Gap { expected: 3, got: 5 });
        assert_eq!(board, before);
    }

    #[test]
    fn board_round_trips_through_json() {
        let board = fold(vec![call("A-1", 1, "x"), Event::Ticker { text: "t".into() }]);
        let json = serde_json::to_string(&board).unwrap();
        assert_eq!(serde_json::from_str::<Board>(&json).unwrap(), board);
    }
}
