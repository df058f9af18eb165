//! Every `msg = ".."` of wechat-core, each with its own type, and `Message` for any of them.

use wechat_tower::message::{
    FileMessage, ImageMessage, LinkMessage, LocationMessage, MiniProgramPageMessage,
    ShortVideoMessage, TextMessage, VideoMessage, VoiceMessage,
};
use wechat_tower::{Event, Message, Router, wechat_handler};

#[wechat_handler(msg = "text")]
async fn text(_: TextMessage) {}

#[wechat_handler(msg = "image")]
async fn image(_: ImageMessage) {}

#[wechat_handler(msg = "voice")]
async fn voice(_: VoiceMessage) {}

#[wechat_handler(msg = "video")]
async fn video(_: VideoMessage) {}

#[wechat_handler(msg = "shortvideo")]
async fn shortvideo(_: ShortVideoMessage) {}

#[wechat_handler(msg = "location")]
async fn location(_: LocationMessage) {}

#[wechat_handler(msg = "link")]
async fn link(_: LinkMessage) {}

#[wechat_handler(msg = "file")]
async fn file(_: FileMessage) {}

#[wechat_handler(msg = "miniprogrampage")]
async fn miniprogrampage(_: MiniProgramPageMessage) {}

#[wechat_handler(msg = "event")]
async fn any_event(_: Event) {}

// `Message` takes any kind; the full path works as well as an imported name.
#[wechat_handler(msg = "image")]
async fn image_as_message(_: Message) {}

#[wechat_handler(msg = "event")]
async fn event_as_message(_: wechat_tower::Message) {}

#[wechat_handler(msg = "text")]
async fn text_by_path(_: wechat_tower::message::TextMessage) {}

fn main() {
    Router::new()
        .handler(text)
        .handler(image)
        .handler(voice)
        .handler(video)
        .handler(shortvideo)
        .handler(location)
        .handler(link)
        .handler(file)
        .handler(miniprogrampage)
        .handler(any_event)
        .build()
        .unwrap();
    Router::new()
        .handler(image_as_message)
        .handler(event_as_message)
        .handler(text_by_path)
        .build()
        .unwrap();
}
