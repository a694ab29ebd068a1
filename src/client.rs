//! WebSocket client of the hub (protocol v1), used by the staff CLI, the demo and the benchmark.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::{
    ClientFrame, Command, CommandFrame, ErrorCode, Hello, HubFrame, MAX_WRITE_BUFFER, PROTOCOL_VERSION,
    READ_BUFFER, Role, Seq,
};

/// Largest frame a client accepts from the hub (snapshots of big halls are the largest).
const MAX_HUB_FRAME: usize = 4 * 1024 * 1024;
/// Attempts to deliver one command when the connection fails (same id each time).
const COMMAND_ATTEMPTS: u32 = 3;

/// How to reach and identify to a hub.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The hub's address, or several hubs of one hall separated by commas: a client uses the
    /// first that answers and moves on to the next when its hub fails.
    pub url: String,
    pub token: String,
    pub role: Role,
    /// Screen id or staff client name.
    pub client: String,
    /// Time allowed for connecting and for each answer.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the hub at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the hub at {url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("the hub refused: {message} ({code})")]
    Refused { code: ErrorCode, message: String },
    #[error("the connection to the hub broke: {0}")]
    Broken(String),
    #[error("no word from the hub at {url} for {secs:.0} s")]
    Silent { url: String, secs: f64 },
    #[error("unexpected answer from the hub: {0}")]
    Protocol(String),
}

impl ClientError {
    /// Worth trying again with the same command id.
    fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Unreachable { .. }
                | ClientError::Timeout { .. }
                | ClientError::Broken(_)
                | ClientError::Silent { .. }
        ) || matches!(
            self,
            ClientError::Refused {
                code: ErrorCode::ShuttingDown
                    | ErrorCode::RateLimited
                    | ErrorCode::JournalUnavailable
                    | ErrorCode::TooManyConnections,
                ..
            }
        )
    }
}

/// The hub's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub seq: Seq,
    pub duplicate: bool,
    /// For `issue`: the ticket handed out.
    pub issued: Option<Box<crate::protocol::Issued>>,
}

/// Accepts `host:port`, `http://host:port` or a full `ws://host:port/ws` URL.
pub fn normalize_hub_url(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some(("http", rest)) => ("ws", rest),
        Some(("https", rest)) => ("wss", rest),
        Some((scheme, rest)) => (scheme, rest),
        None => ("ws", url),
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') { format!("{scheme}://{rest}") } else { format!("{scheme}://{rest}/ws") }
}

/// The hubs in a `--hub` list (`ws://a:7878/ws,ws://b:7878/ws`), each as [`normalize_hub_url`] gives it.
pub fn hub_urls(list: &str) -> Vec<String> {
    list.split(',').map(str::trim).filter(|url| !url.is_empty()).map(normalize_hub_url).collect()
}

/// The hub's HTTP base (`http://host:port`) for its WebSocket URL in any form [`normalize_hub_url`] takes.
pub fn http_base(url: &str) -> Option<String> {
    let url = normalize_hub_url(url);
    let (scheme, rest) = url.split_once("://")?;
    let scheme = match scheme {
        "ws" => "http",
        "wss" => "https",
        _ => return None,
    };
    let authority = rest.split('/').next().filter(|a| !a.is_empty())?;
    Some(format!("{scheme}://{authority}"))
}

/// `text` as one URL path segment (screen ids are free text).
pub fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A connection that has said hello and received welcome.
pub struct Session {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    url: String,
    timeout: Duration,
    silence_limit: Option<Duration>,
    /// When anything (a frame, a ping) last arrived. The silence limit counts from here, so a
    /// read that is cancelled and started again (the feed also sends) does not restart it.
    last_heard: tokio::time::Instant,
    /// The hub's seq when it welcomed us.
    pub welcome_seq: Seq,
}

impl Session {
    /// Connects to the first hub of `options.url` that answers, says hello and waits for
    /// welcome (or the hub's refusal).
    pub async fn connect(options: &ClientOptions, since: Seq) -> Result<Session, ClientError> {
        Session::connect_from(options, since, 0).await.map(|(session, _)| session)
    }

    /// Like [`Session::connect`], trying the hubs in turn from the `first`-th (wrapping round);
    /// also returns which one answered. A refusal (bad token) is not a failed hub: the others
    /// would refuse too, so it is returned at once.
    pub async fn connect_from(
        options: &ClientOptions,
        since: Seq,
        first: usize,
    ) -> Result<(Session, usize), ClientError> {
        let urls = hub_urls(&options.url);
        if urls.is_empty() {
            return Err(ClientError::Unreachable {
                url: options.url.clone(),
                reason: "no hub address".into(),
            });
        }
        let mut failure = None;
        for turn in 0..urls.len() {
            let index = (first + turn) % urls.len();
            match Session::connect_to(&urls[index], options, since).await {
                Ok(session) => return Ok((session, index)),
                Err(e @ ClientError::Refused { .. }) if !e.is_transient() => return Err(e),
                Err(e) => {
                    if urls.len() > 1 {
                        tracing::debug!("hub {} of {}: {e}", index + 1, urls.len());
                    }
                    failure = Some(e);
                }
            }
        }
        Err(failure.expect("at least one hub was tried"))
    }

