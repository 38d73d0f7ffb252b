//! `privacyToken`: trusted-contact tokens per jid, merged field by field.

use super::StoreResult;
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PrivacyToken {
    pub jid: String,
    pub tc_token: Option<Vec<u8>>,
    pub tc_token_timestamp: Option<i64>,
    pub tc_token_sender_timestamp: Option<i64>,
    pub nct_salt: Option<Vec<u8>>,
    pub updated_at_ms: i64,
}

impl PrivacyToken {
    /// Field-level merge: absent incoming fields keep the stored value; `updated_at_ms` is overwritten.
    pub fn merge_from(&mut self, incoming: PrivacyToken) {
        self.tc_token = incoming.tc_token.or(self.tc_token.take());
        self.tc_token_timestamp = incoming.tc_token_timestamp.or(self.tc_token_timestamp);
        self.tc_token_sender_timestamp = incoming.tc_token_sender_timestamp.or(self.tc_token_sender_timestamp);
        self.nct_salt = incoming.nct_salt.or(self.nct_salt.take());
        self.updated_at_ms = incoming.updated_at_ms;
    }
}

#[async_trait]
pub trait PrivacyTokenStore: Send + Sync {
    /// Field-level merge of each record, in order, all in one transaction.
    async fn upsert_privacy_tokens(&self, sid: &str, records: Vec<PrivacyToken>) -> StoreResult<()>;
    async fn get_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<Option<PrivacyToken>>;
    async fn delete_privacy_token(&self, sid: &str, jid: &str) -> StoreResult<u32>;
    async fn clear(&self, sid: &str) -> StoreResult<()>;
}
