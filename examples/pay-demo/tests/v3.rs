//! The demo in v3 mode (`WECHAT_PAY_VERSION=v3`) on loopback, against a `MockPay` that checks
//! every request's signature: an order placed with `POST /v3/pay/transactions/jsapi` answers
//! RSA pay parameters signed by the merchant's key, the v3 notification marks it paid, a refund
//! goes through `POST /v3/refund/domestic/refunds` and its notification marks the order
//! `refunded`, once; in public-key mode and in certificate mode (with a rotation on the way).

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use pay_demo::{MEMORY_DATABASE_URL, Orders, RefundState, Settings, SqlOrders, V3Settings};
use serde_json::{Value, json};
use tower::ServiceExt;
use wechat_tower::core::pay::v3::{Verifier, pay_sign_message};
use wechat_tower::store::MemoryStore;
use wechat_tower::test_util::mock_pay::{MockPay, SigningMode};

/// Orders in an SQLite database in memory, of this test alone.
async fn memory_orders() -> SqlOrders {
    SqlOrders::connect(MEMORY_DATABASE_URL, 10_000)
        .await
        .unwrap()
}

struct Shop {
    app: axum::Router,
    settings: Settings,
    orders: Arc<SqlOrders>,
    _server: tokio::task::JoinHandle<()>,
}

impl Shop {
    /// The shop in v3 mode, served on a loopback port (the mock POSTs notifications to it).
    async fn start(mock: &MockPay, public_key: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let settings = Settings::new(
            mock.app_id(),
            mock.mch_id(),
            "unused-in-v3-mode",
            &mock.base_url(),
            addr,
        )
        .with_v3(V3Settings {
            api_v3_key: mock.api_v3_key().to_owned(),
            private_key_pem: mock.merchant_private_key_pem().to_owned(),
            cert_serial: mock.merchant_serial().to_owned(),
            public_key: public_key.then(|| {
                (
                    mock.public_key_id().to_owned(),
                    mock.public_key_pem().to_owned(),
                )
            }),
        });
        let orders = Arc::new(memory_orders().await);
        let app = pay_demo::app_with(
            &settings,
            Arc::clone(&orders) as Arc<dyn Orders>,
            Arc::new(MemoryStore::new()),
        )
        .unwrap();
        let served = app.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, served).await;
        });
        Self {
            app,
            settings,
            orders,
            _server: server,
        }
    }

    async fn call(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Body::from(body))
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn order(&self, id: &str) -> Value {
        let (status, body) = self
            .call("GET", &format!("/orders/{id}"), &Value::Null)
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    async fn refund(&self, id: &str, amount: u64) -> (u16, Value) {
        self.call(
            "POST",
            &format!("/orders/{id}/refund"),
            &json!({ "amount": amount }),
        )
        .await
    }
}

/// The refunds the mock was asked for, of order `id`.
fn refund_numbers(mock: &MockPay, id: &str) -> Vec<String> {
    mock.refunds()
        .into_iter()
        .filter(|r| r.out_trade_no == id)
        .map(|r| r.out_refund_no)
        .collect()
}

