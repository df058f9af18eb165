//! Web authorization (网页授权, OAuth 2.0) of an Official Account: send the user to WeChat's
//! consent page, exchange the `code` WeChat sends back for a user token, read the user's profile.
//!
//! These calls use the user's token ([`OAuthAccessToken`]), not the app's `access_token`.
//!
//! ```no_run
//! use wechat_tower::client::{OAuthScope, WechatClient, Lang};
//!
//! # async fn f(client: WechatClient, code: &str) -> Result<(), wechat_tower::client::ClientError> {
//! // 1. Redirect the browser here.
//! let url = client.oauth().authorize_url("https://example.com/callback", OAuthScope::UserInfo, "xyz");
//! // 2. WeChat redirects to /callback?code=…&state=xyz; exchange the code.
//! let token = client.oauth().exchange_code(code).await?;
//! // 3. With snsapi_userinfo, read the profile.
//! let user = client.oauth().user_info(&token.access_token, &token.openid, Lang::ZhCn).await?;
//! println!("{} ({})", user.nickname, user.openid);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use wechat_core::secret::{OAuthAccessToken, RefreshToken};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// The scope of a web authorization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthScope {
    /// `snsapi_base`: silent, gives the openid only.
    Base,
    /// `snsapi_userinfo`: asks the user, gives the openid and lets you read the profile.
    UserInfo,
}

impl OAuthScope {
    /// The scope as WeChat spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Base => "snsapi_base",
            Self::UserInfo => "snsapi_userinfo",
        }
    }
}

/// The language of names of places in profiles (`lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// `zh_CN`, simplified Chinese.
    #[default]
    ZhCn,
    /// `zh_TW`, traditional Chinese.
    ZhTw,
    /// `en`, English.
    En,
}

impl Lang {
    /// The language as WeChat spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ZhCn => "zh_CN",
            Self::ZhTw => "zh_TW",
            Self::En => "en",
        }
    }
}

/// A user's authorization: the answer to `sns/oauth2/access_token` and `…/refresh_token`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OAuthToken {
    /// The user token (7200 s), for [`OAuthApi::user_info`] and [`OAuthApi::check`].
    pub access_token: OAuthAccessToken,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// Renews `access_token` for 30 days: [`OAuthApi::refresh`].
    pub refresh_token: RefreshToken,
    /// The user's openid for this app.
    pub openid: String,
    /// The scopes granted, comma-separated.
    pub scope: String,
    /// The user's unionid, when the app is bound to an Open Platform account.
    pub unionid: Option<String>,
    /// True for a user on a snapshot page (朋友圈快照页) who has not really authorized.
    pub is_snapshotuser: bool,
}

#[derive(Deserialize)]
struct RawToken {
    access_token: String,
    expires_in: u64,
    refresh_token: String,
    openid: String,
    #[serde(default)]
    scope: String,
    unionid: Option<String>,
    #[serde(default)]
    is_snapshotuser: u8,
}

impl From<RawToken> for OAuthToken {
    fn from(raw: RawToken) -> Self {
        Self {
            access_token: OAuthAccessToken::new(raw.access_token),
            expires_in: raw.expires_in,
            refresh_token: RefreshToken::new(raw.refresh_token),
            openid: raw.openid,
            scope: raw.scope,
            unionid: raw.unionid,
            is_snapshotuser: raw.is_snapshotuser == 1,
        }
    }
}

/// A user's profile (`sns/userinfo`, scope `snsapi_userinfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OAuthUserInfo {
    /// The user's openid.
    pub openid: String,
    /// Nickname.
    #[serde(default)]
    pub nickname: String,
    /// 1 male, 2 female, 0 unknown (WeChat now always sends 0).
    #[serde(default)]
    pub sex: u8,
    /// Province of the profile.
    #[serde(default)]
    pub province: String,
    /// City of the profile.
    #[serde(default)]
    pub city: String,
    /// Country of the profile.
    #[serde(default)]
    pub country: String,
    /// Avatar URL (empty when none).
    #[serde(default)]
    pub headimgurl: String,
    /// Privileges (e.g. `chinaunicom`).
    #[serde(default)]
    pub privilege: Vec<String>,
    /// unionid, when the app is bound to an Open Platform account.
    #[serde(default)]
    pub unionid: Option<String>,
}

