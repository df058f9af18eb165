//! Regression tests of issue 16 (pay-demo): the client cannot set a product's price, top-ups
//! stay within bounds, oversized fields are refused before anything is stored, an order WeChat
//! Pay refused leaves nothing behind, notifications for unknown orders or other amounts answer
//! FAIL, and the mock merchant's public key never serves a public address.
//!
//! The shop runs in process (`oneshot`) against a `MockPay` on loopback, as the README's flow;
//! the demo-mode rule runs the real binary.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use http_body_util::BodyExt;
use pay_demo::{MEMORY_DATABASE_URL, MarkError, Order, Orders, Settings, SqlOrders};
use serde_json::{Value, json};
use tower::ServiceExt;
use wechat_tower::core::pay::PayMap;
use wechat_tower::store::MemoryStore;
use wechat_tower::test_util::mock_pay::{MockPay, NotifyAnswer};

/// [`SqlOrders`] (SQLite in memory) that counts the orders saved.
struct Recording {
    inner: SqlOrders,
    created: AtomicUsize,
}

#[pay_demo::async_trait]
impl Orders for Recording {
    async fn create(&self, order: Order) -> Result<(), MarkError> {
        self.created.fetch_add(1, Ordering::SeqCst);
        self.inner.create(order).await
    }

    async fn get(&self, id: &str) -> Result<Option<Order>, MarkError> {
        self.inner.get(id).await
    }

    async fn mark_paid(
        &self,
        id: &str,
        total_fee: u64,
        transaction_id: &str,
    ) -> Result<(), MarkError> {
        self.inner.mark_paid(id, total_fee, transaction_id).await
    }
}

struct Shop {
    app: axum::Router,
    orders: Arc<Recording>,
}

impl Shop {
    async fn start(mock: &MockPay) -> Self {
        let settings = Settings::new(
            mock.app_id(),
            mock.mch_id(),
            mock.key(),
            &mock.base_url(),
            "127.0.0.1:3000".parse().unwrap(),
        );
        let orders = Arc::new(Recording {
            inner: SqlOrders::connect(MEMORY_DATABASE_URL, 10_000)
                .await
                .unwrap(),
            created: AtomicUsize::new(0),
        });
        let app = pay_demo::app_with(
            &settings,
            Arc::clone(&orders) as Arc<dyn Orders>,
            Arc::new(MemoryStore::new()),
        )
        .unwrap();
        Self { app, orders }
    }

    async fn call(&self, method: &str, path: &str, body: impl Into<Body>) -> (u16, Value) {
        let req = axum::http::Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(body.into())
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, body)
    }

    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.call("POST", path, body.to_string()).await
    }

    /// POSTs a notification; its answer as WeChat Pay reads it.
    async fn notify(&self, xml: String) -> NotifyAnswer {
        let (status, body) = self.call("POST", "/pay/notify", xml).await;
        let body = match body {
            Value::String(s) => s,
            other => other.to_string(),
        };
        NotifyAnswer { status, body }
    }

    fn created(&self) -> usize {
        self.orders.created.load(Ordering::SeqCst)
    }
}

/// The `out_trade_no` of the last unified order the mock received.
fn last_out_trade_no(mock: &MockPay) -> String {
    let requests = mock.requests("/pay/unifiedorder");
    let map = PayMap::from_xml_bytes(requests.last().unwrap()).unwrap();
    map.get("out_trade_no").unwrap().to_owned()
}

