//! The day's report, pure: what became of each ticket of a service day (folded from the day's
//! events), and the numbers the city asks for per agency and for the hall: tickets, waits, service
//! times against the published standard, estimate accuracy and the satisfaction index (IKM).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hall::Hall;
use crate::queue::{Band, Event, EventFrame, Rating, Ticket};
use crate::stats::{EstimateGrades, quantile};

/// Every ticket of one service day, as far as its events tell.
#[derive(Debug, Clone, Default)]
pub struct DayLog {
    pub day: Option<jiff::civil::Date>,
    pub tickets: BTreeMap<Ticket, TicketLife>,
    /// The ticket each (agency, counter) serves now.
    serving: BTreeMap<(String, u16), Ticket>,
}

/// What happened to one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketLife {
    pub agency: String,
    /// When it was handed out; none for a ticket only called (an agency that does not queue).
    pub issued_at: Option<jiff::Timestamp>,
    /// The band it was shown when handed out.
    pub estimate: Option<Band>,
    /// Its first call: the wait ends here.
    pub first_called_at: Option<jiff::Timestamp>,
    /// The counter that called it last.
    pub counter: Option<u16>,
    pub outcome: Outcome,
    pub survey: Option<Rating>,
    /// The survey's comment and when it came.
    pub comment: Option<(jiff::Timestamp, String)>,
}

/// Where a ticket stands at the end of the events seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Waiting,
    /// Called; its service runs since `since`.
    Serving {
        since: jiff::Timestamp,
    },
    /// Served: done, or closed by the counter's next call.
    Served {
        at: jiff::Timestamp,
        service_secs: u32,
    },
    /// Called and did not come (and was not called again).
    NoShow,
}

/// Why a survey answer is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SurveyRefusal {
    #[error("ticket {0} was not served today")]
    NotServed(Ticket),
    #[error("ticket {0} has already been rated")]
    AlreadyAnswered(Ticket),
}

impl DayLog {
    /// The fold of `frames` (one day's events, oldest first).
    pub fn from_events<'a>(frames: impl IntoIterator<Item = &'a EventFrame>) -> DayLog {
        let mut log = DayLog::default();
        for frame in frames {
            log.apply(frame);
        }
        log
    }

    pub fn apply(&mut self, frame: &EventFrame) {
        let at = frame.at;
        match &frame.event {
            Event::Reset { day } => *self = DayLog { day: Some(*day), ..DayLog::default() },
            Event::Issue(issued) => {
                self.tickets.insert(
                    issued.ticket.clone(),
                    TicketLife {
                        agency: issued.agency.clone(),
                        issued_at: Some(at),
                        estimate: issued.estimate,
                        first_called_at: None,
                        counter: None,
                        outcome: Outcome::Waiting,
                        survey: None,
                        comment: None,
                    },
                );
            }
            Event::Call(call) => {
                let key = (call.agency.clone(), call.counter);
                if self.serving.get(&key) == Some(&call.ticket) {
                    return; // called again at the same counter: the same service goes on
                }
                self.end_service(&key, at, true);
                // Called at another counter while served at this one: that service ends here.
                self.serving.retain(|_, ticket| *ticket != call.ticket);
                let life = self.tickets.entry(call.ticket.clone()).or_insert_with(|| TicketLife {
                    agency: call.agency.clone(),
                    issued_at: None,
                    estimate: None,
                    first_called_at: None,
                    counter: None,
                    outcome: Outcome::Waiting,
                    survey: None,
                    comment: None,
                });
                life.first_called_at.get_or_insert(at);
                life.counter = Some(call.counter);
                life.outcome = Outcome::Serving { since: at };
                self.serving.insert(key, call.ticket.clone());
            }
            Event::Done { counter, agency } | Event::Clear { counter, agency } => {
                self.end_service(&(agency.clone(), *counter), at, true);
            }
            Event::NoShow { counter, agency, .. } => self.end_service(&(agency.clone(), *counter), at, false),
            Event::Survey(answer) => {
                if let Some(life) = self.tickets.get_mut(&answer.ticket) {
                    life.survey = Some(answer.rating);
                    life.comment = answer.comment.clone().map(|c| (at, c));
                }
            }
            Event::Recall(_)
            | Event::Announce { .. }
            | Event::Ticker { .. }
            | Event::HallChanged
            | Event::LayoutChanged => {}
        }
    }

    fn end_service(&mut self, key: &(String, u16), at: jiff::Timestamp, served: bool) {
        let Some(ticket) = self.serving.remove(key) else { return };
        let Some(life) = self.tickets.get_mut(&ticket) else { return };
        if let Outcome::Serving { since } = life.outcome {
            life.outcome = if served {
                let service_secs = at.duration_since(since).as_secs().clamp(0, i64::from(u32::MAX)) as u32;
                Outcome::Served { at, service_secs }
            } else {
                Outcome::NoShow
            };
        }
    }

    /// Where a survey answer for `ticket` goes (its agency and counter), or why it is refused:
    /// only a served ticket is asked, once.
    pub fn survey_target(&self, ticket: &Ticket) -> Result<(&str, u16), SurveyRefusal> {
        let life = self.tickets.get(ticket).ok_or_else(|| SurveyRefusal::NotServed(ticket.clone()))?;
        match (life.outcome, life.counter, life.survey) {
            (_, _, Some(_)) => Err(SurveyRefusal::AlreadyAnswered(ticket.clone())),
            (Outcome::Served { .. }, Some(counter), None) => Ok((&life.agency, counter)),
            _ => Err(SurveyRefusal::NotServed(ticket.clone())),
        }
    }
}

