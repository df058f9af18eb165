//! Permanent material (永久素材): `material/add_material` (image, voice, video with its
//! description, thumbnail), `media/uploadimg` (pictures inside article texts),
//! `material/get_material`, `material/del_material`, `material/get_materialcount`,
//! `material/batchget_material`.
//!
//! Uploads stream their file (see [`multipart`](crate::client::multipart)): a file path is read
//! as it is sent and reopened for the token retry; a reader is read once and gets no retry.
//!
//! ```no_run
//! use wechat_tower::client::{MaterialFile, MediaType, Upload, VideoDescription};
//!
//! # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), wechat_tower::client::ClientError> {
//! let video = client
//!     .material()
//!     .add_video(Upload::path("launch.mp4"), &VideoDescription::new("Launch", "Our launch day"))
//!     .await?;
//! match client.material().get(&video.media_id).await? {
//!     MaterialFile::Video { down_url, .. } => println!("download from {down_url}"),
//!     other => println!("{other:?}"),
//! }
//! # Ok(()) }
//! ```

use bytes::Bytes;
use http::header;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::draft::{Article, NewsItems};
use super::media::{MediaType, disposition_filename};
use crate::client::error::ClientError;
use crate::client::multipart::{Upload, UploadForm};
use crate::client::stack::wechat_error;
use crate::client::wechat_client::{WechatClient, decode};

/// A permanent material just added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AddedMaterial {
    /// Its media id (for menus, drafts' covers, messages).
    pub media_id: String,
    /// Its URL, for images (usable inside WeChat only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The title and introduction WeChat requires with a video material.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VideoDescription {
    /// Title.
    pub title: String,
    /// Introduction.
    pub introduction: String,
}

impl VideoDescription {
    /// A description.
    #[must_use]
    pub fn new(title: impl Into<String>, introduction: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            introduction: introduction.into(),
        }
    }
}

/// A permanent material as `get_material` answers it: JSON for news and videos, the file
/// itself for the other kinds.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MaterialFile {
    /// A news material: its articles.
    News(Vec<Article>),
    /// A video: its description and where to download it.
    Video {
        /// Title.
        title: String,
        /// Introduction.
        description: String,
        /// The download URL.
        down_url: String,
    },
    /// An image, voice or thumbnail: the file.
    File {
        /// `Content-Type` of the answer.
        content_type: Option<String>,
        /// The file name of `Content-Disposition`, if any.
        filename: Option<String>,
        /// The bytes.
        data: Bytes,
    },
}

/// How many permanent materials of each kind there are (`get_materialcount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MaterialCount {
    /// Voices.
    #[serde(default)]
    pub voice_count: u64,
    /// Videos.
    #[serde(default)]
    pub video_count: u64,
    /// Images.
    #[serde(default)]
    pub image_count: u64,
    /// News.
    #[serde(default)]
    pub news_count: u64,
}

/// The kinds `batchget_material` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MaterialType {
    /// Images (thumbnails included).
    Image,
    /// Videos.
    Video,
    /// Voices.
    Voice,
    /// News.
    News,
}

/// A page of `batchget_material`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MaterialList {
    /// Materials of the kind in all.
    pub total_count: u64,
    /// Materials on this page.
    pub item_count: u64,
    /// The materials.
    #[serde(default)]
    pub item: Vec<MaterialItem>,
}

/// One material of a [`MaterialList`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MaterialItem {
    /// Its media id.
    pub media_id: String,
    /// The file name (not for news).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its URL (images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The articles (news only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<NewsItems>,
    /// When it was last changed (Unix seconds).
    #[serde(default)]
    pub update_time: u64,
}

/// Permanent material of a [`WechatClient`]: `client.material()`.
#[derive(Debug, Clone, Copy)]
pub struct MaterialApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Permanent material (永久素材).
    #[must_use]
    pub fn material(&self) -> MaterialApi<'_> {
        MaterialApi { client: self }
    }
}

