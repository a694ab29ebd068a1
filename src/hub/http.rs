//! HTTP API: calls, recalls and announcements for ticket systems; state, fleet actions, health
//! and metrics.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::{Principal, Tokens, may_send};
use super::fleet::{Control, Unreachable};
use super::metrics::Scraped;
use super::server::Shared;
use crate::protocol::{
    AnnounceCommand, CallCommand, CallNextCommand, Command, CounterCommand, ErrorCode, HubFrame,
    IssueCommand, MAX_ERROR_CHARS, MAX_FRAME_BYTES, Priority, RecallCommand, Role, Seq, Ticket, truncate,
};
use crate::random_id::random_id;

pub fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/api/calls", post(command_endpoint::<CallRequest>))
        .route("/api/calls/next", post(command_endpoint::<CallNextRequest>))
        .route("/api/recall", post(command_endpoint::<RecallRequest>))
        .route("/api/announce", post(command_endpoint::<AnnounceRequest>))
        .route("/api/tickets", post(command_endpoint::<IssueRequest>))
        .route("/api/done", post(command_endpoint::<DoneRequest>))
        .route("/api/no-show", post(command_endpoint::<NoShowRequest>))
        .route("/api/waiting", get(get_waiting))
        .route("/api/hall", get(get_hall))
        .route("/api/qr", get(get_qr))
        .route("/api/state", get(get_state))
        .route("/api/screens", get(list_screens))
        .route("/api/screens/{screen}", delete(remove_screen))
        .route("/api/screens/{screen}/{action}", post(screen_action))
        .route("/api/screens/{screen}/screenshot", post(upload_screenshot).get(get_screenshot))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .merge(super::pages::routes())
}

/// The largest screenshot a screen may upload (a 4K board as PNG is a few MB).
const MAX_SCREENSHOT_BYTES: usize = 16 * 1024 * 1024;
/// Screenshot uploads read at once: each may hold [`MAX_SCREENSHOT_BYTES`] in memory.
pub const UPLOADS_AT_ONCE: usize = 2;
/// How long the screen id stays on a screen after "identify".
const IDENTIFY_SECONDS: u32 = 10;

/// `POST /api/calls` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallRequest {
    #[serde(default)]
    id: Option<String>,
    ticket: Ticket,
    counter: u16,
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    service: Option<String>,
}

/// `POST /api/calls/next` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallNextRequest {
    #[serde(default)]
    id: Option<String>,
    counter: u16,
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    letter: Option<String>,
}

/// `POST /api/recall` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecallRequest {
    #[serde(default)]
    id: Option<String>,
    counter: u16,
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    ticket: Option<Ticket>,
}

/// `POST /api/announce` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnounceRequest {
    #[serde(default)]
    id: Option<String>,
    phrase: String,
}

/// `POST /api/tickets` body: a ticket handed out (kiosk or staff token).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    #[serde(default)]
    id: Option<String>,
    agency: String,
    #[serde(default)]
    ticket: Option<Ticket>,
    #[serde(default)]
    letter: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    priority: Option<Priority>,
}

/// `POST /api/done` and `POST /api/no-show` body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterRequest {
    #[serde(default)]
    id: Option<String>,
    counter: u16,
    #[serde(default)]
    agency: Option<String>,
}

#[derive(Deserialize)]
#[serde(transparent)]
struct DoneRequest(CounterRequest);

#[derive(Deserialize)]
#[serde(transparent)]
struct NoShowRequest(CounterRequest);

/// A request body that carries one staff command.
trait CommandRequest: DeserializeOwned {
    fn into_command(self) -> (Option<String>, Command);
}

impl CommandRequest for CallRequest {
    fn into_command(self) -> (Option<String>, Command) {
        let CallRequest { id, ticket, counter, agency, service } = self;
        (id, Command::Call(CallCommand { ticket, counter, agency, service }))
    }
}

impl CommandRequest for CallNextRequest {
    fn into_command(self) -> (Option<String>, Command) {
        let CallNextRequest { id, counter, agency, letter } = self;
        (id, Command::CallNext(CallNextCommand { counter, agency, letter }))
    }
}

impl CommandRequest for RecallRequest {
    fn into_command(self) -> (Option<String>, Command) {
        let RecallRequest { id, counter, agency, ticket } = self;
        (id, Command::Recall(RecallCommand { counter, agency, ticket }))
    }
}

impl CommandRequest for IssueRequest {
    fn into_command(self) -> (Option<String>, Command) {
        let IssueRequest { id, agency, ticket, letter, service, priority } = self;
        (id, Command::Issue(IssueCommand { agency, ticket, letter, service, priority }))
    }
}

