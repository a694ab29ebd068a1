//! The citizens' phone page: `/antrean` (and `/antrean/A-124` from a receipt's QR code), no
//! token, read only; and its live feed `/antrean/live`, a WebSocket that sends the hall's public
//! view and one ticket's status, and takes nothing but which ticket to follow.
//!
//! Phones have places of their own (`limits.max_public`, `limits.public_per_peer`), so however
//! many watch, screens and staff keep theirs; each gets at most one subscription a second.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::json;

use super::admission::{Admitted, Full, Ticket as Place};
use super::core::{PublicFrame, Utf8Bytes};
use super::http::ApiError;
use super::rate::Bucket;
use super::server::{Shared, check_origin};
use crate::protocol::ErrorCode;
use crate::public_view::TicketStatus;
use crate::queue::Ticket;

/// The largest frame a phone may send: `{"ticket":"ABC-1234"}` and room to spare.
const MAX_PHONE_FRAME: usize = 256;
/// Subscriptions a phone may send, sustained and at once (typing a number, then fixing it).
const SUBSCRIBE_PER_SECOND: f64 = 1.0;
const SUBSCRIBE_BURST: f64 = 5.0;
/// Phones are pinged this often (it keeps a carrier's NAT from forgetting the connection); three
/// silent intervals drop them.
const PHONE_PING: Duration = Duration::from_secs(20);
/// Bytes buffered per phone socket, read and write: views are a few KB.
const PHONE_READ_BUFFER: usize = 4 * 1024;
const PHONE_WRITE_BUFFER: usize = 256 * 1024;

pub fn routes() -> axum::Router<Arc<Shared>> {
    axum::Router::new()
        .route("/antrean", super::pages::asset!("antrean.html", "text/html; charset=utf-8"))
        .route("/antrean/live", get(live))
        .route("/antrean/penilaian", axum::routing::post(answer_survey))
        .route("/antrean/layanan", get(service_standards))
        .route("/antrean/app.js", super::pages::asset!("antrean.js", "text/javascript; charset=utf-8"))
        .route("/antrean/app.css", super::pages::asset!("antrean.css", "text/css; charset=utf-8"))
        .route("/antrean/{ticket}", super::pages::asset!("antrean.html", "text/html; charset=utf-8"))
}

/// What a phone sends: the ticket to follow, or none to stop following.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    ticket: Option<String>,
}

/// The service standards' JSON as last made, and the hall it was made from: made again only
/// after an edit of the hall file, so phones and screens asking at once cost one serialisation.
pub type StandardsCache = std::sync::Mutex<Option<(Arc<crate::hall::Hall>, axum::body::Bytes)>>;

/// `GET /antrean/layanan`: the Standar Pelayanan of every agency that has them in the hall file
/// (persyaratan, jangka waktu, biaya), in hall order, for the phone page and the screens'
/// `services` widget; no token.
async fn service_standards(State(shared): State<Arc<Shared>>) -> Response {
    let hall = shared.core.hall();
    let cached = shared.standards.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let body = match cached {
        Some((made_from, body)) if Arc::ptr_eq(&made_from, &hall) => body,
        _ => {
            let published = crate::hall::PublishedStandards::of(&hall);
            let body = axum::body::Bytes::from(serde_json::to_vec(&published).expect("standards serialize"));
            *shared.standards.lock().unwrap_or_else(|p| p.into_inner()) = Some((hall, body.clone()));
            body
        }
    };
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "max-age=10")], body)
        .into_response()
}

/// `POST /antrean/penilaian`: what the phone page sends after "Selesai".
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SurveyRequest {
    ticket: Ticket,
    rating: crate::queue::Rating,
    #[serde(default)]
    comment: Option<String>,
}

/// The largest survey body: a 500-character comment in any script, and the rest.
const MAX_SURVEY_BODY: usize = 4 * 1024;

/// Takes a citizen's one answer for a served ticket (no token; the ticket is the only key, and
/// only a ticket served today that has no answer yet is taken). Answered once it is durable.
async fn answer_survey(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    check_origin(&headers, &shared.allowed_origins)?;
    let address = phone_address(peer.ip(), &headers, &shared.limits.trusted_proxies);
    if let Err(wait) = shared.survey_rate.allow(&address.to_string()) {
        let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        let message = format!("too many answers from this address; retry in {secs} s");
        let mut response =
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, ErrorCode::RateLimited, message).into_response();
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        return Ok(response);
    }
    let body = super::http::command_body(body)?;
    if body.len() > MAX_SURVEY_BODY {
        let message = format!("a survey answer is at most {MAX_SURVEY_BODY} bytes");
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::FrameTooLarge, message));
    }
    let request: SurveyRequest = super::http::parse_body(&body)?;
    let command = crate::protocol::Command::Survey(crate::protocol::SurveyCommand {
        ticket: request.ticket,
        rating: request.rating,
        comment: request.comment,
    });
    match shared.core.command(crate::random_id::random_id("survey"), command).await {
        Ok(ack) => Ok(axum::Json(json!({ "ok": true, "seq": ack.seq })).into_response()),
        Err(rejection) => Err(rejection.into()),
    }
}

