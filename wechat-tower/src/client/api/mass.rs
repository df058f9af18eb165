//! Mass messages (群发) of an Official Account: to every follower or the followers of a tag
//! (`cgi-bin/message/mass/sendall`), to a list of openids (`message/mass/send`, 2 to 10 000),
//! a preview to one user (`preview`), deleting a sent article (`delete`), a job's status (`get`)
//! and the sending speed (`speed/get`, `speed/set`).
//!
//! A mass send is a job: WeChat answers at once with its `msg_id` and pushes the result later as
//! the `MASSSENDJOBFINISH` event, typed as
//! [`MassSendJobFinishEvent`](crate::core::message::MassSendJobFinishEvent) for your handlers.
//!
//! Retrying a send is safe with a `clientmsgid` ([`MassMessage::client_msg_id`]): WeChat refuses
//! a second job with the same id for 24 hours (45065) and names the first one; the client turns
//! that answer into [`MassSent`] with [`already_sent`](MassSent::already_sent) set, so a retry
//! after a lost answer neither sends twice nor fails.
//!
//! ```
//! use wechat_tower::client::{MassMessage, WechatClient};
//! use wechat_tower::test_util::mock::MockWechat;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let wechat = MockWechat::start().await?;
//! let client = WechatClient::builder(wechat.app_id(), wechat.app_secret())
//!     .api_base(wechat.base_url())
//!     .build()?;
//!
//! let news = MassMessage::mpnews("MEDIA_ID").ignore_reprint(true).client_msg_id("news-42");
//! let sent = client.mass().send_to_all(&news).await?;
//! // The answer was lost? Send again: the same job comes back.
//! let again = client.mass().send_to_all(&news).await?;
//! assert!(again.already_sent);
//! assert_eq!(again.msg_id, sent.msg_id);
//! # Ok(()) }
//! ```

use serde::{Deserialize, Serialize};

use crate::client::api::message::{MediaContent, TextContent};
use crate::client::api::user::check_openids;
use crate::client::error::ClientError;
use crate::client::wechat_client::{WechatClient, decode};

/// A mass send by openid list takes at least this many openids (40130 otherwise).
pub const MIN_MASS_OPENIDS: usize = 2;
/// … and at most this many.
pub const MAX_MASS_OPENIDS: usize = 10_000;
/// A `clientmsgid` is at most this many bytes (45067 otherwise).
pub const MAX_CLIENT_MSG_ID_BYTES: usize = 64;
/// The fastest sending speed is 0, the slowest 4 (45083 otherwise).
pub const MAX_MASS_SPEED: u8 = 4;

/// The codes WeChat's documentation lists for the mass-send calls (besides the common ones).
pub(crate) fn meaning(code: i64) -> Option<&'static str> {
    Some(match code {
        40007 => "invalid media_id",
        40008 => "invalid message type",
        40130 => "a mass send by openid list needs at least two openids",
        45028 => "no mass-send quota left",
        45065 => "a mass send with this clientmsgid exists (within 24 hours)",
        45066 => "the same clientmsgid retried too fast: wait one minute",
        45067 => "clientmsgid longer than 64 bytes",
        45083 => "speed out of range (0 to 4)",
        45084 => "speed missing",
        48008 => "no permission to send this message type",
        _ => return None,
    })
}

/// What a mass send carries, as WeChat spells it: `"msgtype":"text","text":{…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
#[non_exhaustive]
pub enum MassContent {
    /// Articles (图文) of a permanent material or published draft, by `media_id`.
    Mpnews {
        /// `{"media_id": …}`.
        mpnews: MediaContent,
    },
    /// Text.
    Text {
        /// `{"content": …}`.
        text: TextContent,
    },
    /// A voice by `media_id`.
    Voice {
        /// `{"media_id": …}`.
        voice: MediaContent,
    },
    /// Images (图片消息, one or more).
    Image {
        /// The images.
        images: MassImages,
    },
    /// A video, by the `media_id` of `media/uploadvideo`.
    Mpvideo {
        /// The video.
        mpvideo: MassVideo,
    },
    /// A card and coupon (卡券).
    Wxcard {
        /// `{"card_id": …}`.
        wxcard: CardContent,
    },
}

