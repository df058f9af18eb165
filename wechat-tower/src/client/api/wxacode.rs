//! Mini Program codes (小程序码) and QR codes: `wxa/getwxacode` (limited: 100 000 codes per app
//! in total), `wxa/getwxacodeunlimit` (unlimited, with a `scene` of 32 characters) and
//! `cgi-bin/wxaapp/createwxaqrcode` (the square QR code, limited).
//!
//! These calls answer an image *or* a JSON error, both with HTTP 200: the client decides by the
//! `Content-Type`. An `image/*` answer is the code; a JSON (or `text/plain`) answer is WeChat's
//! error, [`ClientError::Wechat`], never "image bytes". A refused token (40001) is replaced and
//! the call sent once more, as for every other call.
//!
//! Each call has a streaming form (`…_stream`) that answers as soon as the headers arrive, its
//! image read chunk by chunk ([`WxaCodeStream::chunk`]), and a convenience that collects the
//! image, refusing one over [`MAX_CODE_BYTES`] without holding it whole.
//!
//! ```
//! use wechat_tower::client::{EnvVersion, UnlimitedCodeRequest, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! // A poster code: scanning it opens `pages/shop/index` with `scene` = "shop=42".
//! let request = UnlimitedCodeRequest::new("shop=42")?
//!     .page("pages/shop/index")
//!     .width(430)
//!     .env_version(EnvVersion::Release);
//! let code = client.wxacode().unlimited(&request).await?;
//! assert_eq!(code.content_type, "image/png");
//! assert!(code.body.starts_with(b"\x89PNG\r\n\x1a\n"));
//! // std::fs::write("poster-code.png", &code.body)?;
//! # Ok(()) }
//! ```

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Response, header};
use http_body_util::BodyExt as _;
use serde::{Deserialize, Serialize};

use crate::body::content_length;
use crate::client::api::links::EnvVersion;
use crate::client::error::ClientError;
use crate::client::streamed::{Streamed, StreamedCall, body_error};
use crate::client::transport::TransportBody;
use crate::client::wechat_client::WechatClient;

/// The largest image the collecting forms ([`WxaCodeApi::code`], …) accept: codes are at most
/// 1280 px wide, a few hundred KiB; anything much larger is not a code.
pub const MAX_CODE_BYTES: usize = 4 * 1024 * 1024;

/// The most characters of a `scene` (WeChat: "最大32个可见字符").
pub const MAX_SCENE_CHARS: usize = 32;

/// The colour of a code's lines when `auto_color` is off (`line_color`): decimal RGB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LineColor {
    /// Red, 0–255.
    pub r: u8,
    /// Green, 0–255.
    pub g: u8,
    /// Blue, 0–255.
    pub b: u8,
}

/// The look of a Mini Program code, shared by [`WxaCodeRequest`] and [`UnlimitedCodeRequest`] requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
struct Look {
    /// Width in pixels, 280–1280 (WeChat's default 430).
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    /// Pick the line colour from the avatar (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_color: Option<bool>,
    /// The line colour when `auto_color` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    line_color: Option<LineColor>,
    /// A transparent background (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    is_hyaline: Option<bool>,
    /// Which version the code opens (default release).
    #[serde(skip_serializing_if = "Option::is_none")]
    env_version: Option<EnvVersion>,
}

/// The most bytes of a `path` of [`WxaCodeRequest`] (WeChat: 1024).
const MAX_CODE_PATH: usize = 1024;
/// The most bytes of a `path` of [`WxaQrCodeRequest`] (WeChat: 128).
const MAX_QRCODE_PATH: usize = 128;

macro_rules! look_setters {
    () => {
        /// Width in pixels, 280–1280 (checked when sent; WeChat's default is 430).
        pub fn width(mut self, width: u32) -> Self {
            self.look.width = Some(width);
            self
        }

        /// Let WeChat pick the line colour from the avatar.
        pub fn auto_color(mut self, auto: bool) -> Self {
            self.look.auto_color = Some(auto);
            self
        }

        /// The line colour (with `auto_color` off).
        pub fn line_color(mut self, r: u8, g: u8, b: u8) -> Self {
            self.look.line_color = Some(LineColor { r, g, b });
            self
        }

        /// A transparent background.
        pub fn is_hyaline(mut self, hyaline: bool) -> Self {
            self.look.is_hyaline = Some(hyaline);
            self
        }

        /// Which version of the Mini Program the code opens.
        pub fn env_version(mut self, version: EnvVersion) -> Self {
            self.look.env_version = Some(version);
            self
        }
    };
}

