//! Messages the app sends on its own initiative: customer-service messages
//! (`cgi-bin/message/custom/send`, within 48 hours of the user's last message), template
//! messages (`cgi-bin/message/template/send`) and subscribe messages
//! (`cgi-bin/message/subscribe/bizsend`; for Mini Programs see
//! [`MiniProgramApi::send_subscribe`](crate::client::MiniProgramApi::send_subscribe)).
//!
//! ```
//! use wechat_tower::client::{CustomMessage, TemplateMessage};
//!
//! let hello = CustomMessage::text("oUser", "Hello");
//! assert_eq!(
//!     serde_json::to_string(&hello)?,
//!     r#"{"touser":"oUser","msgtype":"text","text":{"content":"Hello"}}"#
//! );
//!
//! let shipped = TemplateMessage::new("oUser", "TEMPLATE_ID")
//!     .url("https://example.com/order/1")
//!     .field("thing1", "Your parcel")
//!     .field("time2", "2024-05-01 10:00");
//! assert_eq!(serde_json::to_value(&shipped)?["data"]["thing1"]["value"], "Your parcel");
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::client::error::ClientError;
use crate::client::wechat_client::WechatClient;

/// A customer-service message (客服消息).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomMessage {
    /// The recipient's openid.
    pub touser: String,
    /// The content, tagged by `msgtype`.
    #[serde(flatten)]
    pub body: CustomBody,
    /// Send as this customer-service account (`customservice.kf_account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customservice: Option<KfAccount>,
}

/// `customservice` of a [`CustomMessage`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KfAccount {
    /// `account@gh_id`.
    pub kf_account: String,
}

/// The content of a [`CustomMessage`], as WeChat spells it: `"msgtype":"text","text":{…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
#[non_exhaustive]
pub enum CustomBody {
    /// Text (links as `<a href="…">` allowed).
    Text {
        /// `{"content": …}`.
        text: TextContent,
    },
    /// An image by `media_id`.
    Image {
        /// `{"media_id": …}`.
        image: MediaContent,
    },
    /// One news card (图文, external link).
    News {
        /// `{"articles": [...]}`.
        news: NewsContent,
    },
    /// A Mini Program card.
    Miniprogrampage {
        /// The card.
        miniprogrampage: MiniProgramPage,
    },
}

/// `text` of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextContent {
    /// The text.
    pub content: String,
}

/// A media reference of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaContent {
    /// The media's id (from [`MediaApi::upload`](crate::client::MediaApi::upload)).
    pub media_id: String,
}

/// `news` of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsContent {
    /// The articles (WeChat shows one).
    pub articles: Vec<NewsArticle>,
}

/// One article of a news message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsArticle {
    /// Title.
    pub title: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// The page it opens.
    pub url: String,
    /// Picture URL.
    #[serde(default)]
    pub picurl: String,
}

/// A Mini Program card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniProgramPage {
    /// Title.
    pub title: String,
    /// The Mini Program's app id.
    pub appid: String,
    /// The page path.
    pub pagepath: String,
    /// The cover image's media id.
    pub thumb_media_id: String,
}

impl CustomMessage {
    /// A message with this content.
    #[must_use]
    pub fn new(touser: impl Into<String>, body: CustomBody) -> Self {
        Self {
            touser: touser.into(),
            body,
            customservice: None,
        }
    }

    /// A text message.
    #[must_use]
    pub fn text(touser: impl Into<String>, content: impl Into<String>) -> Self {
        Self::new(
            touser,
            CustomBody::Text {
                text: TextContent {
                    content: content.into(),
                },
            },
        )
    }

    /// An image message.
    #[must_use]
    pub fn image(touser: impl Into<String>, media_id: impl Into<String>) -> Self {
        Self::new(
            touser,
            CustomBody::Image {
                image: MediaContent {
                    media_id: media_id.into(),
                },
            },
        )
    }

