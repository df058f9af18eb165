use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

// Every mistake is reported at once.
#[wechat_handler(msg = "txet", keyword = "", bogus = 1)]
fn echo(msg: TextMessage) -> String {
    msg.content
}

fn main() {
    let _ = echo;
}
