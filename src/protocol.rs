//! Wire types of protocol v1 (JSON text frames over WebSocket `/ws`); no IO. See docs/protocol.md.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::board::Board;
use crate::hall::Hall;
use crate::layout::Layouts;
// The queue's own types travel on the wire as they are.
pub use crate::queue::{
    Band, Call, Event, EventFrame, Issued, MAX_TICKET_NUMBER, Priority, Rating, Seq, SurveyAnswer, Ticket,
    TicketError,
};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest frame (and message) either side accepts.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;
/// Read buffer of a WebSocket, hub and client side alike. tungstenite zero-fills its whole read
/// buffer before every read (128 KiB by default); at 1000 screens that memset was most of the
/// CPU of whichever side used the default. Frames are small; a large snapshot just takes more reads.
pub const READ_BUFFER: usize = 8 * 1024;
/// Bytes a WebSocket may have waiting to be written, either side (tungstenite's default is
/// unbounded). The hub's snapshot of a big hall fits; a peer that stops reading is cut instead of
/// growing the buffer.
pub const MAX_WRITE_BUFFER: usize = 1024 * 1024;

/// Who a client is; decides what it may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A hall screen: subscribes only.
    Display,
    /// A counter or integration: subscribes and sends commands.
    Staff,
    /// A ticket machine or the `/ambil` page: subscribes and may only issue tickets.
    Kiosk,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Display => "display",
            Role::Staff => "staff",
            Role::Kiosk => "kiosk",
        })
    }
}

/// First frame of every client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    pub protocol: u32,
    pub role: Role,
    /// Screen id or staff client name, for logs and the fleet page.
    pub client: String,
    pub token: String,
    /// Last seq the client has applied; 0 asks for a snapshot.
    #[serde(default)]
    pub since: Seq,
}

/// Frames a client sends to the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::VariantNames)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ClientFrame {
    Hello(Hello),
    /// A staff command.
    Command(CommandFrame),
    /// A display that saw a gap asks for what it missed since `since`.
    Resync(Resync),
    /// Periodic display health report (kept for the fleet page).
    Status(Status),
    /// Asks for a `pong`: how a browser page, which cannot see WebSocket pings, knows its link
    /// is alive.
    Ping,
}

/// A staff command; `id` is chosen by the client and makes retries safe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandFrame {
    pub id: String,
    pub command: Command,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resync {
    pub since: Seq,
}

/// What a display reports about itself every few seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Status {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub screen: String,
    #[serde(default)]
    pub layout: String,
    #[serde(default)]
    pub fps: f32,
    #[serde(default)]
    pub rss: u64,
    #[serde(default)]
    pub audio: String,
    #[serde(default)]
    pub last_seq: Seq,
    /// Why the screen's own layout file is not in use (file:line:col: what is wrong).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout_error: Option<String>,
    /// What the screen's voice pack lacks for the hall's announcements.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice_error: Option<String>,
}

/// Frames the hub sends to clients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HubFrame {
    Welcome {
        seq: Seq,
        protocol: u32,
        hub: String,
    },
    /// The whole board, the hall and the layouts screens may ask for by name. Also sent to
    /// every client when the hall file or a layout is edited.
    Snapshot {
        seq: Seq,
        board: Box<Board>,
        hall: Box<Hall>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        layouts: Layouts,
    },
    Event(EventFrame),
    Ack {
        id: String,
        seq: Seq,
        /// True when this id was already applied earlier; nothing was applied now.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
        /// For `issue`: the ticket handed out, people ahead and the wait band.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issued: Option<Box<Issued>>,
    },
    Error {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        code: ErrorCode,
        message: String,
        /// The command field at fault, when one is (`ticket`, `counter`, `agency`, `letter`…).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        field: Option<String>,
    },
    /// To one display, from the fleet page: show the screen id big for `seconds`.
    Identify {
        seconds: u32,
    },
    /// To one display, from the fleet page: take a screenshot and upload it as a PNG to
    /// `POST /api/screens/{screen}/screenshot` with the display token.
    Screenshot {
        request: String,
    },
    /// The answer to a client's `ping`.
    Pong,
}

