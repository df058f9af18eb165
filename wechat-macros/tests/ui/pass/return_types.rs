//! Every kind of output: `Reply`, `String`, `&'static str`, `()` written or not, `Option<T>`,
//! `Result<T, E>`, `impl IntoReply`, and a type alias.

use std::fmt;

use wechat_tower::message::{ImageMessage, LinkMessage, TextMessage, VideoMessage, VoiceMessage};
use wechat_tower::{IntoReply, Message, Reply, Router, wechat_handler};

#[wechat_handler(msg = "image")]
async fn reply(msg: ImageMessage) -> Reply {
    Reply::image(msg.media_id)
}

#[wechat_handler(msg = "text")]
async fn string(msg: TextMessage) -> String {
    msg.content
}

#[wechat_handler(msg = "text", keyword = "static")]
async fn static_str(_: TextMessage) -> &'static str {
    "static"
}

#[wechat_handler(msg = "voice")]
async fn unit(_: VoiceMessage) {}

#[wechat_handler(msg = "video")]
async fn unit_written(_: VideoMessage) -> () {}

#[wechat_handler(msg = "text", keyword = "option")]
async fn option(_: TextMessage) -> Option<String> {
    None
}

#[derive(Debug)]
struct Oops;

impl fmt::Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oops")
    }
}

#[wechat_handler(msg = "link")]
async fn result(_: LinkMessage) -> Result<Reply, Oops> {
    Err(Oops)
}

#[wechat_handler(msg = "text", keyword = "impl")]
async fn opaque(_: TextMessage) -> impl IntoReply {
    "opaque"
}

type Answer = Option<&'static str>;

#[wechat_handler(fallback)]
async fn alias(_: Message) -> Answer {
    Some("alias")
}

fn main() {
    Router::new()
        .handler(reply)
        .handler(string)
        .handler(static_str)
        .handler(unit)
        .handler(unit_written)
        .handler(option)
        .handler(result)
        .handler(opaque)
        .handler(alias)
        .build()
        .unwrap();
}
