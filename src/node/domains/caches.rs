//! The cache domains: retry, groupMetadata, chatMetadata, deviceList, messageSecret.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::domain::chat_metadata::{ChatMetadata, ChatMetadataStore as ChatMetadataDomain};
use crate::domain::device_list::{DeviceList, DeviceListStore as DeviceListDomain};
use crate::domain::group_metadata::{GroupMetadata, GroupMetadataStore as GroupMetadataDomain};
use crate::domain::message_secret::{MessageSecret, MessageSecretStore as MessageSecretDomain};
use crate::domain::now_ms;
use crate::domain::retry::{RetryOutboundMessage, RetryStore as RetryDomain};

use crate::node::errors::Reply;
use crate::node::input::{Arg, Id, Int};
use crate::node::records_in::{RetryState, SecretEntry};
use crate::node::records_out::{batch, JsChatMetadata, JsDeviceList, JsGroupMetadata, JsMessageSecret, JsRequesterStatus, JsRetryOutboundMessage};

/// An optional `nowMs` argument; the wall clock when omitted.
fn now_or(arg: Option<Int>) -> i64 {
    arg.map_or_else(now_ms, |n| n.0)
}

domain_class!(
    RetryStore,
    RetryDomain
);

#[napi]
impl RetryStore {
    #[napi(ts_args_type = "record: RetryOutboundMessageRecord", ts_return_type = "Promise<void>")]
    pub async fn upsert_outbound_message(&self, record: Arg<RetryOutboundMessage>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_outbound_message(&sid, record.0).await }).await
    }

    #[napi(ts_args_type = "messageId: string", ts_return_type = "Promise<RetryOutboundMessageRecord | null>")]
    pub async fn get_outbound_message(&self, message_id: Arg<Id>) -> Result<Reply<Option<JsRetryOutboundMessage>>> {
        self.h.call(|s, sid| async move { Ok(s.get_outbound_message(&sid, &message_id.0 .0).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "messageId: string", ts_return_type = "Promise<number>")]
    pub async fn delete_outbound_message(&self, message_id: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_outbound_message(&sid, &message_id.0 .0).await }).await
    }

    /// `null` when the message is unknown or has no eligible-requester list.
    #[napi(ts_args_type = "messageId: string, requesterDeviceJid: string", ts_return_type = "Promise<RetryRequesterStatus | null>")]
    pub async fn get_outbound_requester_status(&self, message_id: Arg<Id>, requester: Arg<Id>) -> Result<Reply<Option<JsRequesterStatus>>> {
        self.h
            .call(|s, sid| async move { Ok(s.get_outbound_requester_status(&sid, &message_id.0 .0, &requester.0 .0).await?.map(Into::into)) })
            .await
    }

    /// No-op when the message is unknown.
    #[napi(
        ts_args_type = "messageId: string, state: RetryOutboundState, updatedAtMs: number, expiresAtMs: number",
        ts_return_type = "Promise<void>"
    )]
    pub async fn update_outbound_message_state(&self, message_id: Arg<Id>, state: Arg<RetryState>, updated_at_ms: Arg<Int>, expires_at_ms: Arg<Int>) -> Result<Reply<()>> {
        self.h
            .call(|s, sid| async move {
                s.update_outbound_message_state(&sid, &message_id.0 .0, &state.0 .0, updated_at_ms.0 .0, expires_at_ms.0 .0).await
            })
            .await
    }

    #[napi(
        ts_args_type = "messageId: string, requesterDeviceJid: string, updatedAtMs: number, expiresAtMs: number",
        ts_return_type = "Promise<void>"
    )]
    pub async fn mark_outbound_requester_delivered(&self, message_id: Arg<Id>, requester: Arg<Id>, updated_at_ms: Arg<Int>, expires_at_ms: Arg<Int>) -> Result<Reply<()>> {
        self.h
            .call(|s, sid| async move {
                s.mark_outbound_requester_delivered(&sid, &message_id.0 .0, &requester.0 .0, updated_at_ms.0 .0, expires_at_ms.0 .0).await
            })
            .await
    }

    /// Atomic; resolves to the new count (1 on the first call).
    #[napi(
        ts_args_type = "messageId: string, requesterJid: string, updatedAtMs: number, expiresAtMs: number",
        ts_return_type = "Promise<number>"
    )]
    pub async fn increment_inbound_counter(&self, message_id: Arg<Id>, requester: Arg<Id>, updated_at_ms: Arg<Int>, expires_at_ms: Arg<Int>) -> Result<Reply<u32>> {
        self.h
            .call(|s, sid| async move {
                s.increment_inbound_counter(&sid, &message_id.0 .0, &requester.0 .0, updated_at_ms.0 .0, expires_at_ms.0 .0).await
            })
            .await
    }

    #[napi(ts_args_type = "nowMs: number", ts_return_type = "Promise<number>")]
    pub async fn cleanup_expired(&self, now: Arg<Int>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.cleanup_expired(&sid, now.0 .0).await }).await
    }


    #[napi]
    pub fn get_ttl_ms(&self) -> f64 {
        self.h.store.retry_ttl_ms() as f64
    }

    /// Whether replay payload objects are kept as objects (memory) rather than bytes.
    #[napi]
    pub fn supports_raw_replay_payload(&self) -> bool {
        self.h.store.supports_raw_replay_payload()
    }
}