    /// The hub this session is connected to.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn connect_to(url: &str, options: &ClientOptions, since: Seq) -> Result<Session, ClientError> {
        let url = url.to_string();
        let tls = tokio_tungstenite::Connector::Rustls(crate::tls::client_config());
        let config = Some(websocket_config());
        let connect = tokio_tungstenite::connect_async_tls_with_config(url.as_str(), config, true, Some(tls));
        let (ws, _) = match tokio::time::timeout(options.timeout, connect).await {
            Err(_) => return Err(ClientError::Timeout { url, secs: options.timeout.as_secs() }),
            Ok(Err(e)) => return Err(ClientError::Unreachable { url, reason: describe_connect_error(e) }),
            Ok(Ok(pair)) => pair,
        };
        let mut session = Session {
            ws,
            url,
            timeout: options.timeout,
            silence_limit: None,
            last_heard: tokio::time::Instant::now(),
            welcome_seq: 0,
        };
        let hello = Hello {
            protocol: PROTOCOL_VERSION,
            role: options.role,
            client: options.client.clone(),
            token: options.token.clone(),
            since,
        };
        session.send(&ClientFrame::Hello(hello)).await?;
        match session.next_frame().await? {
            Some(HubFrame::Welcome { seq, .. }) => {
                session.welcome_seq = seq;
                Ok(session)
            }
            Some(HubFrame::Error { code, message, .. }) => Err(ClientError::Refused { code, message }),
            Some(other) => Err(ClientError::Protocol(format!("expected welcome, got {}", other.to_json()))),
            None => Err(ClientError::Broken("closed before welcome".into())),
        }
    }

    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let send = self.ws.send(Message::text(frame.to_json()));
        match tokio::time::timeout(self.timeout, send).await {
            Err(_) => Err(ClientError::Timeout { url: self.url.clone(), secs: self.timeout.as_secs() }),
            Ok(Err(e)) => Err(ClientError::Broken(e.to_string())),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// The next frame from the hub, waiting as long as it takes; `None` when it closed.
    pub async fn next_frame(&mut self) -> Result<Option<HubFrame>, ClientError> {
        let Some(text) = self.next_text().await? else { return Ok(None) };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ClientError::Protocol(format!("{e}: {}", crate::protocol::truncate(&text, 200))))
    }

    /// The next text frame, unparsed (for callers that only peek at it).
    pub async fn next_text(&mut self) -> Result<Option<Utf8Bytes>, ClientError> {
        loop {
            let message = match self.silence_limit {
                None => self.ws.next().await,
                Some(limit) => tokio::time::timeout_at(self.last_heard + limit, self.ws.next())
                    .await
                    .map_err(|_| ClientError::Silent { url: self.url.clone(), secs: limit.as_secs_f64() })?,
            };
            self.last_heard = tokio::time::Instant::now();
            let Some(message) = message else { return Ok(None) };
            match message.map_err(|e| ClientError::Broken(e.to_string()))? {
                Message::Text(text) => return Ok(Some(text)),
                Message::Close(_) => return Ok(None),
                // Pings count as signs of life; tungstenite answers them itself.
                _ => {}
            }
        }
    }

    /// From now on, reading fails with [`ClientError::Silent`] when nothing at all (not even
    /// the hub's ping) arrives for `limit`: the link is dead even if TCP has not noticed.
    pub fn set_silence_limit(&mut self, limit: Duration) {
        self.silence_limit = Some(limit);
    }

    /// Sends one command and waits for its ack or error (events in between are skipped).
    pub async fn command(&mut self, id: &str, command: Command) -> Result<Acked, ClientError> {
        self.send(&ClientFrame::Command(CommandFrame { id: id.to_string(), command })).await?;
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.next_frame()).await {
                Err(_) => {
                    return Err(ClientError::Timeout { url: self.url.clone(), secs: self.timeout.as_secs() });
                }
                Ok(frame) => frame?,
            };
            match frame {
                Some(HubFrame::Ack { id: acked, seq, duplicate, issued }) if acked == id => {
                    return Ok(Acked { seq, duplicate, issued });
                }
                Some(HubFrame::Error { id: Some(failed), code, message, .. }) if failed == id => {
                    return Err(ClientError::Refused { code, message });
                }
                Some(HubFrame::Error { id: None, code, message, .. }) => {
                    return Err(ClientError::Refused { code, message });
                }
                Some(_) => {}
                None => return Err(ClientError::Broken("the hub closed the connection".into())),
            }
        }
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

/// Connects, sends one command and returns the ack; on a broken connection it retries with the
/// same id, which the hub applies at most once.
pub async fn send_command(options: &ClientOptions, id: &str, command: Command) -> Result<Acked, ClientError> {
    let mut link = StaffLink::new(options.clone());
    let acked = link.command(id, command).await;
    link.close().await;
    acked
}

