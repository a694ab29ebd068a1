//! Indonesian date and time as the screens show it: "Minggu, 22 November 2026 · 14.05 WIB".

use crate::hall::TimeZone;

const DAYS: [&str; 7] = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"];
const MONTHS: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// The clock line for `now` in the hall's time zone (hours and minutes with a dot, as in Indonesia).
pub fn clock_line(now: jiff::Timestamp, timezone: TimeZone) -> String {
    let local = now.to_zoned(jiff::tz::TimeZone::fixed(timezone.offset()));
    let day = DAYS[local.weekday().to_monday_zero_offset() as usize];
    let month = MONTHS[(local.month() - 1) as usize];
    format!(
        "{day}, {} {month} {} · {:02}.{:02} {}",
        local.day(),
        local.year(),
        local.hour(),
        local.minute(),
        timezone.label()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_day_month_and_time() {
        let t: jiff::Timestamp = "2026-11-22T07:05:00Z".parse().unwrap();
        assert_eq!(clock_line(t, TimeZone::Wib), "Minggu, 22 November 2026 · 14.05 WIB");
        assert_eq!(clock_line(t, TimeZone::Wit), "Minggu, 22 November 2026 · 16.05 WIT");
        let t: jiff::Timestamp = "2026-08-17T02:00:00Z".parse().unwrap();
        assert_eq!(clock_line(t, TimeZone::Wita), "Senin, 17 Agustus 2026 · 10.00 WITA");
        let t: jiff::Timestamp = "2026-01-01T16:59:00Z".parse().unwrap();
        assert_eq!(clock_line(t, TimeZone::Wib), "Kamis, 1 Januari 2026 · 23.59 WIB");
    }
}
