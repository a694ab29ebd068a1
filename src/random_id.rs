//! Random ids shared by hub and clients: tokens, command ids, screenshot request ids.

/// A fresh random id: prefix + 32 hex digits (128 bits), unique across every client and hub.
pub fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}
