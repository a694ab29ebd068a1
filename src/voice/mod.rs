//! The announcer's pure and file-level parts: number words, scripts, clip packs, rendering.

#[cfg(feature = "display")]
pub mod announcer;
pub mod pack;
#[cfg(feature = "display")]
pub mod player;
pub mod render;
pub mod script;
pub mod terbilang;