/// `GET /api/report`, `papan report`: one service day per agency and for the hall.
#[derive(Debug, Clone, Serialize)]
pub struct DayReport {
    pub day: Option<jiff::civil::Date>,
    pub hall: String,
    /// The hall's zone, for reading the times.
    pub timezone: crate::hall::TimeZone,
    /// Agencies that handed out, called or served tickets that day, in hall order; then tickets
    /// of agencies no longer in the hall file, under their id.
    pub agencies: Vec<AgencyReport>,
    /// The whole hall: every ticket of the day.
    pub total: AgencyReport,
    /// Tickets handed out and served per hall-local hour, from the first to the last busy hour.
    pub hours: Vec<HourCount>,
    /// What citizens wrote with their answers, oldest first (no ticket: nothing leads back to one).
    pub comments: Vec<Comment>,
    /// The whole day's sums, for the city to add up.
    #[serde(skip)]
    pub totals: DayTotals,
}

/// What a hall sends the city for one day (`papan city`'s report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HallDay {
    pub hall_id: String,
    pub hall_name: String,
    pub day: Option<jiff::civil::Date>,
    pub totals: DayTotals,
    pub hours: Vec<HourCount>,
}

/// Hours from the first to the last busy one, quiet ones in between as zero (so a chart's hours
/// are evenly spaced).
fn evenly(hours: BTreeMap<u8, HourCount>) -> Vec<HourCount> {
    match (hours.keys().next(), hours.keys().last()) {
        (Some(&first), Some(&last)) => (first..=last)
            .map(|h| hours.get(&h).cloned().unwrap_or(HourCount { hour: h, issued: 0, served: 0 }))
            .collect(),
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comment {
    pub at: jiff::Timestamp,
    pub agency: String,
    pub rating: Rating,
    pub text: String,
}

/// One agency's day (or the hall's, with id `""`).
#[derive(Debug, Clone, Serialize)]
pub struct AgencyReport {
    pub id: String,
    /// For charts and narrow tables, e.g. `Disdukcapil`.
    pub short: String,
    pub name: String,
    pub issued: u32,
    pub served: u32,
    pub no_show: u32,
    /// Handed out and never called (at the end of the day: never served).
    pub unserved: u32,
    /// Issue → first call, of the tickets handed out and called.
    pub wait: Spread,
    /// Call → done (or the counter's next call), of the tickets served.
    pub service: Spread,
    /// The Standar Pelayanan's service time, if the hall file has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_minutes: Option<u16>,
    /// Services that took no longer than the standard (agencies with a standard only).
    pub within_standard: Share,
    /// Bands shown at issue against the waits that followed.
    pub estimates: Share,
    pub ikm: Ikm,
    /// The waits in seconds, sorted: for the wait chart, not the JSON.
    #[serde(skip)]
    pub waits_secs: Vec<u32>,
}

/// Median and 90th percentile of some times, in minutes with one decimal; none without any.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Spread {
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_minutes: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p90_minutes: Option<f64>,
}

/// `part` of `of`, and the percentage (one decimal) when `of` is not 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Share {
    pub part: u32,
    pub of: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

/// Indeks Kepuasan Masyarakat from the phone page's one question, computed as PermenPAN-RB
/// 14/2017 converts a survey: mean answer (1–4) × 25, graded A–D.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Ikm {
    pub answers: u32,
    /// Answers per rating, tidak baik → sangat baik.
    pub counts: [u32; 4],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// 25.00–100.00.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<char>,
    /// "Sangat baik", "Baik", "Kurang baik" or "Tidak baik".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourCount {
    /// Hall-local hour, 0–23.
    pub hour: u8,
    pub issued: u32,
    pub served: u32,
}