/// Web authorization of a [`WechatClient`]: `client.oauth()`.
#[derive(Debug, Clone, Copy)]
pub struct OAuthApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Web authorization (网页授权).
    #[must_use]
    pub fn oauth(&self) -> OAuthApi<'_> {
        OAuthApi { client: self }
    }
}

impl OAuthApi<'_> {
    /// The consent page to send the browser to:
    /// `{open_base}/connect/oauth2/authorize?appid=…&redirect_uri=…&response_type=code&scope=…&state=…#wechat_redirect`,
    /// with `redirect_uri` and `state` percent-encoded, in the order WeChat requires.
    /// `redirect_uri`'s domain must be the one set in the console (网页授权域名); `state` (at
    /// most 128 bytes of `a-zA-Z0-9`) comes back unchanged, use it against CSRF.
    #[must_use]
    pub fn authorize_url(&self, redirect_uri: &str, scope: OAuthScope, state: &str) -> String {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        format!(
            "{}/connect/oauth2/authorize?appid={}&redirect_uri={}&response_type=code&scope={}&state={}#wechat_redirect",
            self.client.open_base(),
            encode(self.client.app_id()),
            encode(redirect_uri),
            scope.as_str(),
            encode(state),
        )
    }

    /// Exchanges the `code` of the redirect (valid 5 minutes, once) for the user's token
    /// (`sns/oauth2/access_token`).
    ///
    /// # Errors
    ///
    /// 40029 for an invalid code, 40163 for a code already used, and the usual errors.
    pub async fn exchange_code(&self, code: &str) -> Result<OAuthToken, ClientError> {
        let raw: RawToken = self
            .client
            .get_plain(
                "/sns/oauth2/access_token",
                &[
                    ("appid", self.client.app_id()),
                    ("secret", self.client.secret().expose()),
                    ("code", code),
                    ("grant_type", "authorization_code"),
                ],
            )
            .await?;
        Ok(raw.into())
    }

    /// Renews the user token (`sns/oauth2/refresh_token`).
    ///
    /// # Errors
    ///
    /// 42002 when the refresh token expired, and the usual errors.
    pub async fn refresh(&self, refresh_token: &RefreshToken) -> Result<OAuthToken, ClientError> {
        let raw: RawToken = self
            .client
            .get_plain(
                "/sns/oauth2/refresh_token",
                &[
                    ("appid", self.client.app_id()),
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token.expose()),
                ],
            )
            .await?;
        Ok(raw.into())
    }

    /// The user's profile (`sns/userinfo`; needs scope `snsapi_userinfo`).
    ///
    /// # Errors
    ///
    /// 40001/42001 when the user token is invalid or expired, 48001 with a `snsapi_base`
    /// token, and the usual errors.
    pub async fn user_info(
        &self,
        token: &OAuthAccessToken,
        openid: &str,
        lang: Lang,
    ) -> Result<OAuthUserInfo, ClientError> {
        self.client
            .get_plain(
                "/sns/userinfo",
                &[
                    ("access_token", token.expose()),
                    ("openid", openid),
                    ("lang", lang.as_str()),
                ],
            )
            .await
    }

    /// Whether the user token is still valid (`sns/auth`): `Ok(false)` when WeChat refuses it
    /// (40001, 40003, 40014, 42001).
    ///
    /// # Errors
    ///
    /// Other WeChat errors, and transport errors.
    pub async fn check(&self, token: &OAuthAccessToken, openid: &str) -> Result<bool, ClientError> {
        let answer: Result<serde::de::IgnoredAny, _> = self
            .client
            .get_plain(
                "/sns/auth",
                &[("access_token", token.expose()), ("openid", openid)],
            )
            .await;
        match answer {
            Ok(_) => Ok(true),
            Err(ClientError::Wechat(err)) if err.is_token_invalid() || err.errcode == 40003 => {
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }
}
