//! Criterion benchmark of dispatch (`cargo bench -p wechat-tower --bench dispatch`): how long the
//! router takes to pick the handler of a message among 50 handlers registered with
//! `#[wechat_handler]` (every message type, every event, ten keywords, six prefixes, five menu
//! keys, a fallback).
//!
//! - `dispatch/pick/*` times [`RouterService::handler_for`], which runs the router's own lookup
//!   (the one every call runs) on an already parsed message, for the cheapest and the dearest
//!   cases: a keyword, the longest of six prefixes, plain text after every prefix was tried, an
//!   event key, an event whose key has no route, a message type, the fallback.
//! - `dispatch/call/*` times a whole call of the router (retry cache off, as for load tests):
//!   the pick, the handler, its reply; with 50 handlers and with the one that answers, to
//!   show that the pick is a small part of a call.

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Service, ServiceExt};
use wechat_tower::message::{
    ClickEvent, FileMessage, ImageMessage, LinkMessage, LocationEvent, LocationMessage,
    LocationSelectEvent, MassSendJobFinishEvent, MiniProgramPageMessage, PicPhotoOrAlbumEvent,
    PicSysphotoEvent, PicWeixinEvent, ScanEvent, ScancodePushEvent, ScancodeWaitmsgEvent,
    ShortVideoMessage, SubscribeEvent, SubscribeMsgChangeEvent, SubscribeMsgPopupEvent,
    SubscribeMsgSentEvent, TemplateSendJobFinishEvent, TextMessage, UnsubscribeEvent,
    UserEnterTempsessionEvent, VideoMessage, ViewEvent, ViewMiniprogramEvent, VoiceMessage,
};
use wechat_tower::router::{Router, RouterService};
use wechat_tower::{Message, Reply, wechat_handler};

/// Handlers of one kind, each answering its own name.
macro_rules! handlers {
    ($($name:ident: ($($attr:tt)*) $ty:ty;)*) => {
        $(
            #[wechat_handler($($attr)*)]
            async fn $name(_: $ty) -> &'static str {
                stringify!($name)
            }
        )*

        /// The router of every handler above.
        fn router() -> Router {
            Router::new()$(.handler($name))*
        }

        /// How many handlers there are.
        const HANDLERS: usize = [$(stringify!($name)),*].len();
    };
}

handlers! {
    // Every message type (9).
    text: (msg = "text") TextMessage;
    image: (msg = "image") ImageMessage;
    voice: (msg = "voice") VoiceMessage;
    video: (msg = "video") VideoMessage;
    shortvideo: (msg = "shortvideo") ShortVideoMessage;
    location: (msg = "location") LocationMessage;
    link: (msg = "link") LinkMessage;
    file: (msg = "file") FileMessage;
    miniprogrampage: (msg = "miniprogrampage") MiniProgramPageMessage;
    // Every event (19).
    subscribe: (event = "subscribe") SubscribeEvent;
    unsubscribe: (event = "unsubscribe") UnsubscribeEvent;
    scan: (event = "SCAN") ScanEvent;
    location_event: (event = "LOCATION") LocationEvent;
    click: (event = "CLICK") ClickEvent;
    view: (event = "VIEW") ViewEvent;
    scancode_push: (event = "scancode_push") ScancodePushEvent;
    scancode_waitmsg: (event = "scancode_waitmsg") ScancodeWaitmsgEvent;
    pic_sysphoto: (event = "pic_sysphoto") PicSysphotoEvent;
    pic_photo_or_album: (event = "pic_photo_or_album") PicPhotoOrAlbumEvent;
    pic_weixin: (event = "pic_weixin") PicWeixinEvent;
    location_select: (event = "location_select") LocationSelectEvent;
    view_miniprogram: (event = "view_miniprogram") ViewMiniprogramEvent;
    template_send_job_finish: (event = "TEMPLATESENDJOBFINISH") TemplateSendJobFinishEvent;
    mass_send_job_finish: (event = "MASSSENDJOBFINISH") MassSendJobFinishEvent;
    subscribe_msg_popup: (event = "subscribe_msg_popup_event") SubscribeMsgPopupEvent;
    subscribe_msg_change: (event = "subscribe_msg_change_event") SubscribeMsgChangeEvent;
    subscribe_msg_sent: (event = "subscribe_msg_sent_event") SubscribeMsgSentEvent;
    user_enter_tempsession: (event = "user_enter_tempsession") UserEnterTempsessionEvent;
    // Ten keywords.
    help: (msg = "text", keyword = "help") TextMessage;
    menu: (msg = "text", keyword = "menu") TextMessage;
    hours: (msg = "text", keyword = "hours") TextMessage;
    address: (msg = "text", keyword = "address") TextMessage;
    phone: (msg = "text", keyword = "phone") TextMessage;
    price: (msg = "text", keyword = "price") TextMessage;
    news: (msg = "text", keyword = "news") TextMessage;
    about: (msg = "text", keyword = "about") TextMessage;
    jobs: (msg = "text", keyword = "jobs") TextMessage;
    unsubscribe_me: (msg = "text", keyword = "stop") TextMessage;
    // Six prefixes.
    weather: (msg = "text", prefix = "weather ") TextMessage;
    weather_tomorrow: (msg = "text", prefix = "weather tomorrow ") TextMessage;
    order: (msg = "text", prefix = "order ") TextMessage;
    track: (msg = "text", prefix = "track ") TextMessage;
    translate: (msg = "text", prefix = "translate ") TextMessage;
    search: (msg = "text", prefix = "search ") TextMessage;
    // Five menu keys.
    menu_today: (event = "CLICK", key = "MENU_TODAY") ClickEvent;
    menu_hours: (event = "CLICK", key = "MENU_HOURS") ClickEvent;
    menu_contact: (event = "CLICK", key = "MENU_CONTACT") ClickEvent;
    menu_jobs: (event = "CLICK", key = "MENU_JOBS") ClickEvent;
    menu_hello: (event = "CLICK", key = "V1001_HELLO") ClickEvent;
    // The fallback (1).
    fallback: (fallback) Message;
}

