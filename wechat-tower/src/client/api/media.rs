//! Temporary media (临时素材, kept 3 days): `cgi-bin/media/upload` (multipart/form-data) and
//! `cgi-bin/media/get`.
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

use bytes::{BufMut, Bytes, BytesMut};
use http::{HeaderValue, Method, header};
use serde::{Deserialize, Serialize};

use crate::client::error::ClientError;
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
    /// Uploads `data` as a temporary media of `media_type` (`media/upload`, field `media`).
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
        let path = "/cgi-bin/media/upload";
        let form = Multipart::new(&data).file("media", filename, content_type, &data);
        let url = self.client.api_url(path, &[("type", media_type.as_str())]);
        let req = self.client.request(
            Method::POST,
            &url,
            Some((form.content_type(), form.finish())),
        )?;
        decode(path, self.client.send(req, true).await?)
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
fn disposition_filename(value: &str) -> Option<String> {
    value.split(';').find_map(|part| {
        let (key, name) = part.trim().split_once('=')?;
        key.eq_ignore_ascii_case("filename")
            .then(|| name.trim().trim_matches('"').to_owned())
    })
}

/// A `multipart/form-data` body (RFC 7578), written by hand: WeChat's upload APIs take one file
/// part, sometimes with text fields.
#[derive(Debug)]
pub(crate) struct Multipart {
    boundary: String,
    body: BytesMut,
}

impl Multipart {
    /// A form whose random boundary does not occur in `content`.
    pub(crate) fn new(content: &[u8]) -> Self {
        let boundary = loop {
            let candidate = format!(
                "----wechat-tower-{}{}",
                wechat_core::crypt::nonce(),
                wechat_core::crypt::nonce()
            );
            if memchr::memmem::find(content, candidate.as_bytes()).is_none() {
                break candidate;
            }
        };
        Self {
            boundary,
            body: BytesMut::with_capacity(content.len() + 256),
        }
    }

    fn open_part(&mut self, disposition: &str) {
        self.body.put_slice(b"--");
        self.body.put_slice(self.boundary.as_bytes());
        self.body.put_slice(b"\r\nContent-Disposition: form-data; ");
        self.body.put_slice(disposition.as_bytes());
        self.body.put_slice(b"\r\n");
    }

    /// Adds a text field.
    #[cfg_attr(
        not(test),
        allow(dead_code, reason = "for upload APIs with a description")
    )]
    pub(crate) fn text(mut self, name: &str, value: &str) -> Self {
        self.open_part(&format!("name=\"{}\"", quote(name)));
        self.body.put_slice(b"\r\n");
        self.body.put_slice(value.as_bytes());
        self.body.put_slice(b"\r\n");
        self
    }

    /// Adds a file.
    pub(crate) fn file(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        data: &[u8],
    ) -> Self {
        self.open_part(&format!(
            "name=\"{}\"; filename=\"{}\"",
            quote(name),
            quote(filename)
        ));
        self.body.put_slice(b"Content-Type: ");
        self.body.put_slice(quote(content_type).as_bytes());
        self.body.put_slice(b"\r\n\r\n");
        self.body.put_slice(data);
        self.body.put_slice(b"\r\n");
        self
    }

    /// `multipart/form-data; boundary=…`.
    pub(crate) fn content_type(&self) -> HeaderValue {
        // The boundary is ASCII letters, digits and dashes.
        HeaderValue::from_str(&format!("multipart/form-data; boundary={}", self.boundary))
            .unwrap_or_else(|_| HeaderValue::from_static("multipart/form-data"))
    }

    /// The body, closed.
    pub(crate) fn finish(mut self) -> Bytes {
        self.body.put_slice(b"--");
        self.body.put_slice(self.boundary.as_bytes());
        self.body.put_slice(b"--\r\n");
        self.body.freeze()
    }
}

/// A header parameter value with the characters that would end it escaped (as browsers do).
fn quote(value: &str) -> String {
    value
        .replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_are_well_formed() {
        let form = Multipart::new(b"PNGDATA")
            .text("description", "{\"title\":\"t\"}")
            .file("media", "a\"b.png", "image/png", b"PNGDATA");
        let content_type = form.content_type();
        let boundary = content_type
            .to_str()
            .unwrap()
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap()
            .to_owned();
        let body = form.finish();
        let expected = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{{\"title\":\"t\"}}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a%22b.png\"\r\n\
             Content-Type: image/png\r\n\r\nPNGDATA\r\n--{boundary}--\r\n"
        );
        assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
    }

    #[test]
    fn boundaries_are_random() {
        let a = Multipart::new(b"").content_type();
        let b = Multipart::new(b"").content_type();
        assert_ne!(a, b);
    }

    #[test]
    fn filenames_come_from_the_disposition() {
        assert_eq!(
            disposition_filename("attachment; filename=\"MEDIA.jpg\"").as_deref(),
            Some("MEDIA.jpg")
        );
        assert_eq!(disposition_filename("attachment"), None);
    }
}
