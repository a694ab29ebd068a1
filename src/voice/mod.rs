//! The voice: number words, scripts, clip packs and rendering (pure and file-level), and the
//! announcer and player that speak them on a screen (cargo feature `display`).

#[cfg(feature = "display")]
pub mod announcer;
pub mod decode;
pub mod english;
pub mod master;
pub mod pack;
pub mod pack_build;
#[cfg(feature = "display")]
pub mod player;
pub mod recording_script;
pub mod render;
pub mod script;
pub mod terbilang;
