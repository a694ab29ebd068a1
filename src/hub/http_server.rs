//! Serves a router over HTTP/1.1, plain or TLS, with what a server on a hall's LAN needs against
//! half-open and slow clients (axum's own `serve` has none of it): a place per connection from an
//! [`Admission`] (in all and per address) taken before any TLS handshake, a deadline for the
//! request's headers, and a graceful end that waits a bounded time for requests in flight.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::admission::{Admission, Admitted, Full, Ticket};
use super::log_throttle::LogThrottle;
use super::shutdown::Shutdown;

/// A client must have sent its request's headers this long after it started them (or after the
/// connection opened): a slow-loris client holds its place no longer than this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// The TLS handshake, likewise.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// At shutdown, requests in flight get this long to finish (a call waiting for the journal is
/// answered within its 4 s deadline).
const FINISH_TIMEOUT: Duration = Duration::from_secs(5);
/// At shutdown, a connection with no request being answered gets this long to write out what it
/// has (an answer just made), then it is closed.
const WRITE_OUT_TIMEOUT: Duration = Duration::from_millis(200);
/// Refused connections are logged at most once per window.
const REFUSAL_LOG_WINDOW: Duration = Duration::from_secs(10);

/// Accepts on `tcp` (TLS when `tls` is given) and serves `router` until `shutdown`. Requests carry
/// `ConnectInfo<SocketAddr>` and the connection's admission [`Ticket`].
pub async fn serve(
    tcp: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    router: Router,
    admission: Arc<Admission>,
    mut shutdown: Shutdown,
) {
    let tls = tls.map(TlsAcceptor::from);
    let refusals = LogThrottle::new(REFUSAL_LOG_WINDOW);
    // Every connection task holds a receiver; when all are dropped, every connection is done.
    let (finished, open) = watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.wait() => break,
            accepted = tcp.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let admitted = match admission.admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(full) => {
                if let Some(more) = refusals.admit() {
                    let why = match full {
                        Full::Total => "the hub holds its most connections not signed in",
                        Full::Peer => "this address holds its most connections",
                    };
                    tracing::warn!(%peer, refused_unlogged = more, "connection refused: {why}");
                }
                // A reset frees both sides at once; a flood gets nothing to wait on.
                let _ = stream.set_zero_linger();
                continue;
            }
        };
        // Frames are small and latency matters: without TCP_NODELAY, Nagle holds an ack back
        // until the client's delayed ACK of the event frame before it (~40 ms).
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!("could not set TCP_NODELAY: {e}");
        }
        let connection = Connection { peer, router: router.clone(), shutdown: shutdown.clone() };
        tokio::spawn(connection.run(stream, tls.clone(), admitted, open.clone()));
    }
    drop(open);
    if tokio::time::timeout(FINISH_TIMEOUT, finished.closed()).await.is_err() {
        tracing::warn!("some HTTP requests did not finish within {FINISH_TIMEOUT:?} of shutdown");
    }
}

struct Connection {
    peer: SocketAddr,
    router: Router,
    shutdown: Shutdown,
}

impl Connection {
    /// Serves one connection; `_open` tells [`serve`] it is still going.
    async fn run(
        self,
        stream: TcpStream,
        tls: Option<TlsAcceptor>,
        admitted: Admitted,
        _open: watch::Receiver<()>,
    ) {
        let ticket = Ticket::new(admitted);
        let Some(acceptor) = tls else { return self.serve(stream, ticket).await };
        let mut stopping = self.shutdown.clone();
        let handshake = tokio::select! {
            // A handshake still going when the hub stops must not hold its stop up.
            _ = stopping.wait() => return,
            handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => handshake,
        };
        match handshake {
            Ok(Ok(tls)) => self.serve(tls, ticket).await,
            Ok(Err(e)) => tracing::info!(peer = %self.peer, "TLS handshake failed: {e}"),
            Err(_) => {
                tracing::info!(peer = %self.peer, "TLS handshake not finished within {HANDSHAKE_TIMEOUT:?}")
            }
        }
    }

    async fn serve<I>(mut self, io: I, ticket: Ticket)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (peer, router) = (self.peer, self.router.clone());
        // Requests being answered on this connection: at shutdown one that is idle or still
        // sending its headers is closed at once, one being answered may finish.
        let busy = Arc::new(AtomicUsize::new(0));
        let answering = busy.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            request.extensions_mut().insert(ticket.clone());
            let (router, answering) = (router.clone(), answering.clone());
            answering.fetch_add(1, Ordering::AcqRel);
            async move {
                let response = router.oneshot(request.map(Body::new)).await;
                answering.fetch_sub(1, Ordering::AcqRel);
                response
            }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder.timer(TokioTimer::new()).header_read_timeout(HEADER_TIMEOUT);
        let connection = builder.serve_connection(TokioIo::new(io), service).with_upgrades();
        tokio::pin!(connection);
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!(%peer, "HTTP connection ended: {e}");
                }
            }
            _ = self.shutdown.wait() => {
                connection.as_mut().graceful_shutdown();
                let finish = if busy.load(Ordering::Acquire) > 0 { FINISH_TIMEOUT } else { WRITE_OUT_TIMEOUT };
                let _ = tokio::time::timeout(finish, connection).await;
            }
        }
    }
}

/// A request (its body read, its answer made) must be done within this; a client that trickles a
/// body holds its place no longer. A call waits for the journal far less than this.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every page and answer is sent with: its own scripts and styles only (no inline script,
/// so injected markup cannot run), never inside another site's frame, no sniffing, no referrer.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// Middleware for the hub's and the city's routers: the request deadline and the security
/// headers.
pub async fn guard(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => super::http::ApiError::new(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            crate::protocol::ErrorCode::BadFrame,
            format!("the request was not done within {} s", REQUEST_TIMEOUT.as_secs()),
        )
        .code("request_timeout")
        .into_response(),
    };
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, axum::http::HeaderValue::from_static(value));
    }
    response
}
