//! WeChat Pay end to end over loopback: the `pay-demo` shop on axum, a real `MockPay` playing
//! WeChat Pay (unified order over HTTP, signed notifications POSTed to the shop's notify URL).
//!
//! A paid order is marked once; a duplicate and two concurrent duplicates mark it once; a wrong
//! sign, a wrong `mch_id` and a wrong amount are refused and leave the order unpaid; a handler
//! failure answers FAIL and the retry succeeds; refund notifications decrypt, a replayed one is
//! answered from the record or, once too old, refused, and another merchant's `req_info` under
//! our outer `appid`/`mch_id` is refused; v3 notifications
//! verify and decrypt; and with Redis as the record, two shop processes handle a notification
//! once between them.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure is a test failure"
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::Full;
use pay_demo::{Item, MEMORY_DATABASE_URL, MarkError, Order, Orders, Settings, SqlOrders};
use serde_json::{Value, json};
use wechat_e2e::{RedisServer, send};
use wechat_tower::core::pay::{
    ErrCode, OrderId, RefundStatus, SignType, TradeState, TradeType, UnifiedOrder, sign,
};
use wechat_tower::core::secret::PayKey;
use wechat_tower::pay::{PayClient, PayClientError, PayConfig, PayNotify, Refunded};
use wechat_tower::store::{MemoryStore, RedisStore, Store};
use wechat_tower::test_util::mock_pay::MockPay;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// [`SqlOrders`] (SQLite in memory) that counts `mark_paid` calls, can fail the next ones (a
/// database outage) and can be slow (so that concurrent deliveries overlap).
struct CountingOrders {
    inner: SqlOrders,
    marks: AtomicUsize,
    fail_next: AtomicUsize,
    delay_ms: AtomicUsize,
}

impl CountingOrders {
    async fn new() -> Self {
        Self {
            inner: SqlOrders::connect(MEMORY_DATABASE_URL, 10_000)
                .await
                .unwrap(),
            marks: AtomicUsize::new(0),
            fail_next: AtomicUsize::new(0),
            delay_ms: AtomicUsize::new(0),
        }
    }
}

#[pay_demo::async_trait]
impl Orders for CountingOrders {
    async fn create(&self, order: Order) -> Result<(), MarkError> {
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
        self.marks.fetch_add(1, Ordering::SeqCst);
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            // A slow database: the handler holds its claim meanwhile.
            tokio::time::sleep(Duration::from_millis(delay as u64)).await;
        }
        if self
            .fail_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(MarkError::Unavailable("connection refused".into()));
        }
        self.inner.mark_paid(id, total_fee, transaction_id).await
    }
}

struct Shop {
    addr: SocketAddr,
    orders: Arc<CountingOrders>,
}

impl Shop {
    fn notify_url(&self) -> String {
        format!("http://{}/pay/notify", self.addr)
    }

