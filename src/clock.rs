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

/// The widest line the clock shows in `timezone`, for fitting: fitted once, its size never
/// changes with the date (one font atlas, and no text that outgrows its box in September).
pub fn longest_clock_line(timezone: TimeZone) -> String {
    format!("Minggu, 30 September 2026 · 23.59 {}", timezone.label())
}

/// Every character the clock line can show in `timezone`.
pub fn clock_glyphs(timezone: TimeZone) -> String {
    format!("{}{}0123456789, ·.{}", DAYS.concat(), MONTHS.concat(), timezone.label())
}

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

    #[test]
    fn the_longest_line_is_the_widest_of_the_year_and_its_glyphs_cover_every_day() {
        let fitter = crate::fit::Fitter::regular();
        for timezone in [TimeZone::Wib, TimeZone::Wita, TimeZone::Wit] {
            let longest = fitter.line_width(&longest_clock_line(timezone), 40.0);
            let glyphs = clock_glyphs(timezone);
            let mut day: jiff::Timestamp = "2026-01-01T16:59:00Z".parse().unwrap();
            for _ in 0..366 {
                let line = clock_line(day, timezone);
                assert!(fitter.line_width(&line, 40.0) <= longest, "{line} is wider than the longest line");
                assert!(line.chars().all(|c| glyphs.contains(c)), "{line} has a glyph not in {glyphs}");
                day = day.checked_add(jiff::SignedDuration::from_hours(24)).unwrap();
            }
        }
    }
}
