use wechat_tower::MessageContext;
use wechat_tower::pay::Paid;
use wechat_tower::wechat_handler;

#[wechat_handler(pay = "notify")]
async fn paid(_: Paid, _: MessageContext) {}

fn main() {
    let _ = paid;
}
