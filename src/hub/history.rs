//! The day history: every event of past and present service days, kept for the day's report
//! after the journal has compacted them away (the journal keeps only what screens resume from).
//!
//! It is a copy: the journal is the durable record, and a hub that starts with a history behind
//! its journal fills the gap from it. So a commit here does not wait for the disk.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, params};

use crate::hall::TimeZone;
use crate::queue::{Event, EventFrame, Seq};

/// Days kept: a year of reports and a month to spare.
pub const KEEP_DAYS: i64 = 400;

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("day history database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("day history holds a record that does not parse (seq {seq}): {source}")]
    Corrupt { seq: Seq, source: serde_json::Error },
    #[error("no day history at {0} yet: the hub writes it from its first event on")]
    Missing(String),
}

/// The writer thread's handle.
pub struct History {
    db: Connection,
}

impl History {
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // A power cut may lose the last commits here; the journal has them (see the module doc).
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, day TEXT NOT NULL, frame TEXT NOT NULL);
             CREATE INDEX IF NOT EXISTS events_by_day ON events (day, seq);",
        )?;
        Ok(History { db })
    }

    /// The last event kept, 0 for none.
    pub fn last_seq(&self) -> Result<Seq, HistoryError> {
        Ok(self.db.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
    }

    /// Keeps `frames` under their service day (a day's `reset` under the day it starts; the rest
    /// under the hall-local date they happened on). Frames already kept are skipped.
    pub fn record<'a>(
        &mut self,
        frames: impl IntoIterator<Item = &'a EventFrame>,
        zone: TimeZone,
    ) -> Result<(), HistoryError> {
        let tx = self.db.transaction()?;
        {
            let mut insert =
                tx.prepare_cached("INSERT OR IGNORE INTO events (seq, day, frame) VALUES (?1, ?2, ?3)")?;
            for frame in frames {
                let day = match &frame.event {
                    Event::Reset { day } => *day,
                    _ => zone.date_at(frame.at),
                };
                let json = serde_json::to_string(frame).expect("event frames serialize");
                insert.execute(params![frame.seq, day.to_string(), json])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Forgets days more than [`KEEP_DAYS`] before `today`.
    pub fn forget_old_days(&mut self, today: jiff::civil::Date) -> Result<usize, HistoryError> {
        let oldest = today.checked_sub(jiff::Span::new().days(KEEP_DAYS)).unwrap_or(today);
        Ok(self.db.execute("DELETE FROM events WHERE day < ?1", [oldest.to_string()])?)
    }

    pub fn day(&self, day: jiff::civil::Date) -> Result<Vec<EventFrame>, HistoryError> {
        day_events(&self.db, day)
    }
}

/// One day's events, oldest first, read from the history at `path` by a reader of its own (the
/// HTTP handlers, not the writer thread).
pub fn read_day(path: &Path, day: jiff::civil::Date) -> Result<Vec<EventFrame>, HistoryError> {
    if !path.exists() {
        return Err(HistoryError::Missing(path.display().to_string()));
    }
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    db.busy_timeout(std::time::Duration::from_secs(5))?;
    day_events(&db, day)
}

fn day_events(db: &Connection, day: jiff::civil::Date) -> Result<Vec<EventFrame>, HistoryError> {
    let mut stmt = db.prepare_cached("SELECT seq, frame FROM events WHERE day = ?1 ORDER BY seq")?;
    let rows = stmt.query_map([day.to_string()], |r| Ok((r.get::<_, Seq>(0)?, r.get::<_, String>(1)?)))?;
    let mut frames = Vec::new();
    for row in rows {
        let (seq, json) = row?;
        frames.push(serde_json::from_str(&json).map_err(|source| HistoryError::Corrupt { seq, source })?);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Call;

    fn frame(seq: Seq, at: &str, event: Event) -> EventFrame {
        EventFrame { seq, at: at.parse().unwrap(), event }
    }

    #[test]
    fn events_are_kept_under_their_hall_local_day_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.sqlite");
        let call = |ticket: &str| {
            Event::Call(Call {
                ticket: ticket.parse().unwrap(),
                counter: 1,
                agency: "x".into(),
                service: None,
                priority: None,
            })
        };
        let day = jiff::civil::date(2026, 12, 3);
        let frames = [
            // 23:30 WIB on 2 December
            frame(1, "2026-12-02T16:30:00Z", call("A-9")),
            frame(2, "2026-12-02T17:00:05Z", Event::Reset { day }),
            frame(3, "2026-12-03T01:00:00Z", call("A-1")),
        ];
        let mut history = History::open(&path).unwrap();
        history.record(&frames[..2], TimeZone::Wib).unwrap();
        history.record(&frames, TimeZone::Wib).unwrap();
        assert_eq!(history.last_seq().unwrap(), 3);
        assert_eq!(read_day(&path, day).unwrap(), frames[1..].to_vec());
        assert_eq!(history.day(jiff::civil::date(2026, 12, 2)).unwrap(), frames[..1].to_vec());
        assert_eq!(
            history.forget_old_days(jiff::civil::date(2028, 1, 1)).unwrap(),
            0,
            "400 days back is 2026-11-27"
        );
        assert_eq!(history.forget_old_days(jiff::civil::date(2028, 1, 8)).unwrap(), 3);
        assert!(matches!(read_day(&dir.path().join("none.sqlite"), day), Err(HistoryError::Missing(_))));
    }
}
