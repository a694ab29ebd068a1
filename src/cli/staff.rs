//! Staff and integration commands over the WebSocket protocol, and `watch`.

use super::{CliError, Cmd};
use crate::client::{ClientOptions, Session, new_command_id, send_command};
use crate::hall::TimeZone;
use crate::protocol::{
    AnnounceCommand, CallCommand, CallNextCommand, ClearCommand, Command, CounterCommand, Event, EventFrame,
    HubFrame, IssueCommand, Issued, RecallCommand, Role, TickerCommand,
};

/// Sends the command given on the command line and prints the hub's answer.
pub(super) async fn command(cmd: Cmd) -> Result<(), CliError> {
    let (hub, command) = match cmd {
        Cmd::Call { target: super::CallTarget { ticket, counter, agency }, service, hub } => {
            (hub, Command::Call(CallCommand { ticket, counter, agency, service }))
        }
        Cmd::Next { counter, agency, letter, hub } => {
            (hub, Command::CallNext(CallNextCommand { counter, agency, letter }))
        }
        Cmd::Recall { counter, agency, ticket, hub } => {
            (hub, Command::Recall(RecallCommand { counter, agency, ticket }))
        }
        Cmd::Announce { phrase, hub } => (hub, Command::Announce(AnnounceCommand { phrase })),
        Cmd::Ticker { text, hub } => (hub, Command::Ticker(TickerCommand { text })),
        Cmd::Clear { counter, agency, hub } => (hub, Command::Clear(ClearCommand { counter, agency })),
        Cmd::Issue { agency, ticket, letter, service, priority, hub } => {
            (hub, Command::Issue(IssueCommand { agency, ticket, letter, service, priority }))
        }
        Cmd::Done { counter, agency, hub } => (hub, Command::Done(CounterCommand { counter, agency })),
        Cmd::NoShow { counter, agency, hub } => (hub, Command::NoShow(CounterCommand { counter, agency })),
        _ => unreachable!("not a staff command"),
    };
    // A ticket machine's token is a kiosk token (a staff token may act as one too).
    let role = if matches!(command, Command::Issue(_)) { Role::Kiosk } else { Role::Staff };
    let options = hub.options(role)?;
    let id = hub.id.clone().unwrap_or_else(new_command_id);
    let what = describe_command(&command);
    let acked = send_command(&options, &id, command).await?;
    if acked.duplicate {
        println!("{what}: already done earlier as seq {} (id {id}); not repeated", acked.seq);
    } else {
        println!("{what}: ok, seq {}", acked.seq);
    }
    if let Some(issued) = &acked.issued {
        println!("{}", describe_issued(issued));
    }
    Ok(())
}

/// "ticket A-012 (prioritas lansia): 4 ahead, estimate 15–25 menit".
fn describe_issued(issued: &Issued) -> String {
    let priority = issued.priority.map(|p| format!(" (prioritas {})", p.label())).unwrap_or_default();
    format!(
        "ticket {}{priority}: {} ahead, estimate {}",
        issued.ticket,
        issued.ahead,
        crate::waiting::estimate_text(issued.estimate)
    )
}

fn describe_command(command: &Command) -> String {
    match command {
        Command::Call(c) => format!("call {} to counter {}", c.ticket, c.counter),
        Command::CallNext(c) => format!("call next at counter {}", c.counter),
        Command::Recall(c) => format!("recall at counter {}", c.counter),
        Command::Announce(a) => format!("announce {}", a.phrase),
        Command::Ticker(_) => "ticker".into(),
        Command::Clear(c) => format!("clear counter {}", c.counter),
        Command::Issue(i) => match &i.ticket {
            Some(ticket) => format!("issue {ticket} at {}", i.agency),
            None => format!("issue a ticket at {}", i.agency),
        },
        Command::Done(c) => format!("done at counter {}", c.counter),
        Command::NoShow(c) => format!("no-show at counter {}", c.counter),
        Command::Reset => "reset".into(),
        Command::Survey(s) => format!("survey answer for {}", s.ticket),
    }
}

/// Prints every frame a screen would receive until the hub closes or Ctrl-C.
pub(super) async fn watch(options: &ClientOptions, since: u64, json: bool) -> Result<(), CliError> {
    let mut session = Session::connect(options, since).await?;
    let mut timezone = TimeZone::Wib;
    println!("connected to {} at seq {}", options.url, session.welcome_seq);
    loop {
        let frame = tokio::select! {
            frame = session.next_frame() => frame?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let Some(frame) = frame else {
            println!("the hub closed the connection");
            return Ok(());
        };
        if json {
            println!("{}", frame.to_json());
            continue;
        }
        match frame {
            HubFrame::Snapshot { seq, board, hall, .. } => {
                timezone = hall.timezone;
                println!(
                    "board of {} at seq {seq}: {} counters serving, {} recent calls",
                    hall.short_name,
                    board.counters.len(),
                    board.recent.len()
                );
            }
            HubFrame::Event(frame) => println!("{}", describe_event(&frame, timezone)),
            HubFrame::Error { code, message, .. } => println!("hub error {code}: {message}"),
            HubFrame::Identify { .. } | HubFrame::Screenshot { .. } => {
                println!("the fleet page asked this watcher for a screen action; ignored");
            }
            HubFrame::Welcome { .. } | HubFrame::Ack { .. } | HubFrame::Pong => {}
        }
    }
}

/// One line per event, e.g. `#12  14:05:03 WIB  call    A-123 → loket 5 (disdukcapil)`.
pub fn describe_event(frame: &EventFrame, timezone: TimeZone) -> String {
    let time = frame.at.to_zoned(jiff::tz::TimeZone::fixed(timezone.offset())).strftime("%H:%M:%S");
    let what = match &frame.event {
        Event::Call(c) | Event::Recall(c) => format!("{} → loket {} ({})", c.ticket, c.counter, c.agency),
        Event::Announce { phrase } => phrase.clone(),
        Event::Ticker { text } => format!("{text:?}"),
        Event::Clear { counter, agency }
        | Event::Done { counter, agency }
        | Event::NoShow { counter, agency, .. } => format!("loket {counter} ({agency})"),
        Event::Issue(i) => format!(
            "{}{} ({}), {} ahead, {}",
            i.ticket,
            i.priority.map(|p| format!(" prioritas {}", p.label())).unwrap_or_default(),
            i.agency,
            i.ahead,
            crate::waiting::estimate_text(i.estimate)
        ),
        Event::Survey(a) => format!("{} ({}, loket {}): {}", a.ticket, a.agency, a.counter, a.rating.label()),
        Event::Reset { day } => format!("new service day {day}"),
        Event::HallChanged | Event::LayoutChanged => String::new(),
    };
    format!("#{:<5} {time} {}  {:<8} {what}", frame.seq, timezone.label(), frame.event.kind())
}
