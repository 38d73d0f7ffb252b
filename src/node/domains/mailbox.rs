//! The mailbox domains (messages, threads, contacts) and privacy tokens.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::domain::contacts::{get_contact_or_by_phone, ContactStore as ContactDomain, StoredContact};
use crate::domain::messages::{MessageStore as MessageDomain, PageStart, StoredMessage};
use crate::domain::privacy_token::{PrivacyToken, PrivacyTokenStore as PrivacyTokenDomain};
use crate::domain::threads::{StoredThread, ThreadStore as ThreadDomain};
use crate::error::{StoreError, StoreResult};

use crate::node::errors::Reply;
use crate::node::input::{Arg, FromJs, Id, In, Limit};
use crate::node::records_out::{JsPrivacyToken, JsStoredContact, JsStoredMessage, JsStoredThread};

/// A `limit` argument: a positive integer, or the default when omitted.
fn limit(value: Option<Limit>, default: u32) -> StoreResult<u32> {
    match value {
        None => Ok(default),
        Some(Limit(n)) if n.fract() == 0.0 && n >= 1.0 => Ok(n.min(u32::MAX as f64) as u32),
        Some(Limit(n)) => Err(StoreError::invalid_argument(format!("limit must be a positive integer, got {n}"))),
    }
}

domain_class!(
    PrivacyTokenStore,
    PrivacyTokenDomain
);

#[napi]
impl PrivacyTokenStore {
    /// Field-level merge: absent fields keep their stored values; `updatedAtMs` is overwritten.
    #[napi(ts_args_type = "record: PrivacyTokenRecord", ts_return_type = "Promise<void>")]
    pub async fn upsert(&self, record: Arg<PrivacyToken>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_privacy_tokens(&sid, vec![record.0]).await }).await
    }

    #[napi(ts_args_type = "records: readonly PrivacyTokenRecord[]", ts_return_type = "Promise<void>")]
    pub async fn upsert_batch(&self, records: Arg<Vec<PrivacyToken>>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_privacy_tokens(&sid, records.0).await }).await
    }

    #[napi(ts_args_type = "jid: string", ts_return_type = "Promise<PrivacyTokenRecord | null>")]
    pub async fn get_by_jid(&self, jid: Arg<Id>) -> Result<Reply<Option<JsPrivacyToken>>> {
        self.h.call(|s, sid| async move { Ok(s.get_privacy_token(&sid, &jid.0 .0).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "jid: string", ts_return_type = "Promise<number>")]
    pub async fn delete_by_jid(&self, jid: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_privacy_token(&sid, &jid.0 .0).await }).await
    }

}

/// `{ limit?, cursor?, beforeTimestampMs? }` of `listPageByThread` and `deleteByThread`.
pub struct PageOptions {
    limit: Option<Limit>,
    start: PageStart,
}

impl FromJs for PageOptions {
    const WHAT: &'static str = "options";
    fn from_js(input: &In) -> StoreResult<Self> {
        if input.is_nullish() {
            return Ok(PageOptions { limit: None, start: PageStart::Newest });
        }
        let o = input.clone().object()?;
        let limit = o.field("limit")?;
        let limit = if limit.is_nullish() { None } else { Some(Limit(limit.number()?)) };
        let (cursor, before) = (o.field("cursor")?, o.field("beforeTimestampMs")?);
        let start = match (cursor.is_nullish(), before.is_nullish()) {
            (true, true) => PageStart::Newest,
            (false, true) => {
                let text = cursor.string()?;
                PageStart::from_cursor(&text).ok_or_else(|| {
                    StoreError::invalid_argument(format!("{} is not a nextCursor of listPageByThread", cursor.path))
                })?
            }
            (true, false) => PageStart::Before(before.int()?),
            (false, false) => {
                return Err(StoreError::invalid_argument(format!(
                    "{} and {} cannot be combined (a cursor already lies below the first page's bound)",
                    cursor.path, before.path
                )))
            }
        };
        Ok(PageOptions { limit, start })
    }
}

