use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(fallback)]
async fn anything(_: TextMessage) {}

fn main() {
    let _ = anything;
}
