//! A mock of WeChat Pay on loopback (feature `test-util`): the v2 API (unified order, order
//! query, close order, refunds) and APIv3 (orders, refunds, bills, platform certificates,
//! transfers) over real HTTP, and WeChat Pay's side of notifications, sent to your notify URL
//! signed (v2), signed and encrypted (v3), or as refunds (`req_info`).
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
//! # Endpoints
//!
//! | path | answers |
//! |---|---|
//! | `POST /pay/unifiedorder` | `prepay_id` (`code_url`, `mweb_url`); `ORDERPAID`, `ORDERCLOSED`, `INVALID_REQUEST` (same `out_trade_no`, other parameters), `LACK_PARAMS`, `PARAM_ERROR` |
//! | `POST /pay/orderquery` | `trade_state` …; `ORDERNOTEXIST` |
//! | `POST /pay/closeorder` | `ORDERPAID`, `ORDERNOTEXIST` |
//! | `POST /secapi/pay/refund` | `refund_id`, `refund_fee` …; the same `out_refund_no` and amounts: the same refund; `REFUND_FEE_MISMATCH` (same `out_refund_no`, other amounts), `INVALID_REQUEST` (more than is left to refund, or `total_fee` not the order's), `ERROR` (fully refunded; order not paid), `ORDERNOTEXIST`, `return_code` FAIL `invalid refund_fee` (more than `total_fee`) |
//! | `POST /pay/refundquery` | `refund_count`, `out_refund_no_$n`, `refund_id_$n`, `refund_fee_$n`, `refund_status_$n` …; `REFUNDNOTEXIST` |
//!
//! # The v3 face
//!
//! Every `/v3/…` request must carry a valid `Authorization` (`WECHATPAY2-SHA256-RSA2048`, the
//! merchant's [`MockPay::merchant_serial`] and key, [`MockPay::merchant_private_key_pem`], over
//! `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n` with the target and body exactly as
//! received, the timestamp within 5 minutes): otherwise 401 `SIGN_ERROR`. Every answer (errors
//! too, 204s too, bills excepted) is signed (`Wechatpay-Timestamp`, `-Nonce`, `-Signature`,
//! `-Serial`) by the key of the mock's [`SigningMode`]: the WeChat Pay public key (the default;
//! [`MockPay::public_key_pem`]) or platform certificate A, then B after
//! [`MockPay::rotate_platform_certificate`]. v3 notifications are signed by the same key.
//! Errors are `{"code", "message"}` with WeChat's HTTP status.
//!
//! | path | answers |
//! |---|---|
//! | `POST /v3/pay/transactions/{jsapi,app,native,h5}` | `{prepay_id}`, `{code_url}`, `{h5_url}`; the same order again: the same answer; 400 `PARAM_ERROR` (a required field: `appid`, `mchid`, `description`, `out_trade_no`, `notify_url`, `amount.total` > 0, `payer.openid` for JSAPI, `scene_info` for H5), 400 `APPID_MCHID_NOT_MATCH`, 403 `OUT_TRADE_NO_USED` (same number, other content), 400 `ORDERPAID`, 400 `ORDER_CLOSED` |
//! | `GET /v3/pay/transactions/id/{transaction_id}?mchid=`, `GET …/out-trade-no/{out_trade_no}?mchid=` | the transaction (`trade_state` `NOTPAY`, `SUCCESS`, `REFUND`, `CLOSED`; `success_time` RFC 3339 `+08:00`); 404 `ORDER_NOT_EXIST` |
//! | `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close` | 204; 400 `ORDERPAID`, 404 `ORDER_NOT_EXIST` |
//! | `POST /v3/refund/domestic/refunds`, `GET /v3/refund/domestic/refunds/{out_refund_no}` | the refund (`PROCESSING`, then `SUCCESS`); 400 `INVALID_REQUEST` (more than is left, not paid, same number with other amounts), 404 `RESOURCE_NOT_EXISTS` |
//! | `GET /v3/bill/tradebill?bill_date=`, `GET /v3/bill/fundflowbill?bill_date=` | `{hash_type: "SHA1", hash_value, download_url}`, the URL on the mock |
//! | `GET /v3/billdownload/file?token=` | the CSV bill of the mock's orders and refunds of that day, **unsigned** (as WeChat's) |
//! | `GET /v3/certificates` | the platform certificates listed now, each encrypted with the APIv3 key |
//! | `POST /v3/fund-app/mch-transfer/transfer-bills`, `GET …/out-bill-no/{out_bill_no}` | the transfer (`WAIT_USER_CONFIRM`); its `user_name` decrypted with the key the request's `Wechatpay-Serial` names ([`MockPay::transfers`]); 400 `PARAM_ERROR` for a missing or unknown serial or a name that does not decrypt; 404 `NOT_FOUND` |
//!
//! Faults: [`MockPay::forge_next_v3_responses`] (valid JSON, wrong signature),
//! [`MockPay::fail_next_v3`] (any status and code), [`MockPay::set_answer_clock_offset`]
//! (stale answers), [`MockPay::corrupt_next_bill`] (a hash mismatch). Every request is kept as
//! received ([`MockPay::raw_requests`]).
//!
//! The v2 refund is served in plain HTTP: put a TLS front that requires the merchant's client
//! certificate before it to test mutual TLS. [`MockPay::fail_next`] makes any of them answer
//! `result_code` FAIL with a given `err_code` (`NOTENOUGH`, `SYSTEMERROR`, …).
//!
//! The v3 side signs with a test RSA key generated for WeChat's shared vector suite (never a
//! real one), as a WeChat Pay public key with id [`MockPay::public_key_id`]; give
//! [`MockPay::public_key_pem`] to [`PayConfig::wechatpay_public_key`](crate::pay::PayConfig::wechatpay_public_key).
//!
//! Notifications go to loopback addresses only (`127.0.0.1`, `localhost`, `[::1]`).
//!
//! The module is split by concern: `v2` (the XML API), `v3` (the JSON API: `auth`, `keys`,
//! `transactions`, `refunds`, `bills`, `transfers`), `refund` (the refund book, shared by both
//! APIs), `notify` (notifications sent to the app).

