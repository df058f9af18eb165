//! Criterion benchmark of the whole inbound stack in process (`cargo bench -p wechat-tower --bench
//! stack`): [`WechatLayer`] around an echo handler, driven with `tower::ServiceExt::oneshot` on the
//! exact query and body of wechat-core's `benches/data/fixture.json` (the end-to-end workload W5
//! without the socket), in safe mode and in plaintext mode. The handler is mounted on the `Router`
//! with its retry cache off, as echo-bot's for W5; a second safe-mode benchmark mounts it as a
//! bare `service_fn`, to show what the router costs. The timestamp window is off, since the fixture has
//! a fixed timestamp. Each op reads the whole response body, as a server must before writing it.
//! The replies are checked (signature, decryption, echo) before timing, and the heap
//! allocations of one request through each variant are counted and printed.

#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::alloc::System;
use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::{Layer, Service, ServiceExt, service_fn};
use wechat_tower::core::xml::Document;
use wechat_tower::message::TextMessage;
use wechat_tower::router::{Router, RouterService};
use wechat_tower::{Message, MsgCrypt, Reply, WechatConfig, WechatLayer, signature};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The fixture shared with the peers' runners (a copy lives beside the wechat-core benches).
const FIXTURE: &str = include_str!("../../wechat-core/benches/data/fixture.json");

/// The fields of the fixture this benchmark uses.
struct Fixture {
    token: String,
    encoding_aes_key: String,
    appid: String,
    timestamp: String,
    nonce: String,
    openid: String,
    signature: String,
    plain_xml: String,
    encrypted_body: String,
    query: String,
    reply_content: String,
}

impl Fixture {
    fn load() -> Self {
        let v: serde_json::Value = serde_json::from_str(FIXTURE).expect("fixture.json is JSON");
        let field = |name: &str| {
            v[name]
                .as_str()
                .unwrap_or_else(|| panic!("fixture.json lacks the string {name}"))
                .to_owned()
        };
        Self {
            token: field("token"),
            encoding_aes_key: field("encoding_aes_key"),
            appid: field("appid"),
            timestamp: field("timestamp"),
            nonce: field("nonce"),
            openid: field("openid"),
            signature: field("signature"),
            plain_xml: field("plain_xml"),
            encrypted_body: field("encrypted_body"),
            query: field("query"),
            reply_content: field("reply_content"),
        }
    }

    /// The query WeChat sends in plaintext mode: the fixture's minus `encrypt_type` and
    /// `msg_signature`.
    fn plain_query(&self) -> String {
        format!(
            "signature={}&timestamp={}&nonce={}&openid={}",
            self.signature, self.timestamp, self.nonce, self.openid
        )
    }
}

/// The text handler of W5: echoes the Content.
async fn echo_text(msg: TextMessage) -> String {
    msg.content
}

/// The bot of W5: a [`Router`] with the text handler, its retry cache off as echo-bot's for W5
/// (the fixture repeats one message), the default deadline.
fn router() -> RouterService {
    Router::new()
        .handler(echo_text)
        .dedup(false)
        .build()
        .expect("one route")
}

/// The same handler as a bare `service_fn`, without the router: the difference between the two
/// benchmarks is the router's cost (dispatch, handler task, deadline).
fn echo()
-> impl Service<Message, Response = Reply, Error = Infallible, Future: Send> + Clone + Send + 'static
{
    service_fn(|msg: Message| async move {
        Ok(match msg {
            Message::Text(text) => Reply::text(text.content),
            _ => Reply::Success,
        })
    })
}

fn request(path_and_query: &str, body: &Bytes) -> Request<Full<Bytes>> {
    Request::post(path_and_query)
        .header(http::header::CONTENT_TYPE, "text/xml")
        .body(Full::new(body.clone()))
        .expect("a valid request")
}

async fn call<S>(svc: &S, req: Request<Full<Bytes>>) -> (StatusCode, Bytes)
where
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone,
{
    let res = svc.clone().oneshot(req).await.expect("infallible");
    let status = res.status();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("an in-memory body")
        .to_bytes();
    (status, body)
}

/// Prints the heap allocations of one request through `svc`, averaged over 100.
async fn count_allocations<S>(name: &str, svc: &S, uri: &str, body: &Bytes)
where
    S: Service<Request<Full<Bytes>>, Response = Response<Full<Bytes>>, Error = Infallible> + Clone,
{
    const N: u32 = 100;
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        black_box(call(svc, request(uri, body)).await);
    }
    let stats = region.change();
    println!(
        "stack/{name}: {:.1} allocations, {:.0} bytes per request",
        f64::from(u32::try_from(stats.allocations).unwrap_or(u32::MAX)) / f64::from(N),
        f64::from(u32::try_from(stats.bytes_allocated).unwrap_or(u32::MAX)) / f64::from(N),
    );
}