/// `images` of [`MassContent::Image`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MassImages {
    /// The images' `media_id`s.
    pub media_ids: Vec<String>,
    /// A recommendation text shown with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommend: Option<String>,
    /// 1: comments open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub need_open_comment: Option<u8>,
    /// 1: only followers may comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub only_fans_can_comment: Option<u8>,
}

/// `mpvideo` of [`MassContent::Mpvideo`]; `title` and `description` are shown when sending by
/// openid list.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MassVideo {
    /// The video's `media_id`.
    pub media_id: String,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `wxcard` of [`MassContent::Wxcard`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardContent {
    /// The card's id.
    pub card_id: String,
}

impl MassContent {
    /// Checks what WeChat would refuse for sure: empty ids and texts.
    fn check(&self) -> Result<(), ClientError> {
        let empty = match self {
            Self::Mpnews { mpnews: m } | Self::Voice { voice: m } => m.media_id.is_empty(),
            Self::Text { text } => text.content.is_empty(),
            Self::Image { images } => {
                images.media_ids.is_empty() || images.media_ids.iter().any(String::is_empty)
            }
            Self::Mpvideo { mpvideo } => mpvideo.media_id.is_empty(),
            Self::Wxcard { wxcard } => wxcard.card_id.is_empty(),
        };
        if empty {
            return Err(ClientError::Request(
                "mass message: empty content, media_id or card_id".to_owned(),
            ));
        }
        Ok(())
    }
}

/// A mass message: the content plus the send options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MassMessage {
    /// The content.
    #[serde(flatten)]
    pub content: MassContent,
    /// For `mpnews`: 1 sends even when WeChat judges an article a reprint (转载), 0 stops.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_ignore_reprint: Option<u8>,
    /// Your id of the send, for idempotence (at most 64 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clientmsgid: Option<String>,
}

impl MassMessage {
    /// A message of `content`, no options.
    #[must_use]
    pub fn new(content: MassContent) -> Self {
        Self {
            content,
            send_ignore_reprint: None,
            clientmsgid: None,
        }
    }

    /// Articles (`mpnews`) by `media_id`.
    #[must_use]
    pub fn mpnews(media_id: impl Into<String>) -> Self {
        Self::new(MassContent::Mpnews {
            mpnews: MediaContent {
                media_id: media_id.into(),
            },
        })
    }

    /// Text.
    #[must_use]
    pub fn text(content: impl Into<String>) -> Self {
        Self::new(MassContent::Text {
            text: TextContent {
                content: content.into(),
            },
        })
    }

    /// A voice by `media_id`.
    #[must_use]
    pub fn voice(media_id: impl Into<String>) -> Self {
        Self::new(MassContent::Voice {
            voice: MediaContent {
                media_id: media_id.into(),
            },
        })
    }

    /// Images by `media_id`.
    #[must_use]
    pub fn images<I, S>(media_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(MassContent::Image {
            images: MassImages {
                media_ids: media_ids.into_iter().map(Into::into).collect(),
                ..MassImages::default()
            },
        })
    }

    /// A video by the `media_id` of `media/uploadvideo`.
    #[must_use]
    pub fn mpvideo(media_id: impl Into<String>) -> Self {
        Self::new(MassContent::Mpvideo {
            mpvideo: MassVideo {
                media_id: media_id.into(),
                ..MassVideo::default()
            },
        })
    }

    /// A card and coupon by `card_id`.
    #[must_use]
    pub fn wxcard(card_id: impl Into<String>) -> Self {
        Self::new(MassContent::Wxcard {
            wxcard: CardContent {
                card_id: card_id.into(),
            },
        })
    }

    /// Whether to send articles WeChat judges reprints (`send_ignore_reprint`).
    #[must_use]
    pub fn ignore_reprint(mut self, ignore: bool) -> Self {
        self.send_ignore_reprint = Some(u8::from(ignore));
        self
    }

    /// Your id of this send (`clientmsgid`): a second send with the same id within 24 hours
    /// returns the first job instead of sending again.
    #[must_use]
    pub fn client_msg_id(mut self, id: impl Into<String>) -> Self {
        self.clientmsgid = Some(id.into());
        self
    }