impl CommandRequest for DoneRequest {
    fn into_command(self) -> (Option<String>, Command) {
        let CounterRequest { id, counter, agency } = self.0;
        (id, Command::Done(CounterCommand { counter, agency }))
    }
}

impl CommandRequest for NoShowRequest {
    fn into_command(self) -> (Option<String>, Command) {
        let CounterRequest { id, counter, agency } = self.0;
        (id, Command::NoShow(CounterCommand { counter, agency }))
    }
}

impl CommandRequest for AnnounceRequest {
    fn into_command(self) -> (Option<String>, Command) {
        (self.id, Command::Announce(AnnounceCommand { phrase: self.phrase }))
    }
}

/// Auth → role → body → rate limit → journal; the ack once the command is durable.
async fn command_endpoint<R: CommandRequest>(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (shared, headers) = (&*shared, &headers);
    let principal = authenticate(&shared.tokens, headers)?;
    if principal.role == Role::Display {
        return Err(ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, "this needs a staff token"));
    }
    let (id, command) = parse_body::<R>(&command_body(body)?)?.into_command();
    if let Err(message) = may_send(principal.role, &command) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, message));
    }
    let id = command_id(id, headers)?;
    if let Err(wait) = shared.rate.allow(&principal.name) {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let message = format!("too many commands for token {}; retry in {secs} s", principal.name);
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, message).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(response);
    }
    match shared.core.command(id.clone(), command).await {
        Ok(ack) => {
            let mut answer = json!({ "id": id, "seq": ack.seq, "duplicate": ack.duplicate });
            if let Some(issued) = ack.issued {
                answer["issued"] = json!(issued);
                // What a receipt prints, in the citizen's words.
                answer["estimate_text"] = json!(issued.estimate.map_or("—".to_string(), |b| b.to_string()));
            }
            Ok(Json(answer).into_response())
        }
        Err(rejection) => Err(rejection.into()),
    }
}

impl From<super::core::Rejection> for ApiError {
    /// A refused command as an HTTP answer: 503 when the journal could not take it (try again),
    /// 404 and 409 for a survey answer with no served ticket or a second one, 400 otherwise.
    fn from(rejection: super::core::Rejection) -> ApiError {
        let status = match rejection.code {
            ErrorCode::JournalUnavailable | ErrorCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::NotServed => StatusCode::NOT_FOUND,
            ErrorCode::AlreadyAnswered => StatusCode::CONFLICT,
            _ => StatusCode::BAD_REQUEST,
        };
        let error = ApiError::new(status, rejection.code, rejection.message);
        match rejection.field {
            Some(field) => error.field(field),
            None => error,
        }
    }
}

/// A command's body, or why it cannot be read.
pub(crate) fn command_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let message = format!("request body is larger than {MAX_FRAME_BYTES} bytes");
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::FrameTooLarge, message)
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadFrame, rejection.body_text())
        }
    })
}

/// The command id from the body or an `Idempotency-Key` header; a fresh one if neither.
pub(crate) fn command_id(id: Option<String>, headers: &HeaderMap) -> Result<String, ApiError> {
    match id.or_else(|| header_text(headers, "idempotency-key")) {
        Some(id) if id.is_empty() || id.len() > 128 => {
            let e =
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadFrame, "id must be 1 to 128 characters");
            Err(e.field("id"))
        }
        Some(id) => Ok(id),
        None => Ok(random_id("http")),
    }
}

async fn get_state(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authenticate(&shared.tokens, &headers)?;
    let board = shared.core.board().await.ok_or_else(shutting_down)?;
    Ok(Json(json!({ "seq": board.seq, "board": board })).into_response())
}

/// `GET /api/waiting`: per agency who waits, the band a new ticket gets now, and how the day's
/// bands held up against the waits that followed (any token).
async fn get_waiting(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authenticate(&shared.tokens, &headers)?;
    let (board, hall) = shared.core.board_and_hall().await.ok_or_else(shutting_down)?;
    Ok(Json(crate::waiting::report(&board, &hall, jiff::Timestamp::now())).into_response())
}

/// `GET /api/hall`: the hall data commands are checked against (any token): what the ticket
/// kiosk page shows its buttons from.
async fn get_hall(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authenticate(&shared.tokens, &headers)?;
    let (_, hall) = shared.core.board_and_hall().await.ok_or_else(shutting_down)?;
    Ok(Json(&*hall).into_response())
}

