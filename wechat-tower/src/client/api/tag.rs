//! User tags (用户标签) of an Official Account: `cgi-bin/tags/create`, `get`, `update`, `delete`,
//! tagging (`tags/members/batchtagging`, `batchuntagging`), the followers of a tag
//! (`user/tag/get`) and the tags of a follower (`tags/getidlist`).
//!
//! An account has at most 100 tags, a follower at most 20; tags 0, 1 and 2 are WeChat's own and
//! cannot be changed. The client checks what it can before sending (name length, list sizes), so
//! those mistakes are [`ClientError::Request`] and cost no API quota.
//!
//! ```
//! use wechat_tower::client::WechatClient;
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! let vip = client.tag().create("VIP").await?;
//! client.tag().tag_users(vip.id, &["oUser1", "oUser2"]).await?;
//! assert_eq!(client.tag().all_users(vip.id).await?, ["oUser1", "oUser2"]);
//! assert_eq!(client.tag().user_tags("oUser1").await?, [vip.id]);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client::api::user::{OpenIdList, check_openids};
use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// A tag name is at most this many bytes (UTF-8; 45158 otherwise).
pub const MAX_TAG_NAME_BYTES: usize = 30;
/// At most this many openids per `batchtagging` / `batchuntagging` call.
pub const MAX_TAGGING_BATCH: usize = 50;
/// [`TagApi::all_users`] stops with an error after this many pages (10 000 openids each): a
/// server that keeps answering "more" cannot make it loop forever.
pub const MAX_TAG_USER_PAGES: usize = 1000;

/// The codes WeChat's documentation lists for the tag calls (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        45056 => "too many tags: an account has at most 100",
        45057 => "the tag has more than 100 000 followers and cannot be deleted",
        45058 => "tags 0, 1 and 2 are WeChat's own and cannot be changed",
        45059 => "a follower already has the most tags allowed (20)",
        45157 => "invalid tag name: empty or the same as another tag's",
        45158 => "tag name longer than 30 bytes",
        45159 => "invalid tag id",
        _ => return None,
    })
}

/// A tag (`tags/get`, `tags/create`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Tag {
    /// The tag's id (assigned by WeChat).
    pub id: i64,
    /// Its name.
    pub name: String,
    /// How many followers carry it (`tags/get` only; 0 otherwise).
    #[serde(default)]
    pub count: u64,
}

/// A page of followers of a tag (`user/tag/get`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagUsers {
    /// The number of openids on this page (at most 10 000).
    #[serde(default)]
    pub count: u64,
    /// The openids (absent when the page is empty).
    #[serde(default)]
    pub data: Option<OpenIdList>,
    /// Where the next page starts (the last openid of this page).
    #[serde(default)]
    pub next_openid: String,
}

impl TagUsers {
    /// The openids of this page.
    #[must_use]
    pub fn openids(&self) -> &[String] {
        self.data.as_ref().map_or(&[], |d| &d.openid)
    }
}

#[derive(Deserialize)]
struct TagAnswer {
    tag: Tag,
}

#[derive(Deserialize)]
struct TagsAnswer {
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
struct TagIdsAnswer {
    #[serde(default)]
    tagid_list: Vec<i64>,
}

/// User tags of a [`WechatClient`]: `client.tag()`. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct TagApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// User tags: create, list, rename, delete, tag and untag followers.
    #[must_use]
    pub fn tag(&self) -> TagApi<'_> {
        TagApi { client: self }
    }
}

fn check_name(what: &str, name: &str) -> Result<(), ClientError> {
    if name.is_empty() || name.len() > MAX_TAG_NAME_BYTES {
        return Err(ClientError::Request(format!(
            "{what}: the tag name has {} bytes, WeChat takes 1 to {MAX_TAG_NAME_BYTES}",
            name.len()
        )));
    }
    Ok(())
}

