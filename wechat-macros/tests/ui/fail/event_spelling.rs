use wechat_tower::message::ClickEvent;
use wechat_tower::wechat_handler;

// WeChat spells it `CLICK`.
#[wechat_handler(event = "click")]
async fn click(_: ClickEvent) {}

fn main() {
    let _ = click;
}
