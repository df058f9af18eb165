//! A mock of WeChat Pay on loopback (feature `test-util`): the v2 API (unified order, order
//! query, close order) over real HTTP, and WeChat Pay's side of notifications, sent to your
//! notify URL signed (v2), signed and encrypted (v3), or as refunds (`req_info`).
//!
//! [`MockPay`] checks every request as WeChat Pay does (the `sign` with the request's
//! `sign_type`, `appid`/`mch_id`, the required fields) and answers signed XML with WeChat's
//! `return_code` / `result_code` / `err_code`. Orders live in the mock: unified order creates
//! one (same `out_trade_no` and parameters: the same `prepay_id`; other parameters:
//! `INVALID_REQUEST`), [`MockPay::pay`] pays it (as the user would), close order closes it.
//!
//! ```
//! use wechat_tower::pay::{Paid, PayClient, PayConfig, PayNotify};
//! use wechat_tower::core::pay::{TradeType, UnifiedOrder};
//! use wechat_tower::test_util::mock_pay::MockPay;
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mock = MockPay::start().await?;
//! let config = PayConfig::new(mock.app_id(), mock.mch_id(), mock.key());
//! let client = PayClient::builder(config.clone()).api_base(mock.base_url()).build()?;
//!
//! let order = UnifiedOrder::new(TradeType::Jsapi, "Noodles", "no-1", 1200)
//!     .openid("oUser")
//!     .notify_url("http://127.0.0.1:9/pay/notify");
//! let prepay = client.unified_order(order).await?;
//! assert!(prepay.prepay_id.starts_with("wx"));
//!
//! // The user pays; WeChat Pay would now POST the notification:
//! let transaction_id = mock.pay("no-1").unwrap();
//! let xml = mock.notify_v2_xml("no-1").unwrap();
//! assert!(xml.contains(&transaction_id));
//! // mock.send_v2_notify("http://127.0.0.1:3000/pay/notify", "no-1").await? sends it.
//! # Ok(()) }
//! ```
//!
//! The v3 side signs with a test RSA key generated for WeChat's shared vector suite (never a
//! real one), as a WeChat Pay public key with id [`MockPay::public_key_id`]; give
//! [`MockPay::public_key_pem`] to [`PayConfig::wechatpay_public_key`](crate::pay::PayConfig::wechatpay_public_key).
//!
//! Notifications go to loopback addresses only (`127.0.0.1`, `localhost`, `[::1]`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use wechat_core::pay::v3::{self, SigningKey};
use wechat_core::pay::{PayMap, SignType, TradeState, refund};
use wechat_core::secret::{ApiV3Key, PayKey};

use super::loopback::{Server, read_body};

/// The test key the mock signs v3 notifications with (generated for the shared vector suite).
const PRIVATE_KEY_PEM: &str = include_str!("mock_pay_key.pem");
/// Its public key.
const PUBLIC_KEY_PEM: &str = include_str!("mock_pay_pub.pem");

/// The largest request body the mock reads.
const MAX_BODY: usize = 1024 * 1024;

/// The paths the mock serves (all `POST`, XML).
pub const PAY_ENDPOINTS: &[&str] = &["/pay/unifiedorder", "/pay/orderquery", "/pay/closeorder"];

/// An order as the mock keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MockOrder {
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `total_fee` in fen.
    pub total_fee: u64,
    /// `body`.
    pub body: String,
    /// `openid` (JSAPI).
    pub openid: String,
    /// `trade_type`.
    pub trade_type: String,
    /// `notify_url`.
    pub notify_url: String,
    /// `attach`.
    pub attach: Option<String>,
    /// `prepay_id`.
    pub prepay_id: String,
    /// The state: `NOTPAY`, `SUCCESS` (paid), `CLOSED`.
    pub state: TradeState,
    /// `transaction_id`, once paid.
    pub transaction_id: Option<String>,
    /// `time_end`, once paid.
    pub time_end: Option<String>,
}

/// The answer of the notify URL to a notification the mock sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifyAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body, as text.
    pub body: String,
}

