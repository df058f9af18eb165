use wechat_tower::message::ImageMessage;
use wechat_tower::wechat_handler;

#[wechat_handler(event = "image")]
async fn image(_: ImageMessage) {}

fn main() {
    let _ = image;
}