    fn check(&self) -> Result<(), ClientError> {
        self.content.check()?;
        if let Some(id) = &self.clientmsgid
            && (id.is_empty() || id.len() > MAX_CLIENT_MSG_ID_BYTES)
        {
            return Err(ClientError::Request(format!(
                "mass message: clientmsgid has {} bytes, WeChat takes 1 to {MAX_CLIENT_MSG_ID_BYTES}",
                id.len()
            )));
        }
        Ok(())
    }
}

/// A mass-send job that WeChat accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MassSent {
    /// The job's id (for [`MassApi::status`], [`MassApi::delete`] and the
    /// `MASSSENDJOBFINISH` event).
    pub msg_id: u64,
    /// The id of the articles' data, for `mpnews` (statistics).
    #[serde(default)]
    pub msg_data_id: Option<u64>,
    /// True when this answer is WeChat's 45065: a job with the same `clientmsgid` was sent
    /// before, and `msg_id` is that job's.
    #[serde(default)]
    pub already_sent: bool,
}

/// The status of a mass-send job (`msg_status`). Unknown values are kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum MassSendStatus {
    /// `SEND_SUCCESS`.
    SendSuccess,
    /// `SENDING`.
    Sending,
    /// `SEND_FAIL`.
    SendFail,
    /// `DELETE`: deleted after sending.
    Delete,
    /// A status this client does not know yet.
    Other(String),
}

impl From<String> for MassSendStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "SEND_SUCCESS" => Self::SendSuccess,
            "SENDING" => Self::Sending,
            "SEND_FAIL" => Self::SendFail,
            "DELETE" => Self::Delete,
            _ => Self::Other(s),
        }
    }
}

impl From<MassSendStatus> for String {
    fn from(status: MassSendStatus) -> Self {
        match status {
            MassSendStatus::SendSuccess => "SEND_SUCCESS".to_owned(),
            MassSendStatus::Sending => "SENDING".to_owned(),
            MassSendStatus::SendFail => "SEND_FAIL".to_owned(),
            MassSendStatus::Delete => "DELETE".to_owned(),
            MassSendStatus::Other(s) => s,
        }
    }
}

/// The answer of `message/mass/get`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MassStatus {
    /// The job's id.
    pub msg_id: u64,
    /// Its status.
    pub msg_status: MassSendStatus,
}

/// The answer of `message/mass/speed/get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MassSpeed {
    /// The speed level, 0 (fastest, 800 000 per minute) to 4 (100 000 per minute).
    pub speed: u8,
    /// The speed in units of 10 000 messages per minute.
    #[serde(default)]
    pub realspeed: u32,
}

/// Who gets a preview (`message/mass/preview`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewTo {
    /// A follower's openid (`touser`).
    OpenId(String),
    /// A follower's WeChat id (`towxname`; WeChat prefers this over `touser` when both are
    /// set).
    WxName(String),
}

#[derive(Serialize)]
struct Filter {
    is_to_all: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag_id: Option<i64>,
}

#[derive(Serialize)]
struct SendAll<'a> {
    filter: Filter,
    #[serde(flatten)]
    message: &'a MassMessage,
}

#[derive(Serialize)]
struct SendTo<'a> {
    touser: Vec<&'a str>,
    #[serde(flatten)]
    message: &'a MassMessage,
}

#[derive(Serialize)]
struct Preview<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    touser: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    towxname: Option<&'a str>,
    #[serde(flatten)]
    content: &'a MassContent,
}

/// The 45065 answer: an error that names the job sent before.
#[derive(Deserialize)]
struct Duplicate {
    errcode: i64,
    msg_id: Option<u64>,
}

/// Mass messages of a [`WechatClient`]: `client.mass()`. See the [module docs](self).
#[derive(Debug, Clone, Copy)]
pub struct MassApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Mass messages (群发): send by tag, to all or to a list, preview, delete, status, speed.
    #[must_use]
    pub fn mass(&self) -> MassApi<'_> {
        MassApi { client: self }
    }
}

