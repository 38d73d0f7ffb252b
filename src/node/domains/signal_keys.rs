//! JS classes of the Signal-side domains: auth, signal, session, identity, senderKey.
//! (preKey is in `pre_key.rs`: it calls back into JS.)

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::domain::auth::AuthStore as AuthDomain;
use crate::domain::identity::IdentityStore as IdentityDomain;
use crate::domain::sender_key::{SenderKey, SenderKeyDistribution, SenderKeyStore as SenderKeyDomain};
use crate::domain::session::SessionStore as SessionDomain;
use crate::domain::signal::{RegistrationInfo, SignalStore as SignalDomain, SignedPreKey};
use crate::domain::SignalAddress;

use crate::node::errors::Reply;
use crate::node::input::{Arg, Bytes, Id, KeyId};
use crate::node::records_in::{IdentityEntry, Record, SessionEntry};
use crate::node::records_out::{batch, JsGroupSenderKeyList, JsRegistrationInfo, JsSenderKeyDistribution, JsSignedPreKey};
use crate::node::value::Decoded;

domain_class!(
    /// `auth`: the device credentials of one session.
    AuthStore,
    AuthDomain
);

#[napi]
impl AuthStore {
    /// The saved credentials, deep-equal to what was saved, or `null`.
    #[napi(ts_generic_types = "T extends object = AuthCredentials", ts_return_type = "Promise<T | null>")]
    pub async fn load(&self) -> Result<Reply<Option<Decoded>>> {
        self.h.call(|s, sid| async move { Ok(s.load(&sid).await?.map(Decoded)) }).await
    }

    /// Replaces the whole snapshot atomically.
    #[napi(ts_args_type = "credentials: object", ts_return_type = "Promise<void>")]
    pub async fn save(&self, credentials: Arg<Record>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.save(&sid, credentials.0 .0).await }).await
    }

}

domain_class!(
    /// `signal`: registration info, the current signed pre-key and its rotation time.
    SignalStore,
    SignalDomain
);

#[napi]
impl SignalStore {
    #[napi(ts_return_type = "Promise<RegistrationInfo | null>")]
    pub async fn get_registration_info(&self) -> Result<Reply<Option<JsRegistrationInfo>>> {
        self.h.call(|s, sid| async move { Ok(s.get_registration_info(&sid).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "info: RegistrationInfo", ts_return_type = "Promise<void>")]
    pub async fn set_registration_info(&self, info: Arg<RegistrationInfo>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.set_registration_info(&sid, info.0).await }).await
    }

    #[napi(ts_return_type = "Promise<SignedPreKeyRecord | null>")]
    pub async fn get_signed_pre_key(&self) -> Result<Reply<Option<JsSignedPreKey>>> {
        self.h.call(|s, sid| async move { Ok(s.get_signed_pre_key(&sid).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "record: SignedPreKeyRecord", ts_return_type = "Promise<void>")]
    pub async fn set_signed_pre_key(&self, record: Arg<SignedPreKey>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.set_signed_pre_key(&sid, record.0).await }).await
    }

    /// The current signed pre-key if its id is `keyId`.
    #[napi(ts_args_type = "keyId: number", ts_return_type = "Promise<SignedPreKeyRecord | null>")]
    pub async fn get_signed_pre_key_by_id(&self, key_id: Arg<KeyId>) -> Result<Reply<Option<JsSignedPreKey>>> {
        self.h.call(|s, sid| async move { Ok(s.get_signed_pre_key_by_id(&sid, key_id.0 .0).await?.map(Into::into)) }).await
    }

    #[napi(ts_args_type = "value: number | null", ts_return_type = "Promise<void>")]
    pub async fn set_signed_pre_key_rotation_ts(&self, value: Arg<Option<crate::node::input::Int>>) -> Result<Reply<()>> {
        let value = value.0.map(|v| v.0);
        self.h.call(|s, sid| async move { s.set_signed_pre_key_rotation_ts(&sid, value).await }).await
    }

    #[napi(ts_return_type = "Promise<number | null>")]
    pub async fn get_signed_pre_key_rotation_ts(&self) -> Result<Reply<Option<f64>>> {
        self.h.call(|s, sid| async move { Ok(s.get_signed_pre_key_rotation_ts(&sid).await?.map(|v| v as f64)) }).await
    }

}

domain_class!(
    /// `session`: Signal session records per remote address.
    SessionStore,
    SessionDomain
);

