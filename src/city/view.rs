//! The city's picture of its halls, folded from the hubs' reports: which halls and hubs are
//! heard from, each hall's seq and latest calls, and its screens across all of its hubs. It is
//! kept in `DATA/halls.json`, so a restarted city view still lists (and sends to) a hall that is
//! cut off at the time.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::board::CallRecord;
use crate::hall::Phrase;
use crate::hub::city_link::{HallReport, STALE_AFTER, report_subject};
use crate::hub::jetstream::check_hall_id;
use crate::protocol::Seq;

/// Hubs of one hall the view keeps; a new one beyond this replaces the longest silent, if any
/// is silent, and is ignored otherwise.
pub const MAX_HUBS_PER_HALL: usize = 8;
/// The largest report taken: a hall of 300 screens reports about 100 KB.
pub const MAX_REPORT_BYTES: usize = 256 * 1024;
/// Hub names are host:port.
const MAX_HUB_NAME: usize = 128;

/// Why a report heard on NATS was not taken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadReport {
    #[error("{0} bytes, more than {MAX_REPORT_BYTES}")]
    TooLarge(usize),
    #[error("not a hall report: {0}")]
    NotAReport(String),
    #[error("{0}")]
    BadHallId(String),
    #[error("a report of hall {hall:?} on subject {subject:?}: a hall reports only on its own subject")]
    WrongSubject { hall: String, subject: String },
    #[error("hub name must be 1 to {MAX_HUB_NAME} characters")]
    BadHub,
    #[error("hall {0:?} already has {MAX_HUBS_PER_HALL} hubs reporting")]
    TooManyHubs(String),
}

/// Every report heard, latest per hall and hub.
#[derive(Default)]
pub struct CityView {
    halls: BTreeMap<String, BTreeMap<String, Heard>>,
    /// Heard something since the last save.
    changed: bool,
}

#[derive(Serialize, Deserialize)]
struct Heard {
    report: HallReport,
    /// By the city's clock: hubs' clocks may disagree with it.
    at: jiff::Timestamp,
}