impl NotifyAnswer {
    /// Whether WeChat Pay would take it as received: a 2xx status and, for a v2 XML answer,
    /// `return_code` `SUCCESS` (a v3 answer is 200/204, its body ignored unless it says FAIL).
    #[must_use]
    pub fn is_success(&self) -> bool {
        if !(200..300).contains(&self.status) {
            return false;
        }
        let body = self.body.trim();
        if body.is_empty() {
            return true;
        }
        if body.starts_with('<') {
            return PayMap::from_xml(body)
                .is_ok_and(|map| map.get("return_code") == Some("SUCCESS"));
        }
        !body.contains("\"FAIL\"")
    }
}

/// A v3 notification as the mock sends it: its four headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Notify {
    /// `Wechatpay-Timestamp`.
    pub timestamp: String,
    /// `Wechatpay-Nonce`.
    pub nonce: String,
    /// `Wechatpay-Signature`.
    pub signature: String,
    /// `Wechatpay-Serial`.
    pub serial: String,
    /// The JSON body.
    pub body: String,
}

/// Settings of a [`MockPay`] before it starts.
#[derive(Debug, Clone)]
#[must_use]
pub struct MockPayBuilder {
    addr: SocketAddr,
    appid: String,
    mch_id: String,
    key: String,
    sign_type: SignType,
    api_v3_key: String,
    public_key_id: String,
}

impl MockPayBuilder {
    /// Listen here (default `127.0.0.1:0`, a free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The merchant the mock accepts (default `wxmock0000000001`, `1900000109`, a fixed
    /// 32-character key).
    pub fn merchant(
        mut self,
        appid: impl Into<String>,
        mch_id: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        self.appid = appid.into();
        self.mch_id = mch_id.into();
        self.key = key.into();
        self
    }

    /// The sign type of the notifications the mock sends (default MD5). HMAC-SHA256
    /// notifications carry no `sign_type` field, as WeChat Pay's often do not.
    pub fn sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// The APIv3 key (32 characters) of v3 notifications.
    pub fn api_v3_key(mut self, key: impl Into<String>) -> Self {
        self.api_v3_key = key.into();
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound.
    pub async fn start(self) -> std::io::Result<MockPay> {
        let signer = SigningKey::from_pkcs8_pem(PRIVATE_KEY_PEM)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        let shared = Arc::new(Shared {
            appid: self.appid,
            mch_id: self.mch_id,
            key: PayKey::new(self.key),
            sign_type: self.sign_type,
            api_v3_key: ApiV3Key::new(self.api_v3_key),
            public_key_id: self.public_key_id,
            signer,
            state: Mutex::new(State::default()),
        });
        let server = {
            let shared = Arc::clone(&shared);
            Server::start(self.addr, move |req| {
                let shared = Arc::clone(&shared);
                async move { handle(&shared, req).await }
            })
            .await?
        };
        Ok(MockPay { shared, server })
    }
}

/// A mock of WeChat Pay on loopback. Stops when dropped. See the [module docs](self).
pub struct MockPay {
    shared: Arc<Shared>,
    server: Server,
}

impl std::fmt::Debug for MockPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockPay")
            .field("addr", &self.addr())
            .field("appid", &self.shared.appid)
            .field("mch_id", &self.shared.mch_id)
            .finish_non_exhaustive()
    }
}

struct Shared {
    appid: String,
    mch_id: String,
    key: PayKey,
    sign_type: SignType,
    api_v3_key: ApiV3Key,
    public_key_id: String,
    signer: SigningKey,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    orders: BTreeMap<String, MockOrder>,
    calls: HashMap<String, usize>,
    requests: Vec<(String, Bytes)>,
    failures: HashMap<String, VecDeque<String>>,
    counter: u64,
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MockPay {
    /// Settings: address, merchant, sign type, APIv3 key.
    pub fn builder() -> MockPayBuilder {
        MockPayBuilder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            appid: "wxmock0000000001".to_owned(),
            mch_id: "1900000109".to_owned(),
            key: "mockpaykey0123456789abcdefghijkl".to_owned(),
            sign_type: SignType::Md5,
            api_v3_key: "mockapiv3key0123456789abcdefghij".to_owned(),
            public_key_id: "PUB_KEY_ID_0119000001092025010100000000000001".to_owned(),
        }
    }

