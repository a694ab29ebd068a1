//! The hub's live numbers: connections by role, commands and events by kind, fan-out latency,
//! clients cut for being slow; served at `/metrics` in Prometheus (OpenMetrics) text format.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::core::{Ack, Rejection};
use crate::protocol::{Role, Seq};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabel {
    role: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScreenLabel {
    screen: String,
}

/// Shared by connections, the HTTP API and the journal core; every update is an atomic add.
pub struct Metrics {
    registry: Registry,
    connections: Family<RoleLabel, Gauge>,
    commands: Family<CommandLabels, Counter>,
    events: Family<KindLabel, Counter>,
    fanout: Histogram,
    journal_commit: Histogram,
    too_slow: Counter,
    journal_conflicts: Counter,
    seq: Gauge,
    journal_bytes: Gauge,
    screen_lag: Family<ScreenLabel, Gauge>,
    screens_online: Gauge,
    estimates: Family<OutcomeLabel, Gauge>,
    estimate_error: Gauge,
    waiting: Family<AgencyLabel, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct AgencyLabel {
    agency: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("papan");
        let connections = Family::<RoleLabel, Gauge>::default();
        registry.register("connections", "Open WebSocket connections by role", connections.clone());
        let commands = Family::<CommandLabels, Counter>::default();
        registry.register("commands", "Staff commands by kind and result", commands.clone());
        let events = Family::<KindLabel, Counter>::default();
        registry.register("events", "Events journaled by kind", events.clone());
        // 50 µs to ~1.6 s: a frame reaching a socket, from loopback to a choking client.
        let fanout = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "fanout_seconds",
            "Time from an event being durable to its frame written to a client's socket",
            fanout.clone(),
        );
        // The same range: a small commit's fsync took ~0.1 ms on the development machine's disk; a
        // failing disk takes seconds.
        let journal_commit = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "journal_commit_seconds",
            "Time to store a batch of events durably (SQLite: the transaction and its fsync)",
            journal_commit.clone(),
        );
        let too_slow = Counter::default();
        registry.register("clients_cut_too_slow", "Clients cut for not keeping up", too_slow.clone());
        let journal_conflicts = Counter::default();
        registry.register(
            "journal_conflicts",
            "Batches another hub stored events before (shared journal); the hub caught up and decided again",
            journal_conflicts.clone(),
        );
        let seq = Gauge::default();
        registry.register("seq", "The hub's last journaled seq", seq.clone());
        let journal_bytes = Gauge::default();
        registry.register("journal_bytes", "Size of the journal files on disk", journal_bytes.clone());
        let screen_lag = Family::<ScreenLabel, Gauge>::default();
        registry.register(
            "screen_lag_events",
            "Events a connected screen is behind, by its last status report",
            screen_lag.clone(),
        );
        let screens_online = Gauge::default();
        registry.register("screens_online", "Screens with an open connection", screens_online.clone());
        let estimates = Family::<OutcomeLabel, Gauge>::default();
        registry.register(
            "estimates_today",
            "Wait bands shown at issue today whose ticket has been called, by how the wait fell: \
             inside, early (before the band), late (after it); without: called tickets that were shown no band",
            estimates.clone(),
        );
        let estimate_error = Gauge::default();
        registry.register(
            "estimate_median_error_minutes",
            "Median absolute error today of the band's middle against the actual wait (-1 before any)",
            estimate_error.clone(),
        );
        let waiting = Family::<AgencyLabel, Gauge>::default();
        registry.register("tickets_waiting", "Tickets waiting to be called, by agency", waiting.clone());
        Metrics {
            estimates,
            estimate_error,
            waiting,
            registry,
            connections,
            commands,
            events,
            fanout,
            journal_commit,
            too_slow,
            journal_conflicts,
            seq,
            journal_bytes,
            screen_lag,
            screens_online,
        }
    }
}

/// Counts a connection while alive.
pub struct ConnectedGauge(Gauge);

