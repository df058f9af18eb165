//! Normal messages (普通消息): what a user sends to the account.

use super::fields::{LATITUDE, LONGITUDE};
use super::{Fields, Header};
use crate::error::Result;
use crate::xml::Element;

/// A text message (`MsgType` `text`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextMessage {
    /// The common header.
    pub header: Header,
    /// `Content`, exactly as sent (never trimmed; may hold control characters).
    pub content: String,
    /// `BizMsgMenuId`: the menu item the user tapped in a menu message (菜单消息), if any.
    pub biz_msg_menu_id: Option<String>,
}

impl TextMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            content: el.required("Content")?,
            biz_msg_menu_id: el.optional("bizmsgmenuid"),
        })
    }
}

/// An image message (`MsgType` `image`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageMessage {
    /// The common header.
    pub header: Header,
    /// `PicUrl`: where WeChat serves the picture.
    pub pic_url: String,
    /// `MediaId`: fetch the image through the temporary-media API, or send it back in a reply.
    pub media_id: String,
}

impl ImageMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            pic_url: el.or_empty("PicUrl"),
            media_id: el.required("MediaId")?,
        })
    }
}

/// A voice message (`MsgType` `voice`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceMessage {
    /// The common header.
    pub header: Header,
    /// `MediaId` of the recording.
    pub media_id: String,
    /// `Format`: `amr`, `speex`, ...
    pub format: String,
    /// `Recognition`: speech-to-text, when the account enabled recognition (语音识别).
    pub recognition: Option<String>,
    /// `MediaId16`: the 16 kHz recording, when offered.
    pub media_id_16k: Option<String>,
}

impl VoiceMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            media_id: el.required("MediaId")?,
            format: el.or_empty("Format"),
            recognition: el.optional("Recognition"),
            media_id_16k: el.optional("MediaId16"),
        })
    }
}

/// A video message (`MsgType` `video`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoMessage {
    /// The common header.
    pub header: Header,
    /// `MediaId` of the video.
    pub media_id: String,
    /// `ThumbMediaId` of its thumbnail.
    pub thumb_media_id: String,
}

impl VideoMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            media_id: el.required("MediaId")?,
            thumb_media_id: el.or_empty("ThumbMediaId"),
        })
    }
}

/// A short video message (`MsgType` `shortvideo`, 小视频).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortVideoMessage {
    /// The common header.
    pub header: Header,
    /// `MediaId` of the video.
    pub media_id: String,
    /// `ThumbMediaId` of its thumbnail.
    pub thumb_media_id: String,
}

impl ShortVideoMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            media_id: el.required("MediaId")?,
            thumb_media_id: el.or_empty("ThumbMediaId"),
        })
    }
}

/// A location the user shared (`MsgType` `location`). The coordinates are finite and on the
/// globe (latitude within ±90°, longitude within ±180°): anything else (`NaN`, `inf`, `1e309`)
/// is refused with [`ErrorKind::InvalidField`](crate::ErrorKind::InvalidField) naming the field.
#[derive(Debug, Clone, PartialEq)]
pub struct LocationMessage {
    /// The common header.
    pub header: Header,
    /// `Location_X`: latitude.
    pub latitude: f64,
    /// `Location_Y`: longitude.
    pub longitude: f64,
    /// `Scale`: the map zoom level.
    pub scale: u32,
    /// `Label`: the place's description.
    pub label: String,
}

impl LocationMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            latitude: el.float_in("Location_X", LATITUDE)?,
            longitude: el.float_in("Location_Y", LONGITUDE)?,
            scale: el.optional_number("Scale")?.unwrap_or_default(),
            label: el.or_empty("Label"),
        })
    }
}

/// A link the user shared (`MsgType` `link`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkMessage {
    /// The common header.
    pub header: Header,
    /// `Title`.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `Url`.
    pub url: String,
}

impl LinkMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            title: el.or_empty("Title"),
            description: el.or_empty("Description"),
            url: el.required("Url")?,
        })
    }
}

/// A file the user sent (`MsgType` `file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMessage {
    /// The common header.
    pub header: Header,
    /// `Title`: the file name.
    pub title: String,
    /// `Description`.
    pub description: String,
    /// `FileKey`.
    pub file_key: String,
    /// `FileMd5`.
    pub file_md5: String,
    /// `FileTotalLen`: size in bytes.
    pub file_total_len: u64,
}

impl FileMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            title: el.or_empty("Title"),
            description: el.or_empty("Description"),
            file_key: el.required("FileKey")?,
            file_md5: el.or_empty("FileMd5"),
            file_total_len: el.optional_number("FileTotalLen")?.unwrap_or_default(),
        })
    }
}

/// A Mini Program card sent to customer service (`MsgType` `miniprogrampage`, 小程序卡片).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniProgramPageMessage {
    /// The common header.
    pub header: Header,
    /// `Title`.
    pub title: String,
    /// `AppId` of the Mini Program.
    pub app_id: String,
    /// `PagePath`.
    pub page_path: String,
    /// `ThumbUrl`.
    pub thumb_url: String,
    /// `ThumbMediaId`.
    pub thumb_media_id: String,
}

impl MiniProgramPageMessage {
    pub(super) fn read(header: Header, el: Element<'_, '_>) -> Result<Self> {
        Ok(Self {
            header,
            title: el.or_empty("Title"),
            app_id: el.or_empty("AppId"),
            page_path: el.required("PagePath")?,
            thumb_url: el.or_empty("ThumbUrl"),
            thumb_media_id: el.or_empty("ThumbMediaId"),
        })
    }
}

/// A message of a `MsgType` this crate does not know, kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownMessage {
    /// The common header.
    pub header: Header,
    /// `MsgType` as sent.
    pub msg_type: String,
    /// The whole plaintext XML.
    pub raw: String,
}
