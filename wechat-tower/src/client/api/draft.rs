//! The draft box (草稿箱): `draft/add`, `draft/get`, `draft/update`, `draft/batchget`,
//! `draft/delete`, `draft/count`. A draft is what [`publish`](super::publish) publishes.
//!
//! ```no_run
//! use wechat_tower::client::{Article, MediaType, Upload};
//!
//! # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), wechat_tower::client::ClientError> {
//! // The cover is a permanent material; pictures inside the text come from `uploadimg`.
//! let cover = client.material().add(MediaType::Image, Upload::path("cover.jpg")).await?;
//! let figure = client.material().upload_article_image(Upload::path("figure.png")).await?;
//! let article = Article::news(
//!     "Release notes",
//!     format!("<p>What changed.</p><img src=\"{figure}\">"),
//!     cover.media_id,
//! );
//! let draft = client.draft().add(&[article]).await?;
//! let job = client.publish().submit(&draft).await?;
//! # let _ = job; Ok(()) }
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// An article (图文) of a draft, of a published message, or of a permanent news material.
///
/// The fields WeChat documents are typed; those it adds later are kept in
/// [`extra`](Self::extra) and sent back unchanged. Answer-only fields (`url`, `thumb_url`,
/// `is_deleted`) are never sent by this crate's calls unless set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Article {
    /// `news` (图文消息, the default when absent) or `newspic` (图片消息, pictures first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_type: Option<String>,
    /// Title (at most 32 characters).
    #[serde(default)]
    pub title: String,
    /// Author (at most 16 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Summary of a single-article message (at most 128 characters; WeChat takes the first 54
    /// of the text when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The text, HTML (under 20 000 characters and 1 MB); images must come from
    /// `uploadimg` ([`MaterialApi::upload_article_image`](super::material::MaterialApi::upload_article_image)).
    #[serde(default)]
    pub content: String,
    /// "Read more" (阅读原文) URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_source_url: Option<String>,
    /// The cover: a permanent material's media id (required for `news`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_media_id: Option<String>,
    /// Whether the cover shows in the text (`1`) or not (`0`); old materials only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_cover_pic: Option<u8>,
    /// Comments open (`1`) or not (`0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_open_comment: Option<u8>,
    /// Only followers may comment (`1`) or everyone (`0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_fans_can_comment: Option<u8>,
    /// Cover crop for the 2.35:1 cover, `X1_Y1_X2_Y2` in fractions of the picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic_crop_235_1: Option<String>,
    /// Cover crop for the 1:1 cover, `X1_Y1_X2_Y2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pic_crop_1_1: Option<String>,
    /// The pictures of a `newspic` article (at most 20; the first is the cover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_info: Option<ImageInfo>,
    /// In answers: the article's (temporary or permanent) URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// In answers: the cover's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_url: Option<String>,
    /// In answers of published articles: whether it was deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_deleted: Option<bool>,
    /// Fields this crate does not know (`cover_info`, `product_info`, …), kept and sent back.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The pictures of a `newspic` article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageInfo {
    /// The pictures, permanent image materials.
    #[serde(default)]
    pub image_list: Vec<ImageItem>,
}

/// One picture of a `newspic` article.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageItem {
    /// A permanent image material's media id.
    pub image_media_id: String,
    /// Fields this crate does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Article {
    /// A `news` article (图文): title, HTML text and a cover (a permanent material).
    #[must_use]
    pub fn news(
        title: impl Into<String>,
        content: impl Into<String>,
        thumb_media_id: impl Into<String>,
    ) -> Self {
        Self {
            title: title.into(),
            content: content.into(),
            thumb_media_id: Some(thumb_media_id.into()),
            ..Self::default()
        }
    }

    /// A `newspic` article (图片消息): title, plain text and pictures (permanent image
    /// materials; the first is the cover).
    #[must_use]
    pub fn newspic<I, S>(title: impl Into<String>, content: impl Into<String>, images: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            article_type: Some("newspic".to_owned()),
            title: title.into(),
            content: content.into(),
            image_info: Some(ImageInfo {
                image_list: images
                    .into_iter()
                    .map(|id| ImageItem {
                        image_media_id: id.into(),
                        extra: Map::new(),
                    })
                    .collect(),
            }),
            ..Self::default()
        }
    }
}

/// Articles as answers carry them: `{"news_item": [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewsItems {
    /// The articles, in order.
    #[serde(default)]
    pub news_item: Vec<Article>,
    /// When it was created (Unix seconds), where the answer says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<u64>,
    /// When it was last changed (Unix seconds), where the answer says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<u64>,
}

/// A page of `draft/batchget`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DraftList {
    /// Drafts in all.
    pub total_count: u64,
    /// Drafts on this page.
    pub item_count: u64,
    /// The drafts.
    #[serde(default)]
    pub item: Vec<DraftItem>,
}

