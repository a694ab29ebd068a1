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
    /// Pages of other origins that may open the WebSocket (`allowed_origins` in hub.toml).
    pub allowed_origins: Vec<String>,
    pub shutdown: Shutdown,
    pub metrics: Arc<Metrics>,
    pub fleet: Arc<Fleet>,
    /// Places of the phone pages' live feeds (`limits.max_public`, `limits.public_per_peer`).
    pub public_places: Arc<super::admission::Admission>,
    /// Where the phones' feeds run.
    pub phones: super::public::PhoneRuntime,
    /// The day history the reports read.
    pub history: std::path::PathBuf,
    /// Survey answers per phone address.
    pub survey_rate: RateLimiter,
    /// `/antrean/layanan`, reused for a few seconds.
    pub standards: super::public::StandardsCache,
    /// Refused connections are logged at most once per window (a flood of them would bury the
    /// rest of the log); each line says how many were left out.
    pub refusals: LogThrottle,
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/ws", get(upgrade))
        .merge(super::public::routes())
        .merge(http::routes())
        .merge(super::report::routes())
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
    if let Err(refused) = check_origin(&headers, &shared.allowed_origins) {
        return refused.into_response();
    }
    let admitted = ticket.and_then(|Extension(ticket)| ticket.take());
    ws.read_buffer_size(READ_BUFFER)
        .max_frame_size(MAX_FRAME_BYTES)
        .max_message_size(MAX_FRAME_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .on_upgrade(move |socket| super::connection::serve(socket, shared, peer, admitted))
}

/// A browser names the page that opens a WebSocket in `Origin`: only the hub's own pages and the
/// configured `allowed_origins` may (another site open on a counter PC must not use that browser
/// to reach the hub). Programs (screens, the CLI) send no Origin.
pub(crate) fn check_origin(headers: &HeaderMap, allowed: &[String]) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).map(|o| o.to_str().unwrap_or_default()) else {
        return Ok(());
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    let own = matches!((origin_host, host), (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host));
    match own || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        true => Ok(()),
        false => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "a browser may open the hub's WebSocket only from the hub's own pages",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websocket_is_opened_by_programs_the_hub_s_pages_and_allowed_origins_only() {
        let headers = |origin: Option<&str>| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, "hub.local:7878".parse().unwrap());
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, origin.parse().unwrap());
            }
            headers
        };
        let allowed = vec!["https://signage.example.go.id".to_string()];
        assert!(check_origin(&headers(None), &allowed).is_ok(), "programs send no origin");
        assert!(check_origin(&headers(Some("http://hub.local:7878")), &allowed).is_ok());
        assert!(check_origin(&headers(Some("https://signage.example.go.id")), &allowed).is_ok());
        assert!(check_origin(&headers(Some("http://evil.example")), &allowed).is_err());
        assert!(check_origin(&headers(Some("null")), &allowed).is_err(), "a sandboxed frame or a file");
        assert!(check_origin(&headers(Some("null")), &["null".to_string()]).is_ok());
    }
}