    /// A news message with one article.
    #[must_use]
    pub fn news(touser: impl Into<String>, article: NewsArticle) -> Self {
        Self::new(
            touser,
            CustomBody::News {
                news: NewsContent {
                    articles: vec![article],
                },
            },
        )
    }

    /// A Mini Program card.
    #[must_use]
    pub fn mini_program_page(touser: impl Into<String>, page: MiniProgramPage) -> Self {
        Self::new(
            touser,
            CustomBody::Miniprogrampage {
                miniprogrampage: page,
            },
        )
    }

    /// Send as this customer-service account.
    #[must_use]
    pub fn kf_account(mut self, account: impl Into<String>) -> Self {
        self.customservice = Some(KfAccount {
            kf_account: account.into(),
        });
        self
    }
}

/// One value of a template or subscribe message's `data`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataValue {
    /// The value.
    pub value: String,
}

/// A Mini Program a message opens (`miniprogram`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniProgramLink {
    /// The Mini Program's app id.
    pub appid: String,
    /// The page path (with query).
    #[serde(default)]
    pub pagepath: String,
}

/// A template message (模板消息) of an Official Account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct TemplateMessage {
    /// The recipient's openid.
    pub touser: String,
    /// The template.
    pub template_id: String,
    /// The page it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The Mini Program it opens (wins over `url` where supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniProgramLink>,
    /// Your id of the message, to avoid sending it twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// The template's fields.
    pub data: BTreeMap<String, DataValue>,
}

impl TemplateMessage {
    /// A message of `template_id` to `touser`, fields to be added.
    pub fn new(touser: impl Into<String>, template_id: impl Into<String>) -> Self {
        Self {
            touser: touser.into(),
            template_id: template_id.into(),
            url: None,
            miniprogram: None,
            client_msg_id: None,
            data: BTreeMap::new(),
        }
    }

    /// Sets a field of the template (`{{key.DATA}}`).
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(
            key.into(),
            DataValue {
                value: value.into(),
            },
        );
        self
    }

    /// The page the message opens.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// The Mini Program page the message opens.
    pub fn miniprogram(mut self, appid: impl Into<String>, pagepath: impl Into<String>) -> Self {
        self.miniprogram = Some(MiniProgramLink {
            appid: appid.into(),
            pagepath: pagepath.into(),
        });
        self
    }

    /// Your id of the message: WeChat sends a message with the same id once.
    pub fn client_msg_id(mut self, id: impl Into<String>) -> Self {
        self.client_msg_id = Some(id.into());
        self
    }
}

/// A subscribe message (订阅消息): Official Accounts send it with
/// [`MessageApi::send_subscribe`] (`bizsend`), Mini Programs with
/// [`MiniProgramApi::send_subscribe`](crate::client::MiniProgramApi::send_subscribe).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct SubscribeMessage {
    /// The recipient's openid.
    pub touser: String,
    /// The template.
    pub template_id: String,
    /// Official Account: the page it opens; Mini Program: the page path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    /// Official Account: the Mini Program it opens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miniprogram: Option<MiniProgramLink>,
    /// Mini Program: which version opens (`developer`, `trial`, `formal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub miniprogram_state: Option<String>,
    /// Mini Program: language (`zh_CN`, `en_US`, `zh_HK`, `zh_TW`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The template's fields.
    pub data: BTreeMap<String, DataValue>,
}

impl SubscribeMessage {
    /// A message of `template_id` to `touser`, fields to be added.
    pub fn new(touser: impl Into<String>, template_id: impl Into<String>) -> Self {
        Self {
            touser: touser.into(),
            template_id: template_id.into(),
            page: None,
            miniprogram: None,
            miniprogram_state: None,
            lang: None,
            data: BTreeMap::new(),
        }
    }

    /// Sets a field of the template.
    pub fn field(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.data.insert(
            key.into(),
            DataValue {
                value: value.into(),
            },
        );
        self
    }

    /// The page the message opens.
    pub fn page(mut self, page: impl Into<String>) -> Self {
        self.page = Some(page.into());
        self
    }

