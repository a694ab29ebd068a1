//! Waiting arithmetic, pure: rolling service times, the wait band a new ticket is shown, and how
//! the bands given so far held up against the waits that followed. See docs/waiting.md.

use serde::{Deserialize, Serialize};

use crate::queue::Band;

/// Service times an agency's estimate looks at: its latest ones today.
pub const RECENT_SERVICES: usize = 20;
/// Services an agency must have finished today before it shows any estimate ("—" until then).
pub const MIN_SERVICES: usize = 5;
/// The longest wait a band may promise; beyond it the screens say nothing rather than guess.
pub const MAX_BAND_MINUTES: u16 = 240;
/// Absolute errors are counted per whole minute up to this; longer ones share the last bucket.
const ERROR_BUCKETS: usize = 121;

/// The median of `values` (the lower middle one of an even count), none when empty.
pub fn median(values: impl IntoIterator<Item = u32>) -> Option<u32> {
    let mut sorted: Vec<u32> = values.into_iter().collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_unstable();
    Some(sorted[(sorted.len() - 1) / 2])
}

/// The value below which `q` (0–1) of `sorted` lies, by nearest rank.
pub fn quantile(sorted: &[u32], q: f64) -> f64 {
    let rank = (q * (sorted.len() - 1) as f64).round() as usize;
    f64::from(sorted[rank.min(sorted.len() - 1)])
}

/// The wait band for a ticket with `ahead` tickets before it at an agency with `counters_open`
/// counters, from the agency's recent service times in seconds. None while fewer than
/// [`MIN_SERVICES`] services are known, when no counter is open, or when the band would reach
/// past [`MAX_BAND_MINUTES`].
///
/// The ticket is called once `ahead + 1` counters have come free. Counters free up about every
/// `mean ÷ counters` seconds, so the centre is `(ahead + 1) × mean ÷ counters`. The band around
/// it reaches [`SPREAD_WIDTH`] interquartile ranges of one service times the square root of the
/// turns to wait through (as a sum of independent times spreads), divided by the counters, plus
/// one median service per counter; both ends are rounded outward to 5 minutes.
pub fn estimate(
    ahead: u32,
    counters_open: u32,
    recent_service_secs: impl IntoIterator<Item = u32>,
) -> Option<Band> {
    let mut sorted: Vec<u32> = recent_service_secs.into_iter().collect();
    if counters_open == 0 || sorted.len() < MIN_SERVICES {
        return None;
    }
    sorted.sort_unstable();
    let median = quantile(&sorted, 0.5);
    let spread = (quantile(&sorted, 0.75) - quantile(&sorted, 0.25)).max(median * 0.25);
    // A wait is a sum of services, and a sum grows with the mean, not the median (service times
    // are skewed: on the median alone a third of the waits in `bench day` came after their band).
    let mean = sorted.iter().map(|&s| f64::from(s)).sum::<f64>() / sorted.len() as f64;
    let counters = f64::from(counters_open);
    let turns = f64::from(ahead) + 1.0;
    let centre = turns * mean / counters;
    let margin = SPREAD_WIDTH * spread * turns.sqrt() / counters + median / counters;
    let low_minutes = ((centre - margin) / 60.0).max(0.0);
    let high_minutes = (centre + margin) / 60.0;
    let low = (low_minutes / 5.0).floor() as u16 * 5;
    let high = ((high_minutes / 5.0).ceil() as u16 * 5).max(low + 5);
    (high <= MAX_BAND_MINUTES).then_some(Band { low, high })
}

/// How many interquartile ranges of one service the band reaches on each side (tuned with
/// `papan bench day` on seeds 101–103; see docs/waiting.md).
const SPREAD_WIDTH: f64 = 1.8;

/// The day's estimates held against the waits that followed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateGrades {
    /// Tickets that were given a band and have since been called.
    pub checked: u32,
    /// … whose wait fell inside their band.
    pub inside: u32,
    /// … that were called before the band's start.
    pub early: u32,
    /// … that were called after the band's end.
    pub late: u32,
    /// Tickets called that had been shown no band ("—").
    #[serde(default)]
    pub without: u32,
    /// Absolute error of the band's middle against the wait, counted per whole minute.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_minutes: Vec<u32>,
}

impl EstimateGrades {
    pub fn is_empty(&self) -> bool {
        *self == EstimateGrades::default()
    }

    /// Adds another day's (or agency's) grades to these.
    pub fn add(&mut self, other: &EstimateGrades) {
        self.checked += other.checked;
        self.inside += other.inside;
        self.early += other.early;
        self.late += other.late;
        self.without += other.without;
        self.error_minutes.resize(self.error_minutes.len().max(other.error_minutes.len()), 0);
        for (sum, n) in self.error_minutes.iter_mut().zip(&other.error_minutes) {
            *sum += n;
        }
    }

