//! Tests of the inbound layers, alone and stacked, in process (`oneshot`).

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt, service_fn};
use wechat_core::{Message, Reply, signature};

use super::{CryptoLayer, SignatureLayer, VerifiedQuery, WechatLayer, XmlLayer};
use crate::config::WechatConfig;
use crate::rejection::Rejection;

const TOKEN: &str = "test_token";
const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const APPID: &str = "wx0123456789abcdef";
const NOW: u64 = 1_700_000_000;

fn text_xml(content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName>\
         <CreateTime>{NOW}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>\
         <MsgId>1</MsgId></xml>"
    )
}

fn echo()
-> impl Service<Message, Response = Reply, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    service_fn(|msg: Message| async move {
        Ok(match msg {
            Message::Text(t) if t.content == "quiet" => Reply::Success,
            Message::Text(t) => Reply::text(format!("echo: {}", t.content)),
            _ => Reply::Success,
        })
    })
}

fn query(timestamp: &str, nonce: &str) -> String {
    let sig = signature::sign(&[TOKEN, timestamp, nonce]);
    format!("signature={sig}&timestamp={timestamp}&nonce={nonce}")
}

fn post(uri: &str, body: impl Into<Bytes>) -> Request<Full<Bytes>> {
    Request::post(uri).body(Full::new(body.into())).unwrap()
}

async fn body_text(res: Response<Full<Bytes>>) -> String {
    String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}

fn plain_config() -> WechatConfig {
    WechatConfig::plaintext(TOKEN).clock(|| NOW)
}

fn safe_config() -> WechatConfig {
    WechatConfig::safe(TOKEN, KEY, APPID).unwrap().clock(|| NOW)
}

async fn rejection_of<S>(svc: S, req: Request<Full<Bytes>>) -> Option<Rejection>
where
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible>,
{
    svc.oneshot(req)
        .await
        .unwrap()
        .extensions()
        .get::<Rejection>()
        .copied()
}

#[tokio::test]
async fn handshake_echoes_echostr() {
    let svc = WechatLayer::new(plain_config()).layer(echo());
    let uri = format!(
        "/wechat?{}&echostr=4375120948345356249",
        query("1700000000", "n1")
    );
    let res = svc
        .oneshot(Request::get(uri).body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_text(res).await, "4375120948345356249");
}

