//! The key layout: `<prefix><tag>:{<sessionId>}:<kind>[:<segment>…]`.
//!
//! - Every variable part (the session id, jids, ids) is escaped with [`esc`]:
//!   `%`, `:`, `{` and `}` become `%XX`. So `:` only ever separates parts, and
//!   the session id between `{` and the first `}` is self-delimiting: one
//!   session's keyspace is never a string prefix of another's. The braces are
//!   also a Redis Cluster hash tag, keeping one session's keys in one slot.
//! - Prefixes are `[A-Za-z0-9_:]*` and tags contain neither `{` nor `:`, and no
//!   tag is a suffix of another ([`TAGS`]). So `<prefix><tag>:{` of two
//!   different (prefix, tag) pairs are never equal, even when one prefix is a
//!   string prefix of the other (`t1` vs `t10`): a session's pattern can never
//!   match another prefix's keys.
//! - SCAN patterns escape the glob characters `* ? [ ] \` of the fixed part.

use crate::domain::SignalAddress;
use crate::error::{StoreError, StoreResult};

/// The key areas: one per domain, plus the adapters' generic key domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Auth,
    Signal,
    PreKey,
    Session,
    Identity,
    SenderKey,
    AppState,
    PrivacyToken,
    Messages,
    Threads,
    Contacts,
    Retry,
    GroupMetadata,
    ChatMetadata,
    DeviceList,
    MessageSecret,
    Keys,
    /// Session leases (ownership mode).
    Lease,
}

/// Every area's tag, in [`Area`] order.
pub const TAGS: [&str; 18] = [
    "auth", "sig", "pk", "ses", "idn", "sk", "as", "pt", "msg", "thr", "ct", "rt", "gm", "cm", "dl", "ms", "ky", "ls",
];

impl Area {
    pub fn tag(self) -> &'static str {
        TAGS[self as usize]
    }
}

/// Escapes one key part: `%`, `:`, `{`, `}` → `%XX` (the Lua `seg` does the same).
pub fn esc(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '%' => out.push_str("%25"),
            ':' => out.push_str("%3A"),
            '{' => out.push_str("%7B"),
            '}' => out.push_str("%7D"),
            _ => out.push(c),
        }
    }
    out
}

/// Reverses [`esc`]; `None` for text [`esc`] cannot have produced.
pub fn unesc(part: &str) -> Option<String> {
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 3)?;
        out.push(match code {
            "25" => '%',
            "3A" => ':',
            "7B" => '{',
            "7D" => '}',
            _ => return None,
        });
        rest = &rest[at + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// Escapes the glob metacharacters of a SCAN pattern's literal part.
pub fn glob_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len() + 8);
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Signal address as one key part: `user:server:device`, each escaped.
pub fn addr_part(a: &SignalAddress) -> String {
    format!("{}:{}:{}", esc(&a.user), esc(&a.server), a.device)
}

/// Reads back an [`addr_part`] stored as a hash field or set member.
pub fn parse_addr_part(raw: &[u8]) -> StoreResult<SignalAddress> {
    let bad = || {
        StoreError::corrupted(format!(
            "redis: stored address {:?} is not user:server:device",
            String::from_utf8_lossy(raw)
        ))
    };
    let text = std::str::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = text.split(':');
    let (Some(user), Some(server), Some(device), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    Ok(SignalAddress {
        user: unesc(user).ok_or_else(bad)?,
        server: unesc(server).ok_or_else(bad)?,
        device: device.parse().map_err(|_| bad())?,
    })
}

/// Lowercase hex, for binary ids in key names (app-state key ids).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

pub fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        (c as char)
            .to_digit(16)
            .filter(|_| !c.is_ascii_uppercase())
            .map(|d| d as u8)
    };
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// The keys of one (area, session): everything under `base`.
#[derive(Debug, Clone)]
pub struct Space {
    base: String,
}

impl Space {
    pub fn new(prefix: &str, area: Area, sid: &str) -> Self {
        Self {
            base: format!("{prefix}{}:{{{}}}:", area.tag(), esc(sid)),
        }
    }

    /// `<prefix><tag>:{<sid>}:` — what Lua scripts build dynamic keys from.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// A fixed key of this space, e.g. `meta`.
    pub fn key(&self, kind: &str) -> String {
        format!("{}{kind}", self.base)
    }

    /// `kind:` followed by `part`, escaped.
    pub fn key1(&self, kind: &str, part: &str) -> String {
        format!("{}{kind}:{}", self.base, esc(part))
    }

    /// `kind:` followed by an already-built part (an [`addr_part`], a number, hex).
    pub fn key_raw(&self, kind: &str, part: &str) -> String {
        format!("{}{kind}:{part}", self.base)
    }

    /// The SCAN pattern of every key in this space and no other.
    pub fn pattern(&self) -> String {
        format!("{}*", glob_escape(&self.base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_tag_is_a_suffix_of_another() {
        for (i, a) in TAGS.iter().enumerate() {
            assert!(!a.contains(':') && !a.contains('{') && !a.is_empty());
            for (j, b) in TAGS.iter().enumerate() {
                assert!(i == j || !a.ends_with(b), "{a} ends with {b}");
            }
        }
        assert_eq!(Area::Keys.tag(), "ky");
        assert_eq!(Area::Auth.tag(), "auth");
    }

    #[test]
    fn escaping_round_trips_and_delimits() {
        for s in ["", "a:b", "%3A", "{x}", "}{", "100% :{}", "ünï 🙂", "*?[]\\ "] {
            let e = esc(s);
            assert!(!e.contains(':') && !e.contains('{') && !e.contains('}'), "{e}");
            assert_eq!(unesc(&e).as_deref(), Some(s));
        }
        assert_eq!(unesc("%zz"), None);
        assert_eq!(unesc("%2"), None);
        let a = SignalAddress::new("a:b", Some("c%"), 7);
        assert_eq!(parse_addr_part(addr_part(&a).as_bytes()).unwrap(), a);
        assert!(parse_addr_part(b"a:b").is_err());
        assert!(parse_addr_part(b"a:b:c").is_err());
    }

    #[test]
    fn spaces_never_nest() {
        let s = |prefix: &str, area, sid: &str| Space::new(prefix, area, sid);
        // Same characters, different session: neither base is a prefix of the other.
        let pairs = [
            (s("p:", Area::Session, "a"), s("p:", Area::Session, "a}:x")),
            (s("p:", Area::Session, "a"), s("p:", Area::Session, "a:b")),
            (s("t1", Area::Auth, "s"), s("t10", Area::Auth, "s")),
            (s("x", Area::Auth, "s"), s("xau", Area::Threads, "s")),
            (s("", Area::Messages, "s"), s("m", Area::Session, "s")),
        ];
        for (a, b) in &pairs {
            assert!(
                !b.base().starts_with(a.base()) && !a.base().starts_with(b.base()),
                "{a:?} {b:?}"
            );
        }
        assert_eq!(s("w:", Area::Session, "a*b").pattern(), "w:ses:{a\\*b}:*");
        assert_eq!(glob_escape("[x]?\\"), "\\[x\\]\\?\\\\");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex(b"00ab10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(unhex(b"0"), None);
        assert_eq!(unhex(b"AB"), None);
        assert_eq!(unhex(b"zz"), None);
    }
}
