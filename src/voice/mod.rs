//! The voice: number words, scripts, clip packs and rendering (pure and file-level), and the
//! announcer and player that speak them on a screen (cargo feature `display`).

#[cfg(feature = "display")]
pub mod announcer;
pub mod pack;
#[cfg(feature = "display")]
pub mod player;
pub mod render;
pub mod script;
pub mod terbilang;
