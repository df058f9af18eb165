use wechat_tower::Message;
use wechat_tower::wechat_handler;

#[wechat_handler(pay = "refnd")]
async fn refunded(_: Message) {}

fn main() {
    let _ = refunded;
}