/// A request of `getwxacode`: a code for a page with its query (limited to 100 000 codes per
/// app, together with [`WxaQrCodeRequest`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct WxaCodeRequest {
    /// The page and its query, `pages/index/index?id=1` (at most 1024 bytes, no leading `/`).
    path: String,
    #[serde(flatten)]
    look: Look,
}

impl WxaCodeRequest {
    /// A code of `path` (`pages/index/index?id=1`).
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            look: Look::default(),
        }
    }

    look_setters!();

    fn check(&self) -> Result<(), ClientError> {
        check_path(&self.path, MAX_CODE_PATH)?;
        self.look.check()
    }
}

/// A request of `getwxacodeunlimit`: a code carrying a short `scene` (unlimited in number).
/// The page reads the scene from `options.scene` (URL-encoded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct UnlimitedCodeRequest {
    scene: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_path: Option<bool>,
    #[serde(flatten)]
    look: Look,
}

impl UnlimitedCodeRequest {
    /// A code carrying `scene`: 1–32 visible characters, digits, ASCII letters and
    /// ``!#$&'()*+,/:;=?@-._~``.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] when the scene is empty, longer than 32 characters, or holds
    /// another character (WeChat would answer 40169 or 40129).
    pub fn new(scene: impl Into<String>) -> Result<Self, ClientError> {
        let scene = scene.into();
        check_scene(&scene)?;
        Ok(Self {
            scene,
            page: None,
            check_path: None,
            look: Look::default(),
        })
    }

    /// The page the code opens (published, no leading `/`, no query); default: the home page.
    pub fn page(mut self, page: impl Into<String>) -> Self {
        self.page = Some(page.into());
        self
    }

    /// Whether WeChat checks that the page exists in the published version (default true);
    /// false allows codes of pages not published yet.
    pub fn check_path(mut self, check: bool) -> Self {
        self.check_path = Some(check);
        self
    }

    look_setters!();

    /// The scene.
    #[must_use]
    pub fn scene(&self) -> &str {
        &self.scene
    }

    fn check(&self) -> Result<(), ClientError> {
        check_scene(&self.scene)?;
        if let Some(page) = &self.page {
            if page.starts_with('/') {
                return Err(ClientError::Request(
                    "page must not start with `/` (WeChat answers 41030)".into(),
                ));
            }
            if page.contains('?') {
                return Err(ClientError::Request(
                    "page takes no query: put the parameters in `scene`".into(),
                ));
            }
            check_path(page, MAX_CODE_PATH)?;
        }
        self.look.check()
    }
}

/// A request of `createwxaqrcode`: the square QR code of a page (limited to 100 000 codes per
/// app, together with [`WxaCodeRequest`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct WxaQrCodeRequest {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
}

impl WxaQrCodeRequest {
    /// A QR code of `path` (`pages/index/index?id=1`, at most 128 bytes).
    pub fn new(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            width: None,
        }
    }

    /// Width in pixels, 280–1280 (WeChat's default 430).
    pub fn width(mut self, width: u32) -> Self {
        self.width = Some(width);
        self
    }

    fn check(&self) -> Result<(), ClientError> {
        check_path(&self.path, MAX_QRCODE_PATH)?;
        check_width(self.width)
    }
}

impl Look {
    fn check(&self) -> Result<(), ClientError> {
        check_width(self.width)
    }
}

fn check_width(width: Option<u32>) -> Result<(), ClientError> {
    match width {
        Some(w) if !(280..=1280).contains(&w) => Err(ClientError::Request(format!(
            "width {w} is outside 280..=1280"
        ))),
        _ => Ok(()),
    }
}

fn check_path(path: &str, max: usize) -> Result<(), ClientError> {
    if path.is_empty() {
        return Err(ClientError::Request("path is empty".into()));
    }
    if path.len() > max {
        return Err(ClientError::Request(format!(
            "path is {} bytes, more than {max} (WeChat answers 40159)",
            path.len()
        )));
    }
    if path.chars().any(char::is_control) {
        return Err(ClientError::Request(
            "path holds a control character".into(),
        ));
    }
    Ok(())
}

/// Whether `c` may appear in a `scene`.
fn scene_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$&'()*+,/:;=?@-._~".contains(c)
}

