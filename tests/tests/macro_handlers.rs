//! `#[wechat_handler]` end to end: a bot whose handlers are all defined with the attribute
//! answers every message and event type of wechat-core, over real TCP on 127.0.0.1, on axum and
//! on plain hyper, in safe mode, with state and context extracted.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tower::Layer;
use wechat_e2e::{send, spawn_axum, spawn_hyper};
use wechat_tower::message::{
    ClickEvent, FileMessage, ImageMessage, LinkMessage, LocationEvent, LocationMessage,
    LocationSelectEvent, MassSendJobFinishEvent, MiniProgramPageMessage, PicPhotoOrAlbumEvent,
    PicSysphotoEvent, PicWeixinEvent, PublishJobFinishEvent, ScanEvent, ScancodePushEvent,
    ScancodeWaitmsgEvent, ShortVideoMessage, SubscribeEvent, SubscribeMsgChangeEvent,
    SubscribeMsgPopupEvent, SubscribeMsgSentEvent, TemplateSendJobFinishEvent, TextMessage,
    UnsubscribeEvent, UserEnterTempsessionEvent, VideoMessage, ViewEvent, ViewMiniprogramEvent,
    VoiceMessage, WxaMediaCheckEvent,
};
use wechat_tower::router::{Router, RouterService};
use wechat_tower::test_util::{Simulator, messages};
use wechat_tower::{
    Event, Message, MessageContext, OpenId, Reply, State, WechatConfig, WechatLayer,
};
use wechat_tower::{FromRef, wechat_handler};

const TOKEN: &str = "macro_token";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx0123456789abcdef";
const GH: &str = "gh_macro";

/// The bot's state: handlers extract it whole or a part of it.
#[derive(Clone)]
struct Bot {
    greeting: Greeting,
}

