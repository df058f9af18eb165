use wechat_tower::pay::Paid;
use wechat_tower::{Router, wechat_handler};

#[wechat_handler(pay = "notify")]
async fn paid(_: Paid) {}

fn main() {
    let _ = Router::new().handler(paid);
}
