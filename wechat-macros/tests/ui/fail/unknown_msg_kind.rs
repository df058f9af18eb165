use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "txet")]
async fn echo(msg: TextMessage) -> String {
    msg.content
}

fn main() {
    let _ = echo;
}
