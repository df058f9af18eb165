use wechat_tower::pay::Refunded;
use wechat_tower::wechat_handler;

#[wechat_handler(pay = "notify")]
async fn paid(_: Refunded) {}

fn main() {
    let _ = paid;
}