domain_class!(
    GroupMetadataStore,
    GroupMetadataDomain
);

#[napi]
impl GroupMetadataStore {
    #[napi(ts_args_type = "snapshot: GroupMetadataSnapshot", ts_return_type = "Promise<void>")]
    pub async fn upsert_group_metadata(&self, snapshot: Arg<GroupMetadata>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_group_metadata(&sid, snapshot.0).await }).await
    }

    /// `null` when absent or expired (`nowMs >= updatedAtMs + ttl`).
    #[napi(ts_args_type = "groupJid: string, nowMs?: number", ts_return_type = "Promise<GroupMetadataSnapshot | null>")]
    pub async fn get_group_metadata(&self, group_jid: Arg<Id>, now: Arg<Option<Int>>) -> Result<Reply<Option<JsGroupMetadata>>> {
        let now = now_or(now.0);
        self.h.call(|s, sid| async move { Ok(s.get_group_metadata(&sid, &group_jid.0 .0, now).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "groupJid: string", ts_return_type = "Promise<number>")]
    pub async fn delete_group_metadata(&self, group_jid: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_group_metadata(&sid, &group_jid.0 .0).await }).await
    }

    #[napi(ts_args_type = "nowMs: number", ts_return_type = "Promise<number>")]
    pub async fn cleanup_expired(&self, now: Arg<Int>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.cleanup_expired_group_metadata(&sid, now.0 .0).await }).await
    }

}

domain_class!(
    ChatMetadataStore,
    ChatMetadataDomain
);

#[napi]
impl ChatMetadataStore {
    #[napi(ts_args_type = "snapshot: ChatMetadataSnapshot", ts_return_type = "Promise<void>")]
    pub async fn upsert_chat_metadata(&self, snapshot: Arg<ChatMetadata>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_chat_metadata(&sid, snapshot.0).await }).await
    }

    #[napi(ts_args_type = "chatJid: string, nowMs?: number", ts_return_type = "Promise<ChatMetadataSnapshot | null>")]
    pub async fn get_chat_metadata(&self, chat_jid: Arg<Id>, now: Arg<Option<Int>>) -> Result<Reply<Option<JsChatMetadata>>> {
        let now = now_or(now.0);
        self.h.call(|s, sid| async move { Ok(s.get_chat_metadata(&sid, &chat_jid.0 .0, now).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "chatJid: string", ts_return_type = "Promise<number>")]
    pub async fn delete_chat_metadata(&self, chat_jid: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_chat_metadata(&sid, &chat_jid.0 .0).await }).await
    }

    #[napi(ts_args_type = "nowMs: number", ts_return_type = "Promise<number>")]
    pub async fn cleanup_expired(&self, now: Arg<Int>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.cleanup_expired_chat_metadata(&sid, now.0 .0).await }).await
    }

}

domain_class!(
    DeviceListStore,
    DeviceListDomain
);