#[tokio::test]
async fn issue16_a_product_costs_the_catalogue_price_whatever_the_client_sends() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock).await;

    let (status, products) = shop.call("GET", "/products", Body::empty()).await;
    assert_eq!(status, 200, "{products}");
    let product = &products[0];
    let (product_id, price) = (
        product["id"].as_str().unwrap(),
        product["price"].as_u64().unwrap(),
    );
    assert!(price > 1);

    // The client names a price of its own, in every field it can think of.
    let (status, created) = shop
        .post(
            "/orders/product",
            &json!({ "openid": "oBuyer", "product_id": product_id, "total_fee": 1, "price": 1 }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap();
    assert_eq!(created["total_fee"], price);
    let placed = mock.order(id).unwrap();
    assert_eq!(placed.total_fee, price);
    assert_eq!(placed.body, product["name"].as_str().unwrap());
    let (_, order) = shop
        .call("GET", &format!("/orders/{id}"), Body::empty())
        .await;
    assert_eq!(order["total_fee"], price);

    // A product that is not in the catalogue: refused, nothing placed.
    let (status, body) = shop
        .post(
            "/orders/product",
            &json!({ "openid": "oBuyer", "product_id": "free-lunch", "total_fee": 1 }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["field"], "product_id", "{body}");
    assert_eq!(mock.calls("/pay/unifiedorder"), 1);
    assert_eq!(shop.created(), 1);
}

#[tokio::test]
async fn issue16_top_ups_outside_the_bounds_are_refused() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock).await;

    for fee in [
        json!(500_001),
        json!(0),
        json!(-5),
        json!(1.5),
        json!("100"),
        json!(1e30),
        Value::Null,
    ] {
        let (status, body) = shop
            .post(
                "/orders",
                &json!({ "openid": "oBuyer", "total_fee": fee, "body": "充值 Top-up" }),
            )
            .await;
        assert_eq!(status, 400, "{fee}: {body}");
        assert_eq!(body["field"], "total_fee", "{fee}: {body}");
    }
    assert_eq!(mock.calls("/pay/unifiedorder"), 0);
    assert_eq!(shop.created(), 0);

    // At the bound: placed, for that amount.
    let (status, created) = shop
        .post(
            "/orders",
            &json!({ "openid": "oBuyer", "total_fee": 500_000, "body": "充值 Top-up" }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(
        mock.order(created["id"].as_str().unwrap())
            .unwrap()
            .total_fee,
        500_000
    );

    // The page reads the bounds from the server.
    let (status, bounds) = shop.call("GET", "/topup", Body::empty()).await;
    assert_eq!(status, 200, "{bounds}");
    assert_eq!(bounds, json!({ "min_fee": 1, "max_fee": 500_000 }));
}

#[tokio::test]
async fn issue16_a_2mb_openid_is_refused_and_nothing_is_stored() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock).await;

    // 2 MB: refused by the body cap (413) before any parsing.
    let huge = json!({ "openid": "o".repeat(2_000_000), "total_fee": 100, "body": "Top-up" });
    let (status, body) = shop.post("/orders", &huge).await;
    assert_eq!(status, 413);
    assert!(body["error"].as_str().unwrap().contains("bytes"), "{body}");
    let (status, _) = shop
        .post(
            "/orders/product",
            &json!({ "openid": "o".repeat(2_000_000), "product_id": "beef-noodles" }),
        )
        .await;
    assert_eq!(status, 413);

    // Small enough to read, too long or wrong for the field: 400 naming it.
    for (request, field) in [
        (
            json!({ "openid": "o".repeat(65), "total_fee": 100, "body": "Top-up" }),
            "openid",
        ),
        (
            json!({ "openid": "o/../../x", "total_fee": 100, "body": "Top-up" }),
            "openid",
        ),
        (
            json!({ "openid": "oBuyer", "total_fee": 100, "body": "x".repeat(129) }),
            "body",
        ),
        (
            json!({ "openid": "oBuyer", "total_fee": 100, "body": "Top-up\u{0}" }),
            "body",
        ),
    ] {
        let (status, body) = shop.post("/orders", &request).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["field"], field, "{body}");
        assert!(body["error"].as_str().unwrap().starts_with(field), "{body}");
    }
    let (status, body) = shop
        .post(
            "/orders/product",
            &json!({ "openid": "o".repeat(65), "product_id": "beef-noodles" }),
        )
        .await;
    assert_eq!((status, &body["field"]), (400, &json!("openid")), "{body}");

    assert_eq!(shop.created(), 0);
    assert_eq!(mock.calls("/pay/unifiedorder"), 0);
}

