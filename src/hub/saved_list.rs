//! Lists the hub and the city view keep beside their data (the screens, the halls heard): read at
//! start entry by entry (a damaged entry is left out, not the whole list), and replaced whole and
//! durably when saved.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::shutdown::Shutdown;

/// How often a list is written when it changed.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(10);

/// The list saved in `path`: every entry that reads back (one that does not is left out and said
/// in the log, `what` naming the list); empty when there is no file yet or it is not a list.
pub fn read<T: DeserializeOwned>(path: &Path, what: &str) -> Vec<T> {
    let Ok(bytes) = std::fs::read(path) else { return Vec::new() };
    let entries: Vec<serde_json::Value> = match serde_json::from_slice(&bytes) {
        Ok(entries) => entries,
        Err(e) => {
            tracing::warn!("ignoring a damaged {what} {}: {e}", path.display());
            return Vec::new();
        }
    };
    let total = entries.len();
    let kept: Vec<T> = entries
        .into_iter()
        .enumerate()
        .filter_map(|(n, entry)| {
            serde_json::from_value(entry)
                .inspect_err(|e| {
                    tracing::warn!("leaving out entry {n} of the {what} {}: {e}", path.display())
                })
                .ok()
        })
        .collect();
    if kept.len() < total {
        tracing::warn!("kept {} of {total} entries of the {what} {}", kept.len(), path.display());
    }
    kept
}

/// Writes `items` to `path` whole and durably ([`crate::durable_file::replace`]).
pub fn write<T: Serialize>(path: &Path, items: &[T]) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(items).expect("saved lists serialize");
    crate::durable_file::replace(path, &json)
}

/// Keeps a list's file up to date until shutdown: `save_if_changed` every [`SAVE_INTERVAL`] and a
/// last time at shutdown; a failure is logged (`what` names the list) and tried again next time.
pub async fn keep_saved(
    path: PathBuf,
    what: &str,
    mut shutdown: Shutdown,
    mut save_if_changed: impl FnMut(&Path) -> std::io::Result<()>,
) {
    let mut every = tokio::time::interval(SAVE_INTERVAL);
    loop {
        let stopping = tokio::select! {
            _ = shutdown.wait() => true,
            _ = every.tick() => false,
        };
        if let Err(e) = save_if_changed(&path) {
            tracing::warn!("cannot save the {what} {}: {e}", path.display());
        }
        if stopping {
            return;
        }
    }
}
