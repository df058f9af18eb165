use wechat_tower::message::ImageMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(msg = "image", keyword = "cat")]
async fn cat(_: ImageMessage) {}

fn main() {
    let _ = cat;
}
