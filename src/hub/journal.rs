//! The durable journal of events: a small trait, with SQLite (WAL, fsync on commit) as the default.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::board::Board;
use crate::protocol::{EventFrame, Seq};

/// One event to store, with the staff command that caused it (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub frame: EventFrame,
    pub command: Option<CommandKey>,
}

/// A staff command as the journal remembers it: the client's id and a digest of the command, so
/// a retried id is told apart from an id reused for another command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandKey {
    pub id: String,
    pub digest: String,
}

/// What the journal knows of a command id it stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCommand {
    pub seq: Seq,
    /// `None` for commands stored before digests were kept (papan before 2026-12-03).
    pub digest: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("journal holds a record that does not parse (seq {seq}): {source}")]
    Corrupt { seq: Seq, source: serde_json::Error },
    #[error("journal is not continuous: expected seq {expected}, found {found}")]
    Gap { expected: Seq, found: Seq },
    /// Another hub stored events first (a shared journal): catch up, then try again.
    #[error("another hub stored events first")]
    Conflict,
    /// The journal's server cannot be reached or did not confirm in time.
    #[error("journal unavailable: {0}")]
    Unavailable(String),
}

/// Where events live. The hub assigns seqs (last + 1) and appends in batches; a shared backend
/// (JetStream) enforces the same order with an expected-last-sequence check and says
/// [`JournalError::Conflict`] when another hub got there first.
pub trait Journal: Send + 'static {
    /// The board as of the last stored event (snapshot + the events after it).
    fn recover(&mut self) -> Result<Board, JournalError>;
    /// Stores `entries` (which follow the journal's last seq); returns only once they are durable.
    /// On an error, a journal only this hub writes has stored none of them; a shared one may have
    /// stored some, which [`Journal::entries_after`] then shows (after [`Journal::sync`]).
    fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError>;
    /// Shared journals: fetches what other hubs stored that this one has not seen yet.
    fn sync(&mut self) -> Result<(), JournalError> {
        Ok(())
    }
    /// Shared journals: entries after `seq` that this hub has seen (its own and others'), oldest
    /// first, for the writer to apply. Empty for a journal only this hub writes.
    fn entries_after(&mut self, _seq: Seq) -> Vec<Entry> {
        Vec::new()
    }
    /// Shared journals: calls `notify` whenever another hub's entries have arrived.
    fn on_new_entries(&mut self, _notify: Box<dyn Fn() + Send + Sync>) {}
    /// The seq a command id was applied at and its digest, if it was.
    fn stored_command(&mut self, id: &str) -> Result<Option<StoredCommand>, JournalError>;
    /// Events after `since`, oldest first; `None` if some of them are no longer kept or
    /// there are more than `max` (a snapshot serves the client better then).
    fn events_since(&mut self, since: Seq, max: usize) -> Result<Option<Vec<EventFrame>>, JournalError>;
    /// Stores `board` as the snapshot and drops events more than `keep` behind it.
    fn compact(&mut self, board: &Board, keep: u64) -> Result<(), JournalError>;
    /// Number of events kept (for deciding when to compact).
    fn event_count(&mut self) -> Result<u64, JournalError>;
    /// Bytes on disk, for metrics.
    fn size_bytes(&mut self) -> Result<u64, JournalError>;
}

/// The default journal: one SQLite file per hall.
pub struct SqliteJournal {
    db: Connection,
}

/// Command ids are remembered this many times `keep` events, so retries stay safe for days.
const COMMAND_ID_KEEP_FACTOR: u64 = 10;

