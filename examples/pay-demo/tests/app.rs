//! The demo in process (tower `oneshot`, no socket for the shop), against a `MockPay` on
//! loopback: an order is created through unified order, its notification marks it paid.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use pay_demo::{MarkError, MemoryOrders, Order, OrderState, Orders, Settings};
use serde_json::{Value, json};
use tower::ServiceExt;
use wechat_tower::store::MemoryStore;
use wechat_tower::test_util::mock_pay::MockPay;

async fn call(app: &axum::Router, method: &str, path: &str, body: String) -> (u16, String) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn order_pay_notify_paid() {
    let mock = MockPay::start().await.unwrap();
    let settings = Settings::new(
        mock.appid(),
        mock.mch_id(),
        mock.key(),
        &mock.base_url(),
        "127.0.0.1:3000".parse().unwrap(),
    );
    assert_eq!(settings.notify_url(), "http://127.0.0.1:3000/pay/notify");
    let app = pay_demo::app_with(
        &settings,
        Arc::new(MemoryOrders::default()),
        Arc::new(MemoryStore::new()),
    )
    .unwrap();

    let (status, page) = call(&app, "GET", "/", String::new()).await;
    assert_eq!(status, 200);
    assert!(page.contains("getBrandWCPayRequest"));
    assert!(page.contains("MicroMessenger"));

    let (status, body) = call(
        &app,
        "POST",
        "/orders",
        json!({ "openid": "oBuyer", "total_fee": 250, "body": "Dumplings" }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.len() <= 32);
    for field in [
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    ] {
        assert!(created["pay_params"][field].is_string(), "{field}: {body}");
    }
    assert_eq!(mock.order(&id).unwrap().notify_url, settings.notify_url());

    mock.pay(&id).unwrap();
    let (status, answer) = call(
        &app,
        "POST",
        "/pay/notify",
        mock.notify_v2_xml(&id).unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("SUCCESS"), "{answer}");

    let (status, body) = call(&app, "GET", &format!("/orders/{id}"), String::new()).await;
    assert_eq!(status, 200);
    let order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(order["state"], "paid");
    assert_eq!(order["total_fee"], 250);
    assert_eq!(
        order["transaction_id"],
        mock.order(&id).unwrap().transaction_id.unwrap()
    );

    let (status, _) = call(&app, "GET", "/orders/nope", String::new()).await;
    assert_eq!(status, 404);
}

#[test]
fn marking_paid_checks_the_amount_and_is_idempotent() {
    let orders = MemoryOrders::default();
    orders
        .create(Order {
            id: "o1".into(),
            state: OrderState::Unpaid,
            total_fee: 100,
            transaction_id: None,
            openid: "o".into(),
        })
        .unwrap();
    assert_eq!(
        orders.mark_paid("o1", 99, "t1"),
        Err(MarkError::AmountMismatch {
            expected: 100,
            notified: 99
        })
    );
    assert_eq!(orders.get("o1").unwrap().state, OrderState::Unpaid);
    orders.mark_paid("o1", 100, "t1").unwrap();
    orders.mark_paid("o1", 100, "t1").unwrap();
    assert_eq!(
        orders.mark_paid("o1", 100, "t2"),
        Err(MarkError::OtherTransaction)
    );
    assert_eq!(
        orders.mark_paid("o2", 100, "t1"),
        Err(MarkError::Unknown("o2".into()))
    );
    assert_eq!(
        orders.get("o1").unwrap().transaction_id.as_deref(),
        Some("t1")
    );
}
