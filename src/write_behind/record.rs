//! The archive records the queue holds, and how two writes of one key coalesce.

use crate::domain::contacts::StoredContact;
use crate::domain::messages::StoredMessage;
use crate::domain::threads::StoredThread;

/// Which archive domain a queued record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Archive {
    Messages,
    Threads,
    Contacts,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Message(StoredMessage),
    Thread(StoredThread),
    Contact(StoredContact),
}

impl Record {
    pub fn archive(&self) -> Archive {
        match self {
            Record::Message(_) => Archive::Messages,
            Record::Thread(_) => Archive::Threads,
            Record::Contact(_) => Archive::Contacts,
        }
    }

    pub fn key(&self) -> &str {
        match self {
            Record::Message(m) => &m.id,
            Record::Thread(t) => &t.jid,
            Record::Contact(c) => &c.jid,
        }
    }

    /// Every text field, named as in the JS record (for up-front checks).
    #[allow(clippy::needless_lifetimes)]
    pub fn texts<'a>(&'a self) -> Vec<(&'static str, &'a str)> {
        fn opt<'a>(name: &'static str, v: &'a Option<String>) -> Option<(&'static str, &'a str)> {
            v.as_deref().map(|v| (name, v))
        }
        match self {
            Record::Message(m) => [Some(("id", m.id.as_str())), Some(("threadJid", m.thread_jid.as_str()))]
                .into_iter()
                .chain([
                    opt("senderJid", &m.sender_jid),
                    opt("participantJid", &m.participant_jid),
                ])
                .flatten()
                .collect(),
            Record::Thread(t) => [Some(("jid", t.jid.as_str())), opt("name", &t.name)]
                .into_iter()
                .flatten()
                .collect(),
            Record::Contact(c) => [
                Some(("jid", c.jid.as_str())),
                opt("displayName", &c.display_name),
                opt("pushName", &c.push_name),
                opt("lid", &c.lid),
                opt("phoneNumber", &c.phone_number),
                opt("username", &c.username),
            ]
            .into_iter()
            .flatten()
            .collect(),
        }
    }

    /// `newer` written after `self`: messages are replaced whole, threads and
    /// contacts merge field by field (what the backends' upserts do).
    pub fn absorb(&mut self, newer: Record) {
        match (self, newer) {
            (Record::Thread(old), Record::Thread(new)) => old.merge_from(new),
            (Record::Contact(old), Record::Contact(new)) => old.merge_from(new),
            (slot, newer) => *slot = newer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_merge_and_messages_replace() {
        let mut t = Record::Thread(StoredThread {
            jid: "j".into(),
            name: Some("a".into()),
            ..Default::default()
        });
        t.absorb(Record::Thread(StoredThread {
            jid: "j".into(),
            unread_count: Some(3),
            ..Default::default()
        }));
        let Record::Thread(t) = t else { panic!() };
        assert_eq!((t.name.as_deref(), t.unread_count), (Some("a"), Some(3)));

        let m = |thread: &str| StoredMessage {
            id: "m".into(),
            thread_jid: thread.into(),
            sender_jid: None,
            participant_jid: None,
            from_me: false,
            timestamp_ms: Some(1),
            message_bytes: None,
        };
        let mut r = Record::Message(m("a"));
        r.absorb(Record::Message(m("b")));
        assert_eq!(r, Record::Message(m("b")));
        assert_eq!(r.key(), "m");
        assert_eq!(r.archive(), Archive::Messages);
    }
}
