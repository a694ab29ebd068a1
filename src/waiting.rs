//! What the hall's queues look like now, per agency, for the API, metrics, console and screens:
//! a pure view of the board and the hall.

use serde::Serialize;

use crate::board::{Board, DayCounts, DaySummary};
use crate::hall::Hall;
use crate::queue::{Band, Priority, Ticket};
use crate::stats::EstimateGrades;

/// `GET /api/waiting`.
#[derive(Debug, Clone, Serialize)]
pub struct WaitingReport {
    pub day: Option<jiff::civil::Date>,
    /// Agencies that had tickets handed out today, in hall order.
    pub agencies: Vec<AgencyWaiting>,
    /// How the day's bands held up against the waits that followed.
    pub estimates: GradeReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_day: Option<DayReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgencyWaiting {
    pub agency: String,
    pub short: String,
    pub waiting: u32,
    pub priority_waiting: u32,
    pub counters_open: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_service_secs: Option<u32>,
    /// The band a ticket handed out now would be shown; none ("—") until the day knows enough.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Band>,
    /// The band as citizens read it ("15–25 menit", or "—").
    pub estimate_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_minutes: Option<u16>,
    /// Tickets called that did not come and can still be called again, oldest first.
    pub missed: Vec<MissedTicket>,
    pub counts: DayCounts,
}

#[derive(Debug, Clone, Serialize)]
pub struct MissedTicket {
    pub ticket: Ticket,
    pub counter: u16,
    pub until: jiff::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GradeReport {
    #[serde(flatten)]
    pub grades: EstimateGrades,
    /// Share of checked bands the wait fell inside (0–1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inside_share: Option<f64>,
    /// Median absolute error of the band's middle against the wait, whole minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_error_minutes: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DayReport {
    pub day: Option<jiff::civil::Date>,
    pub counts: DayCounts,
    pub unserved: u32,
    pub estimates: GradeReport,
}

impl From<&EstimateGrades> for GradeReport {
    fn from(grades: &EstimateGrades) -> Self {
        let mut grades = grades.clone();
        let inside_share = grades.inside_share();
        let median_error_minutes = grades.median_error_minutes();
        grades.error_minutes.clear();
        GradeReport { grades, inside_share, median_error_minutes }
    }
}

impl From<&DaySummary> for DayReport {
    fn from(day: &DaySummary) -> Self {
        DayReport {
            day: day.day,
            counts: day.counts.clone(),
            unserved: day.unserved,
            estimates: GradeReport::from(&day.grades),
        }
    }
}

/// The queues of every agency that handed out tickets today, as of `now`.
pub fn report(board: &Board, hall: &Hall, now: jiff::Timestamp) -> WaitingReport {
    let agencies = hall
        .agencies
        .iter()
        .filter_map(|agency| {
            let queue = board.queue(&agency.id)?;
            let (waiting, priority_waiting) = queue.waiting_counts();
            let estimate = board.outlook(agency, None).1;
            Some(AgencyWaiting {
                agency: agency.id.clone(),
                short: agency.short.clone(),
                waiting,
                priority_waiting,
                counters_open: board.counters_open(&agency.id),
                median_service_secs: queue.median_service_secs(),
                estimate,
                estimate_text: estimate_text(estimate),
                standard_minutes: agency.standard_minutes,
                missed: queue
                    .missed_at(now)
                    .map(|m| MissedTicket {
                        ticket: m.ticket.clone(),
                        counter: m.counter,
                        until: m.until,
                        priority: m.priority,
                    })
                    .collect(),
                counts: queue.counts.clone(),
            })
        })
        .collect();
    WaitingReport {
        day: board.day,
        agencies,
        estimates: GradeReport::from(&board.grades),
        previous_day: board.previous_day.as_ref().map(DayReport::from),
    }
}

/// A band as citizens read it, "—" when there is none.
pub fn estimate_text(band: Option<Band>) -> String {
    band.map_or_else(|| "—".to_string(), |b| b.to_string())
}
