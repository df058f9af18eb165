//! `keyword`, `prefix` and `fallback`, mounted together with `msg = "text"`: the most specific
//! route answers.

use wechat_tower::message::TextMessage;
use wechat_tower::{Message, Router, wechat_handler};

#[wechat_handler(msg = "text")]
async fn echo(msg: TextMessage) -> String {
    msg.content
}

#[wechat_handler(msg = "text", keyword = "help")]
async fn help(_: TextMessage) -> &'static str {
    "help"
}

// `Message` works for text routes too, and the arguments come in any order.
#[wechat_handler(keyword = "menu", msg = "text")]
async fn menu(_: Message) -> &'static str {
    "menu"
}

#[wechat_handler(msg = "text", prefix = "weather ")]
async fn weather(msg: TextMessage) -> String {
    msg.content
}

#[wechat_handler(msg = "text", prefix = "weather tomorrow")]
async fn tomorrow(_: TextMessage) {}

#[wechat_handler(fallback)]
async fn anything_else(_: Message) {}

fn text(content: &str) -> Message {
    Message::from_xml(&format!(
        "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>\
         <MsgType>text</MsgType><Content>{content}</Content><MsgId>1</MsgId></xml>"
    ))
    .unwrap()
}

fn main() {
    let router = Router::new()
        .handler(echo)
        .handler(help)
        .handler(menu)
        .handler(weather)
        .handler(tomorrow)
        .handler(anything_else)
        .build()
        .unwrap();
    let picks = |content: &str| {
        let name = router.handler_for(&text(content)).unwrap();
        name.rsplit("::").next().unwrap().to_owned()
    };
    assert_eq!(picks("hello"), "echo");
    assert_eq!(picks(" help "), "help");
    assert_eq!(picks("menu"), "menu");
    assert_eq!(picks("weather Paris"), "weather");
    assert_eq!(picks("weather tomorrow Paris"), "tomorrow");
    let image = Message::from_xml(
        "<xml><ToUserName>gh</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>\
         <MsgType>image</MsgType><MediaId>m</MediaId><MsgId>2</MsgId></xml>",
    )
    .unwrap();
    let name = router.handler_for(&image).unwrap();
    assert!(name.ends_with("::anything_else"), "{name}");
}