impl Ikm {
    /// From the number of answers per rating (tidak baik → sangat baik).
    pub fn from_counts(counts: [u32; 4]) -> Ikm {
        let answers: u32 = counts.iter().sum();
        if answers == 0 {
            return Ikm { counts, ..Ikm::default() };
        }
        let sum: u32 = counts.iter().zip(1..).map(|(n, value)| n * value).sum();
        let mean = f64::from(sum) / f64::from(answers);
        // The guideline reports the converted value with two decimals and grades that value.
        let score = (mean * 25.0 * 100.0).round() / 100.0;
        let (category, label) = ikm_grade(score);
        Ikm {
            answers,
            counts,
            mean: Some((mean * 10_000.0).round() / 10_000.0),
            score: Some(score),
            category: Some(category),
            label: Some(label),
        }
    }
}

/// The mutu pelayanan of a converted IKM value (PermenPAN-RB 14/2017, Nilai Interval Konversi):
/// 88.31–100 A, 76.61–88.30 B, 65.00–76.60 C, 25.00–64.99 D.
pub fn ikm_grade(score: f64) -> (char, &'static str) {
    if score >= 88.31 {
        ('A', "Sangat baik")
    } else if score >= 76.61 {
        ('B', "Baik")
    } else if score >= 65.0 {
        ('C', "Kurang baik")
    } else {
        ('D', "Tidak baik")
    }
}

impl Spread {
    fn of(sorted_secs: &[u32]) -> Spread {
        let minutes =
            |q: f64| (!sorted_secs.is_empty()).then(|| (quantile(sorted_secs, q) / 6.0).round() / 10.0);
        Spread { count: sorted_secs.len() as u32, median_minutes: minutes(0.5), p90_minutes: minutes(0.9) }
    }
}

impl Share {
    fn new(part: u32, of: u32) -> Share {
        let percent = (of > 0).then(|| (f64::from(part) * 1000.0 / f64::from(of)).round() / 10.0);
        Share { part, of, percent }
    }
}

/// Sums of one agency's, a hall's or a city's tickets, before they become an [`AgencyReport`]:
/// what a hall sends the city, which adds the halls' up exactly (medians need the waits).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DayTotals {
    pub issued: u32,
    pub served: u32,
    pub no_show: u32,
    pub unserved: u32,
    /// Waits in seconds.
    pub waits: Vec<u32>,
    /// Service times in seconds.
    pub services: Vec<u32>,
    /// (within the standard, services held against one)
    pub standard: (u32, u32),
    pub grades: EstimateGrades,
    /// Survey answers per rating, tidak baik → sangat baik.
    pub ratings: [u32; 4],
}

