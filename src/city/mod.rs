//! `papan city`: the fleet page and API across every hall on a NATS cluster (halls, hubs,
//! screens, lag, latest calls), and city-wide tickers and prerecorded announcements sent to all
//! halls or a chosen list. It reads the hubs' reports and asks the halls' hubs over NATS.

mod view;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::json;

use self::view::{CityView, Unforgettable};
use crate::hub::admission::Admission;
use crate::hub::auth::Tokens;
use crate::hub::city_link::{self, CityCommand, CityReply};
use crate::hub::config::HubConfig;
use crate::hub::http::{ApiError, command_body, command_id, parse_body, staff_only};
use crate::hub::pages::asset;
use crate::hub::shutdown::{self, Shutdown, ShutdownTrigger};
use crate::protocol::{AnnounceCommand, Command, ErrorCode, MAX_FRAME_BYTES, TickerCommand};

/// How long the city waits for a hall to confirm a command.
const HALL_TIMEOUT: Duration = Duration::from_secs(5);

pub struct CityOptions {
    /// `nats://HOST:4222[,…]`: the city cluster's servers.
    pub servers: String,
    /// Listen address and tokens (`city.toml`, the same format as `hub.toml`).
    pub config: HubConfig,
    /// Where the halls heard so far are kept (`halls.json`).
    pub data_dir: PathBuf,
}

struct City {
    tokens: Tokens,
    client: async_nats::Client,
    view: Mutex<CityView>,
}

