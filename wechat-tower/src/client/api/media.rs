//! Temporary media (临时素材, kept 3 days): `cgi-bin/media/upload` (multipart/form-data,
//! streamed: see [`multipart`](crate::client::multipart)) and `cgi-bin/media/get`.
//!
//! ```no_run
//! use bytes::Bytes;
//! use wechat_tower::client::{CustomMessage, MediaType, MediaFile};
//!
//! # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), wechat_tower::client::ClientError> {
//! let png = Bytes::from(std::fs::read("qr.png").unwrap());
//! let uploaded = client.media().upload(MediaType::Image, "qr.png", "image/png", png).await?;
//! client.message().send_custom(&CustomMessage::image("oUser", &uploaded.media_id)).await?;
//! # Ok(()) }
//! ```

use bytes::Bytes;
use http::{Method, header};
use serde::{Deserialize, Serialize};

use crate::client::error::ClientError;
use crate::client::multipart::{Upload, UploadForm};
use crate::client::stack::wechat_error;
use crate::client::wechat_client::{WechatClient, decode};

/// The kind of a temporary media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    /// Image: at most 10 MiB, bmp/png/jpeg/jpg/gif.
    Image,
    /// Voice: at most 2 MiB and 60 s, amr/mp3.
    Voice,
    /// Video: at most 10 MiB, mp4.
    Video,
    /// Thumbnail: at most 64 KiB, jpg.
    Thumb,
}

impl MediaType {
    /// The type as WeChat spells it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Voice => "voice",
            Self::Video => "video",
            Self::Thumb => "thumb",
        }
    }
}

/// An uploaded temporary media.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UploadedMedia {
    /// Its kind.
    #[serde(rename = "type")]
    pub media_type: MediaType,
    /// Its id, valid 3 days (`thumb_media_id` for thumbnails).
    #[serde(alias = "thumb_media_id")]
    pub media_id: String,
    /// When it was uploaded (Unix seconds).
    pub created_at: u64,
}

/// A downloaded temporary media.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaFile {
    /// The file itself.
    File {
        /// `Content-Type` of the answer.
        content_type: Option<String>,
        /// The file name of `Content-Disposition`, if any.
        filename: Option<String>,
        /// The bytes.
        data: Bytes,
    },
    /// Videos are not sent themselves: WeChat answers with a URL to download them from.
    VideoUrl(String),
}

/// Temporary media of a [`WechatClient`]: `client.media()`.
#[derive(Debug, Clone, Copy)]
pub struct MediaApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Temporary media.
    #[must_use]
    pub fn media(&self) -> MediaApi<'_> {
        MediaApi { client: self }
    }
}

impl MediaApi<'_> {
    /// Uploads `data` as a temporary media of `media_type` (`media/upload`, field `media`);
    /// as [`upload_from`](Self::upload_from) with [`Upload::bytes`].
    ///
    /// # Errors
    ///
    /// 40004 invalid media type, 40005 invalid file type, 40006 invalid size, the usual errors.
    pub async fn upload(
        &self,
        media_type: MediaType,
        filename: &str,
        content_type: &str,
        data: Bytes,
    ) -> Result<UploadedMedia, ClientError> {
        self.upload_from(media_type, Upload::bytes(filename, content_type, data))
            .await
    }

    /// Uploads a temporary media from `upload`: bytes, a file (read as it is sent, reopened
    /// for the token retry) or a reader (read once: no token retry). See
    /// [`multipart`](crate::client::multipart).
    ///
    /// ```no_run
    /// use wechat_tower::client::{MediaType, Upload};
    ///
    /// # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), wechat_tower::client::ClientError> {
    /// let video = client.media().upload_from(MediaType::Video, Upload::path("clip.mp4")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`upload`](Self::upload); [`ClientError::Request`] when the file cannot be opened,
    /// [`ClientError::Transport`] when it fails while it is read.
    pub async fn upload_from(
        &self,
        media_type: MediaType,
        upload: Upload,
    ) -> Result<UploadedMedia, ClientError> {
        let path = "/cgi-bin/media/upload";
        let url = self.client.api_url(path, &[("type", media_type.as_str())]);
        let mut form = UploadForm::new("media", upload);
        decode(path, self.client.send_upload(&url, &mut form).await?)
    }

    /// Downloads a temporary media (`media/get`).
    ///
    /// # Errors
    ///
    /// 40007 invalid media id, the usual errors.
    pub async fn get(&self, media_id: &str) -> Result<MediaFile, ClientError> {
        let path = "/cgi-bin/media/get";
        let url = self.client.api_url(path, &[("media_id", media_id)]);
        let req = self.client.request(Method::GET, &url, None)?;
        let res = self.client.send(req, true).await?;
        if let Some(err) = wechat_error(res.body()) {
            return Err(ClientError::Wechat(err));
        }
        let header_text = |name: header::HeaderName| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header_text(header::CONTENT_TYPE);
        let is_json = content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/plain"));
        if is_json {
            #[derive(Deserialize)]
            struct Video {
                video_url: String,
            }
            let video: Video = decode(path, res)?;
            return Ok(MediaFile::VideoUrl(video.video_url));
        }
        if !res.status().is_success() {
            return Err(ClientError::Decode(format!(
                "{path}: HTTP status {}",
                res.status()
            )));
        }
        let filename =
            header_text(header::CONTENT_DISPOSITION).and_then(|cd| disposition_filename(&cd));
        Ok(MediaFile::File {
            content_type,
            filename,
            data: res.into_body(),
        })
    }
}

/// `filename` of a `Content-Disposition` header (`attachment; filename="x.jpg"`).
pub(crate) fn disposition_filename(value: &str) -> Option<String> {
    value.split(';').find_map(|part| {
        let (key, name) = part.trim().split_once('=')?;
        key.eq_ignore_ascii_case("filename")
            .then(|| name.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_come_from_the_disposition() {
        assert_eq!(
            disposition_filename("attachment; filename=\"MEDIA.jpg\"").as_deref(),
            Some("MEDIA.jpg")
        );
        assert_eq!(disposition_filename("attachment"), None);
    }
}
