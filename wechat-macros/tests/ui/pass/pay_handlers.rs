//! Pay handlers: `pay = "notify"` taking `Paid` (either protocol), `PayNotification` (v2) or
//! `v3::Transaction` (v3); `pay = "refund"` taking `Refunded`; extractors `State<T>` and
//! `PayContext`; outputs `()` and `Result<(), E>`; mounted with `PayNotifyBuilder::handler`, run
//! by a signed notification, and the body still callable as `paid::call`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tower::ServiceExt;
use wechat_tower::core::pay::{PayMap, SignType, v3};
use wechat_tower::pay::{
    Paid, PayConfig, PayContext, PayNotification, PayNotify, PayVersion, Refunded,
};
use wechat_tower::{State, wechat_handler};

#[derive(Clone, Default)]
struct Shop {
    paid_fen: Arc<AtomicU64>,
}

/// Marks the order paid.
#[wechat_handler(pay = "notify")]
async fn paid(payment: Paid, State(shop): State<Shop>, ctx: PayContext) -> Result<(), String> {
    assert_eq!(ctx.version, PayVersion::V2);
    assert_eq!(ctx.id, payment.transaction_id());
    shop.paid_fen
        .fetch_add(payment.total_fee(), Ordering::SeqCst);
    Ok(())
}

#[wechat_handler(pay = "notify")]
async fn paid_v2_only(_: PayNotification) {}

#[wechat_handler(pay = "notify")]
async fn paid_v3_only(_: v3::Transaction) -> Result<(), std::io::Error> {
    Ok(())
}

#[wechat_handler(pay = "refund")]
async fn refunded(_: Refunded, State(_shop): State<Shop>) {}

fn main() {
    let config = PayConfig::new("wx1", "10000100", "192006250b4c09247ec02edce69f6a2d");
    let shop = Shop::default();
    let notify = PayNotify::builder(config.clone())
        .handler(paid)
        .handler(refunded)
        .with_state(shop.clone())
        .build()
        .unwrap();
    // The other handlers mount too; a second handler for a slot is a build error.
    let _ = PayNotify::builder(config.clone())
        .handler(paid_v2_only)
        .build()
        .unwrap();
    let two = PayNotify::builder(config.clone())
        .handler(paid_v2_only)
        .handler(paid_v3_only)
        .build();
    assert!(two.is_err());

    let mut n: PayMap = [
        ("return_code", "SUCCESS"),
        ("result_code", "SUCCESS"),
        ("appid", "wx1"),
        ("mch_id", "10000100"),
        ("openid", "oUser"),
        ("trade_type", "JSAPI"),
        ("bank_type", "CMC"),
        ("total_fee", "1200"),
        ("transaction_id", "4200000001"),
        ("out_trade_no", "no-1"),
        ("time_end", "20231114093012"),
    ]
    .into_iter()
    .collect();
    n.sign(config.key(), SignType::Md5);
    let body = Bytes::from(n.to_xml().unwrap());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..2 {
            let req = http::Request::post("/pay/notify")
                .body(http_body_util::Full::new(body.clone()))
                .unwrap();
            let res = notify.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), 200);
        }
        // Delivered twice, handled once.
        assert_eq!(shop.paid_fen.load(Ordering::SeqCst), 1200);
    });
}
