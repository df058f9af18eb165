//! Publishing (发布能力): `freepublish/submit`, `freepublish/get`, `freepublish/batchget`,
//! `freepublish/delete`, `freepublish/getarticle`.
//!
//! Submitting only starts a publishing job: it can still fail (originality check, platform
//! review). When it ends, WeChat pushes the `PUBLISHJOBFINISH` event (发布结果事件) to the
//! account's server URL with the same `publish_id`, its status and the `article_id`; handle
//! that event, or poll [`PublishApi::get`] until the status is final.
//!
//! ```no_run
//! use wechat_tower::client::PublishStatus;
//!
//! # async fn f(client: wechat_tower::client::WechatClient, draft_media_id: String) -> Result<(), wechat_tower::client::ClientError> {
//! let job = client.publish().submit(&draft_media_id).await?;
//! let status = loop {
//!     let status = client.publish().get(&job.publish_id).await?;
//!     if status.publish_status.is_final() {
//!         break status;
//!     }
//!     tokio::time::sleep(std::time::Duration::from_secs(5)).await;
//! };
//! if status.publish_status == PublishStatus::Published {
//!     println!("published as {:?}", status.article_id);
//! }
//! # Ok(()) }
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

pub use wechat_core::message::PublishStatus;

use super::draft::{Article, NewsItems};
use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// A publishing job just submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublishJob {
    /// The job's id (WeChat writes it as a string or a number).
    #[serde(deserialize_with = "string_or_number")]
    pub publish_id: String,
    /// The id of the message's data (for statistics), when given.
    #[serde(
        default,
        deserialize_with = "option_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub msg_data_id: Option<String>,
}

/// The answer of `freepublish/get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublishJobStatus {
    /// The job.
    #[serde(deserialize_with = "string_or_number")]
    pub publish_id: String,
    /// Where it stands.
    pub publish_status: PublishStatus,
    /// The published message's id, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_id: Option<String>,
    /// The published articles' URLs, once published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_detail: Option<ArticleDetail>,
    /// The positions (from 1) of the articles that failed.
    #[serde(default)]
    pub fail_idx: Vec<u32>,
}

/// `article_detail` of a [`PublishJobStatus`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ArticleDetail {
    /// How many articles.
    #[serde(default)]
    pub count: u32,
    /// Each article's URL.
    #[serde(default)]
    pub item: Vec<PublishedUrl>,
}

/// One article of an [`ArticleDetail`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublishedUrl {
    /// Its position, from 1.
    pub idx: u32,
    /// Its permanent URL.
    pub article_url: String,
}

/// A page of `freepublish/batchget`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublishedList {
    /// Published messages in all.
    pub total_count: u64,
    /// Messages on this page.
    pub item_count: u64,
    /// The messages.
    #[serde(default)]
    pub item: Vec<PublishedItem>,
}

/// One published message of a [`PublishedList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PublishedItem {
    /// Its id.
    pub article_id: String,
    /// Its articles (texts left empty with `no_content`).
    #[serde(default)]
    pub content: NewsItems,
    /// When it was last changed (Unix seconds).
    #[serde(default)]
    pub update_time: u64,
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    option_string_or_number(deserializer)?
        .ok_or_else(|| serde::de::Error::custom("expected a string or a number"))
}

fn option_string_or_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Text(String),
        Number(i64),
    }
    Ok(Option::<Id>::deserialize(deserializer)?.map(|id| match id {
        Id::Text(text) => text,
        Id::Number(n) => n.to_string(),
    }))
}

/// Publishing of a [`WechatClient`]: `client.publish()`.
#[derive(Debug, Clone, Copy)]
pub struct PublishApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Publishing (发布能力).
    #[must_use]
    pub fn publish(&self) -> PublishApi<'_> {
        PublishApi { client: self }
    }
}

impl PublishApi<'_> {
    /// Starts publishing a draft (`freepublish/submit`). The result comes later: the
    /// `PUBLISHJOBFINISH` event, or [`get`](Self::get).
    ///
    /// # Errors
    ///
    /// 40007 no such draft, 53503 the draft failed the publishing check, 53504 the draft must
    /// be used on the platform's site, 53505 save the draft by hand first, the usual errors.
    pub async fn submit(&self, draft_media_id: &str) -> Result<PublishJob, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/freepublish/submit",
                &[],
                &json!({ "media_id": draft_media_id }),
            )
            .await
    }

    /// Where a publishing job stands (`freepublish/get`).
    ///
    /// # Errors
    ///
    /// 53600 no such job, the usual errors.
    pub async fn get(&self, publish_id: &str) -> Result<PublishJobStatus, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/freepublish/get",
                &[],
                &json!({ "publish_id": publish_id }),
            )
            .await
    }

    /// A page of published messages, newest first (`freepublish/batchget`): `count` from 1 to
    /// 20; `no_content` leaves the texts out.
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn batch_get(
        &self,
        offset: u32,
        count: u32,
        no_content: bool,
    ) -> Result<PublishedList, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/freepublish/batchget",
                &[],
                &json!({ "offset": offset, "count": count, "no_content": u8::from(no_content) }),
            )
            .await
    }

    /// Deletes a published message (`freepublish/delete`): the article at `index` (from 1),
    /// or every article with `None`. It cannot be undone.
    ///
    /// # Errors
    ///
    /// 53600 invalid article id, the usual errors.
    pub async fn delete(&self, article_id: &str, index: Option<u32>) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/freepublish/delete",
                &[],
                &json!({ "article_id": article_id, "index": index.unwrap_or(0) }),
            )
            .await
            .map(drop)
    }

    /// The articles of a published message (`freepublish/getarticle`).
    ///
    /// # Errors
    ///
    /// 53600 invalid article id, the usual errors.
    pub async fn get_article(&self, article_id: &str) -> Result<Vec<Article>, ClientError> {
        let items: NewsItems = self
            .client
            .post_json(
                "/cgi-bin/freepublish/getarticle",
                &[],
                &json!({ "article_id": article_id }),
            )
            .await?;
        Ok(items.news_item)
    }
}

/// The codes WeChat's documentation lists for the publishing calls.
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        53503 => "the draft did not pass the publishing check",
        53504 => "the draft must be used on the platform's site (公众平台)",
        53505 => "save the draft by hand on the platform's site before publishing",
        53600 => "invalid article_id",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_states_read_as_wechat_writes_them() {
        let job: PublishJob = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","publish_id":100000001,"msg_data_id":2247483655}"#,
        )
        .unwrap();
        assert_eq!(job.publish_id, "100000001");
        assert_eq!(job.msg_data_id.as_deref(), Some("2247483655"));
        let job: PublishJob = serde_json::from_str(r#"{"publish_id":"9"}"#).unwrap();
        assert_eq!((job.publish_id.as_str(), job.msg_data_id), ("9", None));

        let status: PublishJobStatus = serde_json::from_str(
            r#"{"publish_id":"1","publish_status":2,"fail_idx":[1,2],"new":true}"#,
        )
        .unwrap();
        assert_eq!(status.publish_status, PublishStatus::OriginalityFailed);
        assert_eq!(status.fail_idx, [1, 2]);
        let status: PublishJobStatus =
            serde_json::from_str(r#"{"publish_id":"1","publish_status":42}"#).unwrap();
        assert_eq!(status.publish_status, PublishStatus::Other(42));
        assert_eq!(i64::from(status.publish_status), 42);
    }
}