    /// A mock with the default settings on a free loopback port.
    ///
    /// # Errors
    ///
    /// When no loopback port can be bound.
    pub async fn start() -> std::io::Result<Self> {
        Self::builder().start().await
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:<port>`: the pay client's `api_base`.
    #[must_use]
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The app id it accepts.
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.shared.appid
    }

    /// The merchant id (`mch_id`) it accepts.
    #[must_use]
    pub fn mch_id(&self) -> &str {
        &self.shared.mch_id
    }

    /// The API key it checks and signs with.
    #[must_use]
    pub fn key(&self) -> &str {
        self.shared.key.expose()
    }

    /// The sign type of its notifications.
    #[must_use]
    pub fn sign_type(&self) -> SignType {
        self.shared.sign_type
    }

    /// The APIv3 key of its v3 notifications.
    #[must_use]
    pub fn api_v3_key(&self) -> &str {
        self.shared.api_v3_key.expose()
    }

    /// The id (`Wechatpay-Serial`) of the WeChat Pay public key its v3 notifications are
    /// signed with.
    #[must_use]
    pub fn public_key_id(&self) -> &str {
        &self.shared.public_key_id
    }

    /// That public key, PEM.
    #[must_use]
    pub fn public_key_pem(&self) -> &'static str {
        PUBLIC_KEY_PEM
    }

    // ---- observation and faults -----------------------------------------------------------

    /// How many requests reached `path`.
    #[must_use]
    pub fn calls(&self, path: &str) -> usize {
        self.shared.lock().calls.get(path).copied().unwrap_or(0)
    }

    /// The bodies of the requests to `path`, oldest first.
    #[must_use]
    pub fn requests(&self, path: &str) -> Vec<Bytes> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// The next `times` calls of `path` answer `result_code` FAIL with `err_code` (e.g.
    /// `SYSTEMERROR`), after the sign check.
    pub fn fail_next(&self, path: &str, times: usize, err_code: &str) {
        self.shared
            .lock()
            .failures
            .entry(path.to_owned())
            .or_default()
            .extend(std::iter::repeat_n(err_code.to_owned(), times));
    }

    // ---- orders ---------------------------------------------------------------------------

    /// Every order, by `out_trade_no`.
    #[must_use]
    pub fn orders(&self) -> Vec<MockOrder> {
        self.shared.lock().orders.values().cloned().collect()
    }

    /// The order `out_trade_no`, if unified order created it.
    #[must_use]
    pub fn order(&self, out_trade_no: &str) -> Option<MockOrder> {
        self.shared.lock().orders.get(out_trade_no).cloned()
    }

    /// Creates a JSAPI order as unified order would (for tests of the notify side alone);
    /// returns its `prepay_id`. An existing order is left as it is.
    #[allow(
        clippy::must_use_candidate,
        reason = "called for its effect; the prepay id is a convenience"
    )]
    pub fn create_order(&self, out_trade_no: &str, total_fee: u64, openid: &str) -> String {
        let mut state = self.shared.lock();
        if let Some(order) = state.orders.get(out_trade_no) {
            return order.prepay_id.clone();
        }
        let prepay_id = format!("wx{:030}", state.next());
        state.orders.insert(
            out_trade_no.to_owned(),
            MockOrder {
                out_trade_no: out_trade_no.to_owned(),
                total_fee,
                body: "mock order".to_owned(),
                openid: openid.to_owned(),
                trade_type: "JSAPI".to_owned(),
                notify_url: String::new(),
                attach: None,
                prepay_id: prepay_id.clone(),
                state: TradeState::NotPay,
                transaction_id: None,
                time_end: None,
            },
        );
        prepay_id
    }

    /// Pays the order as its user would; returns its `transaction_id` (the same on every call).
    /// `None` for an unknown or closed order.
    #[must_use = "`None` means the order is unknown or closed"]
    pub fn pay(&self, out_trade_no: &str) -> Option<String> {
        let mut state = self.shared.lock();
        let n = state.next();
        let order = state.orders.get_mut(out_trade_no)?;
        match order.state {
            TradeState::Success => {}
            TradeState::NotPay => {
                order.state = TradeState::Success;
                order.transaction_id = Some(format!("4200{:024}", 1_000_000 + n));
                order.time_end = Some("20231114093012".to_owned());
            }
            _ => return None,
        }
        order.transaction_id.clone()
    }

    // ---- v2 notifications -----------------------------------------------------------------

    /// The fields of the pay notification (支付结果通知) of a paid order, unsigned (pay it first
    /// with [`MockPay::pay`]). Change them to forge one, then [`MockPay::sign`].
    #[must_use]
    pub fn notify_v2_map(&self, out_trade_no: &str) -> Option<PayMap> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let mut map = PayMap::new();
        for (k, v) in [
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("appid", self.app_id()),
            ("mch_id", self.mch_id()),
            ("openid", order.openid.as_str()),
            ("is_subscribe", "N"),
            ("trade_type", order.trade_type.as_str()),
            ("bank_type", "CMC"),
            ("fee_type", "CNY"),
            ("transaction_id", transaction_id.as_str()),
            ("out_trade_no", order.out_trade_no.as_str()),
            (
                "time_end",
                order.time_end.as_deref().unwrap_or("20231114093012"),
            ),
        ] {
            map.insert(k, v);
        }
        map.insert("total_fee", order.total_fee.to_string());
        map.insert("cash_fee", order.total_fee.to_string());
        map.insert("nonce_str", wechat_core::pay::nonce_str());
        if let Some(attach) = order.attach {
            map.insert("attach", attach);
        }
        if self.sign_type() == SignType::Md5 {
            // HMAC-SHA256 notifications come without `sign_type`, as WeChat Pay's often do.
            map.insert("sign_type", "MD5");
        }
        Some(map)
    }

    /// Signs `map` as WeChat Pay does, with the mock's key and sign type.
    pub fn sign(&self, map: &mut PayMap) {
        map.sign(&self.shared.key, self.sign_type());
    }

    /// The signed XML of the pay notification of a paid order.
    #[must_use]
    pub fn notify_v2_xml(&self, out_trade_no: &str) -> Option<String> {
        let mut map = self.notify_v2_map(out_trade_no)?;
        self.sign(&mut map);
        map.to_xml().ok()
    }

    /// Pays the order (if not yet) and POSTs its signed v2 pay notification to `url`, as WeChat
    /// Pay does; returns the answer.
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown or closed order, `InvalidInput` for a URL that is not
    /// loopback, and connection errors.
    pub async fn send_v2_notify(
        &self,
        url: &str,
        out_trade_no: &str,
    ) -> std::io::Result<NotifyAnswer> {
        self.pay(out_trade_no).ok_or_else(not_found)?;
        let xml = self.notify_v2_xml(out_trade_no).ok_or_else(not_found)?;
        post(url, &[], Bytes::from(xml)).await
    }

    /// POSTs `body` to `url` with `headers` (a tampered notification, ...).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a URL that is not loopback, and connection errors.
    pub async fn send_raw(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> std::io::Result<NotifyAnswer> {
        post(url, headers, body.into()).await
    }

    /// The refund notification (退款结果通知) XML of `refund_fee` fen of a paid order, with
    /// `req_info` encrypted (AES-256-ECB under MD5 of the key), refunded now (`success_time`).
    #[must_use]
    pub fn refund_notify_xml(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> Option<String> {
        self.refund_notify_xml_at(out_trade_no, out_refund_no, refund_fee, now())
    }

    /// [`MockPay::refund_notify_xml`] refunded at `success_time` (seconds since the Unix
    /// epoch, written as WeChat does: `yyyy-MM-dd HH:mm:ss`, Beijing time): for tests with an
    /// injected clock, and for old notifications replayed.
    #[must_use]
    pub fn refund_notify_xml_at(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
        success_time: u64,
    ) -> Option<String> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let refund_id = format!("503{:026}", self.shared.lock().next());
        let success_time = refund::format_beijing_time(success_time);
        let mut info = PayMap::new();
        for (k, v) in [
            ("transaction_id", transaction_id.as_str()),
            ("out_trade_no", out_trade_no),
            ("refund_id", refund_id.as_str()),
            ("out_refund_no", out_refund_no),
            ("refund_status", "SUCCESS"),
            ("success_time", success_time.as_str()),
            ("refund_recv_accout", "支付用户的零钱"),
            ("refund_account", "REFUND_SOURCE_UNSETTLED_FUNDS"),
            ("refund_request_source", "API"),
        ] {
            info.insert(k, v);
        }
        info.insert("total_fee", order.total_fee.to_string());
        info.insert("settlement_total_fee", order.total_fee.to_string());
        info.insert("refund_fee", refund_fee.to_string());
        info.insert("settlement_refund_fee", refund_fee.to_string());
        let plaintext = info.to_xml().ok()?.replacen("<xml>", "<root>", 1);
        let plaintext = format!(
            "{}</root>",
            plaintext.strip_suffix("</xml>").unwrap_or(&plaintext)
        );
        let mut outer = PayMap::new();
        outer.insert("return_code", "SUCCESS");
        outer.insert("appid", self.app_id());
        outer.insert("mch_id", self.mch_id());
        outer.insert("nonce_str", wechat_core::pay::nonce_str());
        outer.insert(
            "req_info",
            refund::encrypt_req_info(&plaintext, &self.shared.key),
        );
        outer.to_xml().ok()
    }

    /// POSTs the refund notification of [`MockPay::refund_notify_xml`] to `url`.
    ///
    /// # Errors
    ///
    /// As [`MockPay::send_v2_notify`]; `NotFound` for an order that was not paid.
    pub async fn send_refund_notify(
        &self,
        url: &str,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> std::io::Result<NotifyAnswer> {
        let xml = self
            .refund_notify_xml(out_trade_no, out_refund_no, refund_fee)
            .ok_or_else(not_found)?;
        post(url, &[], Bytes::from(xml)).await
    }

    // ---- v3 notifications -----------------------------------------------------------------

    /// A v3 `TRANSACTION.SUCCESS` notification of a paid order, stamped `timestamp`: the
    /// resource encrypted with the APIv3 key, the whole signed with the mock's key.
    #[must_use]
    pub fn v3_notify(&self, out_trade_no: &str, timestamp: u64) -> Option<V3Notify> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let resource = serde_json::json!({
            "mchid": self.mch_id(),
            "appid": self.app_id(),
            "out_trade_no": order.out_trade_no,
            "transaction_id": transaction_id,
            "trade_type": order.trade_type,
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "CMC",
            "attach": order.attach.unwrap_or_default(),
            "success_time": "2023-11-14T09:30:12+08:00",
            "payer": { "openid": order.openid },
            "amount": { "total": order.total_fee, "payer_total": order.total_fee, "currency": "CNY", "payer_currency": "CNY" },
        });
        self.v3_signed(
            "TRANSACTION.SUCCESS",
            "transaction",
            &resource.to_string(),
            timestamp,
        )
    }

    /// A v3 `REFUND.SUCCESS` notification of `refund_fee` fen of a paid order.
    #[must_use]
    pub fn v3_refund_notify(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
        timestamp: u64,
    ) -> Option<V3Notify> {
        let order = self.order(out_trade_no)?;
        let transaction_id = order.transaction_id?;
        let refund_id = format!("503{:026}", self.shared.lock().next());
        let resource = serde_json::json!({
            "mchid": self.mch_id(),
            "out_trade_no": out_trade_no,
            "transaction_id": transaction_id,
            "out_refund_no": out_refund_no,
            "refund_id": refund_id,
            "refund_status": "SUCCESS",
            "success_time": "2023-11-14T10:00:00+08:00",
            "user_received_account": "支付用户零钱",
            "amount": { "total": order.total_fee, "refund": refund_fee, "payer_total": order.total_fee, "payer_refund": refund_fee },
        });
        self.v3_signed("REFUND.SUCCESS", "refund", &resource.to_string(), timestamp)
    }

    fn v3_signed(
        &self,
        event_type: &str,
        original_type: &str,
        resource: &str,
        timestamp: u64,
    ) -> Option<V3Notify> {
        let n = self.shared.lock().next();
        let nonce = &wechat_core::pay::nonce_str()[..12];
        let body = v3::notification_body(
            &self.shared.api_v3_key,
            &format!("EV-{n:020}"),
            event_type,
            original_type,
            nonce,
            resource,
        )
        .ok()?;
        let timestamp = timestamp.to_string();
        let header_nonce = wechat_core::pay::nonce_str();
        let signature = self.shared.signer.sign(&v3::notify_message(
            &timestamp,
            &header_nonce,
            body.as_bytes(),
        ));
        Some(V3Notify {
            timestamp,
            nonce: header_nonce,
            signature,
            serial: self.shared.public_key_id.clone(),
            body,
        })
    }

    /// POSTs a v3 notification to `url` with its headers.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a URL that is not loopback, and connection errors.
    pub async fn send_v3(&self, url: &str, notify: &V3Notify) -> std::io::Result<NotifyAnswer> {
        post(
            url,
            &[
                ("content-type", "application/json"),
                ("wechatpay-timestamp", &notify.timestamp),
                ("wechatpay-nonce", &notify.nonce),
                ("wechatpay-signature", &notify.signature),
                ("wechatpay-serial", &notify.serial),
                ("wechatpay-signature-type", "WECHATPAY2-SHA256-RSA2048"),
            ],
            Bytes::from(notify.body.clone()),
        )
        .await
    }

    /// Pays the order (if not yet) and POSTs its v3 notification, stamped now, to `url`.
    ///
    /// # Errors
    ///
    /// As [`MockPay::send_v2_notify`].
    pub async fn send_v3_notify(
        &self,
        url: &str,
        out_trade_no: &str,
    ) -> std::io::Result<NotifyAnswer> {
        self.pay(out_trade_no).ok_or_else(not_found)?;
        let notify = self.v3_notify(out_trade_no, now()).ok_or_else(not_found)?;
        self.send_v3(url, &notify).await
    }

    /// POSTs the v3 refund notification of a paid order, stamped now, to `url`.
    ///
    /// # Errors
    ///
    /// As [`MockPay::send_v2_notify`].
    pub async fn send_v3_refund_notify(
        &self,
        url: &str,
        out_trade_no: &str,
        out_refund_no: &str,
        refund_fee: u64,
    ) -> std::io::Result<NotifyAnswer> {
        let notify = self
            .v3_refund_notify(out_trade_no, out_refund_no, refund_fee, now())
            .ok_or_else(not_found)?;
        self.send_v3(url, &notify).await
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn not_found() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no such paid order in the mock",
    )
}

// ------------------------------------------------------------------------------------------
// Sending notifications
// ------------------------------------------------------------------------------------------

/// Splits `http://host[:port]/path` into the socket address text and the path, for loopback
/// hosts only.
fn loopback_target(url: &str) -> std::io::Result<(String, String)> {
    let invalid =
        |why: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{url}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("the mock sends to http:// loopback URLs only"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, port) = v6.split_once(']').ok_or_else(|| invalid("bad IPv6 host"))?;
        (host, port.strip_prefix(':').unwrap_or("80"))
    } else {
        let mut parts = authority.splitn(2, ':');
        (parts.next().unwrap_or(""), parts.next().unwrap_or("80"))
    };
    let ip = match host {
        "127.0.0.1" | "localhost" => "127.0.0.1",
        "::1" => "[::1]",
        _ => return Err(invalid("the mock sends to loopback hosts only")),
    };
    let port: u16 = port.parse().map_err(|_| invalid("bad port"))?;
    Ok((format!("{ip}:{port}"), path.to_owned()))
}

async fn post(url: &str, headers: &[(&str, &str)], body: Bytes) -> std::io::Result<NotifyAnswer> {
    let (addr, path) = loopback_target(url)?;
    let send = async {
        let stream = TcpStream::connect(&addr).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
        let connection = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, addr.as_str())
            .header(header::CONTENT_TYPE, "text/xml");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req.body(Full::new(body)).map_err(std::io::Error::other)?;
        let res = sender
            .send_request(req)
            .await
            .map_err(std::io::Error::other)?;
        let status = res.status().as_u16();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(std::io::Error::other)?
            .to_bytes();
        connection.abort();
        Ok(NotifyAnswer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    };
    tokio::time::timeout(Duration::from_secs(30), send)
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "notify URL did not answer")
        })?
}