/// A started city view; dropping it does not stop it: call [`RunningCity::stop`].
pub struct RunningCity {
    pub addr: SocketAddr,
    trigger: ShutdownTrigger,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningCity {
    pub fn http_url(&self) -> String {
        format!("http://{}", crate::hub::client_addr(self.addr))
    }

    pub async fn stop(self) -> anyhow::Result<()> {
        self.trigger.trigger();
        self.task.await.context("city task panicked")?
    }
}

pub async fn start(options: CityOptions) -> anyhow::Result<RunningCity> {
    let CityOptions { servers, config, data_dir } = options;
    std::fs::create_dir_all(&data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let halls_path = data_dir.join("halls.json");
    let view = Mutex::new(CityView::restore(&halls_path));
    let client = city_link::connect(&servers, "papan-city".into(), city_link::inbox_prefix("city"))
        .await
        .with_context(|| format!("connecting to NATS at {servers}"))?;
    let reports =
        client.subscribe(city_link::ALL_REPORTS).await.context("subscribing to the halls' reports")?;
    let city = Arc::new(City { tokens: Tokens::new(&config.tokens), client, view });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let (trigger, shutdown) = shutdown::channel();
    let listening = tokio::spawn(listen_to_halls(reports, city.clone(), shutdown.clone()));
    let saving = tokio::spawn(save_halls(city.clone(), halls_path, shutdown.clone()));
    let admission = Admission::new(config.limits.max_unauthenticated, config.limits.connections_per_peer);
    let serving = crate::hub::http_server::serve(listener, None, router(city), admission, shutdown.clone());
    let task = tokio::spawn(async move {
        serving.await;
        let _ = listening.await;
        let _ = saving.await;
        Ok(())
    });
    tracing::info!(%addr, servers = crate::hub::jetstream::redact_servers(&servers), "city view started");
    Ok(RunningCity { addr, trigger, task })
}

async fn listen_to_halls(mut reports: async_nats::Subscriber, city: Arc<City>, mut shutdown: Shutdown) {
    // A publisher sending bad reports without end must not fill the log.
    let refusals = crate::hub::log_throttle::LogThrottle::new(Duration::from_secs(10));
    loop {
        let message = tokio::select! {
            _ = shutdown.wait() => return,
            message = reports.next() => match message {
                Some(message) => message,
                None => return,
            },
        };
        let heard = city.view.lock().expect("city view lock").hear(
            message.subject.as_str(),
            &message.payload,
            jiff::Timestamp::now(),
        );
        if let Err(e) = heard
            && let Some(more) = refusals.admit()
        {
            let subject = crate::protocol::truncate(message.subject.as_str(), 100);
            tracing::warn!(subject, refused_unlogged = more, "ignoring a hall report: {e}");
        }
    }
}

/// Keeps `halls.json` up to date; writes it a last time at shutdown.
async fn save_halls(city: Arc<City>, path: PathBuf, shutdown: Shutdown) {
    let save = |path: &std::path::Path| city.view.lock().expect("city view lock").save_if_changed(path);
    crate::hub::saved_list::keep_saved(path, "hall list", shutdown, save).await
}

fn router(city: Arc<City>) -> axum::Router {
    axum::Router::new()
        .route("/", asset!("city.html", "text/html; charset=utf-8"))
        .route("/city.js", asset!("city.js", "text/javascript; charset=utf-8"))
        .route("/console.css", asset!("console.css", "text/css; charset=utf-8"))
        .route("/common.js", asset!("common.js", "text/javascript; charset=utf-8"))
        .route("/laporan", asset!("laporan.html", "text/html; charset=utf-8"))
        .route("/laporan.js", asset!("laporan.js", "text/javascript; charset=utf-8"))
        .route("/api/report", get(city_report))
        .route("/api/report/chart/{chart}", get(city_chart))
        .route("/api/halls", get(list_halls))
        .route("/api/halls/{hall}", delete(forget_hall))
        .route("/api/ticker", post(send_ticker))
        .route("/api/announce", post(send_announce))
        .route("/healthz", get(|| async { Json(json!({ "status": "ok", "version": crate::VERSION })) }))
        .fallback(crate::hub::http::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_FRAME_BYTES))
        .layer(axum::middleware::from_fn(crate::hub::http_server::guard))
        .with_state(city)
}

/// `GET /api/halls`: every hall ever heard (kept across restarts of the city view).
async fn list_halls(State(city): State<Arc<City>>, headers: HeaderMap) -> Result<Response, ApiError> {
    staff_only(&city.tokens, &headers)?;
    let halls = city.view.lock().expect("city view lock").summaries(jiff::Timestamp::now());
    Ok(Json(json!({ "halls": halls })).into_response())
}

/// `DELETE /api/halls/{hall}`: takes a hall that closed for good off the list, and out of "all
/// halls". 409 while the hall still reports (it would come back at its next report).
async fn forget_hall(
    State(city): State<Arc<City>>,
    Path(hall): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    staff_only(&city.tokens, &headers)?;
    let forgotten = city.view.lock().expect("city view lock").forget(&hall, jiff::Timestamp::now());
    match forgotten {
        Ok(()) => {
            tracing::info!(hall, "hall forgotten");
            Ok(Json(json!({ "forgotten": hall })).into_response())
        }
        Err(Unforgettable::Unknown) => {
            let message = format!("no hall {hall:?} has been heard");
            Err(ApiError::new(StatusCode::NOT_FOUND, ErrorCode::InvalidCommand, message).code("unknown_hall"))
        }
        Err(Unforgettable::Online) => {
            let message =
                format!("hall {hall:?} is still reporting; stop its hubs first, or it is listed again");
            Err(ApiError::new(StatusCode::CONFLICT, ErrorCode::InvalidCommand, message).code("hall_online"))
        }
    }
}

/// The city's day as `GET /api/report` answers it: a row per hall and the city's total, as a
/// hall's report has a row per agency; the halls that did not answer are named.
#[derive(Serialize)]
struct CityDayReport {
    #[serde(flatten)]
    report: crate::day_report::DayReport,
    unreachable: BTreeMap<String, String>,
}

/// Asks every hall heard for its day at once and adds them up.
async fn gather_report(city: &City, day: Option<jiff::civil::Date>) -> Result<CityDayReport, ApiError> {
    let halls = city.view.lock().expect("city view lock").hall_ids();
    let body: Bytes =
        serde_json::to_vec(&city_link::ReportAsk { report: day }).expect("asks serialize").into();
    let asks = halls.iter().map(|hall| ask_day(&city.client, hall, body.clone()));
    let mut days = Vec::new();
    let mut unreachable = BTreeMap::new();
    for (hall, answer) in halls.iter().zip(futures_util::future::join_all(asks).await) {
        match answer {
            Ok(day) => days.push(day),
            Err(why) => {
                unreachable.insert(hall.clone(), why);
            }
        }
    }
    let day = day.or_else(|| days.iter().find_map(|d| d.day));
    let report = crate::day_report::DayReport::of_halls(day, "Semua aula", &days);
    Ok(CityDayReport { report, unreachable })
}

async fn ask_day(
    client: &async_nats::Client,
    hall: &str,
    body: Bytes,
) -> Result<crate::day_report::HallDay, String> {
    let asked =
        tokio::time::timeout(HALL_TIMEOUT, client.request(city_link::command_subject(hall), body)).await;
    let message = match asked {
        Ok(Ok(message)) => message,
        Ok(Err(e)) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {
            return Err(format!("no hub of hall {hall} is reachable"));
        }
        Ok(Err(e)) => return Err(format!("asking hall {hall}: {e}")),
        Err(_) => return Err(format!("hall {hall} did not answer within {HALL_TIMEOUT:?}")),
    };
    if let Ok(day) = serde_json::from_slice::<crate::day_report::HallDay>(&message.payload) {
        return Ok(day);
    }
    match serde_json::from_slice::<CityReply>(&message.payload) {
        Ok(CityReply::Refused { message, .. }) => Err(message),
        _ => Err(format!("hall {hall} answered something unreadable (a hub older than the report?)")),
    }
}

/// `GET /api/report?day=D[&format=csv]`: the day per hall and for the city (staff token).
async fn city_report(
    State(city): State<Arc<City>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<crate::hub::report::ReportQuery>,
) -> Result<Response, ApiError> {
    staff_only(&city.tokens, &headers)?;
    let csv = query.csv()?;
    let gathered = gather_report(&city, query.day()?).await?;
    if !csv {
        return Ok(Json(gathered).into_response());
    }
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], gathered.report.to_csv()).into_response())
}

