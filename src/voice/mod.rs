//! The announcer's pure and file-level parts: number words, scripts, clip packs, rendering.

pub mod announcer;
pub mod pack;
pub mod player;
pub mod render;
pub mod script;
pub mod terbilang;
