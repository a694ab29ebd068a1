//! One WebSocket client: hello and auth, catch-up, live events, staff commands, pings. An error
//! here ends this connection only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

use super::admission::Admitted;
use super::auth::{Principal, may_act_as, may_send};
use super::core::{Fanned, Subscription, Utf8Bytes};
use super::fleet::Control;
use super::log_throttle::LogThrottle;
use super::rate::Bucket;
use super::server::Shared;
use crate::protocol::{
    ClientFrame, CommandFrame, ErrorCode, Hello, HubFrame, PROTOCOL_VERSION, Role, Status,
    parse_client_frame, truncate,
};

/// A client must say hello within this time (a program says it at once; a slow LAN needs
/// milliseconds): a silent socket holds a place no longer.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// Consecutive bad frames tolerated before the hub hangs up.
const MAX_BAD_FRAMES: u32 = 10;
/// Pings that may go unanswered before a peer counts as dead.
const SILENT_PINGS: u32 = 3;
/// A screen's log-worthy text (its layout problem) is logged at most once per window.
const CLIENT_TEXT_LOG_WINDOW: Duration = Duration::from_secs(10);
/// Resync, status and ping frames per connection: a screen sends a status every few seconds and
/// resyncs after a gap, a browser page pings every 3 s; four times that is plenty.
const HOUSEKEEPING_PER_SECOND: f64 = 4.0;
const HOUSEKEEPING_BURST: f64 = 20.0;
/// After refusing a client, the hub reads what it still sends until it closes too, is quiet this
/// long, or [`LINGER_MAX`] passes: a socket closed with unread data in it is reset by the kernel,
/// and the reset throws away the error frame the client has not read yet.
const LINGER_QUIET: Duration = Duration::from_millis(100);
const LINGER_MAX: Duration = Duration::from_secs(1);

/// Why a connection ended, for the log line.
#[derive(Debug)]
enum End {
    ClientClosed,
    Refused(ErrorCode),
    TooSlow,
    Dead,
    ShuttingDown,
    Transport(String),
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::ClientClosed => f.write_str("client closed"),
            End::Refused(code) => write!(f, "refused: {code}"),
            End::TooSlow => f.write_str("too slow, cut"),
            End::Dead => f.write_str("no answer to pings"),
            End::ShuttingDown => f.write_str("hub shutting down"),
            End::Transport(e) => write!(f, "transport error: {e}"),
        }
    }
}

/// Serves one upgraded socket until it ends. Until its hello it holds the place it was admitted
/// with (`admitted`); a good hello trades that for one of the signed-in places.
pub async fn serve(mut socket: WebSocket, shared: Arc<Shared>, peer: SocketAddr, admitted: Option<Admitted>) {
    let started = Instant::now();
    let refused = |end: &End| {
        if let Some(more) = shared.refusals.admit() {
            tracing::info!(%peer, reason = %end, refused_unlogged = more, "connection refused before hello completed");
        }
    };
    let (hello, principal) = match handshake(&mut socket, &shared).await {
        Ok(pair) => pair,
        Err(end) => return refused(&end),
    };
    let Ok(_permit) = shared.connections.clone().try_acquire_owned() else {
        let max = shared.limits.max_connections;
        let message = format!("the hub serves at most {max} connections; try again later");
        return refused(
            &refuse(&mut socket, None, ErrorCode::TooManyConnections, &message, close_code::AGAIN).await,
        );
    };
    drop(admitted);
    let client = truncate(&hello.client, 64);
    // Screens are listed on the fleet page and take its actions; staff clients are not screens.
    let (_link, control) = match hello.role {
        Role::Display => match shared.fleet.connect(&client, peer, &principal.name) {
            Ok((link, control)) => (Some(link), Some(control)),
            Err(full) => {
                let message = full.to_string();
                return refused(&refuse(&mut socket, None, full.code(), &message, close_code::POLICY).await);
            }
        },
        Role::Staff | Role::Kiosk => (None, None),
    };
    tracing::info!(%peer, role = %hello.role, client, token = principal.name, since = hello.since, "connection opened");
    let _gauge = shared.metrics.connected(hello.role);
    let mut conn = Connection {
        socket,
        shared,
        role: hello.role,
        screen: client.clone(),
        principal,
        bad_frames: 0,
        layout_error: None,
        client_text_log: LogThrottle::new(CLIENT_TEXT_LOG_WINDOW),
        housekeeping: Bucket::new(HOUSEKEEPING_PER_SECOND, HOUSEKEEPING_BURST),
    };
    let end = conn.run(hello.since, control).await;
    tracing::info!(
        %peer, role = %hello.role, client, reason = %end, secs = started.elapsed().as_secs(),
        "connection closed"
    );
}

