//! Every screen that ever connected: its last status, whether it is online, a line to its
//! connection for fleet-page actions (identify, screenshot, fresh snapshot), and the last
//! screenshot it uploaded. The list (not the screenshots) is kept in `DATA/screens.json`, so a
//! screen that is off when the hub restarts is still listed, as offline.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::protocol::{HubFrame, Seq, Status};

/// Actions the fleet page sends one screen's connection.
#[derive(Debug, Clone)]
pub enum Control {
    /// Forward this frame to the screen.
    Frame(HubFrame),
    /// Send the screen a fresh snapshot (hall, layouts, board), as after a resync from 0.
    Resend,
}

/// Actions queued per connection; a screen that does not take them is not waited for.
const CONTROL_QUEUE: usize = 8;
/// Connections one screen id may have at once: two PCs sharing an id are shown on the fleet page;
/// a display token opening hundreds under one id is refused.
pub const MAX_LINKS_PER_SCREEN: usize = 4;

/// Why a screen may not join the fleet now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FleetFull {
    #[error("the hub lists at most {0} screens; remove screens no longer in use on the fleet page")]
    Screens(usize),
    #[error("screen id already has {MAX_LINKS_PER_SCREEN} connections; give each screen an id of its own")]
    Links,
}

impl FleetFull {
    pub fn code(self) -> crate::protocol::ErrorCode {
        match self {
            FleetFull::Screens(_) => crate::protocol::ErrorCode::TooManyScreens,
            FleetFull::Links => crate::protocol::ErrorCode::TooManyConnections,
        }
    }
}

/// What the fleet page shows of one screen. `online`, `connections`, `lag` and `screenshot_at`
/// are worked out by [`Fleet::list`] from the screen's links, status and screenshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScreenInfo {
    pub screen: String,
    pub online: bool,
    /// Open connections with this screen id (more than one means two PCs share an id).
    pub connections: usize,
    pub peer: String,
    pub token: String,
    pub connected_at: jiff::Timestamp,
    /// Now while online; when the last connection closed otherwise.
    pub last_seen: jiff::Timestamp,
    pub status: Option<Status>,
    pub status_at: Option<jiff::Timestamp>,
    /// Events the screen is behind the hub by its last status (`None` before any status).
    pub lag: Option<Seq>,
    pub screenshot_at: Option<jiff::Timestamp>,
}

/// A PNG uploaded by a screen.
#[derive(Clone)]
pub struct Screenshot {
    pub png: Bytes,
    pub at: jiff::Timestamp,
}

struct Entry {
    info: ScreenInfo,
    links: Vec<(u64, mpsc::Sender<Control>)>,
    screenshot: Option<Screenshot>,
}

pub struct Fleet {
    inner: Mutex<Inner>,
    /// Something changed since the list was last saved.
    dirty: AtomicBool,
    /// Screens remembered at most (a display token must not grow the list without end).
    max_screens: usize,
}

impl Default for Fleet {
    fn default() -> Fleet {
        Fleet::new(Vec::new(), crate::hub::config::Limits::default().max_screens)
    }
}

#[derive(Default)]
struct Inner {
    screens: BTreeMap<String, Entry>,
    next_link: u64,
    /// Screenshots asked for and not yet received: request id → who was asked.
    asked: HashMap<String, Asked>,
}

/// A screenshot request sent down one connection of one screen.
struct Asked {
    screen: String,
    link: u64,
    at: Instant,
}

/// A screenshot request unanswered this long is forgotten.
const SCREENSHOT_WAIT: Duration = Duration::from_secs(60);
/// Requests outstanding at most (a staff member clicking without end asks no more).
const MAX_ASKED: usize = 32;
/// Screenshots kept at most, in bytes together; the oldest go first.
pub const MAX_SCREENSHOT_BYTES_TOTAL: usize = 64 * 1024 * 1024;

/// Why an action could not reach a screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    UnknownScreen,
    Offline,
    /// Connected now (it cannot be removed while it is).
    Online,
    /// No screenshot was asked of this screen with that request id (or it came already).
    NotAsked,
    /// Its queue of actions is full (it is not reading).
    Busy,
}

/// Holds a screen's place while its connection lives; dropping it marks the screen offline.
pub struct Link {
    fleet: Arc<Fleet>,
    screen: String,
    id: u64,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.fleet.dirty.store(true, Ordering::Relaxed);
        let mut inner = self.fleet.inner.lock().expect("fleet lock");
        if let Some(entry) = inner.screens.get_mut(&self.screen) {
            entry.links.retain(|(id, _)| *id != self.id);
            entry.info.last_seen = jiff::Timestamp::now();
        }
    }
}

impl Fleet {
    /// The screens saved in `path` (offline until they connect: no links yet), or none.
    pub fn restore(path: &Path, max_screens: usize) -> Fleet {
        Fleet::new(super::saved_list::read(path, "screen list"), max_screens)
    }

