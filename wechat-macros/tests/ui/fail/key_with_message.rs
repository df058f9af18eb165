use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text", key = "V1001")]
async fn echo(_: TextMessage) {}

fn main() {
    let _ = echo;
}
