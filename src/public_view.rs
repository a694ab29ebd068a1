//! What the citizens' phone page (`/antrean`) shows: per agency who is served now, how many wait
//! and the band a ticket taken now gets; and where one ticket stands. Pure: board and hall in.
//!
//! Nothing here names a token, a screen, staff or a service a citizen asked for: the view goes to
//! anyone on the Internet.

use std::collections::HashMap;

use serde::Serialize;

use crate::board::{AgencyQueue, Board, Service, Waiting};
use crate::hall::{Hall, PriorityRule};
use crate::queue::{Seq, Ticket};
use crate::waiting::estimate_text;

/// The whole hall as the phone page shows it, and every ticket of the day it can look up.
#[derive(Debug, Clone, Serialize)]
pub struct PublicView {
    /// Not sent: a recall moves the seq and changes nothing a phone shows.
    #[serde(skip)]
    pub seq: Seq,
    pub day: Option<jiff::civil::Date>,
    pub hall: String,
    /// Agencies that called or handed out tickets today, in hall order.
    pub agencies: Vec<PublicAgency>,
    /// Agencies that did neither yet (left out: every phone gets the view at every change).
    pub quiet: u32,
    #[serde(skip)]
    tickets: HashMap<Ticket, TicketStatus>,
    /// Highest number handed out or called today per ticket letter: a ticket at or below it that
    /// is on no list any more was served earlier today.
    #[serde(skip)]
    highest: HashMap<String, u16>,
}

/// One agency on the phone page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicAgency {
    /// Its place in the hall file: the page lists agencies in this order.
    pub order: u16,
    pub id: String,
    pub name: String,
    pub short: String,
    /// Tickets at its counters now, by counter.
    pub serving: Vec<AtCounter>,
    /// Whether it hands out tickets papan knows (then `waiting` and the band mean something).
    pub queues: bool,
    pub waiting: u32,
    /// The band a ticket taken now would be told ("15–25 menit", or "—").
    pub estimate_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_minutes: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtCounter {
    pub counter: u16,
    pub ticket: Ticket,
}

/// Where one ticket stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting to be called: `ahead` tickets will be called before it by the agency's rule.
    Waiting { agency: String, ahead: u32, estimate_text: String },
    /// Called to a counter and being served there.
    Called { agency: String, counter: u16, at: jiff::Timestamp },
    /// Called and did not come: staff can call it again until `until`.
    Missed { agency: String, counter: u16, until: jiff::Timestamp },
    /// Served: the counter said "Selesai", or called its next ticket.
    Done { agency: String, counter: u16 },
    /// Handed out or called today, and no longer on any list the board keeps (served earlier,
    /// or missed and expired).
    Past,
    /// Not handed out or called today.
    Unknown,
}

impl PublicView {
    /// The view of `board` under `hall` at `now` (missed tickets past their time are left out).
    pub fn build(board: &Board, hall: &Hall, now: jiff::Timestamp) -> PublicView {
        let mut tickets = HashMap::new();
        // Oldest first, so a ticket's latest record wins.
        for record in board.recent.iter().rev().chain(&board.counters) {
            let status = match record.service_state {
                Service::Serving => TicketStatus::Called {
                    agency: record.agency.clone(),
                    counter: record.counter,
                    at: record.at,
                },
                Service::Done => {
                    TicketStatus::Done { agency: record.agency.clone(), counter: record.counter }
                }
                // The missed list below says until when.
                Service::NoShow => continue,
            };
            tickets.insert(record.ticket.clone(), status);
        }
        let mut agencies = Vec::with_capacity(hall.agencies.len());
        let mut quiet = 0;
        for (order, agency) in hall.agencies.iter().enumerate() {
            let queue = board.queue(&agency.id);
            if let Some(queue) = queue {
                for missed in queue.missed_at(now) {
                    let status = TicketStatus::Missed {
                        agency: agency.id.clone(),
                        counter: missed.counter,
                        until: missed.until,
                    };
                    tickets.insert(missed.ticket.clone(), status);
                }
                let counters = board.counters_open(&agency.id);
                for (ahead, waiting) in call_order(queue, agency.priority).into_iter().enumerate() {
                    let ahead = ahead as u32;
                    let band = crate::stats::estimate(ahead, counters, queue.service_secs.iter().copied());
                    let status = TicketStatus::Waiting {
                        agency: agency.id.clone(),
                        ahead,
                        estimate_text: estimate_text(band),
                    };
                    tickets.insert(waiting.ticket.clone(), status);
                }
            }
            let serving = board
                .counters
                .iter()
                .filter(|c| c.agency == agency.id && c.service_state == Service::Serving)
                .map(|c| AtCounter { counter: c.counter, ticket: c.ticket.clone() })
                .collect();
            let queues = board.queues_tickets(&agency.id);
            if !queues && !board.agencies.contains_key(&agency.id) {
                quiet += 1;
                continue;
            }
            agencies.push(PublicAgency {
                order: order as u16,
                id: agency.id.clone(),
                name: agency.name.clone(),
                short: agency.short.clone(),
                serving,
                queues,
                waiting: queue.map_or(0, |q| q.waiting.len() as u32),
                estimate_text: estimate_text(queues.then(|| board.outlook(agency, None).1).flatten()),
                standard_minutes: agency.standard_minutes,
            });
        }
        let mut highest: HashMap<String, u16> = HashMap::new();
        for (letters, number) in board.issued_numbers.iter().chain(&board.last_numbers) {
            let top = highest.entry(letters.clone()).or_default();
            *top = (*top).max(*number);
        }
        PublicView {
            seq: board.seq,
            day: board.day,
            hall: hall.name.clone(),
            agencies,
            quiet,
            tickets,
            highest,
        }
    }