impl MaterialApi<'_> {
    /// Adds an image, voice or thumbnail (`material/add_material`, field `media`); videos need
    /// their description: [`add_video`](Self::add_video).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for [`MediaType::Video`] (nothing is sent) or a file that
    /// cannot be opened; 40004 invalid media type, 40005 invalid file type, 40009 to 40012
    /// invalid size, 45001 over the size limit, 45009 daily quota, the usual errors.
    pub async fn add(
        &self,
        media_type: MediaType,
        upload: Upload,
    ) -> Result<AddedMaterial, ClientError> {
        if media_type == MediaType::Video {
            return Err(ClientError::Request(
                "a video material needs its description: use MaterialApi::add_video".to_owned(),
            ));
        }
        self.send_add(media_type, UploadForm::new("media", upload))
            .await
    }

    /// Adds a video (`material/add_material?type=video`, with `description`).
    ///
    /// # Errors
    ///
    /// As [`add`](Self::add).
    pub async fn add_video(
        &self,
        upload: Upload,
        description: &VideoDescription,
    ) -> Result<AddedMaterial, ClientError> {
        let description = serde_json::to_string(description)
            .map_err(|e| ClientError::Request(format!("description: {e}")))?;
        let form = UploadForm::new("media", upload).text("description", description);
        self.send_add(MediaType::Video, form).await
    }

    async fn send_add(
        &self,
        media_type: MediaType,
        mut form: UploadForm,
    ) -> Result<AddedMaterial, ClientError> {
        let path = "/cgi-bin/material/add_material";
        let url = self.client.api_url(path, &[("type", media_type.as_str())]);
        decode(path, self.client.send_upload(&url, &mut form).await?)
    }

    /// Uploads a picture for use inside an article's text (`media/uploadimg`: jpg or png, at
    /// most 1 MB) and returns its URL. It is not a material and has no media id.
    ///
    /// # Errors
    ///
    /// 40005 invalid file type, 40009 invalid image size, the usual errors.
    pub async fn upload_article_image(&self, upload: Upload) -> Result<String, ClientError> {
        #[derive(Deserialize)]
        struct Uploaded {
            url: String,
        }
        let path = "/cgi-bin/media/uploadimg";
        let url = self.client.api_url(path, &[]);
        let mut form = UploadForm::new("media", upload);
        let uploaded: Uploaded = decode(path, self.client.send_upload(&url, &mut form).await?)?;
        Ok(uploaded.url)
    }

    /// A permanent material (`material/get_material`): the articles of news, the description
    /// and download URL of videos, the file of the other kinds.
    ///
    /// # Errors
    ///
    /// 40007 invalid media id, the usual errors.
    pub async fn get(&self, media_id: &str) -> Result<MaterialFile, ClientError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Answer {
            News {
                news_item: Vec<Article>,
            },
            Video {
                #[serde(default)]
                title: String,
                #[serde(default)]
                description: String,
                down_url: String,
            },
        }
        let path = "/cgi-bin/material/get_material";
        let url = self.client.api_url(path, &[]);
        let req = self
            .client
            .json_request(&url, &json!({ "media_id": media_id }))?;
        let res = self.client.send(req, true).await?;
        if let Some(err) = wechat_error(res.body()) {
            return Err(ClientError::Wechat(err));
        }
        if !res.status().is_success() {
            return Err(ClientError::Decode(format!(
                "{path}: HTTP status {}",
                res.status()
            )));
        }
        let header_text = |name: header::HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header_text(header::CONTENT_TYPE);
        let says_json = content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/plain"));
        // News and videos are JSON; a file is anything that is not one of those two shapes.
        match serde_json::from_slice::<Answer>(res.body()) {
            Ok(Answer::News { news_item }) => return Ok(MaterialFile::News(news_item)),
            Ok(Answer::Video {
                title,
                description,
                down_url,
            }) => {
                return Ok(MaterialFile::Video {
                    title,
                    description,
                    down_url,
                });
            }
            Err(e) if says_json => return Err(ClientError::Decode(format!("{path}: {e}"))),
            Err(_) => {}
        }
        let filename =
            header_text(header::CONTENT_DISPOSITION).and_then(|cd| disposition_filename(&cd));
        Ok(MaterialFile::File {
            content_type,
            filename,
            data: res.into_body(),
        })
    }

    /// Deletes a permanent material (`material/del_material`).
    ///
    /// # Errors
    ///
    /// 40007 invalid media id, the usual errors.
    pub async fn delete(&self, media_id: &str) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/material/del_material",
                &[],
                &json!({ "media_id": media_id }),
            )
            .await
            .map(drop)
    }

    /// How many permanent materials of each kind there are (`material/get_materialcount`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn count(&self) -> Result<MaterialCount, ClientError> {
        self.client
            .get_json("/cgi-bin/material/get_materialcount", &[])
            .await
    }

    /// A page of materials of one kind, newest first (`material/batchget_material`): `count`
    /// from 1 to 20.
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn batch_get(
        &self,
        kind: MaterialType,
        offset: u32,
        count: u32,
    ) -> Result<MaterialList, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/material/batchget_material",
                &[],
                &json!({ "type": kind, "offset": offset, "count": count }),
            )
            .await
    }
}