/// Waits for `hello` and checks protocol, token and role.
async fn handshake(socket: &mut WebSocket, shared: &Shared) -> Result<(Hello, Principal), End> {
    let deadline = tokio::time::Instant::now() + HELLO_TIMEOUT;
    let mut shutdown = shared.shutdown.clone();
    loop {
        // A socket still silent when the hub stops must not hold its stop up.
        let received = tokio::select! {
            _ = shutdown.wait() => {
                let message = "the hub is shutting down";
                return Err(refuse(socket, None, ErrorCode::ShuttingDown, message, close_code::AWAY).await);
            }
            received = tokio::time::timeout_at(deadline, socket.recv()) => received,
        };
        let message = match received {
            Err(_) => {
                return Err(refuse(
                    socket,
                    None,
                    ErrorCode::HelloRequired,
                    "no hello within 5 s",
                    close_code::POLICY,
                )
                .await);
            }
            Ok(None) => return Err(End::ClientClosed),
            Ok(Some(Err(e))) => return Err(transport_end(socket, e).await),
            Ok(Some(Ok(message))) => message,
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Close(_) => return Err(End::ClientClosed),
            Message::Binary(_) => {
                return Err(refuse(
                    socket,
                    None,
                    ErrorCode::BadFrame,
                    "frames are JSON text",
                    close_code::PROTOCOL,
                )
                .await);
            }
        };
        let hello = match parse_client_frame(&text) {
            Ok(ClientFrame::Hello(hello)) => hello,
            Ok(_) => {
                let message = "the first frame must be hello {protocol, role, client, token, since}";
                return Err(refuse(socket, None, ErrorCode::HelloRequired, message, close_code::POLICY).await);
            }
            Err(e) => return Err(refuse(socket, None, e.code, &e.message, close_code::PROTOCOL).await),
        };
        if hello.protocol != PROTOCOL_VERSION {
            let message =
                format!("this hub speaks protocol {PROTOCOL_VERSION}, the client {}", hello.protocol);
            return Err(refuse(socket, None, ErrorCode::ProtocolVersion, &message, close_code::POLICY).await);
        }
        let Some(principal) = shared.tokens.check(&hello.token) else {
            return Err(refuse(
                socket,
                None,
                ErrorCode::BadToken,
                "unknown or missing token",
                close_code::POLICY,
            )
            .await);
        };
        if !may_act_as(principal.role, hello.role) {
            let message = format!("a {} token cannot connect as {}", principal.role, hello.role);
            return Err(refuse(socket, None, ErrorCode::Forbidden, &message, close_code::POLICY).await);
        }
        return Ok((hello, principal));
    }
}

struct Connection {
    socket: WebSocket,
    shared: Arc<Shared>,
    role: Role,
    /// The client name from hello: the screen id for displays.
    screen: String,
    principal: Principal,
    bad_frames: u32,
    /// The screen's last reported layout problem, logged when it appears or clears.
    layout_error: Option<String>,
    /// At most one log line of the client's own text per window.
    client_text_log: LogThrottle,
    /// Resync, status and ping frames this connection may still send.
    housekeeping: Bucket,
}

