//! Lists the hub and the city view keep beside their data (the screens, the halls heard): read at
//! start, where a missing or damaged file means an empty list, and replaced whole when saved.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::shutdown::Shutdown;

/// How often a list is written when it changed.
pub const SAVE_INTERVAL: Duration = Duration::from_secs(10);

/// The list saved in `path`; empty when there is none yet or it does not parse (said in the log:
/// `what` names it).
pub fn read<T: DeserializeOwned>(path: &Path, what: &str) -> Vec<T> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!("ignoring a damaged {what} {}: {e}", path.display());
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

/// Writes `items` to `path` through a temporary file and a rename: never half a file.
pub fn write<T: Serialize>(path: &Path, items: &[T]) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(items).expect("saved lists serialize");
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).and_then(|()| std::fs::rename(&tmp, path))
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