/// A staff client's connection for many commands. The hub drops a session that leaves its
/// pings unread for three intervals (a client waiting between commands reads nothing), and
/// hubs restart: a session found broken is replaced on the next command, which is sent again
/// with the same id, so the hub applies it at most once.
pub struct StaffLink {
    options: ClientOptions,
    session: Option<Session>,
    /// Where in the hub list the next connection starts: after the hub that failed.
    next_hub: usize,
}

impl StaffLink {
    /// Connects on the first command.
    pub fn new(options: ClientOptions) -> StaffLink {
        StaffLink { options, session: None, next_hub: 0 }
    }

    /// Connects now, so a wrong address or token shows before the first command.
    pub async fn connect(options: ClientOptions) -> Result<StaffLink, ClientError> {
        let mut link = StaffLink::new(options);
        link.session().await?;
        Ok(link)
    }

    async fn session(&mut self) -> Result<&mut Session, ClientError> {
        if self.session.is_none() {
            let (session, index) = Session::connect_from(&self.options, 0, self.next_hub).await?;
            self.next_hub = index;
            self.session = Some(session);
        }
        Ok(self.session.as_mut().expect("connected above"))
    }

    /// Sends `command` and waits for its ack, reconnecting and retrying on transient failures.
    pub async fn command(&mut self, id: &str, command: Command) -> Result<Acked, ClientError> {
        let mut attempt = 1;
        loop {
            // A session held since an earlier command may have been dropped while it waited:
            // finding that out does not count as an attempt.
            let held = self.session.is_some();
            let result = match self.session().await {
                Ok(session) => session.command(id, command.clone()).await,
                Err(e) => Err(e),
            };
            match result {
                Err(e) if e.is_transient() => {
                    if let Some(session) = self.session.take() {
                        session.close().await;
                    }
                    // A retry starts with the next hub of a list: the last one may be the one that failed.
                    self.next_hub += 1;
                    if held {
                        tracing::debug!("the held session failed, reconnecting: {e}");
                        continue;
                    }
                    if attempt >= COMMAND_ATTEMPTS {
                        return Err(e);
                    }
                    tracing::debug!("attempt {attempt} failed, retrying: {e}");
                    tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    pub async fn close(mut self) {
        if let Some(session) = self.session.take() {
            session.close().await;
        }
    }
}

/// A fresh command id for a client that has none of its own.
pub fn new_command_id() -> String {
    crate::random_id::random_id("cmd")
}

/// Turns tungstenite's connect errors into a sentence for staff.
fn describe_connect_error(e: tokio_tungstenite::tungstenite::Error) -> String {
    use tokio_tungstenite::tungstenite::Error;
    match e {
        Error::Http(response) => {
            let body =
                response.body().as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
            let detail = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(body);
            format!("HTTP {} {}", response.status(), detail).trim().to_string()
        }
        Error::Io(io) => io.to_string(),
        Error::Tls(tls) => format!(
            "{tls} (this PC must trust the hub's certificate: put its CA in \
             /usr/local/share/ca-certificates and run update-ca-certificates)"
        ),
        other => other.to_string(),
    }
}

/// The client side's socket settings: snapshots of big halls are the largest frames; the buffers
/// are the hub's (see [`READ_BUFFER`] and [`MAX_WRITE_BUFFER`]).
fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .max_write_buffer_size(MAX_WRITE_BUFFER)
        .max_message_size(Some(MAX_HUB_FRAME))
        .max_frame_size(Some(MAX_HUB_FRAME))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At 1000 screens on one machine, tungstenite's default 128 KiB read buffer (zero-filled
    /// before every read) made the clients' memset half of all CPU and doubled fan-out latency.
    #[test]
    fn client_sockets_have_small_bounded_buffers_and_take_big_snapshots() {
        let config = websocket_config();
        assert_eq!(config.read_buffer_size, READ_BUFFER);
        assert!(config.read_buffer_size < WebSocketConfig::default().read_buffer_size);
        assert_eq!(config.max_message_size, Some(MAX_HUB_FRAME));
        assert_eq!(
            config.max_write_buffer_size, MAX_WRITE_BUFFER,
            "bounded, not tungstenite's unbounded default"
        );
    }

    #[test]
    fn hub_urls_are_normalized() {
        assert_eq!(normalize_hub_url("10.0.0.5:7878"), "ws://10.0.0.5:7878/ws");
        assert_eq!(normalize_hub_url("http://hub:7878/"), "ws://hub:7878/ws");
        assert_eq!(normalize_hub_url("https://hub"), "wss://hub/ws");
        assert_eq!(normalize_hub_url("ws://hub:7878/ws"), "ws://hub:7878/ws");
        assert_eq!(normalize_hub_url("ws://hub:7878/custom/ws"), "ws://hub:7878/custom/ws");
        assert_eq!(http_base("10.0.0.5:7878").as_deref(), Some("http://10.0.0.5:7878"));
        assert_eq!(http_base("wss://hub/ws").as_deref(), Some("https://hub"));
        assert_eq!(path_segment("lobby 1/ä"), "lobby%201%2F%C3%A4");
        assert_eq!(hub_urls(" 10.0.0.5:7878 , http://b:7878,"), ["ws://10.0.0.5:7878/ws", "ws://b:7878/ws"]);
    }
}