impl Connection {
    async fn run(&mut self, since: u64, mut control: Option<mpsc::Receiver<Control>>) -> End {
        let Some(mut live) = self.catch_up(since).await else {
            return self.close(ErrorCode::ShuttingDown, "the hub is shutting down", close_code::AWAY).await;
        };
        let ping_every = self.shared.limits.ping_interval();
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
        let mut last_heard = Instant::now();
        let mut shutdown = self.shared.shutdown.clone();
        loop {
            tokio::select! {
                _ = shutdown.wait() => {
                    return self.close(ErrorCode::ShuttingDown, "the hub is shutting down", close_code::AWAY).await;
                }
                event = live.recv() => match event {
                    Ok(Fanned { text, since }) => {
                        if let Err(end) = self.send(text).await {
                            return end;
                        }
                        self.shared.metrics.fanned_out(since.elapsed());
                    }
                    Err(RecvError::Lagged(missed)) => {
                        self.shared.metrics.too_slow();
                        let message = format!("{missed} events behind; reconnect with since to catch up");
                        let _ = self.close(ErrorCode::TooSlow, &message, close_code::AGAIN).await;
                        return End::TooSlow;
                    }
                    Err(RecvError::Closed) => {
                        return self.close(ErrorCode::ShuttingDown, "the hub is shutting down", close_code::AWAY).await;
                    }
                },
                incoming = self.socket.recv() => {
                    last_heard = Instant::now();
                    let message = match incoming {
                        None => return End::ClientClosed,
                        Some(Err(e)) => return transport_end(&mut self.socket, e).await,
                        Some(Ok(message)) => message,
                    };
                    match self.handle(message).await {
                        Ok(Some(resubscribed)) => live = resubscribed,
                        Ok(None) => {}
                        Err(end) => return end,
                    }
                }
                Some(action) = next_control(&mut control) => match action {
                    Control::Frame(frame) => {
                        if let Err(end) = self.reply(frame).await {
                            return end;
                        }
                    }
                    Control::Resend => match self.catch_up(0).await {
                        Some(resubscribed) => live = resubscribed,
                        None => return End::ShuttingDown,
                    },
                },
                _ = ping.tick() => {
                    if last_heard.elapsed() > ping_every * SILENT_PINGS {
                        return End::Dead;
                    }
                    if let Err(end) = self.send_message(Message::Ping(Default::default())).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Sends welcome and what the client missed; returns the live feed.
    async fn catch_up(&mut self, since: u64) -> Option<broadcast::Receiver<Fanned>> {
        let Subscription { seq, catch_up, live } = self.shared.core.subscribe(since).await?;
        let welcome = HubFrame::Welcome { seq, protocol: PROTOCOL_VERSION, hub: crate::VERSION.to_string() };
        self.send(welcome.to_json().into()).await.ok()?;
        for frame in catch_up {
            self.send(frame).await.ok()?;
        }
        Some(live)
    }

    /// Handles one client message; a resync returns the new live feed.
    async fn handle(&mut self, message: Message) -> Result<Option<broadcast::Receiver<Fanned>>, End> {
        let text = match message {
            Message::Text(text) => text,
            Message::Ping(_) | Message::Pong(_) => return Ok(None),
            Message::Close(_) => return Err(End::ClientClosed),
            Message::Binary(_) => {
                self.bad_frame(None, ErrorCode::BadFrame, "frames are JSON text".into()).await?;
                return Ok(None);
            }
        };
        let frame = match parse_client_frame(&text) {
            Err(e) => {
                self.bad_frame(None, e.code, e.message).await?;
                return Ok(None);
            }
            Ok(ClientFrame::Hello(_)) => {
                self.bad_frame(None, ErrorCode::BadFrame, "hello was already received".into()).await?;
                return Ok(None);
            }
            Ok(ClientFrame::Command(frame)) => {
                self.command(frame).await?;
                return Ok(None);
            }
            Ok(frame) => frame,
        };
        // Resyncs, statuses and pings cost the hub work (a resync is a snapshot): a connection
        // sending them without end slows everyone's calls, so each connection has a budget.
        if let Err(wait) = self.housekeeping.take() {
            let message = format!(
                "too many resync, status and ping frames; the next fits in {} ms",
                wait.as_millis().max(1)
            );
            self.bad_frame(None, ErrorCode::RateLimited, message).await?;
            return Ok(None);
        }
        self.bad_frames = 0;
        match frame {
            ClientFrame::Resync(resync) => {
                return match self.catch_up(resync.since).await {
                    Some(live) => Ok(Some(live)),
                    None => Err(End::ShuttingDown),
                };
            }
            ClientFrame::Status(status) => self.status(status),
            ClientFrame::Ping => self.reply(HubFrame::Pong).await?,
            ClientFrame::Hello(_) | ClientFrame::Command(_) => unreachable!("handled above"),
        }
        Ok(None)
    }

    /// Keeps a screen's status for the fleet page; a change of its layout problem is logged as
    /// an escaped field (client text must not forge log lines), at most once per window.
    fn status(&mut self, status: Status) {
        if status.layout_error != self.layout_error {
            if let Some(left_out) = self.client_text_log.admit() {
                match &status.layout_error {
                    Some(error) => tracing::warn!(
                        screen = self.screen.as_str(),
                        error = error.as_str(),
                        changes_unlogged = left_out,
                        "screen's layout file has a problem"
                    ),
                    None => tracing::info!(
                        screen = self.screen.as_str(),
                        changes_unlogged = left_out,
                        "screen's layout file is good again"
                    ),
                }
            }
            self.layout_error = status.layout_error.clone();
        }
        tracing::debug!(
            screen = self.screen.as_str(),
            fps = status.fps,
            last_seq = status.last_seq,
            "display status"
        );
        if self.role == Role::Display {
            self.shared.fleet.report(&self.screen, status);
        }
    }

    async fn command(&mut self, CommandFrame { id, command }: CommandFrame) -> Result<(), End> {
        if let Err(message) = may_send(self.role, &command) {
            return self.bad_frame(Some(id), ErrorCode::Forbidden, message.into()).await;
        }
        if id.is_empty() || id.len() > 128 {
            return self
                .bad_frame(Some(id), ErrorCode::BadFrame, "id must be 1 to 128 characters".into())
                .await;
        }
        self.bad_frames = 0;
        if let Err(wait) = self.shared.rate.allow(&self.principal.name) {
            let message = format!("too many commands; retry in {} ms", wait.as_millis().max(1));
            let frame = HubFrame::Error { id: Some(id), code: ErrorCode::RateLimited, message, field: None };
            return self.reply(frame).await;
        }
        let reply = match self.shared.core.command(id.clone(), command).await {
            Ok(ack) => HubFrame::Ack { id, seq: ack.seq, duplicate: ack.duplicate, issued: ack.issued },
            Err(rejection) => HubFrame::Error {
                id: Some(id),
                code: rejection.code,
                message: rejection.message,
                field: rejection.field.map(str::to_string),
            },
        };
        self.reply(reply).await
    }

    /// Answers a bad frame; too many in a row end the connection.
    async fn bad_frame(&mut self, id: Option<String>, code: ErrorCode, message: String) -> Result<(), End> {
        self.bad_frames += 1;
        if self.bad_frames >= MAX_BAD_FRAMES {
            let message = format!("{message} ({MAX_BAD_FRAMES} bad frames in a row; closing)");
            return Err(self.close_with(id, code, &message, close_code::POLICY).await);
        }
        self.reply(HubFrame::Error { id, code, message, field: None }).await
    }

    async fn reply(&mut self, frame: HubFrame) -> Result<(), End> {
        self.send(frame.to_json().into()).await
    }

    async fn send(&mut self, text: Utf8Bytes) -> Result<(), End> {
        self.send_message(Message::Text(text)).await
    }

    /// Writes one message; a client that does not take it in time is cut.
    async fn send_message(&mut self, message: Message) -> Result<(), End> {
        match tokio::time::timeout(self.shared.limits.send_timeout(), self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(End::Transport(e.to_string())),
            Err(_) => {
                self.shared.metrics.too_slow();
                Err(End::TooSlow)
            }
        }
    }

    async fn close(&mut self, code: ErrorCode, message: &str, close_code: u16) -> End {
        self.close_with(None, code, message, close_code).await
    }

    async fn close_with(
        &mut self,
        id: Option<String>,
        code: ErrorCode,
        message: &str,
        close_code: u16,
    ) -> End {
        refuse(&mut self.socket, id, code, message, close_code).await
    }
}

/// The next fleet-page action for a screen; never ready for staff connections.
async fn next_control(control: &mut Option<mpsc::Receiver<Control>>) -> Option<Control> {
    match control {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sends an error frame and a close frame, best effort (the peer may be gone or stuck).
async fn refuse(
    socket: &mut WebSocket,
    id: Option<String>,
    code: ErrorCode,
    message: &str,
    close_code: u16,
) -> End {
    let frame = HubFrame::Error { id, code, message: message.to_string(), field: None };
    let write = async {
        socket.send(Message::Text(frame.to_json().into())).await?;
        socket.send(close_message(close_code, code)).await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
    match code {
        // At a stop every client is told at once and the stop must not wait on them.
        ErrorCode::ShuttingDown => End::ShuttingDown,
        _ => {
            read_until_peer_closes(socket).await;
            End::Refused(code)
        }
    }
}

/// Discards what the peer still sends after our close frame (see [`LINGER_QUIET`]).
async fn read_until_peer_closes(socket: &mut WebSocket) {
    let give_up = tokio::time::Instant::now() + LINGER_MAX;
    loop {
        let quiet = (tokio::time::Instant::now() + LINGER_QUIET).min(give_up);
        match tokio::time::timeout_at(quiet, socket.recv()).await {
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => return,
            Ok(Some(Ok(_))) => {}
        }
    }
}

fn close_message(close_code: u16, code: ErrorCode) -> Message {
    Message::Close(Some(CloseFrame { code: close_code, reason: code.as_str().into() }))
}

/// Maps a read error; an oversized frame still gets its error frame.
async fn transport_end(socket: &mut WebSocket, error: axum::Error) -> End {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let inner = error.into_inner();
    match inner.downcast_ref::<WsError>() {
        Some(WsError::Capacity(e)) => {
            let message =
                format!("frame too large ({e}); the limit is {} bytes", crate::protocol::MAX_FRAME_BYTES);
            refuse(socket, None, ErrorCode::FrameTooLarge, &message, close_code::SIZE).await
        }
        Some(WsError::ConnectionClosed | WsError::AlreadyClosed) => End::ClientClosed,
        _ => End::Transport(inner.to_string()),
    }
}
