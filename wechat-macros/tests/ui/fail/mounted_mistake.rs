// Mistakes in mounted handlers, each reported once: a first argument that is no message type of
// the kind and an output that is no reply where they are written, an extractor the router's
// state cannot give where the handler is mounted (it depends on that state).
use wechat_tower::message::TextMessage;
use wechat_tower::{MessageContext, Router, wechat_handler};

#[derive(Clone)]
struct AppState;

#[wechat_handler(msg = "text")]
async fn echo(content: String) -> String {
    content
}

#[wechat_handler(msg = "image")]
async fn image(_: wechat_tower::message::ImageMessage, _: MessageContext, _app: AppState) {}

#[wechat_handler(event = "subscribe")]
async fn hello(_: TextMessage) {}

#[wechat_handler(msg = "voice")]
async fn count(_: wechat_tower::message::VoiceMessage) -> u32 {
    1
}

fn main() {
    let _: Router<()> = Router::new()
        .handler(echo)
        .handler(image)
        .handler(hello)
        .handler(count);
}
