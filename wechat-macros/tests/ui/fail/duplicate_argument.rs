use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text", msg = "image")]
async fn echo(_: TextMessage) {}

fn main() {
    let _ = echo;
}