/// One hall as the city page and `GET /api/halls` show it.
#[derive(Debug, Clone, Serialize)]
pub struct HallSummary {
    pub hall_id: String,
    pub name: String,
    /// Some hub of the hall reported within the last [`STALE_AFTER`].
    pub online: bool,
    pub last_heard: jiff::Timestamp,
    /// The highest seq any of its hubs reported.
    pub seq: Seq,
    pub ticker: Option<String>,
    pub recent: Vec<CallRecord>,
    pub hubs: Vec<HubSummary>,
    pub screens: Vec<ScreenSummary>,
    pub screens_online: usize,
    /// The furthest behind any online screen is, in events.
    pub max_lag: Option<Seq>,
    pub phrases: Vec<Phrase>,
    /// "WIB", "WITA" or "WIT", as its hubs report (WIB for hubs that do not say).
    pub timezone: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct HubSummary {
    pub hub: String,
    pub version: String,
    pub online: bool,
    pub last_heard: jiff::Timestamp,
    pub seq: Seq,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScreenSummary {
    pub screen: String,
    /// Connected to a hub that is itself heard from.
    pub online: bool,
    /// The hub it is (or was last) connected to.
    pub hub: String,
    pub last_seen: jiff::Timestamp,
    /// Events behind the hall's seq by its last status.
    pub lag: Option<Seq>,
    pub layout: String,
    pub version: String,
    pub problem: Option<String>,
}

impl CityView {
    /// Takes a report heard on `subject` if it is one a hub of that hall may send: its own
    /// subject, a valid hall id, a bounded size, and room among the hall's hubs.
    pub fn hear(&mut self, subject: &str, payload: &[u8], at: jiff::Timestamp) -> Result<(), BadReport> {
        if payload.len() > MAX_REPORT_BYTES {
            return Err(BadReport::TooLarge(payload.len()));
        }
        let report: HallReport =
            serde_json::from_slice(payload).map_err(|e| BadReport::NotAReport(e.to_string()))?;
        check_hall_id(&report.hall_id).map_err(BadReport::BadHallId)?;
        if subject != report_subject(&report.hall_id) {
            let hall = crate::protocol::truncate(&report.hall_id, 64);
            return Err(BadReport::WrongSubject { hall, subject: crate::protocol::truncate(subject, 100) });
        }
        if report.hub.is_empty() || report.hub.chars().count() > MAX_HUB_NAME {
            return Err(BadReport::BadHub);
        }
        if let Some(hubs) = self.halls.get_mut(&report.hall_id)
            && !hubs.contains_key(&report.hub)
            && hubs.len() >= MAX_HUBS_PER_HALL
        {
            let stalest =
                hubs.iter().min_by_key(|(_, heard)| heard.at).map(|(hub, heard)| (hub.clone(), heard.at));
            match stalest {
                Some((hub, heard_at)) if !is_fresh_at(heard_at, at) => {
                    hubs.remove(&hub);
                }
                _ => return Err(BadReport::TooManyHubs(report.hall_id.clone())),
            }
        }
        self.record(report, at);
        Ok(())
    }

    fn record(&mut self, report: HallReport, at: jiff::Timestamp) {
        let hubs = self.halls.entry(report.hall_id.clone()).or_default();
        hubs.insert(report.hub.clone(), Heard { report, at });
        self.changed = true;
    }

    /// The view saved in `path` (every hall offline until its hubs report again), or an empty one.
    pub fn restore(path: &Path) -> CityView {
        let mut view = CityView::default();
        for heard in crate::hub::saved_list::read::<Heard>(path, "hall list") {
            // A list saved before hall ids were checked may hold one that would break every
            // city-wide request: it is left out.
            match check_hall_id(&heard.report.hall_id) {
                Ok(()) => view.record(heard.report, heard.at),
                Err(e) => tracing::warn!("leaving a saved hall out: {e}"),
            }
        }
        view.changed = false;
        view
    }

    /// Writes the view to `path` if it changed (whole and durably).
    pub fn save_if_changed(&mut self, path: &Path) -> std::io::Result<()> {
        if !self.changed {
            return Ok(());
        }
        let heard: Vec<&Heard> = self.halls.values().flat_map(BTreeMap::values).collect();
        crate::hub::saved_list::write(path, &heard)?;
        self.changed = false;
        Ok(())
    }

    /// Every hall ever heard, by id.
    pub fn hall_ids(&self) -> Vec<String> {
        self.halls.keys().cloned().collect()
    }

    pub fn summaries(&self, now: jiff::Timestamp) -> Vec<HallSummary> {
        self.halls.iter().map(|(id, hubs)| summarize(id, hubs, now)).collect()
    }

    /// Drops a hall that closed for good from the list (and from "all halls"). A hall still
    /// reporting is kept: it would be listed again at its next report.
    pub fn forget(&mut self, hall_id: &str, now: jiff::Timestamp) -> Result<(), Unforgettable> {
        let hubs = self.halls.get(hall_id).ok_or(Unforgettable::Unknown)?;
        if hubs.values().any(|heard| is_fresh(heard, now)) {
            return Err(Unforgettable::Online);
        }
        self.halls.remove(hall_id);
        self.changed = true;
        Ok(())
    }
}

/// Why a hall cannot be forgotten.
#[derive(Debug, PartialEq, Eq)]
pub enum Unforgettable {
    /// No report of it was ever heard.
    Unknown,
    /// One of its hubs reported within [`STALE_AFTER`].
    Online,
}

fn is_fresh(heard: &Heard, now: jiff::Timestamp) -> bool {
    is_fresh_at(heard.at, now)
}

fn is_fresh_at(heard_at: jiff::Timestamp, now: jiff::Timestamp) -> bool {
    let stale = jiff::SignedDuration::try_from(STALE_AFTER).unwrap_or(jiff::SignedDuration::MAX);
    now.duration_since(heard_at) <= stale
}

fn summarize(id: &str, hubs: &BTreeMap<String, Heard>, now: jiff::Timestamp) -> HallSummary {
    // The live hub furthest along speaks for the hall's board (latest heard breaks a tie); a
    // silent hub's old claim does not outrank the hubs serving now. With none live, the last.
    let lead =
        hubs.values().max_by_key(|h| (is_fresh(h, now), h.report.seq, h.at)).expect("a hall has a hub");
    let seq = lead.report.seq;
    let mut screens: BTreeMap<&str, ScreenSummary> = BTreeMap::new();
    for heard in hubs.values() {
        let fresh = is_fresh(heard, now);
        for screen in &heard.report.screens {
            let summary = ScreenSummary {
                screen: screen.screen.clone(),
                online: fresh && screen.online,
                hub: heard.report.hub.clone(),
                last_seen: if fresh && screen.online { heard.at } else { screen.last_seen.min(heard.at) },
                lag: screen.last_seq.map(|last| seq.saturating_sub(last)),
                layout: screen.layout.clone(),
                version: screen.version.clone(),
                problem: screen.problem.clone(),
            };
            // A screen that moved hubs is listed once: where it is online, else where last seen.
            let better = match screens.get(screen.screen.as_str()) {
                None => true,
                Some(known) => (summary.online, summary.last_seen) > (known.online, known.last_seen),
            };
            if better {
                screens.insert(&screen.screen, summary);
            }
        }
    }
    let screens: Vec<ScreenSummary> = screens.into_values().collect();
    let online_screens = screens.iter().filter(|s| s.online);
    HallSummary {
        hall_id: id.to_string(),
        name: lead.report.hall_name.clone(),
        online: hubs.values().any(|h| is_fresh(h, now)),
        last_heard: hubs.values().map(|h| h.at).max().expect("a hall has a hub"),
        seq,
        ticker: lead.report.ticker.clone(),
        recent: lead.report.recent.clone(),
        hubs: hubs
            .values()
            .map(|h| HubSummary {
                hub: h.report.hub.clone(),
                version: h.report.version.clone(),
                online: is_fresh(h, now),
                last_heard: h.at,
                seq: h.report.seq,
            })
            .collect(),
        screens_online: online_screens.clone().count(),
        max_lag: online_screens.filter_map(|s| s.lag).max(),
        screens,
        phrases: lead.report.phrases.clone(),
        timezone: lead.report.timezone.unwrap_or(crate::hall::TimeZone::Wib).label(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::city_link::ScreenReport;

    fn report(hub: &str, seq: Seq, screens: &[(&str, bool, Seq)]) -> HallReport {
        HallReport {
            hall_id: "mpp-palembang".into(),
            hall_name: "MPP Palembang".into(),
            hub: hub.into(),
            version: "0.1.0".into(),
            seq,
            ticker: None,
            recent: Vec::new(),
            screens: screens
                .iter()
                .map(|(screen, online, last_seq)| ScreenReport {
                    screen: screen.to_string(),
                    online: *online,
                    last_seen: jiff::Timestamp::UNIX_EPOCH,
                    last_seq: Some(*last_seq),
                    layout: "landscape".into(),
                    version: "0.1.0".into(),
                    problem: None,
                })
                .collect(),
            phrases: Vec::new(),
            timezone: None,
        }
    }

    #[test]
    fn a_hall_is_online_while_one_of_its_hubs_is_heard_and_lists_each_screen_once() {
        let t0: jiff::Timestamp = "2026-11-23T03:00:00Z".parse().unwrap();
        let mut view = CityView::default();
        // Screen lobby-1 moved from hub a to hub b; hub b is further along.
        view.record(report("a:7878", 10, &[("lobby-1", false, 9), ("lobby-2", true, 10)]), t0);
        view.record(report("b:7878", 12, &[("lobby-1", true, 11)]), t0);
        let hall = &view.summaries(t0 + jiff::SignedDuration::from_secs(1))[0];
        assert_eq!((hall.online, hall.seq, hall.hubs.len()), (true, 12, 2));
        let screens: Vec<(&str, bool, &str, Option<Seq>)> =
            hall.screens.iter().map(|s| (s.screen.as_str(), s.online, s.hub.as_str(), s.lag)).collect();
        assert_eq!(screens, [("lobby-1", true, "b:7878", Some(1)), ("lobby-2", true, "a:7878", Some(2))]);
        assert_eq!((hall.screens_online, hall.max_lag), (2, Some(2)));

        // Hub a falls silent: its screens count as offline, the hall stays online through b.
        let later = t0 + jiff::SignedDuration::from_secs(10);
        view.record(report("b:7878", 13, &[("lobby-1", true, 13)]), later);
        let hall = &view.summaries(later)[0];
        assert!(hall.online);
        assert_eq!(hall.hubs.iter().map(|h| h.online).collect::<Vec<_>>(), [false, true]);
        assert_eq!((hall.screens_online, hall.max_lag), (1, Some(0)));

        // Both silent: the hall is offline and keeps its last known seq.
        let hall = &view.summaries(later + jiff::SignedDuration::from_secs(8))[0];
        assert_eq!((hall.online, hall.seq, hall.screens_online), (false, 13, 0));
        assert_eq!(hall.last_heard, later);
    }

    #[test]
    fn only_a_hall_s_own_reports_are_heard_and_a_silent_hub_does_not_lead() {
        let t0: jiff::Timestamp = "2026-11-23T03:00:00Z".parse().unwrap();
        let mut view = CityView::default();
        let bytes = |report: &HallReport| serde_json::to_vec(report).unwrap();
        let subject = "papan.mpp-palembang.report";
        let mut rogue = report("rogue:1", Seq::MAX, &[]);
        rogue.hall_name = "Dibajak".into();
        // Another hall's subject (what any NATS publisher could do): refused.
        let wrong = view.hear("papan.rogue.report", &bytes(&rogue), t0).unwrap_err();
        assert!(matches!(wrong, BadReport::WrongSubject { .. }), "{wrong}");
        let mut evil = report("a:1", 1, &[]);
        evil.hall_id = "Evil Hall ../../x".into();
        let bad_id = view.hear("papan.Evil Hall ../../x.report", &bytes(&evil), t0).unwrap_err();
        assert!(matches!(bad_id, BadReport::BadHallId(_)), "{bad_id}");
        let mut huge = report("a:1", 1, &[]);
        huge.ticker = Some("x".repeat(MAX_REPORT_BYTES));
        assert!(matches!(view.hear(subject, &bytes(&huge), t0), Err(BadReport::TooLarge(_))));
        assert!(view.hall_ids().is_empty());

        // Hubs of the hall: at most MAX_HUBS_PER_HALL; a new one takes a silent one's place.
        for n in 0..MAX_HUBS_PER_HALL {
            view.hear(subject, &bytes(&report(&format!("h{n}:1"), 5, &[])), t0).unwrap();
        }
        let extra = report("extra:1", 5, &[]);
        assert!(matches!(view.hear(subject, &bytes(&extra), t0), Err(BadReport::TooManyHubs(_))));
        let later = t0 + jiff::SignedDuration::from_secs(30);
        view.hear(subject, &bytes(&report("h0:1", 6, &[])), later).unwrap();
        view.hear(subject, &bytes(&extra), later).expect("a silent hub's place is taken");
        assert_eq!(view.summaries(later)[0].hubs.len(), MAX_HUBS_PER_HALL);

        // A hub that claimed a huge seq and fell silent does not speak for the hall.
        rogue.hall_id = "mpp-palembang".into();
        rogue.hub = "extra:1".into();
        view.hear(subject, &bytes(&rogue), later).unwrap();
        let much_later = later + jiff::SignedDuration::from_secs(20);
        let mut live = report("h0:1", 7, &[]);
        live.timezone = Some(crate::hall::TimeZone::Wita);
        view.hear(subject, &bytes(&live), much_later).unwrap();
        let hall = &view.summaries(much_later)[0];
        assert_eq!((hall.name.as_str(), hall.seq, hall.timezone), ("MPP Palembang", 7, "WITA"));
    }

    #[test]
    fn only_a_silent_hall_is_forgotten_and_the_saved_list_forgets_it_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("halls.json");
        let t0: jiff::Timestamp = "2026-11-23T03:00:00Z".parse().unwrap();
        let mut view = CityView::default();
        view.record(report("a:7878", 10, &[]), t0);
        let mut closed = report("k:7878", 4, &[]);
        closed.hall_id = "kec-tutup".into();
        view.record(closed, t0);
        view.save_if_changed(&path).unwrap();
        let soon = t0 + jiff::SignedDuration::from_secs(1);
        assert_eq!(view.forget("kec-tutup", soon), Err(Unforgettable::Online));
        assert_eq!(view.forget("kec-lain", soon), Err(Unforgettable::Unknown));

        let later = t0 + jiff::SignedDuration::from_secs(60);
        view.record(report("a:7878", 11, &[]), later);
        assert_eq!(view.forget("kec-tutup", later), Ok(()));
        assert_eq!(view.hall_ids(), ["mpp-palembang"]);
        view.save_if_changed(&path).unwrap();
        assert_eq!(CityView::restore(&path).hall_ids(), ["mpp-palembang"], "gone after a restart too");
    }

    #[test]
    fn a_restarted_view_still_knows_every_hall_it_heard_and_shows_them_offline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("halls.json");
        let t0: jiff::Timestamp = "2026-11-23T03:00:00Z".parse().unwrap();
        let mut view = CityView::default();
        view.record(report("a:7878", 10, &[("lobby-1", true, 10)]), t0);
        let mut kecamatan = report("k:7878", 4, &[]);
        kecamatan.hall_id = "kec-ilir-barat".into();
        view.record(kecamatan, t0);
        view.save_if_changed(&path).unwrap();
        let saved = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        view.save_if_changed(&path).unwrap();
        assert!(!path.exists(), "nothing new heard, nothing written");
        std::fs::write(&path, saved).unwrap();

        let restored = CityView::restore(&path);
        assert_eq!(restored.hall_ids(), ["kec-ilir-barat", "mpp-palembang"]);
        let now = t0 + jiff::SignedDuration::from_secs(60);
        let before: Vec<(String, bool, Seq, jiff::Timestamp)> =
            view.summaries(now).into_iter().map(|h| (h.hall_id, h.online, h.seq, h.last_heard)).collect();
        let after: Vec<(String, bool, Seq, jiff::Timestamp)> =
            restored.summaries(now).into_iter().map(|h| (h.hall_id, h.online, h.seq, h.last_heard)).collect();
        assert_eq!(after, before);
        assert!(after.iter().all(|(_, online, _, _)| !online));

        std::fs::write(&path, b"{ not json").unwrap();
        assert!(CityView::restore(&path).hall_ids().is_empty(), "a damaged file starts empty");
        assert!(CityView::restore(&dir.path().join("none.json")).hall_ids().is_empty());
    }
}