mod notify;
mod refund;
mod v2;
mod v3;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use wechat_core::pay::{SignType, TradeState};
use wechat_core::secret::{ApiV3Key, PayKey};

pub use self::notify::{NotifyAnswer, V3Notify};
pub use self::refund::MockRefund;
pub use self::v3::{MockTransfer, SigningMode, V3_ENDPOINTS};

use self::v3::keys::{
    Keys, MERCHANT_CERT_PEM, MERCHANT_KEY_PEM, MERCHANT_SERIAL, PLATFORM_A_CERT_PEM,
    PLATFORM_A_SERIAL, PLATFORM_B_CERT_PEM, PLATFORM_B_SERIAL,
};

use super::loopback::{Server, read_body};

/// The test key the mock signs v3 notifications with (generated for the shared vector suite).
const PRIVATE_KEY_PEM: &str = include_str!("../mock_pay_key.pem");
/// Its public key.
const PUBLIC_KEY_PEM: &str = include_str!("../mock_pay_pub.pem");

/// The largest request body the mock reads.
const MAX_BODY: usize = 1024 * 1024;

/// The v2 paths the mock serves (all `POST`, XML).
pub const PAY_ENDPOINTS: &[&str] = &[
    "/pay/unifiedorder",
    "/pay/orderquery",
    "/pay/closeorder",
    "/secapi/pay/refund",
    "/pay/refundquery",
];

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
    /// The state: `NOTPAY`, `SUCCESS` (paid), `REFUND` (a refund was asked), `CLOSED`.
    pub state: TradeState,
    /// `transaction_id`, once paid.
    pub transaction_id: Option<String>,
    /// `time_end`, once paid.
    pub time_end: Option<String>,
    /// When it was paid (seconds since the Unix epoch, on the mock's clock).
    pub paid_at: Option<u64>,
    /// Fen refunded so far (refunds asked, whatever their state).
    pub refunded_fee: u64,
    /// `"v2"` or `"v3"`: the API that created it ([`MockPay::create_order`]: v2).
    pub api: &'static str,
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The path, as received (percent-encoded).
    pub path: String,
    /// The request target: path and query, exactly as received (what a v3 signature covers).
    pub target: String,
    /// The headers (`Authorization`, `Wechatpay-Serial`, …).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
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
    mode: SigningMode,
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

    /// How v3 answers and notifications are signed (default: the WeChat Pay public key).
    pub fn signing_mode(mut self, mode: SigningMode) -> Self {
        self.mode = mode;
        self
    }

    /// Binds and starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound.
    pub async fn start(self) -> std::io::Result<MockPay> {
        let keys = Keys::load(&self.public_key_id).map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            appid: self.appid,
            mch_id: self.mch_id,
            key: PayKey::new(self.key),
            sign_type: self.sign_type,
            api_v3_key: ApiV3Key::new(self.api_v3_key),
            public_key_id: self.public_key_id,
            keys,
            mode: self.mode,
            addr: OnceLock::new(),
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
        let _ = shared.addr.set(server.addr());
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
    keys: Keys,
    mode: SigningMode,
    /// Where the server listens (for the bills' download URLs).
    addr: OnceLock<SocketAddr>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    orders: BTreeMap<String, MockOrder>,
    /// By `out_refund_no`.
    refunds: BTreeMap<String, MockRefund>,
    calls: HashMap<String, usize>,
    requests: Vec<RecordedRequest>,
    failures: HashMap<String, VecDeque<String>>,
    v3: v3::V3State,
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

    /// `http://127.0.0.1:<port>`.
    fn base_url(&self) -> String {
        self.addr
            .get()
            .map_or_else(String::new, |addr| format!("http://{addr}"))
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
            mode: SigningMode::default(),
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
            .filter(|r| r.path == path)
            .map(|r| r.body.clone())
            .collect()
    }

    /// The requests to `path` as received (method, target, headers, body), oldest first.
    #[must_use]
    pub fn raw_requests(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// The next `times` calls of `path` answer `result_code` FAIL with `err_code` (e.g.
    /// `SYSTEMERROR`, `NOTENOUGH`), after the sign check.
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
                paid_at: None,
                refunded_fee: 0,
                api: "v2",
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
            TradeState::Success | TradeState::Refund => {}
            TradeState::NotPay => {
                order.state = TradeState::Success;
                order.transaction_id = Some(format!("4200{:024}", 1_000_000 + n));
                order.time_end = Some("20231114093012".to_owned());
                order.paid_at = Some(now());
            }
            _ => return None,
        }
        order.transaction_id.clone()
    }

    // ---- refunds --------------------------------------------------------------------------

    /// Every refund asked (v2 and v3), by `out_refund_no`.
    #[must_use]
    pub fn refunds(&self) -> Vec<MockRefund> {
        self.shared.lock().refunds.values().cloned().collect()
    }

    /// The refund `out_refund_no`.
    #[must_use]
    pub fn refund(&self, out_refund_no: &str) -> Option<MockRefund> {
        self.shared.lock().refunds.get(out_refund_no).cloned()
    }

    /// Completes a refund as WeChat Pay does after a while (`PROCESSING` → `SUCCESS`); returns
    /// whether the refund exists. Sending its refund notification completes it too.
    #[allow(
        clippy::must_use_candidate,
        reason = "called for its effect; the flag is a convenience"
    )]
    pub fn complete_refund(&self, out_refund_no: &str) -> bool {
        let mut state = self.shared.lock();
        match state.refunds.get_mut(out_refund_no) {
            Some(refund) => {
                refund.complete(now());
                true
            }
            None => false,
        }
    }
}