/// The address a phone's places are counted under: the peer, or the phone a trusted proxy
/// names as the last hop of `X-Forwarded-For`.
pub fn phone_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpAddr]) -> IpAddr {
    if !trusted_proxies.contains(&peer) {
        return peer;
    }
    headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|hop| hop.trim().parse().ok())
        .unwrap_or(peer)
}

/// Opens a phone's live feed: its own place first (503 when they are taken), then the socket.
async fn live(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    http_place: Option<Extension<Place>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if let Err(refused) = check_origin(&headers, &shared.allowed_origins) {
        return refused.into_response();
    }
    let address = phone_address(peer.ip(), &headers, &shared.limits.trusted_proxies);
    let place = match shared.public_places.admit(address) {
        Ok(place) => place,
        Err(full) => {
            let message = match full {
                Full::Total => "the hall's live queue page is full; it refreshes by itself in a moment",
                Full::Peer => "too many live queue pages from this address; close some and try again",
            };
            let mut response =
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::TooManyConnections, message)
                    .into_response();
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(30));
            return response;
        }
    };
    // The HTTP connection's place is not needed once the phone has its own.
    drop(http_place.and_then(|Extension(place)| place.take()));
    ws.read_buffer_size(PHONE_READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(PHONE_WRITE_BUFFER)
        .max_frame_size(MAX_PHONE_FRAME)
        .max_message_size(MAX_PHONE_FRAME)
        .on_upgrade(move |socket| async move {
            let phones = shared.phones.handle().clone();
            phones.spawn(serve(socket, shared, place));
        })
}

/// The phones' own runtime: one thread at a lower CPU priority, so a burst of 2,000 phone frames
/// after a call never queues a screen's or a counter's frame behind it (they run on the hub's
/// main runtime, whose threads the kernel prefers).
pub struct PhoneRuntime(Option<tokio::runtime::Runtime>);

impl PhoneRuntime {
    pub fn start() -> std::io::Result<PhoneRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("papan-phones")
            .on_thread_start(lower_this_threads_priority)
            .enable_all()
            .build()?;
        Ok(PhoneRuntime(Some(runtime)))
    }

    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("the phone runtime lives as long as the hub").handle()
    }
}

