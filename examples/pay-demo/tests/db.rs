//! Orders in a real database (issue 14): SQLite files and memory always, PostgreSQL when
//! `PAY_DEMO_TEST_POSTGRES_URL` names one (skipped with a line on standard error otherwise,
//! unless `WECHAT_REQUIRE_POSTGRES=1`, which fails instead).
//!
//! The database, not the notification record, keeps an order paid once: the duplicate
//! deliveries here go to separate app instances (separate records, one database), as to
//! separate processes of a shop. Orders survive a restart; a database failure answers FAIL;
//! refunds are recorded once per `out_refund_no` and never add up to more than was paid.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use pay_demo::{
    Item, MarkError, Order, OrderState, Orders, RefundState, Settings, SqlOrders, now_secs,
};
use serde_json::{Value, json};
use tower::ServiceExt;
use wechat_tower::core::pay::nonce_str;
use wechat_tower::store::MemoryStore;
use wechat_tower::test_util::mock_pay::MockPay;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

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

fn settings(mock: &MockPay, database_url: &str) -> Settings {
    let mut settings = Settings::new(
        mock.app_id(),
        mock.mch_id(),
        mock.key(),
        &mock.base_url(),
        "127.0.0.1:3000".parse().unwrap(),
    );
    database_url.clone_into(&mut settings.database_url);
    settings
}

/// An app on `orders` with its own notification record: another process of the shop.
fn instance(mock: &MockPay, orders: &Arc<SqlOrders>) -> axum::Router {
    pay_demo::app_with(
        &settings(mock, pay_demo::MEMORY_DATABASE_URL),
        Arc::clone(orders) as Arc<dyn Orders>,
        Arc::new(MemoryStore::new()),
    )
    .unwrap()
}

/// A payer of its own, so tests sharing a PostgreSQL database do not share balances.
fn payer() -> String {
    format!("o{}", &nonce_str()[..20])
}

