use wechat_tower::message::SubscribeEvent;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "subscribe")]
async fn welcome(_: SubscribeEvent) {}

fn main() {
    let _ = welcome;
}
