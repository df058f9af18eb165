//! All three pay slots on one `PayNotify`: `pay = "notify"`, `pay = "refund"` and
//! `pay = "transfer"` (商家转账回调, taking `v3::TransferBill`), with `PayContext` and `State<T>`.

use wechat_tower::core::pay::v3;
use wechat_tower::pay::{Paid, PayConfig, PayContext, PayKind, PayNotify, Refunded};
use wechat_tower::{State, wechat_handler};

#[derive(Clone, Default)]
struct Shop;

#[wechat_handler(pay = "notify")]
async fn paid(_: Paid) {}

#[wechat_handler(pay = "refund")]
async fn refunded(_: Refunded) {}

#[wechat_handler(pay = "transfer")]
async fn transferred(
    bill: v3::TransferBill,
    ctx: PayContext,
    State(_shop): State<Shop>,
) -> Result<(), String> {
    assert_eq!(ctx.kind, PayKind::Transfer);
    if bill.state == "SUCCESS" {
        Ok(())
    } else {
        Err(bill.state)
    }
}

#[wechat_handler(pay = "transfer")]
async fn transferred_again(_: v3::TransferBill) {}

fn main() {
    let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
    let notify = PayNotify::builder(config.clone())
        .handler(paid)
        .handler(refunded)
        .handler(transferred)
        .with_state(Shop)
        .build();
    assert!(notify.is_ok());
    // A second handler for the transfer slot is a build error.
    let two = PayNotify::builder(config)
        .handler(transferred_again)
        .handler(transferred)
        .with_state(Shop)
        .build();
    assert!(two.is_err());
}
