//! Content security (内容安全) of Mini Programs, version 2: text checked at once
//! (`wxa/msg_sec_check`) and images or audio checked asynchronously
//! (`wxa/media_check_async`).
//!
//! Both name the user who wrote the content (`openid`, who must have opened the Mini Program in
//! the last two hours, else 61010) and the scene ([`SecScene`]). The verdict is a
//! [`Suggest`] (`pass`, `review`, `risky`) and a [`Label`] (what kind of problem); both keep
//! values this crate does not know yet ([`Suggest::Unknown`], [`Label::Other`]) instead of
//! failing.
//!
//! An asynchronous check answers a [`TraceId`] at once; the verdict arrives within 30 minutes as
//! the push event `wxa_media_check` (typed by `wechat_core`'s events) carrying the same
//! `trace_id`: keep the id with the content it checks.
//!
//! ```
//! use wechat_tower::client::{MsgSecCheck, SecScene, Suggest, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! let check = MsgSecCheck::new("oUser1", SecScene::Comment, "Nice shop!");
//! let verdict = client.security().msg_sec_check(&check).await?;
//! assert_eq!(verdict.result.suggest, Suggest::Pass);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// Where the content is shown (`scene`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecScene {
    /// 1: a profile (资料): nickname, avatar, signature.
    Profile,
    /// 2: a comment (评论).
    Comment,
    /// 3: a forum post (论坛).
    Forum,
    /// 4: a social log (社交日志).
    SocialLog,
}

impl SecScene {
    /// The number WeChat uses.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Profile => 1,
            Self::Comment => 2,
            Self::Forum => 3,
            Self::SocialLog => 4,
        }
    }
}

impl Serialize for SecScene {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(self.code())
    }
}

/// A request of `msg_sec_check` (version 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct MsgSecCheck {
    content: String,
    version: u8,
    scene: SecScene,
    openid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nickname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<String>,
}

/// The most a `content` may hold: 2 500 characters (WeChat's limit).
pub const MAX_CONTENT_CHARS: usize = 2500;

impl MsgSecCheck {
    /// Check `content` that `openid` wrote for `scene`.
    pub fn new(openid: impl Into<String>, scene: SecScene, content: impl Into<String>) -> Self {
        Self {
            content: content.into(),
            version: 2,
            scene,
            openid: openid.into(),
            title: None,
            nickname: None,
            signature: None,
        }
    }

    /// The title of the content (a post's title), checked with it.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The user's nickname, checked with it.
    pub fn nickname(mut self, nickname: impl Into<String>) -> Self {
        self.nickname = Some(nickname.into());
        self
    }

    /// The user's signature (only in [`SecScene::Profile`]), checked with it.
    pub fn signature(mut self, signature: impl Into<String>) -> Self {
        self.signature = Some(signature.into());
        self
    }

    fn check(&self) -> Result<(), ClientError> {
        if self.content.is_empty() {
            return Err(ClientError::Request("content is empty".into()));
        }
        let chars = self.content.chars().count();
        if chars > MAX_CONTENT_CHARS {
            return Err(ClientError::Request(format!(
                "content is {chars} characters, more than {MAX_CONTENT_CHARS}"
            )));
        }
        check_openid(&self.openid)
    }
}

fn check_openid(openid: &str) -> Result<(), ClientError> {
    if openid.is_empty() {
        return Err(ClientError::Request("openid is empty".into()));
    }
    Ok(())
}

/// What WeChat suggests doing with the content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Suggest {
    /// Show it.
    Pass,
    /// Have a person look at it before showing it.
    Review,
    /// Do not show it.
    Risky,
    /// A suggestion this crate does not know yet: treat it as [`Suggest::Review`].
    #[serde(other)]
    Unknown,
}

/// What kind of problem the content has (`label`). Unknown numbers are kept in
/// [`Label::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u32", into = "u32")]
#[non_exhaustive]
pub enum Label {
    /// 100: normal.
    Normal,
    /// 10001: advertising (广告).
    Ad,
    /// 20001: politics (时政).
    Politics,
    /// 20002: pornography (色情).
    Porn,
    /// 20003: abuse (辱骂).
    Abuse,
    /// 20006: illegal acts (违法犯罪).
    Illegal,
    /// 20008: fraud (欺诈).
    Fraud,
    /// 20012: vulgarity (低俗).
    Vulgar,
    /// 20013: copyright (版权).
    Copyright,
    /// 21000: other (其他).
    OtherRisk,
    /// A number this crate does not know yet.
    Other(u32),
}

