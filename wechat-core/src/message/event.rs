//! Events (事件推送): `MsgType` `event`, one type per `Event`.

use super::fields::{FINITE, LATITUDE, LONGITUDE};
use super::{Fields, Header};
use crate::error::Result;
use crate::xml::Element;

macro_rules! define_event {
    (
        messages { $($messages:tt)* }
        events { $(($name:literal, $variant:ident, $ty:ident, $check:ident, $keyed:ident),)* }
    ) => {
        /// An event, by its `Event` value. Names match case-insensitively, as some platforms
        /// lower-case them; [`Event::event`] gives WeChat's own spelling.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum Event {
            $(
                #[doc = concat!("`", $name, "`: see [`", stringify!($ty), "`].")]
                $variant($ty),
            )*
            /// Any other event, kept raw.
            Unknown(UnknownEvent),
        }

        impl Event {
            pub(super) fn read(header: Header, el: Element<'_, '_>, raw: &str) -> Result<Self> {
                let event = el.child_text("Event").unwrap_or_default();
                $(
                    if event.eq_ignore_ascii_case($name) {
                        return Ok(Self::$variant($ty::read(header, el)?));
                    }
                )*
                Ok(Self::Unknown(UnknownEvent {
                    header,
                    event: event.to_owned(),
                    event_key: el.optional("EventKey"),
                    raw: raw.to_owned(),
                }))
            }

            /// The common header.
            #[must_use]
            pub fn header(&self) -> &Header {
                match self {
                    $(Self::$variant(e) => &e.header,)*
                    Self::Unknown(e) => &e.header,
                }
            }

            /// `Event` as WeChat spells it (`subscribe`, `SCAN`, `CLICK`, `scancode_push`, ...).
            #[must_use]
            pub fn event(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $name,)*
                    Self::Unknown(e) => &e.event,
                }
            }

            /// `EventKey`, for the events that carry one (menu keys, QR scenes, page paths).
            #[must_use]
            pub fn event_key(&self) -> Option<&str> {
                match self {
                    $(Self::$variant(e) => event_key!($keyed, e),)*
                    Self::Unknown(e) => e.event_key.as_deref(),
                }
            }
        }
    };
}

/// The `EventKey` of a `keyed` event (its `event_key` field), `None` for a `keyless` one.
macro_rules! event_key {
    (keyed, $e:ident) => {
        KeyField::key(&$e.event_key)
    };
    (keyless, $e:ident) => {{
        let _ = $e;
        None
    }};
}

crate::__for_each_kind!(define_event);

/// An `event_key` field: required (`String`) or optional (`Option<String>`).
trait KeyField {
    fn key(&self) -> Option<&str>;
}

impl KeyField for String {
    fn key(&self) -> Option<&str> {
        Some(self)
    }
}

impl KeyField for Option<String> {
    fn key(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// Reads every `<List>` under `<container>` (WeChat repeats `List` once per item, and sends a
/// single item without any array marker).
fn list<T>(
    el: Element<'_, '_>,
    container: &str,
    read: impl Fn(Element<'_, '_>) -> Result<T>,
) -> Result<Vec<T>> {
    el.child(container).map_or_else(
        || Ok(Vec::new()),
        |c| {
            c.children()
                .filter(|i| i.name() == "List")
                .map(read)
                .collect()
        },
    )
}

/// Reads every `<item>` under `<container>` of `el`.
fn items<T>(
    el: Element<'_, '_>,
    container: &str,
    read: impl Fn(Element<'_, '_>) -> Result<T>,
) -> Result<Vec<T>> {
    el.child(container).map_or_else(
        || Ok(Vec::new()),
        |c| {
            c.children()
                .filter(|i| i.name() == "item")
                .map(read)
                .collect()
        },
    )
}

/// `subscribe`. See [`SubscribeEvent::scene`] for QR-code follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: `qrscene_<scene>` after a QR-code follow; absent (or other values, e.g.
    /// `last_trade_no_…` after a payment) otherwise.
    pub event_key: Option<String>,
    /// `Ticket` of the QR code, after a QR-code follow.
    pub ticket: Option<String>,
}

impl SubscribeEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.optional("EventKey"),
            ticket: el.optional("Ticket"),
        })
    }
}