    /// What changed since `before`, as the frame a phone that has `before` gets instead of the
    /// whole view: a call changes one agency of 28 (a few hundred bytes instead of ~5 KB, at
    /// every phone, at every call).
    pub fn changes_since(&self, before: &PublicView) -> serde_json::Value {
        let changed: Vec<&PublicAgency> =
            self.agencies.iter().filter(|a| !before.agencies.contains(a)).collect();
        let gone: Vec<&str> = before
            .agencies
            .iter()
            .filter(|b| !self.agencies.iter().any(|a| a.id == b.id))
            .map(|b| b.id.as_str())
            .collect();
        serde_json::json!({
            "type": "changes",
            "day": self.day,
            "hall": self.hall,
            "agencies": changed,
            "gone": gone,
            "quiet": self.quiet,
        })
    }

    /// Where `ticket` stands in this view.
    pub fn ticket(&self, ticket: &Ticket) -> TicketStatus {
        if let Some(status) = self.tickets.get(ticket) {
            return status.clone();
        }
        match self.highest.get(ticket.letters()) {
            Some(top) if ticket.number() <= *top => TicketStatus::Past,
            _ => TicketStatus::Unknown,
        }
    }
}

/// The phone page's address: `/antrean` under the hall's `public_url`, or else under the hub's
/// own address as a screen knows it (`ws://10.0.0.2:7878/ws` → `http://10.0.0.2:7878/antrean`).
pub fn phone_page(public_url: Option<&str>, hub_ws_url: Option<&str>) -> Option<String> {
    if let Some(base) = public_url {
        return Some(format!("{}/antrean", base.trim_end_matches('/')));
    }
    let url = hub_ws_url?;
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme {
        "wss" => "https",
        "ws" => "http",
        _ => return None,
    };
    let host = rest.split('/').next().filter(|h| !h.is_empty())?;
    Some(format!("{scheme}://{host}/antrean"))
}