/// What staff ask for; the hub checks it against the hall and turns it into an [`Event`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Command {
    Call(CallCommand),
    /// Calls the next ticket of the counter's ticket letter; the hub keeps each letter's count.
    CallNext(CallNextCommand),
    Recall(RecallCommand),
    Announce(AnnounceCommand),
    Ticker(TickerCommand),
    Clear(ClearCommand),
    /// A ticket handed out: reported by a ticket system (`ticket` given) or numbered by the hub.
    Issue(IssueCommand),
    /// The counter finished serving its ticket ("Selesai").
    Done(CounterCommand),
    /// The counter's ticket did not come ("Tidak hadir"): it goes to the missed list.
    NoShow(CounterCommand),
    Reset,
    /// A citizen's survey answer after a served ticket. Only the phone page's
    /// `POST /antrean/penilaian` makes it; no token may send it.
    Survey(SurveyCommand),
}

impl Command {
    /// The wire `type`.
    pub fn kind(&self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallCommand {
    pub ticket: Ticket,
    pub counter: u16,
    /// Needed only when the counter number exists at several agencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// Calls the ticket after the highest one of `letter` called today (1 on a new day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallNextCommand {
    pub counter: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// Needed only when the counter's agency hands out several letters; its first otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter: Option<String>,
}

/// Calls the counter's current ticket again (or `ticket`, if given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecallCommand {
    pub counter: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnnounceCommand {
    pub phrase: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TickerCommand {
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearCommand {
    pub counter: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
}

/// A ticket handed out at `agency`. Without `ticket` the hub gives the next number of the
/// agency's letter (`letter`, needed only when it hands out several).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueCommand {
    pub agency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<Ticket>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// A command about a counter's current ticket (`done`, `no_show`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterCommand {
    pub counter: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
}

/// A survey answer as the phone page sends it; the hub adds where the ticket was served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyCommand {
    pub ticket: Ticket,
    pub rating: Rating,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Machine-readable error codes; the message says the rest in words.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::VariantNames,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not JSON, or not a valid frame of a known type.
    BadFrame,
    /// The frame's `type` is not one this hub knows.
    UnknownType,
    FrameTooLarge,
    /// Something other than `hello` came first.
    HelloRequired,
    /// Missing or wrong token.
    BadToken,
    /// The role may not do this (a display sending a command).
    Forbidden,
    ProtocolVersion,
    /// A command field is invalid; the message names the field.
    InvalidCommand,
    UnknownCounter,
    UnknownAgency,
    UnknownPhrase,
    NothingToRecall,
    RateLimited,
    TooManyConnections,
    /// The client did not keep up; reconnect with `since` to resync.
    TooSlow,
    /// The journal could not store the command; nothing was applied.
    JournalUnavailable,
    ShuttingDown,
    /// A command id already stands for a different command; a new command needs a new id.
    IdReused,
    /// The hub lists as many screens as it may; a new screen id is refused.
    TooManyScreens,
    /// `call_next` at an agency whose queue has no ticket waiting.
    QueueEmpty,
    /// `done` or `no_show` at a counter that is not serving a ticket.
    NotServing,
    /// A survey answer for a ticket that was not served today.
    NotServed,
    /// A second survey answer for the same ticket.
    AlreadyAnswered,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text frame could not be read as a [`ClientFrame`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

/// Every `type` a client may send.
const CLIENT_FRAME_TYPES: &[&str] = <ClientFrame as strum::VariantNames>::VARIANTS;

/// Parses a client frame, telling malformed JSON, unknown types and bad fields apart.
pub fn parse_client_frame(text: &str) -> Result<ClientFrame, FrameError> {
    let frame = parse_or_explain(text)
        .map_err(|e| FrameError { message: truncate(&e.message, MAX_ERROR_CHARS), ..e })?;
    match frame {
        // JSON numbers beyond f32 (1e39) become infinity, which JSON cannot carry back out: the
        // fleet page would get null and a saved screen list would no longer load.
        ClientFrame::Status(status) if !status.fps.is_finite() || status.fps < 0.0 => Err(FrameError {
            code: ErrorCode::BadFrame,
            message: "invalid status frame: fps must be a finite number ≥ 0".into(),
        }),
        ClientFrame::Status(status) => Ok(ClientFrame::Status(status.bounded())),
        frame => Ok(frame),
    }
}

/// The longest text a status field keeps (screen ids, versions and layout names are far shorter;
/// a layout error names file, line, column and what is wrong).
pub const MAX_STATUS_TEXT: usize = 300;

impl Status {
    /// This status with every text cut to [`MAX_STATUS_TEXT`] characters: a screen keeps at most
    /// a few KiB on the hub, whatever it sends.
    pub fn bounded(self) -> Status {
        let cut = |text: String| {
            if text.chars().count() > MAX_STATUS_TEXT { truncate(&text, MAX_STATUS_TEXT) } else { text }
        };
        Status {
            version: cut(self.version),
            screen: cut(self.screen),
            layout: cut(self.layout),
            audio: cut(self.audio),
            layout_error: self.layout_error.map(cut),
            voice_error: self.voice_error.map(cut),
            ..self
        }
    }
}

/// Error texts quote what was wrong (a field name, a value); a hostile frame must not get a
/// 64 KiB echo.
pub const MAX_ERROR_CHARS: usize = 300;

fn parse_or_explain(text: &str) -> Result<ClientFrame, FrameError> {
    let err = match serde_json::from_str::<ClientFrame>(text) {
        Ok(frame) => return Ok(frame),
        Err(err) => err,
    };
    // The slow path runs only for bad frames: find out what exactly is wrong.
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(json) => {
            return Err(FrameError { code: ErrorCode::BadFrame, message: format!("not valid JSON: {json}") });
        }
    };
    match value.get("type").and_then(|t| t.as_str()) {
        None => Err(FrameError {
            code: ErrorCode::BadFrame,
            message: "a frame is a JSON object with a string field \"type\"".into(),
        }),
        Some(kind) if !CLIENT_FRAME_TYPES.contains(&kind) => Err(FrameError {
            code: ErrorCode::UnknownType,
            message: format!(
                "unknown frame type {:?}; expected one of {}",
                truncate(kind, 40),
                CLIENT_FRAME_TYPES.join(", ")
            ),
        }),
        Some(kind) => Err(FrameError {
            code: ErrorCode::BadFrame,
            message: format!(
                "invalid {kind} frame: {}",
                explain_frame(kind, &value).unwrap_or_else(|| err.to_string())
            ),
        }),
    }
}

/// Names the field at fault: serde loses the path inside internally tagged enums, so each
/// frame and command body is checked as its own struct.
fn explain_frame(kind: &str, value: &serde_json::Value) -> Option<String> {
    match kind {
        "hello" => field_error::<Hello>(value, ""),
        "resync" => field_error::<Resync>(value, ""),
        "status" => field_error::<Status>(value, ""),
        _ => {
            if !value.get("id").is_some_and(|id| id.is_string()) {
                return Some("missing string field `id`".into());
            }
            let Some(command) = value.get("command") else {
                return Some("missing field `command`".into());
            };
            explain_command(command, "command.")
        }
    }
}

/// Why a JSON value is not a valid [`Command`], naming the field; `prefix` goes before it.
pub fn explain_command(command: &serde_json::Value, prefix: &str) -> Option<String> {
    match command.get("type").and_then(|t| t.as_str()) {
        Some("call") => field_error::<CallCommand>(command, prefix),
        Some("call_next") => field_error::<CallNextCommand>(command, prefix),
        Some("recall") => field_error::<RecallCommand>(command, prefix),
        Some("announce") => field_error::<AnnounceCommand>(command, prefix),
        Some("ticker") => field_error::<TickerCommand>(command, prefix),
        Some("clear") => field_error::<ClearCommand>(command, prefix),
        Some("issue") => field_error::<IssueCommand>(command, prefix),
        Some("done") | Some("no_show") => field_error::<CounterCommand>(command, prefix),
        Some("reset") => None,
        Some(other) => Some(format!(
            "{prefix}type: unknown command {:?}; expected one of {}",
            truncate(other, 40),
            <Command as strum::VariantNames>::VARIANTS.join(", ")
        )),
        None => Some(format!(
            "{prefix}type: missing; expected one of {}",
            <Command as strum::VariantNames>::VARIANTS.join(", ")
        )),
    }
}

/// Deserializes `value` as `T` (ignoring a `type` tag) and returns the error with its field path.
pub fn field_error<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
    prefix: &str,
) -> Option<String> {
    let mut body = value.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("type");
    }
    let err = serde_path_to_error::deserialize::<_, T>(&body).err()?;
    let path = err.path().to_string();
    Some(if path == "." {
        format!("{prefix}{}", err.inner()).trim_end_matches('.').to_string()
    } else {
        format!("{prefix}{path}: {}", err.inner())
    })
}

/// Cuts a string for an error message without splitting a character.
pub fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_string(),
    }
}