impl From<u32> for Label {
    fn from(code: u32) -> Self {
        match code {
            100 => Self::Normal,
            10001 => Self::Ad,
            20001 => Self::Politics,
            20002 => Self::Porn,
            20003 => Self::Abuse,
            20006 => Self::Illegal,
            20008 => Self::Fraud,
            20012 => Self::Vulgar,
            20013 => Self::Copyright,
            21000 => Self::OtherRisk,
            other => Self::Other(other),
        }
    }
}

impl From<Label> for u32 {
    fn from(label: Label) -> Self {
        match label {
            Label::Normal => 100,
            Label::Ad => 10001,
            Label::Politics => 20001,
            Label::Porn => 20002,
            Label::Abuse => 20003,
            Label::Illegal => 20006,
            Label::Fraud => 20008,
            Label::Vulgar => 20012,
            Label::Copyright => 20013,
            Label::OtherRisk => 21000,
            Label::Other(code) => code,
        }
    }
}

/// The overall verdict (`result`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecResult {
    /// What to do.
    pub suggest: Suggest,
    /// The main problem ([`Label::Normal`] when none).
    pub label: Label,
}

/// The verdict of one strategy (`detail[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SecDetail {
    /// The strategy (`content_model`, `keyword`, …).
    #[serde(default)]
    pub strategy: String,
    /// 0 when this strategy ran; else why it did not.
    #[serde(default)]
    pub errcode: i64,
    /// Its suggestion.
    #[serde(default)]
    pub suggest: Option<Suggest>,
    /// Its label.
    #[serde(default)]
    pub label: Option<Label>,
    /// The keyword that matched (strategy `keyword`).
    #[serde(default)]
    pub keyword: Option<String>,
    /// The confidence, 0–90 (strategy `content_model`).
    #[serde(default)]
    pub prob: Option<u32>,
    /// The custom keyword level, when set.
    #[serde(default)]
    pub level: Option<u32>,
}

/// The answer of `msg_sec_check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MsgSecCheckResult {
    /// The overall verdict.
    pub result: SecResult,
    /// Each strategy's verdict.
    #[serde(default)]
    pub detail: Vec<SecDetail>,
    /// The id of this check (for complaints to WeChat).
    #[serde(default)]
    pub trace_id: String,
}

/// The kind of media checked by `media_check_async` (`media_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// 1: audio.
    Audio,
    /// 2: image.
    Image,
}

impl Serialize for MediaKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u8(match self {
            Self::Audio => 1,
            Self::Image => 2,
        })
    }
}

/// A request of `media_check_async` (version 2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct MediaCheck {
    media_url: String,
    media_type: MediaKind,
    version: u8,
    scene: SecScene,
    openid: String,
}

impl MediaCheck {
    /// Check the image or audio at `media_url` (WeChat downloads it) that `openid` posted for
    /// `scene`.
    pub fn new(
        openid: impl Into<String>,
        scene: SecScene,
        media_type: MediaKind,
        media_url: impl Into<String>,
    ) -> Self {
        Self {
            media_url: media_url.into(),
            media_type,
            version: 2,
            scene,
            openid: openid.into(),
        }
    }

    fn check(&self) -> Result<(), ClientError> {
        let url: http::Uri = self
            .media_url
            .parse()
            .map_err(|_| ClientError::Request("media_url is not a URL".into()))?;
        if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
            return Err(ClientError::Request(
                "media_url must be an absolute http(s) URL WeChat can download".into(),
            ));
        }
        check_openid(&self.openid)
    }
}

/// The id of an asynchronous check: the `wxa_media_check` push event with the verdict carries
/// the same `trace_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TraceId(pub String);

impl TraceId {
    /// The id as WeChat wrote it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TraceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Deserialize)]
struct MediaCheckAnswer {
    trace_id: TraceId,
}

/// Content security of a [`WechatClient`]: `client.security()`. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct SecurityApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Content security (内容安全) checks.
    #[must_use]
    pub fn security(&self) -> SecurityApi<'_> {
        SecurityApi { client: self }
    }
}

