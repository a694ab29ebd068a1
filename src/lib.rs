//! papan: queue-call hub, screens and announcer for Indonesian public-service halls.

#[cfg(feature = "bench")]
pub mod bench;
pub mod board;
pub mod city;
pub mod cli;
pub mod client;
pub mod clock;
pub mod day_report;
pub mod day_sim;
#[cfg(feature = "display")]
pub mod display;
pub mod durable_file;
pub mod feed;
pub mod fit;
pub mod hall;
pub mod hub;
pub mod layout;
pub mod process_stats;
pub mod protocol;
pub mod public_view;
pub mod queue;
pub mod random_id;
pub mod source_error;
pub mod stats;
pub mod tls;
pub mod voice;
pub mod waiting;

/// This build's version, reported to clients and in health checks.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
