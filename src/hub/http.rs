//! HTTP API for ticket systems: calls, recalls, announcements, state and health, as JSON.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::auth::Principal;
use super::config::new_token;
use super::server::Shared;
use crate::protocol::{
    AnnounceCommand, CallCommand, Command, ErrorCode, MAX_FRAME_BYTES, RecallCommand, Role, Ticket,
};

pub fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/api/calls", post(command_endpoint::<CallRequest>))
        .route("/api/recall", post(command_endpoint::<RecallRequest>))
        .route("/api/announce", post(command_endpoint::<AnnounceRequest>))
        .route("/api/state", get(get_state))
        .route("/healthz", get(healthz))
}

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

impl CommandRequest for RecallRequest {
    fn into_command(self) -> (Option<String>, Command) {
        let RecallRequest { id, counter, agency, ticket } = self;
        (id, Command::Recall(RecallCommand { counter, agency, ticket }))
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
    let principal = authenticate(shared, headers)?;
    if principal.role != Role::Staff {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "display tokens may not send commands",
        ));
    }
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            let message = format!("request body is larger than {MAX_FRAME_BYTES} bytes");
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::FrameTooLarge, message)
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadFrame, rejection.body_text())
        }
    })?;
    let (id, command) = parse_body::<R>(&body)?.into_command();
    let id = match id.or_else(|| header_text(headers, "idempotency-key")) {
        Some(id) if id.is_empty() || id.len() > 128 => {
            let e =
                ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadFrame, "id must be 1 to 128 characters");
            return Err(e.field("id"));
        }
        Some(id) => id,
        None => new_token("http"),
    };
    if let Err(wait) = shared.rate.allow(&principal.name) {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let message = format!("too many commands for token {}; retry in {secs} s", principal.name);
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, message).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(response);
    }
    match shared.core.command(id.clone(), command).await {
        Ok(ack) => Ok(Json(json!({ "id": id, "seq": ack.seq, "duplicate": ack.duplicate })).into_response()),
        Err(rejection) => {
            let status = match rejection.code {
                ErrorCode::JournalUnavailable | ErrorCode::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            let error = ApiError::new(status, rejection.code, rejection.message);
            Err(match rejection.field {
                Some(field) => error.field(field),
                None => error,
            })
        }
    }
}

async fn get_state(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Result<Response, ApiError> {
    authenticate(&shared, &headers)?;
    let board = shared.core.board().await.ok_or_else(shutting_down)?;
    Ok(Json(json!({ "seq": board.seq, "board": board })).into_response())
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Result<Response, ApiError> {
    let board = shared.core.board().await.ok_or_else(shutting_down)?;
    let (displays, staff) = shared.stats.connections();
    Ok(Json(json!({
        "status": "ok",
        "version": crate::VERSION,
        "seq": board.seq,
        "connections": { "display": displays, "staff": staff },
    }))
    .into_response())
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, ErrorCode::BadFrame, "no such endpoint; see docs/protocol.md")
        .code("not_found")
}

fn shutting_down() -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::ShuttingDown, "the hub is shutting down")
}

fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let unauthorized = |message: &str| {
        ApiError::new(StatusCode::UNAUTHORIZED, ErrorCode::BadToken, message.to_string()).with_challenge()
    };
    let value = header_text(headers, "authorization")
        .ok_or_else(|| unauthorized("missing Authorization: Bearer <token>"))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| unauthorized("Authorization must be Bearer <token>"))?;
    shared.tokens.check(token.trim()).ok_or_else(|| unauthorized("unknown token"))
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
}

/// Parses a JSON body, naming the field at fault.
fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.to_string();
        let field = if path == "." { quoted_field(&message) } else { Some(path) };
        let error = ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadFrame,
            match &field {
                Some(field) if !message.contains(field.as_str()) => format!("{field}: {message}"),
                _ => message,
            },
        );
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

    fn code(self, code: &str) -> ApiError {
        ApiError { code: code.to_string(), ..self }
    }

    fn field(self, field: &str) -> ApiError {
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