impl SubscribeEvent {
    /// The QR-code scene (the `EventKey` after `qrscene_`), when the user followed by scanning a
    /// parametric QR code.
    ///
    /// ```
    /// # use wechat_core::message::{Header, SubscribeEvent};
    /// # let header = Header { to_user_name: "gh".into(), from_user_name: "o".into(), create_time: 1, msg_id: None };
    /// let ev = SubscribeEvent { header, event_key: Some("qrscene_123123".into()), ticket: Some("T".into()) };
    /// assert_eq!(ev.scene(), Some("123123"));
    /// ```
    #[must_use]
    pub fn scene(&self) -> Option<&str> {
        self.event_key.as_deref()?.strip_prefix("qrscene_")
    }
}

/// `unsubscribe`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeEvent {
    /// The common header.
    pub header: Header,
}

impl UnsubscribeEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        let _ = el;
        Ok(Self { header })
    }
}

/// `SCAN`: a follower scanned a parametric QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the scene value (no `qrscene_` prefix here).
    pub event_key: String,
    /// `Ticket` of the QR code.
    pub ticket: Option<String>,
}

impl ScanEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.required("EventKey")?,
            ticket: el.optional("Ticket"),
        })
    }
}

/// `LOCATION`: the location a follower's client reported. Latitude and longitude are finite and
/// on the globe, `Precision` finite; anything else (`NaN`, `inf`, `1e309`) is refused with
/// [`ErrorKind::InvalidField`](crate::ErrorKind::InvalidField) naming the field.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationEvent {
    /// The common header.
    pub header: Header,
    /// `Latitude`.
    pub latitude: f64,
    /// `Longitude`.
    pub longitude: f64,
    /// `Precision` in metres.
    pub precision: f64,
}

impl LocationEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            latitude: el.float_in("Latitude", LATITUDE)?,
            longitude: el.float_in("Longitude", LONGITUDE)?,
            precision: el
                .optional_float_in("Precision", FINITE)?
                .unwrap_or_default(),
        })
    }
}

/// `CLICK`: a `click` menu button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the button's `key`.
    pub event_key: String,
}

impl ClickEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.required("EventKey")?,
        })
    }
}

/// `VIEW`: a `view` menu button opened a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the URL.
    pub event_key: String,
    /// `MenuId`: the personalised menu's id, if any.
    pub menu_id: Option<String>,
}

impl ViewEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.required("EventKey")?,
            menu_id: el.optional("MenuId"),
        })
    }
}

/// The scanned code of a `scancode_*` event (`ScanCodeInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanCodeInfo {
    /// `ScanType`: `qrcode`, `barcode`, ...
    pub scan_type: String,
    /// `ScanResult`: the code's content.
    pub scan_result: String,
}

impl ScanCodeInfo {
    fn read(el: Element<'_, '_>) -> Result<Self> {
        let info = el.child("ScanCodeInfo");
        Ok(Self {
            scan_type: info.map(|i| i.or_empty("ScanType")).unwrap_or_default(),
            scan_result: info.map(|i| i.or_empty("ScanResult")).unwrap_or_default(),
        })
    }
}

/// `scancode_push`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScancodePushEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the button's `key`.
    pub event_key: String,
    /// `ScanCodeInfo`.
    pub scan_code_info: ScanCodeInfo,
}

impl ScancodePushEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.or_empty("EventKey"),
            scan_code_info: ScanCodeInfo::read(el)?,
        })
    }
}

