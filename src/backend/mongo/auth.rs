//! `auth`: one credentials document per session, `_id` = session id.

use async_trait::async_trait;
use mongodb::bson::doc;

use super::collections::Kind;
use super::docs::{bin, get_bytes};
use super::MongoBackend;
use crate::domain::auth::AuthStore;
use crate::domain::{now_ms, Blob, StoreResult};

#[async_trait]
impl AuthStore for MongoBackend {
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>> {
        let doc = self.find_one(Kind::Auth, doc! { "_id": sid }, "load credentials").await?;
        doc.map(|d| get_bytes(&d, "credentials")).transpose()
    }

    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()> {
        // One document, replaced whole by a single-document update: atomic.
        let set = doc! { "$set": { "credentials": bin(credentials), "updated_at_ms": now_ms() } };
        self.upsert_one(Kind::Auth, doc! { "_id": sid }, set, "save credentials").await.map(drop)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.delete_where(Kind::Auth, doc! { "_id": sid }, "clear credentials").await.map(drop)
    }
}
