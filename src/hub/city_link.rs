//! A JetStream hub's link to the city view over NATS: it reports the hall (seq, screens, latest
//! calls) every two seconds on `papan.<hall>.report` and answers the city's ticker and announce
//! commands, and its asks for a day's report, on `papan.<hall>.command` (one hub of the hall
//! answers each, through a queue group).

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::core::CoreHandle;
use super::fleet::Fleet;
use super::shutdown::Shutdown;
use crate::board::CallRecord;
use crate::hall::Phrase;
use crate::protocol::{Command, ErrorCode, Seq};

/// How often a hub reports its hall; the city counts a hub silent for [`STALE_AFTER`] as gone.
pub const REPORT_INTERVAL: Duration = Duration::from_secs(2);
/// Three missed reports and a second of slack.
pub const STALE_AFTER: Duration = Duration::from_secs(7);
/// Every hall's reports, for the city view's subscription.
pub const ALL_REPORTS: &str = "papan.*.report";
/// Latest calls a report carries.
const RECENT_CALLS: usize = 5;
/// A publish the NATS connection cannot take this long is dropped (the next report follows).
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(1);

pub fn report_subject(hall_id: &str) -> String {
    format!("papan.{hall_id}.report")
}

pub fn command_subject(hall_id: &str) -> String {
    format!("papan.{hall_id}.command")
}

/// What one hub tells the city about its hall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HallReport {
    pub hall_id: String,
    pub hall_name: String,
    /// The reporting hub: host name and port.
    pub hub: String,
    pub version: String,
    pub seq: Seq,
    pub ticker: Option<String>,
    /// Newest first.
    pub recent: Vec<CallRecord>,
    pub screens: Vec<ScreenReport>,
    /// The prerecorded announcements the hall has, for the city's announce form.
    pub phrases: Vec<Phrase>,
    /// The hall's time zone: the city page shows each hall's times in its own (a kecamatan site
    /// in WITA is not in WIB). Absent from hubs before 2026-12-03.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<crate::hall::TimeZone>,
}

/// One screen as its hub sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenReport {
    pub screen: String,
    pub online: bool,
    pub last_seen: jiff::Timestamp,
    /// The seq the screen last reported having (`None` before its first status).
    pub last_seq: Option<Seq>,
    pub layout: String,
    pub version: String,
    /// What the screen says is wrong with its layout or voice, if anything.
    pub problem: Option<String>,
}

/// A command from the city to a hall: `{"id": …, "command": {"type": "ticker", …}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CityCommand {
    pub id: String,
    pub command: Command,
}

/// The city asks for a hall's day (`{"report": "2026-12-03"}`; `null`: the day in progress); the
/// hall answers with a [`crate::day_report::HallDay`] or a [`CityReply::Refused`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportAsk {
    pub report: Option<jiff::civil::Date>,
}

/// A hall's answer to a [`CityCommand`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CityReply {
    Acked { seq: Seq, duplicate: bool },
    Refused { code: ErrorCode, message: String },
}

/// Connects to NATS for the city link (the hub's and the city view's side alike). Replies come
/// to `inbox` (see [`inbox_prefix`]); credentials, if any, come in the URL (`nats://user:pass@…`).
pub async fn connect(servers: &str, name: String, inbox: String) -> anyhow::Result<async_nats::Client> {
    let (options, servers) = super::jetstream::connect_options(servers)?;
    Ok(options.name(name).custom_inbox_prefix(inbox).connect(servers).await?)
}

/// Where replies to `who` (a hall id, or `city`) arrive: an inbox of its own, so NATS permissions
/// can let each user read its own replies only (deploy/nats/auth.conf).
pub fn inbox_prefix(who: &str) -> String {
    format!("_INBOX_{who}")
}

/// This hub in reports: the machine's host name and the hub's port.
pub fn hub_name(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    format!("{}:{port}", if host.is_empty() { "hub" } else { host })
}

/// What the link needs of the hub.
pub struct HubSide {
    pub hall_id: String,
    pub hub: String,
    pub core: CoreHandle,
    pub fleet: Arc<Fleet>,
    /// The day history, for the city's report asks.
    pub history: std::path::PathBuf,
}

