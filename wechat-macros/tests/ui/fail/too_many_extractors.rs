use wechat_tower::message::TextMessage;
use wechat_tower::{Context, wechat_handler};

#[wechat_handler(msg = "text")]
async fn chatty(
    _: TextMessage,
    _: Context,
    _: Context,
    _: Context,
    _: Context,
    _: Context,
    _: Context,
    _: Context,
    _: Context,
    _: Context,
) {
}

fn main() {
    let _ = chatty;
}
