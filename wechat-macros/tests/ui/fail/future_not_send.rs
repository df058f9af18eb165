use std::rc::Rc;

use wechat_tower::message::TextMessage;
use wechat_tower::wechat_handler;

async fn log() {}

#[wechat_handler(msg = "text")]
async fn echo(msg: TextMessage) -> String {
    let shared = Rc::new(msg.content);
    log().await;
    (*shared).clone()
}

fn main() {
    let _ = echo;
}
