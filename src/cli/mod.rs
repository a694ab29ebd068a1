//! Command line: `papan hub | call | recall | announce | ticker | clear | watch | demo | bench`.

#[cfg(feature = "display")]
mod demo;
#[cfg(feature = "display")]
mod display;
mod layout;
mod report;
mod staff;
mod voice;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::client::{ClientError, ClientOptions};
use crate::hall::Hall;
use crate::hub::config::{self, HubConfig, Loaded};
use crate::hub::{self, HubOptions};
use crate::protocol::{Role, Ticket};

#[derive(Parser)]
#[command(name = "papan", version, about = "Queue-call hub, screens and announcer for public-service halls")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the hall's hub: WebSocket /ws, HTTP API, journal.
    Hub(HubArgs),
    /// Run the city view: a fleet page and API across every hall whose hubs use NATS JetStream
    /// (`papan hub --journal`), and city-wide tickers and announcements.
    City(CityArgs),
    /// Call a ticket to a counter.
    Call {
        #[command(flatten)]
        target: CallTarget,
        #[arg(long)]
        service: Option<String>,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Call the next ticket of the counter's letter (the hub counts each letter, from 1 every day).
    Next {
        #[arg(long)]
        counter: u16,
        #[arg(long)]
        agency: Option<String>,
        /// Needed only when the counter's agency hands out several letters.
        #[arg(long)]
        letter: Option<String>,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Call a counter's current ticket again.
    Recall {
        #[arg(long)]
        counter: u16,
        #[arg(long)]
        agency: Option<String>,
        /// Recall this ticket instead of the counter's current one.
        #[arg(long)]
        ticket: Option<Ticket>,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Play a prerecorded phrase (see the hall file's [[phrases]]).
    Announce {
        phrase: String,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Set the running text at the bottom of the screens ("" clears it).
    Ticker {
        text: String,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Clear what a counter shows (e.g. when it closes).
    Clear {
        #[arg(long)]
        counter: u16,
        #[arg(long)]
        agency: Option<String>,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Hand out a ticket: report one a ticket machine printed (--ticket), or let the hub number
    /// it. Prints the ticket, people ahead and the wait band. A kiosk or staff token.
    Issue {
        #[arg(long)]
        agency: String,
        /// The ticket the ticket machine printed; without it the hub gives the next number.
        #[arg(long)]
        ticket: Option<Ticket>,
        /// The ticket letter, when the agency hands out several.
        #[arg(long)]
        letter: Option<String>,
        #[arg(long)]
        service: Option<String>,
        /// lansia, disabilitas or ibu_hamil: called before others by the agency's rule.
        #[arg(long)]
        priority: Option<crate::protocol::Priority>,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// The counter finished serving its ticket ("Selesai").
    Done {
        #[arg(long)]
        counter: u16,
        #[arg(long)]
        agency: Option<String>,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// The counter's ticket did not come ("Tidak hadir"): it goes to the missed list.
    NoShow {
        #[arg(long)]
        counter: u16,
        #[arg(long)]
        agency: Option<String>,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// The day's report: per agency tickets, waits, service times against the standard, how the
    /// wait bands held, and the satisfaction index (IKM). A staff token.
    Report {
        /// Service day, YYYY-MM-DD (hall-local); today's when left out.
        #[arg(long)]
        day: Option<String>,
        /// CSV for spreadsheets and the city's systems, one line per agency and the hall's total.
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        /// The whole report as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Print live events as screens receive them.
    Watch {
        /// Replay events after this seq first (0: start from the current board).
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Print raw JSON frames.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        hub: HubClientArgs,
    },
    /// Embedded hub with simulated staff calls, on this machine.
    #[cfg(feature = "display")]
    Demo(demo::DemoArgs),
    /// Measure hub fan-out, the display and the voice on this machine, and soak a display.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(crate::bench::BenchCmd),
    /// Render announcements to WAV and check clip packs.
    #[command(subcommand)]
    Voice(voice::VoiceCmd),
    /// Check screen layout files.
    #[command(subcommand)]
    Layout(layout::LayoutCmd),
    /// The hall screen: board and announcer, connected to a hub.
    #[cfg(feature = "display")]
    Display(display::DisplayArgs),
}

#[derive(Args)]
struct HubArgs {
    /// Config file (default: DATA/hub.toml; written with fresh tokens if missing).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the config).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Folder for the journal.
    #[arg(long, default_value = "papan-data")]
    data: PathBuf,
    /// Hall file (overrides the config; default: built-in MPP Palembang). Edits reach the screens live.
    #[arg(long)]
    hall: Option<PathBuf>,
    /// Folder of layout files served to screens by name, e.g. assets/layouts. Edits reach the screens live.
    #[arg(long)]
    layouts: Option<PathBuf>,
    /// Serve https:// and wss:// with this PEM certificate chain (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Keep the hall's events on NATS JetStream instead of DATA/journal.sqlite:
    /// nats://[USER:PASSWORD@]HOST:4222[,nats://HOST2:4222…]. Several hubs with the same --hall-id
    /// share them. From $PAPAN_JOURNAL too (keeps a password out of the process list).
    #[arg(
        long,
        env = "PAPAN_JOURNAL",
        hide_env_values = true,
        value_name = "nats://HOST:PORT[,…]",
        requires = "hall_id"
    )]
    journal: Option<String>,
    /// The hall's id on the NATS cluster (with --journal), e.g. mpp-palembang.
    #[arg(long, value_name = "ID", requires = "journal")]
    hall_id: Option<String>,
    /// Copies JetStream keeps of the hall's events (with --journal; at most the cluster's size).
    #[arg(long, default_value_t = 1, value_name = "N")]
    journal_replicas: usize,
}

#[derive(Args)]
struct CityArgs {
    /// The city's NATS servers, as given to the hubs' --journal: nats://[USER:PASSWORD@]HOST:4222[,…].
    /// From $PAPAN_NATS too (keeps a password out of the process list).
    #[arg(long, env = "PAPAN_NATS", hide_env_values = true, value_name = "nats://HOST:PORT[,…]")]
    nats: String,
    /// Config file with the listen address and tokens (default: DATA/city.toml, written with a
    /// fresh staff token if missing; the same format as hub.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the config; default 0.0.0.0:7880).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Folder for city.toml and halls.json (every hall heard, so a restart still lists the halls
    /// that are cut off).
    #[arg(long, default_value = "papan-city")]
    data: PathBuf,
}

/// Which ticket goes to which counter: `call` sends it, `voice say` speaks it.
#[derive(Args, Clone)]
struct CallTarget {
    /// Ticket, e.g. A-123.
    ticket: Ticket,
    #[arg(long)]
    counter: u16,
    /// Agency id; needed only when the counter number exists at several agencies.
    #[arg(long)]
    agency: Option<String>,
}

/// Where the hub is and how to identify to it.
#[derive(Args, Clone)]
struct HubClientArgs {
    /// Hub address: ws://HOST:7878/ws, http://HOST:7878 or HOST:PORT; several hubs of one hall
    /// separated by commas (the next is tried when one fails).
    #[arg(long, env = "PAPAN_HUB", default_value = "ws://127.0.0.1:7878/ws")]
    hub: String,
    /// Access token (a staff token to send commands); see the hub's hub.toml.
    #[arg(long, env = "PAPAN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Name shown in the hub's log.
    #[arg(long, default_value = "papan-cli")]
    client: String,
    /// Command id; a retry with the same id is never applied twice.
    #[arg(long)]
    id: Option<String>,
    /// Seconds to wait for the hub.
    #[arg(long, default_value_t = 5)]
    timeout: u64,
}

impl HubClientArgs {
    fn options(&self, role: Role) -> Result<ClientOptions, CliError> {
        let token = self.token.clone().filter(|t| !t.is_empty()).ok_or_else(|| {
            CliError::Usage(
                "no token: pass --token or set PAPAN_TOKEN (tokens are in the hub's hub.toml, \
                 written at its first start)"
                    .into(),
            )
        })?;
        Ok(ClientOptions {
            url: self.hub.clone(),
            token,
            role,
            client: self.client.clone(),
            timeout: Duration::from_secs(self.timeout.max(1)),
        })
    }
}

/// What went wrong, mapped to the exit code.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{0:#}")]
    Other(#[from] anyhow::Error),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Client(ClientError::Refused { .. }) => 1,
            CliError::Client(_) => 3,
            CliError::Other(_) => 1,
        }
    }
}

/// Entry point of the `papan` binary.
pub fn main() -> ExitCode {
    if let Some(missing) = subcommand_not_built() {
        eprintln!("papan: {missing}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let default_log = match cli.command {
        Cmd::Hub(_) | Cmd::City(_) => "info",
        #[cfg(feature = "display")]
        Cmd::Demo(_) | Cmd::Display(_) => "info,wgpu=warn,naga=warn",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_log)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // The display runs bevy on this thread (winit needs the main thread) and its network on a
    // thread of its own: it needs no runtime here, whose idle workers would only cost memory.
    #[cfg(feature = "display")]
    if let Cmd::Display(args) = cli.command {
        return finish(display::run(args).map_err(CliError::Other));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("papan: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // The demo's display, too, runs bevy on this thread.
    let result = match cli.command {
        #[cfg(feature = "display")]
        Cmd::Demo(args) => demo::run(args, &runtime).map_err(CliError::Other),
        command => runtime.block_on(run(command)),
    };
    // Dropping a runtime waits for its blocking tasks without end: one stuck on a server out of
    // reach must not keep a stopped hub alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    finish(result)
}

/// A subcommand left out of this build (a server build has no screen), named as such instead of
/// clap's "unrecognized subcommand".
fn subcommand_not_built() -> Option<String> {
    let first = std::env::args().nth(1)?;
    let feature = match first.as_str() {
        "display" | "demo" if cfg!(not(feature = "display")) => "display",
        "bench" if cfg!(not(feature = "bench")) => "bench",
        _ => return None,
    };
    Some(format!(
        "`papan {first}` is not in this build: it was built without the cargo feature `{feature}` \
         (a server build: hub, city, staff commands, layout and voice checks); build papan with \
         default features for screens and benchmarks"
    ))
}

fn finish(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("papan: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

async fn run(command: Cmd) -> Result<(), CliError> {
    match command {
        Cmd::Hub(args) => run_hub(args).await.map_err(CliError::Other),
        Cmd::City(args) => run_city(args).await.map_err(CliError::Other),
        #[cfg(feature = "bench")]
        Cmd::Bench(cmd) => crate::bench::run(cmd).await.map_err(CliError::Other),
        Cmd::Voice(cmd) => voice::run(cmd).map_err(CliError::Other),
        Cmd::Layout(cmd) => layout::run(cmd).map_err(CliError::Other),
        #[cfg(feature = "display")]
        Cmd::Demo(_) | Cmd::Display(_) => unreachable!("run outside the runtime"),
        Cmd::Report { day, csv, json, hub } => report::run(day, csv, json, &hub).await,
        Cmd::Watch { since, json, hub } => staff::watch(&hub.options(Role::Display)?, since, json).await,
        other => staff::command(other).await,
    }
}

/// The config at `path`, written by `generate` with fresh tokens (and said so) on first start.
fn load_config(path: &Path, program: &str, generate: fn() -> HubConfig) -> anyhow::Result<HubConfig> {
    Ok(match config::load_or_create_with(path, generate)? {
        Loaded::Existing(config) => config,
        Loaded::Created(config) => {
            let roles: Vec<String> =
                config.tokens.iter().map(|t| format!("{:?}", t.role).to_lowercase()).collect();
            println!(
                "papan {program}: first start — wrote {} with fresh tokens ({}); keep it private",
                path.display(),
                roles.join(", ")
            );
            config
        }
    })
}

async fn run_city(args: CityArgs) -> anyhow::Result<()> {
    let config_path = args.config.clone().unwrap_or_else(|| args.data.join("city.toml"));
    let mut config = load_config(&config_path, "city", config::generate_city)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    let running = crate::city::start(crate::city::CityOptions {
        servers: args.nats.clone(),
        config,
        data_dir: args.data.clone(),
    })
    .await?;
    println!(
        "papan city: {} (halls on {}); staff token in {}",
        running.http_url(),
        hub::jetstream::redact_servers(&args.nats),
        config_path.display()
    );
    hub::shutdown::stop_on_signals("city", || running.stop()).await
}

async fn run_hub(args: HubArgs) -> anyhow::Result<()> {
    let config_path = args.config.clone().unwrap_or_else(|| args.data.join("hub.toml"));
    let mut config = load_config(&config_path, "hub", HubConfig::generate)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    // clap makes sure the two come together.
    if let (Some(cert), Some(key)) = (args.tls_cert.clone(), args.tls_key.clone()) {
        config.tls = Some(hub::config::TlsFiles { cert, key });
    }
    let hall_path = args.hall.clone().or_else(|| config.hall.clone());
    let hall = match &hall_path {
        Some(path) => Hall::load(path)?,
        None => Hall::builtin(),
    };
    hub::raise_open_file_limit();
    let hall_label = hall_path.as_ref().map_or_else(|| "built-in".to_string(), |p| p.display().to_string());
    let files = hub::files::ConfigFiles {
        hall: hall_path.clone(),
        layouts: args.layouts.clone().or_else(|| config.layouts.clone()),
    };
    let shared_journal = match (args.journal, args.hall_id) {
        (Some(servers), Some(hall_id)) => {
            hub::jetstream::check_hall_id(&hall_id).map_err(anyhow::Error::msg)?;
            Some(hub::jetstream::JetStreamOptions { servers, hall_id, replicas: args.journal_replicas })
        }
        (None, Some(_)) => {
            anyhow::bail!("--hall-id names the hall on a NATS journal: give --journal nats://… too")
        }
        _ => None,
    };
    let options = HubOptions {
        config,
        data_dir: args.data,
        hall: hall.clone(),
        clock: hub::core::system_clock(),
        shared_journal,
    };
    let running = hub::start(options).await?;
    running.watch_files(files, hall);
    println!(
        "papan hub: listening on {} (WebSocket {}), hall {hall_label}, journal {}",
        running.http_url(),
        running.ws_url(),
        running.journal_label
    );
    hub::shutdown::stop_on_signals("hub", || running.stop()).await?;
    tracing::info!("hub stopped");
    Ok(())
}
