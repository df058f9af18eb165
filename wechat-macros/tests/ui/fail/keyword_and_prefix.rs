use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text", keyword = "weather", prefix = "weather ")]
async fn weather(_: TextMessage) {}

fn main() {
    let _ = weather;
}