#[derive(Deserialize)]
struct QrQuery {
    data: String,
}

/// `GET /api/qr?data=TEXT`: a QR code of `data` as SVG, for the kiosk's receipts (kiosk or staff
/// token: the hub is no QR service for anyone else).
async fn get_qr(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<QrQuery>,
) -> Result<Response, ApiError> {
    let principal = authenticate(&shared.tokens, &headers)?;
    if principal.role == Role::Display {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "this needs a kiosk or staff token",
        ));
    }
    let image = super::qr::svg(&query.data, 160).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::InvalidCommand, e.to_string()).field("data")
    })?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], image).into_response())
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    let board = shared.core.board().await.ok_or_else(shutting_down)?;
    let (displays, staff) = shared.metrics.connections();
    Ok(Json(json!({
        "status": "ok",
        "version": crate::VERSION,
        "seq": board.seq,
        "connections": { "display": displays, "staff": staff, "public": shared.metrics.public_connections() },
    }))
    .into_response())
}

/// `GET /api/screens`: every screen that ever connected, for the fleet page.
async fn list_screens(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Result<Response, ApiError> {
    staff_only(&shared.tokens, &headers)?;
    let board = shared.core.board().await.ok_or_else(shutting_down)?;
    let screens = shared.fleet.list(board.seq);
    Ok(Json(json!({ "seq": board.seq, "hub": crate::VERSION, "screens": screens })).into_response())
}

/// `POST /api/screens/{screen}/{identify | reload | screenshot-request}`: a fleet-page action
/// sent down that screen's connection. `reload` sends it a fresh snapshot (the hall and layouts
/// as the hub has them now); `screenshot-request` answers 202, the PNG follows by upload.
async fn screen_action(
    State(shared): State<Arc<Shared>>,
    Path((screen, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    staff_only(&shared.tokens, &headers)?;
    let (control, status, answer) = match action.as_str() {
        "identify" => (
            Control::Frame(HubFrame::Identify { seconds: IDENTIFY_SECONDS }),
            StatusCode::OK,
            json!({ "screen": screen, "seconds": IDENTIFY_SECONDS }),
        ),
        "reload" => (Control::Resend, StatusCode::OK, json!({ "screen": screen })),
        "screenshot-request" => {
            // Sent down one connection, which alone learns the request id the upload must carry.
            let request = shared.fleet.ask_screenshot(&screen).map_err(|e| unreachable_error(&screen, e))?;
            let answer = json!({ "screen": screen, "request": request });
            return Ok((StatusCode::ACCEPTED, Json(answer)).into_response());
        }
        _ => return Err(not_found().await),
    };
    shared.fleet.send(&screen, control).map_err(|e| unreachable_error(&screen, e))?;
    Ok((status, Json(answer)).into_response())
}

/// `DELETE /api/screens/{screen}`: the fleet page forgets a screen that is offline for good.
async fn remove_screen(
    State(shared): State<Arc<Shared>>,
    Path(screen): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    staff_only(&shared.tokens, &headers)?;
    shared.fleet.remove(&screen).map_err(|e| unreachable_error(&screen, e))?;
    tracing::info!(screen = screen.as_str(), "screen removed from the fleet");
    Ok(Json(json!({ "screen": screen, "removed": true })).into_response())
}

/// `?request=…` of a screenshot upload.
#[derive(Deserialize)]
struct UploadQuery {
    #[serde(default)]
    request: String,
}

/// A screen uploads the PNG it was asked for. Everything that costs nothing is checked before
/// the body is read: the token (a display token), that this screen was asked with this request
/// id, and a free upload place (at most [`UPLOADS_AT_ONCE`]); only then is the body read.
async fn upload_screenshot(
    State(shared): State<Arc<Shared>>,
    Path(screen): Path<String>,
    Query(UploadQuery { request }): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let principal = authenticate(&shared.tokens, &headers)?;
    if principal.role != Role::Display {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "screens upload with a display token",
        ));
    }
    if !shared.fleet.awaits_screenshot(&screen, &request) {
        return Err(unreachable_error(&screen, Unreachable::NotAsked));
    }
    let Ok(_uploading) = shared.uploads.try_acquire() else {
        let mut response = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RateLimited,
            "another screenshot is being uploaded; try again in a moment",
        )
        .into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(2));
        return Ok(response);
    };
    let png = axum::body::to_bytes(body, MAX_SCREENSHOT_BYTES).await.map_err(|_| {
        let message = format!("a screenshot is a PNG of at most {MAX_SCREENSHOT_BYTES} bytes");
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::FrameTooLarge, message)
    })?;
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadFrame, "the body is not a PNG"));
    }
    let bytes = png.len();
    shared.fleet.store_screenshot(&screen, &request, png).map_err(|e| unreachable_error(&screen, e))?;
    tracing::info!(screen = screen.as_str(), bytes, "screenshot received");
    Ok(Json(json!({ "screen": screen, "bytes": bytes })).into_response())
}

