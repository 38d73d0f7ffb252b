//! `auth`: one opaque credentials blob per session.

use async_trait::async_trait;

use super::rows::col;
use super::{read_err, write_err, SqliteBackend};
use crate::domain::auth::AuthStore;
use crate::domain::{now_ms, Blob, StoreResult};

#[async_trait]
impl AuthStore for SqliteBackend {
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>> {
        let row = sqlx::query(&self.sql.auth_load)
            .bind(sid)
            .fetch_optional(self.reader().await?)
            .await
            .map_err(read_err("load credentials"))?;
        row.map(|row| col(&row, "credentials")).transpose()
    }

    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()> {
        sqlx::query(&self.sql.auth_save)
            .bind(sid)
            .bind(credentials)
            .bind(now_ms())
            .execute(self.writer().await?)
            .await
            .map_err(write_err("save credentials"))?;
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.auth_clear)
            .bind(sid)
            .execute(self.writer().await?)
            .await
            .map_err(write_err("clear credentials"))?;
        Ok(())
    }
}
