use wechat_tower::MessageContext;
use wechat_tower::pay::{Paid, PayConfig, PayNotify};
use wechat_tower::wechat_handler;

#[wechat_handler(pay = "notify")]
async fn paid(_: Paid, _: MessageContext) {}

fn main() {
    let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
    let _ = PayNotify::builder(config).handler(paid).build();
}
