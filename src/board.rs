//! Board state and its pure reducer: what every screen shows is the fold of the journal's events.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::hall::{Agency, PriorityRule};
use crate::queue::{Band, Call, Event, EventFrame, Issued, Priority, Seq, Ticket};
use crate::stats::{self, EstimateGrades, RECENT_SERVICES};

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
    /// Highest ticket number handed out today per ticket letter: where `issue` goes on from.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub issued_numbers: BTreeMap<String, u16>,
    /// Each agency's queue of handed-out tickets, for agencies that had any today.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub queues: BTreeMap<String, AgencyQueue>,
    /// The day's wait bands held against the waits that followed, hall-wide.
    #[serde(default, skip_serializing_if = "EstimateGrades::is_empty")]
    pub grades: EstimateGrades,
    /// How the previous service day ended, kept through the day's reset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_day: Option<DaySummary>,
}

/// One agency's handed-out tickets and what its services took today.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgencyQueue {
    /// Tickets waiting to be called, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<Waiting>,
    /// Tickets called that did not come, until they expire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<Missed>,
    /// Its latest service times in seconds (call → done, or → the counter's next call).
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub service_secs: VecDeque<u32>,
    /// Calls of its queue since a priority ticket was last called (for `priority = N`).
    #[serde(default)]
    pub since_priority: u32,
    #[serde(default)]
    pub counts: DayCounts,
}

/// A ticket waiting in its agency's queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiting {
    /// Seq of its `issue` event.
    pub seq: Seq,
    /// When it was handed out.
    pub at: jiff::Timestamp,
    pub ticket: Ticket,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// The band it was shown when handed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Band>,
}

/// A ticket that was called and did not come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Missed {
    pub ticket: Ticket,
    /// The counter that called it.
    pub counter: u16,
    /// When it was marked as not come.
    pub at: jiff::Timestamp,
    /// When it leaves the missed list.
    pub until: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// One agency's (or the hall's) counts of a service day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    pub issued: u32,
    /// Tickets called from the queue (first calls only).
    pub called: u32,
    /// Services finished (done, or closed by the counter's next call).
    pub served: u32,
    pub no_shows: u32,
    /// Sum of the waits (issue → first call) of the tickets called, in seconds.
    pub wait_secs_total: u64,
}

/// How a service day ended: kept on the board for the day after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySummary {
    pub day: Option<jiff::civil::Date>,
    pub counts: DayCounts,
    /// Tickets still waiting at the day's reset: never served.
    pub unserved: u32,
    pub grades: EstimateGrades,
}

/// Where a counter's current ticket stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Called (or being served): the counter's service clock runs.
    #[default]
    Serving,
    Done,
    /// Did not come; it is on the missed list.
    NoShow,
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
    /// A priority ticket (lansia, disabilitas, ibu hamil), as it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// When this counter first called this ticket: its service runs from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<jiff::Timestamp>,
    #[serde(default, skip_serializing_if = "is_serving")]
    pub service_state: Service,
}