impl SqliteJournal {
    pub fn open(path: &Path) -> Result<SqliteJournal, JournalError> {
        let db = Connection::open(path)?;
        // Must precede the first table: lets compaction hand freed pages back to the OS.
        db.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        // WAL with synchronous=FULL: a commit is on disk (fsync) before append() returns,
        // which is what lets the hub ack only durable commands.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "FULL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, frame TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS commands (id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS snapshot (
                 id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, board TEXT NOT NULL);",
        )?;
        // Journals from before command digests: the column is added, their old ids have none.
        let has_digest =
            db.prepare("SELECT 1 FROM pragma_table_info('commands') WHERE name = 'digest'")?.exists([])?;
        if !has_digest {
            db.execute_batch("ALTER TABLE commands ADD COLUMN digest TEXT")?;
        }
        Ok(SqliteJournal { db })
    }

    fn snapshot(&self) -> Result<Option<(Seq, Board)>, JournalError> {
        let row: Option<(Seq, String)> = self
            .db
            .query_row("SELECT seq, board FROM snapshot WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        row.map(|(seq, json)| {
            serde_json::from_str(&json)
                .map(|board| (seq, board))
                .map_err(|source| JournalError::Corrupt { seq, source })
        })
        .transpose()
    }

    fn read_events(&self, since: Seq, limit: u64) -> Result<Vec<EventFrame>, JournalError> {
        let mut stmt =
            self.db.prepare_cached("SELECT seq, frame FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")?;
        let rows =
            stmt.query_map(params![since, limit], |r| Ok((r.get::<_, Seq>(0)?, r.get::<_, String>(1)?)))?;
        let mut frames = Vec::new();
        for row in rows {
            let (seq, json) = row?;
            frames.push(serde_json::from_str(&json).map_err(|source| JournalError::Corrupt { seq, source })?);
        }
        Ok(frames)
    }

    /// The lowest seq a client may resume from: events after it are all kept.
    fn floor(&self) -> Result<Seq, JournalError> {
        let oldest: Option<Seq> = self.db.query_row("SELECT MIN(seq) FROM events", [], |r| r.get(0))?;
        match oldest {
            Some(seq) => Ok(seq - 1),
            None => Ok(self.snapshot()?.map_or(0, |(seq, _)| seq)),
        }
    }
}