/// One page of `listPageByThread`.
#[napi(object, object_from_js = false, js_name = "StoredMessagePage")]
pub struct JsMessagePage {
    /// Newest first; ties of one timestamp in a fixed order; messages without a timestamp last.
    #[napi(ts_type = "StoredMessageRecord[]")]
    pub messages: Vec<JsStoredMessage>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

domain_class!(
    MessageStore,
    MessageDomain
);

#[napi]
impl MessageStore {
    /// Full replace by id.
    #[napi(ts_args_type = "record: StoredMessageRecord", ts_return_type = "Promise<void>")]
    pub async fn upsert(&self, record: Arg<StoredMessage>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_messages(&sid, vec![record.0]).await }).await
    }

    #[napi(ts_args_type = "records: readonly StoredMessageRecord[]", ts_return_type = "Promise<void>")]
    pub async fn upsert_batch(&self, records: Arg<Vec<StoredMessage>>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_messages(&sid, records.0).await }).await
    }

    #[napi(ts_args_type = "id: string", ts_return_type = "Promise<StoredMessageRecord | null>")]
    pub async fn get_by_id(&self, id: Arg<Id>) -> Result<Reply<Option<JsStoredMessage>>> {
        self.h.call(|s, sid| async move { Ok(s.get_message(&sid, &id.0 .0).await?.map(Into::into)) }).await
    }

    /// Newest first (`timestampMs` desc, then id desc); with `beforeTimestampMs`, only older messages.
    #[napi(
        ts_args_type = "threadJid: string, limit?: number, beforeTimestampMs?: number",
        ts_return_type = "Promise<StoredMessageRecord[]>"
    )]
    pub async fn list_by_thread(
        &self,
        thread_jid: Arg<Id>,
        limit_arg: Arg<Option<Limit>>,
        before: Arg<Option<crate::node::input::Int>>,
    ) -> Result<Reply<Vec<JsStoredMessage>>> {
        let limit = match limit(limit_arg.0, 50) {
            Ok(l) => l,
            Err(e) => return Ok(Reply::store(Err(e))),
        };
        let before = before.0.map(|b| b.0);
        self.h
            .call(|s, sid| async move {
                Ok(s.list_messages_by_thread(&sid, &thread_jid.0 .0, limit, before).await?.into_iter().map(Into::into).collect())
            })
            .await
    }

    #[napi(ts_args_type = "id: string", ts_return_type = "Promise<number>")]
    pub async fn delete_by_id(&self, id: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_message(&sid, &id.0 .0).await }).await
    }

    /// Exact paging, newest first: `limit` (default 50) messages from the
    /// start, the page after `cursor` (a previous page's `nextCursor`), or the
    /// newest older than `beforeTimestampMs`. Walking every page returns every
    /// message of the thread once, however many share a timestamp.
    #[napi(
        ts_args_type = "threadJid: string, options?: { readonly limit?: number; readonly cursor?: string; readonly beforeTimestampMs?: number }",
        ts_return_type = "Promise<StoredMessagePage>"
    )]
    pub async fn list_page_by_thread(
        &self,
        thread_jid: Arg<Id>,
        options: Arg<PageOptions>,
    ) -> Result<Reply<JsMessagePage>> {
        let PageOptions { limit: limit_arg, start } = options.0;
        let limit = match limit(limit_arg, 50) {
            Ok(l) => l,
            Err(e) => return Ok(Reply::store(Err(e))),
        };
        self.h
            .call(|s, sid| async move {
                // One more than asked: it tells whether a next page exists.
                let mut page = s.list_messages_page(&sid, &thread_jid.0 .0, limit.saturating_add(1), &start).await?;
                let next_cursor = if page.len() > limit as usize {
                    page.truncate(limit as usize);
                    page.last().and_then(|m| PageStart::after(m).to_cursor())
                } else {
                    None
                };
                Ok(JsMessagePage { messages: page.into_iter().map(Into::into).collect(), next_cursor })
            })
            .await
    }

    /// Deletes the messages of the thread a walk would return: all of them,
    /// those after `cursor`, or those older than `beforeTimestampMs` (plus the
    /// ones without a timestamp). Resolves to how many were deleted.
    #[napi(
        ts_args_type = "threadJid: string, options?: { readonly cursor?: string; readonly beforeTimestampMs?: number }",
        ts_return_type = "Promise<number>"
    )]
    pub async fn delete_by_thread(&self, thread_jid: Arg<Id>, options: Arg<PageOptions>) -> Result<Reply<u32>> {
        let PageOptions { limit, start } = options.0;
        if limit.is_some() {
            let err = StoreError::invalid_argument("options.limit is not an option of deleteByThread");
            return Ok(Reply::store(Err(err)));
        }
        self.h.call(|s, sid| async move { s.delete_thread_messages(&sid, &thread_jid.0 .0, &start).await }).await
    }

}

