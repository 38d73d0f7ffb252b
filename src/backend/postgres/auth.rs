//! `auth`: one opaque credentials blob per session.

use async_trait::async_trait;

use super::rows::col;
use super::{check, read_err, write_err, PostgresBackend};
use crate::domain::auth::AuthStore;
use crate::domain::{now_ms, Blob, StoreResult};

#[async_trait]
impl AuthStore for PostgresBackend {
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>> {
        check("sessionId", sid)?;
        let row = sqlx::query(&self.sql.auth_load)
            .bind(sid)
            .fetch_optional(self.pool().await?)
            .await
            .map_err(read_err("load credentials"))?;
        row.map(|row| col(&row, "credentials")).transpose()
    }

    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()> {
        check("sessionId", sid)?;
        sqlx::query(&self.sql.auth_save)
            .bind(sid)
            .bind(credentials)
            .bind(now_ms())
            .execute(self.pool().await?)
            .await
            .map_err(write_err("save credentials"))?;
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.exec_sid_all(&[&self.sql.auth_clear], sid, "clear credentials").await.map(drop)
    }
}
