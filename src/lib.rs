//! papan: queue-call hub, screens and announcer for Indonesian public-service halls.

pub mod board;
pub mod hall;
pub mod protocol;
pub mod source_error;
