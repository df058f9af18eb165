//! Followers of an Official Account: `cgi-bin/user/info` and `cgi-bin/user/get`.
//!
//! ```no_run
//! # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), wechat_tower::client::ClientError> {
//! // Every follower, 10 000 per page.
//! let mut next = None;
//! loop {
//!     let page = client.user().list(next.as_deref()).await?;
//!     for openid in page.openids() {
//!         println!("{openid}");
//!     }
//!     if page.count == 0 || page.next_openid.is_empty() {
//!         break;
//!     }
//!     next = Some(page.next_openid);
//! }
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::client::api::oauth::Lang;
use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// A follower (`user/info`). WeChat no longer sends nicknames and avatars here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// 1 when the user follows the account; 0 otherwise (then only `openid` is set).
    pub subscribe: u8,
    /// The user's openid.
    pub openid: String,
    /// Language of the client.
    #[serde(default)]
    pub language: String,
    /// When the user last followed (Unix seconds).
    #[serde(default)]
    pub subscribe_time: u64,
    /// unionid, when the account is bound to an Open Platform account.
    #[serde(default)]
    pub unionid: Option<String>,
    /// Your remark on the user.
    #[serde(default)]
    pub remark: String,
    /// The user's group (legacy).
    #[serde(default)]
    pub groupid: i64,
    /// The user's tags.
    #[serde(default)]
    pub tagid_list: Vec<i64>,
    /// How the user came (`ADD_SCENE_QR_CODE`, `ADD_SCENE_SEARCH`, …).
    #[serde(default)]
    pub subscribe_scene: String,
    /// The QR code scene id, when the user came by a QR code.
    #[serde(default)]
    pub qr_scene: u64,
    /// The QR code scene string, when the user came by a QR code.
    #[serde(default)]
    pub qr_scene_str: String,
}

/// A page of followers (`user/get`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserList {
    /// The number of followers.
    pub total: u64,
    /// The number of openids on this page (at most 10 000).
    pub count: u64,
    /// The openids (absent when the page is empty).
    #[serde(default)]
    pub data: Option<OpenIdList>,
    /// Where the next page starts (the last openid of this page).
    #[serde(default)]
    pub next_openid: String,
}

/// `data` of a [`UserList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenIdList {
    /// The openids.
    #[serde(default)]
    pub openid: Vec<String>,
}

impl UserList {
    /// The openids of this page.
    #[must_use]
    pub fn openids(&self) -> &[String] {
        self.data.as_ref().map_or(&[], |d| &d.openid)
    }
}

/// Followers of a [`WechatClient`]: `client.user()`.
#[derive(Debug, Clone, Copy)]
pub struct UserApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Followers: info and list.
    #[must_use]
    pub fn user(&self) -> UserApi<'_> {
        UserApi { client: self }
    }
}

impl UserApi<'_> {
    /// A follower's info (`user/info`).
    ///
    /// # Errors
    ///
    /// 40003 invalid openid, the usual errors.
    pub async fn info(&self, openid: &str, lang: Lang) -> Result<UserInfo, ClientError> {
        self.client
            .get_json(
                "/cgi-bin/user/info",
                &[("openid", openid), ("lang", lang.as_str())],
            )
            .await
    }

    /// A page of followers (`user/get`), from the start or after `next_openid`.
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn list(&self, next_openid: Option<&str>) -> Result<UserList, ClientError> {
        let query = next_openid.map(|next| ("next_openid", next));
        self.client
            .get_json("/cgi-bin/user/get", query.as_slice())
            .await
    }
}