impl TagApi<'_> {
    async fn post_ok(&self, path: &str, body: &serde_json::Value) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(path, &[], body)
            .await
            .map(drop)
    }

    /// Creates a tag (`tags/create`); returns it with its id.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an empty name or one over [`MAX_TAG_NAME_BYTES`] bytes;
    /// 45157 the name exists, 45056 too many tags, the usual errors.
    pub async fn create(&self, name: &str) -> Result<Tag, ClientError> {
        check_name("tags/create", name)?;
        let answer: TagAnswer = self
            .client
            .post_json(
                "/cgi-bin/tags/create",
                &[],
                &json!({ "tag": { "name": name } }),
            )
            .await?;
        Ok(answer.tag)
    }

    /// Every tag of the account with its follower count (`tags/get`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn list(&self) -> Result<Vec<Tag>, ClientError> {
        let answer: TagsAnswer = self.client.get_json("/cgi-bin/tags/get", &[]).await?;
        Ok(answer.tags)
    }

    /// Renames a tag (`tags/update`).
    ///
    /// # Errors
    ///
    /// As [`TagApi::create`]; 45058 a tag of WeChat's own (0, 1, 2), 45159 unknown tag.
    pub async fn update(&self, tag_id: i64, name: &str) -> Result<(), ClientError> {
        check_name("tags/update", name)?;
        self.post_ok(
            "/cgi-bin/tags/update",
            &json!({ "tag": { "id": tag_id, "name": name } }),
        )
        .await
    }

    /// Deletes a tag (`tags/delete`); its followers lose it.
    ///
    /// # Errors
    ///
    /// 45058 a tag of WeChat's own, 45057 more than 100 000 followers (untag them first), 45159
    /// unknown tag, the usual errors.
    pub async fn delete(&self, tag_id: i64) -> Result<(), ClientError> {
        self.post_ok("/cgi-bin/tags/delete", &json!({ "tag": { "id": tag_id } }))
            .await
    }

    /// Tags up to [`MAX_TAGGING_BATCH`] followers (`tags/members/batchtagging`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for 0 or more than 50 openids or an empty one; 40003 / 49003
    /// not a follower of this app, 45159 unknown tag, 45059 a follower has 20 tags already, the
    /// usual errors.
    pub async fn tag_users<S: AsRef<str>>(
        &self,
        tag_id: i64,
        openids: &[S],
    ) -> Result<(), ClientError> {
        self.tagging("/cgi-bin/tags/members/batchtagging", tag_id, openids)
            .await
    }

    /// Takes a tag off up to [`MAX_TAGGING_BATCH`] followers (`tags/members/batchuntagging`).
    ///
    /// # Errors
    ///
    /// As [`TagApi::tag_users`].
    pub async fn untag_users<S: AsRef<str>>(
        &self,
        tag_id: i64,
        openids: &[S],
    ) -> Result<(), ClientError> {
        self.tagging("/cgi-bin/tags/members/batchuntagging", tag_id, openids)
            .await
    }

    async fn tagging<S: AsRef<str>>(
        &self,
        path: &str,
        tag_id: i64,
        openids: &[S],
    ) -> Result<(), ClientError> {
        check_openids(path, openids, 1, MAX_TAGGING_BATCH)?;
        let list: Vec<&str> = openids.iter().map(AsRef::as_ref).collect();
        self.post_ok(path, &json!({ "openid_list": list, "tagid": tag_id }))
            .await
    }

    /// A page of the followers of a tag (`user/tag/get`), 10 000 at most, from the start or
    /// after `next_openid`.
    ///
    /// # Errors
    ///
    /// 45159 unknown tag, 40003 a `next_openid` that is not a follower, the usual errors.
    pub async fn users(
        &self,
        tag_id: i64,
        next_openid: Option<&str>,
    ) -> Result<TagUsers, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/user/tag/get",
                &[],
                &json!({ "tagid": tag_id, "next_openid": next_openid.unwrap_or_default() }),
            )
            .await
    }

    /// Every follower of a tag: [`TagApi::users`] page after page, at most
    /// [`MAX_TAG_USER_PAGES`] pages.
    ///
    /// # Errors
    ///
    /// As [`TagApi::users`]; [`ClientError::Decode`] when WeChat keeps answering pages past the
    /// cap or repeats a page start.
    pub async fn all_users(&self, tag_id: i64) -> Result<Vec<String>, ClientError> {
        let mut all = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_TAG_USER_PAGES {
            let page = self.users(tag_id, next.as_deref()).await?;
            all.extend_from_slice(page.openids());
            if page.openids().is_empty() || page.next_openid.is_empty() {
                return Ok(all);
            }
            if next.as_deref() == Some(page.next_openid.as_str()) {
                return Err(ClientError::Decode(
                    "user/tag/get: the same page start twice".to_owned(),
                ));
            }
            next = Some(page.next_openid);
        }
        Err(ClientError::Decode(format!(
            "user/tag/get: more than {MAX_TAG_USER_PAGES} pages"
        )))
    }

    /// The tag ids of a follower (`tags/getidlist`).
    ///
    /// # Errors
    ///
    /// 40003 / 49003 not a follower of this app, the usual errors.
    pub async fn user_tags(&self, openid: &str) -> Result<Vec<i64>, ClientError> {
        check_openids("tags/getidlist", &[openid], 1, 1)?;
        let answer: TagIdsAnswer = self
            .client
            .post_json("/cgi-bin/tags/getidlist", &[], &json!({ "openid": openid }))
            .await?;
        Ok(answer.tagid_list)
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Request, Response};

    use super::*;
    use crate::client::Transport;
    use crate::client::api::user::tests::{refreshed_once, setup};

    #[tokio::test]
    async fn tags_are_created_listed_renamed_and_deleted() {
        let (_wechat, client) = setup().await;
        let tags = client.tag();
        let vip = tags.create("VIP").await.unwrap();
        assert_eq!(vip.name, "VIP");
        let listed = tags.list().await.unwrap();
        assert!(listed.iter().any(|t| t.id == 2), "WeChat's star tag");
        assert!(listed.contains(&vip));
        tags.update(vip.id, "金卡").await.unwrap();
        let renamed = tags.list().await.unwrap();
        assert!(renamed.iter().any(|t| t.id == vip.id && t.name == "金卡"));
        tags.tag_users(vip.id, &["oUser1"]).await.unwrap();
        tags.delete(vip.id).await.unwrap();
        assert!(!tags.list().await.unwrap().iter().any(|t| t.id == vip.id));
        assert!(tags.user_tags("oUser1").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn tag_names_and_ids_are_refused_as_wechat_does() {
        let (wechat, client) = setup().await;
        let tags = client.tag();
        tags.create("VIP").await.unwrap();
        let err = tags.create("VIP").await.unwrap_err();
        assert_eq!(err.errcode(), Some(45157));
        assert!(err.to_string().contains("tag name"), "{err}");
        for system in [0, 1, 2] {
            assert_eq!(
                tags.update(system, "x").await.unwrap_err().errcode(),
                Some(45058)
            );
            assert_eq!(
                tags.delete(system).await.unwrap_err().errcode(),
                Some(45058)
            );
        }
        assert_eq!(tags.delete(999).await.unwrap_err().errcode(), Some(45159));
        assert_eq!(
            tags.tag_users(999, &["oUser1"])
                .await
                .unwrap_err()
                .errcode(),
            Some(45159)
        );
        // 30 bytes pass, 31 do not (10 Chinese characters are 30 bytes).
        tags.create("一二三四五六七八九十").await.unwrap();
        let before = wechat.calls("/cgi-bin/tags/update");
        assert!(matches!(
            tags.update(100, "一二三四五六七八九十x").await,
            Err(ClientError::Request(_))
        ));
        assert_eq!(wechat.calls("/cgi-bin/tags/update"), before);
        let before = wechat.calls("/cgi-bin/tags/create");
        assert!(matches!(
            tags.create("").await,
            Err(ClientError::Request(_))
        ));
        assert!(matches!(
            tags.create(&"x".repeat(MAX_TAG_NAME_BYTES + 1)).await,
            Err(ClientError::Request(_))
        ));
        assert_eq!(wechat.calls("/cgi-bin/tags/create"), before);
        // 100 tags at most, WeChat's own included.
        for i in 0..97 {
            tags.create(&format!("t{i}")).await.unwrap();
        }
        assert_eq!(
            tags.create("one more").await.unwrap_err().errcode(),
            Some(45056)
        );
    }

    #[tokio::test]
    async fn tagging_applies_to_every_openid_or_none() {
        let (wechat, client) = setup().await;
        let tags = client.tag();
        let vip = tags.create("VIP").await.unwrap();
        let err = tags
            .tag_users(vip.id, &["oUser1", "oStranger"])
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40003));
        assert!(tags.user_tags("oUser1").await.unwrap().is_empty());
        tags.tag_users(vip.id, &["oUser1", "oUser3"]).await.unwrap();
        assert_eq!(tags.all_users(vip.id).await.unwrap(), ["oUser1", "oUser3"]);
        let count = tags.list().await.unwrap();
        assert!(count.iter().any(|t| t.id == vip.id && t.count == 2));
        // Shown in the follower's info too.
        let info = client
            .user()
            .info("oUser3", crate::client::Lang::ZhCn)
            .await
            .unwrap();
        assert_eq!(info.tagid_list, [vip.id]);
        tags.untag_users(vip.id, &["oUser1"]).await.unwrap();
        assert_eq!(tags.all_users(vip.id).await.unwrap(), ["oUser3"]);
        let path = "/cgi-bin/tags/members/batchtagging";
        let before = wechat.calls(path);
        let many: Vec<String> = (0..=MAX_TAGGING_BATCH).map(|i| format!("o{i}")).collect();
        assert!(matches!(
            tags.tag_users(vip.id, &many).await,
            Err(ClientError::Request(_))
        ));
        assert_eq!(wechat.calls(path), before);
    }

    #[tokio::test]
    async fn a_follower_carries_twenty_tags_at_most() {
        let (_wechat, client) = setup().await;
        let tags = client.tag();
        for i in 0..20 {
            let tag = tags.create(&format!("t{i}")).await.unwrap();
            tags.tag_users(tag.id, &["oUser1"]).await.unwrap();
        }
        let one_more = tags.create("t20").await.unwrap();
        let err = tags.tag_users(one_more.id, &["oUser1"]).await.unwrap_err();
        assert_eq!(err.errcode(), Some(45059));
        assert_eq!(tags.user_tags("oUser1").await.unwrap().len(), 20);
        assert_eq!(
            tags.user_tags("oStranger").await.unwrap_err().errcode(),
            Some(40003)
        );
    }

    #[tokio::test]
    async fn users_of_a_tag_come_in_pages() {
        let wechat = crate::test_util::mock::MockWechat::builder()
            .users(["o1", "o2", "o3", "o4", "o5"])
            .user_page_size(2)
            .start()
            .await
            .unwrap();
        let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
            .api_base(wechat.base_url())
            .build()
            .unwrap();
        let tag = client.tag().create("all").await.unwrap();
        client
            .tag()
            .tag_users(tag.id, &["o1", "o2", "o3", "o5"])
            .await
            .unwrap();
        let first = client.tag().users(tag.id, None).await.unwrap();
        assert_eq!(first.openids(), ["o1", "o2"]);
        let second = client.tag().users(tag.id, Some("o2")).await.unwrap();
        assert_eq!(second.openids(), ["o3", "o5"]);
        assert_eq!(
            client.tag().all_users(tag.id).await.unwrap(),
            ["o1", "o2", "o3", "o5"]
        );
        assert_eq!(
            client.tag().users(999, None).await.unwrap_err().errcode(),
            Some(45159)
        );
    }

    #[tokio::test]
    async fn a_server_that_repeats_a_page_cannot_make_all_users_loop() {
        // A hostile or broken upstream: every page says "more after oX".
        let transport = Transport::new(tower::service_fn(|req: Request<Bytes>| async move {
            let body = if req.uri().path().ends_with("/token") {
                r#"{"access_token":"T","expires_in":7200}"#
            } else {
                r#"{"count":1,"data":{"openid":["oX"]},"next_openid":"oX"}"#
            };
            Ok::<_, std::convert::Infallible>(Response::new(Bytes::from_static(body.as_bytes())))
        }));
        let client = WechatClient::builder("wx1", "s")
            .token_kind(crate::client::TokenKind::Normal)
            .transport(transport)
            .build()
            .unwrap();
        let err = client.tag().all_users(100).await.unwrap_err();
        assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    }

    #[tokio::test]
    async fn tag_refusals_are_typed_with_their_meaning() {
        let (wechat, client) = setup().await;
        for (path, code) in [
            ("/cgi-bin/tags/create", 45158),
            ("/cgi-bin/tags/get", 45009),
            ("/cgi-bin/tags/update", 45157),
            ("/cgi-bin/tags/delete", 45057),
            ("/cgi-bin/tags/members/batchtagging", 45059),
            ("/cgi-bin/tags/members/batchuntagging", 49003),
            ("/cgi-bin/user/tag/get", 45159),
            ("/cgi-bin/tags/getidlist", 49003),
        ] {
            wechat.fail_next(path, 1, code);
            let err = match path {
                "/cgi-bin/tags/create" => client.tag().create("x").await.map(drop),
                "/cgi-bin/tags/get" => client.tag().list().await.map(drop),
                "/cgi-bin/tags/update" => client.tag().update(100, "x").await,
                "/cgi-bin/tags/delete" => client.tag().delete(100).await,
                "/cgi-bin/tags/members/batchtagging" => {
                    client.tag().tag_users(100, &["oUser1"]).await
                }
                "/cgi-bin/tags/members/batchuntagging" => {
                    client.tag().untag_users(100, &["oUser1"]).await
                }
                "/cgi-bin/user/tag/get" => client.tag().users(100, None).await.map(drop),
                _ => client.tag().user_tags("oUser1").await.map(drop),
            }
            .unwrap_err();
            assert_eq!(err.errcode(), Some(code), "{path}");
            assert!(err.wechat().unwrap().meaning().is_some(), "{path}: {err}");
        }
    }

    #[tokio::test]
    async fn every_tag_call_survives_a_refused_token() {
        let (wechat, client) = setup().await;
        let tags = client.tag();
        let tag = tags.create("VIP").await.unwrap();
        let paths = [
            "/cgi-bin/tags/get",
            "/cgi-bin/tags/update",
            "/cgi-bin/tags/members/batchtagging",
            "/cgi-bin/tags/members/batchuntagging",
            "/cgi-bin/user/tag/get",
            "/cgi-bin/tags/getidlist",
            "/cgi-bin/tags/delete",
        ];
        for path in paths {
            let fetches = wechat.token_fetches();
            wechat.fail_next(path, 1, 40001);
            match path {
                "/cgi-bin/tags/get" => drop(tags.list().await.unwrap()),
                "/cgi-bin/tags/update" => tags.update(tag.id, "VIP2").await.unwrap(),
                "/cgi-bin/tags/members/batchtagging" => {
                    tags.tag_users(tag.id, &["oUser1"]).await.unwrap();
                }
                "/cgi-bin/tags/members/batchuntagging" => {
                    tags.untag_users(tag.id, &["oUser1"]).await.unwrap();
                }
                "/cgi-bin/user/tag/get" => drop(tags.users(tag.id, None).await.unwrap()),
                "/cgi-bin/tags/getidlist" => drop(tags.user_tags("oUser1").await.unwrap()),
                _ => tags.delete(tag.id).await.unwrap(),
            }
            refreshed_once(&wechat, path, fetches);
        }
        let fetches = wechat.token_fetches();
        wechat.fail_next("/cgi-bin/tags/create", 1, 40001);
        tags.create("again").await.unwrap();
        assert_eq!(wechat.calls("/cgi-bin/tags/create"), 3);
        assert_eq!(wechat.token_fetches(), fetches + 1);
    }
}