impl MassApi<'_> {
    /// Sends and reads a job's answer; 45065 with a `msg_id` is the job sent before.
    async fn send_job<B: Serialize>(&self, path: &str, body: &B) -> Result<MassSent, ClientError> {
        let req = self
            .client
            .json_request(&self.client.api_url(path, &[]), body)?;
        let res = self.client.send(req, true).await?;
        if let Ok(Duplicate {
            errcode: 45065,
            msg_id: Some(msg_id),
        }) = serde_json::from_slice::<Duplicate>(res.body())
        {
            return Ok(MassSent {
                msg_id,
                msg_data_id: None,
                already_sent: true,
            });
        }
        let mut sent: MassSent = decode(path, res)?;
        sent.already_sent = false;
        Ok(sent)
    }

    /// Sends to every follower (`message/mass/sendall`, `is_to_all`); the articles also appear
    /// in the account's history.
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an empty content or a `clientmsgid` over 64 bytes; 45028 no
    /// quota left, 40007 invalid `media_id`, 45066 the same `clientmsgid` too fast, the usual
    /// errors.
    pub async fn send_to_all(&self, message: &MassMessage) -> Result<MassSent, ClientError> {
        message.check()?;
        let body = SendAll {
            filter: Filter {
                is_to_all: true,
                tag_id: None,
            },
            message,
        };
        self.send_job("/cgi-bin/message/mass/sendall", &body).await
    }

    /// Sends to the followers of a tag (`message/mass/sendall`).
    ///
    /// # Errors
    ///
    /// As [`MassApi::send_to_all`]; an unknown tag.
    pub async fn send_to_tag(
        &self,
        tag_id: i64,
        message: &MassMessage,
    ) -> Result<MassSent, ClientError> {
        message.check()?;
        let body = SendAll {
            filter: Filter {
                is_to_all: false,
                tag_id: Some(tag_id),
            },
            message,
        };
        self.send_job("/cgi-bin/message/mass/sendall", &body).await
    }

    /// Sends to a list of [`MIN_MASS_OPENIDS`] to [`MAX_MASS_OPENIDS`] followers
    /// (`message/mass/send`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for fewer than 2 or more than 10 000 openids, or as
    /// [`MassApi::send_to_all`]; 40003 an openid that is not a follower, the usual errors.
    pub async fn send_to_users<S: AsRef<str>>(
        &self,
        openids: &[S],
        message: &MassMessage,
    ) -> Result<MassSent, ClientError> {
        check_openids(
            "message/mass/send",
            openids,
            MIN_MASS_OPENIDS,
            MAX_MASS_OPENIDS,
        )?;
        message.check()?;
        let body = SendTo {
            touser: openids.iter().map(AsRef::as_ref).collect(),
            message,
        };
        self.send_job("/cgi-bin/message/mass/send", &body).await
    }

    /// Sends `content` to one follower to see how it looks (`message/mass/preview`; 100 a day).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for an empty content or recipient; 40003 not a follower, the
    /// usual errors.
    pub async fn preview(&self, to: &PreviewTo, content: &MassContent) -> Result<(), ClientError> {
        content.check()?;
        let (touser, towxname) = match to {
            PreviewTo::OpenId(openid) => (Some(openid.as_str()), None),
            PreviewTo::WxName(name) => (None, Some(name.as_str())),
        };
        if touser.or(towxname).is_none_or(str::is_empty) {
            return Err(ClientError::Request(
                "message/mass/preview: no recipient".to_owned(),
            ));
        }
        let body = Preview {
            touser,
            towxname,
            content,
        };
        self.client
            .post_json::<_, serde::de::IgnoredAny>("/cgi-bin/message/mass/preview", &[], &body)
            .await
            .map(drop)
    }

    /// Deletes a sent mass message (`message/mass/delete`; within 30 days, articles only):
    /// article `article_idx` (1-based) or, with `None`, all of them.
    ///
    /// # Errors
    ///
    /// The usual errors; an unknown `msg_id`.
    pub async fn delete(&self, msg_id: u64, article_idx: Option<u32>) -> Result<(), ClientError> {
        #[derive(Serialize)]
        struct Body {
            msg_id: u64,
            #[serde(skip_serializing_if = "Option::is_none")]
            article_idx: Option<u32>,
        }
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/message/mass/delete",
                &[],
                &Body {
                    msg_id,
                    article_idx,
                },
            )
            .await
            .map(drop)
    }

    /// The status of a job (`message/mass/get`).
    ///
    /// # Errors
    ///
    /// The usual errors; an unknown `msg_id`.
    pub async fn status(&self, msg_id: u64) -> Result<MassStatus, ClientError> {
        // WeChat's documentation sends the id as a string here.
        self.client
            .post_json(
                "/cgi-bin/message/mass/get",
                &[],
                &serde_json::json!({ "msg_id": msg_id.to_string() }),
            )
            .await
    }

    /// The sending speed (`message/mass/speed/get`).
    ///
    /// # Errors
    ///
    /// The usual errors.
    pub async fn speed(&self) -> Result<MassSpeed, ClientError> {
        self.client
            .post_json(
                "/cgi-bin/message/mass/speed/get",
                &[],
                &serde_json::json!({}),
            )
            .await
    }

    /// Sets the sending speed, 0 (fastest) to [`MAX_MASS_SPEED`] (`message/mass/speed/set`).
    ///
    /// # Errors
    ///
    /// [`ClientError::Request`] for a speed above 4; the usual errors.
    pub async fn set_speed(&self, speed: u8) -> Result<(), ClientError> {
        if speed > MAX_MASS_SPEED {
            return Err(ClientError::Request(format!(
                "message/mass/speed/set: speed {speed}, WeChat takes 0 to {MAX_MASS_SPEED}"
            )));
        }
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/message/mass/speed/set",
                &[],
                &serde_json::json!({ "speed": speed }),
            )
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::api::user::tests::{refreshed_once, refused_locally, setup};

    #[test]
    fn mass_messages_have_wechats_shape() {
        let news = MassMessage::mpnews("M")
            .ignore_reprint(true)
            .client_msg_id("c1");
        let body = SendAll {
            filter: Filter {
                is_to_all: false,
                tag_id: Some(7),
            },
            message: &news,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"filter":{"is_to_all":false,"tag_id":7},"msgtype":"mpnews","mpnews":{"media_id":"M"},"send_ignore_reprint":1,"clientmsgid":"c1"}"#
        );
        let images = MassMessage::images(["A", "B"]);
        let to = SendTo {
            touser: vec!["o1", "o2"],
            message: &images,
        };
        assert_eq!(
            serde_json::to_string(&to).unwrap(),
            r#"{"touser":["o1","o2"],"msgtype":"image","images":{"media_ids":["A","B"]}}"#
        );
        for (message, msgtype) in [
            (MassMessage::text("hi"), "text"),
            (MassMessage::voice("V"), "voice"),
            (MassMessage::mpvideo("V"), "mpvideo"),
            (MassMessage::wxcard("C"), "wxcard"),
        ] {
            let value = serde_json::to_value(&message).unwrap();
            assert_eq!(value["msgtype"], msgtype);
            assert!(value[msgtype].is_object(), "{value}");
            let back: MassMessage = serde_json::from_value(value).unwrap();
            assert_eq!(back, message);
        }
        let status: MassStatus =
            serde_json::from_str(r#"{"msg_id":1,"msg_status":"SEND_LATER","new":1}"#).unwrap();
        assert_eq!(
            status.msg_status,
            MassSendStatus::Other("SEND_LATER".to_owned())
        );
    }

    #[tokio::test]
    async fn mass_sends_by_tag_to_all_and_to_a_list() {
        let (wechat, client) = setup().await;
        let tag = client.tag().create("VIP").await.unwrap();
        let by_tag = client
            .mass()
            .send_to_tag(tag.id, &MassMessage::mpnews("M").ignore_reprint(false))
            .await
            .unwrap();
        assert!(!by_tag.already_sent);
        assert!(by_tag.msg_data_id.is_some());
        let all = client
            .mass()
            .send_to_all(&MassMessage::text("hello"))
            .await
            .unwrap();
        assert_ne!(all.msg_id, by_tag.msg_id);
        let list = client
            .mass()
            .send_to_users(&["oUser1", "oUser2"], &MassMessage::voice("V"))
            .await
            .unwrap();
        let status = client.mass().status(list.msg_id).await.unwrap();
        assert_eq!(status.msg_status, MassSendStatus::SendSuccess);
        client.mass().delete(list.msg_id, Some(1)).await.unwrap();
        assert_eq!(
            client.mass().status(list.msg_id).await.unwrap().msg_status,
            MassSendStatus::Delete
        );
        let body = wechat
            .last_request("/cgi-bin/message/mass/get")
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(body["msg_id"], list.msg_id.to_string());
        assert_eq!(
            client
                .mass()
                .send_to_tag(999, &MassMessage::text("x"))
                .await
                .unwrap_err()
                .errcode(),
            Some(45159)
        );
    }

    #[tokio::test]
    async fn a_repeated_clientmsgid_returns_the_first_job_without_sending_again() {
        let (wechat, client) = setup().await;
        let message = MassMessage::text("sale").client_msg_id("sale-2024-11-11");
        let first = client.mass().send_to_all(&message).await.unwrap();
        // The answer was lost and the caller retries, even to another audience.
        let again = client
            .mass()
            .send_to_users(&["oUser1", "oUser2"], &message)
            .await
            .unwrap();
        assert!(again.already_sent);
        assert_eq!(again.msg_id, first.msg_id);
        assert_eq!(wechat.calls("/cgi-bin/message/mass/send"), 1);
        // A 45065 without a msg_id stays an error.
        wechat.fail_next("/cgi-bin/message/mass/sendall", 1, 45065);
        let err = client
            .mass()
            .send_to_all(&MassMessage::text("x"))
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(45065));
        assert!(err.to_string().contains("clientmsgid"), "{err}");
    }

    #[tokio::test]
    async fn mass_limits_are_checked_before_sending() {
        let (wechat, client) = setup().await;
        let mass = client.mass();
        let send = "/cgi-bin/message/mass/send";
        refused_locally(
            &wechat,
            send,
            mass.send_to_users(&["oUser1"], &MassMessage::text("x"))
                .await,
        );
        let many: Vec<String> = (0..=MAX_MASS_OPENIDS).map(|i| format!("o{i}")).collect();
        refused_locally(
            &wechat,
            send,
            mass.send_to_users(&many, &MassMessage::text("x")).await,
        );
        let sendall = "/cgi-bin/message/mass/sendall";
        let long_id = "x".repeat(MAX_CLIENT_MSG_ID_BYTES + 1);
        refused_locally(
            &wechat,
            sendall,
            mass.send_to_all(&MassMessage::text("x").client_msg_id(long_id))
                .await,
        );
        refused_locally(
            &wechat,
            sendall,
            mass.send_to_all(&MassMessage::text("")).await,
        );
        let no_images: [&str; 0] = [];
        refused_locally(
            &wechat,
            sendall,
            mass.send_to_all(&MassMessage::images(no_images)).await,
        );
        refused_locally(
            &wechat,
            "/cgi-bin/message/mass/speed/set",
            mass.set_speed(MAX_MASS_SPEED + 1).await,
        );
        refused_locally(
            &wechat,
            "/cgi-bin/message/mass/preview",
            mass.preview(
                &PreviewTo::OpenId(String::new()),
                &MassMessage::text("x").content,
            )
            .await,
        );
        // The mock (as WeChat) refuses what slips past: a stranger in the list.
        let err = mass
            .send_to_users(&["oUser1", "oStranger"], &MassMessage::text("x"))
            .await
            .unwrap_err();
        assert_eq!(err.errcode(), Some(40003));
    }

    #[tokio::test]
    async fn previews_and_speed() {
        let (wechat, client) = setup().await;
        let mass = client.mass();
        mass.preview(
            &PreviewTo::OpenId("oUser1".into()),
            &MassMessage::mpnews("M").content,
        )
        .await
        .unwrap();
        mass.preview(
            &PreviewTo::WxName("someone".into()),
            &MassMessage::text("x").content,
        )
        .await
        .unwrap();
        let body = wechat
            .last_request("/cgi-bin/message/mass/preview")
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(body["towxname"], "someone");
        assert!(body.get("touser").is_none());
        assert_eq!(
            mass.preview(
                &PreviewTo::OpenId("oStranger".into()),
                &MassMessage::text("x").content
            )
            .await
            .unwrap_err()
            .errcode(),
            Some(40003)
        );
        assert_eq!(mass.speed().await.unwrap().speed, 0);
        mass.set_speed(3).await.unwrap();
        let speed = mass.speed().await.unwrap();
        assert_eq!((speed.speed, speed.realspeed), (3, 30));
    }

    #[tokio::test]
    async fn mass_refusals_are_typed_with_their_meaning() {
        let (wechat, client) = setup().await;
        let mass = client.mass();
        let text = MassMessage::text("x");
        for (path, code) in [
            ("/cgi-bin/message/mass/sendall", 45028),
            ("/cgi-bin/message/mass/send", 40130),
            ("/cgi-bin/message/mass/preview", 40007),
            ("/cgi-bin/message/mass/delete", 40008),
            ("/cgi-bin/message/mass/get", 45066),
            ("/cgi-bin/message/mass/speed/get", 48008),
            ("/cgi-bin/message/mass/speed/set", 45083),
        ] {
            wechat.fail_next(path, 1, code);
            let result = match path {
                "/cgi-bin/message/mass/sendall" => mass.send_to_all(&text).await.map(drop),
                "/cgi-bin/message/mass/send" => mass
                    .send_to_users(&["oUser1", "oUser2"], &text)
                    .await
                    .map(drop),
                "/cgi-bin/message/mass/preview" => {
                    mass.preview(&PreviewTo::OpenId("oUser1".into()), &text.content)
                        .await
                }
                "/cgi-bin/message/mass/delete" => mass.delete(1, None).await,
                "/cgi-bin/message/mass/get" => mass.status(1).await.map(drop),
                "/cgi-bin/message/mass/speed/get" => mass.speed().await.map(drop),
                _ => mass.set_speed(1).await,
            };
            let err = result.unwrap_err();
            assert_eq!(err.errcode(), Some(code), "{path}");
            assert!(err.wechat().unwrap().meaning().is_some(), "{path}: {err}");
        }
        // The mock's own refusal of an unknown job.
        assert!(mass.status(424_242).await.is_err());
    }

    #[tokio::test]
    async fn every_mass_call_survives_a_refused_token() {
        let (wechat, client) = setup().await;
        let mass = client.mass();
        let sent = mass.send_to_all(&MassMessage::text("x")).await.unwrap();
        let paths = [
            "/cgi-bin/message/mass/send",
            "/cgi-bin/message/mass/preview",
            "/cgi-bin/message/mass/get",
            "/cgi-bin/message/mass/delete",
            "/cgi-bin/message/mass/speed/get",
            "/cgi-bin/message/mass/speed/set",
        ];
        for path in paths {
            let fetches = wechat.token_fetches();
            wechat.fail_next(path, 1, 40001);
            match path {
                "/cgi-bin/message/mass/send" => drop(
                    mass.send_to_users(&["oUser1", "oUser2"], &MassMessage::text("x"))
                        .await
                        .unwrap(),
                ),
                "/cgi-bin/message/mass/preview" => mass
                    .preview(
                        &PreviewTo::OpenId("oUser1".into()),
                        &MassMessage::text("x").content,
                    )
                    .await
                    .unwrap(),
                "/cgi-bin/message/mass/get" => drop(mass.status(sent.msg_id).await.unwrap()),
                "/cgi-bin/message/mass/delete" => mass.delete(sent.msg_id, None).await.unwrap(),
                "/cgi-bin/message/mass/speed/get" => drop(mass.speed().await.unwrap()),
                _ => mass.set_speed(2).await.unwrap(),
            }
            refreshed_once(&wechat, path, fetches);
        }
        // sendall with a clientmsgid: the retry after the refused token is not a duplicate.
        let fetches = wechat.token_fetches();
        wechat.fail_next("/cgi-bin/message/mass/sendall", 1, 40001);
        let again = mass
            .send_to_all(&MassMessage::text("y").client_msg_id("once"))
            .await
            .unwrap();
        assert!(!again.already_sent);
        assert_eq!(wechat.token_fetches(), fetches + 1);
    }
}
