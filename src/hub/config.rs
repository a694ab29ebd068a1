//! The hub's configuration file (`hub.toml`): listen address, tokens, limits; written on first start.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::protocol::Role;
use crate::random_id::random_id;
use crate::source_error::{SourceError, parse_toml};

pub const DEFAULT_LISTEN: &str = "0.0.0.0:7878";

/// Everything `papan hub` reads from `hub.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Hall file; the built-in MPP Palembang hall when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hall: Option<PathBuf>,
    /// Folder of layout files served to screens by name (over the built-in ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layouts: Option<PathBuf>,
    /// Serve https:// and wss:// with this certificate (for halls that route through a proxy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsFiles>,
    #[serde(default)]
    pub limits: Limits,
    /// Web pages of other origins that may open the hub's WebSocket, e.g.
    /// `["https://signage.example.go.id"]` (a browser board served elsewhere; `"null"` for a page
    /// opened from a file). The hub's own pages always may; programs send no origin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_origins: Vec<String>,
    pub tokens: Vec<TokenEntry>,
}

/// PEM files of the hub's certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The longest ping interval a hub may use: the screens' 8 s silence limit minus 3 s of slack.
pub const MAX_PING_INTERVAL_MS: u64 = 5000;

/// Protective limits; the defaults suit a hall of a few hundred screens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Signed-in WebSocket connections at once (screens and staff after their hello); more are
    /// refused. Connections that have not signed in never take these places.
    pub max_connections: usize,
    /// Connections not signed in at once: HTTP requests and WebSockets before their hello.
    pub max_unauthenticated: usize,
    /// Of those, from one address. Behind a reverse proxy every client has the proxy's address:
    /// raise it to `max_unauthenticated` there.
    pub connections_per_peer: usize,
    /// Screens the fleet remembers; a new screen id beyond this is refused (remove old ones on the
    /// fleet page).
    pub max_screens: usize,
    /// Frames the hub queues for one connection; a client further behind is cut and resyncs.
    pub send_queue: usize,
    /// A single write to a client taking longer than this cuts that client.
    pub send_timeout_ms: u64,
    /// The hub pings every client this often; three silent intervals drop it. At most
    /// [`MAX_PING_INTERVAL_MS`]: screens count a hub silent for 8 s as offline.
    pub ping_interval_ms: u64,
    /// Commands per second per token, sustained; `command_burst` may come at once.
    pub commands_per_second: f64,
    pub command_burst: f64,
    /// Events kept for replay to reconnecting screens; older ones are compacted into a snapshot.
    pub journal_keep: u64,
    /// Phone pages (`/antrean`) following the queue live at once. They have places of their own:
    /// however many phones watch, screens and staff keep theirs.
    pub max_public: usize,
    /// Of those, from one address. A hall's guest Wi-Fi shows every phone in it as one address,
    /// so this is generous; a proxy listed in `trusted_proxies` is looked through.
    pub public_per_peer: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the phone behind them (the address the
    /// phone-page caps count), e.g. `["127.0.0.1"]` for a proxy on the hub's machine.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 2000,
            max_unauthenticated: 512,
            connections_per_peer: 64,
            max_screens: 300,
            send_queue: 512,
            send_timeout_ms: 5000,
            ping_interval_ms: 5000,
            commands_per_second: 20.0,
            command_burst: 200.0,
            journal_keep: 10_000,
            max_public: 5000,
            public_per_peer: 500,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Limits {
    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms.max(100))
    }

    pub fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.send_timeout_ms.max(10))
    }
}

/// One token and what it may do. `name` appears in logs; the token itself never does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub token: String,
}

fn default_listen() -> SocketAddr {
    DEFAULT_LISTEN.parse().expect("default listen address parses")
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(#[from] SourceError),
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: no tokens configured; add [[tokens]] entries (or delete the file to get fresh ones)")]
    NoTokens { path: PathBuf },
    #[error("{path}: a token must be at least 16 characters (token {name:?})")]
    WeakToken { path: PathBuf, name: String },
    #[error(
        "{path}: limits.ping_interval_ms = {got} is too long; at most {MAX_PING_INTERVAL_MS} \
         (screens count a hub silent for 8 s as offline)"
    )]
    PingTooRare { path: PathBuf, got: u64 },
}

/// What [`load_or_create`] did.
pub enum Loaded {
    Existing(HubConfig),
    /// A new file with fresh tokens was written.
    Created(HubConfig),
}

