//! Followers of an Official Account: info one by one (`cgi-bin/user/info`) or by the hundred
//! (`user/info/batchget`), the follower list (`user/get`), remarks (备注名,
//! `user/info/updateremark`) and the blacklist (黑名单, `tags/members/getblacklist`,
//! `batchblacklist`, `batchunblacklist`). Tags are in [`tag`](super::tag).
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
use serde_json::json;

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

/// At most this many openids per `user/info/batchget` call.
pub const MAX_BATCH_INFO: usize = 100;
/// At most this many openids per `batchblacklist` / `batchunblacklist` call.
pub const MAX_BLACKLIST_BATCH: usize = 20;
/// A remark is at most this many characters ("长度必须小于30字符": WeChat's pages disagree on
/// "less than" or "at most"; the client lets 30 through and WeChat has the last word).
pub const MAX_REMARK_CHARS: usize = 30;

/// The codes WeChat's documentation lists for the follower calls (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40032 => "too many openids in one call (batchget 100, blacklist 20, tagging 50)",
        49003 => "an openid does not belong to this app",
        _ => return None,
    })
}

/// Checks a list of openids before it is sent: `min..=max` entries, none empty.
pub(crate) fn check_openids<S: AsRef<str>>(
    what: &str,
    openids: &[S],
    min: usize,
    max: usize,
) -> Result<(), ClientError> {
    if openids.len() < min || openids.len() > max {
        return Err(ClientError::Request(format!(
            "{what}: {} openids, WeChat takes {min} to {max}",
            openids.len()
        )));
    }
    if openids.iter().any(|o| o.as_ref().is_empty()) {
        return Err(ClientError::Request(format!("{what}: an empty openid")));
    }
    Ok(())
}

#[derive(Deserialize)]
struct BatchInfoAnswer {
    #[serde(default)]
    user_info_list: Vec<UserInfo>,
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

    /// The info of up to [`MAX_BATCH_INFO`] followers in one call (`user/info/batchget`), in
    /// WeChat's order.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an empty list, more than 100 openids or an empty openid
    /// (nothing is sent); 40003 an openid that is not a follower, the usual errors.
    pub async fn batch_info<S: AsRef<str>>(
        &self,
        openids: &[S],
        lang: Lang,
    ) -> Result<Vec<UserInfo>, ClientError> {
        check_openids("user/info/batchget", openids, 1, MAX_BATCH_INFO)?;
        let user_list: Vec<_> = openids
            .iter()
            .map(|openid| json!({ "openid": openid.as_ref(), "lang": lang.as_str() }))
            .collect();
        let answer: BatchInfoAnswer = self
            .client
            .post_json(
                "/cgi-bin/user/info/batchget",
                &[],
                &json!({ "user_list": user_list }),
            )
            .await?;
        Ok(answer.user_info_list)
    }