impl SecurityApi<'_> {
    /// Checks text (`wxa/msg_sec_check`, version 2): the verdict comes in the answer.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for empty content, content over 2 500 characters, or no openid;
    /// [`ClientError::Wechat`] with 40003 (invalid openid), 61010 (the user has not opened the
    /// Mini Program in the last two hours), 40129 (invalid scene), 40097 (invalid
    /// arguments), 44991 (too frequent), the usual errors.
    pub async fn msg_sec_check(
        &self,
        request: &MsgSecCheck,
    ) -> Result<MsgSecCheckResult, ClientError> {
        request.check()?;
        self.client
            .post_json("/wxa/msg_sec_check", &[], request)
            .await
    }

    /// Starts the check of an image or audio (`wxa/media_check_async`, version 2). The verdict
    /// arrives later as the `wxa_media_check` push event with the returned [`TraceId`].
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a `media_url` that is not an absolute http(s) URL, or no
    /// openid; [`ClientError::Wechat`] as [`msg_sec_check`](Self::msg_sec_check).
    pub async fn media_check_async(&self, request: &MediaCheck) -> Result<TraceId, ClientError> {
        request.check()?;
        let answer: MediaCheckAnswer = self
            .client
            .post_json("/wxa/media_check_async", &[], request)
            .await?;
        Ok(answer.trace_id)
    }
}

/// The errors the content security documentation lists (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40129 => "invalid scene (场景值不合法): not 1..=4",
        40097 => "invalid args (参数错误)",
        44991 => "too many requests (超出接口频率限制)",
        61010 => {
            "the user has not opened the Mini Program in the last two hours (用户访问记录超时)"
        }
        87014 => "risky content (内容含有违法违规内容)",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_serialize_as_documented() {
        let check = MsgSecCheck::new("oUser", SecScene::Forum, "hi").title("t");
        assert_eq!(
            serde_json::to_value(&check).unwrap(),
            serde_json::json!({"content": "hi", "version": 2, "scene": 3, "openid": "oUser", "title": "t"})
        );
        let media = MediaCheck::new(
            "oUser",
            SecScene::Profile,
            MediaKind::Image,
            "https://example.com/a.png",
        );
        assert_eq!(
            serde_json::to_value(&media).unwrap(),
            serde_json::json!({"media_url": "https://example.com/a.png", "media_type": 2, "version": 2, "scene": 1, "openid": "oUser"})
        );
    }

    #[test]
    fn bad_requests_are_refused_before_sending() {
        assert!(
            MsgSecCheck::new("o", SecScene::Comment, "")
                .check()
                .is_err()
        );
        assert!(
            MsgSecCheck::new("", SecScene::Comment, "x")
                .check()
                .is_err()
        );
        assert!(
            MsgSecCheck::new("o", SecScene::Comment, "字".repeat(2501))
                .check()
                .is_err()
        );
        assert!(
            MsgSecCheck::new("o", SecScene::Comment, "字".repeat(2500))
                .check()
                .is_ok()
        );
        for url in ["", "/local.png", "file:///etc/passwd", "ftp://x/a.png"] {
            assert!(
                MediaCheck::new("o", SecScene::Comment, MediaKind::Image, url)
                    .check()
                    .is_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn verdicts_tolerate_unknown_values() {
        let answer: MsgSecCheckResult = serde_json::from_str(
            r#"{"errcode":0,"errmsg":"ok","result":{"suggest":"escalate","label":29999},
                "detail":[{"strategy":"content_model","errcode":0,"suggest":"risky","label":20006,"prob":90},
                          {"strategy":"keyword","errcode":0,"suggest":"pass","label":100,"keyword":"x","level":20,"new":1}],
                "trace_id":"60ae120f-371d5872-7941a05b"}"#,
        )
        .unwrap();
        assert_eq!(answer.result.suggest, Suggest::Unknown);
        assert_eq!(answer.result.label, Label::Other(29999));
        assert_eq!(answer.detail[0].label, Some(Label::Illegal));
        assert_eq!(answer.detail[0].prob, Some(90));
        assert_eq!(answer.detail[1].keyword.as_deref(), Some("x"));
        assert_eq!(u32::from(Label::Other(29999)), 29999);
        for code in [
            100, 10001, 20001, 20002, 20003, 20006, 20008, 20012, 20013, 21000,
        ] {
            assert_eq!(u32::from(Label::from(code)), code);
            assert!(!matches!(Label::from(code), Label::Other(_)), "{code}");
        }
    }
}