    async fn create_order(&self, total_fee: u64) -> Value {
        let (status, body) = self
            .request(
                Method::POST,
                "/orders",
                json!({ "openid": "oBuyer", "total_fee": total_fee, "body": "Noodles 牛肉面" }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn order(&self, id: &str) -> Value {
        let (status, body) = self
            .request(Method::GET, &format!("/orders/{id}"), Value::Null)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    async fn request(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let body = if body.is_null() {
            Bytes::new()
        } else {
            Bytes::from(body.to_string())
        };
        let req = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json")
            .body(Full::new(body))
            .unwrap();
        let (status, body) = send(self.addr, req).await;
        (
            status,
            serde_json::from_slice(&body)
                .unwrap_or(Value::String(String::from_utf8_lossy(&body).into_owned())),
        )
    }
}

async fn start_shop(
    mock: &MockPay,
    store: Arc<dyn Store>,
    orders: Arc<CountingOrders>,
    configure: impl FnOnce(&mut Settings),
) -> Shop {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut settings = Settings::new(
        mock.app_id(),
        mock.mch_id(),
        mock.key(),
        &mock.base_url(),
        addr,
    );
    settings.sign_type = mock.sign_type();
    configure(&mut settings);
    let app = pay_demo::app_with(&settings, Arc::clone(&orders) as Arc<dyn Orders>, store).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Shop { addr, orders }
}

async fn shop(mock: &MockPay) -> Shop {
    start_shop(
        mock,
        Arc::new(MemoryStore::new()),
        Arc::new(CountingOrders::new().await),
        |_| {},
    )
    .await
}

fn id_of(created: &Value) -> String {
    created["id"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------------------------------------
// v2
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_paid_order_is_marked_once_with_pay_params_signed_like_the_order() {
    let mock = MockPay::builder()
        .sign_type(SignType::HmacSha256)
        .start()
        .await
        .unwrap();
    let shop = shop(&mock).await;
    let created = shop.create_order(1200).await;
    let id = id_of(&created);

    // Unified order went to the mock, with the shop's notify URL and the amount.
    let order = mock.order(&id).unwrap();
    assert_eq!(order.total_fee, 1200);
    assert_eq!(order.openid, "oBuyer");
    assert_eq!(order.notify_url, shop.notify_url());
    assert_eq!(mock.calls("/pay/unifiedorder"), 1);

    // Pay parameters: the prepay id, signed with the order's sign type.
    let p = &created["pay_params"];
    assert_eq!(p["appId"], mock.app_id());
    assert_eq!(p["package"], format!("prepay_id={}", order.prepay_id));
    assert_eq!(p["signType"], "HMAC-SHA256");
    let params: Vec<(&str, &str)> = ["appId", "timeStamp", "nonceStr", "package", "signType"]
        .iter()
        .map(|k| (*k, p[k].as_str().unwrap()))
        .collect();
    assert!(sign::verify(
        params,
        &PayKey::new(mock.key()),
        SignType::HmacSha256,
        p["paySign"].as_str().unwrap()
    ));

    let unpaid = shop.order(&id).await;
    assert_eq!(unpaid["state"], "unpaid");
    assert_eq!(unpaid["transaction_id"], Value::Null);

    let answer = mock.send_v2_notify(&shop.notify_url(), &id).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");
    let paid = shop.order(&id).await;
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["total_fee"], 1200);
    assert_eq!(
        paid["transaction_id"],
        mock.order(&id).unwrap().transaction_id.unwrap()
    );
    assert_eq!(shop.orders.marks.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_duplicate_and_two_concurrent_duplicates_mark_it_once() {
    let mock = MockPay::start().await.unwrap();
    let shop = shop(&mock).await;

    // Sequential duplicates.
    let id = id_of(&shop.create_order(100).await);
    for _ in 0..3 {
        let answer = mock.send_v2_notify(&shop.notify_url(), &id).await.unwrap();
        assert!(answer.is_success(), "{answer:?}");
    }
    assert_eq!(shop.orders.marks.load(Ordering::SeqCst), 1);

    // Two concurrent first deliveries of another order, while the handler is slow.
    shop.orders.delay_ms.store(300, Ordering::SeqCst);
    let id = id_of(&shop.create_order(200).await);
    mock.pay(&id).unwrap();
    let url = shop.notify_url();
    let (a, b) = tokio::join!(
        mock.send_v2_notify(&url, &id),
        mock.send_v2_notify(&url, &id)
    );
    assert!(a.unwrap().is_success());
    assert!(b.unwrap().is_success());
    assert_eq!(shop.orders.marks.load(Ordering::SeqCst), 2);
    assert_eq!(shop.order(&id).await["state"], "paid");
}

#[tokio::test]
async fn a_wrong_sign_a_wrong_mch_id_and_a_wrong_amount_are_refused() {
    let mock = MockPay::start().await.unwrap();
    let shop = shop(&mock).await;
    let id = id_of(&shop.create_order(500).await);
    mock.pay(&id).unwrap();
    let url = shop.notify_url();

    // Signed with another key.
    let mut forged = mock.notify_v2_map(&id).unwrap();
    forged.sign(
        &PayKey::new("0123456789abcdef0123456789abcdef"),
        SignType::Md5,
    );
    let answer = mock
        .send_raw(&url, &[], forged.to_xml().unwrap())
        .await
        .unwrap();
    assert!(!answer.is_success());
    assert_eq!(answer.status, 401, "{answer:?}");

    // A field changed after signing.
    let mut tampered = mock.notify_v2_map(&id).unwrap();
    mock.sign(&mut tampered);
    tampered.insert("total_fee", "1");
    let answer = mock
        .send_raw(&url, &[], tampered.to_xml().unwrap())
        .await
        .unwrap();
    assert_eq!(answer.status, 401, "{answer:?}");

    // Correctly signed, for another merchant.
    let mut other = mock.notify_v2_map(&id).unwrap();
    other.insert("mch_id", "1234567890");
    mock.sign(&mut other);
    let answer = mock
        .send_raw(&url, &[], other.to_xml().unwrap())
        .await
        .unwrap();
    assert!(!answer.is_success());
    assert_eq!(answer.status, 403, "{answer:?}");
    assert!(answer.body.contains("mch_id"), "{answer:?}");

    // Correctly signed, for another amount: the handler refuses it.
    let mut cheaper = mock.notify_v2_map(&id).unwrap();
    cheaper.insert("total_fee", "1");
    cheaper.insert("cash_fee", "1");
    mock.sign(&mut cheaper);
    let answer = mock
        .send_raw(&url, &[], cheaper.to_xml().unwrap())
        .await
        .unwrap();
    assert!(!answer.is_success());
    assert_eq!(answer.status, 500, "{answer:?}");
    assert!(answer.body.contains("handler failed"), "{answer:?}");

    // Still unpaid; the handler ran only for the well-signed, right-merchant one.
    let order = shop.order(&id).await;
    assert_eq!(order["state"], "unpaid");
    assert_eq!(shop.orders.marks.load(Ordering::SeqCst), 1);

    // The genuine notification still pays it: the refusals recorded nothing.
    let answer = mock.send_v2_notify(&url, &id).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(shop.order(&id).await["state"], "paid");
}

#[tokio::test]
async fn a_handler_failure_answers_fail_and_the_retry_succeeds() {
    let mock = MockPay::start().await.unwrap();
    let shop = shop(&mock).await;
    let id = id_of(&shop.create_order(300).await);
    shop.orders.fail_next.store(1, Ordering::SeqCst);

    let answer = mock.send_v2_notify(&shop.notify_url(), &id).await.unwrap();
    assert!(!answer.is_success(), "{answer:?}");
    assert_eq!(answer.status, 500);
    assert!(answer.body.contains("FAIL"), "{answer:?}");
    assert_eq!(shop.order(&id).await["state"], "unpaid");

    // WeChat Pay retries the same notification.
    let answer = mock.send_v2_notify(&shop.notify_url(), &id).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(shop.order(&id).await["state"], "paid");
    assert_eq!(shop.orders.marks.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unified_order_errors_are_typed_and_bad_orders_refused() {
    let mock = MockPay::start().await.unwrap();
    let shop = shop(&mock).await;

    let (status, body) = shop
        .request(
            Method::POST,
            "/orders",
            json!({ "openid": "oBuyer", "total_fee": 0, "body": "Free noodles" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("total_fee"),
        "{body}"
    );
    assert_eq!(mock.calls("/pay/unifiedorder"), 0);

    mock.fail_next("/pay/unifiedorder", 1, "SYSTEMERROR");
    let (status, body) = shop
        .request(
            Method::POST,
            "/orders",
            json!({ "openid": "oBuyer", "total_fee": 100, "body": "Noodles" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("SYSTEMERROR"),
        "{body}"
    );
}

#[tokio::test]
async fn the_pay_client_queries_and_closes_orders() {
    let mock = MockPay::builder()
        .sign_type(SignType::HmacSha256)
        .start()
        .await
        .unwrap();
    let config =
        PayConfig::new(mock.app_id(), mock.mch_id(), mock.key()).sign_type(SignType::HmacSha256);
    let client = PayClient::builder(config)
        .api_base(mock.base_url())
        .notify_url("https://shop.example/pay/notify")
        .build()
        .unwrap();

    let native = client
        .unified_order(
            UnifiedOrder::new(TradeType::Native, "QR noodles", "native-1", 800)
                .product_id("noodles"),
        )
        .await
        .unwrap();
    assert_eq!(native.trade_type, Some(TradeType::Native));
    assert!(
        native
            .code_url
            .unwrap()
            .starts_with("weixin://wxpay/bizpayurl")
    );
    let h5 = client
        .unified_order(
            UnifiedOrder::new(TradeType::Mweb, "H5 noodles", "mweb-1", 800).scene_info(
                r#"{"h5_info":{"type":"Wap","wap_url":"https://shop.example","wap_name":"shop"}}"#,
            ),
        )
        .await
        .unwrap();
    assert!(h5.mweb_url.unwrap().contains(&h5.prepay_id));

    let query = client
        .order_query(&OrderId::OutTradeNo("native-1".into()))
        .await
        .unwrap();
    assert_eq!(query.trade_state, TradeState::NotPay);
    let transaction_id = mock.pay("native-1").unwrap();
    let query = client
        .order_query(&OrderId::TransactionId(transaction_id.clone()))
        .await
        .unwrap();
    assert_eq!(query.trade_state, TradeState::Success);
    assert_eq!(query.total_fee, Some(800));
    assert_eq!(query.transaction_id, Some(transaction_id));

    let err = client.close_order("native-1").await.unwrap_err();
    let PayClientError::Pay(err) = err else {
        panic!("{err:?}")
    };
    assert_eq!(err.business().unwrap().code, ErrCode::OrderPaid);
    client.close_order("mweb-1").await.unwrap();
    assert_eq!(mock.order("mweb-1").unwrap().state, TradeState::Closed);

    let err = client
        .order_query(&OrderId::OutTradeNo("nope".into()))
        .await
        .unwrap_err();
    assert_eq!(
        err.pay().unwrap().business().unwrap().code,
        ErrCode::OrderNotExist
    );

    // A client with the wrong key: the mock refuses the sign (return_code FAIL).
    let wrong = PayClient::builder(PayConfig::new(mock.app_id(), mock.mch_id(), "wrong-key"))
        .api_base(mock.base_url())
        .build()
        .unwrap();
    let err = wrong.close_order("mweb-1").await.unwrap_err();
    assert!(err.to_string().contains("签名错误"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Refunds and v3
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_refund_notify_decrypts_and_runs_once() {
    let mock = MockPay::start().await.unwrap();
    let refunds: Arc<Mutex<Vec<Refunded>>> = Arc::default();
    let config = PayConfig::new(mock.app_id(), mock.mch_id(), mock.key());
    let notify = PayNotify::builder(config)
        .handler(
            |refund: Refunded,
             wechat_tower::State(seen): wechat_tower::State<Arc<Mutex<Vec<Refunded>>>>| async move {
                seen.lock().unwrap().push(refund);
            },
        )
        .with_state(Arc::clone(&refunds))
        .build().unwrap();
    let addr = wechat_e2e::spawn_axum(notify).await;
    let url = format!("http://{addr}/wechat");

    mock.create_order("refund-1", 1000, "oBuyer");
    mock.pay("refund-1").unwrap();
    let xml = mock.refund_notify_xml("refund-1", "R-1", 400).unwrap();
    assert!(
        !xml.contains("refund_fee"),
        "req_info hides the refund: {xml}"
    );
    for _ in 0..2 {
        let answer = mock.send_raw(&url, &[], xml.clone()).await.unwrap();
        assert!(answer.is_success(), "{answer:?}");
    }
    let refunds = refunds.lock().unwrap();
    assert_eq!(refunds.len(), 1);
    let Refunded::V2(refund) = &refunds[0] else {
        panic!("{:?}", refunds[0])
    };
    assert_eq!(refund.out_trade_no, "refund-1");
    assert_eq!(refund.out_refund_no, "R-1");
    assert_eq!(refund.refund_fee, 400);
    assert_eq!(refund.total_fee, 1000);
    assert_eq!(refund.refund_status, RefundStatus::Success);
    assert_eq!(refund.refund_recv_accout.as_deref(), Some("支付用户的零钱"));
}

/// A refund service on loopback whose clock reads `now`, counting handled refunds.
async fn refund_notify_url(
    mock: &MockPay,
    now: &Arc<AtomicU64>,
    handled: &Arc<AtomicUsize>,
) -> String {
    let clock = Arc::clone(now);
    let config = PayConfig::new(mock.app_id(), mock.mch_id(), mock.key())
        .clock(move || clock.load(Ordering::SeqCst));
    let notify = PayNotify::builder(config)
        .handler(
            |_: Refunded, wechat_tower::State(n): wechat_tower::State<Arc<AtomicUsize>>| async move {
                n.fetch_add(1, Ordering::SeqCst);
            },
        )
        .store(Arc::new(MemoryStore::new()))
        .with_state(Arc::clone(handled))
        .build().unwrap();
    format!("http://{}/wechat", wechat_e2e::spawn_axum(notify).await)
}

#[tokio::test]
async fn issue16_a_refund_replayed_later_is_answered_from_the_record_and_an_old_one_refused() {
    const T0: u64 = 1_700_000_000;
    let mock = MockPay::start().await.unwrap();
    let now = Arc::new(AtomicU64::new(T0));
    let handled = Arc::new(AtomicUsize::new(0));
    let url = refund_notify_url(&mock, &now, &handled).await;
    mock.create_order("refund-2", 1000, "oBuyer");
    mock.pay("refund-2").unwrap();

    let xml = mock
        .refund_notify_xml_at("refund-2", "R-2", 400, T0 - 60)
        .unwrap();
    assert!(
        mock.send_raw(&url, &[], xml.clone())
            .await
            .unwrap()
            .is_success()
    );
    // Replayed an hour and a second later: answered SUCCESS from the record, not run again.
    now.fetch_add(3601, Ordering::SeqCst);
    let answer = mock.send_raw(&url, &[], xml).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(handled.load(Ordering::SeqCst), 1);

    // A refund that succeeded eight days ago (a captured req_info replayed after the week its
    // record lives): refused, the handler not run.
    let old = now.load(Ordering::SeqCst) - 8 * 24 * 3600;
    let xml = mock
        .refund_notify_xml_at("refund-2", "R-3", 100, old)
        .unwrap();
    let answer = mock.send_raw(&url, &[], xml).await.unwrap();
    assert_eq!(answer.status, 401, "{answer:?}");
    assert!(
        !answer.is_success() && answer.body.contains("success_time"),
        "{answer:?}"
    );
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn issue16_our_appid_and_mch_id_around_another_merchants_req_info_is_refused() {
    let mock = MockPay::start().await.unwrap();
    let other = MockPay::builder()
        .merchant(
            "wxother000000001",
            "1900000999",
            "ANOTHERMERCHANTSKEY0123456789abc",
        )
        .start()
        .await
        .unwrap();
    let now = Arc::new(AtomicU64::new(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    ));
    let handled = Arc::new(AtomicUsize::new(0));
    let url = refund_notify_url(&mock, &now, &handled).await;
    other.create_order("theirs-1", 1000, "oBuyer");
    other.pay("theirs-1").unwrap();
    // Their genuine notification, re-addressed: the outer appid and mch_id are ours (unsigned,
    // anyone can write them), req_info is theirs.
    let xml = other
        .refund_notify_xml("theirs-1", "R-1", 1000)
        .unwrap()
        .replace(other.app_id(), mock.app_id())
        .replace(other.mch_id(), mock.mch_id());
    assert!(xml.contains(mock.mch_id()));
    let answer = mock.send_raw(&url, &[], xml).await.unwrap();
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(!answer.is_success(), "{answer:?}");
    assert_eq!(handled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn v3_notifications_verify_decrypt_and_mark_once() {
    let mock = MockPay::start().await.unwrap();
    let v3 = (
        mock.api_v3_key().to_owned(),
        mock.public_key_id().to_owned(),
        mock.public_key_pem().to_owned(),
    );
    let shop = start_shop(
        &mock,
        Arc::new(MemoryStore::new()),
        Arc::new(CountingOrders::new().await),
        |s| s.v3 = Some(v3),
    )
    .await;
    let id = id_of(&shop.create_order(700).await);
    let url = shop.notify_url();

    // Tampered: refused, unpaid.
    mock.pay(&id).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut n = mock.v3_notify(&id, now).unwrap();
    n.body = n.body.replacen("encrypt-resource", "encrypt-resourcE", 1);
    let answer = mock.send_v3(&url, &n).await.unwrap();
    assert_eq!(answer.status, 401, "{answer:?}");
    assert!(answer.body.contains("FAIL"), "{answer:?}");
    // Replayed from ten minutes ago: refused.
    let stale = mock.v3_notify(&id, now - 600).unwrap();
    assert_eq!(mock.send_v3(&url, &stale).await.unwrap().status, 401);
    assert_eq!(shop.order(&id).await["state"], "unpaid");

    for _ in 0..2 {
        let answer = mock.send_v3_notify(&url, &id).await.unwrap();
        assert_eq!(answer.status, 204, "{answer:?}");
        assert!(answer.is_success());
    }
    assert_eq!(shop.order(&id).await["state"], "paid");
    assert_eq!(shop.orders.marks.load(Ordering::SeqCst), 1);

    // The same payment as a v2 notification: same transaction_id, already handled.
    let answer = mock.send_v2_notify(&url, &id).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(shop.orders.marks.load(Ordering::SeqCst), 1);
}

// ---------------------------------------------------------------------------------------------
// Redis: several processes
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_shop_processes_on_one_redis_handle_a_notification_once() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mock = MockPay::start().await.unwrap();
    // One order database, two processes behind the notify URL, one Redis for the records.
    let orders = Arc::new(CountingOrders::new().await);
    orders.delay_ms.store(300, Ordering::SeqCst);
    let store = |prefix: &'static str| {
        let url = redis.url();
        async move {
            Arc::new(RedisStore::connect(&url).await.unwrap().prefix(prefix)) as Arc<dyn Store>
        }
    };
    let a = start_shop(&mock, store("shop:").await, Arc::clone(&orders), |_| {}).await;
    let b = start_shop(&mock, store("shop:").await, Arc::clone(&orders), |_| {}).await;

    let id = id_of(&a.create_order(900).await);
    let transaction_id = mock.pay(&id).unwrap();
    let (url_a, url_b) = (a.notify_url(), b.notify_url());
    let (ra, rb) = tokio::join!(
        mock.send_v2_notify(&url_a, &id),
        mock.send_v2_notify(&url_b, &id)
    );
    assert!(ra.unwrap().is_success());
    assert!(rb.unwrap().is_success());
    assert_eq!(orders.marks.load(Ordering::SeqCst), 1);
    for shop in [&a, &b] {
        assert!(
            mock.send_v2_notify(&shop.notify_url(), &id)
                .await
                .unwrap()
                .is_success()
        );
    }
    assert_eq!(orders.marks.load(Ordering::SeqCst), 1);
    assert_eq!(b.order(&id).await["state"], "paid");

    // The record is in Redis, under the merchant and the transaction.
    let raw = RedisStore::connect(&redis.url()).await.unwrap();
    let key = format!("shop:wechat:pay:notify:{}:{transaction_id}", mock.mch_id());
    assert_eq!(
        raw.get(&key).await.unwrap(),
        Some(Bytes::from_static(b"done"))
    );

    // A process crashed mid-handler, leaving its claim: it expires (here after 500 ms; by
    // default after 30 s), and WeChat Pay's retry, waiting meanwhile, runs the handler.
    let id = id_of(&a.create_order(50).await);
    let transaction_id = mock.pay(&id).unwrap();
    let key = format!("shop:wechat:pay:notify:{}:{transaction_id}", mock.mch_id());
    raw.set(
        &key,
        Bytes::from_static(b"claim:crashed"),
        Some(Duration::from_millis(500)),
    )
    .await
    .unwrap();
    let answer = mock.send_v2_notify(&b.notify_url(), &id).await.unwrap();
    assert!(answer.is_success(), "{answer:?}");
    assert_eq!(orders.marks.load(Ordering::SeqCst), 2);
    assert_eq!(a.order(&id).await["state"], "paid");
}

/// The order states of the demo serialize as the issue names them; the payer stays out.
#[test]
fn order_json_shape() {
    let order = Order::unpaid("1", "oPayer", Item::TopUp, 5, 0);
    let json = serde_json::to_value(&order).unwrap();
    assert_eq!(json["id"], "1");
    assert_eq!(json["state"], "unpaid");
    assert_eq!(json["total_fee"], 5);
    assert_eq!(json["transaction_id"], Value::Null);
    assert!(!json.to_string().contains("oPayer"), "{json}");
}