/// `scancode_waitmsg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScancodeWaitmsgEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the button's `key`.
    pub event_key: String,
    /// `ScanCodeInfo`.
    pub scan_code_info: ScanCodeInfo,
}

impl ScancodeWaitmsgEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.or_empty("EventKey"),
            scan_code_info: ScanCodeInfo::read(el)?,
        })
    }
}

/// The pictures of a `pic_*` event (`SendPicsInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendPicsInfo {
    /// `Count`.
    pub count: u32,
    /// `PicList/item/PicMd5Sum`, one per picture.
    pub pic_md5_sums: Vec<String>,
}

impl SendPicsInfo {
    fn read(el: Element<'_, '_>) -> Result<Self> {
        let Some(info) = el.child("SendPicsInfo") else {
            return Ok(Self {
                count: 0,
                pic_md5_sums: Vec::new(),
            });
        };
        Ok(Self {
            count: info.optional_number("Count")?.unwrap_or_default(),
            pic_md5_sums: items(info, "PicList", |item| Ok(item.or_empty("PicMd5Sum")))?,
        })
    }
}

/// `pic_sysphoto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicSysphotoEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the button's `key`.
    pub event_key: String,
    /// `SendPicsInfo`.
    pub send_pics_info: SendPicsInfo,
}

impl PicSysphotoEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.or_empty("EventKey"),
            send_pics_info: SendPicsInfo::read(el)?,
        })
    }
}

/// `pic_photo_or_album`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicPhotoOrAlbumEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the button's `key`.
    pub event_key: String,
    /// `SendPicsInfo`.
    pub send_pics_info: SendPicsInfo,
}

impl PicPhotoOrAlbumEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.or_empty("EventKey"),
            send_pics_info: SendPicsInfo::read(el)?,
        })
    }
}

/// `pic_weixin`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicWeixinEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the button's `key`.
    pub event_key: String,
    /// `SendPicsInfo`.
    pub send_pics_info: SendPicsInfo,
}

impl PicWeixinEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.or_empty("EventKey"),
            send_pics_info: SendPicsInfo::read(el)?,
        })
    }
}

/// The chosen place of a `location_select` event (`SendLocationInfo`). The coordinates are
/// checked as in [`LocationEvent`].
#[derive(Debug, Clone, PartialEq)]
pub struct SendLocationInfo {
    /// `Location_X`: latitude.
    pub latitude: f64,
    /// `Location_Y`: longitude.
    pub longitude: f64,
    /// `Scale`: the map zoom level.
    pub scale: u32,
    /// `Label`: the address.
    pub label: String,
    /// `Poiname`: the point of interest, often empty.
    pub poiname: String,
}

impl SendLocationInfo {
    fn read(el: Element<'_, '_>) -> Result<Self> {
        let info = el
            .child("SendLocationInfo")
            .ok_or(crate::ErrorKind::MissingField("SendLocationInfo"))?;
        Ok(Self {
            latitude: info.float_in("Location_X", LATITUDE)?,
            longitude: info.float_in("Location_Y", LONGITUDE)?,
            scale: info.optional_number("Scale")?.unwrap_or_default(),
            label: info.or_empty("Label"),
            poiname: info.or_empty("Poiname"),
        })
    }
}

/// `location_select`.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationSelectEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the button's `key`.
    pub event_key: String,
    /// `SendLocationInfo`.
    pub send_location_info: SendLocationInfo,
}

impl LocationSelectEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.or_empty("EventKey"),
            send_location_info: SendLocationInfo::read(el)?,
        })
    }
}

/// `view_miniprogram`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewMiniprogramEvent {
    /// The common header.
    pub header: Header,
    /// `EventKey`: the Mini Program page path.
    pub event_key: String,
    /// `MenuId`: the personalised menu's id, if any.
    pub menu_id: Option<String>,
}

impl ViewMiniprogramEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            event_key: el.required("EventKey")?,
            menu_id: el.optional("MenuId"),
        })
    }
}