domain_class!(
    ThreadStore,
    ThreadDomain
);

#[napi]
impl ThreadStore {
    /// Field-level merge: absent fields keep their stored values.
    #[napi(ts_args_type = "record: StoredThreadRecord", ts_return_type = "Promise<void>")]
    pub async fn upsert(&self, record: Arg<StoredThread>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_threads(&sid, vec![record.0]).await }).await
    }

    #[napi(ts_args_type = "records: readonly StoredThreadRecord[]", ts_return_type = "Promise<void>")]
    pub async fn upsert_batch(&self, records: Arg<Vec<StoredThread>>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_threads(&sid, records.0).await }).await
    }

    #[napi(ts_args_type = "jid: string", ts_return_type = "Promise<StoredThreadRecord | null>")]
    pub async fn get_by_jid(&self, jid: Arg<Id>) -> Result<Reply<Option<JsStoredThread>>> {
        self.h.call(|s, sid| async move { Ok(s.get_thread(&sid, &jid.0 .0).await?.map(Into::into)) }).await
    }

    /// At most `limit` (default 100) threads, in no defined order.
    #[napi(ts_args_type = "limit?: number", ts_return_type = "Promise<StoredThreadRecord[]>")]
    pub async fn list(&self, limit_arg: Arg<Option<Limit>>) -> Result<Reply<Vec<JsStoredThread>>> {
        let limit = match limit(limit_arg.0, 100) {
            Ok(l) => l,
            Err(e) => return Ok(Reply::store(Err(e))),
        };
        self.h.call(|s, sid| async move { Ok(s.list_threads(&sid, limit).await?.into_iter().map(Into::into).collect()) }).await
    }

    #[napi(ts_args_type = "jid: string", ts_return_type = "Promise<number>")]
    pub async fn delete_by_jid(&self, jid: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_thread(&sid, &jid.0 .0).await }).await
    }

}

domain_class!(
    ContactStore,
    ContactDomain
);

#[napi]
impl ContactStore {
    /// Field-level merge; `lastUpdatedMs` keeps the larger value.
    #[napi(ts_args_type = "record: StoredContactRecord", ts_return_type = "Promise<void>")]
    pub async fn upsert(&self, record: Arg<StoredContact>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_contacts(&sid, vec![record.0]).await }).await
    }

    #[napi(ts_args_type = "records: readonly StoredContactRecord[]", ts_return_type = "Promise<void>")]
    pub async fn upsert_batch(&self, records: Arg<Vec<StoredContact>>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_contacts(&sid, records.0).await }).await
    }

    /// A direct hit, else (for a `…@s.whatsapp.net` jid) the contact whose `phoneNumber` is that jid.
    #[napi(ts_args_type = "jid: string", ts_return_type = "Promise<StoredContactRecord | null>")]
    pub async fn get_by_jid(&self, jid: Arg<Id>) -> Result<Reply<Option<JsStoredContact>>> {
        self.h.call(|s, sid| async move { Ok(get_contact_or_by_phone(&*s, &sid, &jid.0 .0).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "pn: string", ts_return_type = "Promise<StoredContactRecord | null>")]
    pub async fn get_by_phone_number(&self, pn: Arg<Id>) -> Result<Reply<Option<JsStoredContact>>> {
        self.h.call(|s, sid| async move { Ok(s.get_contact_by_phone_number(&sid, &pn.0 .0).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "jid: string", ts_return_type = "Promise<number>")]
    pub async fn delete_by_jid(&self, jid: Arg<Id>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.delete_contact(&sid, &jid.0 .0).await }).await
    }

}