/// Places, pays and refunds an order; `rotate` rotates the platform certificate before the
/// payment notification.
async fn order_pay_refund(mock: &MockPay, shop: &Shop, rotate: bool) {
    let (status, created) = shop
        .call(
            "POST",
            "/orders",
            &json!({ "openid": "oBuyer", "total_fee": 1200, "body": "Noodles 牛肉面" }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // The order went through the v3 API, with the shop's notify URL and time_expire.
    let sent = mock.requests("/v3/pay/transactions/jsapi");
    let sent: Value = serde_json::from_slice(sent.last().unwrap()).unwrap();
    assert_eq!(sent["out_trade_no"], id.as_str());
    assert_eq!(sent["notify_url"], shop.settings.notify_url());
    assert_eq!(sent["amount"]["total"], 1200);
    assert!(
        sent["time_expire"].as_str().unwrap().ends_with("+08:00"),
        "{sent}"
    );

    // RSA pay parameters, signed by the merchant's key over appId\ntimeStamp\nnonceStr\npackage\n.
    let params = &created["pay_params"];
    assert_eq!(params["signType"], "RSA", "{params}");
    let prepay_id = mock.order(&id).unwrap().prepay_id;
    assert_eq!(params["package"], format!("prepay_id={prepay_id}"));
    let mut merchant = Verifier::new();
    let serial = merchant
        .add_certificate_pem(mock.merchant_certificate_pem())
        .unwrap();
    let message = pay_sign_message(
        params["appId"].as_str().unwrap(),
        params["timeStamp"].as_str().unwrap(),
        params["nonceStr"].as_str().unwrap(),
        params["package"].as_str().unwrap(),
    );
    merchant
        .verify(
            &serial,
            message.as_bytes(),
            params["paySign"].as_str().unwrap(),
        )
        .unwrap();

    assert_eq!(shop.order(&id).await["state"], "unpaid");
    let (status, body) = shop.refund(&id, 100).await;
    assert_eq!(status, 409, "an unpaid order has nothing to refund: {body}");
    assert!(refund_numbers(mock, &id).is_empty());

    if rotate {
        mock.rotate_platform_certificate();
    }
    let answer = mock
        .send_v3_notify(&shop.settings.notify_url(), &id)
        .await
        .unwrap();
    assert!(answer.is_success(), "{answer:?}");
    let paid = shop.order(&id).await;
    assert_eq!(paid["state"], "paid", "{paid}");
    assert_eq!(
        paid["transaction_id"],
        mock.order(&id).unwrap().transaction_id.unwrap().as_str()
    );

    // More than was paid: refused before WeChat Pay is asked.
    let (status, body) = shop.refund(&id, 1201).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (400, Some("amount")),
        "{body}"
    );
    let (status, body) = shop
        .call(
            "POST",
            &format!("/orders/{id}/refund"),
            &json!({ "amount": "all" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(refund_numbers(mock, &id).is_empty());

    let (status, refund) = shop.refund(&id, 400).await;
    assert_eq!(status, 200, "{refund}");
    assert_eq!(refund["state"], "processing");
    let numbers = refund_numbers(mock, &id);
    assert_eq!(numbers.len(), 1);
    assert_eq!(
        mock.refund(&numbers[0]).unwrap().refund_id,
        refund["refund_id"].as_str().unwrap()
    );
    // Still paid until the refund notification arrives.
    assert_eq!(shop.order(&id).await["state"], "paid");

    // The refund notification, twice: refunded once.
    for _ in 0..2 {
        let answer = mock
            .send_v3_refund_notify(&shop.settings.notify_url(), &id, &numbers[0], 400)
            .await
            .unwrap();
        assert!(answer.is_success(), "{answer:?}");
    }
    let refunded = shop.order(&id).await;
    assert_eq!(refunded["state"], "refunded", "{refunded}");
    assert_eq!(refunded["refunded_fee"], 400);
    // A genuine notification of a refund this shop never asked for changes nothing.
    let answer = mock
        .send_v3_refund_notify(&shop.settings.notify_url(), &id, "not-ours", 800)
        .await
        .unwrap();
    assert!(!answer.is_success(), "{answer:?}");
    assert_eq!(shop.order(&id).await["refunded_fee"], 400);

    // What is left, and no more.
    let (status, body) = shop.refund(&id, 801).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = shop.refund(&id, 800).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(shop.orders.refunds(&id).await.unwrap().len(), 2);
}

#[tokio::test]
async fn v3_order_pay_and_refund_in_public_key_mode() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock, true).await;
    order_pay_refund(&mock, &shop, false).await;
    assert_eq!(
        mock.calls("/v3/certificates"),
        0,
        "public-key mode downloads nothing"
    );
}

#[tokio::test]
async fn v3_order_pay_and_refund_in_certificate_mode_across_a_rotation() {
    let mock = MockPay::builder()
        .signing_mode(SigningMode::PlatformCertificate)
        .start()
        .await
        .unwrap();
    let shop = Shop::start(&mock, false).await;
    order_pay_refund(&mock, &shop, true).await;
    assert!(
        mock.calls("/v3/certificates") >= 2,
        "downloaded, then again for B"
    );
}

#[tokio::test]
async fn a_refund_wechat_pay_refuses_gives_the_amount_back() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock, true).await;
    let (_, created) = shop
        .call(
            "POST",
            "/orders",
            &json!({ "openid": "oBuyer", "total_fee": 500, "body": "Top-up" }),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let answer = mock
        .send_v3_notify(&shop.settings.notify_url(), &id)
        .await
        .unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(shop.orders.balance("oBuyer").await.unwrap(), 500);

    mock.fail_next_v3("/v3/refund/domestic/refunds", 403, "NOT_ENOUGH");
    let (status, body) = shop.refund(&id, 500).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("NOT_ENOUGH"),
        "{body}"
    );
    let refunds = shop.orders.refunds(&id).await.unwrap();
    assert!(
        refunds.iter().all(|r| r.state == RefundState::Released),
        "reservation given back: {refunds:?}"
    );
    assert_eq!(
        shop.orders.balance("oBuyer").await.unwrap(),
        500,
        "credit given back"
    );

    // A top-up refund takes its credit back at once.
    let (status, body) = shop.refund(&id, 500).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(shop.orders.balance("oBuyer").await.unwrap(), 0);
}

#[tokio::test]
async fn a_forged_v3_answer_places_no_order() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock, true).await;
    mock.forge_next_v3_responses(1);
    let (status, body) = shop
        .call(
            "POST",
            "/orders",
            &json!({ "openid": "oBuyer", "total_fee": 500, "body": "Top-up" }),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert!(body.get("pay_params").is_none());
    assert_eq!(shop.orders.order_count().await.unwrap(), 0, "nothing saved");
}

#[tokio::test]
async fn v2_mode_has_no_refunds() {
    let mock = MockPay::start().await.unwrap();
    let settings = Settings::new(
        mock.app_id(),
        mock.mch_id(),
        mock.key(),
        &mock.base_url(),
        "127.0.0.1:3000".parse().unwrap(),
    );
    let app = pay_demo::app_with(
        &settings,
        Arc::new(memory_orders().await),
        Arc::new(MemoryStore::new()),
    )
    .unwrap();
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/orders/1796408967BA5C4D598BE0/refund")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"amount":1}"#))
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status().as_u16(), 501);
    assert_eq!(mock.calls("/secapi/pay/refund"), 0);
}