/// `TEMPLATESENDJOBFINISH`. The job's id is [`Header::msg_id`] (WeChat's `MsgID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSendJobFinishEvent {
    /// The common header.
    pub header: Header,
    /// `Status`: `success`, `failed:user block`, `failed: system failed`.
    pub status: String,
}

impl TemplateSendJobFinishEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            status: el.or_empty("Status"),
        })
    }
}

/// `MASSSENDJOBFINISH`. The job's id is [`Header::msg_id`] (WeChat's `MsgID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MassSendJobFinishEvent {
    /// The common header.
    pub header: Header,
    /// `Status`: `send success`, `send fail`, `err(<code>)`.
    pub status: String,
    /// `TotalCount`.
    pub total_count: u64,
    /// `FilterCount`.
    pub filter_count: u64,
    /// `SentCount`.
    pub sent_count: u64,
    /// `ErrorCount`.
    pub error_count: u64,
    /// `CopyrightCheckResult` (原创校验), when present.
    pub copyright_check_result: Option<CopyrightCheckResult>,
    /// `ArticleUrlResult`, when present.
    pub article_url_result: Option<ArticleUrlResult>,
}

impl MassSendJobFinishEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        let copyright_check_result = match el.child("CopyrightCheckResult") {
            None => None,
            Some(c) => Some(CopyrightCheckResult {
                count: c.optional_number("Count")?.unwrap_or_default(),
                check_state: c.optional_number("CheckState")?.unwrap_or_default(),
                items: items(c, "ResultList", |i| {
                    Ok(CopyrightCheckItem {
                        article_idx: i.optional_number("ArticleIdx")?.unwrap_or_default(),
                        user_declare_state: i
                            .optional_number("UserDeclareState")?
                            .unwrap_or_default(),
                        audit_state: i.optional_number("AuditState")?.unwrap_or_default(),
                        original_article_url: i.or_empty("OriginalArticleUrl"),
                        original_article_type: i
                            .optional_number("OriginalArticleType")?
                            .unwrap_or_default(),
                        can_reprint: i.optional_number("CanReprint")?.unwrap_or_default(),
                        need_replace_content: i
                            .optional_number("NeedReplaceContent")?
                            .unwrap_or_default(),
                        need_show_reprint_source: i
                            .optional_number("NeedShowReprintSource")?
                            .unwrap_or_default(),
                    })
                })?,
            }),
        };
        let article_url_result = match el.child("ArticleUrlResult") {
            None => None,
            Some(a) => Some(ArticleUrlResult {
                count: a.optional_number("Count")?.unwrap_or_default(),
                items: items(a, "ResultList", |i| {
                    Ok(ArticleUrlItem {
                        article_idx: i.optional_number("ArticleIdx")?.unwrap_or_default(),
                        article_url: i.or_empty("ArticleUrl"),
                    })
                })?,
            }),
        };
        Ok(Self {
            header,
            status: el.or_empty("Status"),
            total_count: el.optional_number("TotalCount")?.unwrap_or_default(),
            filter_count: el.optional_number("FilterCount")?.unwrap_or_default(),
            sent_count: el.optional_number("SentCount")?.unwrap_or_default(),
            error_count: el.optional_number("ErrorCount")?.unwrap_or_default(),
            copyright_check_result,
            article_url_result,
        })
    }
}

/// `CopyrightCheckResult` of a broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyrightCheckResult {
    /// `Count`.
    pub count: u32,
    /// `CheckState`: 1 checking, 2 passed, 3 failed.
    pub check_state: u32,
    /// `ResultList/item`.
    pub items: Vec<CopyrightCheckItem>,
}

