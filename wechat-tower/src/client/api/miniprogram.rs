//! Mini Program server APIs: login (`sns/jscode2session`), the user's phone number
//! (`wxa/business/getuserphonenumber`) and subscribe messages (`cgi-bin/message/subscribe/send`).
//!
//! ```no_run
//! # async fn f(client: wechat_tower::client::WechatClient, js_code: &str) -> Result<(), wechat_tower::client::ClientError> {
//! // The code of `wx.login()`, sent by the Mini Program to your server.
//! let session = client.miniprogram().code_to_session(js_code).await?;
//! println!("{} logged in", session.openid); // session.session_key stays on the server
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use wechat_core::secret::SessionKey;

use crate::client::api::message::SubscribeMessage;
use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// The answer of `jscode2session`: who logged in, and the session key of their data.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginSession {
    /// The user's openid for this Mini Program.
    pub openid: String,
    /// unionid, when the Mini Program is bound to an Open Platform account.
    pub unionid: Option<String>,
    /// The key of `encryptedData`; it must never leave the server.
    pub session_key: SessionKey,
}

#[derive(Deserialize)]
struct RawSession {
    openid: String,
    session_key: String,
    unionid: Option<String>,
}

/// A user's phone number (`getuserphonenumber`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PhoneInfo {
    /// The number with the country code for numbers outside mainland China.
    #[serde(rename = "phoneNumber")]
    pub phone_number: String,
    /// The number without the country code.
    #[serde(rename = "purePhoneNumber")]
    pub pure_phone_number: String,
    /// The country code.
    #[serde(rename = "countryCode")]
    pub country_code: String,
    /// Which app the number was given to, and when.
    pub watermark: Watermark,
}

/// The watermark of data WeChat hands to an app (the same as that of decrypted open data).
pub use wechat_core::miniprogram::Watermark;

#[derive(Deserialize)]
struct PhoneAnswer {
    phone_info: PhoneInfo,
}

#[derive(Serialize)]
struct PhoneRequest<'a> {
    code: &'a str,
}

/// The Mini Program APIs of a [`WechatClient`]: `client.miniprogram()`.
#[derive(Debug, Clone, Copy)]
pub struct MiniProgramApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Mini Program APIs.
    #[must_use]
    pub fn miniprogram(&self) -> MiniProgramApi<'_> {
        MiniProgramApi { client: self }
    }
}

impl MiniProgramApi<'_> {
    /// Exchanges the code of `wx.login()` for the user's openid and session key
    /// (`sns/jscode2session`; with the AppSecret, not the `access_token`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Wechat`] with 40029 (invalid code), 45011 (too frequent: 100 a minute per
    /// user), 40226 (risky user, login refused), 40163 (code already used) or -1 (busy).
    pub async fn code_to_session(&self, js_code: &str) -> Result<LoginSession, ClientError> {
        let raw: RawSession = self
            .client
            .get_plain(
                "/sns/jscode2session",
                &[
                    ("appid", self.client.app_id()),
                    ("secret", self.client.secret().expose()),
                    ("js_code", js_code),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await?;
        Ok(LoginSession {
            openid: raw.openid,
            unionid: raw.unionid,
            session_key: SessionKey::new(raw.session_key),
        })
    }

    /// The phone number the user agreed to share, from the `code` of the
    /// `getPhoneNumber` button (`wxa/business/getuserphonenumber`).
    ///
    /// # Errors
    ///
    /// 40029 invalid code, the usual errors.
    pub async fn phone_number(&self, code: &str) -> Result<PhoneInfo, ClientError> {
        let answer: PhoneAnswer = self
            .client
            .post_json(
                "/wxa/business/getuserphonenumber",
                &[],
                &PhoneRequest { code },
            )
            .await?;
        Ok(answer.phone_info)
    }

    /// Sends a subscribe message of a Mini Program (`cgi-bin/message/subscribe/send`).
    ///
    /// # Errors
    ///
    /// 43101 the user refused or used up the subscription, 47003 bad template data, the usual
    /// errors.
    pub async fn send_subscribe(&self, message: &SubscribeMessage) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>("/cgi-bin/message/subscribe/send", &[], message)
            .await
            .map(drop)
    }
}
