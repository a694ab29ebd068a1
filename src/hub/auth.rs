//! Token check: which configured token (if any) a presented secret is, in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::config::TokenEntry;
use crate::protocol::{Command, Role};

/// A client that presented a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name from hub.toml (safe to log).
    pub name: String,
    pub role: Role,
}

/// Configured tokens, stored as SHA-256 digests so every comparison has the same length.
pub struct Tokens {
    entries: Vec<(Principal, [u8; 32])>,
}

impl Tokens {
    pub fn new(entries: &[TokenEntry]) -> Tokens {
        Tokens {
            entries: entries
                .iter()
                .map(|t| (Principal { name: t.name.clone(), role: t.role }, digest(&t.token)))
                .collect(),
        }
    }

    /// The principal for `presented`, comparing against every entry so timing says nothing.
    pub fn check(&self, presented: &str) -> Option<Principal> {
        let presented = digest(presented);
        let mut found = None;
        for (principal, expected) in &self.entries {
            if bool::from(expected.ct_eq(&presented)) && found.is_none() {
                found = Some(principal.clone());
            }
        }
        found
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether a token of role `granted` may connect as `asked`: staff may also watch as a display.
pub fn may_act_as(granted: Role, asked: Role) -> bool {
    granted == asked || granted == Role::Staff
}

/// Whether `role` may send `command`; the refusal in words if not. A ticket machine in the lobby
/// may only hand out tickets: it must not be able to call or clear counters.
pub fn may_send(role: Role, command: &Command) -> Result<(), &'static str> {
    match (role, command) {
        (_, Command::Survey(_)) => {
            Err("survey answers come only from the phone page (/antrean), never with a token")
        }
        (Role::Staff, _) | (Role::Kiosk, Command::Issue(_)) => Ok(()),
        (Role::Kiosk, _) => Err("a kiosk token may only issue tickets; calls need a staff token"),
        (Role::Display, _) => Err("display connections may not send commands; use a staff token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_matching_token_only() {
        let tokens = Tokens::new(&[
            TokenEntry { name: "counter".into(), role: Role::Staff, token: "staff-0123456789abcdef".into() },
            TokenEntry {
                name: "screens".into(),
                role: Role::Display,
                token: "display-0123456789abcdef".into(),
            },
        ]);
        assert_eq!(tokens.check("staff-0123456789abcdef").unwrap().name, "counter");
        assert_eq!(tokens.check("display-0123456789abcdef").unwrap().role, Role::Display);
        assert_eq!(tokens.check("staff-0123456789abcdeF"), None);
        assert_eq!(tokens.check(""), None);
        assert!(may_act_as(Role::Staff, Role::Display));
        assert!(!may_act_as(Role::Display, Role::Staff));
    }
}