// ------------------------------------------------------------------------------------------
// Server
// ------------------------------------------------------------------------------------------

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let Some(body) = read_body(body, MAX_BODY).await else {
        return xml_response(StatusCode::PAYLOAD_TOO_LARGE, return_fail("body too large"));
    };
    {
        let mut state = shared.lock();
        *state.calls.entry(path.clone()).or_default() += 1;
        state.requests.push((path.clone(), body.clone()));
    }
    if !PAY_ENDPOINTS.contains(&path.as_str()) {
        return xml_response(StatusCode::NOT_FOUND, return_fail("no such API"));
    }
    if parts.method != Method::POST {
        return xml_response(StatusCode::OK, return_fail("REQUIRE_POST_METHOD"));
    }
    let answer = answer(shared, &path, &body);
    xml_response(StatusCode::OK, answer)
}

fn xml_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/xml; charset=utf-8"),
    );
    res
}

fn return_fail(message: &str) -> String {
    let mut map = PayMap::new();
    map.insert("return_code", "FAIL");
    map.insert("return_msg", message);
    map.to_xml().unwrap_or_default()
}

/// The signed answer to `path` for request `body`.
fn answer(shared: &Shared, path: &str, body: &[u8]) -> String {
    let Ok(request) = PayMap::from_xml_bytes(body) else {
        return return_fail("XML格式错误");
    };
    let Ok(sign_type) = SignType::of(&request) else {
        return return_fail("签名类型错误");
    };
    if request.verify_sign(&shared.key, sign_type).is_err() {
        return return_fail("签名错误");
    }
    let mut out = PayMap::new();
    out.insert("return_code", "SUCCESS");
    out.insert("return_msg", "OK");
    out.insert("appid", shared.appid.clone());
    out.insert("mch_id", shared.mch_id.clone());
    out.insert("nonce_str", wechat_core::pay::nonce_str());
    let result = if request.get("appid") != Some(shared.appid.as_str())
        || request.get("mch_id") != Some(shared.mch_id.as_str())
    {
        Err(("APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"))
    } else if request.get_nonempty("nonce_str").is_none() {
        Err(("LACK_PARAMS", "缺少参数 nonce_str"))
    } else {
        let mut state = shared.lock();
        match state.failures.get_mut(path).and_then(VecDeque::pop_front) {
            Some(code) => {
                out.insert("result_code", "FAIL");
                out.insert("err_code", code.clone());
                out.insert("err_code_des", format!("{code} (mock)"));
                out.sign(&shared.key, sign_type);
                return out.to_xml().unwrap_or_default();
            }
            None => match path {
                "/pay/unifiedorder" => unified_order(&mut state, &request, &mut out),
                "/pay/orderquery" => order_query(&state, &request, &mut out),
                _ => close_order(&mut state, &request),
            },
        }
    };
    match result {
        Ok(()) => {
            out.insert("result_code", "SUCCESS");
        }
        Err((code, description)) => {
            out.insert("result_code", "FAIL");
            out.insert("err_code", code);
            out.insert("err_code_des", description);
        }
    }
    out.sign(&shared.key, sign_type);
    out.to_xml().unwrap_or_default()
}