#[derive(Clone)]
struct Greeting(&'static str);

impl FromRef<Bot> for Greeting {
    fn from_ref(bot: &Bot) -> Self {
        bot.greeting.clone()
    }
}

/// Every handler answers `<kind>:<a field of its typed message>`, so that a reply proves both
/// the route and the parsed type.
mod handlers {
    use super::*;

    #[wechat_handler(msg = "text")]
    pub(super) async fn text(msg: TextMessage, ctx: MessageContext) -> String {
        format!("text:{}:{}", msg.content, ctx.open_id())
    }

    #[wechat_handler(msg = "text", keyword = "help")]
    pub(super) async fn help(_: TextMessage, State(Greeting(greeting)): State<Greeting>) -> String {
        format!("keyword:{greeting}")
    }

    #[wechat_handler(msg = "text", prefix = "weather ")]
    pub(super) async fn weather(msg: TextMessage) -> String {
        format!("prefix:{}", msg.content.trim_start_matches("weather "))
    }

    #[wechat_handler(msg = "image")]
    pub(super) async fn image(msg: ImageMessage) -> Reply {
        Reply::text(format!("image:{}", msg.media_id))
    }

    #[wechat_handler(msg = "voice")]
    pub(super) async fn voice(msg: VoiceMessage) -> Option<String> {
        msg.recognition.map(|r| format!("voice:{r}"))
    }

    #[wechat_handler(msg = "video")]
    pub(super) async fn video(msg: VideoMessage) -> String {
        format!("video:{}", msg.media_id)
    }

    #[wechat_handler(msg = "shortvideo")]
    pub(super) async fn shortvideo(msg: ShortVideoMessage) -> String {
        format!("shortvideo:{}", msg.media_id)
    }

    #[wechat_handler(msg = "location")]
    pub(super) async fn location(msg: LocationMessage) -> String {
        format!("location:{}", msg.label)
    }

    #[wechat_handler(msg = "link")]
    pub(super) async fn link(msg: LinkMessage) -> Result<String, std::fmt::Error> {
        Ok(format!("link:{}", msg.url))
    }

    #[wechat_handler(msg = "file")]
    pub(super) async fn file(msg: FileMessage) -> String {
        format!("file:{}", msg.file_key)
    }

    #[wechat_handler(msg = "miniprogrampage")]
    pub(super) async fn miniprogrampage(msg: MiniProgramPageMessage) -> String {
        format!("miniprogrampage:{}", msg.page_path)
    }

    #[wechat_handler(event = "subscribe")]
    pub(super) async fn subscribe(ev: SubscribeEvent, State(bot): State<Bot>) -> String {
        format!("subscribe:{}", ev.scene().unwrap_or(bot.greeting.0))
    }

    #[wechat_handler(event = "subscribe", key = "42")]
    pub(super) async fn subscribe_42(_: SubscribeEvent) -> &'static str {
        "subscribe-key:42"
    }

    #[wechat_handler(event = "unsubscribe")]
    pub(super) async fn unsubscribe(_: UnsubscribeEvent, OpenId(open_id): OpenId) -> String {
        format!("unsubscribe:{open_id}")
    }

    #[wechat_handler(event = "SCAN")]
    pub(super) async fn scan(ev: ScanEvent) -> String {
        format!("SCAN:{}", ev.event_key)
    }

    #[wechat_handler(event = "LOCATION")]
    pub(super) async fn location_event(ev: LocationEvent) -> String {
        format!("LOCATION:{}", ev.latitude)
    }

    #[wechat_handler(event = "CLICK")]
    pub(super) async fn click(ev: ClickEvent) -> String {
        format!("CLICK:{}", ev.event_key)
    }

    #[wechat_handler(event = "CLICK", key = "V1001_HELLO")]
    pub(super) async fn hello(_: ClickEvent) -> &'static str {
        "CLICK-key:hello"
    }

    #[wechat_handler(event = "VIEW")]
    pub(super) async fn view(ev: ViewEvent) -> String {
        format!("VIEW:{}", ev.event_key)
    }

    #[wechat_handler(event = "scancode_push")]
    pub(super) async fn scancode_push(ev: ScancodePushEvent) -> String {
        format!("scancode_push:{}", ev.scan_code_info.scan_result)
    }

    #[wechat_handler(event = "scancode_waitmsg")]
    pub(super) async fn scancode_waitmsg(ev: ScancodeWaitmsgEvent) -> String {
        format!("scancode_waitmsg:{}", ev.scan_code_info.scan_result)
    }

    #[wechat_handler(event = "pic_sysphoto")]
    pub(super) async fn pic_sysphoto(ev: PicSysphotoEvent) -> String {
        format!("pic_sysphoto:{}", ev.send_pics_info.count)
    }

    #[wechat_handler(event = "pic_photo_or_album")]
    pub(super) async fn pic_photo_or_album(ev: PicPhotoOrAlbumEvent) -> String {
        format!("pic_photo_or_album:{}", ev.send_pics_info.count)
    }

    #[wechat_handler(event = "pic_weixin")]
    pub(super) async fn pic_weixin(ev: PicWeixinEvent) -> String {
        format!("pic_weixin:{}", ev.send_pics_info.count)
    }

    #[wechat_handler(event = "location_select")]
    pub(super) async fn location_select(ev: LocationSelectEvent) -> String {
        format!("location_select:{}", ev.send_location_info.label)
    }

    #[wechat_handler(event = "view_miniprogram")]
    pub(super) async fn view_miniprogram(ev: ViewMiniprogramEvent) -> String {
        format!("view_miniprogram:{}", ev.event_key)
    }

    #[wechat_handler(event = "TEMPLATESENDJOBFINISH")]
    pub(super) async fn template_send_job_finish(ev: TemplateSendJobFinishEvent) -> String {
        format!("TEMPLATESENDJOBFINISH:{}", ev.status)
    }

    #[wechat_handler(event = "MASSSENDJOBFINISH")]
    pub(super) async fn mass_send_job_finish(ev: MassSendJobFinishEvent) -> String {
        format!("MASSSENDJOBFINISH:{}", ev.sent_count)
    }

    #[wechat_handler(event = "PUBLISHJOBFINISH")]
    pub(super) async fn publish_job_finish(ev: PublishJobFinishEvent) -> String {
        format!("PUBLISHJOBFINISH:{}:{:?}", ev.publish_id, ev.publish_status)
    }

    #[wechat_handler(event = "wxa_media_check")]
    pub(super) async fn wxa_media_check(ev: WxaMediaCheckEvent) -> String {
        format!("wxa_media_check:{}:{}", ev.trace_id, ev.passed())
    }

    #[wechat_handler(event = "subscribe_msg_popup_event")]
    pub(super) async fn subscribe_msg_popup(ev: SubscribeMsgPopupEvent) -> String {
        format!("subscribe_msg_popup_event:{}", ev.items[0].template_id)
    }

    #[wechat_handler(event = "subscribe_msg_change_event")]
    pub(super) async fn subscribe_msg_change(ev: SubscribeMsgChangeEvent) -> String {
        format!("subscribe_msg_change_event:{}", ev.items[0].template_id)
    }

    #[wechat_handler(event = "subscribe_msg_sent_event")]
    pub(super) async fn subscribe_msg_sent(ev: SubscribeMsgSentEvent) -> String {
        format!("subscribe_msg_sent_event:{}", ev.items[0].template_id)
    }

    #[wechat_handler(event = "user_enter_tempsession")]
    pub(super) async fn user_enter_tempsession(ev: UserEnterTempsessionEvent) -> String {
        format!("user_enter_tempsession:{}", ev.session_from)
    }

    /// Events no event route takes (here: those wechat-core does not know).
    #[wechat_handler(msg = "event")]
    pub(super) async fn any_event(ev: Event) -> String {
        format!("event:{}", ev.event())
    }

    /// Whatever no other route takes (here: `MsgType`s wechat-core does not know).
    #[wechat_handler(fallback)]
    pub(super) async fn fallback(msg: Message) -> String {
        format!("fallback:{}", msg.msg_type())
    }
}