/// Checks a text reply: from the account to the sender, echoing the fixture's content.
fn check_text_reply(fx: &Fixture, xml: &str) {
    let Message::Text(text) = Message::from_xml(xml).expect("the reply parses") else {
        panic!("not a text reply: {xml}");
    };
    assert_eq!(text.content, fx.reply_content, "{xml}");
    assert_eq!(text.header.to_user_name, fx.openid, "{xml}");
    assert_eq!(text.header.from_user_name, "gh_0123456789ab", "{xml}");
}

/// Reads an encrypted reply as WeChat does: checks `MsgSignature`, decrypts, checks the app id.
fn open_envelope(fx: &Fixture, crypt: &MsgCrypt, envelope: &str) -> String {
    let doc = Document::parse(envelope).expect("the envelope parses");
    let root = doc.root();
    let field = |name: &str| {
        root.child_text(name)
            .unwrap_or_else(|| panic!("envelope without {name}: {envelope}"))
    };
    let encrypt = field("Encrypt");
    assert!(
        signature::verify(
            field("MsgSignature"),
            &[&fx.token, field("TimeStamp"), field("Nonce"), encrypt]
        ),
        "MsgSignature of the reply does not verify: {envelope}"
    );
    crypt.decrypt(encrypt).expect("the reply decrypts")
}

fn stack(c: &mut Criterion) {
    let fx = Fixture::load();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");

    let safe_config = WechatConfig::safe(&fx.token, &fx.encoding_aes_key, &fx.appid)
        .expect("the fixture's EncodingAESKey")
        .timestamp_window_secs(0);
    let safe = WechatLayer::new(safe_config.clone()).layer(router());
    let safe_fn = WechatLayer::new(safe_config).layer(echo());
    let safe_uri = format!("/wechat?{}", fx.query);
    let safe_body = Bytes::from(fx.encrypted_body.clone());

    let plain_config = WechatConfig::plaintext(&fx.token).timestamp_window_secs(0);
    let plain = WechatLayer::new(plain_config).layer(router());
    let plain_uri = format!("/wechat?{}", fx.plain_query());
    let plain_body = Bytes::from(fx.plain_xml.clone());

    // Self-check before timing: the safe reply verifies, decrypts and echoes; the plaintext one
    // echoes; a wrong signature is refused.
    let crypt = MsgCrypt::new(&fx.token, &fx.encoding_aes_key, &fx.appid).expect("fixture key");
    rt.block_on(async {
        for (status, body) in [
            call(&safe, request(&safe_uri, &safe_body)).await,
            call(&safe_fn, request(&safe_uri, &safe_body)).await,
        ] {
            let envelope = std::str::from_utf8(&body).expect("UTF-8 reply");
            assert_eq!(status, StatusCode::OK, "{envelope}");
            check_text_reply(&fx, &open_envelope(&fx, &crypt, envelope));
        }

        let (status, body) = call(&plain, request(&plain_uri, &plain_body)).await;
        let xml = std::str::from_utf8(&body).expect("UTF-8 reply");
        assert_eq!(status, StatusCode::OK, "{xml}");
        check_text_reply(&fx, xml);

        let forged = safe_uri.replace(&fx.signature, &"0".repeat(40));
        let (status, _) = call(&safe, request(&forged, &safe_body)).await;
        assert!(
            status.is_client_error(),
            "forged signature answered {status}"
        );
    });

    // Allocations of one request (after the warm-up above), averaged over a few.
    rt.block_on(async {
        count_allocations("safe, router", &safe, &safe_uri, &safe_body).await;
        count_allocations("safe, service_fn", &safe_fn, &safe_uri, &safe_body).await;
        count_allocations("plaintext, router", &plain, &plain_uri, &plain_body).await;
    });

    let mut group = c.benchmark_group("stack");
    group.throughput(Throughput::Elements(1));
    group.bench_function("safe text echo, router (W5 in process)", |b| {
        b.to_async(&rt)
            .iter(|| call(&safe, request(black_box(&safe_uri), black_box(&safe_body))));
    });
    group.bench_function("safe text echo, service_fn", |b| {
        b.to_async(&rt).iter(|| {
            call(
                &safe_fn,
                request(black_box(&safe_uri), black_box(&safe_body)),
            )
        });
    });
    group.bench_function("plaintext text echo, router", |b| {
        b.to_async(&rt).iter(|| {
            call(
                &plain,
                request(black_box(&plain_uri), black_box(&plain_body)),
            )
        });
    });
    group.finish();
}

criterion_group!(benches, stack);
criterion_main!(benches);
