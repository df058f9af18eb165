use wechat_tower::Message;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text", fallback)]
async fn anything(_: Message) {}

fn main() {
    let _ = anything;
}
