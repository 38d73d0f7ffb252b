//! JS classes of the device's own Signal keys: auth and signal.
//! (preKey is in `pre_key.rs`: it calls back into JS; session, identity and
//! senderKey, which the Signal cache serves, are in `sessions.rs`.)

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::domain::auth::AuthStore as AuthDomain;
use crate::domain::signal::{RegistrationInfo, SignalStore as SignalDomain, SignedPreKey};

use crate::node::errors::Reply;
use crate::node::input::{Arg, KeyId};
use crate::node::records_in::Record;
use crate::node::records_out::{JsRegistrationInfo, JsSignedPreKey};
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