impl Drop for ConnectedGauge {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Values read at scrape time rather than counted as they happen.
pub struct Scraped<'a> {
    pub seq: Seq,
    pub journal_bytes: u64,
    /// (screen, lag) of the screens online.
    pub screens: &'a [(String, Option<Seq>)],
    pub board: &'a crate::board::Board,
}

impl Metrics {
    pub fn connected(&self, role: Role) -> ConnectedGauge {
        let gauge = self.connections.get_or_create_owned(&RoleLabel { role: role_name(role) });
        gauge.inc();
        ConnectedGauge(gauge)
    }

    /// A phone page's live feed, counted as role `public` until it is dropped.
    pub fn public_connected(&self) -> ConnectedGauge {
        let gauge = self.connections.get_or_create_owned(&RoleLabel { role: "public" });
        gauge.inc();
        ConnectedGauge(gauge)
    }

    /// Phone pages following the queue now.
    pub fn public_connections(&self) -> i64 {
        self.connections.get(&RoleLabel { role: "public" }).map_or(0, |g| g.get())
    }

    /// (displays, staff) connected now.
    pub fn connections(&self) -> (i64, i64) {
        let get = |role| self.connections.get(&RoleLabel { role }).map_or(0, |g| g.get());
        (get("display"), get("staff"))
    }

    /// Counts a command of `kind` by how it ended: `applied`, `duplicate` or `rejected`.
    pub fn command(&self, kind: &'static str, result: &Result<Ack, Rejection>) {
        let result = match result {
            Ok(Ack { duplicate: false, .. }) => "applied",
            Ok(Ack { duplicate: true, .. }) => "duplicate",
            Err(_) => "rejected",
        };
        self.commands.get_or_create(&CommandLabels { kind, result }).inc();
    }

    pub fn event(&self, kind: &'static str) {
        self.events.get_or_create(&KindLabel { kind }).inc();
    }

    pub fn fanned_out(&self, took: Duration) {
        self.fanout.observe(took.as_secs_f64());
    }

    /// A batch of events became durable after `took`.
    pub fn journal_commit(&self, took: Duration) {
        self.journal_commit.observe(took.as_secs_f64());
    }

    pub fn too_slow(&self) {
        self.too_slow.inc();
    }

    pub fn journal_conflict(&self) {
        self.journal_conflicts.inc();
    }

    pub fn journal_conflict_count(&self) -> u64 {
        self.journal_conflicts.get()
    }

    /// Clients cut so far for not keeping up.
    pub fn too_slow_count(&self) -> u64 {
        self.too_slow.get()
    }

    /// The whole exposition, with the scrape-time values set first.
    pub fn render(&self, now: Scraped<'_>) -> String {
        self.seq.set(i64::try_from(now.seq).unwrap_or(i64::MAX));
        self.journal_bytes.set(i64::try_from(now.journal_bytes).unwrap_or(i64::MAX));
        self.screen_lag.clear();
        for (screen, lag) in now.screens {
            if let Some(lag) = lag {
                let label = ScreenLabel { screen: screen.clone() };
                self.screen_lag.get_or_create(&label).set(i64::try_from(*lag).unwrap_or(i64::MAX));
            }
        }
        self.screens_online.set(now.screens.len() as i64);
        let grades = &now.board.grades;
        for (outcome, count) in [
            ("inside", grades.inside),
            ("early", grades.early),
            ("late", grades.late),
            ("without", grades.without),
        ] {
            self.estimates.get_or_create(&OutcomeLabel { outcome }).set(i64::from(count));
        }
        self.estimate_error.set(grades.median_error_minutes().map_or(-1, i64::from));
        self.waiting.clear();
        for (agency, queue) in &now.board.queues {
            let label = AgencyLabel { agency: agency.clone() };
            self.waiting.get_or_create(&label).set(i64::from(queue.waiting_counts().0));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Display => "display",
        Role::Staff => "staff",
        Role::Kiosk => "kiosk",
    }
}