#[napi]
impl SessionStore {
    #[napi(ts_args_type = "address: SignalAddress", ts_return_type = "Promise<boolean>")]
    pub async fn has_session(&self, address: Arg<SignalAddress>) -> Result<Reply<bool>> {
        self.h
            .call(|s, sid| async move { Ok(s.has_sessions(&sid, &[address.0]).await?.first().copied().unwrap_or(false)) })
            .await
    }

    #[napi(ts_args_type = "addresses: readonly SignalAddress[]", ts_return_type = "Promise<boolean[]>")]
    pub async fn has_sessions(&self, addresses: Arg<Vec<SignalAddress>>) -> Result<Reply<Vec<bool>>> {
        self.h.call(|s, sid| async move { s.has_sessions(&sid, &addresses.0).await }).await
    }

    #[napi(
        ts_generic_types = "T extends object = SignalSessionRecord",
        ts_args_type = "address: SignalAddress",
        ts_return_type = "Promise<T | null>"
    )]
    pub async fn get_session(&self, address: Arg<SignalAddress>) -> Result<Reply<Option<Decoded>>> {
        self.h
            .call(|s, sid| async move { Ok(s.get_sessions(&sid, &[address.0]).await?.into_iter().next().flatten().map(Decoded)) })
            .await
    }

    /// Positional: `null` where no session is stored.
    #[napi(
        ts_generic_types = "T extends object = SignalSessionRecord",
        ts_args_type = "addresses: readonly SignalAddress[]",
        ts_return_type = "Promise<(T | null)[]>"
    )]
    pub async fn get_sessions_batch(&self, addresses: Arg<Vec<SignalAddress>>) -> Result<Reply<Vec<Option<Decoded>>>> {
        self.h
            .call(|s, sid| async move { Ok(s.get_sessions(&sid, &addresses.0).await?.into_iter().map(|o| o.map(Decoded)).collect()) })
            .await
    }

    #[napi(ts_args_type = "address: SignalAddress, session: object", ts_return_type = "Promise<void>")]
    pub async fn set_session(&self, address: Arg<SignalAddress>, session: Arg<Record>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.set_sessions(&sid, vec![(address.0, session.0 .0)]).await }).await
    }

    /// All-or-nothing.
    #[napi(
        ts_args_type = "entries: readonly { readonly address: SignalAddress; readonly session: object }[]",
        ts_return_type = "Promise<void>"
    )]
    pub async fn set_sessions_batch(&self, entries: Arg<Vec<SessionEntry>>) -> Result<Reply<()>> {
        let entries = entries.0.into_iter().map(|e| (e.0, e.1)).collect();
        self.h.call(|s, sid| async move { s.set_sessions(&sid, entries).await }).await
    }

    #[napi(ts_args_type = "address: SignalAddress", ts_return_type = "Promise<void>")]
    pub async fn delete_session(&self, address: Arg<SignalAddress>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.delete_session(&sid, &address.0).await }).await
    }

}

domain_class!(
    /// `identity`: remote identity keys per address.
    IdentityStore,
    IdentityDomain
);

#[napi]
impl IdentityStore {
    #[napi(ts_args_type = "address: SignalAddress", ts_return_type = "Promise<Uint8Array | null>")]
    pub async fn get_remote_identity(&self, address: Arg<SignalAddress>) -> Result<Reply<Option<Uint8Array>>> {
        self.h
            .call(|s, sid| async move {
                Ok(s.get_remote_identities(&sid, &[address.0]).await?.into_iter().next().flatten().map(Uint8Array::new))
            })
            .await
    }

    #[napi(ts_args_type = "addresses: readonly SignalAddress[]", ts_return_type = "Promise<(Uint8Array | null)[]>")]
    pub async fn get_remote_identities(&self, addresses: Arg<Vec<SignalAddress>>) -> Result<Reply<Vec<Option<Uint8Array>>>> {
        self.h
            .call(|s, sid| async move {
                Ok(s.get_remote_identities(&sid, &addresses.0).await?.into_iter().map(|o| o.map(Uint8Array::new)).collect())
            })
            .await
    }

