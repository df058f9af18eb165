//! The inbound server end to end: real TCP on 127.0.0.1, axum and plain hyper, requests built
//! and replies read exactly as WeChat does.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tower::Layer;
use wechat_e2e::{send, spawn_axum, spawn_hyper};
use wechat_tower::message::{
    ClickEvent, ImageMessage, LinkMessage, LocationEvent, LocationMessage, ScanEvent,
    ShortVideoMessage, SubscribeEvent, TextMessage, UnsubscribeEvent, VideoMessage, ViewEvent,
    VoiceMessage,
};
use wechat_tower::router::{LateReply, Router, RouterService};
use wechat_tower::test_util::{Simulator, messages};
use wechat_tower::{Message, MessageContext, Reply, State, WechatConfig, WechatLayer};

const TOKEN: &str = "e2e_token";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx0123456789abcdef";
const GH: &str = "gh_e2e";
const USER: &str = "oE2eUser";

fn safe() -> WechatConfig {
    WechatConfig::safe(TOKEN, KEY, APPID).unwrap()
}

fn sim_safe() -> Simulator {
    Simulator::safe(TOKEN, KEY, APPID).unwrap()
}

/// A handler per message and event type, each answering with its own name.
fn every_type_router() -> RouterService {
    async fn text(m: TextMessage) -> String {
        format!("text:{}", m.content)
    }
    async fn image(m: ImageMessage) -> String {
        format!("image:{}", m.media_id)
    }
    async fn voice(m: VoiceMessage) -> String {
        format!("voice:{}", m.recognition.unwrap_or_default())
    }
    async fn video(m: VideoMessage) -> String {
        format!("video:{}", m.media_id)
    }
    async fn shortvideo(m: ShortVideoMessage) -> String {
        format!("shortvideo:{}", m.media_id)
    }
    async fn location(m: LocationMessage) -> String {
        format!("location:{}", m.label)
    }
    async fn link(m: LinkMessage) -> String {
        format!("link:{}", m.url)
    }
    async fn subscribe(e: SubscribeEvent) -> String {
        format!("subscribe:{}", e.scene().unwrap_or("-"))
    }
    async fn unsubscribe(_: UnsubscribeEvent) -> &'static str {
        "unsubscribe"
    }
    async fn scan(e: ScanEvent) -> String {
        format!("scan:{}", e.event_key)
    }
    async fn location_event(e: LocationEvent) -> String {
        format!("location-event:{}", e.latitude)
    }
    async fn click(e: ClickEvent) -> String {
        format!("click:{}", e.event_key)
    }
    async fn view(e: ViewEvent) -> String {
        format!("view:{}", e.event_key)
    }
    Router::new()
        .handler(text)
        .handler(image)
        .handler(voice)
        .handler(video)
        .handler(shortvideo)
        .handler(location)
        .handler(link)
        .handler(subscribe)
        .handler(unsubscribe)
        .handler(scan)
        .handler(location_event)
        .handler(click)
        .handler(view)
        .build()
        .unwrap()
}

