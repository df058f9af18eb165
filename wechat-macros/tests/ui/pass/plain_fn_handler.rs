//! `handler` mounts a plain `async fn` (route from its first argument's type) next to an
//! annotated one, on the router and on the pay notify builder alike.
use wechat_tower::message::{ClickEvent, TextMessage};
use wechat_tower::pay::{Paid, PayConfig, PayNotify, Refunded};
use wechat_tower::{Router, wechat_handler};

async fn echo(msg: TextMessage) -> String {
    msg.content
}

#[wechat_handler(event = "CLICK")]
async fn click(_: ClickEvent) -> &'static str {
    "clicked"
}

async fn paid(_: Paid) {}

#[wechat_handler(pay = "refund")]
async fn refunded(_: Refunded) {}

fn main() {
    let _ = Router::new()
        .handler(echo)
        .handler(click)
        .handler(click::call)
        .build();
    let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
    let _ = PayNotify::builder(config)
        .handler(paid)
        .handler(refunded)
        .build()
        .unwrap();
}
