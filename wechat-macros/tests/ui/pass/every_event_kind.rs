//! Every `event = ".."` of wechat-core in WeChat's spelling, each with its own type; `key` on
//! every event that carries an `EventKey`; `Event` and `Message` for any of them.

use wechat_tower::message::{
    ClickEvent, LocationEvent, LocationSelectEvent, MassSendJobFinishEvent, PicPhotoOrAlbumEvent,
    PicSysphotoEvent, PicWeixinEvent, PublishJobFinishEvent, ScanEvent, ScancodePushEvent,
    ScancodeWaitmsgEvent, WxaMediaCheckEvent,
    SubscribeEvent, SubscribeMsgChangeEvent, SubscribeMsgPopupEvent, SubscribeMsgSentEvent,
    TemplateSendJobFinishEvent, UnsubscribeEvent, UserEnterTempsessionEvent, ViewEvent,
    ViewMiniprogramEvent,
};
use wechat_tower::{Event, Message, Router, wechat_handler};

macro_rules! events {
    ($($name:ident: $event:literal, $ty:ty;)*) => {
        $(
            #[wechat_handler(event = $event)]
            async fn $name(_: $ty) {}
        )*
        fn all() -> Router {
            Router::new()$(.handler($name))*
        }
    };
}

events! {
    subscribe: "subscribe", SubscribeEvent;
    unsubscribe: "unsubscribe", UnsubscribeEvent;
    scan: "SCAN", ScanEvent;
    location: "LOCATION", LocationEvent;
    click: "CLICK", ClickEvent;
    view: "VIEW", ViewEvent;
    scancode_push: "scancode_push", ScancodePushEvent;
    scancode_waitmsg: "scancode_waitmsg", ScancodeWaitmsgEvent;
    pic_sysphoto: "pic_sysphoto", PicSysphotoEvent;
    pic_photo_or_album: "pic_photo_or_album", PicPhotoOrAlbumEvent;
    pic_weixin: "pic_weixin", PicWeixinEvent;
    location_select: "location_select", LocationSelectEvent;
    view_miniprogram: "view_miniprogram", ViewMiniprogramEvent;
    template_send_job_finish: "TEMPLATESENDJOBFINISH", TemplateSendJobFinishEvent;
    mass_send_job_finish: "MASSSENDJOBFINISH", MassSendJobFinishEvent;
    subscribe_msg_popup: "subscribe_msg_popup_event", SubscribeMsgPopupEvent;
    subscribe_msg_change: "subscribe_msg_change_event", SubscribeMsgChangeEvent;
    subscribe_msg_sent: "subscribe_msg_sent_event", SubscribeMsgSentEvent;
    user_enter_tempsession: "user_enter_tempsession", UserEnterTempsessionEvent;
    publish_job_finish: "PUBLISHJOBFINISH", PublishJobFinishEvent;
    wxa_media_check: "wxa_media_check", WxaMediaCheckEvent;
}

// `key` on every event that carries an `EventKey`.
#[wechat_handler(event = "subscribe", key = "123")]
async fn subscribe_key(_: SubscribeEvent) {}
#[wechat_handler(event = "SCAN", key = "123")]
async fn scan_key(_: ScanEvent) {}
#[wechat_handler(event = "CLICK", key = "V1001")]
async fn click_key(_: ClickEvent) {}
#[wechat_handler(event = "VIEW", key = "https://example.com")]
async fn view_key(_: ViewEvent) {}
#[wechat_handler(event = "scancode_push", key = "K")]
async fn scancode_push_key(_: ScancodePushEvent) {}
#[wechat_handler(event = "scancode_waitmsg", key = "K")]
async fn scancode_waitmsg_key(_: ScancodeWaitmsgEvent) {}
#[wechat_handler(event = "pic_sysphoto", key = "K")]
async fn pic_sysphoto_key(_: PicSysphotoEvent) {}
#[wechat_handler(event = "pic_photo_or_album", key = "K")]
async fn pic_photo_or_album_key(_: PicPhotoOrAlbumEvent) {}
#[wechat_handler(event = "pic_weixin", key = "K")]
async fn pic_weixin_key(_: PicWeixinEvent) {}
#[wechat_handler(event = "location_select", key = "K")]
async fn location_select_key(_: LocationSelectEvent) {}
#[wechat_handler(event = "view_miniprogram", key = "pages/index")]
async fn view_miniprogram_key(_: ViewMiniprogramEvent) {}

// `Event` and `Message` take any event.
#[wechat_handler(event = "CLICK", key = "AS_EVENT")]
async fn click_as_event(_: Event) {}
#[wechat_handler(event = "LOCATION")]
async fn location_as_message(_: Message) {}

fn main() {
    all()
        .handler(subscribe_key)
        .handler(scan_key)
        .handler(click_key)
        .handler(view_key)
        .handler(scancode_push_key)
        .handler(scancode_waitmsg_key)
        .handler(pic_sysphoto_key)
        .handler(pic_photo_or_album_key)
        .handler(pic_weixin_key)
        .handler(location_select_key)
        .handler(view_miniprogram_key)
        .handler(click_as_event)
        .build()
        .unwrap();
    Router::new().handler(location_as_message).build().unwrap();
}