#[tokio::test]
async fn issue16_an_order_wechat_pay_refused_leaves_nothing_behind() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock).await;

    mock.fail_next("/pay/unifiedorder", 1, "SYSTEMERROR");
    let (status, body) = shop
        .post(
            "/orders",
            &json!({ "openid": "oBuyer", "total_fee": 100, "body": "Top-up" }),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    let id = last_out_trade_no(&mock);
    assert_eq!(shop.created(), 0);
    let (status, _) = shop
        .call("GET", &format!("/orders/{id}"), Body::empty())
        .await;
    assert_eq!(status, 404);

    // Had it been paid anyway (WeChat Pay's SYSTEMERROR may hide a created order), its
    // notification finds no order: FAIL, never SUCCESS.
    mock.create_order(&id, 100, "oBuyer");
    mock.pay(&id).unwrap();
    let answer = shop.notify(mock.notify_v2_xml(&id).unwrap()).await;
    assert!(!answer.is_success(), "{answer:?}");
    let (status, _) = shop
        .call("GET", &format!("/orders/{id}"), Body::empty())
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn issue16_a_notify_for_an_unknown_order_answers_fail() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock).await;
    mock.create_order("17000000000123456789ab", 100, "oBuyer");
    mock.pay("17000000000123456789ab").unwrap();
    let answer = shop
        .notify(mock.notify_v2_xml("17000000000123456789ab").unwrap())
        .await;
    assert!(!answer.is_success(), "{answer:?}");
    assert!(answer.body.contains("FAIL"), "{answer:?}");
    assert_eq!(shop.created(), 0);
}