fn content_of(reply_xml: &str) -> String {
    let doc = wechat_tower::core::xml::Document::parse(reply_xml).unwrap();
    doc.root()
        .child_text("Content")
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn handshake_echoes_on_axum_and_hyper() {
    let bot = WechatLayer::new(safe()).layer(every_type_router());
    let sim = sim_safe();
    for addr in [spawn_axum(bot.clone()).await, spawn_hyper(bot).await] {
        let (status, body) = send(addr, sim.handshake("/wechat", "echo 123")).await;
        assert_eq!(status, 200);
        assert_eq!(&body[..], b"echo 123");
    }
}

#[tokio::test]
async fn every_message_type_reaches_its_handler_in_safe_mode() {
    let bot = WechatLayer::new(safe()).layer(every_type_router());
    let sim = sim_safe();
    let cases = [
        (
            messages::text(GH, USER, "你好 ]]> <b>", 1),
            "text:你好 ]]> <b>",
        ),
        (
            messages::image(GH, USER, "http://p", "img1", 2),
            "image:img1",
        ),
        (
            messages::voice(GH, USER, "v1", Some("语音"), 3),
            "voice:语音",
        ),
        (messages::video(GH, USER, "vid1", false, 4), "video:vid1"),
        (
            messages::video(GH, USER, "svid1", true, 5),
            "shortvideo:svid1",
        ),
        (
            messages::location(GH, USER, 23.1, 113.3, "广州", 6),
            "location:广州",
        ),
        (
            messages::link(GH, USER, "t", "http://u", 7),
            "link:http://u",
        ),
        (
            messages::event(GH, USER, "subscribe", Some("qrscene_42")),
            "subscribe:42",
        ),
        (messages::event(GH, USER, "subscribe", None), "subscribe:-"),
        (
            messages::event(GH, USER, "unsubscribe", None),
            "unsubscribe",
        ),
        (messages::event(GH, USER, "SCAN", Some("42")), "scan:42"),
        (
            messages::location_event(GH, USER, 23.5, 113.0),
            "location-event:23.5",
        ),
        (messages::event(GH, USER, "CLICK", Some("K1")), "click:K1"),
        (
            messages::event(GH, USER, "VIEW", Some("http://v")),
            "view:http://v",
        ),
    ];
    for addr in [
        spawn_axum(bot.clone()).await,
        spawn_hyper(bot.clone()).await,
    ] {
        for (xml, expected) in &cases {
            let (status, body) = send(addr, sim.push("/wechat", xml)).await;
            assert_eq!(status, 200, "{xml}");
            let reply = sim.read_reply(&body).unwrap();
            assert_eq!(content_of(&reply), *expected, "{xml}");
            let doc = wechat_tower::core::xml::Document::parse(&reply).unwrap();
            assert_eq!(doc.root().child_text("ToUserName"), Some(USER));
            assert_eq!(doc.root().child_text("FromUserName"), Some(GH));
        }
    }
}

#[tokio::test]
async fn plaintext_compatible_and_json_modes() {
    let plain = WechatLayer::new(WechatConfig::plaintext(TOKEN)).layer(every_type_router());
    let addr = spawn_axum(plain).await;
    let sim = Simulator::plaintext(TOKEN);
    let (status, body) = send(
        addr,
        sim.push("/wechat", &messages::text(GH, USER, "p", 10)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(content_of(&sim.read_reply(&body).unwrap()), "text:p");

    let compatible = WechatConfig::compatible(TOKEN, KEY, APPID).unwrap();
    let addr = spawn_axum(WechatLayer::new(compatible).layer(every_type_router())).await;
    let (_, body) = send(
        addr,
        sim.push("/wechat", &messages::text(GH, USER, "c1", 11)),
    )
    .await;
    assert_eq!(content_of(std::str::from_utf8(&body).unwrap()), "text:c1");
    let encrypted = sim_safe();
    let (_, body) = send(
        addr,
        encrypted.push("/wechat", &messages::text(GH, USER, "c2", 12)),
    )
    .await;
    assert!(std::str::from_utf8(&body).unwrap().contains("<Encrypt>"));
    assert_eq!(content_of(&encrypted.read_reply(&body).unwrap()), "text:c2");

    let addr = spawn_axum(WechatLayer::new(safe()).layer(every_type_router())).await;
    // Mini Program message push configured with JSON: JSON envelope, JSON message, JSON reply.
    let json = sim_safe().json(true);
    let inner = format!(
        r#"{{"ToUserName":"{GH}","FromUserName":"{USER}","CreateTime":1700000000,"MsgType":"text","Content":"j","MsgId":13}}"#
    );
    let (status, body) = send(addr, json.push("/wechat", &inner)).await;
    assert_eq!(status, 200);
    let reply = json.read_reply(&body).unwrap();
    assert!(reply.contains("\"Content\":\"text:j\""), "{reply}");
}

#[tokio::test]
async fn refusals_have_the_right_status() {
    let config = safe().body_limit(4096);
    let addr = spawn_axum(WechatLayer::new(config).layer(every_type_router())).await;
    let sim = sim_safe();
    let text = messages::text(GH, USER, "x", 20);

    let mut forged = sim.push("/wechat", &text);
    let uri = forged
        .uri()
        .to_string()
        .replace("signature=", "signature=f");
    *forged.uri_mut() = uri.parse().unwrap();
    assert_eq!(send(addr, forged).await.0, 401, "wrong signature");

    let mut bad_msg_sig = sim.push("/wechat", &text);
    let uri = bad_msg_sig
        .uri()
        .to_string()
        .replace("msg_signature=", "msg_signature=0");
    *bad_msg_sig.uri_mut() = uri.parse().unwrap();
    assert_eq!(send(addr, bad_msg_sig).await.0, 401, "wrong msg_signature");

    let stale = sim.push_at("/wechat", &text, "1000000000", "1");
    assert_eq!(send(addr, stale).await.0, 401, "stale timestamp");

    let big = messages::text(GH, USER, &"x".repeat(8000), 21);
    assert_eq!(
        send(addr, sim.push("/wechat", &big)).await.0,
        413,
        "oversize body"
    );

    let plain_sim = Simulator::plaintext(TOKEN);
    let plain_addr =
        spawn_hyper(WechatLayer::new(WechatConfig::plaintext(TOKEN)).layer(every_type_router()))
            .await;
    for body in [
        "<xml><MsgType>text",
        "<!DOCTYPE x [<!ENTITY a \"b\">]><xml>&a;</xml>",
        "garbage",
    ] {
        let (status, _) = send(plain_addr, plain_sim.push("/wechat", body)).await;
        assert_eq!(status, 400, "{body}");
    }
}

#[tokio::test]
async fn a_retry_runs_the_handler_once_and_gets_the_same_reply() {
    #[derive(Clone)]
    struct Counter(Arc<AtomicUsize>);
    async fn slow_counted(m: TextMessage, State(counter): State<Counter>) -> String {
        let n = counter.0.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
        format!("{}#{n}", m.content)
    }
    let counter = Counter(Arc::new(AtomicUsize::new(0)));
    let router = Router::new()
        .handler(slow_counted)
        .with_state(counter.clone())
        .build()
        .unwrap();
    let addr = spawn_axum(WechatLayer::new(safe()).layer(router)).await;
    let sim = sim_safe();
    let xml = messages::text(GH, USER, "once", 777);
    // Two concurrent deliveries (the retry arrives while the first runs), then a late retry.
    let (a, b) = tokio::join!(
        send(addr, sim.push("/wechat", &xml)),
        send(addr, sim.push("/wechat", &xml))
    );
    let (c_status, c) = send(addr, sim.push("/wechat", &xml)).await;
    assert!([a.0, b.0, c_status].iter().all(|s| *s == 200));
    let replies: Vec<String> = [a.1, b.1, c]
        .iter()
        .map(|body| content_of(&sim.read_reply(body).unwrap()))
        .collect();
    assert_eq!(replies, ["once#1", "once#1", "once#1"]);
    assert_eq!(counter.0.load(Ordering::SeqCst), 1);

    // Another user's message with the same MsgId is not a retry.
    let other = messages::text(GH, "oOtherUser", "once", 777);
    let (_, body) = send(addr, sim.push("/wechat", &other)).await;
    assert_eq!(content_of(&sim.read_reply(&body).unwrap()), "once#2");
}

#[tokio::test]
async fn a_slow_handler_answers_success_and_its_reply_reaches_the_sink() {
    async fn slow(m: TextMessage, ctx: MessageContext) -> String {
        tokio::time::sleep(Duration::from_millis(600)).await;
        format!("late answer to {} for {}", m.content, ctx.open_id())
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<LateReply>();
    let router = Router::new()
        .handler(slow)
        .deadline(Duration::from_millis(100))
        .late_reply_sink(move |late: LateReply| {
            let _ = tx.send(late);
        })
        .build()
        .unwrap();
    let addr = spawn_hyper(WechatLayer::new(safe()).layer(router)).await;
    let sim = sim_safe();
    let (status, body) = send(
        addr,
        sim.push("/wechat", &messages::text(GH, USER, "q", 31)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&body[..], b"success");
    let late = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the late reply arrives")
        .expect("sink open");
    assert_eq!(late.open_id(), USER);
    assert_eq!(
        late.reply(),
        &Reply::text(format!("late answer to q for {USER}"))
    );
}

#[tokio::test]
async fn a_fallback_sees_what_no_route_takes() {
    async fn text(_: TextMessage) -> &'static str {
        "text"
    }
    async fn fallback(m: Message) -> String {
        format!("fallback:{}", m.msg_type())
    }
    let router = Router::new()
        .handler(text)
        .fallback(fallback)
        .build()
        .unwrap();
    let addr = spawn_axum(WechatLayer::new(WechatConfig::plaintext(TOKEN)).layer(router)).await;
    let sim = Simulator::plaintext(TOKEN);
    let (_, body) = send(
        addr,
        sim.push("/wechat", &messages::link(GH, USER, "t", "http://u", 40)),
    )
    .await;
    assert_eq!(
        content_of(std::str::from_utf8(&body).unwrap()),
        "fallback:link"
    );
}