/// One draft of a [`DraftList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DraftItem {
    /// The draft's media id.
    pub media_id: String,
    /// Its articles (texts left empty with `no_content`).
    #[serde(default)]
    pub content: NewsItems,
    /// When it was last changed (Unix seconds).
    #[serde(default)]
    pub update_time: u64,
}

/// The draft box of a [`WechatClient`]: `client.draft()`.
#[derive(Debug, Clone, Copy)]
pub struct DraftApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// The draft box (草稿箱).
    #[must_use]
    pub fn draft(&self) -> DraftApi<'_> {
        DraftApi { client: self }
    }
}

impl DraftApi<'_> {
    /// Adds a draft of `articles` (at most 8) and returns its media id (`draft/add`).
    ///
    /// # Errors
    ///
    /// 40007 invalid cover media id, 53404 to 53406 product (带货) limits, 45002 content too
    /// long, the usual errors.
    pub async fn add(&self, articles: &[Article]) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Added {
            media_id: String,
        }
        let added: Added = self
            .client
            .post_json("/cgi-bin/draft/add", &[], &json!({ "articles": articles }))
            .await?;
        Ok(added.media_id)
    }

    /// The articles of a draft (`draft/get`).
    ///
    /// # Errors
    ///
    /// 40007 no such draft, the usual errors.
    pub async fn get(&self, media_id: &str) -> Result<Vec<Article>, ClientError> {
        let items: NewsItems = self
            .client
            .post_json("/cgi-bin/draft/get", &[], &json!({ "media_id": media_id }))
            .await?;
        Ok(items.news_item)
    }

    /// Replaces the article at `index` (from 0) of a draft (`draft/update`).
    ///
    /// # Errors
    ///
    /// 40007 no such draft, the codes of [`add`](Self::add), the usual errors.
    pub async fn update(
        &self,
        media_id: &str,
        index: u32,
        article: &Article,
    ) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/draft/update",
                &[],
                &json!({ "media_id": media_id, "index": index, "articles": article }),
            )
            .await
            .map(drop)
    }

    /// A page of drafts, newest first (`draft/batchget`): `count` from 1 to 20;
    /// `no_content` leaves the texts out.
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn batch_get(
        &self,
        offset: u32,
        count: u32,
        no_content: bool,
    ) -> Result<DraftList, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/draft/batchget",
                &[],
                &json!({ "offset": offset, "count": count, "no_content": u8::from(no_content) }),
            )
            .await
    }

    /// Deletes a draft (`draft/delete`); it cannot be recovered.
    ///
    /// # Errors
    ///
    /// 40007 no such draft, the usual errors.
    pub async fn delete(&self, media_id: &str) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/draft/delete",
                &[],
                &json!({ "media_id": media_id }),
            )
            .await
            .map(drop)
    }

    /// How many drafts there are (`draft/count`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn count(&self) -> Result<u64, ClientError> {
        #[derive(Deserialize)]
        struct Count {
            total_count: u64,
        }
        let count: Count = self.client.get_json("/cgi-bin/draft/count", &[]).await?;
        Ok(count.total_count)
    }
}

/// The codes WeChat's documentation lists for the draft calls.
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40007 => "invalid media_id",
        45002 => "content too long",
        45003 => "title too long",
        45004 => "description (digest) too long",
        53404 => "the account is barred from selling products (带货) in articles: remove them",
        53405 => "invalid product information in the article",
        53406 => "product selling (带货) is not enabled for the account",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn articles_keep_unknown_fields_and_send_only_what_is_set() {
        let answer = r#"{"title":"T","author":"A","digest":"D","content":"<p>x</p>",
            "content_source_url":"","thumb_media_id":"M","show_cover_pic":0,
            "need_open_comment":1,"only_fans_can_comment":0,"url":"http://mp.weixin.qq.com/s?x",
            "thumb_url":"http://mmbiz.qpic.cn/t","cover_info":{"crop_percent_list":[]},"future":7}"#;
        let article: Article = serde_json::from_str(answer).unwrap();
        assert_eq!(article.need_open_comment, Some(1));
        assert_eq!(article.extra["future"], 7);
        assert!(article.extra.contains_key("cover_info"));
        let back = serde_json::to_value(&article).unwrap();
        assert_eq!(back["future"], 7);
        assert_eq!(back["cover_info"], json!({"crop_percent_list":[]}));

        let sent = serde_json::to_value(Article::news("T", "C", "M")).unwrap();
        assert_eq!(
            sent,
            json!({"title":"T","content":"C","thumb_media_id":"M"}),
            "nothing unset is sent"
        );
        let pics = serde_json::to_value(Article::newspic("P", "text", ["I1", "I2"])).unwrap();
        assert_eq!(pics["article_type"], "newspic");
        assert_eq!(
            pics["image_info"],
            json!({"image_list":[{"image_media_id":"I1"},{"image_media_id":"I2"}]})
        );
    }
}