    /// Sets your remark (备注名) on a follower (`user/info/updateremark`); an empty remark
    /// clears it.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a remark over [`MAX_REMARK_CHARS`] characters; 40003 not a
    /// follower, the usual errors.
    pub async fn update_remark(&self, openid: &str, remark: &str) -> Result<(), ClientError> {
        check_openids("user/info/updateremark", &[openid], 1, 1)?;
        let chars = remark.chars().count();
        if chars > MAX_REMARK_CHARS {
            return Err(ClientError::Request(format!(
                "user/info/updateremark: the remark has {chars} characters, at most {MAX_REMARK_CHARS}"
            )));
        }
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/user/info/updateremark",
                &[],
                &json!({ "openid": openid, "remark": remark }),
            )
            .await
            .map(drop)
    }

    /// A page of the blacklist (`tags/members/getblacklist`), 10 000 openids at most, from the
    /// start or after `begin_openid`; pages as [`UserApi::list`].
    ///
    /// # Errors
    ///
    /// 40003 / 49003 for a `begin_openid` that is not a follower of this app, the usual errors.
    pub async fn blacklist(&self, begin_openid: Option<&str>) -> Result<UserList, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/tags/members/getblacklist",
                &[],
                &json!({ "begin_openid": begin_openid.unwrap_or_default() }),
            )
            .await
    }

    /// Blacklists up to [`MAX_BLACKLIST_BATCH`] followers (`tags/members/batchblacklist`): they
    /// can no longer message the account.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for 0 or more than 20 openids; 40003 / 49003 an openid not of a
    /// follower of this app, 40032 too many openids, the usual errors.
    pub async fn block<S: AsRef<str>>(&self, openids: &[S]) -> Result<(), ClientError> {
        self.blacklist_call("/cgi-bin/tags/members/batchblacklist", openids)
            .await
    }

    /// Takes up to [`MAX_BLACKLIST_BATCH`] followers off the blacklist
    /// (`tags/members/batchunblacklist`).
    ///
    /// # Errors
    ///
    /// As [`UserApi::block`].
    pub async fn unblock<S: AsRef<str>>(&self, openids: &[S]) -> Result<(), ClientError> {
        self.blacklist_call("/cgi-bin/tags/members/batchunblacklist", openids)
            .await
    }

    async fn blacklist_call<S: AsRef<str>>(
        &self,
        path: &str,
        openids: &[S],
    ) -> Result<(), ClientError> {
        check_openids(path, openids, 1, MAX_BLACKLIST_BATCH)?;
        let list: Vec<&str> = openids.iter().map(AsRef::as_ref).collect();
        self.client
            .post_json::<_, serde::de::IgnoredAny>(path, &[], &json!({ "openid_list": list }))
            .await
            .map(drop)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::client::WechatError;
    use crate::test_util::mock::MockWechat;

    /// A mock that retires replaced tokens at once, and a client of it.
    pub(crate) async fn setup() -> (MockWechat, WechatClient) {
        let wechat = MockWechat::builder()
            .token_overlap(Duration::ZERO)
            .start()
            .await
            .unwrap();
        let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
            .api_base(wechat.base_url())
            .build()
            .unwrap();
        (wechat, client)
    }

    /// A request error, and nothing reached the mock.
    pub(crate) fn refused_locally<T: std::fmt::Debug>(
        wechat: &MockWechat,
        path: &str,
        result: Result<T, ClientError>,
    ) {
        assert!(
            matches!(result, Err(ClientError::Request(_))),
            "{path}: {result:?}"
        );
        assert_eq!(wechat.calls(path), 0, "{path} was called");
    }

    /// The call succeeds after WeChat refused its token once: one new token, two calls.
    pub(crate) fn refreshed_once(wechat: &MockWechat, path: &str, fetches_before: usize) {
        assert_eq!(wechat.calls(path), 2, "{path}");
        assert_eq!(wechat.token_fetches(), fetches_before + 1, "{path}");
    }

    #[tokio::test]
    async fn batch_info_answers_each_follower_in_the_language_asked() {
        let (wechat, client) = setup().await;
        let infos = client
            .user()
            .batch_info(&["oUser1", "oUser3"], Lang::En)
            .await
            .unwrap();
        let openids: Vec<&str> = infos.iter().map(|u| u.openid.as_str()).collect();
        assert_eq!(openids, ["oUser1", "oUser3"]);
        assert!(infos.iter().all(|u| u.language == "en"));
        let body = wechat
            .last_request("/cgi-bin/user/info/batchget")
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(body["user_list"][1]["openid"], "oUser3");
        assert_eq!(body["user_list"][1]["lang"], "en");
    }

    #[tokio::test]
    async fn batch_info_sizes_are_checked_before_sending() {
        let (wechat, client) = setup().await;
        let path = "/cgi-bin/user/info/batchget";
        let none: [&str; 0] = [];
        refused_locally(
            &wechat,
            path,
            client.user().batch_info(&none, Lang::ZhCn).await,
        );
        let many: Vec<String> = (0..=MAX_BATCH_INFO).map(|i| format!("o{i}")).collect();
        refused_locally(
            &wechat,
            path,
            client.user().batch_info(&many, Lang::ZhCn).await,
        );
        refused_locally(
            &wechat,
            path,
            client.user().batch_info(&[""], Lang::ZhCn).await,
        );
        // Exactly 100 is fine (WeChat answers for the followers it knows).
        let hundred: Vec<&str> = std::iter::repeat_n("oUser2", MAX_BATCH_INFO).collect();
        assert_eq!(
            client
                .user()
                .batch_info(&hundred, Lang::ZhCn)
                .await
                .unwrap()
                .len(),
            100
        );
    }

    #[tokio::test]
    async fn an_unknown_openid_in_a_batch_is_a_typed_error() {
        let (_wechat, client) = setup().await;
        let err = client
            .user()
            .batch_info(&["oUser1", "oStranger"], Lang::ZhCn)
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40003));
    }

    #[tokio::test]
    async fn an_openid_cannot_splice_json_into_the_request() {
        // An openid from a message the attacker wrote, shaped to add a second entry.
        let (wechat, client) = setup().await;
        let forged = r#"oStranger"},{"openid":"oUser2"#;
        let err = client
            .user()
            .batch_info(&[forged], Lang::ZhCn)
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40003));
        let body = wechat
            .last_request("/cgi-bin/user/info/batchget")
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(body["user_list"].as_array().unwrap().len(), 1);
        assert_eq!(body["user_list"][0]["openid"], forged);
        let err = client.user().update_remark(forged, "x").await.unwrap_err();
        assert_eq!(err.errcode(), Some(40003));
    }

    #[tokio::test]
    async fn remarks_are_kept_and_shown_in_the_follower_info() {
        let (wechat, client) = setup().await;
        client
            .user()
            .update_remark("oUser2", "老客户")
            .await
            .unwrap();
        let info = client.user().info("oUser2", Lang::ZhCn).await.unwrap();
        assert_eq!(info.remark, "老客户");
        // 30 characters of three bytes each are within the limit.
        let long: String = std::iter::repeat_n('客', MAX_REMARK_CHARS).collect();
        client.user().update_remark("oUser2", &long).await.unwrap();
        let too_long: String = std::iter::repeat_n('客', MAX_REMARK_CHARS + 1).collect();
        let before = wechat.calls("/cgi-bin/user/info/updateremark");
        let err = client
            .user()
            .update_remark("oUser2", &too_long)
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Request(_)), "{err:?}");
        assert_eq!(wechat.calls("/cgi-bin/user/info/updateremark"), before);
        client.user().update_remark("oUser2", "").await.unwrap();
        assert_eq!(
            client
                .user()
                .info("oUser2", Lang::ZhCn)
                .await
                .unwrap()
                .remark,
            ""
        );
        let err = client
            .user()
            .update_remark("oStranger", "x")
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40003));
    }

    #[tokio::test]
    async fn the_blacklist_keeps_who_was_blocked_and_pages() {
        let (wechat, client) = setup().await;
        client.user().block(&["oUser1", "oUser3"]).await.unwrap();
        client.user().block(&["oUser1"]).await.unwrap(); // twice: listed once
        let page = client.user().blacklist(None).await.unwrap();
        assert_eq!(page.total, 2);
        assert_eq!(page.openids(), ["oUser1", "oUser3"]);
        let rest = client.user().blacklist(Some("oUser1")).await.unwrap();
        assert_eq!(rest.openids(), ["oUser3"]);
        client.user().unblock(&["oUser1"]).await.unwrap();
        assert_eq!(
            client.user().blacklist(None).await.unwrap().openids(),
            ["oUser3"]
        );
        // One unknown openid refuses the whole batch.
        let err = client
            .user()
            .block(&["oUser2", "oStranger"])
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40003));
        assert_eq!(
            client.user().blacklist(None).await.unwrap().openids(),
            ["oUser3"]
        );
        let path = "/cgi-bin/tags/members/batchblacklist";
        let before = wechat.calls(path);
        let many: Vec<String> = (0..=MAX_BLACKLIST_BATCH).map(|i| format!("o{i}")).collect();
        assert!(matches!(
            client.user().block(&many).await,
            Err(ClientError::Request(_))
        ));
        let none: [&str; 0] = [];
        assert!(matches!(
            client.user().unblock(&none).await,
            Err(ClientError::Request(_))
        ));
        assert_eq!(wechat.calls(path), before);
    }

    #[tokio::test]
    async fn wechat_refusals_are_typed_with_their_meaning() {
        let (wechat, client) = setup().await;
        wechat.fail_next("/cgi-bin/tags/members/batchblacklist", 1, 49003);
        let err = client.user().block(&["oUser1"]).await.unwrap_err();
        assert_eq!(err.errcode(), Some(49003));
        assert!(
            err.to_string().contains("does not belong to this app"),
            "{err}"
        );
        wechat.fail_next("/cgi-bin/tags/members/batchunblacklist", 1, 40032);
        let err = client.user().unblock(&["oUser1"]).await.unwrap_err();
        assert_eq!(err.errcode(), Some(40032));
        wechat.fail_next("/cgi-bin/tags/members/getblacklist", 1, 45009);
        let err = client.user().blacklist(None).await.unwrap_err();
        assert_eq!(err.errcode(), Some(45009));
        assert!(
            WechatError {
                errcode: 49003,
                errmsg: String::new()
            }
            .meaning()
            .is_some()
        );
    }

    #[test]
    fn every_code_of_the_follower_families_has_a_meaning_on_the_error() {
        use crate::client::api::{kf, mass, ops, tag};
        let tables: [fn(i64) -> Option<&'static str>; 5] = [
            meaning,
            tag::meaning,
            mass::meaning,
            kf::meaning,
            ops::meaning,
        ];
        let mut named = 0;
        for code in 40_000..80_000 {
            for table in tables {
                if let Some(text) = table(code) {
                    named += 1;
                    let err = WechatError {
                        errcode: code,
                        errmsg: String::new(),
                    };
                    assert!(err.meaning().is_some(), "{code}: {text}");
                }
            }
        }
        assert!(named >= 40, "{named}");
    }

    #[tokio::test]
    async fn every_follower_call_survives_a_refused_token() {
        let (wechat, client) = setup().await;
        let user = client.user();
        let cases: [(&str, _); 5] = [
            ("/cgi-bin/user/info/batchget", 0),
            ("/cgi-bin/user/info/updateremark", 1),
            ("/cgi-bin/tags/members/getblacklist", 2),
            ("/cgi-bin/tags/members/batchblacklist", 3),
            ("/cgi-bin/tags/members/batchunblacklist", 4),
        ];
        for (path, call) in cases {
            // Make sure a token exists, so the refusal is of a live one.
            user.info("oUser1", Lang::ZhCn).await.unwrap();
            let fetches = wechat.token_fetches();
            wechat.fail_next(path, 1, 40001);
            match call {
                0 => drop(user.batch_info(&["oUser1"], Lang::ZhCn).await.unwrap()),
                1 => user.update_remark("oUser1", "r").await.unwrap(),
                2 => drop(user.blacklist(None).await.unwrap()),
                3 => user.block(&["oUser1"]).await.unwrap(),
                _ => user.unblock(&["oUser1"]).await.unwrap(),
            }
            refreshed_once(&wechat, path, fetches);
        }
    }
}