async fn get_screenshot(
    State(shared): State<Arc<Shared>>,
    Path(screen): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    staff_only(&shared.tokens, &headers)?;
    let shot = shared.fleet.screenshot(&screen).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, ErrorCode::BadFrame, format!("no screenshot of {screen:?} yet"))
            .code("not_found")
    })?;
    let mut response = shot.png.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(at) = HeaderValue::from_str(&shot.at.to_string()) {
        headers.insert("x-papan-taken-at", at);
    }
    Ok(response)
}

/// `GET /metrics`, unauthenticated like `/healthz` (no secrets in it; bind or firewall the hub).
async fn metrics(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    let board = shared.core.board().await.ok_or_else(shutting_down)?;
    let online: Vec<(String, Option<Seq>)> =
        shared.fleet.list(board.seq).into_iter().filter(|s| s.online).map(|s| (s.screen, s.lag)).collect();
    let journal_bytes = shared.core.journal_size().await.unwrap_or(0);
    let text =
        shared.metrics.render(Scraped { seq: board.seq, journal_bytes, screens: &online, board: &board });
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

fn unreachable_error(screen: &str, why: Unreachable) -> ApiError {
    let (status, code, message) = match why {
        Unreachable::UnknownScreen => {
            (StatusCode::NOT_FOUND, "unknown_screen", format!("no screen {screen:?} has connected"))
        }
        Unreachable::Offline => {
            (StatusCode::CONFLICT, "screen_offline", format!("screen {screen:?} is offline"))
        }
        Unreachable::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "screen_busy",
            format!("screen {screen:?} is not taking actions; try again"),
        ),
        Unreachable::Online => (
            StatusCode::CONFLICT,
            "screen_online",
            format!("screen {screen:?} is connected; only an offline screen can be removed"),
        ),
        Unreachable::NotAsked => (
            StatusCode::FORBIDDEN,
            "screenshot_not_asked",
            format!("no screenshot of {screen:?} was asked for with this request id (or it came already)"),
        ),
    };
    ApiError::new(status, ErrorCode::BadFrame, message).code(code)
}

/// The fleet page and its actions are for staff tokens only.
pub(crate) fn staff_only(tokens: &Tokens, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let principal = authenticate(tokens, headers)?;
    if principal.role != Role::Staff {
        return Err(ApiError::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, "this needs a staff token"));
    }
    Ok(principal)
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::BadFrame, "no such endpoint; see docs/protocol.md")
        .code("not_found")
}

fn shutting_down() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ShuttingDown, "the hub is shutting down")
}

fn authenticate(tokens: &Tokens, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let unauthorized = |message: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::BadToken, message.to_string()).with_challenge()
    };
    let value = header_text(headers, "authorization")
        .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| unauthorized("Authorization must be Bearer <token>"))?;
    tokens.check(token.trim()).ok_or_else(|| unauthorized("unknown token"))
}

pub(crate) fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Parses a JSON body, naming the field at fault.
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        let field = if path == "." { quoted_field(&message) } else { Some(path) };
        let message = match &field {
            Some(field) if !message.contains(field.as_str()) => format!("{field}: {message}"),
            _ => message,
        };
        // Serde quotes the offending name or value: a hostile body must not get itself echoed.
        let field = field.map(|f| truncate(&f, 100));
        let error =
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadFrame, truncate(&message, MAX_ERROR_CHARS));
        ApiError { field, ..error }
    })
}

/// The field serde names in "missing field `x`" / "unknown field `x`".
fn quoted_field(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// A JSON error response: `{"error": {"code", "message", "field"?}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    field: Option<String>,
    challenge: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.as_str().to_string(),
            message: message.into(),
            field: None,
            challenge: false,
        }
    }

    pub(crate) fn code(self, code: &str) -> ApiError {
        ApiError { code: code.to_string(), ..self }
    }

    pub(crate) fn field(self, field: &str) -> ApiError {
        ApiError { field: Some(field.to_string()), ..self }
    }

    fn with_challenge(self) -> ApiError {
        ApiError { challenge: true, ..self }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        if self.challenge {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