/// One article's copyright check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyrightCheckItem {
    /// `ArticleIdx`, from 1.
    pub article_idx: u32,
    /// `UserDeclareState`.
    pub user_declare_state: u32,
    /// `AuditState`.
    pub audit_state: u32,
    /// `OriginalArticleUrl`.
    pub original_article_url: String,
    /// `OriginalArticleType`.
    pub original_article_type: u32,
    /// `CanReprint`.
    pub can_reprint: u32,
    /// `NeedReplaceContent`.
    pub need_replace_content: u32,
    /// `NeedShowReprintSource`.
    pub need_show_reprint_source: u32,
}

/// `ArticleUrlResult` of a broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleUrlResult {
    /// `Count`.
    pub count: u32,
    /// `ResultList/item`.
    pub items: Vec<ArticleUrlItem>,
}

/// One article's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArticleUrlItem {
    /// `ArticleIdx`, from 1.
    pub article_idx: u32,
    /// `ArticleUrl`.
    pub article_url: String,
}

/// `subscribe_msg_popup_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMsgPopupEvent {
    /// The common header.
    pub header: Header,
    /// The answers, one per template the prompt offered (`SubscribeMsgPopupEvent/List`).
    pub items: Vec<SubscribeMsgPopupItem>,
}

impl SubscribeMsgPopupEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            items: list(el, "SubscribeMsgPopupEvent", |item| {
                Ok(SubscribeMsgPopupItem {
                    template_id: item.required("TemplateId")?,
                    subscribe_status_string: item.or_empty("SubscribeStatusString"),
                    popup_scene: item.optional_number("PopupScene")?.unwrap_or_default(),
                })
            })?,
        })
    }
}

/// One answer of a subscribe-message prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMsgPopupItem {
    /// `TemplateId`.
    pub template_id: String,
    /// `SubscribeStatusString`: `accept` or `reject`.
    pub subscribe_status_string: String,
    /// `PopupScene`: 1 on a phone, 2 in an article, ...
    pub popup_scene: u32,
}

/// `subscribe_msg_change_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMsgChangeEvent {
    /// The common header.
    pub header: Header,
    /// The changes (`SubscribeMsgChangeEvent/List`).
    pub items: Vec<SubscribeMsgChangeItem>,
}

impl SubscribeMsgChangeEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            items: list(el, "SubscribeMsgChangeEvent", |item| {
                Ok(SubscribeMsgChangeItem {
                    template_id: item.required("TemplateId")?,
                    subscribe_status_string: item.or_empty("SubscribeStatusString"),
                })
            })?,
        })
    }
}

/// One changed subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMsgChangeItem {
    /// `TemplateId`.
    pub template_id: String,
    /// `SubscribeStatusString`: `reject` when the user turned it off.
    pub subscribe_status_string: String,
}

/// `subscribe_msg_sent_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMsgSentEvent {
    /// The common header.
    pub header: Header,
    /// The deliveries (`SubscribeMsgSentEvent/List`).
    pub items: Vec<SubscribeMsgSentItem>,
}

impl SubscribeMsgSentEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            items: list(el, "SubscribeMsgSentEvent", |item| {
                Ok(SubscribeMsgSentItem {
                    template_id: item.required("TemplateId")?,
                    msg_id: item.optional_number("MsgID")?.unwrap_or_default(),
                    error_code: item.optional_number("ErrorCode")?.unwrap_or_default(),
                    error_status: item.or_empty("ErrorStatus"),
                })
            })?,
        })
    }
}

/// One delivered subscribe message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscribeMsgSentItem {
    /// `TemplateId`.
    pub template_id: String,
    /// `MsgID` of the sent message.
    pub msg_id: u64,
    /// `ErrorCode`: 0 on success.
    pub error_code: i64,
    /// `ErrorStatus`.
    pub error_status: String,
}

/// `user_enter_tempsession`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEnterTempsessionEvent {
    /// The common header.
    pub header: Header,
    /// `SessionFrom`: the `session-from` of the contact button.
    pub session_from: String,
}

impl UserEnterTempsessionEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            session_from: el.or_empty("SessionFrom"),
        })
    }
}