    #[napi(ts_args_type = "address: SignalAddress, identityKey: Uint8Array", ts_return_type = "Promise<void>")]
    pub async fn set_remote_identity(&self, address: Arg<SignalAddress>, identity_key: Arg<Bytes>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.set_remote_identities(&sid, vec![(address.0, identity_key.0 .0)]).await }).await
    }

    #[napi(
        ts_args_type = "entries: readonly { readonly address: SignalAddress; readonly identityKey: Uint8Array }[]",
        ts_return_type = "Promise<void>"
    )]
    pub async fn set_remote_identities(&self, entries: Arg<Vec<IdentityEntry>>) -> Result<Reply<()>> {
        let entries = entries.0.into_iter().map(|e| (e.0, e.1)).collect();
        self.h.call(|s, sid| async move { s.set_remote_identities(&sid, entries).await }).await
    }

}

domain_class!(
    /// `senderKey`: group sender keys and distribution markers.
    SenderKeyStore,
    SenderKeyDomain
);

#[napi]
impl SenderKeyStore {
    /// Whole-record replace; the record's `groupId` and `sender` key it.
    #[napi(ts_args_type = "record: SenderKeyRecord", ts_return_type = "Promise<void>")]
    pub async fn upsert_sender_key(&self, record: Arg<SenderKey>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_sender_key(&sid, record.0).await }).await
    }

    #[napi(ts_args_type = "record: SenderKeyDistributionRecord", ts_return_type = "Promise<void>")]
    pub async fn upsert_sender_key_distribution(&self, record: Arg<SenderKeyDistribution>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_sender_key_distributions(&sid, vec![record.0]).await }).await
    }

    #[napi(ts_args_type = "records: readonly SenderKeyDistributionRecord[]", ts_return_type = "Promise<void>")]
    pub async fn upsert_sender_key_distributions(&self, records: Arg<Vec<SenderKeyDistribution>>) -> Result<Reply<()>> {
        self.h.call(|s, sid| async move { s.upsert_sender_key_distributions(&sid, records.0).await }).await
    }

    #[napi(ts_args_type = "groupId: string", ts_return_type = "Promise<GroupSenderKeyList>")]
    pub async fn get_group_sender_key_list(&self, group_id: Arg<Id>) -> Result<Reply<JsGroupSenderKeyList>> {
        self.h
            .call(|s, sid| async move {
                let g = s.get_group_sender_keys(&sid, &group_id.0 .0).await?;
                Ok(JsGroupSenderKeyList {
                    sk_list: g.sender_keys.into_iter().map(|k| Decoded(k.record)).collect(),
                    sk_distrib_list: g.distributions.into_iter().map(Into::into).collect(),
                })
            })
            .await
    }

    #[napi(ts_args_type = "groupId: string, sender: SignalAddress", ts_return_type = "Promise<SenderKeyRecord | null>")]
    pub async fn get_device_sender_key(&self, group_id: Arg<Id>, sender: Arg<SignalAddress>) -> Result<Reply<Option<Decoded>>> {
        self.h
            .call(|s, sid| async move { Ok(s.get_device_sender_key(&sid, &group_id.0 .0, &sender.0).await?.map(|k| Decoded(k.record))) })
            .await
    }

    #[napi(
        ts_args_type = "groupId: string, senders: readonly SignalAddress[]",
        ts_return_type = "Promise<(SenderKeyDistributionRecord | null)[]>"
    )]
    pub async fn get_device_sender_key_distributions(
        &self,
        group_id: Arg<Id>,
        senders: Arg<Vec<SignalAddress>>,
    ) -> Result<Reply<Vec<Option<JsSenderKeyDistribution>>>> {
        self.h
            .call(|s, sid| async move { Ok(batch(s.get_device_sender_key_distributions(&sid, &group_id.0 .0, &senders.0).await?)) })
            .await
    }

    /// Deletes keys and distributions of `target` in `groupId`, or in every group; returns how many rows went.
    #[napi(ts_args_type = "target: SignalAddress, groupId?: string", ts_return_type = "Promise<number>")]
    pub async fn delete_device_sender_key(&self, target: Arg<SignalAddress>, group_id: Arg<Option<Id>>) -> Result<Reply<u32>> {
        let group = group_id.0.map(|g| g.0);
        self.h.call(|s, sid| async move { s.delete_device_sender_key(&sid, &target.0, group.as_deref()).await }).await
    }

    #[napi(ts_args_type = "groupId: string, participants: readonly SignalAddress[]", ts_return_type = "Promise<number>")]
    pub async fn mark_forget_sender_key(&self, group_id: Arg<Id>, participants: Arg<Vec<SignalAddress>>) -> Result<Reply<u32>> {
        self.h.call(|s, sid| async move { s.mark_forget_sender_key(&sid, &group_id.0 .0, &participants.0).await }).await
    }

}
