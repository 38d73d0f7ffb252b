//! `auth`: one credentials snapshot per session.

use async_trait::async_trait;

use super::rows::col;
use super::{read_err, write_err, MysqlBackend};
use crate::domain::auth::AuthStore;
use crate::domain::{Blob, StoreResult};

#[async_trait]
impl AuthStore for MysqlBackend {
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>> {
        let row = sqlx::query(&self.sql.auth_load)
            .bind(sid)
            .fetch_optional(self.db(sid).await?)
            .await
            .map_err(read_err("load credentials"))?;
        row.map(|row| col(&row, "credentials")).transpose()
    }

    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()> {
        sqlx::query(&self.sql.auth_save)
            .bind(sid)
            .bind(credentials)
            .bind(crate::domain::now_ms())
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("save credentials"))?;
        Ok(())
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        sqlx::query(&self.sql.auth_clear)
            .bind(sid)
            .execute(self.db(sid).await?)
            .await
            .map_err(write_err("clear credentials"))?;
        Ok(())
    }
}