#[tokio::test]
async fn signature_failures_are_401_before_the_body_is_read() {
    let svc = WechatLayer::new(plain_config()).layer(echo());
    let cases = [
        ("/wechat".to_owned(), Rejection::MissingSignature),
        (
            "/wechat?timestamp=1700000000&nonce=1".to_owned(),
            Rejection::MissingSignature,
        ),
        (
            format!(
                "/wechat?signature={}&timestamp=1700000000&nonce=1",
                "0".repeat(40)
            ),
            Rejection::InvalidSignature,
        ),
        (
            format!("/wechat?{}", query("1699999000", "n")),
            Rejection::StaleTimestamp,
        ),
        (
            format!("/wechat?{}", query("soon", "n")),
            Rejection::StaleTimestamp,
        ),
    ];
    for (uri, expected) in cases {
        let res = svc
            .clone()
            .oneshot(post(&uri, text_xml("hi")))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(
            res.extensions().get::<Rejection>(),
            Some(&expected),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn other_methods_and_bare_gets_are_refused() {
    let svc = WechatLayer::new(plain_config()).layer(echo());
    let uri = format!("/wechat?{}", query("1700000000", "n"));
    let get = Request::get(&uri).body(Full::new(Bytes::new())).unwrap();
    assert_eq!(
        rejection_of(svc.clone(), get).await,
        Some(Rejection::MissingEchostr)
    );
    let put = Request::put(&uri).body(Full::new(Bytes::new())).unwrap();
    assert_eq!(
        rejection_of(svc, put).await,
        Some(Rejection::MethodNotAllowed)
    );
}

#[tokio::test]
async fn oversize_bodies_are_413() {
    let svc = WechatLayer::new(plain_config().body_limit(100)).layer(echo());
    let uri = format!("/wechat?{}", query("1700000000", "n"));
    let mut announced = post(&uri, text_xml("x"));
    announced
        .headers_mut()
        .insert(http::header::CONTENT_LENGTH, "100000".parse().unwrap());
    assert_eq!(
        rejection_of(svc.clone(), announced).await,
        Some(Rejection::BodyTooLarge)
    );
    let streamed = post(&uri, text_xml(&"x".repeat(200)));
    assert_eq!(
        rejection_of(svc, streamed).await,
        Some(Rejection::BodyTooLarge)
    );
}

#[tokio::test]
async fn plaintext_text_is_answered_in_xml_and_success_stays_plain() {
    let svc = WechatLayer::new(plain_config()).layer(echo());
    let uri = format!("/wechat?{}", query("1700000000", "n"));
    let res = svc
        .clone()
        .oneshot(post(&uri, text_xml("hi")))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = body_text(res).await;
    assert!(
        body.contains("<ToUserName><![CDATA[oUser]]></ToUserName>"),
        "{body}"
    );
    assert!(
        body.contains("<FromUserName><![CDATA[gh_account]]></FromUserName>"),
        "{body}"
    );
    assert!(
        body.contains("<CreateTime>1700000000</CreateTime>"),
        "{body}"
    );
    assert!(
        body.contains("<Content><![CDATA[echo: hi]]></Content>"),
        "{body}"
    );
    let res = svc.oneshot(post(&uri, text_xml("quiet"))).await.unwrap();
    assert_eq!(body_text(res).await, "success");
}

#[tokio::test]
async fn malformed_and_doctype_bodies_are_400() {
    let svc = WechatLayer::new(plain_config()).layer(echo());
    let uri = format!("/wechat?{}", query("1700000000", "n"));
    for body in [
        "not xml".to_owned(),
        "<xml><ToUserName>gh</ToUserName>".to_owned(),
        format!("<!DOCTYPE xml [<!ENTITY a \"b\">]>{}", text_xml("&a;")),
        "<xml><MsgType>text</MsgType></xml>".to_owned(),
        "{\"MsgType\": ".to_owned(),
    ] {
        assert_eq!(
            rejection_of(svc.clone(), post(&uri, body.clone())).await,
            Some(Rejection::BadMessage),
            "{body}"
        );
    }
}

fn safe_push(
    crypt: &wechat_core::MsgCrypt,
    inner: &str,
    timestamp: &str,
    nonce: &str,
) -> (String, String) {
    let encrypt = crypt.encrypt(inner);
    let msg_signature = crypt.signature(timestamp, nonce, &encrypt);
    let uri = format!(
        "/wechat?{}&encrypt_type=aes&msg_signature={msg_signature}",
        query(timestamp, nonce)
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    (uri, body)
}

#[tokio::test]
async fn safe_mode_decrypts_and_answers_encrypted() {
    let crypt = wechat_core::MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
    let svc = WechatLayer::new(safe_config()).layer(echo());
    let (uri, body) = safe_push(&crypt, &text_xml("你好"), "1700000000", "n2");
    let res = svc.oneshot(post(&uri, body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let envelope = body_text(res).await;
    let doc = wechat_core::xml::Document::parse(&envelope).unwrap();
    let root = doc.root();
    let (encrypt, sig) = (
        root.child_text("Encrypt").unwrap(),
        root.child_text("MsgSignature").unwrap(),
    );
    let (ts, nonce) = (
        root.child_text("TimeStamp").unwrap(),
        root.child_text("Nonce").unwrap(),
    );
    assert_eq!(ts, "1700000000");
    assert_ne!(nonce, "n2", "the reply nonce is fresh");
    let xml = crypt.verify_and_decrypt(sig, ts, nonce, encrypt).unwrap();
    assert!(
        xml.contains("<Content><![CDATA[echo: 你好]]></Content>"),
        "{xml}"
    );
}

#[tokio::test]
async fn safe_mode_refusals() {
    let crypt = wechat_core::MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
    let other = wechat_core::MsgCrypt::new(TOKEN, KEY, "wxother").unwrap();
    let svc = WechatLayer::new(safe_config()).layer(echo());
    let (uri, body) = safe_push(&crypt, &text_xml("x"), "1700000000", "n");
    let tampered_uri = uri.replace("msg_signature=", "msg_signature=0");
    assert_eq!(
        rejection_of(svc.clone(), post(&tampered_uri, body.clone())).await,
        Some(Rejection::InvalidMsgSignature)
    );
    let plain_uri = format!("/wechat?{}", query("1700000000", "n"));
    assert_eq!(
        rejection_of(svc.clone(), post(&plain_uri, text_xml("x"))).await,
        Some(Rejection::MissingMsgSignature)
    );
    let (uri, body) = safe_push(&other, &text_xml("x"), "1700000000", "n");
    assert_eq!(
        rejection_of(svc, post(&uri, body)).await,
        Some(Rejection::DecryptFailed)
    );
}

#[tokio::test]
async fn compatible_mode_takes_both() {
    let crypt = wechat_core::MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
    let config = WechatConfig::compatible(TOKEN, KEY, APPID)
        .unwrap()
        .clock(|| NOW);
    let svc = WechatLayer::new(config).layer(echo());
    let plain_uri = format!("/wechat?{}", query("1700000000", "n"));
    let plain = body_text(
        svc.clone()
            .oneshot(post(&plain_uri, text_xml("a")))
            .await
            .unwrap(),
    )
    .await;
    assert!(plain.contains("echo: a"), "{plain}");
    let (uri, body) = safe_push(&crypt, &text_xml("b"), "1700000000", "n");
    let encrypted = body_text(svc.oneshot(post(&uri, body)).await.unwrap()).await;
    assert!(encrypted.contains("<Encrypt>"), "{encrypted}");
}

#[tokio::test]
async fn json_envelopes_get_json_replies() {
    let crypt = wechat_core::MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
    let svc = WechatLayer::new(safe_config()).layer(echo());
    let inner = r#"{"ToUserName":"gh_mini","FromUserName":"oUser","CreateTime":1700000000,"MsgType":"text","Content":"hey","MsgId":9}"#;
    let encrypt = crypt.encrypt(inner);
    let msg_signature = crypt.signature("1700000000", "n", &encrypt);
    let uri = format!(
        "/wechat?{}&encrypt_type=aes&msg_signature={msg_signature}",
        query("1700000000", "n")
    );
    let body = serde_json::json!({ "ToUserName": "gh_mini", "Encrypt": encrypt }).to_string();
    let res = svc.oneshot(post(&uri, body)).await.unwrap();
    let envelope: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
    let ts = envelope["TimeStamp"].to_string();
    let json = crypt
        .verify_and_decrypt(
            envelope["MsgSignature"].as_str().unwrap(),
            &ts,
            envelope["Nonce"].as_str().unwrap(),
            envelope["Encrypt"].as_str().unwrap(),
        )
        .unwrap();
    let reply: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(reply["Content"], "echo: hey");
    assert_eq!(reply["ToUserName"], "oUser");
}

#[tokio::test]
async fn signature_layer_hands_the_verified_query_inward() {
    let seen = Arc::new(std::sync::Mutex::new(None));
    let seen2 = Arc::clone(&seen);
    let inner = service_fn(move |req: Request<Full<Bytes>>| {
        let seen = Arc::clone(&seen2);
        async move {
            *seen.lock().unwrap() = req.extensions().get::<VerifiedQuery>().cloned();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
        }
    });
    let svc = SignatureLayer::new(plain_config()).layer(inner);
    let uri = format!("/wechat?{}&openid=oUser", query("1700000000", "n9"));
    svc.oneshot(post(&uri, "x")).await.unwrap();
    let query = seen.lock().unwrap().clone().unwrap();
    assert_eq!((query.timestamp(), query.nonce()), ("1700000000", "n9"));
    assert_eq!(query.openid(), Some("oUser"));
    assert_eq!(query.msg_signature(), None);
    assert!(!query.is_encrypted());
}

/// A service that panics when called without a successful `poll_ready` first.
#[derive(Clone, Default)]
struct MustBeReady {
    ready: bool,
    calls: Arc<AtomicUsize>,
}

impl Service<Message> for MustBeReady {
    type Response = Reply;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Reply, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.ready = true;
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Message) -> Self::Future {
        assert!(self.ready, "called without poll_ready");
        self.ready = false;
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(Reply::Success))
    }
}

#[tokio::test]
async fn layers_call_the_service_that_was_made_ready() {
    let inner = MustBeReady::default();
    let calls = Arc::clone(&inner.calls);
    let mut svc = WechatLayer::new(plain_config()).layer(inner);
    let uri = format!("/wechat?{}", query("1700000000", "n"));
    for _ in 0..3 {
        let ready = ServiceExt::<Request<Full<Bytes>>>::ready(&mut svc)
            .await
            .unwrap();
        let res = ready.call(post(&uri, text_xml("x"))).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn each_layer_works_alone() {
    // CryptoLayer alone parses the query itself.
    let crypt = wechat_core::MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
    let (uri, body) = safe_push(&crypt, &text_xml("alone"), "1700000000", "n");
    let svc = CryptoLayer::new(safe_config()).layer(XmlLayer::new().layer(echo()));
    let res = svc.oneshot(post(&uri, body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(body_text(res).await.contains("<Encrypt>"));
}

/// A message service whose `poll_ready` fails, and that panics if called anyway.
#[derive(Clone)]
struct NeverReady;

impl Service<Message> for NeverReady {
    type Response = Reply;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Reply, std::io::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        Poll::Ready(Err(std::io::Error::other("down")))
    }

    fn call(&mut self, _: Message) -> Self::Future {
        panic!("called although poll_ready failed");
    }
}

#[tokio::test]
async fn an_inner_service_that_is_not_ready_gives_500_without_being_called() {
    let fused = WechatLayer::new(plain_config()).layer(NeverReady);
    let stacked = SignatureLayer::new(plain_config())
        .layer(CryptoLayer::new(plain_config()).layer(XmlLayer::new().layer(NeverReady)));
    let uri = format!("/wechat?{}", query("1700000000", "n"));
    assert_eq!(
        rejection_of(fused, post(&uri, text_xml("x"))).await,
        Some(Rejection::HandlerFailed)
    );
    assert_eq!(
        rejection_of(stacked, post(&uri, text_xml("x"))).await,
        Some(Rejection::HandlerFailed)
    );
}

/// A handler for the equivalence test: echoes text, answers `success` to "quiet", fails on
/// "fail", and answers an unwritable news reply (9 articles) to "news".
fn varied()
-> impl Service<Message, Response = Reply, Error = std::io::Error, Future: Send> + Clone + Send + 'static
{
    service_fn(|msg: Message| async move {
        match msg {
            Message::Text(t) if t.content == "quiet" => Ok(Reply::Success),
            Message::Text(t) if t.content == "fail" => Err(std::io::Error::other("boom")),
            Message::Text(t) if t.content == "news" => {
                Ok(Reply::News(vec![wechat_core::reply::Article::default(); 9]))
            }
            Message::Text(t) => Ok(Reply::text(format!("echo: {}", t.content))),
            _ => Ok(Reply::Success),
        }
    })
}

/// What a response says, with an encrypted reply opened (its nonce and prefix are random).
async fn outcome(
    res: Response<Full<Bytes>>,
    sim: &crate::test_util::Simulator,
) -> (StatusCode, Option<String>, Option<Rejection>, String) {
    let status = res.status();
    let content_type = res
        .headers()
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let rejection = res.extensions().get::<Rejection>().copied();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = match sim.read_reply(&body) {
        Ok(opened) if body.windows(7).any(|w| w == b"Encrypt") => format!("opened: {opened}"),
        _ => String::from_utf8(body.to_vec()).unwrap(),
    };
    (status, content_type, rejection, text)
}

#[tokio::test]
async fn wechat_layer_answers_exactly_as_the_three_layers_stacked() {
    use crate::test_util::{Simulator, messages};

    let text = |content: &str| messages::text("gh_account", "oUser", content, 1);
    let configs = [
        ("plaintext", plain_config(), Simulator::plaintext(TOKEN)),
        (
            "safe",
            safe_config(),
            Simulator::safe(TOKEN, KEY, APPID).unwrap(),
        ),
        (
            "safe, JSON",
            safe_config(),
            Simulator::safe(TOKEN, KEY, APPID).unwrap().json(true),
        ),
        (
            "compatible",
            WechatConfig::compatible(TOKEN, KEY, APPID)
                .unwrap()
                .clock(|| NOW),
            Simulator::safe(TOKEN, KEY, APPID).unwrap(),
        ),
    ];
    let mut compared = 0;
    for (mode, config, sim) in configs {
        let sim = sim.clock(|| NOW);
        let config = Arc::new(config.body_limit(2048));
        let fused = WechatLayer::new(Arc::clone(&config)).layer(varied());
        let stacked = tower::ServiceBuilder::new()
            .layer(SignatureLayer::new(Arc::clone(&config)))
            .layer(CryptoLayer::new(Arc::clone(&config)))
            .layer(XmlLayer::new().body_limit(2048).clock(|| NOW))
            .service(varied());

        let push = |xml: &str| sim.push("/wechat", xml);
        let with_uri = |req: Request<Full<Bytes>>, f: &dyn Fn(&str) -> String| {
            let (mut parts, body) = req.into_parts();
            parts.uri = f(&parts.uri.to_string()).parse().unwrap();
            Request::from_parts(parts, body)
        };
        let with_body = |req: Request<Full<Bytes>>, body: &str| {
            let (parts, _) = req.into_parts();
            Request::from_parts(parts, Full::new(Bytes::from(body.to_owned())))
        };
        let requests = vec![
            sim.handshake("/wechat", "echo-me"),
            with_uri(sim.handshake("/wechat", "x"), &|u| {
                u.replace("&echostr=x", "")
            }),
            with_uri(push(&text("hi")), &|u| {
                u.replace("signature=", "signature=0")
            }),
            with_uri(push(&text("hi")), &|u| u.replace("&nonce=", "&nonce=0")),
            with_uri(push(&text("hi")), &|u| {
                u.split('?').next().unwrap().to_owned()
            }),
            with_uri(push(&text("hi")), &|u| {
                u.replace("msg_signature=", "msg_signature=0")
            }),
            with_uri(push(&text("hi")), &|u| u.replace("&encrypt_type=aes", "")),
            {
                let (mut parts, body) = push(&text("hi")).into_parts();
                parts.method = http::Method::PUT;
                Request::from_parts(parts, body)
            },
            push(&text("hi")),
            push(&text("你好 <&> ]]>")),
            push(&text("quiet")),
            push(&text("fail")),
            push(&text("news")),
            push(&text(&"x".repeat(3000))),
            push(&messages::event("gh_account", "oUser", "subscribe", None)),
            push("<xml><ToUserName>gh</ToUserName></xml>"),
            push("<!DOCTYPE x [<!ENTITY a \"b\">]><xml/>"),
            push("not xml"),
            push("{\"ToUserName\": 1}"),
            with_body(
                push(&text("hi")),
                "<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>",
            ),
            with_body(push(&text("hi")), &"y".repeat(4096)),
        ];
        for req in requests {
            let described = format!("{mode}: {} {}", req.method(), req.uri());
            let (parts, body) = req.into_parts();
            let copy = Request::from_parts(parts.clone(), body.clone());
            let a = outcome(fused.clone().oneshot(copy).await.unwrap(), &sim).await;
            let b = outcome(
                stacked
                    .clone()
                    .oneshot(Request::from_parts(parts, body))
                    .await
                    .unwrap(),
                &sim,
            )
            .await;
            assert_eq!(a, b, "{described}");
            compared += 1;
        }
    }
    assert_eq!(compared, 4 * 21);
}

/// The decrypted reply XML in a safe-mode answer.
fn open_reply(crypt: &wechat_core::MsgCrypt, envelope: &str) -> String {
    let doc = wechat_core::xml::Document::parse(envelope).unwrap();
    let root = doc.root();
    crypt
        .verify_and_decrypt(
            root.child_text("MsgSignature").unwrap(),
            root.child_text("TimeStamp").unwrap(),
            root.child_text("Nonce").unwrap(),
            root.child_text("Encrypt").unwrap(),
        )
        .unwrap()
}

/// Issue 16: one captured, correctly signed safe-mode request re-ran its handler every 31 s
/// while its timestamp was inside the window; a replay now gets the stored reply.
#[tokio::test(start_paused = true)]
async fn issue16_a_replayed_signed_request_gets_the_stored_reply_without_a_second_run() {
    let crypt = wechat_core::MsgCrypt::new(TOKEN, KEY, APPID).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let router = crate::router::Router::new()
        .fallback(move |_: Message| {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            async move { format!("run {n}") }
        })
        .build()
        .unwrap();
    // The server's clock follows Tokio's paused time.
    let start = tokio::time::Instant::now();
    let config = WechatConfig::safe(TOKEN, KEY, APPID)
        .unwrap()
        .clock(move || NOW + start.elapsed().as_secs());
    let svc = WechatLayer::new(config).layer(router);
    let (uri, body) = safe_push(&crypt, &text_xml("hi"), "1700000000", "n1");
    let expected = "<Content><![CDATA[run 1]]></Content>";

    let res = svc.clone().oneshot(post(&uri, body.clone())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let first = open_reply(&crypt, &body_text(res).await);
    assert!(first.contains(expected), "{first}");
    for at in [31, 200] {
        tokio::time::advance(
            start + std::time::Duration::from_secs(at) - tokio::time::Instant::now(),
        )
        .await;
        let res = svc.clone().oneshot(post(&uri, body.clone())).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "replay at {at} s");
        let replay = open_reply(&crypt, &body_text(res).await);
        assert!(replay.contains(expected), "replay at {at} s: {replay}");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    // Past the window the signature layer refuses it, before the record forgets it.
    tokio::time::advance(std::time::Duration::from_secs(101)).await;
    assert_eq!(
        rejection_of(svc, post(&uri, body)).await,
        Some(Rejection::StaleTimestamp)
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}