type Business = Result<(), (&'static str, &'static str)>;

fn unified_order(state: &mut State, request: &PayMap, out: &mut PayMap) -> Business {
    for field in [
        "body",
        "out_trade_no",
        "total_fee",
        "spbill_create_ip",
        "notify_url",
        "trade_type",
    ] {
        if request.get_nonempty(field).is_none() {
            return Err(("LACK_PARAMS", "缺少参数"));
        }
    }
    let total_fee = match request.get_u64("total_fee") {
        Ok(Some(fee)) if fee > 0 => fee,
        _ => return Err(("PARAM_ERROR", "total_fee 参数错误")),
    };
    let trade_type = request.get("trade_type").unwrap_or("").to_owned();
    let openid = request.get("openid").unwrap_or("").to_owned();
    if trade_type == "JSAPI" && openid.is_empty() {
        return Err(("PARAM_ERROR", "JSAPI支付必须传openid"));
    }
    let out_trade_no = request.get("out_trade_no").unwrap_or("").to_owned();
    let body = request.get("body").unwrap_or("").to_owned();
    if let Some(existing) = state.orders.get(&out_trade_no) {
        match existing.state {
            TradeState::Success => return Err(("ORDERPAID", "该订单已支付")),
            TradeState::Closed => return Err(("ORDERCLOSED", "该订单已关闭")),
            _ => {}
        }
        if existing.total_fee != total_fee || existing.body != body || existing.openid != openid {
            return Err(("INVALID_REQUEST", "201 商户订单号重复"));
        }
        let prepay_id = existing.prepay_id.clone();
        fill_prepay(out, &prepay_id, &trade_type);
        return Ok(());
    }
    let prepay_id = format!("wx{:030}", state.next());
    state.orders.insert(
        out_trade_no.clone(),
        MockOrder {
            out_trade_no,
            total_fee,
            body,
            openid,
            trade_type: trade_type.clone(),
            notify_url: request.get("notify_url").unwrap_or("").to_owned(),
            attach: request.get_nonempty("attach").map(str::to_owned),
            prepay_id: prepay_id.clone(),
            state: TradeState::NotPay,
            transaction_id: None,
            time_end: None,
        },
    );
    fill_prepay(out, &prepay_id, &trade_type);
    Ok(())
}

