use wechat_tower::message::TextMessage;
use wechat_tower::{MessageContext, wechat_handler};

#[wechat_handler(msg = "text")]
async fn chatty(
    _: TextMessage,
    _: MessageContext,
    _: MessageContext,
    _: MessageContext,
    _: MessageContext,
    _: MessageContext,
    _: MessageContext,
    _: MessageContext,
    _: MessageContext,
    _: MessageContext,
) {
}

fn main() {
    let _ = chatty;
}