/// The codes WeChat's documentation lists for the material and media calls.
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40004 => "invalid media type",
        40005 => "invalid file type (extension or content)",
        40006 => "invalid file size",
        40007 => "invalid media_id",
        40009 => "invalid image size (images at most 10 MB, article images 1 MB)",
        40010 => "invalid voice size (at most 2 MB)",
        40011 => "invalid video size (at most 10 MB)",
        40012 => "invalid thumbnail size (at most 64 KB)",
        40113 => "unsupported file type",
        41005 => "media data missing (no `media` part)",
        41006 => "media_id missing",
        45001 => "media file over the size limit",
        45007 => "voice too long (at most 60 s)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use http::{Request, Response};

    use super::*;
    use crate::client::Transport;

    /// A client whose WeChat answers `get_material` with `body` of `content_type`.
    fn answering(content_type: &'static str, body: &'static [u8]) -> WechatClient {
        let transport = Transport::new(tower::service_fn(move |req: Request<Bytes>| {
            let res = if req.uri().path() == "/cgi-bin/stable_token" {
                Response::builder()
                    .header("content-type", "application/json")
                    .body(Bytes::from_static(
                        br#"{"access_token":"T","expires_in":7200}"#,
                    ))
            } else {
                Response::builder()
                    .header("content-type", content_type)
                    .body(Bytes::from_static(body))
            };
            async move { Ok::<_, std::convert::Infallible>(res.unwrap()) }
        }));
        WechatClient::builder("wx1", "s")
            .api_base("http://127.0.0.1:9")
            .transport(transport)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn get_answers_news_videos_files_and_refuses_broken_json() {
        let news = answering(
            "application/json",
            br#"{"news_item":[{"title":"T","thumb_media_id":"M","show_cover_pic":1,"content":"C","url":"U"}]}"#,
        );
        let MaterialFile::News(articles) = news.material().get("N").await.unwrap() else {
            panic!()
        };
        assert_eq!(
            (articles[0].title.as_str(), articles[0].show_cover_pic),
            ("T", Some(1))
        );
        let video = answering(
            "text/plain",
            br#"{"title":"V","description":"D","down_url":"http://x/v"}"#,
        );
        assert_eq!(
            video.material().get("V").await.unwrap(),
            MaterialFile::Video {
                title: "V".into(),
                description: "D".into(),
                down_url: "http://x/v".into()
            }
        );
        // A file that happens to look like JSON of another shape is still a file.
        let file = answering("image/jpeg", br#"{"not":"a material answer"}"#);
        assert!(matches!(
            file.material().get("F").await.unwrap(),
            MaterialFile::File { .. }
        ));
        let broken = answering("application/json", b"{\"news_item\":");
        let err = broken.material().get("B").await.unwrap_err();
        assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
        let refused = answering(
            "application/json",
            br#"{"errcode":40007,"errmsg":"invalid media_id"}"#,
        );
        assert_eq!(
            refused.material().get("X").await.unwrap_err().errcode(),
            Some(40007)
        );
    }

    #[test]
    fn lists_read_news_and_files() {
        let list: MaterialList = serde_json::from_str(
            r#"{"total_count":2,"item_count":2,"item":[
                {"media_id":"N","content":{"news_item":[{"title":"T","content":"C","thumb_media_id":"M"}]},"update_time":1},
                {"media_id":"I","name":"a.jpg","url":"http://mmbiz.qpic.cn/a","update_time":2,"tags":[]}]}"#,
        )
        .unwrap();
        assert_eq!(
            list.item[0].content.as_ref().unwrap().news_item[0].title,
            "T"
        );
        assert_eq!(list.item[1].name.as_deref(), Some("a.jpg"));
        assert_eq!(
            serde_json::to_value(MaterialType::News).unwrap(),
            json!("news")
        );
    }
}