impl HubConfig {
    /// A config with one fresh staff and one fresh display token.
    pub fn generate() -> HubConfig {
        HubConfig {
            listen: default_listen(),
            hall: None,
            layouts: None,
            tls: None,
            limits: Limits::default(),
            allowed_origins: Vec::new(),
            tokens: vec![
                TokenEntry { name: "staff".into(), role: Role::Staff, token: random_id("staff") },
                TokenEntry { name: "displays".into(), role: Role::Display, token: random_id("display") },
                TokenEntry { name: "kiosk".into(), role: Role::Kiosk, token: random_id("kiosk") },
            ],
        }
    }

    /// The first token with `role`, for local tools (demo, tests).
    pub fn token_for(&self, role: Role) -> Option<&str> {
        self.tokens.iter().find(|t| t.role == role).map(|t| t.token.as_str())
    }

    fn validate(self, path: &Path) -> Result<HubConfig, ConfigError> {
        if self.tokens.is_empty() {
            return Err(ConfigError::NoTokens { path: path.to_path_buf() });
        }
        if let Some(weak) = self.tokens.iter().find(|t| t.token.len() < 16) {
            return Err(ConfigError::WeakToken { path: path.to_path_buf(), name: weak.name.clone() });
        }
        if self.limits.ping_interval_ms > MAX_PING_INTERVAL_MS {
            return Err(ConfigError::PingTooRare {
                path: path.to_path_buf(),
                got: self.limits.ping_interval_ms,
            });
        }
        Ok(self)
    }
}

/// Reads `path`, or writes a new config with fresh tokens there if it does not exist.
pub fn load_or_create(path: &Path) -> Result<Loaded, ConfigError> {
    load_or_create_with(path, HubConfig::generate)
}

/// `papan city`'s config: the same format, its own port, one staff token (it has no screens).
pub fn generate_city() -> HubConfig {
    let mut config = HubConfig::generate();
    config.listen = DEFAULT_CITY_LISTEN.parse().expect("default city address");
    config.tokens.retain(|t| t.role == Role::Staff);
    config
}

/// Beside a hub's 7878 on the same machine.
pub const DEFAULT_CITY_LISTEN: &str = "0.0.0.0:7880";

/// Reads `path`, or writes `generate()` there if it does not exist.
pub fn load_or_create_with(path: &Path, generate: fn() -> HubConfig) -> Result<Loaded, ConfigError> {
    let io = |error| ConfigError::Io { path: path.to_path_buf(), error };
    match std::fs::read_to_string(path) {
        Ok(src) => {
            let config: HubConfig = parse_toml(&path.display().to_string(), &src)?;
            Ok(Loaded::Existing(config.validate(path)?))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let config = generate();
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            crate::durable_file::create_private(path, render(&config).as_bytes()).map_err(io)?;
            Ok(Loaded::Created(config))
        }
        Err(e) => Err(io(e)),
    }
}

fn render(config: &HubConfig) -> String {
    let body = toml::to_string_pretty(config).expect("hub config serializes");
    format!(
        "# papan configuration (hub.toml, or city.toml of papan city), written on first start.\n\
         # It holds the access tokens: keep it readable by the hub's user only.\n\
         # Give staff tokens to counter PCs and ticket systems, display tokens to screens.\n\
         # `hall = \"path/to/hall.toml\"` chooses a hall file (default: built-in MPP Palembang).\n\n{body}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_writes_a_private_config_that_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/hub.toml");
        let Loaded::Created(created) = load_or_create(&path).unwrap() else { panic!("expected a new file") };
        assert_ne!(created.token_for(Role::Staff), created.token_for(Role::Display));
        let Loaded::Existing(loaded) = load_or_create(&path).unwrap() else { panic!("expected the file") };
        assert_eq!(loaded, created);

        let city = dir.path().join("city.toml");
        let Loaded::Created(created) = load_or_create_with(&city, generate_city).unwrap() else { panic!() };
        let Loaded::Existing(loaded) = load_or_create_with(&city, generate_city).unwrap() else { panic!() };
        assert_eq!((loaded.listen.port(), loaded.tokens.len()), (7880, 1), "the city keeps its port");
        assert_eq!(loaded, created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "listen = \"nowhere\"\ntokens = []\n").unwrap();
        let err = load_or_create(&path).err().unwrap().to_string();
        assert!(err.contains("hub.toml:1:10"), "{err}");
        std::fs::write(&path, "tokens = [{ name = \"s\", role = \"staff\", token = \"short\" }]\n").unwrap();
        let err = load_or_create(&path).err().unwrap().to_string();
        assert!(err.contains("at least 16 characters"), "{err}");
        let mut config = HubConfig::generate();
        config.limits.ping_interval_ms = 9000;
        std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
        let err = load_or_create(&path).err().unwrap().to_string();
        assert!(err.contains("ping_interval_ms = 9000 is too long; at most 5000"), "{err}");
    }
}
