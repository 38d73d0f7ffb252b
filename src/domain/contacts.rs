//! `contacts`: the address book, merged field by field, LID-canonical with a phone-number index.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoredContact {
    pub jid: String,
    pub display_name: Option<String>,
    pub push_name: Option<String>,
    pub lid: Option<String>,
    pub phone_number: Option<String>,
    pub username: Option<String>,
    pub last_updated_ms: i64,
}

impl StoredContact {
    /// Field-level merge; `last_updated_ms` keeps the larger of the two (as
    /// zapo's memory store does), so a late, older write never moves it back.
    pub fn merge_from(&mut self, incoming: StoredContact) {
        self.display_name = incoming.display_name.or(self.display_name.take());
        self.push_name = incoming.push_name.or(self.push_name.take());
        self.lid = incoming.lid.or(self.lid.take());
        self.phone_number = incoming.phone_number.or(self.phone_number.take());
        self.username = incoming.username.or(self.username.take());
        self.last_updated_ms = self.last_updated_ms.max(incoming.last_updated_ms);
    }
}

#[async_trait]
pub trait ContactStore: Send + Sync {
    async fn upsert_contacts(&self, sid: &str, records: Vec<StoredContact>) -> StoreResult<()>;
    /// Direct hit on `jid` only (the PN fallback is layered on top, see [`get_contact_or_by_phone`]).
    async fn get_contact(&self, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>>;
    async fn get_contact_by_phone_number(&self, sid: &str, phone_number: &str) -> StoreResult<Option<StoredContact>>;
    async fn delete_contact(&self, sid: &str, jid: &str) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}

/// zapo's `isUserJid`: a JID on the phone-number server (`…@s.whatsapp.net`).
pub fn is_user_jid(jid: &str) -> bool {
    matches!(jid.split_once('@'), Some((user, "s.whatsapp.net")) if !user.is_empty())
}

/// zapo's `getByJid`: a direct hit, else for a PN user JID the row whose
/// `phone_number` is that JID (rows are LID-canonical and keep the PN JID there).
pub async fn get_contact_or_by_phone(store: &dyn ContactStore, sid: &str, jid: &str) -> StoreResult<Option<StoredContact>> {
    if let Some(hit) = store.get_contact(sid, jid).await? {
        return Ok(Some(hit));
    }
    if is_user_jid(jid) {
        return store.get_contact_by_phone_number(sid, jid).await;
    }
    Ok(None)
}