#[napi]
impl DeviceListStore {
    #[napi(ts_args_type = "snapshots: readonly DeviceListSnapshot[]", ts_return_type = "Promise<void>")]
    pub async fn upsert_user_devices_batch(&self, snapshots: Arg<Vec<DeviceList>>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_user_devices(&sid, snapshots.0).await }).await
    }

    #[napi(ts_args_type = "userJids: readonly string[], nowMs?: number", ts_return_type = "Promise<(DeviceListSnapshot | null)[]>")]
    pub async fn get_user_devices_batch(&self, user_jids: Arg<Vec<Id>>, now: Arg<Option<Int>>) -> Result<Reply<Vec<Option<JsDeviceList>>>> {
        let now = now_or(now.0);
        let jids: Vec<String> = user_jids.0.into_iter().map(|j| j.0).collect();
        self.h.call(|s, sid| async move { Ok(batch(s.get_user_devices(&sid, &jids, now).await?)) }).await
    }

    /// Matches the user in either addressing form (`userJid` or `altUserJid`).
    #[napi(ts_args_type = "jid: string, nowMs?: number", ts_return_type = "Promise<DeviceListSnapshot | null>")]
    pub async fn find_by_any_user_jid(&self, jid: Arg<Id>, now: Arg<Option<Int>>) -> Result<Reply<Option<JsDeviceList>>> {
        let now = now_or(now.0);
        self.h.call(|s, sid| async move { Ok(s.find_by_any_user_jid(&sid, &jid.0 .0, now).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "userJid: string", ts_return_type = "Promise<number>")]
    pub async fn delete_user_devices(&self, user_jid: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_user_devices(&sid, &user_jid.0 .0).await }).await
    }

    #[napi(ts_args_type = "nowMs: number", ts_return_type = "Promise<number>")]
    pub async fn cleanup_expired(&self, now: Arg<Int>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.cleanup_expired_device_lists(&sid, now.0 .0).await }).await
    }

}

domain_class!(
    MessageSecretStore,
    MessageSecretDomain
);

#[napi]
impl MessageSecretStore {
    #[napi(ts_args_type = "messageId: string, nowMs?: number", ts_return_type = "Promise<MessageSecretEntry | null>")]
    pub async fn get(&self, message_id: Arg<Id>, now: Arg<Option<Int>>) -> Result<Reply<Option<JsMessageSecret>>> {
        let now = now_or(now.0);
        let ids = vec![message_id.0 .0];
        self.h
            .call(|s, sid| async move { Ok(s.get_message_secrets(&sid, &ids, now).await?.into_iter().next().flatten().map(Into::into)) })
            .await
    }

    #[napi(ts_args_type = "messageIds: readonly string[], nowMs?: number", ts_return_type = "Promise<(MessageSecretEntry | null)[]>")]
    pub async fn get_batch(&self, message_ids: Arg<Vec<Id>>, now: Arg<Option<Int>>) -> Result<Reply<Vec<Option<JsMessageSecret>>>> {
        let now = now_or(now.0);
        let ids: Vec<String> = message_ids.0.into_iter().map(|m| m.0).collect();
        self.h.call(|s, sid| async move { Ok(batch(s.get_message_secrets(&sid, &ids, now).await?)) }).await
    }

    /// Expires at write time + the message-secret TTL.
    #[napi(ts_args_type = "messageId: string, entry: MessageSecretEntry", ts_return_type = "Promise<void>")]
    pub async fn set(&self, message_id: Arg<Id>, entry: Arg<MessageSecret>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.set_message_secrets(&sid, vec![(message_id.0 .0, entry.0)], now_ms()).await }).await
    }

    #[napi(
        ts_args_type = "entries: readonly { readonly messageId: string; readonly entry: MessageSecretEntry }[]",
        ts_return_type = "Promise<void>"
    )]
    pub async fn set_batch(&self, entries: Arg<Vec<SecretEntry>>) -> Result<Reply<()>> {
        let entries = entries.0.into_iter().map(|e| (e.0, e.1)).collect();
        self.h.call(|s, sid| async move { s.set_message_secrets(&sid, entries, now_ms()).await }).await
    }

    #[napi(ts_args_type = "nowMs: number", ts_return_type = "Promise<number>")]
    pub async fn cleanup_expired(&self, now: Arg<Int>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.cleanup_expired_message_secrets(&sid, now.0 .0).await }).await
    }

}
