use wechat_tower::message::UnsubscribeEvent;
use wechat_tower::wechat_handler;

#[wechat_handler(event = "unsubscribe", key = "qrscene_1")]
async fn goodbye(_: UnsubscribeEvent) {}

fn main() {
    let _ = goodbye;
}
