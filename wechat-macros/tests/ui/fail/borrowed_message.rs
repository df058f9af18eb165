use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text")]
async fn echo(msg: &TextMessage) -> String {
    msg.content.clone()
}

fn main() {
    let _ = echo;
}