/// `GET /api/report/chart/{hours|waits}`: the city's charts, a box per hall.
async fn city_chart(
    State(city): State<Arc<City>>,
    headers: HeaderMap,
    Path(chart): Path<String>,
    axum::extract::Query(query): axum::extract::Query<crate::hub::report::ReportQuery>,
) -> Result<Response, ApiError> {
    staff_only(&city.tokens, &headers)?;
    let gathered = gather_report(&city, query.day()?).await?;
    crate::hub::report::chart_response(&chart, &gathered.report, "aula")
}

/// `POST /api/ticker` body: the text (empty clears it) and, optionally, which halls.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TickerRequest {
    #[serde(default)]
    id: Option<String>,
    text: String,
    #[serde(default)]
    halls: Option<Vec<String>>,
}

/// `POST /api/announce` body: a phrase id every chosen hall has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnounceRequest {
    #[serde(default)]
    id: Option<String>,
    phrase: String,
    #[serde(default)]
    halls: Option<Vec<String>>,
}

async fn send_ticker(
    State(city): State<Arc<City>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    staff_only(&city.tokens, &headers)?;
    let TickerRequest { id, text, halls } = parse_body(&command_body(body)?)?;
    let id = command_id(id, &headers)?;
    send_to_halls(&city, id, Command::Ticker(TickerCommand { text }), halls).await
}

async fn send_announce(
    State(city): State<Arc<City>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    staff_only(&city.tokens, &headers)?;
    let AnnounceRequest { id, phrase, halls } = parse_body(&command_body(body)?)?;
    let id = command_id(id, &headers)?;
    send_to_halls(&city, id, Command::Announce(AnnounceCommand { phrase }), halls).await
}

/// One hall's outcome, as the API answers it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum HallOutcome {
    Acked { seq: crate::protocol::Seq, duplicate: bool },
    Failed { error: OutcomeError },
}

#[derive(Debug, Serialize)]
struct OutcomeError {
    code: String,
    message: String,
}

/// Sends one command to each hall at once (all heard halls when `halls` is absent): 200 when
/// every hall stored it, 502 when any did not; the body says which. Each hall's journal knows
/// the id, so repeating the request with the same id is safe.
async fn send_to_halls(
    city: &City,
    id: String,
    command: Command,
    halls: Option<Vec<String>>,
) -> Result<Response, ApiError> {
    let halls = match halls {
        Some(halls) => halls,
        None => city.view.lock().expect("city view lock").hall_ids(),
    };
    if halls.is_empty() {
        let message = "no hall to send to: none has reported yet, and none was named";
        return Err(ApiError::new(StatusCode::CONFLICT, ErrorCode::InvalidCommand, message).field("halls"));
    }
    if let Some(bad) = halls.iter().find(|h| crate::hub::jetstream::check_hall_id(h).is_err()) {
        let message = format!("{bad:?} is not a hall id (lowercase letters, digits and -)");
        return Err(ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidCommand, message).field("halls"));
    }
    let body: Bytes =
        serde_json::to_vec(&CityCommand { id: id.clone(), command }).expect("city command serializes").into();
    let asks = halls.iter().map(|hall| ask_hall(&city.client, hall, body.clone()));
    let outcomes: BTreeMap<String, HallOutcome> =
        halls.iter().cloned().zip(futures_util::future::join_all(asks).await).collect();
    let all_acked = outcomes.values().all(|o| matches!(o, HallOutcome::Acked { .. }));
    let status = if all_acked { StatusCode::OK } else { StatusCode::BAD_GATEWAY };
    tracing::info!(id, all_acked, halls = outcomes.len(), "city command sent");
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Json(json!({ "id": id, "halls": outcomes })))
        .into_response())
}

async fn ask_hall(client: &async_nats::Client, hall: &str, body: Bytes) -> HallOutcome {
    let failed = |code: &str, message: String| HallOutcome::Failed {
        error: OutcomeError { code: code.into(), message },
    };
    let asked =
        tokio::time::timeout(HALL_TIMEOUT, client.request(city_link::command_subject(hall), body)).await;
    let message = match asked {
        Ok(Ok(message)) => message,
        Ok(Err(e)) if e.kind() == async_nats::client::RequestErrorKind::NoResponders => {
            return failed("hall_unreachable", format!("no hub of hall {hall} is reachable"));
        }
        Ok(Err(e)) => return failed("hall_unreachable", format!("asking hall {hall}: {e}")),
        Err(_) => {
            return failed("hall_unreachable", format!("hall {hall} did not answer within {HALL_TIMEOUT:?}"));
        }
    };
    match serde_json::from_slice::<CityReply>(&message.payload) {
        Ok(CityReply::Acked { seq, duplicate }) => HallOutcome::Acked { seq, duplicate },
        Ok(CityReply::Refused { code, message }) => failed(code.as_str(), message),
        Err(e) => failed("bad_frame", format!("hall {hall} answered something unreadable: {e}")),
    }
}