    /// Official Account: the Mini Program page the message opens.
    pub fn miniprogram(mut self, appid: impl Into<String>, pagepath: impl Into<String>) -> Self {
        self.miniprogram = Some(MiniProgramLink {
            appid: appid.into(),
            pagepath: pagepath.into(),
        });
        self
    }

    /// Mini Program: which version opens (`developer`, `trial`, `formal`).
    pub fn miniprogram_state(mut self, state: impl Into<String>) -> Self {
        self.miniprogram_state = Some(state.into());
        self
    }

    /// Mini Program: the language of the message.
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }
}

#[derive(Deserialize)]
struct MsgIdAnswer {
    msgid: u64,
}

/// Messages of a [`WechatClient`]: `client.message()`.
#[derive(Debug, Clone, Copy)]
pub struct MessageApi<'a> {
    client: &'a WechatClient,
}

impl WechatClient {
    /// Customer-service, template and subscribe messages.
    #[must_use]
    pub fn message(&self) -> MessageApi<'_> {
        MessageApi { client: self }
    }
}

impl MessageApi<'_> {
    /// Sends a customer-service message (`message/custom/send`).
    ///
    /// # Errors
    ///
    /// 45015 outside the 48-hour window, 45047 too many messages, the usual errors.
    pub async fn send_custom(&self, message: &CustomMessage) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>("/cgi-bin/message/custom/send", &[], message)
            .await
            .map(drop)
    }

    /// Sends a template message (`message/template/send`); returns its `msgid`.
    ///
    /// # Errors
    ///
    /// 40037 invalid template id, 43004 user not following, the usual errors.
    pub async fn send_template(&self, message: &TemplateMessage) -> Result<u64, ClientError> {
        let answer: MsgIdAnswer = self
            .client
            .post_json("/cgi-bin/message/template/send", &[], message)
            .await?;
        Ok(answer.msgid)
    }

    /// Sends a subscribe message of an Official Account (`message/subscribe/bizsend`).
    ///
    /// # Errors
    ///
    /// 43101 the user did not subscribe (or used up the subscription), the usual errors.
    pub async fn send_subscribe(&self, message: &SubscribeMessage) -> Result<(), ClientError> {
        self.client
            .post_json::<_, serde::de::IgnoredAny>(
                "/cgi-bin/message/subscribe/bizsend",
                &[],
                message,
            )
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_messages_have_wechats_shape() {
        let news = CustomMessage::news(
            "o1",
            NewsArticle {
                title: "T".into(),
                description: "D".into(),
                url: "https://u".into(),
                picurl: "https://p".into(),
            },
        );
        assert_eq!(
            serde_json::to_string(&news).unwrap(),
            r#"{"touser":"o1","msgtype":"news","news":{"articles":[{"title":"T","description":"D","url":"https://u","picurl":"https://p"}]}}"#
        );
        let card = CustomMessage::mini_program_page(
            "o1",
            MiniProgramPage {
                title: "T".into(),
                appid: "wxa".into(),
                pagepath: "pages/index".into(),
                thumb_media_id: "M".into(),
            },
        )
        .kf_account("kf@gh");
        assert_eq!(
            serde_json::to_string(&card).unwrap(),
            r#"{"touser":"o1","msgtype":"miniprogrampage","miniprogrampage":{"title":"T","appid":"wxa","pagepath":"pages/index","thumb_media_id":"M"},"customservice":{"kf_account":"kf@gh"}}"#
        );
        let image = CustomMessage::image("o1", "MEDIA");
        let back: CustomMessage =
            serde_json::from_str(&serde_json::to_string(&image).unwrap()).unwrap();
        assert_eq!(back, image);
    }

    #[test]
    fn subscribe_messages_omit_what_is_unset() {
        let msg = SubscribeMessage::new("o1", "T")
            .page("pages/a")
            .field("thing1", "x");
        assert_eq!(
            serde_json::to_string(&msg).unwrap(),
            r#"{"touser":"o1","template_id":"T","page":"pages/a","data":{"thing1":{"value":"x"}}}"#
        );
    }
}
