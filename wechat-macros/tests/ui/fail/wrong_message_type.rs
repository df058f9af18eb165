use wechat_tower::message::ClickEvent;
use wechat_tower::{Router, wechat_handler};

#[wechat_handler(msg = "text")]
async fn echo(_: ClickEvent) {}

fn main() {
    let _: Router = Router::new().handler(echo);
}