fn check_scene(scene: &str) -> Result<(), ClientError> {
    if scene.is_empty() {
        return Err(ClientError::Request("scene is empty".into()));
    }
    let chars = scene.chars().count();
    if chars > MAX_SCENE_CHARS {
        return Err(ClientError::Request(format!(
            "scene is {chars} characters, more than {MAX_SCENE_CHARS} (WeChat answers 40169)"
        )));
    }
    if let Some(c) = scene.chars().find(|c| !scene_char(*c)) {
        return Err(ClientError::Request(format!(
            "scene holds {c:?}: only digits, ASCII letters and !#$&'()*+,/:;=?@-._~ (WeChat \
             answers 40129)"
        )));
    }
    Ok(())
}

/// A code, collected: the image and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WxaCode {
    /// `Content-Type` of the answer (`image/jpeg`, `image/png` for transparent codes).
    pub content_type: String,
    /// The image.
    pub body: Bytes,
}

/// A code whose image is read as it arrives: WeChat answered with an image, whose bytes come
/// from [`chunk`](Self::chunk) (or [`into_body`](Self::into_body)).
///
/// ```no_run
/// # async fn f(client: wechat_tower::client::WechatClient) -> Result<(), Box<dyn std::error::Error>> {
/// use tokio::io::AsyncWriteExt as _;
/// use wechat_tower::client::UnlimitedCodeRequest;
///
/// let mut code = client.wxacode().unlimited_stream(&UnlimitedCodeRequest::new("id=7")?).await?;
/// let mut file = tokio::fs::File::create("code.png").await?;
/// while let Some(chunk) = code.chunk().await {
///     file.write_all(&chunk?).await?;
/// }
/// # Ok(()) }
/// ```
pub struct WxaCodeStream {
    /// `Content-Type` of the answer (`image/jpeg`, `image/png`).
    pub content_type: String,
    /// `Content-Length`, when WeChat sent one.
    pub content_length: Option<u64>,
    body: TransportBody,
}

impl std::fmt::Debug for WxaCodeStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WxaCodeStream")
            .field("content_type", &self.content_type)
            .field("content_length", &self.content_length)
            .finish_non_exhaustive()
    }
}

impl WxaCodeStream {
    /// The next bytes of the image; `None` at its end. Bound the whole read with
    /// `tokio::time::timeout` if it matters: the client's time limit covers the headers only.
    pub async fn chunk(&mut self) -> Option<Result<Bytes, ClientError>> {
        loop {
            match self.body.frame().await? {
                Ok(frame) => {
                    if let Ok(data) = frame.into_data() {
                        return Some(Ok(data));
                    }
                    // Trailers carry no image bytes.
                }
                Err(err) => return Some(Err(body_error(err, usize::MAX))),
            }
        }
    }

    /// The image body itself (an `http_body::Body`).
    #[must_use]
    pub fn into_body(self) -> TransportBody {
        self.body
    }