/// `PUBLISHJOBFINISH`: the result of a `freepublish/submit` (发布能力), pushed when the job
/// ends. `publish_id` is what the submit answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishJobFinishEvent {
    /// The common header.
    pub header: Header,
    /// `PublishEventInfo/publish_id`.
    pub publish_id: String,
    /// `PublishEventInfo/publish_status`.
    pub publish_status: PublishStatus,
    /// `PublishEventInfo/article_id`, on success: what `freepublish/getarticle` takes.
    pub article_id: Option<String>,
    /// `PublishEventInfo/article_detail/item`, on success: each article's URL.
    pub articles: Vec<PublishArticle>,
    /// `PublishEventInfo/fail_idx`: the articles (1-based) that failed the originality check or
    /// the review.
    pub fail_idx: Vec<u32>,
}

impl PublishJobFinishEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        let info = el.child("PublishEventInfo").ok_or_else(|| {
            crate::Error::from(crate::ErrorKind::MissingField("PublishEventInfo"))
        })?;
        let articles = match info.child("article_detail") {
            None => Vec::new(),
            Some(detail) => detail
                .children()
                .filter(|i| i.name() == "item")
                .map(|i| {
                    Ok(PublishArticle {
                        idx: i.optional_number("idx")?.unwrap_or_default(),
                        article_url: i.or_empty("article_url"),
                    })
                })
                .collect::<Result<_>>()?,
        };
        let fail_idx = info
            .children()
            .filter(|i| i.name() == "fail_idx")
            .map(|i| {
                i.text()
                    .trim()
                    .parse()
                    .map_err(|_| crate::Error::from(crate::ErrorKind::InvalidField("fail_idx")))
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            header,
            publish_id: info.required("publish_id")?,
            publish_status: PublishStatus::from_code(info.number("publish_status")?),
            article_id: info.optional("article_id"),
            articles,
            fail_idx,
        })
    }
}

/// Where a publish job stands (`publish_status`): in the `PUBLISHJOBFINISH` event and in the
/// answer of `freepublish/get` (which can also say [`Publishing`](Self::Publishing)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(from = "i64", into = "i64")]
#[non_exhaustive]
pub enum PublishStatus {
    /// 0: published (发布成功).
    Published,
    /// 1: still publishing (发布中); only `freepublish/get` says so, the event comes at the end.
    Publishing,
    /// 2: the originality check failed (原创失败).
    OriginalityFailed,
    /// 3: the job failed (常规失败).
    Failed,
    /// 4: refused by the platform's review (平台审核不通过).
    ReviewRefused,
    /// 5: published, then every article was deleted by the user.
    DeletedByUser,
    /// 6: published, then every article was banned by the platform (封禁).
    Banned,
    /// Any other code, kept.
    Other(i64),
}

impl PublishStatus {
    /// The status of a `publish_status` code.
    #[must_use]
    pub fn from_code(code: i64) -> Self {
        match code {
            0 => Self::Published,
            1 => Self::Publishing,
            2 => Self::OriginalityFailed,
            3 => Self::Failed,
            4 => Self::ReviewRefused,
            5 => Self::DeletedByUser,
            6 => Self::Banned,
            other => Self::Other(other),
        }
    }

    /// The `publish_status` code.
    #[must_use]
    pub fn code(self) -> i64 {
        match self {
            Self::Published => 0,
            Self::Publishing => 1,
            Self::OriginalityFailed => 2,
            Self::Failed => 3,
            Self::ReviewRefused => 4,
            Self::DeletedByUser => 5,
            Self::Banned => 6,
            Self::Other(code) => code,
        }
    }

    /// Whether the job has ended (every status but [`Publishing`](Self::Publishing)).
    #[must_use]
    pub fn is_final(self) -> bool {
        self != Self::Publishing
    }
}

impl From<i64> for PublishStatus {
    fn from(code: i64) -> Self {
        Self::from_code(code)
    }
}

