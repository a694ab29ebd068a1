//! Every screen that ever connected: its last status, whether it is online, a line to its
//! connection for fleet-page actions (identify, screenshot, fresh snapshot), and the last
//! screenshot it uploaded. The list (not the screenshots) is kept in `DATA/screens.json`, so a
//! screen that is off when the hub restarts is still listed, as offline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

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

#[derive(Default)]
pub struct Fleet {
    inner: Mutex<Inner>,
    /// Something changed since the list was last saved.
    dirty: AtomicBool,
}

#[derive(Default)]
struct Inner {
    screens: BTreeMap<String, Entry>,
    next_link: u64,
}

/// Why an action could not reach a screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unreachable {
    UnknownScreen,
    Offline,
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
    pub fn restore(path: &Path) -> Fleet {
        let saved: Vec<ScreenInfo> = super::saved_list::read(path, "screen list");
        let screens = saved
            .into_iter()
            .map(|info| (info.screen.clone(), Entry { info, links: Vec::new(), screenshot: None }))
            .collect();
        Fleet { inner: Mutex::new(Inner { screens, next_link: 0 }), dirty: AtomicBool::new(false) }
    }

    /// Writes the list to `path` if it changed (temp file + rename: never half a file).
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
    ) -> (Link, mpsc::Receiver<Control>) {
        let (tx, rx) = mpsc::channel(CONTROL_QUEUE);
        let now = jiff::Timestamp::now();
        self.dirty.store(true, Ordering::Relaxed);
        let mut inner = self.inner.lock().expect("fleet lock");
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
        (Link { fleet: self.clone(), screen: screen.to_string(), id }, rx)
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

    pub fn store_screenshot(&self, screen: &str, png: Bytes) -> Result<(), Unreachable> {
        let mut inner = self.inner.lock().expect("fleet lock");
        let entry = inner.screens.get_mut(screen).ok_or(Unreachable::UnknownScreen)?;
        entry.screenshot = Some(Screenshot { png, at: jiff::Timestamp::now() });
        Ok(())
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
        let (link, mut rx) = fleet.connect("lobby-1", peer, "displays");
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
        let restored = Fleet::restore(&path).list(10);
        assert_eq!(restored.len(), 1);
        assert_eq!((restored[0].online, restored[0].lag), (false, Some(3)));
        assert_eq!(Fleet::restore(&dir.path().join("none.json")).list(0).len(), 0);
    }
}