async fn top_up(app: &axum::Router, openid: &str, fee: u64) -> String {
    let (status, body) = call(
        app,
        "POST",
        "/orders",
        json!({ "openid": openid, "total_fee": fee, "body": "充值 Top-up" }).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn state(app: &axum::Router, id: &str) -> Value {
    let (status, body) = call(app, "GET", &format!("/orders/{id}"), String::new()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// POSTs a notification; `true` for SUCCESS, `false` for FAIL (anything else fails the test).
async fn notify(app: &axum::Router, xml: String) -> bool {
    let (status, body) = call(app, "POST", "/pay/notify", xml).await;
    if body.contains("SUCCESS") {
        assert_eq!(status, 200, "{body}");
        true
    } else {
        assert!(body.contains("FAIL"), "{status} {body}");
        false
    }
}

/// A directory of its own under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("pay-demo-db-{}", nonce_str()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}?mode=rwc", self.0.join("pay.db").display())
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `PAY_DEMO_TEST_POSTGRES_URL`, or `None` after a skip line (a failure under
/// `WECHAT_REQUIRE_POSTGRES=1`).
fn postgres_url(test: &str) -> Option<String> {
    if let Some(url) = std::env::var("PAY_DEMO_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        return Some(url);
    }
    assert!(
        std::env::var("WECHAT_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "WECHAT_REQUIRE_POSTGRES=1 but PAY_DEMO_TEST_POSTGRES_URL is unset"
    );
    eprintln!("skipped {test}: PAY_DEMO_TEST_POSTGRES_URL is unset (PostgreSQL not tested)");
    None
}

// ---------------------------------------------------------------------------------------------
// The scenarios, for any database
// ---------------------------------------------------------------------------------------------

/// Create, pay, drop the app, build a new one on the same database: still paid, credited
/// once, and WeChat Pay's late retry (a new process has no notification record) credits
/// nothing more.
async fn orders_survive_a_restart(url: &str) {
    let mock = MockPay::start().await.unwrap();
    let openid = payer();
    let id = {
        let app = pay_demo::app(&settings(&mock, url)).await.unwrap();
        let id = top_up(&app, &openid, 250).await;
        mock.pay(&id).unwrap();
        assert!(notify(&app, mock.notify_v2_xml(&id).unwrap()).await);
        assert_eq!(state(&app, &id).await["state"], "paid");
        id
    };
    let app = pay_demo::app(&settings(&mock, url)).await.unwrap();
    let order = state(&app, &id).await;
    assert_eq!(order["state"], "paid", "{order}");
    assert_eq!(order["credit"], 250, "{order}");
    assert!(notify(&app, mock.notify_v2_xml(&id).unwrap()).await);
    let orders = SqlOrders::connect(url, 10).await.unwrap();
    assert_eq!(orders.balance(&openid).await.unwrap(), 250);
    assert_eq!(
        orders.get(&id).await.unwrap().unwrap().transaction_id,
        mock.order(&id).unwrap().transaction_id
    );
}

/// One notification delivered twice, then eight times at once, each to another instance
/// (another notification record): paid once, credited once. A wrong amount and an unknown
/// order answer FAIL and change nothing.
async fn a_payment_is_applied_once(orders: Arc<SqlOrders>) {
    let mock = MockPay::start().await.unwrap();
    let openid = payer();
    let app = instance(&mock, &orders);
    let id = top_up(&app, &openid, 300).await;
    mock.pay(&id).unwrap();

    // A wrong amount (a forged notification signed with a leaked key, say): FAIL, unpaid.
    let mut cheaper = mock.notify_v2_map(&id).unwrap();
    cheaper.insert("total_fee", "1");
    cheaper.insert("cash_fee", "1");
    mock.sign(&mut cheaper);
    assert!(!notify(&app, cheaper.to_xml().unwrap()).await);
    assert_eq!(state(&app, &id).await["state"], "unpaid");
    assert_eq!(orders.balance(&openid).await.unwrap(), 0);

    // An order this shop never saved: FAIL, never SUCCESS, and nothing saved.
    let stranger = format!("{}{}", now_secs(), &nonce_str()[..12]);
    mock.create_order(&stranger, 300, &openid);
    mock.pay(&stranger).unwrap();
    assert!(!notify(&app, mock.notify_v2_xml(&stranger).unwrap()).await);
    assert_eq!(orders.get(&stranger).await.unwrap(), None);

    let xml = mock.notify_v2_xml(&id).unwrap();
    assert!(notify(&instance(&mock, &orders), xml.clone()).await);
    assert!(notify(&instance(&mock, &orders), xml.clone()).await);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = instance(&mock, &orders);
            let xml = xml.clone();
            tokio::spawn(async move { notify(&app, xml).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap(), "a duplicate answers SUCCESS");
    }
    let order = orders.get(&id).await.unwrap().unwrap();
    assert_eq!((order.state, order.credit), (OrderState::Paid, Some(300)));
    assert_eq!(orders.balance(&openid).await.unwrap(), 300);
}

/// Eight payments of eight orders at once, each delivered twice to two instances: every
/// balance update lands, once.
async fn concurrent_payments_all_land_once(orders: Arc<SqlOrders>) {
    let mock = MockPay::start().await.unwrap();
    let openid = payer();
    let app = instance(&mock, &orders);
    let mut ids = Vec::new();
    for _ in 0..8 {
        let id = top_up(&app, &openid, 10).await;
        mock.pay(&id).unwrap();
        ids.push(id);
    }
    let tasks: Vec<_> = ids
        .iter()
        .flat_map(|id| [id.clone(), id.clone()])
        .map(|id| {
            let app = instance(&mock, &orders);
            let xml = mock.notify_v2_xml(&id).unwrap();
            tokio::spawn(async move { notify(&app, xml).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap());
    }
    assert_eq!(orders.balance(&openid).await.unwrap(), 80);
}

/// The database fails (here: every connection closed): the notification answers FAIL, not
/// SUCCESS, and WeChat Pay's retry, once the database is back, pays the order.
async fn a_database_failure_answers_fail(url: &str) {
    let mock = MockPay::start().await.unwrap();
    let orders = Arc::new(SqlOrders::connect(url, 10).await.unwrap());
    let app = instance(&mock, &orders);
    let openid = payer();
    let id = top_up(&app, &openid, 120).await;
    mock.pay(&id).unwrap();
    orders.close().await;
    assert!(!notify(&app, mock.notify_v2_xml(&id).unwrap()).await);
    let (status, body) = call(&app, "GET", &format!("/orders/{id}"), String::new()).await;
    assert_eq!(status, 503, "{body}");

    let back = Arc::new(SqlOrders::connect(url, 10).await.unwrap());
    let order = back.get(&id).await.unwrap().unwrap();
    assert_eq!(order.state, OrderState::Unpaid);
    assert!(notify(&instance(&mock, &back), mock.notify_v2_xml(&id).unwrap()).await);
    assert_eq!(back.balance(&openid).await.unwrap(), 120);
}

/// Refunds: one row per `out_refund_no` whatever is retried, a notification applied once,
/// and concurrent refunds never adding up to more than was paid.
async fn refunds_are_recorded_once(orders: Arc<SqlOrders>) {
    let openid = payer();
    let id = format!("{}{}", now_secs(), &nonce_str()[..12]);
    let later = now_secs() + 900;
    let product = Item::Product {
        product_id: "tea".into(),
    };
    orders
        .create(Order::unpaid(&id, &openid, product, 1000, later))
        .await
        .unwrap();
    assert_eq!(
        orders.reserve_refund(&id, &format!("{id}R1"), 100).await,
        Err(MarkError::NotPaid)
    );
    orders
        .mark_paid(&id, 1000, &format!("tx{id}"))
        .await
        .unwrap();

    let r1 = format!("{id}R1");
    orders.reserve_refund(&id, &r1, 300).await.unwrap();
    assert_eq!(
        orders.reserve_refund(&id, &r1, 300).await,
        Err(MarkError::Duplicate(r1.clone()))
    );
    let refunds = orders.refunds(&id).await.unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
    assert_eq!(
        (refunds[0].amount, refunds[0].state),
        (300, RefundState::Asked)
    );

    // The refund notification, twice: one state change, counted once.
    orders.mark_refunded(&id, &r1, 300).await.unwrap();
    orders.mark_refunded(&id, &r1, 300).await.unwrap();
    let order = orders.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (order.state, order.refunded_fee),
        (OrderState::Refunded, 300)
    );
    assert_eq!(
        orders.mark_refunded(&id, &r1, 301).await,
        Err(MarkError::UnknownRefund(r1.clone()))
    );
    // A released refund cannot be confirmed, nor released twice into a double refund.
    orders.release_refund(&id, &r1).await.unwrap();
    assert_eq!(
        orders.refunds(&id).await.unwrap()[0].state,
        RefundState::Succeeded
    );

    // 700 fen left; eight refunds of 200 at once: at most three get through.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (orders, id) = (Arc::clone(&orders), id.clone());
            tokio::spawn(async move { orders.reserve_refund(&id, &format!("{id}C{i}"), 200).await })
        })
        .collect();
    let mut granted = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => granted += 1,
            Err(MarkError::RefundTooLarge { .. }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(granted, 3);
    let asked: u64 = orders
        .refunds(&id)
        .await
        .unwrap()
        .iter()
        .map(|r| r.amount)
        .sum();
    assert_eq!(asked, 900);
    assert_eq!(
        orders.reserve_refund(&id, &format!("{id}R9"), 101).await,
        Err(MarkError::RefundTooLarge { left: 100 })
    );
}

/// A top-up's refund takes its credit back at once, and a released one gives it back.
async fn a_top_up_refund_takes_the_credit_back(orders: Arc<SqlOrders>) {
    let openid = payer();
    let id = format!("{}{}", now_secs(), &nonce_str()[..12]);
    orders
        .create(Order::unpaid(
            &id,
            &openid,
            Item::TopUp,
            500,
            now_secs() + 900,
        ))
        .await
        .unwrap();
    let (ra, rb) = (format!("{id}A"), format!("{id}B"));
    orders.mark_paid(&id, 500, "tx-top-up").await.unwrap();
    orders.mark_paid(&id, 500, "tx-top-up").await.unwrap();
    assert_eq!(
        orders.mark_paid(&id, 500, "tx-other").await,
        Err(MarkError::OtherTransaction)
    );
    assert_eq!(orders.balance(&openid).await.unwrap(), 500);
    orders.reserve_refund(&id, &ra, 200).await.unwrap();
    assert_eq!(orders.balance(&openid).await.unwrap(), 300);
    orders.release_refund(&id, &ra).await.unwrap();
    orders.release_refund(&id, &ra).await.unwrap();
    assert_eq!(orders.balance(&openid).await.unwrap(), 500);
    assert_eq!(
        orders.refunds(&id).await.unwrap()[0].state,
        RefundState::Released
    );
    assert_eq!(
        orders.mark_refunded(&id, &ra, 200).await,
        Err(MarkError::UnknownRefund(ra.clone()))
    );
    // Spent in the shop (not modelled): no refund of more than is left of it.
    spend(&orders, &openid, 440).await;
    assert_eq!(
        orders.reserve_refund(&id, &rb, 100).await,
        Err(MarkError::BalanceSpent { balance: 60 })
    );
    assert!(
        orders
            .refunds(&id)
            .await
            .unwrap()
            .iter()
            .all(|r| r.out_refund_no != rb)
    );
    orders.reserve_refund(&id, &rb, 60).await.unwrap();
    assert_eq!(orders.balance(&openid).await.unwrap(), 0);
}

/// Spends `fen` of the balance of `openid`, as the shop's own code would.
async fn spend(orders: &SqlOrders, openid: &str, fen: i64) {
    let done = sqlx::query("UPDATE balances SET balance = balance - $1 WHERE openid = $2")
        .bind(fen)
        .bind(openid)
        .execute(orders.pool())
        .await
        .unwrap()
        .rows_affected();
    assert_eq!(done, 1);
}

// ---------------------------------------------------------------------------------------------
// SQLite
// ---------------------------------------------------------------------------------------------

async fn sqlite_file() -> (TempDir, Arc<SqlOrders>) {
    let dir = TempDir::new();
    let orders = Arc::new(SqlOrders::connect(&dir.sqlite_url(), 100).await.unwrap());
    (dir, orders)
}

#[tokio::test]
async fn sqlite_orders_survive_a_restart() {
    let dir = TempDir::new();
    orders_survive_a_restart(&dir.sqlite_url()).await;
    assert!(dir.0.join("pay.db").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_payment_is_applied_once() {
    let (_dir, orders) = sqlite_file().await;
    a_payment_is_applied_once(orders).await;
    // The same on one in-memory database (one connection).
    let memory = SqlOrders::connect(pay_demo::MEMORY_DATABASE_URL, 100).await;
    a_payment_is_applied_once(Arc::new(memory.unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_payments_all_land_once() {
    let (_dir, orders) = sqlite_file().await;
    concurrent_payments_all_land_once(orders).await;
}

#[tokio::test]
async fn sqlite_a_database_failure_answers_fail() {
    let dir = TempDir::new();
    a_database_failure_answers_fail(&dir.sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_refunds_are_recorded_once() {
    let (_dir, orders) = sqlite_file().await;
    refunds_are_recorded_once(orders).await;
}

#[tokio::test]
async fn sqlite_a_top_up_refund_takes_the_credit_back() {
    let (_dir, orders) = sqlite_file().await;
    a_top_up_refund_takes_the_credit_back(orders).await;
}

/// Two apps of `Settings::new` in one process: two databases, no order shared.
#[tokio::test]
async fn in_memory_databases_are_not_shared() {
    let mock = MockPay::start().await.unwrap();
    let settings = settings(&mock, pay_demo::MEMORY_DATABASE_URL);
    let a = pay_demo::app(&settings).await.unwrap();
    let b = pay_demo::app(&settings).await.unwrap();
    let id = top_up(&a, "oBuyer", 100).await;
    assert_eq!(state(&a, &id).await["state"], "unpaid");
    let (status, _) = call(&b, "GET", &format!("/orders/{id}"), String::new()).await;
    assert_eq!(status, 404);
}

/// Every file of `migrations/` is embedded, in order, so a new one cannot be forgotten.
#[test]
fn every_migration_file_is_embedded() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), pay_demo::MIGRATIONS.len(), "{files:?}");
    for (file, (version, _, sql)) in files.iter().zip(pay_demo::MIGRATIONS) {
        let number: i64 = file.split('_').next().unwrap().parse().unwrap();
        assert_eq!(number, *version, "{file}");
        assert_eq!(
            std::fs::read_to_string(dir.join(file)).unwrap(),
            *sql,
            "{file}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL
// ---------------------------------------------------------------------------------------------

async fn postgres(test: &str) -> Option<(String, Arc<SqlOrders>)> {
    let url = postgres_url(test)?;
    let orders = SqlOrders::connect(&url, 100_000).await.unwrap();
    assert_eq!(orders.backend(), pay_demo::Backend::Postgres);
    Some((url, Arc::new(orders)))
}

#[tokio::test]
async fn postgres_orders_survive_a_restart() {
    if let Some((url, _)) = postgres("postgres_orders_survive_a_restart").await {
        orders_survive_a_restart(&url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_payment_is_applied_once() {
    if let Some((_, orders)) = postgres("postgres_a_payment_is_applied_once").await {
        a_payment_is_applied_once(orders).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_payments_all_land_once() {
    if let Some((_, orders)) = postgres("postgres_concurrent_payments_all_land_once").await {
        concurrent_payments_all_land_once(orders).await;
    }
}

#[tokio::test]
async fn postgres_a_database_failure_answers_fail() {
    if let Some((url, _)) = postgres("postgres_a_database_failure_answers_fail").await {
        a_database_failure_answers_fail(&url).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_refunds_are_recorded_once() {
    if let Some((_, orders)) = postgres("postgres_refunds_are_recorded_once").await {
        refunds_are_recorded_once(orders).await;
    }
}

#[tokio::test]
async fn postgres_a_top_up_refund_takes_the_credit_back() {
    if let Some((_, orders)) = postgres("postgres_a_top_up_refund_takes_the_credit_back").await {
        a_top_up_refund_takes_the_credit_back(orders).await;
    }
}