    fn new(saved: Vec<ScreenInfo>, max_screens: usize) -> Fleet {
        let screens = saved
            .into_iter()
            .map(|info| (info.screen.clone(), Entry { info, links: Vec::new(), screenshot: None }))
            .collect();
        let inner = Inner { screens, next_link: 0, asked: HashMap::new() };
        Fleet { inner: Mutex::new(inner), dirty: AtomicBool::new(false), max_screens }
    }

    /// Writes the list to `path` if it changed (whole and durably).
    pub fn save_if_changed(&self, path: &Path) -> std::io::Result<()> {
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return Ok(());
        }
        super::saved_list::write(path, &self.list(0)).inspect_err(|_| {
            self.dirty.store(true, Ordering::Relaxed);
        })
    }

    /// Registers a connected screen; its actions arrive on the receiver.
    pub fn connect(
        self: &Arc<Self>,
        screen: &str,
        peer: SocketAddr,
        token: &str,
    ) -> Result<(Link, mpsc::Receiver<Control>), FleetFull> {
        let (tx, rx) = mpsc::channel(CONTROL_QUEUE);
        let now = jiff::Timestamp::now();
        let mut inner = self.inner.lock().expect("fleet lock");
        match inner.screens.get(screen) {
            None if inner.screens.len() >= self.max_screens => {
                return Err(FleetFull::Screens(self.max_screens));
            }
            Some(entry) if entry.links.len() >= MAX_LINKS_PER_SCREEN => return Err(FleetFull::Links),
            _ => {}
        }
        self.dirty.store(true, Ordering::Relaxed);
        inner.next_link += 1;
        let id = inner.next_link;
        let entry = inner.screens.entry(screen.to_string()).or_insert_with(|| Entry {
            info: ScreenInfo {
                screen: screen.to_string(),
                online: false,
                connections: 0,
                peer: String::new(),
                token: String::new(),
                connected_at: now,
                last_seen: now,
                status: None,
                status_at: None,
                lag: None,
                screenshot_at: None,
            },
            links: Vec::new(),
            screenshot: None,
        });
        entry.links.push((id, tx));
        entry.info.peer = peer.to_string();
        entry.info.token = token.to_string();
        entry.info.connected_at = now;
        entry.info.last_seen = now;
        Ok((Link { fleet: self.clone(), screen: screen.to_string(), id }, rx))
    }

    /// Forgets an offline screen (staff, from the fleet page): it leaves the list and its place
    /// is free. An online screen would only come back: it is refused.
    pub fn remove(&self, screen: &str) -> Result<(), Unreachable> {
        let mut inner = self.inner.lock().expect("fleet lock");
        let entry = inner.screens.get(screen).ok_or(Unreachable::UnknownScreen)?;
        if !entry.links.is_empty() {
            return Err(Unreachable::Online);
        }
        inner.screens.remove(screen);
        self.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    pub fn report(&self, screen: &str, status: Status) {
        self.dirty.store(true, Ordering::Relaxed);
        let mut inner = self.inner.lock().expect("fleet lock");
        if let Some(entry) = inner.screens.get_mut(screen) {
            entry.info.status = Some(status);
            entry.info.status_at = Some(jiff::Timestamp::now());
        }
    }

    /// Sends an action to every connection of `screen`.
    pub fn send(&self, screen: &str, control: Control) -> Result<(), Unreachable> {
        let inner = self.inner.lock().expect("fleet lock");
        let entry = inner.screens.get(screen).ok_or(Unreachable::UnknownScreen)?;
        if entry.links.is_empty() {
            return Err(Unreachable::Offline);
        }
        let mut delivered = false;
        for (_, tx) in &entry.links {
            delivered |= tx.try_send(control.clone()).is_ok();
        }
        if delivered { Ok(()) } else { Err(Unreachable::Busy) }
    }

    /// Asks the screen's newest connection for a screenshot; the answer is the request id that
    /// only that connection learns, and without which no upload is taken.
    pub fn ask_screenshot(&self, screen: &str) -> Result<String, Unreachable> {
        let mut inner = self.inner.lock().expect("fleet lock");
        let entry = inner.screens.get(screen).ok_or(Unreachable::UnknownScreen)?;
        let (link, tx) = entry.links.last().ok_or(Unreachable::Offline)?;
        let (link, request) = (*link, crate::random_id::random_id("shot"));
        tx.try_send(Control::Frame(HubFrame::Screenshot { request: request.clone() }))
            .map_err(|_| Unreachable::Busy)?;
        let now = Instant::now();
        inner.asked.retain(|_, asked| now.duration_since(asked.at) < SCREENSHOT_WAIT);
        if inner.asked.len() >= MAX_ASKED
            && let Some(oldest) = inner.asked.iter().min_by_key(|(_, a)| a.at).map(|(r, _)| r.clone())
        {
            inner.asked.remove(&oldest);
        }
        inner.asked.insert(request.clone(), Asked { screen: screen.to_string(), link, at: now });
        Ok(request)
    }

    /// Whether `request` is a screenshot asked of `screen`, still awaited, from a connection
    /// that is still open: checked before an upload's body is read.
    pub fn awaits_screenshot(&self, screen: &str, request: &str) -> bool {
        let inner = self.inner.lock().expect("fleet lock");
        inner.asked.get(request).is_some_and(|asked| {
            asked.screen == screen
                && asked.at.elapsed() < SCREENSHOT_WAIT
                && inner.screens.get(screen).is_some_and(|e| e.links.iter().any(|(id, _)| *id == asked.link))
        })
    }

    /// Keeps the screenshot answering `request` (once); the oldest others go when all of them
    /// together would pass [`MAX_SCREENSHOT_BYTES_TOTAL`].
    pub fn store_screenshot(&self, screen: &str, request: &str, png: Bytes) -> Result<(), Unreachable> {
        let mut guard = self.inner.lock().expect("fleet lock");
        let inner = &mut *guard;
        match inner.asked.remove(request) {
            Some(asked) if asked.screen == screen => {}
            _ => return Err(Unreachable::NotAsked),
        }
        let entry = inner.screens.get_mut(screen).ok_or(Unreachable::UnknownScreen)?;
        entry.screenshot = Some(Screenshot { png, at: jiff::Timestamp::now() });
        loop {
            let shots =
                inner.screens.values().filter_map(|e| e.screenshot.as_ref().map(|s| (s.at, s.png.len())));
            let (total, oldest) =
                shots.fold((0, None), |(total, oldest): (usize, Option<jiff::Timestamp>), (at, len)| {
                    (total + len, Some(oldest.map_or(at, |o| o.min(at))))
                });
            if total <= MAX_SCREENSHOT_BYTES_TOTAL {
                return Ok(());
            }
            let Some(oldest) = oldest else { return Ok(()) };
            for entry in inner.screens.values_mut() {
                if entry.screenshot.as_ref().is_some_and(|s| s.at == oldest) {
                    entry.screenshot = None;
                    break;
                }
            }
        }
    }

    pub fn screenshot(&self, screen: &str) -> Option<Screenshot> {
        self.inner.lock().expect("fleet lock").screens.get(screen)?.screenshot.clone()
    }

    /// Every screen, by id, with its lag against `hub_seq`.
    pub fn list(&self, hub_seq: Seq) -> Vec<ScreenInfo> {
        let now = jiff::Timestamp::now();
        let inner = self.inner.lock().expect("fleet lock");
        inner
            .screens
            .values()
            .map(|entry| {
                let mut info = entry.info.clone();
                info.connections = entry.links.len();
                info.online = info.connections > 0;
                if info.online {
                    info.last_seen = now;
                }
                info.lag = info.status.as_ref().map(|s| hub_seq.saturating_sub(s.last_seq));
                info.screenshot_at = entry.screenshot.as_ref().map(|shot| shot.at);
                info
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screens_stay_listed_offline_and_actions_reach_only_online_ones() {
        let fleet = Arc::new(Fleet::default());
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let (link, mut rx) = fleet.connect("lobby-1", peer, "displays").unwrap();
        fleet.report("lobby-1", Status { last_seq: 7, ..Status::default() });
        let listed = fleet.list(10);
        assert_eq!((listed[0].online, listed[0].lag), (true, Some(3)));
        fleet.send("lobby-1", Control::Frame(HubFrame::Identify { seconds: 10 })).unwrap();
        assert!(matches!(rx.try_recv(), Ok(Control::Frame(HubFrame::Identify { seconds: 10 }))));
        assert_eq!(fleet.send("nope", Control::Resend), Err(Unreachable::UnknownScreen));
        drop(link);
        let listed = fleet.list(10);
        assert_eq!((listed.len(), listed[0].online, listed[0].connections), (1, false, 0));
        assert_eq!(fleet.send("lobby-1", Control::Resend), Err(Unreachable::Offline));

        // Saved and restored: still listed, offline, with its last status.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("screens.json");
        fleet.save_if_changed(&path).unwrap();
        let restored = Fleet::restore(&path, 10).list(10);
        assert_eq!(restored.len(), 1);
        assert_eq!((restored[0].online, restored[0].lag), (false, Some(3)));
        assert_eq!(Fleet::restore(&dir.path().join("none.json"), 10).list(0).len(), 0);
    }

    #[test]
    fn a_damaged_entry_costs_only_itself_when_the_list_is_restored() {
        let fleet = Arc::new(Fleet::default());
        let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
        for screen in ["lobby-1", "lobby-2"] {
            let _ = fleet.connect(screen, peer, "displays").unwrap();
            fleet.report(screen, Status { fps: 1.0, ..Status::default() });
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("screens.json");
        fleet.save_if_changed(&path).unwrap();
        // What an fps of 1e39 (infinity) used to be saved as: null, which does not read back.
        let mut saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        saved[0]["status"]["fps"] = serde_json::Value::Null;
        std::fs::write(&path, saved.to_string()).unwrap();
        let restored: Vec<String> = Fleet::restore(&path, 10).list(0).into_iter().map(|s| s.screen).collect();
        assert_eq!(restored, ["lobby-2"]);
    }
}