    /// Records the wait of a ticket that had been shown `band` (or none).
    pub fn record(&mut self, band: Option<Band>, waited_secs: u64) {
        let Some(band) = band else {
            self.without += 1;
            return;
        };
        self.checked += 1;
        if band.holds(waited_secs) {
            self.inside += 1;
        } else if waited_secs < u64::from(band.low) * 60 {
            self.early += 1;
        } else {
            self.late += 1;
        }
        let middle_secs = (u64::from(band.low) + u64::from(band.high)) * 30;
        let error_minutes = (waited_secs.abs_diff(middle_secs) / 60) as usize;
        if self.error_minutes.len() < ERROR_BUCKETS {
            self.error_minutes.resize(ERROR_BUCKETS, 0);
        }
        self.error_minutes[error_minutes.min(ERROR_BUCKETS - 1)] += 1;
    }

    /// The share of checked bands the wait fell inside (0–1), none before any was checked.
    pub fn inside_share(&self) -> Option<f64> {
        (self.checked > 0).then(|| f64::from(self.inside) / f64::from(self.checked))
    }

    /// The median absolute error in whole minutes (band middle against wait).
    pub fn median_error_minutes(&self) -> Option<u32> {
        let half = self.checked.div_ceil(2);
        let mut seen = 0;
        for (minutes, count) in self.error_minutes.iter().enumerate() {
            seen += count;
            if seen >= half && seen > 0 {
                return Some(minutes as u32);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn median_takes_the_lower_middle() {
        assert_eq!(median([]), None);
        assert_eq!(median([5]), Some(5));
        assert_eq!(median([9, 1, 5]), Some(5));
        assert_eq!(median([9, 1, 5, 7]), Some(5));
    }

    #[test]
    fn no_band_until_the_day_knows_enough() {
        let four = [600; MIN_SERVICES - 1];
        assert_eq!(estimate(3, 2, four), None, "too few services");
        let enough = [600; MIN_SERVICES];
        assert_eq!(estimate(3, 0, enough), None, "no counter open");
        assert!(estimate(3, 2, enough).is_some());
        assert_eq!(estimate(500, 1, enough), None, "beyond four hours nobody is promised anything");
    }

    #[test]
    fn bands_are_rounded_to_five_minutes_and_hold_their_centre() {
        // Ten-minute services, two counters, three ahead: the fourth turn is about 20 minutes away.
        let services = [540, 560, 600, 600, 620, 640, 660];
        let band = estimate(3, 2, services).unwrap();
        assert_eq!((band.low % 5, band.high % 5), (0, 0));
        assert!(band.low < 20 && 20 < band.high, "{band}");
        assert_eq!(estimate(0, 1, services).unwrap().low, 0, "next in line: from now on");
    }

    proptest! {
        /// More people ahead never gives an earlier band; more counters never a later one.
        #[test]
        fn bands_grow_with_the_queue_and_shrink_with_counters(
            services in prop::collection::vec(30u32..3600, MIN_SERVICES..RECENT_SERVICES),
            ahead in 0u32..60,
            counters in 1u32..6,
        ) {
            let band = estimate(ahead, counters, services.iter().copied());
            let longer = estimate(ahead + 1, counters, services.iter().copied());
            if let (Some(band), Some(longer)) = (band, longer) {
                prop_assert!(longer.low >= band.low && longer.high >= band.high, "{band} then {longer}");
            }
            let more_counters = estimate(ahead, counters + 1, services.iter().copied());
            if let (Some(band), Some(more)) = (band, more_counters) {
                prop_assert!(more.high <= band.high, "{band} then {more}");
            }
            if let Some(band) = band {
                prop_assert!(band.low < band.high && band.high <= MAX_BAND_MINUTES);
            }
        }
    }

    #[test]
    fn grades_count_inside_early_late_and_the_median_error() {
        let band = Band { low: 10, high: 20 };
        let mut grades = EstimateGrades::default();
        grades.record(Some(band), 15 * 60);
        grades.record(Some(band), 12 * 60);
        grades.record(Some(band), 3 * 60);
        grades.record(Some(band), 40 * 60);
        grades.record(None, 60);
        assert_eq!(
            (grades.checked, grades.inside, grades.early, grades.late, grades.without),
            (4, 2, 1, 1, 1)
        );
        assert_eq!(grades.inside_share(), Some(0.5));
        // Errors against the middle (15): 0, 3, 12, 25 minutes.
        assert_eq!(grades.median_error_minutes(), Some(3));
        assert_eq!(EstimateGrades::default().median_error_minutes(), None);
    }
}