fn fill_prepay(out: &mut PayMap, prepay_id: &str, trade_type: &str) {
    out.insert("prepay_id", prepay_id);
    out.insert("trade_type", trade_type);
    match trade_type {
        "NATIVE" => {
            out.insert(
                "code_url",
                format!("weixin://wxpay/bizpayurl?pr={prepay_id}"),
            );
        }
        "MWEB" => {
            out.insert(
                "mweb_url",
                format!(
                    "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id={prepay_id}"
                ),
            );
        }
        _ => {}
    }
}

fn order_query(state: &State, request: &PayMap, out: &mut PayMap) -> Business {
    let order = match (
        request.get_nonempty("transaction_id"),
        request.get_nonempty("out_trade_no"),
    ) {
        (Some(id), _) => state
            .orders
            .values()
            .find(|o| o.transaction_id.as_deref() == Some(id)),
        (None, Some(no)) => state.orders.get(no),
        (None, None) => return Err(("LACK_PARAMS", "缺少参数")),
    };
    let Some(order) = order else {
        return Err(("ORDERNOTEXIST", "订单不存在"));
    };
    out.insert("trade_state", order.state.as_str());
    out.insert("out_trade_no", order.out_trade_no.clone());
    out.insert("trade_type", order.trade_type.clone());
    out.insert("openid", order.openid.clone());
    if let (Some(id), Some(end)) = (&order.transaction_id, &order.time_end) {
        out.insert("transaction_id", id.clone());
        out.insert("time_end", end.clone());
        out.insert("total_fee", order.total_fee.to_string());
        out.insert("cash_fee", order.total_fee.to_string());
        out.insert("bank_type", "CMC");
        out.insert("trade_state_desc", "支付成功");
    } else if order.state == TradeState::Closed {
        out.insert("trade_state_desc", "订单已关闭");
    } else {
        out.insert("trade_state_desc", "订单未支付");
    }
    Ok(())
}

