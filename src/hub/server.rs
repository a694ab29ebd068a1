//! The hub's router and shared state: `/ws` with a connection cap, the HTTP API and pages.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Extension;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

use super::admission::Ticket;
use super::auth::Tokens;
use super::config::Limits;
use super::core::CoreHandle;
use super::fleet::Fleet;
use super::http::{self, ApiError};
use super::log_throttle::LogThrottle;
use super::metrics::Metrics;
use super::rate::RateLimiter;
use super::shutdown::Shutdown;
use crate::protocol::{ErrorCode, MAX_FRAME_BYTES, MAX_WRITE_BUFFER, READ_BUFFER};

/// What every connection and request handler shares.
pub struct Shared {
    pub core: CoreHandle,
    pub tokens: Tokens,
    pub limits: Limits,
    pub rate: RateLimiter,
    /// One permit per signed-in WebSocket.
    pub connections: Arc<Semaphore>,
    /// Screenshot uploads being read (each may hold 16 MiB).
    pub uploads: Semaphore,
    pub shutdown: Shutdown,
    pub metrics: Arc<Metrics>,
    pub fleet: Arc<Fleet>,
    /// Refused connections are logged at most once per window (a flood of them would bury the
    /// rest of the log); each line says how many were left out.
    pub refusals: LogThrottle,
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .merge(http::routes())
        .fallback(http::not_found)
        .layer(DefaultBodyLimit::max(MAX_FRAME_BYTES))
        .layer(axum::middleware::from_fn(super::http_server::guard))
        .with_state(shared)
}

/// Opens a WebSocket. Until its hello the socket keeps the place its HTTP connection was admitted
/// with (not one of the signed-in places, which only a good hello takes).
async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ticket: Option<Extension<Ticket>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = check_origin(&headers) {
        return refused.into_response();
    }
    let admitted = ticket.and_then(|Extension(ticket)| ticket.take());
    ws.read_buffer_size(READ_BUFFER)
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| super::connection::serve(socket, shared, peer, admitted))
}

/// A browser names the page that opens a WebSocket in `Origin`: only the hub's own pages may
/// (another site open on a counter PC must not use that browser to reach the hub). Programs
/// (screens, the CLI) send no Origin.
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else { return Ok(()) };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest);
    match (origin_host, host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "a browser may open the hub's WebSocket only from the hub's own pages",
        )),
    }
}
