//! The hub's router and shared state: `/ws` with a connection cap, the HTTP API and pages.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::Semaphore;

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
    /// One permit per open WebSocket.
    pub connections: Arc<Semaphore>,
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
        .with_state(shared)
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let Ok(permit) = shared.connections.clone().try_acquire_owned() else {
        if let Some(more) = shared.refusals.admit() {
            let max = shared.limits.max_connections;
            tracing::warn!(%peer, max, refused_unlogged = more, "connection refused: cap reached");
        }
        let message = format!("the hub serves at most {} connections", shared.limits.max_connections);
        return ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::TooManyConnections, message)
            .into_response();
    };
    ws.read_buffer_size(READ_BUFFER)
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| super::connection::serve(socket, shared, peer, permit))
}
