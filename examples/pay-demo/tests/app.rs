//! The demo in process (tower `oneshot`, no socket for the shop), against a `MockPay` on
//! loopback: a top-up and a product are ordered through unified order, their notifications
//! mark them paid, a top-up credits what was paid; the settings bound top-ups and unpaid
//! orders.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use pay_demo::{
    Item, MEMORY_DATABASE_URL, MarkError, ORDER_TTL, Order, OrderState, Orders, Product, Settings,
    SqlOrders, beijing_time,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use wechat_tower::core::pay::PayMap;
use wechat_tower::store::MemoryStore;
use wechat_tower::test_util::mock_pay::MockPay;

async fn call_with(
    app: &axum::Router,
    method: &str,
    path: &str,
    content_type: &str,
    body: String,
) -> (u16, String) {
    let req = axum::http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn call(app: &axum::Router, method: &str, path: &str, body: String) -> (u16, String) {
    call_with(app, method, path, "application/json", body).await
}

fn settings(mock: &MockPay) -> Settings {
    Settings::new(
        mock.app_id(),
        mock.mch_id(),
        mock.key(),
        &mock.base_url(),
        "127.0.0.1:3000".parse().unwrap(),
    )
}

fn app(settings: &Settings, orders: Arc<SqlOrders>) -> axum::Router {
    pay_demo::app_with(settings, orders, Arc::new(MemoryStore::new())).unwrap()
}

/// Orders in an SQLite database in memory, of this test alone, keeping `max_unpaid` unpaid.
async fn orders(max_unpaid: usize) -> Arc<SqlOrders> {
    Arc::new(
        SqlOrders::connect(MEMORY_DATABASE_URL, max_unpaid)
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn a_top_up_and_a_product_are_placed_paid_and_credited() {
    let mock = MockPay::start().await.unwrap();
    let settings = settings(&mock);
    assert_eq!(settings.notify_url(), "http://127.0.0.1:3000/pay/notify");
    let orders = orders(10_000).await;
    let app = app(&settings, Arc::clone(&orders));

    let (status, page) = call(&app, "GET", "/", String::new()).await;
    assert_eq!(status, 200);
    assert!(page.contains("getBrandWCPayRequest"));
    assert!(page.contains("MicroMessenger"));
    assert!(page.contains("/products"));

    // A top-up of 250 fen.
    let (status, body) = call(
        &app,
        "POST",
        "/orders",
        json!({ "openid": "oBuyer", "total_fee": 250, "body": "充值 Top-up" }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.len() <= 32);
    assert_eq!(created["total_fee"], 250);
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
    // WeChat Pay was told when the order stops being payable.
    let expires_at = created["expires_at"].as_u64().unwrap();
    let sent = PayMap::from_xml_bytes(&mock.requests("/pay/unifiedorder")[0]).unwrap();
    assert_eq!(
        sent.get("time_expire"),
        Some(beijing_time(expires_at).as_str())
    );
    let ttl = ORDER_TTL.as_secs();
    assert!(expires_at.abs_diff(pay_demo::now_secs() + ttl) <= 5);

    let (status, body) = call(&app, "GET", &format!("/orders/{id}"), String::new()).await;
    assert_eq!(status, 200);
    let order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        order,
        json!({
            "id": id, "state": "unpaid", "item": { "kind": "top_up" }, "total_fee": 250,
            "credit": null, "transaction_id": null, "expires_at": expires_at,
        })
    );

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

    let (_, body) = call(&app, "GET", &format!("/orders/{id}"), String::new()).await;
    let order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(order["state"], "paid");
    assert_eq!(order["credit"], 250);
    assert_eq!(
        order["transaction_id"],
        mock.order(&id).unwrap().transaction_id.unwrap()
    );
    assert_eq!(orders.balance("oBuyer").await.unwrap(), 250);

    // A product: its price, no credit.
    let (status, body) = call(&app, "GET", "/products", String::new()).await;
    assert_eq!(status, 200);
    let products: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        products[0],
        json!({ "id": "beef-noodles", "name": "pay-demo-牛肉面 Beef noodles", "price": 1200 })
    );
    let (status, body) = call(
        &app,
        "POST",
        "/orders/product",
        json!({ "openid": "oBuyer", "product_id": "beef-noodles" }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let created: Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let placed = mock.order(&id).unwrap();
    assert_eq!((placed.total_fee, placed.openid.as_str()), (1200, "oBuyer"));
    mock.pay(&id).unwrap();
    let (status, _) = call(
        &app,
        "POST",
        "/pay/notify",
        mock.notify_v2_xml(&id).unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let order = orders.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (order.state, order.item, order.credit),
        (
            OrderState::Paid,
            Item::Product {
                product_id: "beef-noodles".into()
            },
            None
        )
    );
    assert_eq!(orders.balance("oBuyer").await.unwrap(), 250);

    let (status, _) = call(&app, "GET", "/orders/nope", String::new()).await;
    assert_eq!(status, 404);
    let (status, body) = call(
        &app,
        "GET",
        &format!("/orders/{}", "9".repeat(4000)),
        String::new(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(!body.contains("9999"), "{body}");
}

#[tokio::test]
async fn the_top_up_bounds_come_from_the_settings() {
    let mock = MockPay::start().await.unwrap();
    let mut settings = settings(&mock);
    settings.topup_min_fee = 100;
    settings.topup_max_fee = 1000;
    let app = app(&settings, orders(10_000).await);
    let (_, body) = call(&app, "GET", "/topup", String::new()).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({ "min_fee": 100, "max_fee": 1000 })
    );
    for (fee, status) in [(99, 400), (1001, 400), (100, 200), (1000, 200)] {
        let (got, body) = call(
            &app,
            "POST",
            "/orders",
            json!({ "openid": "oBuyer", "total_fee": fee, "body": "Top-up" }).to_string(),
        )
        .await;
        assert_eq!(got, status, "{fee}: {body}");
    }
    assert_eq!(mock.calls("/pay/unifiedorder"), 2);

    settings.topup_max_fee = 99;
    let err = pay_demo::app_with(
        &settings,
        orders(10_000).await,
        Arc::new(MemoryStore::new()),
    )
    .unwrap_err();
    assert!(err.contains("TOPUP_MAX_FEE"), "{err}");
}

#[tokio::test]
async fn unpaid_orders_beyond_the_cap_are_refused() {
    let mock = MockPay::start().await.unwrap();
    let orders = orders(2).await;
    let app = app(&settings(&mock), Arc::clone(&orders));
    let order = json!({ "openid": "oBuyer", "product_id": "jasmine-tea" }).to_string();
    let mut saved = Vec::new();
    for _ in 0..2 {
        let (status, body) = call(&app, "POST", "/orders/product", order.clone()).await;
        assert_eq!(status, 200, "{body}");
        saved.push(serde_json::from_str::<Value>(&body).unwrap()["id"].clone());
    }
    let (status, body) = call(&app, "POST", "/orders/product", order.clone()).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("too many unpaid orders"), "{body}");
    assert!(!body.contains("pay_params"), "{body}");
    assert_eq!(orders.order_count().await.unwrap(), 2);

    // Paying one makes room.
    let paid = saved[0].as_str().unwrap();
    mock.pay(paid).unwrap();
    let (status, _) = call(
        &app,
        "POST",
        "/pay/notify",
        mock.notify_v2_xml(paid).unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = call(&app, "POST", "/orders/product", order).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            orders.order_count().await.unwrap(),
            orders.unpaid_count().await.unwrap()
        ),
        (3, 2)
    );
}

#[tokio::test]
async fn requests_are_json_and_small() {
    let mock = MockPay::start().await.unwrap();
    let app = app(&settings(&mock), orders(10_000).await);
    let top_up = json!({ "openid": "oBuyer", "total_fee": 100, "body": "Top-up" }).to_string();
    // A cross-site form can send text/plain without asking first; JSON it cannot.
    let (status, body) = call_with(&app, "POST", "/orders", "text/plain", top_up.clone()).await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = call_with(
        &app,
        "POST",
        "/orders",
        "application/json; charset=utf-8",
        top_up,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let padded = format!(
        r#"{{"openid":"oBuyer","total_fee":100,"body":"Top-up","pad":"{}"}}"#,
        "x".repeat(pay_demo::MAX_REQUEST_BYTES)
    );
    let (status, body) = call(&app, "POST", "/orders", padded).await;
    assert_eq!(status, 413, "{body}");
    let (status, body) = call(&app, "POST", "/orders", "[1,2]".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(r#""field":"request""#), "{body}");
    assert_eq!(mock.calls("/pay/unifiedorder"), 1);
}

#[tokio::test]
async fn a_bad_catalogue_is_refused_at_startup() {
    let mut settings = Settings::new(
        "wx1",
        "1",
        "k",
        "http://127.0.0.1:9",
        "127.0.0.1:3000".parse().unwrap(),
    );
    settings
        .products
        .push(Product::new("free", "Free lunch", 0));
    let err = pay_demo::app_with(
        &settings,
        orders(10_000).await,
        Arc::new(MemoryStore::new()),
    )
    .unwrap_err();
    assert!(err.contains("free"), "{err}");
    // `app` checks the settings before it opens (or creates) the database.
    settings.database_url = "sqlite:///nonexistent-dir/pay.db?mode=rwc".into();
    let err = pay_demo::app(&settings).await.unwrap_err();
    assert!(err.contains("free"), "{err}");
}

#[tokio::test]
async fn marking_paid_checks_the_amount_and_is_idempotent() {
    let orders = orders(10_000).await;
    let later = pay_demo::now_secs() + 900;
    orders
        .create(Order::unpaid("o1", "o", Item::TopUp, 100, later))
        .await
        .unwrap();
    assert_eq!(
        orders.mark_paid("o1", 99, "t1").await,
        Err(MarkError::AmountMismatch {
            expected: 100,
            notified: 99
        })
    );
    // An amount beyond what the database stores is a mismatch too, not an error.
    assert_eq!(
        orders.mark_paid("o1", u64::MAX, "t1").await,
        Err(MarkError::AmountMismatch {
            expected: 100,
            notified: u64::MAX
        })
    );
    let order = orders.get("o1").await.unwrap().unwrap();
    assert_eq!(order.state, OrderState::Unpaid);
    assert_eq!(orders.balance("o").await.unwrap(), 0);
    orders.mark_paid("o1", 100, "t1").await.unwrap();
    orders.mark_paid("o1", 100, "t1").await.unwrap();
    assert_eq!(
        orders.mark_paid("o1", 100, "t2").await,
        Err(MarkError::OtherTransaction)
    );
    assert_eq!(
        orders.mark_paid("o2", 100, "t1").await,
        Err(MarkError::Unknown("o2".into()))
    );
    assert_eq!(
        orders
            .get("o1")
            .await
            .unwrap()
            .unwrap()
            .transaction_id
            .as_deref(),
        Some("t1")
    );
    assert_eq!(orders.balance("o").await.unwrap(), 100);
    assert_eq!(
        orders
            .create(Order::unpaid("o1", "o", Item::TopUp, 1, later))
            .await,
        Err(MarkError::Duplicate("o1".into()))
    );
}

/// Unpaid orders are forgotten once their `time_expire` is more than [`pay_demo::UNPAID_GRACE`]
/// ago (checked at each new order); within the grace a late notification still pays them.
#[tokio::test]
async fn expired_unpaid_orders_are_forgotten_after_the_grace() {
    let orders = orders(2).await;
    let now = pay_demo::now_secs();
    let grace = pay_demo::UNPAID_GRACE.as_secs();
    orders
        .create(Order::unpaid(
            "old",
            "o",
            Item::TopUp,
            100,
            now - grace - 10,
        ))
        .await
        .unwrap();
    orders
        .create(Order::unpaid("late", "o", Item::TopUp, 100, now - 10))
        .await
        .unwrap();
    assert_eq!(orders.get("old").await.unwrap(), None);
    assert_eq!(
        orders.mark_paid("old", 100, "tx0").await,
        Err(MarkError::Unknown("old".into()))
    );
    orders
        .create(Order::unpaid("new", "o", Item::TopUp, 100, now + 900))
        .await
        .unwrap();
    assert_eq!(
        orders
            .create(Order::unpaid("more", "o", Item::TopUp, 100, now + 900))
            .await,
        Err(MarkError::TooManyUnpaid)
    );
    orders.mark_paid("late", 100, "tx1").await.unwrap();
    orders
        .create(Order::unpaid("more", "o", Item::TopUp, 100, now + 900))
        .await
        .unwrap();
    assert_eq!(orders.unpaid_count().await.unwrap(), 2);
}