/// Reports the hall and answers the city until shutdown.
pub async fn serve(client: async_nats::Client, side: HubSide, mut shutdown: Shutdown) {
    let subject = command_subject(&side.hall_id);
    let queue = format!("papan-hubs-{}", side.hall_id);
    let mut commands = match client.queue_subscribe(subject.clone(), queue).await {
        Ok(commands) => Some(commands),
        Err(e) => {
            tracing::error!("the city cannot send commands to this hub: subscribing to {subject}: {e}");
            None
        }
    };
    let mut every = tokio::time::interval(REPORT_INTERVAL);
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = every.tick() => publish_report(&client, &side).await,
            Some(message) = async { commands.as_mut()?.next().await } => {
                let (client, core) = (client.clone(), side.core.clone());
                let (hall_id, history) = (side.hall_id.clone(), side.history.clone());
                tokio::spawn(async move {
                    let body = match serde_json::from_slice::<ReportAsk>(&message.payload) {
                        Ok(ask) => day_for_city(&core, &history, hall_id, ask.report).await,
                        Err(_) => serde_json::to_vec(&answer(&core, &message.payload).await),
                    };
                    let Some(to) = message.reply else { return };
                    let body = body.expect("city replies serialize");
                    if let Err(e) = client.publish(to, body.into()).await {
                        tracing::warn!("answering the city: {e}");
                    }
                });
            }
        }
    }
    // Both wait for the server, which may be out of reach: shutdown does not wait for it.
    let goodbye = async {
        if let Some(mut commands) = commands {
            let _ = commands.unsubscribe().await;
        }
        let _ = client.flush().await;
    };
    if tokio::time::timeout(PUBLISH_TIMEOUT, goodbye).await.is_err() {
        tracing::debug!("NATS did not take the city link's goodbye; stopping without it");
    }
}

async fn publish_report(client: &async_nats::Client, side: &HubSide) {
    // The hall as the hub serves it now: an edited hall file's name and phrases reach the city.
    let Some((board, hall)) = side.core.board_and_hall().await else { return };
    let report = HallReport {
        hall_id: side.hall_id.clone(),
        hall_name: hall.name.clone(),
        hub: side.hub.clone(),
        version: crate::VERSION.to_string(),
        seq: board.seq,
        ticker: board.ticker.clone(),
        recent: board.recent.iter().take(RECENT_CALLS).cloned().collect(),
        screens: side
            .fleet
            .list(board.seq)
            .into_iter()
            .map(|info| {
                let status = info.status.unwrap_or_default();
                let problem = match (status.layout_error, status.voice_error) {
                    (Some(layout), Some(voice)) => Some(format!("{layout}; {voice}")),
                    (layout, voice) => layout.or(voice),
                };
                ScreenReport {
                    screen: info.screen,
                    online: info.online,
                    last_seen: info.last_seen,
                    last_seq: info.status_at.map(|_| status.last_seq),
                    layout: status.layout,
                    version: status.version,
                    problem,
                }
            })
            .collect(),
        phrases: hall.phrases.clone(),
        timezone: Some(hall.timezone),
    };
    let body = serde_json::to_vec(&report).expect("hall report serializes");
    let subject = report_subject(&side.hall_id);
    match tokio::time::timeout(PUBLISH_TIMEOUT, client.publish(subject, body.into())).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!("reporting the hall to the city: {e}"),
        Err(_) => tracing::debug!("reporting the hall to the city: NATS did not take the report"),
    }
}

/// The hall's day for the city's report: its totals (the city adds the halls up), or why not.
async fn day_for_city(
    core: &CoreHandle,
    history: &std::path::Path,
    hall_id: String,
    day: Option<jiff::civil::Date>,
) -> serde_json::Result<Vec<u8>> {
    match super::report::day_report(core, history, day).await {
        Ok(report) => serde_json::to_vec(&crate::day_report::HallDay {
            hall_id,
            hall_name: report.hall,
            day: report.day,
            totals: report.totals,
            hours: report.hours,
        }),
        Err(e) => {
            let code = match e {
                super::report::ReportError::Stopping => ErrorCode::ShuttingDown,
                super::report::ReportError::History(_) => ErrorCode::JournalUnavailable,
            };
            serde_json::to_vec(&CityReply::Refused { code, message: e.to_string() })
        }
    }
}

/// Applies a city command: only a ticker or an announcement (calls are the hall's business).
async fn answer(core: &CoreHandle, payload: &[u8]) -> CityReply {
    let refused = |code, message: String| CityReply::Refused { code, message };
    let CityCommand { id, command } = match serde_json::from_slice(payload) {
        Ok(command) => command,
        Err(e) => return refused(ErrorCode::BadFrame, format!("not a city command: {e}")),
    };
    if id.is_empty() || id.len() > 128 {
        return refused(ErrorCode::BadFrame, "id must be 1 to 128 characters".into());
    }
    if !matches!(command, Command::Ticker(_) | Command::Announce(_)) {
        let message = format!("the city sends only ticker and announce, not {}", command.kind());
        return refused(ErrorCode::Forbidden, message);
    }
    match core.command(id, command).await {
        Ok(ack) => CityReply::Acked { seq: ack.seq, duplicate: ack.duplicate },
        Err(rejection) => refused(rejection.code, rejection.message),
    }
}