fn router() -> RouterService {
    use handlers::*;
    Router::new()
        .handler(text)
        .handler(help)
        .handler(weather)
        .handler(image)
        .handler(voice)
        .handler(video)
        .handler(shortvideo)
        .handler(location)
        .handler(link)
        .handler(file)
        .handler(miniprogrampage)
        .handler(subscribe)
        .handler(subscribe_42)
        .handler(unsubscribe)
        .handler(scan)
        .handler(location_event)
        .handler(click)
        .handler(hello)
        .handler(view)
        .handler(scancode_push)
        .handler(scancode_waitmsg)
        .handler(pic_sysphoto)
        .handler(pic_photo_or_album)
        .handler(pic_weixin)
        .handler(location_select)
        .handler(view_miniprogram)
        .handler(template_send_job_finish)
        .handler(mass_send_job_finish)
        .handler(publish_job_finish)
        .handler(wxa_media_check)
        .handler(subscribe_msg_popup)
        .handler(subscribe_msg_change)
        .handler(subscribe_msg_sent)
        .handler(user_enter_tempsession)
        .handler(any_event)
        .handler(fallback)
        .with_state(Bot {
            greeting: Greeting("hello"),
        })
        .build()
        .unwrap()
}

/// A message from a user of its own (so that no two cases look like retries of each other),
/// with `inner` after the header.
fn push(user: &str, msg_type: &str, inner: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut xml = format!(
        "<xml><ToUserName><![CDATA[{GH}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>\
         <CreateTime>{now}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{inner}"
    );
    if msg_type != "event" {
        let _ = write!(
            xml,
            "<MsgId>{}</MsgId>",
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
    }
    xml.push_str("</xml>");
    xml
}

fn event(user: &str, name: &str, inner: &str) -> String {
    push(
        user,
        "event",
        &format!("<Event><![CDATA[{name}]]></Event>{inner}"),
    )
}

/// `(request body, expected reply content)` for every message and event type, and for the
/// narrower routes (keyword, prefix, key) and the catch-alls.
fn cases(user: &str) -> Vec<(String, String)> {
    let u = |suffix: &str| format!("{user}_{suffix}");
    let scan_code =
        "<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>R1</ScanResult></ScanCodeInfo>";
    let pics = "<SendPicsInfo><Count>2</Count><PicList><item><PicMd5Sum>a</PicMd5Sum></item>\
                <item><PicMd5Sum>b</PicMd5Sum></item></PicList></SendPicsInfo>";
    let cases = [
        (
            messages::text(GH, &u("text"), "你好", 1),
            format!("text:你好:{}", u("text")),
        ),
        (
            messages::text(GH, &u("help"), " help ", 2),
            "keyword:hello".to_owned(),
        ),
        (
            messages::text(GH, &u("weather"), "weather 广州", 3),
            "prefix:广州".to_owned(),
        ),
        (
            messages::image(GH, &u("image"), "http://p", "img1", 4),
            "image:img1".to_owned(),
        ),
        (
            messages::voice(GH, &u("voice"), "v1", Some("语音"), 5),
            "voice:语音".to_owned(),
        ),
        (
            messages::video(GH, &u("video"), "vid1", false, 6),
            "video:vid1".to_owned(),
        ),
        (
            messages::video(GH, &u("short"), "svid1", true, 7),
            "shortvideo:svid1".to_owned(),
        ),
        (
            messages::location(GH, &u("location"), 23.1, 113.3, "广州", 8),
            "location:广州".to_owned(),
        ),
        (
            messages::link(GH, &u("link"), "t", "http://u", 9),
            "link:http://u".to_owned(),
        ),
        (
            push(
                &u("file"),
                "file",
                "<Title>t</Title><FileKey>fk1</FileKey><FileMd5>m</FileMd5><FileTotalLen>3</FileTotalLen>",
            ),
            "file:fk1".to_owned(),
        ),
        (
            push(
                &u("page"),
                "miniprogrampage",
                "<Title>t</Title><AppId>wxa</AppId><PagePath>pages/a</PagePath>",
            ),
            "miniprogrampage:pages/a".to_owned(),
        ),
        (
            messages::event(GH, &u("sub"), "subscribe", None),
            "subscribe:hello".to_owned(),
        ),
        (
            messages::event(GH, &u("subqr"), "subscribe", Some("qrscene_7")),
            "subscribe:7".to_owned(),
        ),
        (
            messages::event(GH, &u("subkey"), "subscribe", Some("qrscene_42")),
            "subscribe-key:42".to_owned(),
        ),
        (
            messages::event(GH, &u("unsub"), "unsubscribe", None),
            format!("unsubscribe:{}", u("unsub")),
        ),
        (
            messages::event(GH, &u("scan"), "SCAN", Some("S1")),
            "SCAN:S1".to_owned(),
        ),
        (
            messages::location_event(GH, &u("locev"), 23.5, 113.0),
            "LOCATION:23.5".to_owned(),
        ),
        (
            messages::event(GH, &u("click"), "CLICK", Some("K1")),
            "CLICK:K1".to_owned(),
        ),
        (
            messages::event(GH, &u("hello"), "CLICK", Some("V1001_HELLO")),
            "CLICK-key:hello".to_owned(),
        ),
        (
            messages::event(GH, &u("view"), "VIEW", Some("http://v")),
            "VIEW:http://v".to_owned(),
        ),
        (
            event(
                &u("scpush"),
                "scancode_push",
                &format!("<EventKey>sp</EventKey>{scan_code}"),
            ),
            "scancode_push:R1".to_owned(),
        ),
        (
            event(
                &u("scwait"),
                "scancode_waitmsg",
                &format!("<EventKey>sw</EventKey>{scan_code}"),
            ),
            "scancode_waitmsg:R1".to_owned(),
        ),
        (
            event(
                &u("sys"),
                "pic_sysphoto",
                &format!("<EventKey>p1</EventKey>{pics}"),
            ),
            "pic_sysphoto:2".to_owned(),
        ),
        (
            event(
                &u("album"),
                "pic_photo_or_album",
                &format!("<EventKey>p2</EventKey>{pics}"),
            ),
            "pic_photo_or_album:2".to_owned(),
        ),
        (
            event(
                &u("weixin"),
                "pic_weixin",
                &format!("<EventKey>p3</EventKey>{pics}"),
            ),
            "pic_weixin:2".to_owned(),
        ),
        (
            event(
                &u("locsel"),
                "location_select",
                "<EventKey>ls</EventKey><SendLocationInfo><Location_X>23</Location_X>\
                 <Location_Y>113</Location_Y><Scale>15</Scale><Label>广州塔</Label>\
                 <Poiname></Poiname></SendLocationInfo>",
            ),
            "location_select:广州塔".to_owned(),
        ),
        (
            event(
                &u("vmp"),
                "view_miniprogram",
                "<EventKey>pages/index</EventKey><MenuId>1</MenuId>",
            ),
            "view_miniprogram:pages/index".to_owned(),
        ),
        (
            event(
                &u("tpl"),
                "TEMPLATESENDJOBFINISH",
                "<MsgID>100</MsgID><Status>success</Status>",
            ),
            "TEMPLATESENDJOBFINISH:success".to_owned(),
        ),
        (
            event(
                &u("mass"),
                "MASSSENDJOBFINISH",
                "<MsgID>101</MsgID><Status>send success</Status><TotalCount>3</TotalCount>\
                 <FilterCount>3</FilterCount><SentCount>2</SentCount><ErrorCount>1</ErrorCount>",
            ),
            "MASSSENDJOBFINISH:2".to_owned(),
        ),
        (
            event(
                &u("publish"),
                "PUBLISHJOBFINISH",
                "<PublishEventInfo><publish_id>2247503051</publish_id>\
                 <publish_status>0</publish_status><article_id>A1</article_id></PublishEventInfo>",
            ),
            "PUBLISHJOBFINISH:2247503051:Published".to_owned(),
        ),
        (
            event(
                &u("media"),
                "wxa_media_check",
                "<appid>wx1</appid><trace_id>t-1</trace_id><version>2</version>\
                 <errcode>0</errcode><result><suggest>risky</suggest><label>20002</label></result>",
            ),
            "wxa_media_check:t-1:false".to_owned(),
        ),
        (
            event(
                &u("popup"),
                "subscribe_msg_popup_event",
                "<SubscribeMsgPopupEvent><List><TemplateId>T1</TemplateId>\
                 <SubscribeStatusString>accept</SubscribeStatusString><PopupScene>2</PopupScene></List>\
                 </SubscribeMsgPopupEvent>",
            ),
            "subscribe_msg_popup_event:T1".to_owned(),
        ),
        (
            event(
                &u("change"),
                "subscribe_msg_change_event",
                "<SubscribeMsgChangeEvent><List><TemplateId>T2</TemplateId>\
                 <SubscribeStatusString>reject</SubscribeStatusString></List></SubscribeMsgChangeEvent>",
            ),
            "subscribe_msg_change_event:T2".to_owned(),
        ),
        (
            event(
                &u("sent"),
                "subscribe_msg_sent_event",
                "<SubscribeMsgSentEvent><List><TemplateId>T3</TemplateId><MsgID>9</MsgID>\
                 <ErrorCode>0</ErrorCode><ErrorStatus>success</ErrorStatus></List></SubscribeMsgSentEvent>",
            ),
            "subscribe_msg_sent_event:T3".to_owned(),
        ),
        (
            event(
                &u("temp"),
                "user_enter_tempsession",
                "<SessionFrom>card</SessionFrom>",
            ),
            "user_enter_tempsession:card".to_owned(),
        ),
        (
            event(&u("newev"), "brand_new_event", "<EventKey>x</EventKey>"),
            "event:brand_new_event".to_owned(),
        ),
        (
            push(&u("newmsg"), "brand_new", "<Foo>bar</Foo>"),
            "fallback:brand_new".to_owned(),
        ),
    ];
    cases.into_iter().collect()
}

fn content_of(reply_xml: &str) -> String {
    let doc = wechat_tower::core::xml::Document::parse(reply_xml).unwrap();
    doc.root()
        .child_text("Content")
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn attribute_handlers_answer_every_message_and_event_type_over_loopback() {
    let config = WechatConfig::safe(TOKEN, KEY, APPID).unwrap();
    let bot = WechatLayer::new(config).layer(router());
    let sim = Simulator::safe(TOKEN, KEY, APPID).unwrap();
    for (server, addr) in [
        ("axum", spawn_axum(bot.clone()).await),
        ("hyper", spawn_hyper(bot.clone()).await),
    ] {
        let cases = cases(&format!("o{server}"));
        // 9 message types, 21 event types, and the routes that narrow or widen them.
        assert_eq!(cases.len(), 37);
        for (xml, expected) in &cases {
            let (status, body) = send(addr, sim.push("/wechat", xml)).await;
            assert_eq!(status, 200, "{server}: {xml}");
            let reply = sim.read_reply(&body).unwrap();
            assert_eq!(content_of(&reply), *expected, "{server}: {xml}");
        }
    }
}

#[tokio::test]
async fn a_handler_without_an_answer_says_success() {
    let config = WechatConfig::safe(TOKEN, KEY, APPID).unwrap();
    let addr = spawn_axum(WechatLayer::new(config).layer(router())).await;
    let sim = Simulator::safe(TOKEN, KEY, APPID).unwrap();
    // `voice` answers `None` without speech recognition.
    let xml = messages::voice(GH, "oQuiet", "v2", None, 77);
    let (status, body) = send(addr, sim.push("/wechat", &xml)).await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"success");
}

#[test]
fn the_router_names_attribute_handlers_after_their_fn() {
    let router = router();
    let msg = Message::from_xml(&messages::event(GH, "o", "CLICK", Some("V1001_HELLO"))).unwrap();
    assert_eq!(
        router.handler_for(&msg),
        Some("macro_handlers::handlers::hello")
    );
    let msg = Message::from_xml(&messages::text(GH, "o", "weather x", 1)).unwrap();
    assert_eq!(
        router.handler_for(&msg),
        Some("macro_handlers::handlers::weather")
    );
}