impl DayTotals {
    /// Adds another agency's or hall's totals to these.
    pub fn merge(&mut self, other: &DayTotals) {
        self.issued += other.issued;
        self.served += other.served;
        self.no_show += other.no_show;
        self.unserved += other.unserved;
        self.waits.extend(&other.waits);
        self.services.extend(&other.services);
        self.standard.0 += other.standard.0;
        self.standard.1 += other.standard.1;
        self.grades.add(&other.grades);
        for (sum, n) in self.ratings.iter_mut().zip(other.ratings) {
            *sum += n;
        }
    }

    fn add(&mut self, life: &TicketLife, standard_minutes: Option<u16>) {
        if life.issued_at.is_some() {
            self.issued += 1;
        }
        match life.outcome {
            Outcome::Waiting => self.unserved += u32::from(life.issued_at.is_some()),
            Outcome::Serving { .. } => {}
            Outcome::NoShow => self.no_show += 1,
            Outcome::Served { service_secs, .. } => {
                self.served += 1;
                self.services.push(service_secs);
                if let Some(standard) = standard_minutes {
                    self.standard.1 += 1;
                    self.standard.0 += u32::from(u64::from(service_secs) <= u64::from(standard) * 60);
                }
            }
        }
        if let (Some(issued), Some(called)) = (life.issued_at, life.first_called_at) {
            let waited = called.duration_since(issued).as_secs().clamp(0, i64::from(u32::MAX)) as u32;
            self.waits.push(waited);
            self.grades.record(life.estimate, u64::from(waited));
        }
        if let Some(rating) = life.survey {
            self.ratings[usize::from(rating.value() - 1)] += 1;
        }
    }

    pub fn report(&self, id: &str, short: &str, name: &str, standard_minutes: Option<u16>) -> AgencyReport {
        let (mut waits, mut services) = (self.waits.clone(), self.services.clone());
        waits.sort_unstable();
        services.sort_unstable();
        AgencyReport {
            id: id.to_string(),
            short: short.to_string(),
            name: name.to_string(),
            issued: self.issued,
            served: self.served,
            no_show: self.no_show,
            unserved: self.unserved,
            wait: Spread::of(&waits),
            service: Spread::of(&services),
            standard_minutes,
            within_standard: Share::new(self.standard.0, self.standard.1),
            estimates: Share::new(self.grades.inside, self.grades.checked),
            ikm: Ikm::from_counts(self.ratings),
            waits_secs: waits,
        }
    }
}

impl DayReport {
    pub fn build(log: &DayLog, hall: &Hall) -> DayReport {
        let mut per_agency: BTreeMap<&str, DayTotals> = BTreeMap::new();
        let mut total = DayTotals::default();
        let zone = jiff::tz::TimeZone::fixed(hall.timezone.offset());
        let hour_of = |at: jiff::Timestamp| at.to_zoned(zone.clone()).hour() as u8;
        let mut hours: BTreeMap<u8, HourCount> = BTreeMap::new();
        for life in log.tickets.values() {
            let standard = hall.agency(&life.agency).and_then(|a| a.standard_minutes);
            per_agency.entry(&life.agency).or_default().add(life, standard);
            total.add(life, standard);
            let empty = |hour| HourCount { hour, issued: 0, served: 0 };
            if let Some(at) = life.issued_at {
                hours.entry(hour_of(at)).or_insert_with_key(|&h| empty(h)).issued += 1;
            }
            if let Outcome::Served { at, .. } = life.outcome {
                hours.entry(hour_of(at)).or_insert_with_key(|&h| empty(h)).served += 1;
            }
        }
        let hours = evenly(hours);
        let mut agencies: Vec<AgencyReport> = hall
            .agencies
            .iter()
            .filter_map(|a| {
                Some(per_agency.remove(a.id.as_str())?.report(&a.id, &a.short, &a.name, a.standard_minutes))
            })
            .collect();
        // Tickets of agencies since taken out of the hall file still count.
        agencies.extend(per_agency.into_iter().map(|(id, totals)| totals.report(id, id, id, None)));
        let mut comments: Vec<Comment> = log
            .tickets
            .values()
            .filter_map(|life| {
                let (at, text) = life.comment.clone()?;
                Some(Comment { at, agency: life.agency.clone(), rating: life.survey?, text })
            })
            .collect();
        comments.sort_by_key(|c| c.at);
        DayReport {
            day: log.day,
            hall: hall.name.clone(),
            timezone: hall.timezone,
            agencies,
            total: total.report("", "Semua", "Semua instansi", None),
            hours,
            comments,
            totals: total,
        }
    }