impl HubFrame {
    /// The JSON text of this frame.
    pub fn to_json(&self) -> String {
        // Serializing these types cannot fail: no maps with non-string keys, no foreign types.
        serde_json::to_string(self).expect("hub frames always serialize")
    }
}

impl ClientFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Any JSON value, nested a few levels, with keys that sometimes are the protocol's own.
    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let key = prop_oneof!["[a-z_]{1,12}", Just("type".to_string()), Just("id".to_string())];
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(serde_json::Value::from),
            "\\PC{0,40}".prop_map(serde_json::Value::from),
            prop::sample::select(CLIENT_FRAME_TYPES.to_vec()).prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 64, 8, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(key.clone(), inner, 0..8)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A frame of one of the client types whose fields are anything at all.
    fn frame_like() -> impl Strategy<Value = String> {
        let kind = prop_oneof![prop::sample::select(CLIENT_FRAME_TYPES.to_vec()), Just("call")];
        (kind, prop::collection::btree_map("[a-z_]{1,10}|id|command|since|role|token", json_value(), 0..6))
            .prop_map(|(kind, fields)| {
                let mut object: serde_json::Map<_, _> = fields.into_iter().collect();
                object.insert("type".into(), kind.into());
                serde_json::Value::Object(object).to_string()
            })
    }

    proptest! {
        /// Whatever arrives, parsing answers with a frame or a short, readable error: never a
        /// panic, never an echo of a huge input.
        #[test]
        fn any_text_gets_a_frame_or_a_short_error(
            text in prop_oneof![
                "\\PC{0,200}",
                prop::collection::vec(any::<u8>(), 0..400)
                    .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
                frame_like(),
                json_value().prop_map(|v| v.to_string()),
                // A long unknown key or value: error texts quote them.
                ("[a-z]{2000,4000}", frame_like())
                    .prop_map(|(long, f)| f.replacen('{', &format!("{{\"{long}\":\"{long}\","), 1)),
            ]
        ) {
            if let Err(e) = parse_client_frame(&text) {
                prop_assert!(matches!(e.code, ErrorCode::BadFrame | ErrorCode::UnknownType), "{:?}", e.code);
                prop_assert!(!e.message.is_empty());
                prop_assert!(e.message.chars().count() <= MAX_ERROR_CHARS + 1, "{} chars", e.message.len());
            }
        }
    }

    #[test]
    fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
        for text in [
            "[".repeat(60_000),
            "{\"a\":".repeat(20_000),
            format!("{{\"type\":\"status\",\"x\":{}", "[".repeat(60_000)),
        ] {
            let e = parse_client_frame(&text).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadFrame, "{}", e.message);
        }
    }

    #[test]
    fn command_frame_round_trips() {
        let text = r#"{"type":"command","id":"c1","command":{"type":"call","ticket":"A-123","counter":5,"agency":"disdukcapil"}}"#;
        let frame = parse_client_frame(text).unwrap();
        let ClientFrame::Command(CommandFrame { id, command }) = &frame else { panic!("{frame:?}") };
        assert_eq!(id, "c1");
        assert_eq!(
            command,
            &Command::Call(CallCommand {
                ticket: "A-123".parse().unwrap(),
                counter: 5,
                agency: Some("disdukcapil".into()),
                service: None
            })
        );
        assert_eq!(frame.to_json(), text);
    }

    #[test]
    fn bad_frames_are_told_apart() {
        let code = |t: &str| parse_client_frame(t).unwrap_err().code;
        assert_eq!(code("{not json"), ErrorCode::BadFrame);
        assert_eq!(code("[1,2]"), ErrorCode::BadFrame);
        assert_eq!(code(r#"{"type":"launch"}"#), ErrorCode::UnknownType);
        assert_eq!(code(r#"{"type":7}"#), ErrorCode::BadFrame);
        let wrong_field = parse_client_frame(
            r#"{"type":"command","id":"x","command":{"type":"call","ticket":"A-1","counter":"five"}}"#,
        )
        .unwrap_err();
        assert_eq!(wrong_field.code, ErrorCode::BadFrame);
        assert!(wrong_field.message.contains("command.counter: invalid type"), "{}", wrong_field.message);
        let missing =
            parse_client_frame(r#"{"type":"command","id":"x","command":{"type":"call","counter":5}}"#)
                .unwrap_err();
        assert!(missing.message.contains("missing field `ticket`"), "{}", missing.message);
        let bad_ticket = parse_client_frame(
            r#"{"type":"command","id":"x","command":{"type":"call","ticket":"5","counter":5}}"#,
        )
        .unwrap_err();
        assert!(bad_ticket.message.contains("command.ticket: invalid ticket"), "{}", bad_ticket.message);
        let unknown =
            parse_client_frame(r#"{"type":"command","id":"x","command":{"type":"dance"}}"#).unwrap_err();
        assert!(unknown.message.contains("command.type: unknown command"), "{}", unknown.message);
        let hello =
            parse_client_frame(r#"{"type":"hello","protocol":1,"role":"admin","client":"c","token":"t"}"#)
                .unwrap_err();
        assert!(hello.message.contains("role: unknown variant"), "{}", hello.message);
    }

    /// Every JSON line in docs/protocol.md is a real frame: client frames parse (strictly), hub
    /// frames parse and serialize back to the same JSON (so no misspelt field hides there).
    #[test]
    fn doc_examples_parse() {
        let doc = include_str!("../docs/protocol.md");
        let mut checked = 0;
        for block in doc.split("```json\n").skip(1) {
            let block = block.split("```").next().unwrap();
            for line in block.lines().filter(|l| !l.trim().is_empty()) {
                if parse_client_frame(line).is_ok() {
                    checked += 1;
                    continue;
                }
                let frame: HubFrame = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                let original: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(serde_json::to_value(&frame).unwrap(), original, "round trip of {line}");
                checked += 1;
            }
        }
        assert!(checked >= 30, "only {checked} examples found");
    }

    #[test]
    fn a_status_is_held_to_finite_numbers_and_short_texts() {
        let infinite = parse_client_frame(r#"{"type":"status","screen":"s","fps":1e39}"#).unwrap_err();
        assert_eq!(infinite.code, ErrorCode::BadFrame);
        assert!(infinite.message.contains("fps"), "{}", infinite.message);
        assert!(parse_client_frame(r#"{"type":"status","fps":-1}"#).is_err());
        let long = format!(
            r#"{{"type":"status","layout_error":"{}","version":"{}"}}"#,
            "x".repeat(60_000),
            "v".repeat(500)
        );
        let Ok(ClientFrame::Status(status)) = parse_client_frame(&long) else {
            panic!("a long status is cut, not refused")
        };
        assert_eq!(
            status.layout_error.unwrap().chars().count(),
            MAX_STATUS_TEXT + 1,
            "cut, with an ellipsis"
        );
        assert_eq!(status.version.chars().count(), MAX_STATUS_TEXT + 1);
        assert_eq!(parse_client_frame(r#"{"type":"ping"}"#).unwrap(), ClientFrame::Ping);
        assert_eq!(HubFrame::Pong.to_json(), r#"{"type":"pong"}"#);
    }

    /// strum's names (error texts, metrics, the list of known types) and serde's (the wire) follow
    /// one rule; a variant renamed on one side only fails here.
    #[test]
    fn kind_names_are_the_wire_names() {
        for name in <ErrorCode as strum::VariantNames>::VARIANTS {
            let code: ErrorCode = serde_json::from_value(serde_json::json!(name)).expect(name);
            assert_eq!(code.as_str(), *name);
            assert_eq!(serde_json::to_value(code).unwrap(), serde_json::json!(name));
        }
        for name in CLIENT_FRAME_TYPES {
            let answer = parse_client_frame(&format!(r#"{{"type":"{name}"}}"#));
            assert!(!matches!(&answer, Err(e) if e.code == ErrorCode::UnknownType), "{name}: {answer:?}");
        }
        let ticket: Ticket = "A-1".parse().unwrap();
        let commands = [
            Command::Call(CallCommand { ticket: ticket.clone(), counter: 1, agency: None, service: None }),
            Command::CallNext(CallNextCommand { counter: 1, agency: None, letter: None }),
            Command::Recall(RecallCommand { counter: 1, agency: None, ticket: None }),
            Command::Announce(AnnounceCommand { phrase: "x".into() }),
            Command::Ticker(TickerCommand { text: "x".into() }),
            Command::Clear(ClearCommand { counter: 1, agency: None }),
            Command::Issue(IssueCommand {
                agency: "x".into(),
                ticket: None,
                letter: None,
                service: None,
                priority: Some(Priority::IbuHamil),
            }),
            Command::Done(CounterCommand { counter: 1, agency: None }),
            Command::NoShow(CounterCommand { counter: 1, agency: None }),
            Command::Reset,
            Command::Survey(SurveyCommand { ticket: ticket.clone(), rating: Rating::Baik, comment: None }),
        ];
        let kinds: Vec<&str> = commands.iter().map(Command::kind).collect();
        assert_eq!(kinds, <Command as strum::VariantNames>::VARIANTS, "one command of each kind");
        for command in &commands {
            assert_eq!(serde_json::to_value(command).unwrap()["type"], command.kind());
        }
        let call = Call { ticket, counter: 1, agency: "x".into(), service: None, priority: None };
        let day = jiff::civil::date(2026, 12, 3);
        let events = [
            Event::Call(call.clone()),
            Event::Recall(call),
            Event::Announce { phrase: "x".into() },
            Event::Ticker { text: "x".into() },
            Event::Clear { counter: 1, agency: "x".into() },
            Event::Issue(Issued {
                ticket: "A-1".parse().unwrap(),
                agency: "x".into(),
                service: None,
                priority: None,
                ahead: 0,
                estimate: None,
            }),
            Event::Done { counter: 1, agency: "x".into() },
            Event::NoShow { counter: 1, agency: "x".into(), until: jiff::Timestamp::UNIX_EPOCH },
            Event::Survey(SurveyAnswer {
                ticket: "A-1".parse().unwrap(),
                agency: "x".into(),
                counter: 1,
                rating: Rating::SangatBaik,
                comment: None,
            }),
            Event::Reset { day },
            Event::HallChanged,
            Event::LayoutChanged,
        ];
        let kinds: Vec<&str> = events.iter().map(Event::kind).collect();
        assert_eq!(kinds, <Event as strum::VariantNames>::VARIANTS, "one event of each kind");
        for event in &events {
            assert_eq!(serde_json::to_value(event).unwrap()["type"], event.kind());
        }
    }

    #[test]
    fn ack_hides_duplicate_flag_unless_set() {
        let ack = HubFrame::Ack { id: "a".into(), seq: 3, duplicate: false, issued: None };
        assert_eq!(ack.to_json(), r#"{"type":"ack","id":"a","seq":3}"#);
    }
}
