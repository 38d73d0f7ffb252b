//! `auth`: one opaque credentials blob per session (`auth:{sid}:c`, a string).
//! Credentials never expire, whatever `storeTtlMs` says.

use async_trait::async_trait;

use super::layout::Area;
use super::values::opt_bytes;
use super::RedisBackend;
use crate::domain::auth::AuthStore;
use crate::domain::{Blob, StoreResult};

fn key(b: &RedisBackend, sid: &str) -> String {
    b.space(Area::Auth, sid).key("c")
}

#[async_trait]
impl AuthStore for RedisBackend {
    async fn load(&self, sid: &str) -> StoreResult<Option<Blob>> {
        let what = "load credentials";
        opt_bytes(self.read(what, redis::cmd("GET").arg(key(self, sid))).await?, what)
    }

    async fn save(&self, sid: &str, credentials: Blob) -> StoreResult<()> {
        // SET replaces the whole snapshot atomically (and drops any TTL).
        self.write(
            "save credentials",
            redis::cmd("SET").arg(key(self, sid)).arg(credentials),
        )
        .await
        .map(drop)
    }

    async fn clear(&self, sid: &str) -> StoreResult<()> {
        self.write("clear credentials", redis::cmd("DEL").arg(key(self, sid)))
            .await
            .map(drop)
    }
}
