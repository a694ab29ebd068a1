//! Lists the hub and the city view keep beside their data (the screens, the halls heard): read at
//! start, where a missing or damaged file means an empty list, and replaced whole when saved.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

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