#[tokio::test]
async fn issue16_a_notify_for_another_amount_answers_fail_and_the_order_stays_unpaid() {
    let mock = MockPay::start().await.unwrap();
    let shop = Shop::start(&mock).await;
    let (status, created) = shop
        .post(
            "/orders",
            &json!({ "openid": "oBuyer", "total_fee": 300, "body": "Top-up" }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().unwrap();
    mock.pay(id).unwrap();

    // Correctly signed (the merchant's key), for 1 fen.
    let mut cheaper = mock.notify_v2_map(id).unwrap();
    cheaper.insert("total_fee", "1");
    cheaper.insert("cash_fee", "1");
    mock.sign(&mut cheaper);
    let answer = shop.notify(cheaper.to_xml().unwrap()).await;
    assert!(!answer.is_success(), "{answer:?}");
    let (_, order) = shop
        .call("GET", &format!("/orders/{id}"), Body::empty())
        .await;
    assert_eq!(order["state"], "unpaid", "{order}");
    assert_eq!(order["credit"], Value::Null, "{order}");

    // The genuine one pays it and credits what was paid.
    let answer = shop.notify(mock.notify_v2_xml(id).unwrap()).await;
    assert!(answer.is_success(), "{answer:?}");
    let (_, order) = shop
        .call("GET", &format!("/orders/{id}"), Body::empty())
        .await;
    assert_eq!(order["state"], "paid", "{order}");
    assert_eq!(order["credit"], 300, "{order}");
}

// ---------------------------------------------------------------------------------------------
// Demo mode: the real binary
// ---------------------------------------------------------------------------------------------

/// The demo binary with only `env` set (and its orders in memory, not in a `pay-demo.db` left
/// behind), its output piped.
fn demo(args: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pay-demo"))
        .args(args)
        .env_clear()
        .env("DATABASE_URL", pay_demo::MEMORY_DATABASE_URL)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child` to exit; kills it and fails if it is still serving after 20 s.
fn exit_of(mut child: Child) -> (i32, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
            return (status.code().unwrap_or(-1), stderr);
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("still serving after 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Expects `child` to serve: returns its first line, which says where.
fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
    assert!(child.try_wait().unwrap().is_none(), "exited: {line}");
    assert!(line.starts_with("pay-demo on http://"), "{line}");
    line
}

/// Expects `child` to serve; then stops it.
fn serves(mut child: Child) -> String {
    let line = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| first_line(&mut child)));
    child.kill().unwrap();
    child.wait().unwrap();
    line.unwrap_or_else(|e| std::panic::resume_unwind(e))
}

const REAL_MERCHANT: [(&str, &str); 3] = [
    ("WECHAT_APPID", "wx1234567890abcdef"),
    ("WECHAT_PAY_MCH_ID", "1230000109"),
    ("WECHAT_PAY_KEY", "0123456789abcdef0123456789abcdef"),
];

#[test]
fn issue16_the_mock_key_refuses_a_public_address() {
    let (code, stderr) = exit_of(demo(&[], &[("ADDR", "0.0.0.0:0")]));
    assert_ne!(code, 0, "{stderr}");
    for name in [
        "WECHAT_APPID",
        "WECHAT_PAY_MCH_ID",
        "WECHAT_PAY_KEY",
        "--demo",
    ] {
        assert!(stderr.contains(name), "{name}: {stderr}");
    }

    // Only the key left at the mock's: still refused, naming it.
    let (code, stderr) = exit_of(demo(
        &[],
        &[("ADDR", "0.0.0.0:0"), REAL_MERCHANT[0], REAL_MERCHANT[1]],
    ));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("WECHAT_PAY_KEY"), "{stderr}");
    assert!(!stderr.contains("WECHAT_APPID"), "{stderr}");

    // Loopback, but PUBLIC_URL says a proxy serves it to the internet.
    let (code, stderr) = exit_of(demo(
        &[],
        &[
            ("ADDR", "127.0.0.1:0"),
            ("PUBLIC_URL", "https://shop.example"),
        ],
    ));
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains("WECHAT_PAY_KEY"), "{stderr}");
}

#[test]
fn issue16_the_mock_key_serves_on_loopback_or_with_demo() {
    let line = serves(demo(&[], &[("ADDR", "127.0.0.1:0")]));
    assert!(line.starts_with("pay-demo on http://127.0.0.1:"), "{line}");
    serves(demo(&["--demo"], &[("ADDR", "0.0.0.0:0")]));
    // A real merchant serves anywhere.
    let mut env = REAL_MERCHANT.to_vec();
    env.push(("ADDR", "0.0.0.0:0"));
    serves(demo(&[], &env));
}

#[test]
fn issue16_a_client_that_never_finishes_its_request_head_is_dropped() {
    let mut child = demo(&[], &[("ADDR", "127.0.0.1:0")]);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let line = first_line(&mut child);
        let addr = line
            .trim_start_matches("pay-demo on http://")
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        let mut slow = std::net::TcpStream::connect(&addr).unwrap();
        std::io::Write::write_all(&mut slow, b"GET / HTTP/1.1\r\nHost: shop\r\n").unwrap();
        // Meanwhile the shop answers others.
        let mut other = std::net::TcpStream::connect(&addr).unwrap();
        std::io::Write::write_all(
            &mut other,
            b"GET /topup HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut other, &mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // The header-read timeout (10 s) closes the slow one; axum::serve never did.
        slow.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 256];
        match std::io::Read::read(&mut slow, &mut buf) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
        assert!(started.elapsed() < Duration::from_secs(15));
    }));
    child.kill().unwrap();
    child.wait().unwrap();
    result.unwrap_or_else(|e| std::panic::resume_unwind(e));
}

#[tokio::test(flavor = "multi_thread")]
async fn issue16_a_notify_for_an_unknown_order_answers_fail_with_a_log_line() {
    let mock = MockPay::start().await.unwrap();
    let mut child = demo(&[], &[("ADDR", "127.0.0.1:0")]);
    let line = first_line(&mut child);
    let addr = line
        .trim_start_matches("pay-demo on http://")
        .split(' ')
        .next()
        .unwrap();
    let id = "17000000000123456789cd";
    mock.create_order(id, 100, "oBuyer");
    let answer = mock
        .send_v2_notify(&format!("http://{addr}/pay/notify"), id)
        .await;
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let answer = answer.unwrap();
    assert!(!answer.is_success(), "{answer:?}");
    let log = String::from_utf8_lossy(&output.stderr);
    let refusal = log
        .lines()
        .find(|l| l.starts_with("WARN") && l.contains(id))
        .unwrap_or_else(|| panic!("no log line for {id}: {log}"));
    assert!(refusal.contains("no order"), "{refusal}");
}