/// A message with a `MsgId` of its own, so that the retry cache takes none for a retry.
fn xml(body: &str) -> Message {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    Message::from_xml(&format!(
        "<xml><ToUserName>gh_bench</ToUserName><FromUserName>oBench</FromUserName>\
         <CreateTime>{id}</CreateTime>{body}<MsgId>{id}</MsgId></xml>"
    ))
    .expect("valid message")
}

fn text_msg(content: &str) -> Message {
    xml(&format!(
        "<MsgType>text</MsgType><Content><![CDATA[{content}]]></Content>"
    ))
}

fn click_msg(key: &str) -> Message {
    xml(&format!(
        "<MsgType>event</MsgType><Event>CLICK</Event><EventKey>{key}</EventKey>"
    ))
}

/// `(case, message, the handler that must answer)`.
fn cases() -> Vec<(&'static str, Message, &'static str)> {
    vec![
        ("keyword", text_msg("hours"), "hours"),
        (
            "longest prefix",
            text_msg("weather tomorrow Guangzhou"),
            "weather_tomorrow",
        ),
        (
            "text after every prefix",
            text_msg("hello there, how are you"),
            "text",
        ),
        ("event key", click_msg("MENU_CONTACT"), "menu_contact"),
        ("event, key without route", click_msg("OTHER"), "click"),
        (
            "message type",
            xml("<MsgType>image</MsgType><MediaId>m</MediaId>"),
            "image",
        ),
        ("fallback", xml("<MsgType>brand_new</MsgType>"), "fallback"),
    ]
}

fn dispatch(c: &mut Criterion) {
    assert_eq!(HANDLERS, 50);
    let all: RouterService = router().build().expect("distinct routes");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");

    // Self-check before timing: each case picks its handler, which answers.
    let cases = cases();
    rt.block_on(async {
        for (case, msg, handler) in &cases {
            let name = all.handler_for(msg).expect("a handler");
            assert!(name.ends_with(&format!("::{handler}")), "{case}: {name}");
            let reply = all.clone().oneshot(msg.clone()).await.expect("infallible");
            assert_eq!(reply, Reply::text(*handler), "{case}");
        }
    });

    let mut group = c.benchmark_group("dispatch/pick");
    for (case, msg, _) in &cases {
        group.bench_function(*case, |b| b.iter(|| all.handler_for(black_box(msg))));
    }
    group.finish();

    // A whole call, retry cache off so that every call runs the handler.
    let mut fifty = router().dedup(false).build().expect("distinct routes");
    let mut one = Router::new()
        .handler(hours)
        .dedup(false)
        .build()
        .expect("one route");
    let msg = text_msg("hours");
    let mut group = c.benchmark_group("dispatch/call");
    group.bench_function("keyword among 50 handlers", |b| {
        b.to_async(&rt).iter(|| fifty.call(black_box(msg.clone())));
    });
    group.bench_function("keyword, 1 handler", |b| {
        b.to_async(&rt).iter(|| one.call(black_box(msg.clone())));
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = dispatch
}
criterion_main!(benches);