    /// Reads the whole image, refusing one over `max_bytes` as soon as it is known to be: by
    /// its `Content-Length` before reading, else when the bytes read pass the cap (what was
    /// read is dropped).
    ///
    /// # Errors
    ///
    /// [`ClientError::Decode`] over the cap; transport errors while reading.
    pub async fn collect(mut self, max_bytes: usize) -> Result<WxaCode, ClientError> {
        if let Some(len) = self.content_length
            && len > max_bytes as u64
        {
            return Err(too_large(max_bytes));
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            if body.len() + chunk.len() > max_bytes {
                return Err(too_large(max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(WxaCode {
            content_type: self.content_type,
            body: body.freeze(),
        })
    }
}

fn too_large(max_bytes: usize) -> ClientError {
    ClientError::Decode(format!("code image larger than {max_bytes} bytes"))
}

/// Mini Program codes of a [`WechatClient`]: `client.wxacode()`. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct WxaCodeApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Mini Program codes (小程序码) and QR codes.
    #[must_use]
    pub fn wxacode(&self) -> WxaCodeApi<'_> {
        WxaCodeApi { client: self }
    }
}

impl WxaCodeApi<'_> {
    /// A code of a page (`wxa/getwxacode`), collected (at most [`MAX_CODE_BYTES`]).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a path WeChat would refuse (checked before sending);
    /// [`ClientError::Wechat`] with 41030 (page not published), 40159 (path too long), 45029
    /// (code limit reached), 40097, 44990, the usual errors; [`ClientError::Decode`] for an
    /// answer that is neither an image nor an error, or an image over the cap.
    pub async fn code(&self, request: &WxaCodeRequest) -> Result<WxaCode, ClientError> {
        let stream = self.code_stream(request).await?;
        self.collect(stream).await
    }

    /// [`code`](Self::code), the image read as it arrives.
    ///
    /// # Errors
    ///
    /// As [`code`](Self::code), except the cap.
    pub async fn code_stream(
        &self,
        request: &WxaCodeRequest,
    ) -> Result<WxaCodeStream, ClientError> {
        request.check()?;
        self.stream("/wxa/getwxacode", request).await
    }

    /// A code carrying a `scene` (`wxa/getwxacodeunlimit`), collected (at most
    /// [`MAX_CODE_BYTES`]).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a scene, page or width WeChat would refuse (checked before
    /// sending); [`ClientError::Wechat`] with 41030 (page not published, or not existing with
    /// `check_path`), 40169 (scene too long), 40129 (invalid scene), 40097 (invalid
    /// `env_version`), 85096 (`scancode_time` is reserved), 44990, 45009, the usual errors.
    pub async fn unlimited(&self, request: &UnlimitedCodeRequest) -> Result<WxaCode, ClientError> {
        let stream = self.unlimited_stream(request).await?;
        self.collect(stream).await
    }

    /// [`unlimited`](Self::unlimited), the image read as it arrives.
    ///
    /// # Errors
    ///
    /// As [`unlimited`](Self::unlimited), except the cap.
    pub async fn unlimited_stream(
        &self,
        request: &UnlimitedCodeRequest,
    ) -> Result<WxaCodeStream, ClientError> {
        request.check()?;
        self.stream("/wxa/getwxacodeunlimit", request).await
    }

    /// The square QR code of a page (`cgi-bin/wxaapp/createwxaqrcode`), collected (at most
    /// [`MAX_CODE_BYTES`]).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a path or width WeChat would refuse; [`ClientError::Wechat`]
    /// with 45029 (limit reached), 40159 (path too long), the usual errors.
    pub async fn qrcode(&self, request: &WxaQrCodeRequest) -> Result<WxaCode, ClientError> {
        let stream = self.qrcode_stream(request).await?;
        self.collect(stream).await
    }

    /// [`qrcode`](Self::qrcode), the image read as it arrives.
    ///
    /// # Errors
    ///
    /// As [`qrcode`](Self::qrcode), except the cap.
    pub async fn qrcode_stream(
        &self,
        request: &WxaQrCodeRequest,
    ) -> Result<WxaCodeStream, ClientError> {
        request.check()?;
        self.stream("/cgi-bin/wxaapp/createwxaqrcode", request)
            .await
    }

    async fn collect(&self, stream: WxaCodeStream) -> Result<WxaCode, ClientError> {
        tokio::time::timeout(self.timeout(), stream.collect(MAX_CODE_BYTES))
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    fn timeout(&self) -> Duration {
        self.client.timeout()
    }

    async fn stream<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<WxaCodeStream, ClientError> {
        let url = self.client.api_url(path, &[]);
        let req = self.client.json_request(&url, body)?;
        debug_assert_eq!(req.method(), Method::POST);
        let call = StreamedCall {
            transport: self.client.transport(),
            tokens: self.client.tokens(),
            timeout: self.timeout(),
        };
        match call.send(req).await? {
            Streamed::Json(res) => Err(ClientError::Decode(format!(
                "{path}: a JSON answer without an image ({} bytes)",
                res.body().len()
            ))),
            Streamed::Body(res) => image(path, res),
        }
    }
}

/// The image of an answer: `image/*` with a success status, else a decode error (its body is
/// not read).
fn image(path: &str, res: Response<TransportBody>) -> Result<WxaCodeStream, ClientError> {
    if !res.status().is_success() {
        return Err(ClientError::Decode(format!(
            "{path}: HTTP status {}",
            res.status()
        )));
    }
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("image/")
    {
        return Err(ClientError::Decode(format!(
            "{path}: expected an image, got Content-Type `{content_type}`"
        )));
    }
    let content_length = content_length(res.headers());
    Ok(WxaCodeStream {
        content_type,
        content_length,
        body: res.into_body(),
    })
}

/// The errors the code APIs' documentation lists (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40097 => "invalid args: a parameter is malformed (e.g. env_version)",
        40129 => {
            "invalid scene (场景值不合法): characters outside the allowed set, or a content-check scene outside 1..=4"
        }
        40159 => "invalid length for path, or the data is not a JSON string (path 过长)",
        40169 => "invalid length for scene (scene 超过 32 个字符), or the data is not JSON",
        41030 => {
            "invalid page: the page does not exist or the Mini Program is not published (页面不存在或未发布)"
        }
        44990 => "too many requests per second (接口请求太快)",
        45029 => "code count limit reached (生成码个数总和达到上限 10 万)",
        85096 => "scancode_time is a reserved parameter and cannot be set",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Transport;

    /// A client whose transport gives a token, then answers every code call with `status`,
    /// `content_type` and `body`.
    fn answering(status: u16, content_type: &'static str, body: &'static str) -> WechatClient {
        let transport = Transport::new(tower::service_fn(move |req: http::Request<Bytes>| {
            let token = req.uri().path() == "/cgi-bin/token";
            async move {
                let res = if token {
                    Response::builder()
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Bytes::from_static(
                            br#"{"access_token":"T","expires_in":7200}"#,
                        ))
                } else {
                    Response::builder()
                        .status(status)
                        .header(header::CONTENT_TYPE, content_type)
                        .body(Bytes::from_static(body.as_bytes()))
                };
                Ok::<_, std::convert::Infallible>(res.unwrap())
            }
        }));
        WechatClient::builder("wxapp", "secret")
            .api_base("https://api.example.test")
            .transport(transport)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn an_answer_that_is_not_an_image_is_never_taken_for_one() {
        let request = UnlimitedCodeRequest::new("s=1").unwrap();
        for (status, content_type, body) in [
            (200, "text/html", "<html>maintenance</html>"),
            (200, "application/octet-stream", "\u{89}PNG"),
            (200, "application/json", r#"{"errcode":0,"errmsg":"ok"}"#),
            (502, "image/png", "\u{89}PNG"),
        ] {
            let client = answering(status, content_type, body);
            let err = client.wxacode().unlimited(&request).await.unwrap_err();
            assert!(
                matches!(err, ClientError::Decode(_)),
                "{status} {content_type}: {err:?}"
            );
        }
        let client = answering(200, "text/plain", r#"{"errcode":45009,"errmsg":"limit"}"#);
        let err = client.wxacode().unlimited(&request).await.unwrap_err();
        assert_eq!(err.errcode(), Some(45009));
    }

    #[test]
    fn scenes_are_checked_before_sending() {
        assert!(UnlimitedCodeRequest::new("a=1&b=2").is_ok());
        assert!(UnlimitedCodeRequest::new("x".repeat(32)).is_ok());
        for bad in ["", "x".repeat(33).as_str(), "a b", "场景", "a\u{0}", "a%20"] {
            let err = UnlimitedCodeRequest::new(bad).unwrap_err();
            assert!(matches!(err, ClientError::Request(_)), "{bad:?}: {err:?}");
        }
    }

    #[test]
    fn pages_and_widths_are_checked() {
        let base = UnlimitedCodeRequest::new("s").unwrap();
        assert!(base.clone().page("pages/a/b").check().is_ok());
        assert!(base.clone().page("/pages/a/b").check().is_err());
        assert!(base.clone().page("pages/a?x=1").check().is_err());
        assert!(base.clone().width(279).check().is_err());
        assert!(base.clone().width(1281).check().is_err());
        assert!(base.width(1280).check().is_ok());
        assert!(WxaQrCodeRequest::new("p".repeat(129)).check().is_err());
        assert!(WxaQrCodeRequest::new("p".repeat(128)).check().is_ok());
        assert!(WxaCodeRequest::new("p".repeat(1025)).check().is_err());
        assert!(WxaCodeRequest::new("").check().is_err());
    }

    #[test]
    fn requests_serialize_as_documented() {
        let request = UnlimitedCodeRequest::new("id=7")
            .unwrap()
            .page("pages/index/index")
            .check_path(false)
            .env_version(EnvVersion::Trial)
            .width(430)
            .auto_color(false)
            .line_color(0, 0, 255)
            .is_hyaline(true);
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({
                "scene": "id=7",
                "page": "pages/index/index",
                "check_path": false,
                "env_version": "trial",
                "width": 430,
                "auto_color": false,
                "line_color": {"r": 0, "g": 0, "b": 255},
                "is_hyaline": true,
            })
        );
        assert_eq!(
            serde_json::to_value(UnlimitedCodeRequest::new("s").unwrap()).unwrap(),
            serde_json::json!({ "scene": "s" })
        );
        assert_eq!(
            serde_json::to_value(WxaCodeRequest::new("pages/a?x=1")).unwrap(),
            serde_json::json!({ "path": "pages/a?x=1" })
        );
    }
}
