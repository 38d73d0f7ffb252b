//! `appState`: sync keys and collection LT-hash state.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::domain::app_state::{AppStateStore as AppStateDomain, CollectionUpdate, SyncKey};

use crate::node::errors::Reply;
use crate::node::input::{Arg, Id};
use crate::node::records_in::SyncKeyId;
use crate::node::records_out::{batch, JsAppStateExport, JsCollectionState, JsSyncKey};

domain_class!(
    AppStateStore,
    AppStateDomain
);

fn ids(keys: Vec<SyncKeyId>) -> Vec<Vec<u8>> {
    keys.into_iter().map(|k| k.0).collect()
}

#[napi]
impl AppStateStore {
    /// Every key and every initialized collection (index maps as plain records).
    #[napi(ts_return_type = "Promise<AppStateExport>")]
    pub async fn export_data(&self) -> Result<Reply<JsAppStateExport>> {
        self.h.call(|s, sid| async move { Ok(s.export_data(&sid).await?.into()) }).await
    }

    /// Skips keys whose `keyData` is unchanged; resolves to how many were inserted or changed.
    #[napi(ts_args_type = "keys: readonly AppStateSyncKey[]", ts_return_type = "Promise<number>")]
    pub async fn upsert_sync_keys(&self, keys: Arg<Vec<SyncKey>>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.upsert_sync_keys(&sid, keys.0).await }).await
    }

    #[napi(ts_args_type = "keyIds: readonly Uint8Array[]", ts_return_type = "Promise<(AppStateSyncKey | null)[]>")]
    pub async fn get_sync_keys_batch(&self, key_ids: Arg<Vec<SyncKeyId>>) -> Result<Reply<Vec<Option<JsSyncKey>>>> {
        let key_ids = ids(key_ids.0);
        self.h.call(|s, sid| async move { Ok(batch(s.get_sync_keys(&sid, &key_ids).await?)) }).await
    }

    #[napi(ts_args_type = "keyId: Uint8Array", ts_return_type = "Promise<Uint8Array | null>")]
    pub async fn get_sync_key_data(&self, key_id: Arg<SyncKeyId>) -> Result<Reply<Option<Uint8Array>>> {
        let key_id = key_id.0 .0;
        self.h
            .call(|s, sid| async move {
                Ok(s.get_sync_keys(&sid, &[key_id]).await?.into_iter().next().flatten().map(|k| Uint8Array::new(k.key_data)))
            })
            .await
    }

    /// Positional; duplicates preserved.
    #[napi(ts_args_type = "keyIds: readonly Uint8Array[]", ts_return_type = "Promise<(Uint8Array | null)[]>")]
    pub async fn get_sync_key_data_batch(&self, key_ids: Arg<Vec<SyncKeyId>>) -> Result<Reply<Vec<Option<Uint8Array>>>> {
        let key_ids = ids(key_ids.0);
        self.h
            .call(|s, sid| async move {
                Ok(s.get_sync_keys(&sid, &key_ids).await?.into_iter().map(|o| o.map(|k| Uint8Array::new(k.key_data))).collect())
            })
            .await
    }

    /// The key with the highest epoch (bytes 2..5 of its id); ties go to the lower device id.
    #[napi(ts_return_type = "Promise<AppStateSyncKey | null>")]
    pub async fn get_active_sync_key(&self) -> Result<Reply<Option<JsSyncKey>>> {
        self.h.call(|s, sid| async move { Ok(s.get_active_sync_key(&sid).await?.map(Into::into)) }).await
    }

    /// An unknown collection reads as `{ initialized: false, version: 0, hash: 128 zero bytes, indexValueMap: empty }`.
    #[napi(ts_args_type = "collection: string", ts_return_type = "Promise<AppStateCollectionState>")]
    pub async fn get_collection_state(&self, collection: Arg<Id>) -> Result<Reply<JsCollectionState>> {
        let names = vec![collection.0 .0];
        self.h
            .call(|s, sid| async move {
                let state = s.get_collection_states(&sid, &names).await?.into_iter().next();
                Ok(state.unwrap_or_else(crate::domain::app_state::CollectionState::empty).into())
            })
            .await
    }

    #[napi(ts_args_type = "collections: readonly string[]", ts_return_type = "Promise<AppStateCollectionState[]>")]
    pub async fn get_collection_states(&self, collections: Arg<Vec<Id>>) -> Result<Reply<Vec<JsCollectionState>>> {
        let names: Vec<String> = collections.0.into_iter().map(|c| c.0).collect();
        self.h.call(|s, sid| async move { Ok(s.get_collection_states(&sid, &names).await?.into_iter().map(Into::into).collect()) }).await
    }

    /// Each update carries the full index map, which replaces the stored one.
    #[napi(
        ts_args_type = "updates: readonly { readonly collection: string; readonly version: number; readonly hash: Uint8Array; readonly indexValueMap: ReadonlyMap<string, Uint8Array> }[]",
        ts_return_type = "Promise<void>"
    )]
    pub async fn set_collection_states(&self, updates: Arg<Vec<CollectionUpdate>>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.set_collection_states(&sid, updates.0).await }).await
    }

}
