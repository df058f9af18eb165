//! Extractors after the message: `MessageContext`, `OpenId`, `State<T>` (the state itself or a part of
//! it through `FromRef`), patterns, eight of them, an extractor of one's own generic over the
//! state, and one for a single state (checked where it is mounted, on a router of that state).

use std::convert::Infallible;

use tower::ServiceExt;
use wechat_tower::message::{ClickEvent, TextMessage};
use wechat_tower::{
    FromContext, FromRef, Message, MessageContext, OpenId, Reply, Router, State, wechat_handler,
};

#[derive(Clone)]
struct AppState {
    greeting: Greeting,
    count: u32,
}

#[derive(Clone)]
struct Greeting(&'static str);

impl FromRef<AppState> for Greeting {
    fn from_ref(app: &AppState) -> Self {
        app.greeting.clone()
    }
}

/// An extractor generic over the state, as extractors of one's own usually are.
struct Account(String);

impl<S> FromContext<S> for Account {
    type Rejection = Infallible;

    fn from_context(ctx: &MessageContext, _: &S) -> Result<Self, Infallible> {
        Ok(Self(ctx.account().to_owned()))
    }
}

/// An extractor for one state type only: checked where the handler is mounted.
struct Count(u32);

impl FromContext<AppState> for Count {
    type Rejection = Infallible;

    fn from_context(_: &MessageContext, app: &AppState) -> Result<Self, Infallible> {
        Ok(Self(app.count))
    }
}

#[wechat_handler(msg = "text")]
async fn greet(
    msg: TextMessage,
    ctx: MessageContext,
    OpenId(open_id): OpenId,
    State(app): State<AppState>,
    State(Greeting(greeting)): State<Greeting>,
    Account(account): Account,
) -> String {
    format!(
        "{greeting} {open_id} ({}) to {account} of {}: {}",
        ctx.open_id(),
        app.count,
        msg.content
    )
}

#[wechat_handler(event = "CLICK")]
async fn count(_: ClickEvent, Count(n): Count, _: State<Greeting>) -> String {
    n.to_string()
}

#[wechat_handler(fallback)]
async fn eight(
    _: Message,
    _: MessageContext,
    _: OpenId,
    _: MessageContext,
    _: OpenId,
    _: MessageContext,
    _: OpenId,
    _: MessageContext,
    OpenId(last): OpenId,
) -> String {
    last
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let router = Router::new()
            .handler(greet)
            .handler(count)
            .handler(eight)
            .with_state(AppState {
                greeting: Greeting("hello"),
                count: 7,
            })
            .build()
            .unwrap();
        let text = Message::from_xml(
            "<xml><ToUserName>gh_account</ToUserName><FromUserName>oUser</FromUserName>\
             <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content><MsgId>1</MsgId></xml>",
        )
        .unwrap();
        let reply = router.clone().oneshot(text).await.unwrap();
        assert_eq!(reply, Reply::text("hello oUser (oUser) to gh_account of 7: hi"));
        let click = Message::from_xml(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>2</CreateTime>\
             <MsgType>event</MsgType><Event>CLICK</Event><EventKey>K</EventKey></xml>",
        )
        .unwrap();
        assert_eq!(router.clone().oneshot(click).await.unwrap(), Reply::text("7"));
        let voice = Message::from_xml(
            "<xml><ToUserName>gh</ToUserName><FromUserName>oLast</FromUserName><CreateTime>3</CreateTime>\
             <MsgType>voice</MsgType><MediaId>m</MediaId><MsgId>3</MsgId></xml>",
        )
        .unwrap();
        assert_eq!(router.oneshot(voice).await.unwrap(), Reply::text("oLast"));
    });
}