impl Journal for SqliteJournal {
    fn recover(&mut self) -> Result<Board, JournalError> {
        let mut board = match self.snapshot()? {
            Some((_, board)) => board,
            None => Board::default(),
        };
        for frame in self.read_events(board.seq, u64::MAX >> 1)? {
            if let crate::board::Applied::Gap { expected, got } = board.apply(&frame) {
                return Err(JournalError::Gap { expected, found: got });
            }
        }
        Ok(board)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<(), JournalError> {
        let tx = self.db.transaction()?;
        {
            let mut insert_event = tx.prepare_cached("INSERT INTO events (seq, frame) VALUES (?1, ?2)")?;
            let mut insert_command =
                tx.prepare_cached("INSERT INTO commands (id, seq, digest) VALUES (?1, ?2, ?3)")?;
            for entry in entries {
                let json = serde_json::to_string(&entry.frame).expect("event frames serialize");
                insert_event.execute(params![entry.frame.seq, json])?;
                if let Some(CommandKey { id, digest }) = &entry.command {
                    insert_command.execute(params![id, entry.frame.seq, digest])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn stored_command(&mut self, id: &str) -> Result<Option<StoredCommand>, JournalError> {
        let mut stmt = self.db.prepare_cached("SELECT seq, digest FROM commands WHERE id = ?1")?;
        let row = stmt.query_row([id], |r| Ok(StoredCommand { seq: r.get(0)?, digest: r.get(1)? }));
        Ok(row.optional()?)
    }

    fn events_since(&mut self, since: Seq, max: usize) -> Result<Option<Vec<EventFrame>>, JournalError> {
        if since < self.floor()? {
            return Ok(None);
        }
        let frames = self.read_events(since, max as u64 + 1)?;
        Ok((frames.len() <= max).then_some(frames))
    }

    fn compact(&mut self, board: &Board, keep: u64) -> Result<(), JournalError> {
        let json = serde_json::to_string(board).expect("boards serialize");
        let tx = self.db.transaction()?;
        tx.execute(
            "INSERT INTO snapshot (id, seq, board) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, board = excluded.board",
            params![board.seq, json],
        )?;
        tx.execute("DELETE FROM events WHERE seq <= ?1", [board.seq.saturating_sub(keep)])?;
        tx.execute(
            "DELETE FROM commands WHERE seq <= ?1",
            [board.seq.saturating_sub(keep.saturating_mul(COMMAND_ID_KEEP_FACTOR))],
        )?;
        tx.commit()?;
        // Give the freed pages back so the file stays small; WAL truncation keeps the -wal file small.
        self.db.execute_batch("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }

    fn event_count(&mut self) -> Result<u64, JournalError> {
        Ok(self.db.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?)
    }

    /// The database file with its write-ahead log and index (what a backup of the folder copies).
    fn size_bytes(&mut self) -> Result<u64, JournalError> {
        let Some(path) = self.db.path().filter(|p| !p.is_empty()) else { return Ok(0) };
        Ok(["", "-wal", "-shm"]
            .iter()
            .filter_map(|suffix| std::fs::metadata(format!("{path}{suffix}")).ok())
            .map(|m| m.len())
            .sum())
    }
}

impl Drop for SqliteJournal {
    fn drop(&mut self) {
        // Fold the WAL back into the main file so a copied backup of hub.sqlite is complete.
        if let Err(e) = self.db.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);") {
            tracing::warn!("journal checkpoint at close failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Call, Event};

    fn call_entry(seq: Seq) -> Entry {
        Entry {
            frame: EventFrame {
                seq,
                at: jiff::Timestamp::from_second(1_795_000_000 + seq as i64).unwrap(),
                event: Event::Call(Call {
                    ticket: format!("A-{seq}").parse().unwrap(),
                    counter: 1,
                    agency: "disdukcapil".into(),
                    service: None,
                    priority: None,
                }),
            },
            command: Some(CommandKey { id: format!("cmd-{seq}"), digest: format!("d{seq}") }),
        }
    }

    #[test]
    fn appended_events_survive_reopen_and_replay_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        {
            let mut j = SqliteJournal::open(&path).unwrap();
            j.append(&(1..=5).map(call_entry).collect::<Vec<_>>()).unwrap();
        }
        let mut j = SqliteJournal::open(&path).unwrap();
        let board = j.recover().unwrap();
        assert_eq!(board.seq, 5);
        assert_eq!(board.recent[0].ticket.to_string(), "A-005");
        let stored = StoredCommand { seq: 3, digest: Some("d3".into()) };
        assert_eq!(j.stored_command("cmd-3").unwrap(), Some(stored));
        assert_eq!(j.stored_command("nope").unwrap(), None);
        let seqs: Vec<Seq> = j.events_since(2, 100).unwrap().unwrap().iter().map(|f| f.seq).collect();
        assert_eq!(seqs, [3, 4, 5]);
        assert_eq!(j.events_since(5, 100).unwrap().unwrap(), vec![]);
        assert_eq!(j.events_since(0, 2).unwrap(), None, "more than max → snapshot");
    }

    #[test]
    fn a_journal_from_before_digests_gets_the_column_and_its_old_ids_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        {
            let db = Connection::open(&path).unwrap();
            db.execute_batch(
                "CREATE TABLE commands (id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;
                 INSERT INTO commands (id, seq) VALUES ('old', 7);",
            )
            .unwrap();
        }
        let mut j = SqliteJournal::open(&path).unwrap();
        assert_eq!(j.stored_command("old").unwrap(), Some(StoredCommand { seq: 7, digest: None }));
        drop(j);
        SqliteJournal::open(&path).expect("a second open finds the column there");
    }

    #[test]
    fn compaction_bounds_the_file_and_keeps_recent_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.sqlite");
        let mut j = SqliteJournal::open(&path).unwrap();
        let mut board = Board::default();
        for seq in 1..=300 {
            let entry = call_entry(seq);
            board.apply(&entry.frame);
            j.append(&[entry]).unwrap();
        }
        j.compact(&board, 50).unwrap();
        assert_eq!(j.event_count().unwrap(), 50);
        assert_eq!(j.events_since(100, 1000).unwrap(), None, "compacted away → snapshot");
        assert_eq!(j.events_since(250, 1000).unwrap().unwrap().len(), 50);
        drop(j);
        let mut j = SqliteJournal::open(&path).unwrap();
        assert_eq!(j.recover().unwrap(), board);
        let entry = call_entry(301);
        board.apply(&entry.frame);
        j.append(&[entry]).unwrap();
        drop(j);
        assert_eq!(SqliteJournal::open(&path).unwrap().recover().unwrap(), board);
    }
}