/// The agency's waiting tickets in the order `call_next` would take them by its priority rule,
/// if nobody new came: priority tickets first (`"first"`), or one call in N.
fn call_order(queue: &AgencyQueue, rule: PriorityRule) -> Vec<&Waiting> {
    let (mut priority, mut regular): (Vec<&Waiting>, Vec<&Waiting>) =
        queue.waiting.iter().partition(|w| w.priority.is_some());
    priority.reverse();
    regular.reverse();
    let mut since_priority = queue.since_priority;
    let mut order = Vec::with_capacity(queue.waiting.len());
    loop {
        let priority_turn = match rule {
            PriorityRule::First => true,
            PriorityRule::Every(n) => since_priority + 1 >= u32::from(n),
        };
        let next = match (priority_turn, priority.is_empty()) {
            (true, false) => priority.pop(),
            _ => regular.pop().or_else(|| priority.pop()),
        };
        let Some(next) = next else { return order };
        since_priority = if next.priority.is_some() { 0 } else { since_priority + 1 };
        order.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::Board;
    use crate::hall::Hall;
    use crate::queue::{Call, Event, EventFrame, Issued, Priority};

    fn hall(rule: PriorityRule) -> Hall {
        let mut hall = Hall::builtin();
        hall.agencies[0].priority = rule;
        hall
    }

    struct Day {
        board: Board,
        at: jiff::Timestamp,
    }

    impl Day {
        fn new() -> Day {
            let mut day = Day { board: Board::default(), at: "2026-12-03T01:00:00Z".parse().unwrap() };
            day.apply(Event::Reset { day: "2026-12-03".parse().unwrap() });
            day
        }

        fn apply(&mut self, event: Event) {
            self.at += jiff::SignedDuration::from_secs(60);
            let frame = EventFrame { seq: self.board.seq + 1, at: self.at, event };
            self.board.apply(&frame);
        }

        fn issue(&mut self, agency: &str, ticket: &str, priority: Option<Priority>) {
            self.apply(Event::Issue(Issued {
                ticket: ticket.parse().unwrap(),
                agency: agency.into(),
                service: None,
                priority,
                ahead: 0,
                estimate: None,
            }));
        }

        fn call(&mut self, agency: &str, ticket: &str, counter: u16) {
            self.apply(Event::Call(Call {
                ticket: ticket.parse().unwrap(),
                counter,
                agency: agency.into(),
                service: None,
                priority: None,
            }));
        }
    }

    fn ahead(view: &PublicView, ticket: &str) -> u32 {
        match view.ticket(&ticket.parse().unwrap()) {
            TicketStatus::Waiting { ahead, .. } => ahead,
            other => panic!("{ticket} is {other:?}"),
        }
    }

    #[test]
    fn a_ticket_is_followed_from_waiting_to_called_done_missed_and_past() {
        let hall = hall(PriorityRule::First);
        let agency = hall.agencies[0].id.clone();
        let mut day = Day::new();
        for ticket in ["A-001", "A-002", "A-003"] {
            day.issue(&agency, ticket, None);
        }
        let view = PublicView::build(&day.board, &hall, day.at);
        assert_eq!((ahead(&view, "A-001"), ahead(&view, "A-003")), (0, 2));
        assert_eq!(view.ticket(&"A-009".parse().unwrap()), TicketStatus::Unknown);
        let mine = &view.agencies[0];
        assert_eq!((mine.waiting, mine.queues, mine.serving.len()), (3, true, 0));
        assert_eq!(view.quiet as usize, hall.agencies.len() - 1, "only agencies at work are listed");
        assert_eq!(mine.estimate_text, "—", "no band before five services today");

        day.call(&agency, "A-001", 5);
        let before = view;
        let view = PublicView::build(&day.board, &hall, day.at);
        let changes = view.changes_since(&before);
        assert_eq!(changes["agencies"].as_array().map(Vec::len), Some(1), "{changes}");
        assert_eq!(changes["agencies"][0]["serving"][0]["ticket"], "A-001");
        assert_eq!(view.changes_since(&view)["agencies"].as_array().map(Vec::len), Some(0));
        assert!(matches!(view.ticket(&"A-001".parse().unwrap()), TicketStatus::Called { counter: 5, .. }));
        assert_eq!(ahead(&view, "A-003"), 1);
        assert_eq!(
            view.agencies[0].serving,
            vec![AtCounter { counter: 5, ticket: "A-001".parse().unwrap() }]
        );

        day.apply(Event::Done { counter: 5, agency: agency.clone() });
        day.call(&agency, "A-002", 5);
        let until = day.at + jiff::SignedDuration::from_mins(30);
        day.apply(Event::NoShow { counter: 5, agency: agency.clone(), until });
        let view = PublicView::build(&day.board, &hall, day.at);
        assert_eq!(
            view.ticket(&"A-001".parse().unwrap()),
            TicketStatus::Done { agency: agency.clone(), counter: 5 }
        );
        assert_eq!(
            view.ticket(&"A-002".parse().unwrap()),
            TicketStatus::Missed { agency: agency.clone(), counter: 5, until }
        );
        let later = PublicView::build(&day.board, &hall, until);
        assert_eq!(
            later.ticket(&"A-002".parse().unwrap()),
            TicketStatus::Past,
            "expired from the missed list"
        );

        // A ticket the board's history has forgotten was still handed out today.
        for n in 3..=30 {
            let ticket = format!("A-{n:03}");
            if n > 3 {
                day.issue(&agency, &ticket, None);
            }
            day.call(&agency, &ticket, 5);
        }
        let view = PublicView::build(&day.board, &hall, day.at);
        assert_eq!(view.ticket(&"A-001".parse().unwrap()), TicketStatus::Past);
    }

    #[test]
    fn the_phone_page_is_under_the_public_url_or_the_hub_s_own_address() {
        assert_eq!(
            phone_page(Some("https://antrean.example.go.id/"), Some("ws://10.0.0.2:7878/ws")).as_deref(),
            Some("https://antrean.example.go.id/antrean")
        );
        assert_eq!(
            phone_page(None, Some("wss://hub.local:7878/ws")).as_deref(),
            Some("https://hub.local:7878/antrean")
        );
        assert_eq!(
            phone_page(None, Some("ws://10.0.0.2:7878")).as_deref(),
            Some("http://10.0.0.2:7878/antrean")
        );
        assert_eq!(phone_page(None, Some("nats://x")), None);
        assert_eq!(phone_page(None, None), None);
    }

    #[test]
    fn priority_tickets_are_counted_ahead_by_the_agency_s_rule() {
        let lansia = Some(Priority::Lansia);
        let first = hall(PriorityRule::First);
        let agency = first.agencies[0].id.clone();
        let mut day = Day::new();
        day.issue(&agency, "A-001", None);
        day.issue(&agency, "A-002", None);
        day.issue(&agency, "A-003", lansia);
        day.issue(&agency, "A-004", lansia);
        let view = PublicView::build(&day.board, &first, day.at);
        assert_eq!(
            ["A-003", "A-004", "A-001", "A-002"].map(|t| ahead(&view, t)),
            [0, 1, 2, 3],
            "priority first"
        );
        let every_third = hall(PriorityRule::Every(3));
        let view = PublicView::build(&day.board, &every_third, day.at);
        // Two regular calls, then a priority one, then the rest in their order.
        assert_eq!(["A-001", "A-002", "A-003", "A-004"].map(|t| ahead(&view, t)), [0, 1, 2, 3]);
    }
}