impl Drop for PhoneRuntime {
    fn drop(&mut self) {
        // Dropped from async code at the hub's stop, where a runtime may not block on its tasks;
        // the phones already got their close at the shutdown signal.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Nice 10 for the calling thread (on Linux `setpriority(PRIO_PROCESS, 0)` sets only it).
fn lower_this_threads_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority takes plain integers and touches no memory of ours.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// Why a phone's feed ended (logged at debug: phones come and go all day).
enum End {
    Closed,
    Refused(&'static str),
    TooSlow,
    Dead,
    ShuttingDown,
}

impl std::fmt::Display for End {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            End::Closed => f.write_str("closed"),
            End::Refused(code) => write!(f, "refused: {code}"),
            End::TooSlow => f.write_str("too slow, cut"),
            End::Dead => f.write_str("no answer to pings"),
            End::ShuttingDown => f.write_str("hub shutting down"),
        }
    }
}

struct Phone {
    socket: WebSocket,
    shared: Arc<Shared>,
    /// The ticket followed, and the status last sent for it.
    ticket: Option<(Ticket, Option<TicketStatus>)>,
    /// The view generation last sent.
    sent_generation: Option<u64>,
}

async fn serve(socket: WebSocket, shared: Arc<Shared>, _place: Admitted) {
    let _gauge = shared.metrics.public_connected();
    let Some(view) = shared.core.public_view().await else { return };
    let mut phone = Phone { socket, shared, ticket: None, sent_generation: None };
    let end = phone.run(view).await;
    tracing::debug!(reason = %end, "phone page feed closed");
}

impl Phone {
    async fn run(&mut self, mut view: tokio::sync::watch::Receiver<Arc<PublicFrame>>) -> End {
        let mut shutdown = self.shared.shutdown.clone();
        let mut subscriptions = Bucket::new(SUBSCRIBE_PER_SECOND, SUBSCRIBE_BURST);
        let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PHONE_PING, PHONE_PING);
        let mut last_heard = Instant::now();
        let frame = view.borrow_and_update().clone();
        if let Err(end) = self.show(&frame).await {
            return end;
        }
        loop {
            tokio::select! {
                _ = shutdown.wait() => {
                    let _ = self.socket.send(Message::Close(None)).await;
                    return End::ShuttingDown;
                }
                changed = view.changed() => {
                    if changed.is_err() {
                        return End::ShuttingDown;
                    }
                    let frame = view.borrow_and_update().clone();
                    if let Err(end) = self.show(&frame).await {
                        return end;
                    }
                }
                received = self.socket.recv() => {
                    last_heard = Instant::now();
                    let text = match received {
                        None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return End::Closed,
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                        Some(Ok(Message::Binary(_))) => return self.refuse("bad_frame", "frames are JSON text").await,
                        Some(Ok(Message::Text(text))) => text,
                    };
                    if subscriptions.take().is_err() {
                        return self.refuse("rate_limited", "at most one ticket a second; reload the page").await;
                    }
                    let Ok(Subscribe { ticket }) = serde_json::from_str::<Subscribe>(&text) else {
                        return self.refuse("bad_frame", "send {\"ticket\": \"A-124\"} or {\"ticket\": null}").await;
                    };
                    let frame = view.borrow().clone();
                    if let Err(end) = self.follow(ticket.as_deref(), &frame).await {
                        return end;
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > PHONE_PING * 3 {
                        return End::Dead;
                    }
                    if let Err(end) = self.send(Message::Ping(Default::default())).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Sends the view if it changed since it was last sent, and the followed ticket's status if
    /// that changed.
    async fn show(&mut self, frame: &PublicFrame) -> Result<(), End> {
        if self.sent_generation != Some(frame.generation) {
            // The changes alone when the phone has the view just before; else all of it.
            let text = match (&frame.changes, self.sent_generation) {
                (Some(changes), Some(sent)) if sent + 1 == frame.generation => changes.clone(),
                _ => frame.text.clone(),
            };
            self.send(Message::Text(text)).await?;
            self.sent_generation = Some(frame.generation);
        }
        let Some((ticket, told)) = &self.ticket else { return Ok(()) };
        let status = frame.view.ticket(ticket);
        if told.as_ref() == Some(&status) {
            return Ok(());
        }
        let text = json!({ "type": "ticket", "ticket": ticket, "status": &status }).to_string();
        let ticket = ticket.clone();
        self.send(Message::Text(Utf8Bytes::from(text))).await?;
        self.ticket = Some((ticket, Some(status)));
        Ok(())
    }

    /// Follows `ticket` (typed by a citizen: a bad one is answered, not punished) or stops.
    async fn follow(&mut self, ticket: Option<&str>, frame: &PublicFrame) -> Result<(), End> {
        self.ticket = None;
        let Some(typed) = ticket else { return Ok(()) };
        match typed.parse::<Ticket>() {
            Ok(ticket) => {
                self.ticket = Some((ticket, None));
                self.show(frame).await
            }
            Err(_) => {
                let message = format!(
                    "{} bukan nomor antrean; tulis seperti A-124",
                    crate::protocol::truncate(typed, 20)
                );
                let text = json!({ "type": "error", "code": "bad_ticket", "message": message }).to_string();
                self.send(Message::Text(Utf8Bytes::from(text))).await
            }
        }
    }

    async fn send(&mut self, message: Message) -> Result<(), End> {
        match tokio::time::timeout(self.shared.limits.send_timeout(), self.socket.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(End::Closed),
            Err(_) => {
                self.shared.metrics.too_slow();
                Err(End::TooSlow)
            }
        }
    }

    async fn refuse(&mut self, code: &'static str, message: &str) -> End {
        let text = json!({ "type": "error", "code": code, "message": message }).to_string();
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            self.socket.send(Message::Text(Utf8Bytes::from(text))).await?;
            self.socket
                .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                    code: close_code::POLICY,
                    reason: code.into(),
                })))
                .await
        })
        .await;
        End::Refused(code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trusted_proxy_is_looked_through_and_nobody_else_is() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        let (proxy, phone): (IpAddr, IpAddr) =
            ("127.0.0.1".parse().unwrap(), "198.51.100.7".parse().unwrap());
        assert_eq!(phone_address(proxy, &headers, &[proxy]), phone, "the proxy's own hop counts");
        assert_eq!(phone_address(proxy, &headers, &[]), proxy, "an untrusted peer cannot name another");
        assert_eq!(phone_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