impl From<PublishStatus> for i64 {
    fn from(status: PublishStatus) -> Self {
        status.code()
    }
}

/// One published article (`article_detail/item`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishArticle {
    /// `idx`: its place in the draft, from 1.
    pub idx: u32,
    /// `article_url`: its permanent link.
    pub article_url: String,
}

/// `wxa_media_check`: the verdict on a picture or a recording sent to `media_check_async`
/// (Mini Program content security, 内容安全), pushed when the check ends, XML or JSON alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxaMediaCheckEvent {
    /// The common header.
    pub header: Header,
    /// `appid`: the Mini Program.
    pub appid: String,
    /// `trace_id`: what `media_check_async` answered, to find the request.
    pub trace_id: String,
    /// `version`: 2 for the current API.
    pub version: u32,
    /// `errcode`: 0 when the check ran.
    pub errcode: i64,
    /// `errmsg`.
    pub errmsg: String,
    /// `result`: the overall verdict (version 2).
    pub result: Option<WxaMediaCheckResult>,
    /// `detail`: one entry per strategy that looked at the media.
    pub detail: Vec<WxaMediaCheckDetail>,
    /// `isrisky`: the version 1 verdict (1 risky), when sent.
    pub isrisky: Option<u32>,
}

impl WxaMediaCheckEvent {
    fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        let result = match el.child("result") {
            None => None,
            Some(r) => Some(WxaMediaCheckResult {
                suggest: r.or_empty("suggest"),
                label: r.optional_number("label")?.unwrap_or_default(),
            }),
        };
        let detail = el
            .children()
            .filter(|d| d.name() == "detail")
            .map(|d| {
                Ok(WxaMediaCheckDetail {
                    strategy: d.or_empty("strategy"),
                    errcode: d.optional_number("errcode")?.unwrap_or_default(),
                    suggest: d.or_empty("suggest"),
                    label: d.optional_number("label")?.unwrap_or_default(),
                    prob: d.optional_number("prob")?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            header,
            appid: el.or_empty("appid"),
            trace_id: el.required("trace_id")?,
            version: el.optional_number("version")?.unwrap_or(1),
            errcode: el.optional_number("errcode")?.unwrap_or_default(),
            errmsg: el.or_empty("errmsg"),
            result,
            detail,
            isrisky: el.optional_number("isrisky")?,
        })
    }

    /// Whether the media passed: `result.suggest` is `pass` (version 2), or `isrisky` is 0
    /// (version 1). A check that did not run (`errcode` != 0) did not pass.
    #[must_use]
    pub fn passed(&self) -> bool {
        if self.errcode != 0 {
            return false;
        }
        match (&self.result, self.isrisky) {
            (Some(r), _) => r.suggest == "pass",
            (None, Some(risky)) => risky == 0,
            (None, None) => false,
        }
    }
}

/// The overall verdict of a media check (`result`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxaMediaCheckResult {
    /// `suggest`: `pass`, `review` or `risky`.
    pub suggest: String,
    /// `label`: the main category (100 normal, 20001 political, 20002 porn, 20006 illegal,
    /// 21000 other, ...).
    pub label: u32,
}

/// One strategy's verdict of a media check (`detail`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxaMediaCheckDetail {
    /// `strategy`: `content_model`, ...
    pub strategy: String,
    /// `errcode`: 0 when the strategy ran.
    pub errcode: i64,
    /// `suggest`: `pass`, `review` or `risky`.
    pub suggest: String,
    /// `label`.
    pub label: u32,
    /// `prob`: the confidence, 0 to 100, when given.
    pub prob: Option<u32>,
}

/// An event this crate does not know, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownEvent {
    /// The common header.
    pub header: Header,
    /// `Event` as sent.
    pub event: String,
    /// `EventKey`, if present.
    pub event_key: Option<String>,
    /// The whole plaintext XML.
    pub raw: String,
}