impl MockPay {
    // ---- v3: keys, certificates, faults ---------------------------------------------------

    /// How it signs v3 answers and notifications.
    #[must_use]
    pub fn signing_mode(&self) -> SigningMode {
        self.shared.mode
    }

    /// The serial of the merchant API certificate (商户API证书) it accepts in `serial_no`.
    #[must_use]
    pub fn merchant_serial(&self) -> &'static str {
        MERCHANT_SERIAL
    }

    /// The merchant's private key (`apiclient_key.pem`, a public test key), PEM.
    #[must_use]
    pub fn merchant_private_key_pem(&self) -> &'static str {
        MERCHANT_KEY_PEM
    }

    /// The merchant API certificate (`apiclient_cert.pem`), PEM.
    #[must_use]
    pub fn merchant_certificate_pem(&self) -> &'static str {
        MERCHANT_CERT_PEM
    }

    /// The platform certificate (平台证书) that signs now in certificate mode: A, or B after
    /// [`MockPay::rotate_platform_certificate`].
    #[must_use]
    pub fn platform_certificate_pem(&self) -> &'static str {
        if self.shared.lock().v3.rotation.rotated {
            PLATFORM_B_CERT_PEM
        } else {
            PLATFORM_A_CERT_PEM
        }
    }

    /// Its serial.
    #[must_use]
    pub fn platform_certificate_serial(&self) -> &'static str {
        if self.shared.lock().v3.rotation.rotated {
            PLATFORM_B_SERIAL
        } else {
            PLATFORM_A_SERIAL
        }
    }

    /// The `Wechatpay-Serial` of what it signs now: the public key id or the current platform
    /// certificate's serial.
    #[must_use]
    pub fn signing_serial(&self) -> String {
        let rotation = self.shared.lock().v3.rotation;
        self.shared
            .keys
            .current(self.shared.mode, rotation)
            .serial
            .clone()
    }

    /// Rotates the platform certificate, as WeChat Pay does before one expires: from now on
    /// B signs (in certificate mode) and `/v3/certificates` lists A and B.
    pub fn rotate_platform_certificate(&self) {
        self.shared.lock().v3.rotation.rotated = true;
    }

    /// After a rotation, stops listing A (and decrypting fields encrypted under it).
    pub fn retire_old_certificate(&self) {
        let mut state = self.shared.lock();
        if state.v3.rotation.rotated {
            state.v3.rotation.retired = true;
        }
    }

    /// The next `n` v3 answers carry a wrong signature (a real one by the right key, over
    /// another message): valid JSON the client must refuse.
    pub fn forge_next_v3_responses(&self, n: usize) {
        self.shared.lock().v3.forge = n;
    }

    /// The next call of the v3 `path` (no query) answers `status` with `{code, message}`,
    /// after the `Authorization` check. Queued: call it again for more.
    pub fn fail_next_v3(&self, path: &str, status: u16, code: &str) {
        self.shared
            .lock()
            .v3
            .failures
            .entry(path.to_owned())
            .or_default()
            .push_back((status, code.to_owned()));
    }

    /// Shifts the `Wechatpay-Timestamp` of its v3 answers by `secs` (e.g. `-600`: stale
    /// answers a client must refuse). Requests are still checked against the true clock.
    pub fn set_answer_clock_offset(&self, secs: i64) {
        self.shared.lock().v3.answer_clock_offset = secs;
    }

    /// The next bill published (trade or fund flow) is served with a byte changed: its
    /// `hash_value` no longer matches.
    pub fn corrupt_next_bill(&self) {
        self.shared.lock().v3.corrupt_next_bill = true;
    }

    /// Every transfer (商家转账), by `out_bill_no`, with the `user_name` the mock decrypted.
    #[must_use]
    pub fn transfers(&self) -> Vec<MockTransfer> {
        self.shared.lock().v3.transfers.values().cloned().collect()
    }

    /// The transfer `out_bill_no`.
    #[must_use]
    pub fn transfer(&self, out_bill_no: &str) -> Option<MockTransfer> {
        self.shared.lock().v3.transfers.get(out_bill_no).cloned()
    }
}

