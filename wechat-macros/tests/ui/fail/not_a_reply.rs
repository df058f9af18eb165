use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text")]
async fn count(msg: TextMessage) -> usize {
    msg.content.len()
}

fn main() {
    let _ = count;
}