fn is_serving(state: &Service) -> bool {
    *state == Service::Serving
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
                self.finish_service(*counter, agency, frame.at);
                self.counters.retain(|c| !(c.counter == *counter && &c.agency == agency));
            }
            Event::Issue(issued) => self.record_issue(frame, issued),
            Event::Done { counter, agency } => self.finish_service(*counter, agency, frame.at),
            Event::NoShow { counter, agency, until } => self.record_no_show(frame, *counter, agency, *until),
            Event::Reset { day } => {
                self.previous_day = self.day.map(|_| self.day_summary());
                self.queues.clear();
                self.issued_numbers.clear();
                self.grades = EstimateGrades::default();
                self.day = Some(*day);
                self.counters.clear();
                self.recent.clear();
                self.agencies.clear();
                self.announcement = None;
                self.last_numbers.clear();
            }
            // Answers go to the day's report, not to any screen.
            Event::HallChanged | Event::LayoutChanged | Event::Survey(_) => {}
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

    /// The agency's queue, if it had tickets handed out today.
    pub fn queue(&self, agency: &str) -> Option<&AgencyQueue> {
        self.queues.get(agency)
    }

    /// Counters of `agency` open now: those that called since the day began and were not closed.
    pub fn counters_open(&self, agency: &str) -> u32 {
        self.counters.iter().filter(|c| c.agency == agency).count() as u32
    }

    /// The number `issue` hands out next for `letters`: after the highest issued or called today.
    pub fn next_issued(&self, letters: &str) -> Result<Ticket, crate::queue::TicketError> {
        let issued = self.issued_numbers.get(letters).copied().unwrap_or(0);
        let called = self.last_numbers.get(letters).copied().unwrap_or(0);
        Ticket::new(letters, issued.max(called).saturating_add(1))
    }

    /// The priority of `ticket` if it waits (or was missed) in `agency`'s queue.
    pub fn queued_priority(&self, agency: &str, ticket: &Ticket) -> Option<Priority> {
        let queue = self.queues.get(agency)?;
        let waiting = queue.waiting.iter().find(|w| &w.ticket == ticket).map(|w| w.priority);
        let missed = || queue.missed.iter().find(|m| &m.ticket == ticket).map(|m| m.priority);
        waiting.or_else(missed).flatten()
    }

    /// Whether `ticket` is waiting or on a missed list anywhere in the hall.
    pub fn is_queued(&self, ticket: &Ticket) -> bool {
        self.queues.values().any(|q| {
            q.waiting.iter().any(|w| &w.ticket == ticket) || q.missed.iter().any(|m| &m.ticket == ticket)
        })
    }

    /// How many tickets would be called before a new one of `priority` at `agency`, by the
    /// agency's rule.
    pub fn ahead_of_new(&self, agency: &Agency, priority: Option<Priority>) -> u32 {
        let Some(queue) = self.queues.get(&agency.id) else { return 0 };
        let all = queue.waiting.len() as u32;
        let priority_waiting = queue.waiting.iter().filter(|w| w.priority.is_some()).count() as u32;
        match (priority, agency.priority) {
            (None, _) => all,
            (Some(_), PriorityRule::First) => priority_waiting,
            // One call in N: the priority tickets ahead each take N calls, and the next priority
            // turn is some calls away.
            (Some(_), PriorityRule::Every(n)) => {
                let n = u32::from(n);
                let to_next_turn = (n - 1).saturating_sub(queue.since_priority);
                all.min(priority_waiting * n + to_next_turn)
            }
        }
    }

    /// What a ticket of `priority` taken at `agency` now is told: the tickets ahead of it and
    /// its wait band. The hub puts this in the `issue` event; screens show it for a ticket taken now.
    pub fn outlook(&self, agency: &Agency, priority: Option<Priority>) -> (u32, Option<Band>) {
        let ahead = self.ahead_of_new(agency, priority);
        (ahead, self.estimate_for(&agency.id, ahead))
    }

    /// The band a new ticket with `ahead` tickets before it would be shown at `agency` now.
    fn estimate_for(&self, agency: &str, ahead: u32) -> Option<Band> {
        let queue = self.queues.get(agency)?;
        stats::estimate(ahead, self.counters_open(agency), queue.service_secs.iter().copied())
    }

    /// The ticket `call_next` takes at `agency` now, among tickets of `letters`: the oldest
    /// waiting one, priority tickets first by the agency's rule. None when nothing waits.
    pub fn next_in_queue(&self, agency: &Agency, letters: &str) -> Option<&Waiting> {
        let queue = self.queues.get(&agency.id)?;
        let oldest = |priority: bool| {
            queue.waiting.iter().find(|w| w.ticket.letters() == letters && w.priority.is_some() == priority)
        };
        let priority_turn = match agency.priority {
            PriorityRule::First => true,
            PriorityRule::Every(n) => queue.since_priority + 1 >= u32::from(n),
        };
        match (oldest(true), oldest(false)) {
            (Some(p), _) if priority_turn => Some(p),
            (_, Some(r)) => Some(r),
            (p, None) => p,
        }
    }

    /// Whether the agency's queue has been used today (tickets handed out): then `call_next`
    /// takes from it instead of counting.
    pub fn queues_tickets(&self, agency: &str) -> bool {
        self.queues.get(agency).is_some_and(|q| q.counts.issued > 0)
    }

    /// The day so far, for reports and the day's reset.
    pub fn day_summary(&self) -> DaySummary {
        let mut counts = DayCounts::default();
        let mut unserved = 0;
        for queue in self.queues.values() {
            counts.add(&queue.counts);
            unserved += queue.waiting.len() as u32;
        }
        DaySummary { day: self.day, counts, unserved, grades: self.grades.clone() }
    }

    fn record_issue(&mut self, frame: &EventFrame, issued: &Issued) {
        let number = self.issued_numbers.entry(issued.ticket.letters().to_string()).or_default();
        *number = (*number).max(issued.ticket.number());
        let queue = self.queues.entry(issued.agency.clone()).or_default();
        queue.expire_missed(frame.at);
        queue.counts.issued += 1;
        queue.waiting.push(Waiting {
            seq: frame.seq,
            at: frame.at,
            ticket: issued.ticket.clone(),
            service: issued.service.clone(),
            priority: issued.priority,
            estimate: issued.estimate,
        });
    }

    /// Takes a called ticket off its agency's waiting or missed list; its priority, if any.
    fn take_from_queue(&mut self, frame: &EventFrame, call: &Call) -> Option<Priority> {
        let queue = self.queues.get_mut(&call.agency)?;
        queue.expire_missed(frame.at);
        if let Some(i) = queue.waiting.iter().position(|w| w.ticket == call.ticket) {
            let waiting = queue.waiting.remove(i);
            let waited = frame.at.duration_since(waiting.at).as_secs().max(0) as u64;
            queue.counts.called += 1;
            queue.counts.wait_secs_total += waited;
            queue.since_priority = if waiting.priority.is_some() { 0 } else { queue.since_priority + 1 };
            self.grades.record(waiting.estimate, waited);
            return waiting.priority;
        }
        let i = queue.missed.iter().position(|m| m.ticket == call.ticket)?;
        queue.missed.remove(i).priority
    }

    /// Ends the service the counter runs now as `state` (on the counter and in the history); the
    /// record as it was, or none when the counter serves nothing.
    fn end_service(&mut self, counter: u16, agency: &str, state: Service) -> Option<CallRecord> {
        let record = self.counters.iter_mut().find(|c| c.counter == counter && c.agency == agency)?;
        if record.service_state != Service::Serving {
            return None;
        }
        let ended = record.clone();
        record.service_state = state;
        for r in self.recent.iter_mut().filter(|r| r.ticket == ended.ticket && r.counter == counter) {
            r.service_state = state;
        }
        Some(ended)
    }

    /// Ends the counter's service, if one runs: its time joins the agency's service times.
    fn finish_service(&mut self, counter: u16, agency: &str, at: jiff::Timestamp) {
        let Some(since) = self.end_service(counter, agency, Service::Done).and_then(|r| r.since) else {
            return;
        };
        let secs = at.duration_since(since).as_secs().clamp(0, i64::from(u32::MAX)) as u32;
        // Only agencies that hand out tickets keep service times: nobody asks the others.
        if let Some(queue) = self.queues.get_mut(agency) {
            queue.counts.served += 1;
            queue.service_secs.push_back(secs);
            if queue.service_secs.len() > RECENT_SERVICES {
                queue.service_secs.pop_front();
            }
        }
    }

    fn record_no_show(&mut self, frame: &EventFrame, counter: u16, agency: &str, until: jiff::Timestamp) {
        let Some(record) = self.end_service(counter, agency, Service::NoShow) else { return };
        let missed = Missed {
            ticket: record.ticket,
            counter,
            at: frame.at,
            until,
            service: record.service,
            priority: record.priority,
        };
        let queue = self.queues.entry(agency.to_string()).or_default();
        queue.expire_missed(frame.at);
        queue.counts.no_shows += 1;
        queue.missed.retain(|m| m.ticket != missed.ticket);
        queue.missed.push(missed);
    }

    fn record_call(&mut self, frame: &EventFrame, call: &Call, recall: bool) {
        let last = self.last_numbers.entry(call.ticket.letters().to_string()).or_default();
        *last = (*last).max(call.ticket.number());
        let earlier_recalls = self
            .recent
            .iter()
            .find(|r| r.ticket == call.ticket && r.counter == call.counter && r.agency == call.agency)
            .map(|r| r.recalls);
        let previous = self.serving(call.counter, &call.agency).cloned();
        let same_ticket = previous.as_ref().is_some_and(|p| p.ticket == call.ticket);
        // A new ticket at the counter ends the service of the one before it.
        if !same_ticket {
            self.finish_service(call.counter, &call.agency, frame.at);
        }
        let mut priority = previous.as_ref().filter(|_| same_ticket).and_then(|p| p.priority);
        if !recall && !same_ticket {
            priority = self.take_from_queue(frame, call).or(priority);
        }
        // The event says it itself (the hub looked the ticket up in its queue).
        priority = call.priority.or(priority);
        let since = match &previous {
            Some(p) if same_ticket => p.since.or(Some(frame.at)),
            _ => Some(frame.at),
        };
        let service_state = match &previous {
            Some(p) if same_ticket && p.service_state == Service::Done => Service::Done,
            _ => Service::Serving,
        };
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
            priority,
            since,
            service_state,
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

impl AgencyQueue {
    /// Drops missed tickets whose time on the list is over.
    fn expire_missed(&mut self, now: jiff::Timestamp) {
        self.missed.retain(|m| m.until > now);
    }

    /// The missed tickets still callable at `now`.
    pub fn missed_at(&self, now: jiff::Timestamp) -> impl Iterator<Item = &Missed> {
        self.missed.iter().filter(move |m| m.until > now)
    }

    /// Waiting tickets, and of them priority tickets.
    pub fn waiting_counts(&self) -> (u32, u32) {
        let priority = self.waiting.iter().filter(|w| w.priority.is_some()).count();
        (self.waiting.len() as u32, priority as u32)
    }

    /// The median of its recent service times, in seconds.
    pub fn median_service_secs(&self) -> Option<u32> {
        stats::median(self.service_secs.iter().copied())
    }
}

impl DayCounts {
    fn add(&mut self, other: &DayCounts) {
        self.issued += other.issued;
        self.called += other.called;
        self.served += other.served;
        self.no_shows += other.no_shows;
        self.wait_secs_total += other.wait_secs_total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_795_000_000 + second).unwrap()
    }

    fn call(ticket: &str, counter: u16, agency: &str) -> Event {
        Event::Call(Call {
            ticket: ticket.parse().unwrap(),
            counter,
            agency: agency.into(),
            service: None,
            priority: None,
        })
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

    /// A small hall's agency: letters A, counters 1–3, with the given priority rule.
    fn agency(rule: PriorityRule) -> Agency {
        let mut hall = crate::hall::Hall::builtin();
        let mut agency =
            hall.agencies.swap_remove(hall.agencies.iter().position(|a| a.id == "disdukcapil").unwrap());
        agency.priority = rule;
        agency
    }

    /// Plays one step the way the hub decides it: issues with the hub's ahead and band, calls the
    /// queue's next ticket, ends or misses a counter's service.
    #[derive(Debug, Clone)]
    enum Step {
        Issue(Option<Priority>),
        CallNext(u16),
        Done(u16),
        NoShow(u16),
        Advance(u16),
    }

    struct Day {
        board: Board,
        frames: Vec<EventFrame>,
        now: i64,
        agency: Agency,
    }

    impl Day {
        fn new(rule: PriorityRule) -> Day {
            let mut day = Day { board: Board::default(), frames: Vec::new(), now: 0, agency: agency(rule) };
            day.push(Event::Reset { day: "2026-12-03".parse().unwrap() });
            day
        }

        fn push(&mut self, event: Event) {
            let frame = EventFrame { seq: self.board.seq + 1, at: at(self.now), event };
            assert_eq!(self.board.apply(&frame), Applied::Changed);
            self.frames.push(frame);
        }

        fn step(&mut self, step: &Step) -> Option<Ticket> {
            match *step {
                Step::Issue(priority) => {
                    let (ahead, estimate) = self.board.outlook(&self.agency, priority);
                    let ticket = self.board.next_issued("A").unwrap();
                    self.push(Event::Issue(Issued {
                        ticket,
                        agency: "disdukcapil".into(),
                        service: None,
                        priority,
                        ahead,
                        estimate,
                    }));
                }
                Step::CallNext(counter) => {
                    let ticket = self.board.next_in_queue(&self.agency, "A")?.ticket.clone();
                    self.push(call(&ticket.to_string(), counter, "disdukcapil"));
                    return Some(ticket);
                }
                Step::Done(counter) | Step::NoShow(counter) => {
                    let serving = self.board.serving(counter, "disdukcapil")?;
                    if serving.service_state != Service::Serving {
                        return None;
                    }
                    let agency = "disdukcapil".to_string();
                    self.push(match step {
                        Step::Done(_) => Event::Done { counter, agency },
                        _ => Event::NoShow { counter, agency, until: at(self.now + 1800) },
                    });
                }
                Step::Advance(secs) => self.now += i64::from(secs),
            }
            None
        }
    }

    #[test]
    fn call_next_takes_priority_first_then_the_oldest() {
        let mut day = Day::new(PriorityRule::First);
        for priority in [None, None, Some(Priority::Lansia), None, Some(Priority::IbuHamil)] {
            day.step(&Step::Issue(priority));
        }
        assert_eq!(day.board.queue("disdukcapil").unwrap().waiting_counts(), (5, 2));
        let order: Vec<String> = (0..5).map(|_| day.step(&Step::CallNext(1)).unwrap().to_string()).collect();
        assert_eq!(order, ["A-003", "A-005", "A-001", "A-002", "A-004"]);
        assert!(day.step(&Step::CallNext(1)).is_none(), "the queue is empty");
        assert_eq!(day.board.serving(1, "disdukcapil").unwrap().priority, None);
        let lansia = day.board.recent.iter().find(|r| r.ticket.to_string() == "A-003").unwrap();
        assert_eq!(lansia.priority, Some(Priority::Lansia), "history keeps the mark");
    }

    #[test]
    fn one_call_in_n_goes_to_priority_tickets() {
        let mut day = Day::new(PriorityRule::Every(3));
        for priority in [None, None, None, None, Some(Priority::Disabilitas), Some(Priority::Lansia)] {
            day.step(&Step::Issue(priority));
        }
        let order: Vec<String> = (0..6).map(|_| day.step(&Step::CallNext(2)).unwrap().to_string()).collect();
        assert_eq!(order, ["A-001", "A-002", "A-005", "A-003", "A-004", "A-006"]);
    }

    #[test]
    fn services_no_shows_and_the_day_summary() {
        let mut day = Day::new(PriorityRule::First);
        for _ in 0..4 {
            day.step(&Step::Issue(None));
        }
        day.step(&Step::Advance(120));
        day.step(&Step::CallNext(1));
        day.step(&Step::Advance(300));
        day.step(&Step::Done(1));
        day.step(&Step::CallNext(1));
        day.step(&Step::Advance(60));
        day.step(&Step::NoShow(1));
        day.step(&Step::CallNext(1));
        day.step(&Step::Advance(240));
        // The next call closes the service of the one before.
        day.step(&Step::CallNext(1));
        let queue = day.board.queue("disdukcapil").unwrap();
        assert_eq!(queue.service_secs, [300, 240]);
        assert_eq!(
            (queue.counts.issued, queue.counts.called, queue.counts.served, queue.counts.no_shows),
            (4, 4, 2, 1)
        );
        assert_eq!(queue.missed_at(at(day.now)).map(|m| m.ticket.to_string()).collect::<Vec<_>>(), ["A-002"]);
        assert_eq!(queue.missed_at(at(day.now + 3600)).count(), 0, "missed tickets expire");
        // Called again from the missed list, it leaves it.
        day.push(call("A-002", 2, "disdukcapil"));
        assert_eq!(day.board.queue("disdukcapil").unwrap().missed.len(), 0);
        day.step(&Step::Issue(None));
        day.push(Event::Reset { day: "2026-12-04".parse().unwrap() });
        let summary = day.board.previous_day.clone().unwrap();
        assert_eq!((summary.counts.issued, summary.unserved), (5, 1), "a ticket still waiting is unserved");
        assert!(day.board.queues.is_empty() && day.board.issued_numbers.is_empty());
    }

    #[test]
    fn estimates_are_graded_when_their_ticket_is_called() {
        let mut day = Day::new(PriorityRule::First);
        // Ten services of 5 minutes at one counter teach the agency its pace.
        for _ in 0..10 {
            day.step(&Step::Issue(None));
            day.step(&Step::CallNext(1));
            day.step(&Step::Advance(300));
            day.step(&Step::Done(1));
        }
        let before = day.board.grades.clone();
        day.step(&Step::Issue(None));
        day.step(&Step::Issue(None));
        let waiting = &day.board.queue("disdukcapil").unwrap().waiting;
        let band = waiting[1].estimate.expect("ten services are enough to say something");
        assert!(band.holds(600), "second in line at one 5-minute counter: about 10 minutes, got {band}");
        day.step(&Step::CallNext(1));
        day.step(&Step::Advance(600));
        day.step(&Step::CallNext(1));
        assert_eq!(day.board.grades.checked, before.checked + 2);
        assert_eq!(day.board.grades.inside, before.inside + 2, "{:?}", day.board.grades);
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        let step = prop_oneof![
            3 => prop::option::weighted(0.2, prop::sample::select(vec![Priority::Lansia, Priority::IbuHamil]))
                .prop_map(Step::Issue),
            3 => (1u16..=4).prop_map(Step::CallNext),
            2 => (1u16..=4).prop_map(Step::Done),
            1 => (1u16..=4).prop_map(Step::NoShow),
            2 => (1u16..900).prop_map(Step::Advance),
        ];
        prop::collection::vec(step, 1..120)
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever staff do: a ticket is called from the queue once, counts add up, and replaying
        /// the journal (or a board saved halfway, as compaction does) gives the same queues.
        #[test]
        fn queues_call_each_ticket_once_and_replay_the_same(steps in steps(), rule in prop_oneof![
            Just(PriorityRule::First), (2u16..5).prop_map(PriorityRule::Every)
        ]) {
            let mut day = Day::new(rule);
            let mut called = std::collections::BTreeSet::new();
            for step in &steps {
                if let Some(ticket) = day.step(step) {
                    prop_assert!(called.insert(ticket.clone()), "{ticket} called twice from the queue");
                }
            }
            let queue = day.board.queue("disdukcapil").cloned().unwrap_or_default();
            let (waiting, _) = queue.waiting_counts();
            prop_assert_eq!(queue.counts.issued, waiting + queue.counts.called);
            prop_assert!(queue.counts.served + queue.counts.no_shows <= queue.counts.called);
            let mut replayed = Board::default();
            let half = day.frames.len() / 2;
            for frame in &day.frames[..half] {
                replayed.apply(frame);
            }
            let saved: Board = serde_json::from_str(&serde_json::to_string(&replayed).unwrap()).unwrap();
            let mut replayed = saved;
            for frame in &day.frames[half..] {
                prop_assert_eq!(replayed.apply(frame), Applied::Changed);
            }
            prop_assert_eq!(&replayed, &day.board);
        }
    }

    #[test]
    fn board_round_trips_through_json() {
        let board = fold(vec![call("A-1", 1, "x"), Event::Ticker { text: "t".into() }]);
        let json = serde_json::to_string(&board).unwrap();
        assert_eq!(serde_json::from_str::<Board>(&json).unwrap(), board);
    }
}
