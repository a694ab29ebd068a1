//! The hall file and the layouts folder, watched while the hub runs: an edit is validated and sent
//! to every screen within a second; a broken edit is reported with its position and the last good
//! version stays in service.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::core::CoreHandle;
use super::shutdown::Shutdown;
use crate::hall::Hall;
use crate::layout::{Layout, Layouts, builtin_layouts};

/// How often the files are looked at. Reading a few small files is cheaper than any notification
/// setup, and works the same on every filesystem and with editors that save by renaming.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// Which files the hub serves to screens.
#[derive(Debug, Clone, Default)]
pub struct ConfigFiles {
    pub hall: Option<PathBuf>,
    /// Every `NAME.toml` here is served as layout NAME (over the built-in one of that name).
    pub layouts: Option<PathBuf>,
}

/// The last good configuration and what was read to make it.
pub struct Watched {
    files: ConfigFiles,
    seen: BTreeMap<PathBuf, Vec<u8>>,
    pub hall: Hall,
    pub layouts: Layouts,
}

impl Watched {
    pub fn new(files: ConfigFiles, hall: Hall) -> Watched {
        Watched { files, seen: BTreeMap::new(), hall, layouts: builtin_layouts() }
    }

    /// Rereads the files; returns whether what screens get changed. Problems are returned as
    /// messages with file:line:col; the parts they concern keep their last good version.
    pub fn refresh(&mut self) -> (bool, Vec<String>) {
        let contents = self.read();
        if contents == self.seen {
            return (false, Vec::new());
        }
        let mut problems = Vec::new();
        let mut hall = self.hall.clone();
        if let Some(path) = &self.files.hall {
            match contents.get(path) {
                Some(src) => match Hall::parse(&path.display().to_string(), &String::from_utf8_lossy(src)) {
                    Ok(parsed) => hall = parsed,
                    Err(e) => problems.push(e.to_string()),
                },
                None => problems.push(format!("{}: cannot read the hall file", path.display())),
            }
        }
        let mut layouts = self.layouts.clone();
        if let Some(dir) = &self.files.layouts {
            for (path, src) in contents.iter().filter(|(p, _)| p.parent() == Some(dir.as_path())) {
                let Some(name) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else { continue };
                match Layout::parse(&path.display().to_string(), &String::from_utf8_lossy(src), Some(&hall)) {
                    Ok(layout) => {
                        layouts.insert(name, layout);
                    }
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        self.seen = contents;
        let changed = hall != self.hall || layouts != self.layouts;
        self.hall = hall;
        self.layouts = layouts;
        (changed, problems)
    }

    fn read(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut contents = BTreeMap::new();
        if let Some(path) = &self.files.hall
            && let Ok(bytes) = std::fs::read(path)
        {
            contents.insert(path.clone(), bytes);
        }
        if let Some(dir) = &self.files.layouts {
            for path in toml_files(dir) {
                if let Ok(bytes) = std::fs::read(&path) {
                    contents.insert(path, bytes);
                }
            }
        }
        contents
    }
}

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect()
}

/// Polls the files until shutdown, handing every good change to the writer (which sends it to
/// the screens) and logging every problem once.
pub async fn watch(mut watched: Watched, core: CoreHandle, mut shutdown: Shutdown) {
    let mut reported: Vec<String> = Vec::new();
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = every.tick() => {}
        }
        // A few small files: reading them inline is cheaper than handing them to a thread.
        let (changed, problems) = watched.refresh();
        for problem in problems.iter().filter(|p| !reported.contains(p)) {
            tracing::error!("{problem} — screens keep the last good version");
        }
        if !problems.is_empty() {
            reported = problems;
        } else if !reported.is_empty() {
            tracing::info!("configuration files are good again");
            reported.clear();
        }
        if changed {
            tracing::info!(
                layouts = watched.layouts.len(),
                "hall or layouts changed; sending them to the screens"
            );
            let (hall, layouts) = (Arc::new(watched.hall.clone()), Arc::new(watched.layouts.clone()));
            if !core.reconfigure(hall, layouts).await {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_LAYOUT: &str =
        "name = \"lobby\"\n\n[[region]]\nat = [0.0, 0.0, 1.0, 1.0]\nwidget = \"now_calling\"\n";

    #[test]
    fn edits_apply_broken_ones_keep_the_last_good_version() {
        let dir = tempfile::tempdir().unwrap();
        let layouts = dir.path().join("layouts");
        std::fs::create_dir(&layouts).unwrap();
        let hall_file = dir.path().join("hall.toml");
        let hall_src = std::fs::read_to_string("assets/halls/mpp-palembang.toml").unwrap();
        std::fs::write(&hall_file, &hall_src).unwrap();
        std::fs::write(layouts.join("lobby.toml"), GOOD_LAYOUT).unwrap();
        let files = ConfigFiles { hall: Some(hall_file.clone()), layouts: Some(layouts.clone()) };
        let mut watched = Watched::new(files, Hall::builtin());

        let (changed, problems) = watched.refresh();
        assert!(changed && problems.is_empty(), "{problems:?}");
        assert!(watched.layouts.contains_key("lobby") && watched.layouts.contains_key("hall-landscape"));
        assert_eq!(watched.refresh(), (false, Vec::new()), "nothing new to read");

        // A typo in the hall file: reported with its position, the hall stays as it was.
        std::fs::write(&hall_file, hall_src.replacen("timezone = \"WIB\"", "timezone = \"WIBB\"", 1))
            .unwrap();
        let (changed, problems) = watched.refresh();
        assert!(!changed);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with(&format!("{}:", hall_file.display())), "{problems:?}");
        assert!(problems[0].contains("WIBB"), "{problems:?}");
        assert_eq!(watched.hall.timezone, crate::hall::TimeZone::Wib);

        // Fixed with a renamed hall: applied.
        std::fs::write(
            &hall_file,
            hall_src.replacen("Publik Kota Palembang\"", "Publik Kota Palembang (Uji)\"", 1),
        )
        .unwrap();
        let (changed, problems) = watched.refresh();
        assert!(changed && problems.is_empty(), "{problems:?}");
        assert!(watched.hall.name.ends_with("(Uji)"), "{}", watched.hall.name);

        // A broken layout keeps its last good version; the others are unaffected.
        std::fs::write(layouts.join("lobby.toml"), GOOD_LAYOUT.replace("now_calling", "now_caling")).unwrap();
        let (changed, problems) = watched.refresh();
        assert!(!changed);
        assert!(problems[0].contains("lobby.toml:5:"), "{problems:?}");
        assert_eq!(watched.layouts["lobby"].regions.len(), 1);
    }
}