    /// The city's report of one day: a row per hall (its whole day, under the hall's id) and the
    /// city's total, added up from the halls' totals; hours are each hall's local hours.
    pub fn of_halls(day: Option<jiff::civil::Date>, title: &str, halls: &[HallDay]) -> DayReport {
        let mut total = DayTotals::default();
        let mut hours: BTreeMap<u8, HourCount> = BTreeMap::new();
        let agencies = halls
            .iter()
            .map(|hall| {
                total.merge(&hall.totals);
                for h in &hall.hours {
                    let sum = hours.entry(h.hour).or_insert(HourCount { hour: h.hour, issued: 0, served: 0 });
                    sum.issued += h.issued;
                    sum.served += h.served;
                }
                hall.totals.report(&hall.hall_id, &hall.hall_name, &hall.hall_name, None)
            })
            .collect();
        DayReport {
            day,
            hall: title.to_string(),
            timezone: crate::hall::TimeZone::Wib,
            agencies,
            total: total.report("", "Semua", title, None),
            hours: evenly(hours),
            comments: Vec::new(),
            totals: total,
        }
    }

    /// The report as CSV: a header, one row per agency, and the hall's row last (id `total`).
    pub fn to_csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        for row in self.agencies.iter().chain(std::iter::once(&self.total)) {
            let id = if row.id.is_empty() { "total" } else { row.id.as_str() };
            let fields = [
                csv_field(&self.day.map(|d| d.to_string()).unwrap_or_default()),
                csv_field(id),
                csv_field(&row.name),
                row.issued.to_string(),
                row.served.to_string(),
                row.no_show.to_string(),
                row.unserved.to_string(),
                number(row.wait.median_minutes),
                number(row.wait.p90_minutes),
                number(row.service.median_minutes),
                number(row.service.p90_minutes),
                row.standard_minutes.map(|m| m.to_string()).unwrap_or_default(),
                number(row.within_standard.percent),
                row.estimates.of.to_string(),
                number(row.estimates.percent),
                row.ikm.answers.to_string(),
                number(row.ikm.score),
                row.ikm.category.map(String::from).unwrap_or_default(),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }
}

const CSV_HEADER: &str = "day,agency,name,issued,served,no_show,unserved,wait_median_min,wait_p90_min,\
service_median_min,service_p90_min,standard_min,within_standard_pct,estimates_checked,\
estimates_inside_pct,survey_answers,ikm,ikm_category";

fn number(value: Option<f64>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A simulated MPP day (2,500 tickets, seed 7) and its report, for tests here and of the charts.
#[cfg(test)]
pub(crate) fn simulated_day() -> (crate::day_sim::DayResult, DayReport) {
    let hall = Hall::builtin();
    let args = crate::day_sim::DayArgs {
        tickets: 2500,
        hours: 8.0,
        days: 1,
        seed: 7,
        no_show: 0.06,
        priority: 0.08,
    };
    let day = crate::day_sim::simulate(&hall, &args, 7);
    let report = DayReport::build(&DayLog::from_events(&day.events), &hall);
    (day, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::{Call, Issued, SurveyAnswer};

    /// 07:00 UTC + `hhmm` as hall time in WIB (UTC+7): `at(820)` is 08:20 WIB.
    fn at(hhmm: i64) -> jiff::Timestamp {
        let minutes = (hhmm / 100) * 60 + hhmm % 100;
        "2026-12-03T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
            + jiff::SignedDuration::from_mins(minutes - 7 * 60)
    }

    fn issue(ticket: &str, agency: &str, band: Option<(u16, u16)>) -> Event {
        Event::Issue(Issued {
            ticket: ticket.parse().unwrap(),
            agency: agency.into(),
            service: None,
            priority: None,
            ahead: 0,
            estimate: band.map(|(low, high)| Band { low, high }),
        })
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

    fn rate(ticket: &str, agency: &str, counter: u16, rating: Rating) -> Event {
        let comment = (rating == Rating::KurangBaik).then(|| "Antre terlalu lama".to_string());
        Event::Survey(SurveyAnswer {
            ticket: ticket.parse().unwrap(),
            agency: agency.into(),
            counter,
            rating,
            comment,
        })
    }

    /// A small day at two agencies, every number of which is worked out by hand below.
    fn scripted_day() -> (DayLog, Hall) {
        let mut hall = Hall::builtin();
        hall.agencies.iter_mut().find(|a| a.id == "bni").unwrap().standard_minutes = Some(10);
        let events = vec![
            (730, Event::Reset { day: jiff::civil::date(2026, 12, 3) }),
            (800, issue("B-1", "bni", Some((0, 10)))),
            (805, issue("B-2", "bni", Some((5, 15)))),
            (810, issue("B-3", "bni", None)),
            (820, call("B-1", 5, "bni")),
            (822, call("B-2", 6, "bni")),
            (
                822,
                Event::Recall(Call {
                    ticket: "B-2".parse().unwrap(),
                    counter: 6,
                    agency: "bni".into(),
                    service: None,
                    priority: None,
                }),
            ),
            (828, Event::Done { counter: 5, agency: "bni".into() }),
            (830, call("B-3", 5, "bni")),
            (834, Event::NoShow { counter: 6, agency: "bni".into(), until: at(900) }),
            (850, Event::Done { counter: 5, agency: "bni".into() }),
            (900, issue("B-4", "bni", Some((0, 10)))),
            (905, issue("E-1", "pln", Some((10, 20)))),
            (920, call("E-1", 11, "pln")),
            (926, call("E-2", 11, "pln")),
            (930, Event::Clear { counter: 11, agency: "pln".into() }),
            (931, rate("B-1", "bni", 5, Rating::SangatBaik)),
            (932, rate("B-3", "bni", 5, Rating::SangatBaik)),
            (933, rate("E-1", "pln", 11, Rating::KurangBaik)),
        ];
        let frames: Vec<EventFrame> = events
            .into_iter()
            .enumerate()
            .map(|(i, (hhmm, event))| EventFrame { seq: i as u64 + 1, at: at(hhmm), event })
            .collect();
        (DayLog::from_events(&frames), hall)
    }

    #[test]
    fn a_scripted_day_gives_the_numbers_worked_out_by_hand() {
        let (log, hall) = scripted_day();
        let report = DayReport::build(&log, &hall);
        assert_eq!(report.day, Some(jiff::civil::date(2026, 12, 3)));
        let ids: Vec<&str> = report.agencies.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["bni", "pln"], "hall order");
        let (bni, pln, total) = (&report.agencies[0], &report.agencies[1], &report.total);

        // BNI: B-1 waited 20 min, served 8; B-2 waited 17, did not come; B-3 waited 20, served
        // 20; B-4 was never called.
        assert_eq!((bni.issued, bni.served, bni.no_show, bni.unserved), (4, 2, 1, 1));
        assert_eq!(bni.wait, Spread { count: 3, median_minutes: Some(20.0), p90_minutes: Some(20.0) });
        // Two services, 8 and 20 min: nearest rank round(0.5 × 1) = 1 takes the longer.
        assert_eq!(bni.service, Spread { count: 2, median_minutes: Some(20.0), p90_minutes: Some(20.0) });
        assert_eq!(bni.within_standard, Share { part: 1, of: 2, percent: Some(50.0) }, "8 ≤ 10 < 20");
        // B-1 waited 20 against 0–10, B-2 17 against 5–15: both late; B-3 had no band.
        assert_eq!(bni.estimates, Share { part: 0, of: 2, percent: Some(0.0) });
        assert_eq!(bni.ikm.counts, [0, 0, 0, 2]);
        assert_eq!(
            (bni.ikm.score, bni.ikm.category, bni.ikm.label),
            (Some(100.0), Some('A'), Some("Sangat baik"))
        );

        // PLN: E-1 waited 15 min (inside 10–20), served 6 until E-2's call; E-2 (called without
        // a ticket from papan) served 4 until the counter closed.
        assert_eq!((pln.issued, pln.served, pln.no_show, pln.unserved), (1, 2, 0, 0));
        assert_eq!(pln.wait, Spread { count: 1, median_minutes: Some(15.0), p90_minutes: Some(15.0) });
        assert_eq!(pln.service, Spread { count: 2, median_minutes: Some(6.0), p90_minutes: Some(6.0) });
        assert_eq!(pln.within_standard, Share { part: 0, of: 0, percent: None }, "no standard");
        assert_eq!(pln.estimates, Share { part: 1, of: 1, percent: Some(100.0) });
        assert_eq!((pln.ikm.score, pln.ikm.category), (Some(50.0), Some('D')));

        // The hall: waits 15, 17, 20, 20 → median rank round(1.5) = 2 → 20, p90 rank 3 → 20;
        // services 4, 6, 8, 20 → median 8, p90 20; ratings 4, 4, 2 → mean 3.3333 → 83.33 B.
        assert_eq!((total.issued, total.served, total.no_show, total.unserved), (5, 4, 1, 1));
        assert_eq!(total.wait, Spread { count: 4, median_minutes: Some(20.0), p90_minutes: Some(20.0) });
        assert_eq!(total.service, Spread { count: 4, median_minutes: Some(8.0), p90_minutes: Some(20.0) });
        assert_eq!(total.within_standard, Share { part: 1, of: 2, percent: Some(50.0) });
        assert_eq!(total.estimates, Share { part: 1, of: 3, percent: Some(33.3) });
        assert_eq!(total.ikm.mean, Some(3.3333));
        assert_eq!(
            (total.ikm.score, total.ikm.category, total.ikm.label),
            (Some(83.33), Some('B'), Some("Baik"))
        );

        // Handed out at 08.00, 08.05, 08.10, 09.00, 09.05; served at 08.28, 08.50, 09.26, 09.30.
        let hours: Vec<(u8, u32, u32)> = report.hours.iter().map(|h| (h.hour, h.issued, h.served)).collect();
        assert_eq!(hours, [(8, 3, 2), (9, 2, 2)]);
        let comment = Comment {
            at: at(933),
            agency: "pln".into(),
            rating: Rating::KurangBaik,
            text: "Antre terlalu lama".into(),
        };
        assert_eq!(report.comments, [comment], "only answers with a comment");
    }

    /// The city adds halls up exactly: two halls with the scripted day have twice its tickets and
    /// answers, and the same medians and index.
    #[test]
    fn the_city_adds_up_its_halls_from_their_totals() {
        let (log, hall) = scripted_day();
        let report = DayReport::build(&log, &hall);
        let day = |id: &str| HallDay {
            hall_id: id.into(),
            hall_name: format!("Aula {id}"),
            day: report.day,
            totals: report.totals.clone(),
            hours: report.hours.clone(),
        };
        let halls = [day("mpp"), day("kec")];
        // Through JSON, as over NATS.
        let halls: Vec<HallDay> = serde_json::from_str(&serde_json::to_string(&halls).unwrap()).unwrap();
        let city = DayReport::of_halls(report.day, "Semua aula", &halls);
        let ids: Vec<&str> = city.agencies.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["mpp", "kec"]);
        assert_eq!(city.agencies[0].issued, report.total.issued, "a hall's row is its whole day");
        let total = &city.total;
        assert_eq!((total.issued, total.served, total.no_show, total.unserved), (10, 8, 2, 2));
        assert_eq!(total.wait, Spread { count: 8, median_minutes: Some(20.0), p90_minutes: Some(20.0) });
        assert_eq!(total.within_standard, Share { part: 2, of: 4, percent: Some(50.0) });
        assert_eq!(total.estimates, Share { part: 2, of: 6, percent: Some(33.3) });
        assert_eq!((total.ikm.answers, total.ikm.score), (6, Some(83.33)));
        let hours: Vec<(u8, u32, u32)> = city.hours.iter().map(|h| (h.hour, h.issued, h.served)).collect();
        assert_eq!(hours, [(8, 6, 4), (9, 4, 4)]);
    }

    #[test]
    fn only_a_served_ticket_may_be_rated_and_only_once() {
        let (log, _) = scripted_day();
        let ticket = |t: &str| t.parse::<Ticket>().unwrap();
        assert_eq!(log.survey_target(&ticket("E-2")), Ok(("pln", 11)));
        assert_eq!(log.survey_target(&ticket("B-1")), Err(SurveyRefusal::AlreadyAnswered(ticket("B-1"))));
        for not_served in ["B-2", "B-4", "A-999"] {
            assert_eq!(
                log.survey_target(&ticket(not_served)),
                Err(SurveyRefusal::NotServed(ticket(not_served)))
            );
        }
    }

    /// Two folds of one simulated day (2,500 tickets) must agree: the board's own counts and
    /// grades, which the screens and `papan bench day` use, and this report's ticket by ticket.
    #[test]
    fn a_simulated_day_s_report_agrees_with_the_board_s_own_counts() {
        let (day, report) = simulated_day();
        let total = &report.total;
        assert_eq!(total.issued, day.issued);
        assert_eq!(total.no_show, day.no_shows);
        assert_eq!((total.served, total.unserved), (day.issued - day.no_shows, 0), "every ticket is called");
        assert_eq!(total.wait.count, day.called);
        assert_eq!((total.estimates.part, total.estimates.of), (day.grades.inside, day.grades.checked));
        let per_agency: u32 = report.agencies.iter().map(|a| a.issued).sum();
        assert_eq!(per_agency, total.issued);
        let per_hour: u32 = report.hours.iter().map(|h| h.issued).sum();
        assert_eq!(per_hour, total.issued);
        // Tickets are handed out from 08.00 for 8 hours (WIB); the last are served after 16.00.
        assert_eq!(report.hours.first().map(|h| h.hour), Some(8));
        assert!(report.hours.last().is_some_and(|h| h.hour >= 15), "{:?}", report.hours.last());
    }

    #[test]
    fn ikm_grades_follow_the_guideline_s_conversion_intervals() {
        assert_eq!(ikm_grade(88.31), ('A', "Sangat baik"));
        assert_eq!(ikm_grade(88.30), ('B', "Baik"));
        assert_eq!(ikm_grade(76.61), ('B', "Baik"));
        assert_eq!(ikm_grade(76.60), ('C', "Kurang baik"));
        assert_eq!(ikm_grade(65.00), ('C', "Kurang baik"));
        assert_eq!(ikm_grade(64.99), ('D', "Tidak baik"));
        assert_eq!(Ikm::from_counts([0; 4]).score, None, "no answers, no index");
    }

    #[test]
    fn the_csv_has_a_line_per_agency_and_the_hall_last() {
        let (log, hall) = scripted_day();
        let csv = DayReport::build(&log, &hall).to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].starts_with("day,agency,name,issued,served"));
        assert_eq!(
            lines[1],
            "2026-12-03,bni,Bank Negara Indonesia (BNI),4,2,1,1,20,20,20,20,10,50,2,0,2,100,A"
        );
        assert_eq!(lines[3], "2026-12-03,total,Semua instansi,5,4,1,1,20,20,8,20,,50,3,33.3,3,83.33,B");
        assert_eq!(csv_field("a, \"b\""), "\"a, \"\"b\"\"\"");
    }
}
