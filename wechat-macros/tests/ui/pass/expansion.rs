//! The shape of the expansion, pinned: the fn's name is a `Copy + Debug` unit struct that
//! `Router::handler` mounts, the body is its associated `call`, callable directly; it works
//! `pub` and private, in nested modules, under `#![deny(missing_docs)]` and
//! `#![no_implicit_prelude]`, next to user items named like the generated code's.

#![deny(missing_docs, warnings)]

use tower::ServiceExt;
use wechat_tower::message::TextMessage;
use wechat_tower::{Message, MessageContext, MountHandler, Reply, Router};

/// Handlers in a module of their own.
pub mod bot {
    use wechat_tower::message::TextMessage;
    use wechat_tower::{MessageContext, wechat_handler};

    /// Says it back, naming the sender.
    #[wechat_handler(msg = "text")]
    pub async fn echo(msg: TextMessage, ctx: MessageContext) -> String {
        format!("{} said {}", ctx.open_id(), msg.content)
    }

    #[wechat_handler(msg = "text", keyword = "help")]
    async fn help(_: TextMessage) -> &'static str {
        "help!"
    }

    /// The private handler, mounted through a public fn of its module.
    pub fn router() -> wechat_tower::Router {
        wechat_tower::Router::new().handler(echo).handler(help)
    }

    #[cfg(test)]
    #[wechat_handler(msg = "image")]
    async fn only_in_tests(_: wechat_tower::message::ImageMessage) {}

    /// Private handlers stay callable from their module (and its children).
    pub async fn call_help(msg: TextMessage) -> &'static str {
        help::call(msg).await
    }
}

/// Items named like those of the generated code do not capture it.
#[allow(dead_code, non_camel_case_types)]
mod shadowing {
    use wechat_tower::message::ClickEvent;
    use wechat_tower::wechat_handler;

    struct Router;
    struct Route;
    struct S;
    struct M;
    struct __private;
    trait Send {}
    trait Sync {}
    trait Clone {}
    trait Copy {}
    trait Debug {}
    type Result<T> = core::result::Result<T, ()>;

    /// A handler amid the impostors.
    #[wechat_handler(event = "CLICK", key = "K")]
    pub(crate) async fn click(_: ClickEvent) -> &'static str {
        "click"
    }
}

/// Nothing of the prelude is in scope: the generated code names everything by path.
#[no_implicit_prelude]
mod bare {
    /// A handler without the prelude.
    #[::wechat_tower::wechat_handler(fallback)]
    pub async fn anything(msg: ::wechat_tower::Message) -> ::std::string::String {
        ::std::string::ToString::to_string(msg.msg_type())
    }
}

fn text(content: &str) -> Message {
    Message::from_xml(&format!(
        "<xml><ToUserName>gh</ToUserName><FromUserName>oUser</FromUserName><CreateTime>1</CreateTime>\
         <MsgType>text</MsgType><Content>{content}</Content><MsgId>1</MsgId></xml>"
    ))
    .unwrap()
}

fn assert_copy_debug<T: Copy + std::fmt::Debug + Send + Sync + 'static>(_: T) {}

fn assert_mounts<H: MountHandler<()>>(_: H) {}

fn main() {
    // The name is a value: a unit struct, `Copy` and `Debug`.
    let handler: bot::echo = bot::echo;
    assert_copy_debug(handler);
    assert_eq!(format!("{handler:?}"), "echo");
    assert_mounts(handler);
    assert_mounts(shadowing::click);
    assert_mounts(bare::anything);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The body is callable directly.
        let Message::Text(msg) = text("hi") else {
            unreachable!()
        };
        let ctx = MessageContext::new(msg.header.clone());
        assert_eq!(bot::echo::call(msg, ctx).await, "oUser said hi");
        let msg: TextMessage = match text("help") {
            Message::Text(m) => m,
            _ => unreachable!(),
        };
        assert_eq!(bot::call_help(msg).await, "help!");

        // And mounted by name, on the route of the attribute.
        let router = bot::router()
            .handler(shadowing::click)
            .handler(bare::anything)
            .build()
            .unwrap();
        // Named by the path of the fn (the crate is named by trybuild).
        let name = router.handler_for(&text("hi")).unwrap();
        assert!(name.ends_with("::bot::echo"), "{name}");
        let name = router.handler_for(&text(" help ")).unwrap();
        assert!(name.ends_with("::bot::help"), "{name}");
        let reply = router.clone().oneshot(text("hello")).await.unwrap();
        assert_eq!(reply, Reply::text("oUser said hello"));
        let click = Message::from_xml(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>2</CreateTime>\
             <MsgType>event</MsgType><Event>CLICK</Event><EventKey>K</EventKey></xml>",
        )
        .unwrap();
        assert_eq!(router.clone().oneshot(click).await.unwrap(), Reply::text("click"));
        let other = Message::from_xml(
            "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>3</CreateTime>\
             <MsgType>voice</MsgType><MediaId>m</MediaId><MsgId>3</MsgId></xml>",
        )
        .unwrap();
        assert_eq!(router.oneshot(other).await.unwrap(), Reply::text("voice"));
    });

    let _: Router = Router::new().handler(bot::echo);
}