#[cfg(test)]
impl Shared {
    /// The default merchant, for unit tests of the faces without a server.
    #[allow(clippy::unwrap_used, reason = "tests")]
    fn for_tests() -> Self {
        let b = MockPay::builder();
        Self {
            appid: b.appid,
            mch_id: b.mch_id,
            key: PayKey::new(b.key),
            sign_type: b.sign_type,
            api_v3_key: ApiV3Key::new(b.api_v3_key),
            keys: Keys::load(&b.public_key_id).unwrap(),
            public_key_id: b.public_key_id,
            mode: b.mode,
            addr: OnceLock::new(),
            state: Mutex::new(State::default()),
        }
    }
}

/// Seconds since the Unix epoch.
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Every request: counted and recorded, then answered by the face its path belongs to.
async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_owned());
    let Some(body) = read_body(body, MAX_BODY).await else {
        if path.starts_with("/v3/") {
            return v3::too_large(shared);
        }
        return v2::xml_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            v2::return_fail("body too large"),
        );
    };
    {
        let mut state = shared.lock();
        *state.calls.entry(path.clone()).or_default() += 1;
        state.requests.push(RecordedRequest {
            method: parts.method.clone(),
            path: path.clone(),
            target: target.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
        });
    }
    if path.starts_with("/v3/") {
        v3::handle(shared, &parts.method, &target, &parts.headers, &body)
    } else {
        v2::handle(shared, &parts.method, &path, &body)
    }
}
