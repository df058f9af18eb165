use wechat_tower::message::ClickEvent;
use wechat_tower::wechat_handler;

#[wechat_handler(event = "CLICK", prefix = "V10")]
async fn click(_: ClickEvent) {}

fn main() {
    let _ = click;
}
