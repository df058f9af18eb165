use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "text", keywrd = "help")]
async fn help(_: TextMessage) {}

fn main() {
    let _ = help;
}
