use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text", prefix = "")]
async fn everything(_: TextMessage) {}

fn main() {
    let _ = everything;
}
