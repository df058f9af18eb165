use wechat_tower::pay::Refunded;
use wechat_tower::wechat_handler;

#[wechat_handler(pay = "transfer")]
async fn transferred(_: Refunded) {}

fn main() {
    let _ = transferred;
}
