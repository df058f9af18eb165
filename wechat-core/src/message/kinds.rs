//! The one table of message and event kinds, in the manner of `http`'s `standard_headers!`.
//!
//! [`__for_each_kind!`](crate::__for_each_kind) hands the whole table to a callback macro, which
//! generates what it needs from it: here the [`Message`](super::Message) and
//! [`Event`](super::Event) enums, their name → variant dispatch and their spellings; in
//! `wechat-tower` the router's known kinds, the `FromMessage` impls and the macro's kind checks.
//! Adding an event is one line below, plus its struct and its `read(header, el)` fn.

/// Calls `$callback! { messages { .. } events { .. } }` with every kind `wechat-core` parses into
/// a typed variant:
///
/// - messages: `("text", Text, TextMessage, MsgText)`: `MsgType` as WeChat spells it, the
///   [`Message`](crate::Message) variant, its type, the name of its kind check;
/// - events: `("subscribe", Subscribe, SubscribeEvent, EventSubscribe, keyed)`: `Event` as WeChat
///   spells it, the [`Event`](crate::Event) variant, its type, the name of its kind check, and
///   `keyed` when WeChat sends it with an `EventKey` (the type's `event_key` field), `keyless`
///   otherwise.
///
/// `MsgType` `event` (every event) is not in the list of messages. Not part of the public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __for_each_kind {
    ($callback:ident) => {
        $callback! {
            messages {
                ("text", Text, TextMessage, MsgText),
                ("image", Image, ImageMessage, MsgImage),
                ("voice", Voice, VoiceMessage, MsgVoice),
                ("video", Video, VideoMessage, MsgVideo),
                ("shortvideo", ShortVideo, ShortVideoMessage, MsgShortvideo),
                ("location", Location, LocationMessage, MsgLocation),
                ("link", Link, LinkMessage, MsgLink),
                ("file", File, FileMessage, MsgFile),
                ("miniprogrampage", MiniProgramPage, MiniProgramPageMessage, MsgMiniprogrampage),
            }
            events {
                ("subscribe", Subscribe, SubscribeEvent, EventSubscribe, keyed),
                ("unsubscribe", Unsubscribe, UnsubscribeEvent, EventUnsubscribe, keyless),
                ("SCAN", Scan, ScanEvent, EventScan, keyed),
                ("LOCATION", Location, LocationEvent, EventLocation, keyless),
                ("CLICK", Click, ClickEvent, EventClick, keyed),
                ("VIEW", View, ViewEvent, EventView, keyed),
                ("scancode_push", ScancodePush, ScancodePushEvent, EventScancodePush, keyed),
                ("scancode_waitmsg", ScancodeWaitmsg, ScancodeWaitmsgEvent, EventScancodeWaitmsg, keyed),
                ("pic_sysphoto", PicSysphoto, PicSysphotoEvent, EventPicSysphoto, keyed),
                ("pic_photo_or_album", PicPhotoOrAlbum, PicPhotoOrAlbumEvent, EventPicPhotoOrAlbum, keyed),
                ("pic_weixin", PicWeixin, PicWeixinEvent, EventPicWeixin, keyed),
                ("location_select", LocationSelect, LocationSelectEvent, EventLocationSelect, keyed),
                ("view_miniprogram", ViewMiniprogram, ViewMiniprogramEvent, EventViewMiniprogram, keyed),
                ("TEMPLATESENDJOBFINISH", TemplateSendJobFinish, TemplateSendJobFinishEvent, EventTemplateSendJobFinish, keyless),
                ("MASSSENDJOBFINISH", MassSendJobFinish, MassSendJobFinishEvent, EventMassSendJobFinish, keyless),
                ("subscribe_msg_popup_event", SubscribeMsgPopup, SubscribeMsgPopupEvent, EventSubscribeMsgPopup, keyless),
                ("subscribe_msg_change_event", SubscribeMsgChange, SubscribeMsgChangeEvent, EventSubscribeMsgChange, keyless),
                ("subscribe_msg_sent_event", SubscribeMsgSent, SubscribeMsgSentEvent, EventSubscribeMsgSent, keyless),
                ("user_enter_tempsession", UserEnterTempsession, UserEnterTempsessionEvent, EventUserEnterTempsession, keyless),
                ("PUBLISHJOBFINISH", PublishJobFinish, PublishJobFinishEvent, EventPublishJobFinish, keyless),
                ("wxa_media_check", WxaMediaCheck, WxaMediaCheckEvent, EventWxaMediaCheck, keyless),
            }
        }
    };
}

/// `true` for `keyed`, `false` for `keyless`: the table's `EventKey` flag as a value. Not part
/// of the public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __kind_keyed {
    (keyed) => {
        true
    };
    (keyless) => {
        false
    };
}