fn close_order(state: &mut State, request: &PayMap) -> Business {
    let Some(no) = request.get_nonempty("out_trade_no") else {
        return Err(("LACK_PARAMS", "缺少参数"));
    };
    let Some(order) = state.orders.get_mut(no) else {
        return Err(("ORDERNOTEXIST", "订单不存在"));
    };
    match order.state {
        TradeState::Success => Err(("ORDERPAID", "该订单已支付")),
        _ => {
            order.state = TradeState::Closed;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets() {
        assert_eq!(
            loopback_target("http://127.0.0.1:3000/pay/notify").unwrap(),
            ("127.0.0.1:3000".to_owned(), "/pay/notify".to_owned())
        );
        assert_eq!(
            loopback_target("http://localhost:8/").unwrap().0,
            "127.0.0.1:8"
        );
        assert_eq!(loopback_target("http://[::1]:9/x").unwrap().0, "[::1]:9");
        for bad in [
            "https://127.0.0.1/x",
            "http://example.com/x",
            "http://127.0.0.1.example.com/x",
            "http://10.0.0.1:80/x",
        ] {
            assert!(loopback_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_of_the_notify_url_are_read_like_wechat() {
        let ok = |status, body: &str| NotifyAnswer {
            status,
            body: body.to_owned(),
        };
        assert!(ok(200, &wechat_core::pay::notify_answer(true, "OK")).is_success());
        assert!(!ok(200, &wechat_core::pay::notify_answer(false, "x")).is_success());
        assert!(!ok(500, &wechat_core::pay::notify_answer(true, "OK")).is_success());
        assert!(ok(204, "").is_success());
        assert!(!ok(200, r#"{"code":"FAIL","message":"x"}"#).is_success());
    }
}
