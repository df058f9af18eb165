//! Every message and event WeChat pushes to an Official Account (and the Mini Program
//! customer-service messages), typed.
//!
//! [`Message::from_xml`] reads the plaintext XML (after safe-mode decryption) into a [`Message`]:
//! one variant per `MsgType`, events in [`Event`] with one variant per `Event`. Anything WeChat adds
//! later parses to [`Message::Unknown`] or [`Event::Unknown`] with the raw XML kept, and unknown
//! elements are ignored, so a new WeChat feature never turns into an error.
//!
//! ```
//! use wechat_core::{Message, message::Event};
//!
//! let xml = "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>\
//!            <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
//!            <Content><![CDATA[你好]]></Content><MsgId>6054768590064713728</MsgId></xml>";
//! match Message::from_xml(xml)? {
//!     Message::Text(text) => {
//!         assert_eq!(text.content, "你好");
//!         assert_eq!(text.header.from_user_name, "oUser");
//!         assert_eq!(text.header.msg_id, Some(6054768590064713728));
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//!
//! let click = "<xml><ToUserName>gh_1</ToUserName><FromUserName>oUser</FromUserName>\
//!              <CreateTime>1</CreateTime><MsgType>event</MsgType><Event>CLICK</Event><EventKey>V1001</EventKey></xml>";
//! let msg = Message::from_xml(click)?;
//! assert_eq!(msg.event_key(), Some("V1001"));
//! assert!(matches!(msg, Message::Event(Event::Click(_))));
//! # Ok::<(), wechat_core::Error>(())
//! ```

mod event;
mod fields;
mod kinds;
mod normal;

pub use event::{
    ArticleUrlItem, ArticleUrlResult, ClickEvent, CopyrightCheckItem, CopyrightCheckResult, Event,
    LocationEvent, LocationSelectEvent, MassSendJobFinishEvent, PicPhotoOrAlbumEvent,
    PicSysphotoEvent, PicWeixinEvent, PublishArticle, PublishJobFinishEvent, PublishStatus,
    ScanCodeInfo, ScanEvent, ScancodePushEvent, ScancodeWaitmsgEvent, SendLocationInfo,
    SendPicsInfo, SubscribeEvent, SubscribeMsgChangeEvent, SubscribeMsgChangeItem,
    SubscribeMsgPopupEvent, SubscribeMsgPopupItem, SubscribeMsgSentEvent, SubscribeMsgSentItem,
    TemplateSendJobFinishEvent, UnknownEvent, UnsubscribeEvent, UserEnterTempsessionEvent,
    ViewEvent, ViewMiniprogramEvent, WxaMediaCheckDetail, WxaMediaCheckEvent, WxaMediaCheckResult,
};
pub use normal::{
    FileMessage, ImageMessage, LinkMessage, LocationMessage, MiniProgramPageMessage,
    ShortVideoMessage, TextMessage, UnknownMessage, VideoMessage, VoiceMessage,
};

use crate::error::{Error, ErrorKind, Result};
use crate::xml::{Document, Element};
use fields::Fields;

/// The fields every message and event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `ToUserName`: the Official Account's original id (`gh_…`) or the Mini Program's.
    pub to_user_name: String,
    /// `FromUserName`: the sender's OpenID.
    pub from_user_name: String,
    /// `CreateTime`: seconds since the Unix epoch.
    pub create_time: u64,
    /// `MsgId` of a message, or `MsgID` of a job-finish event; `None` for other events.
    /// It can exceed 2^53, so it is never a float.
    pub msg_id: Option<u64>,
}

impl Header {
    fn read(el: Element<'_, '_>) -> Result<Self> {
        let msg_id = match el.child_text("MsgId").or_else(|| el.child_text("MsgID")) {
            Some(id) => Some(
                id.trim()
                    .parse()
                    .map_err(|_| ErrorKind::InvalidField("MsgId"))?,
            ),
            None => None,
        };
        Ok(Self {
            to_user_name: el.required("ToUserName")?,
            from_user_name: el.required("FromUserName")?,
            create_time: el.number("CreateTime")?,
            msg_id,
        })
    }
}

macro_rules! define_message {
    (
        messages { $(($name:literal, $variant:ident, $ty:ident, $check:ident),)* }
        events { $($events:tt)* }
    ) => {
        /// A message or event pushed by WeChat. See the [module docs](self).
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Message {
            $(
                #[doc = concat!("`MsgType` `", $name, "`: see [`", stringify!($ty), "`].")]
                $variant($ty),
            )*
            /// `MsgType` `event`.
            Event(Event),
            /// Any other `MsgType`, kept raw.
            Unknown(UnknownMessage),
        }

        impl Message {
            /// Parses the plaintext XML of a message or event.
            ///
            /// # Errors
            ///
            /// XML errors for malformed input (see [`crate::xml`]), [`ErrorKind::MissingField`]
            /// when a header field or the main field of the type is absent,
            /// [`ErrorKind::InvalidField`] when a number is not one. Unknown types and unknown
            /// elements are not errors.
            pub fn from_xml(xml: &str) -> Result<Self> {
                let doc = Document::parse(xml)?;
                Self::from_element(doc.root(), xml)
            }

            /// [`Message::from_xml`] on bytes that must be UTF-8.
            ///
            /// # Errors
            ///
            /// [`ErrorKind::InvalidUtf8`], or any error of [`Message::from_xml`].
            pub fn from_bytes(xml: &[u8]) -> Result<Self> {
                let xml =
                    std::str::from_utf8(xml).map_err(|_| Error::from(ErrorKind::InvalidUtf8))?;
                Self::from_xml(xml)
            }

            /// Reads a message from the root element of a parsed document; `raw` is kept by the
            /// `Unknown` variants.
            ///
            /// # Errors
            ///
            /// As [`Message::from_xml`].
            pub fn from_element(root: Element<'_, '_>, raw: &str) -> Result<Self> {
                let msg_type = root
                    .child_text("MsgType")
                    .ok_or(ErrorKind::MissingField("MsgType"))?;
                let header = Header::read(root)?;
                let is = |name: &str| msg_type.eq_ignore_ascii_case(name);
                $(
                    if is($name) {
                        return Ok(Self::$variant($ty::read(header, root)?));
                    }
                )*
                Ok(if is("event") {
                    Self::Event(Event::read(header, root, raw)?)
                } else {
                    Self::Unknown(UnknownMessage {
                        header,
                        msg_type: msg_type.to_owned(),
                        raw: raw.to_owned(),
                    })
                })
            }

            /// The common header.
            #[must_use]
            pub fn header(&self) -> &Header {
                match self {
                    $(Self::$variant(m) => &m.header,)*
                    Self::Event(e) => e.header(),
                    Self::Unknown(m) => &m.header,
                }
            }

            /// `MsgType` as WeChat spells it (`text`, `event`, ...).
            #[must_use]
            pub fn msg_type(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $name,)*
                    Self::Event(_) => "event",
                    Self::Unknown(m) => &m.msg_type,
                }
            }
        }
    };
}

crate::__for_each_kind!(define_message);

impl Message {
    /// The event, for `MsgType` `event`.
    #[must_use]
    pub fn as_event(&self) -> Option<&Event> {
        match self {
            Self::Event(e) => Some(e),
            _ => None,
        }
    }

    /// `EventKey` of an event that carries one.
    #[must_use]
    pub fn event_key(&self) -> Option<&str> {
        self.as_event().and_then(Event::event_key)
    }
}
