//! Who may hold a connection that has not signed in yet (an HTTP request, a WebSocket before its
//! hello): at most so many in all and so many from one address, so that a flood of half-open or
//! silent connections cannot take the places of screens and staff.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Counts of connections held, in all and per peer address.
pub struct Admission {
    total: usize,
    per_peer: usize,
    held: Mutex<Held>,
}

#[derive(Default)]
struct Held {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `total` connections are held.
    Total,
    /// This address holds `per_peer`.
    Peer,
}

/// One admitted connection's place; dropping it gives the place back.
pub struct Admitted {
    admission: Arc<Admission>,
    peer: IpAddr,
}

impl Admission {
    pub fn new(total: usize, per_peer: usize) -> Arc<Admission> {
        Arc::new(Admission { total: total.max(1), per_peer: per_peer.max(1), held: Mutex::default() })
    }

    pub fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Admitted, Full> {
        let mut held = self.lock();
        if held.total >= self.total {
            return Err(Full::Total);
        }
        let mine = held.by_peer.entry(peer).or_default();
        if *mine >= self.per_peer {
            return Err(Full::Peer);
        }
        *mine += 1;
        held.total += 1;
        Ok(Admitted { admission: self.clone(), peer })
    }

    /// Places held now, in all.
    pub fn held(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut held = self.admission.lock();
        held.total -= 1;
        if let Some(mine) = held.by_peer.get_mut(&self.peer) {
            *mine -= 1;
            if *mine == 0 {
                held.by_peer.remove(&self.peer);
            }
        }
    }
}

/// An admitted HTTP connection's place, handed to its requests: a WebSocket upgrade takes it over,
/// so the socket keeps the place until its hello while the finished HTTP connection lets go.
#[derive(Clone)]
pub struct Ticket(Arc<Mutex<Option<Admitted>>>);

impl Ticket {
    pub fn new(admitted: Admitted) -> Ticket {
        Ticket(Arc::new(Mutex::new(Some(admitted))))
    }

    pub fn take(&self) -> Option<Admitted> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_capped_in_all_and_per_peer_and_come_back_when_dropped() {
        let admission = Admission::new(3, 2);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let a1 = admission.admit(a).unwrap();
        let _a2 = admission.admit(a).unwrap();
        assert_eq!(admission.admit(a).err(), Some(Full::Peer));
        let _b1 = admission.admit(b).unwrap();
        assert_eq!(admission.admit(b).err(), Some(Full::Total));
        drop(a1);
        assert_eq!(admission.held(), 2);
        let ticket = Ticket::new(admission.admit(b).unwrap());
        let taken = ticket.take().expect("the upgrade takes the place over");
        assert!(ticket.take().is_none(), "once");
        drop(taken);
        drop(ticket);
        assert_eq!(admission.held(), 2);
    }
}
