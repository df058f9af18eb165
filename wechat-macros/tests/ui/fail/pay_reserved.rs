use wechat_tower::Message;
use wechat_tower::wechat_handler;

#[wechat_handler(pay = "notify")]
async fn paid(_: Message) {}

fn main() {
    let _ = paid;
}
