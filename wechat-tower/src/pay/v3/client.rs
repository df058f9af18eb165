//! [`PayV3Client`]: the APIv3 calls of WeChat Pay over a [`Transport`].

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWrite;
use tower::ServiceExt as _;
use tower::timeout::Timeout;
use wechat_core::pay::v3::{
    self, ApiError, AppParams, BillHasher, BillUrl, DomesticRefund, FundAccountType, H5Prepay,
    JsapiParams, NativePrepay, NotifyHeaders, Order, Prepay, RefundRequest, TradeBillType,
    TradeKind, Transaction, TransferBill, TransferRequest, Verifier,
};
use wechat_core::pay::{PayError, PayErrorKind};
use wechat_core::replay;

use super::certificates::{
    DEFAULT_CERTIFICATE_REFRESH, DEFAULT_CERTIFICATE_STORE_TTL, DEFAULT_UNKNOWN_SERIAL_INTERVAL,
    Origin, Settings, V3Certificates,
};
use super::error::PayV3Error;
use super::merchant::V3Merchant;
use crate::client::wechat_client::{check_base, default_transport};
use crate::client::{BuildError, Transport};
use crate::config::{Clock, SystemClock};
use crate::store::{MemoryStore, Store};

/// The default base URL of APIv3.
pub const DEFAULT_PAY_V3_API_BASE: &str = "https://api.mch.weixin.qq.com";

/// The default time limit of one v3 call.
pub const DEFAULT_PAY_V3_TIMEOUT: Duration = Duration::from_secs(10);

/// The default cap of a JSON answer (bills have the transport's own cap).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// The default time limit of a whole bill download (the per-call limit bounds only until the
/// headers arrive; a large bill takes longer to read).
pub(crate) const DEFAULT_BILL_DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// The default cap of a bill (WeChat's largest daily bills are hundreds of MiB at most).
pub(crate) const DEFAULT_MAX_BILL_BYTES: u64 = 1024 * 1024 * 1024;

/// A bill up to this long is held in memory until its hash is checked (nothing is written
/// when it does not match); a longer one is written as it streams.
pub(crate) const BILL_HOLD_BYTES: usize = 8 * 1024 * 1024;

/// What signs, sends and reads: shared by the client and its certificate set.
pub(crate) struct Core {
    pub(crate) merchant: V3Merchant,
    api_base: String,
    base_uri: Uri,
    transport: Timeout<Transport>,
    clock: Arc<dyn Clock>,
    pub(crate) window_secs: u64,
    max_response_bytes: usize,
    download_timeout: Duration,
    max_bill_bytes: u64,
}

impl Core {
    pub(crate) fn now(&self) -> u64 {
        self.clock.now_secs()
    }

    /// A request to `{api_base}{path_and_query}`, signed over the exact bytes of `body` and the
    /// path and query exactly as they go on the wire.
    pub(crate) fn signed_request(
        &self,
        method: &Method,
        path_and_query: &str,
        body: Bytes,
        wechatpay_serial: Option<&str>,
    ) -> Result<Request<Bytes>, PayV3Error> {
        let url = format!("{}{path_and_query}", self.api_base);
        let uri: Uri = url
            .parse()
            .map_err(|_| PayV3Error::Request(format!("not a valid URL path: {path_and_query}")))?;
        self.signed_request_to(method, uri, body, wechatpay_serial)
    }

    fn signed_request_to(
        &self,
        method: &Method,
        uri: Uri,
        body: Bytes,
        wechatpay_serial: Option<&str>,
    ) -> Result<Request<Bytes>, PayV3Error> {
        // What the server sees as the request target is what is signed.
        let signed_url = uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .to_owned();
        let timestamp = self.now().to_string();
        let nonce = random_nonce()?;
        let message =
            v3::request_message_bytes(method.as_str(), &signed_url, &timestamp, &nonce, &body);
        let signature = self.merchant.signing_key().try_sign(&message)?;
        let authorization = v3::authorization(
            self.merchant.mch_id(),
            self.merchant.serial_no(),
            &timestamp,
            &nonce,
            &signature,
        );
        let mut authorization = HeaderValue::from_str(&authorization).map_err(|_| {
            PayV3Error::Request(
                "mchid or the certificate serial has characters a header cannot carry".into(),
            )
        })?;
        authorization.set_sensitive(true);
        let mut req = Request::builder()
            .method(method.clone())
            .uri(uri)
            .header(header::AUTHORIZATION, authorization)
            .header(header::ACCEPT, HeaderValue::from_static("application/json"))
            .header(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("wechat-tower/", env!("CARGO_PKG_VERSION"))),
            );
        if !body.is_empty() {
            req = req.header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
        if let Some(serial) = wechatpay_serial {
            req = req.header(
                "Wechatpay-Serial",
                HeaderValue::from_str(serial)
                    .map_err(|_| PayV3Error::Request("invalid Wechatpay-Serial".into()))?,
            );
        }
        req.body(body)
            .map_err(|e| PayV3Error::Request(e.to_string()))
    }

    pub(crate) async fn send(&self, req: Request<Bytes>) -> Result<Response<Bytes>, PayV3Error> {
        self.transport.clone().oneshot(req).await.map_err(|err| {
            if crate::client::transport::is_timeout(err.as_ref()) {
                PayV3Error::Timeout
            } else {
                PayV3Error::Transport(err)
            }
        })
    }

    pub(crate) fn check_size(&self, body: &Bytes) -> Result<(), PayV3Error> {
        if body.len() > self.max_response_bytes {
            Err(PayV3Error::TooLarge)
        } else {
            Ok(())
        }
    }

    /// The error of a non-2xx answer: WeChat's JSON error (its signature verified when it has
    /// one: a forged error is refused as forged), or the bare status.
    pub(crate) fn error_answer(
        &self,
        status: StatusCode,
        headers: &NotifyHeaders<'_>,
        body: &[u8],
        verifier: &Verifier,
    ) -> PayV3Error {
        let Some(mut err) = ApiError::from_body(status.as_u16(), body) else {
            return PayV3Error::Status(status.as_u16());
        };
        if !headers.signature.is_empty() {
            if let Err(e) = verifier.verify_notify(headers, body, self.now(), self.window_secs) {
                return e.into();
            }
            err.verified = true;
        }
        PayV3Error::Api(err)
    }
}

/// 32 upper-case hex digits (128 bits) from the OS CSPRNG.
fn random_nonce() -> Result<String, PayV3Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|_| PayV3Error::Request("the OS random number generator failed".into()))?;
    Ok(bytes.iter().map(|b| format!("{b:02X}")).collect())
}

/// Percent-encodes one path segment: everything but `A-Z a-z 0-9 - . _ ~`.
pub(crate) fn path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn notify_headers(headers: &HeaderMap) -> NotifyHeaders<'_> {
    NotifyHeaders {
        timestamp: header_str(headers, "wechatpay-timestamp"),
        nonce: header_str(headers, "wechatpay-nonce"),
        signature: header_str(headers, "wechatpay-signature"),
        serial: header_str(headers, "wechatpay-serial"),
    }
}

/// The client of WeChat Pay's APIv3 for one merchant: orders (JSAPI / Mini Program, App,
/// Native, H5), their pay parameters, query and close; refunds; bills; transfers to a user's
/// balance (商家转账). Cheap to clone. See the [module docs](super).
#[derive(Clone)]
pub struct PayV3Client {
    core: Arc<Core>,
    certificates: V3Certificates,
    notify_url: Option<String>,
}

impl std::fmt::Debug for PayV3Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayV3Client")
            .field("merchant", &self.core.merchant)
            .field("api_base", &self.core.api_base)
            .field("certificates", &self.certificates)
            .finish_non_exhaustive()
    }
}

/// How to build a [`PayV3Client`]. See [`PayV3Client::builder`].
#[must_use]
pub struct PayV3ClientBuilder {
    merchant: V3Merchant,
    api_base: String,
    transport: Option<Transport>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    notify_url: Option<String>,
    public_keys: Verifier,
    store: Option<Arc<dyn Store>>,
    window_secs: u64,
    max_response_bytes: usize,
    download_timeout: Duration,
    max_bill_bytes: u64,
    settings: Settings,
}

impl std::fmt::Debug for PayV3ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayV3ClientBuilder")
            .field("merchant", &self.merchant)
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .field("public_keys", &self.public_keys)
            .finish_non_exhaustive()
    }
}

impl PayV3ClientBuilder {
    /// The API base URL (default [`DEFAULT_PAY_V3_API_BASE`]): the backup domain
    /// `https://api2.mch.weixin.qq.com`, or a mock server on loopback.
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Send requests through `transport` (default: the HTTPS transport of feature `client`).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The time limit of one call (default [`DEFAULT_PAY_V3_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Replace the clock (tests): request timestamps, the answers' timestamp window,
    /// certificate expiry.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The `notify_url` of orders, refunds and transfers that do not set one.
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// Public-key mode (微信支付公钥, what merchants registered since 2024 use): answers and
    /// notifications are verified with this key (id `PUB_KEY_ID_…`), and sensitive fields are
    /// encrypted with it; no platform certificate is downloaded.
    ///
    /// # Errors
    ///
    /// When the PEM is not an RSA public key.
    pub fn wechatpay_public_key(mut self, key_id: &str, pem: &str) -> Result<Self, PayError> {
        self.public_keys.add_public_key_pem(key_id, pem)?;
        Ok(self)
    }

    /// Where the downloaded platform certificates are shared between processes (default: a
    /// [`MemoryStore`] of this client's own).
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Prefix of the store keys (default `wechat:pay:`; the set lives under
    /// `{prefix}v3:certificates:{mchid}`).
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.key_prefix = prefix.into();
        self
    }

    /// How often the certificates are downloaded again (default
    /// [`DEFAULT_CERTIFICATE_REFRESH`], 12 h; at least a minute).
    pub fn certificate_refresh(mut self, every: Duration) -> Self {
        self.settings.refresh = every;
        self
    }

    /// At most one download per this long for unknown serials in notifications (default
    /// [`DEFAULT_UNKNOWN_SERIAL_INTERVAL`]).
    pub fn unknown_serial_interval(mut self, interval: Duration) -> Self {
        self.settings.unknown_interval = interval;
        self
    }

    /// How long the downloaded set lives in the store (default
    /// [`DEFAULT_CERTIFICATE_STORE_TTL`]).
    pub fn certificate_store_ttl(mut self, ttl: Duration) -> Self {
        self.settings.store_ttl = ttl;
        self
    }

    /// Accept answers whose `Wechatpay-Timestamp` is within this many seconds of now (default
    /// 300).
    pub fn timestamp_window_secs(mut self, secs: u64) -> Self {
        self.window_secs = secs;
        self
    }

    /// Refuse JSON answers longer than this (default [`DEFAULT_MAX_RESPONSE_BYTES`]).
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// The time limit of a whole bill download, headers and body (default 5 min).
    pub fn download_timeout(mut self, timeout: Duration) -> Self {
        self.download_timeout = timeout;
        self
    }

    /// Refuse bills longer than this (default 1 GiB); the transport's own streaming cap
    /// applies too.
    pub fn max_bill_bytes(mut self, max: u64) -> Self {
        self.max_bill_bytes = max;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// When the API base is not an `http(s)://` URL, when it is plain `http://` on a host other
    /// than loopback, or when no transport is given and feature `client` is off.
    pub fn build(self) -> Result<PayV3Client, BuildError> {
        let api_base = check_base("api_base", &self.api_base, false)?;
        let base_uri: Uri = api_base.parse().map_err(|_| BuildError::InvalidBase {
            setting: "api_base",
            base: self.api_base.clone(),
        })?;
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport()?,
        };
        let core = Arc::new(Core {
            merchant: self.merchant,
            api_base,
            base_uri,
            transport: Timeout::new(transport, self.timeout),
            clock: self.clock,
            window_secs: self.window_secs,
            max_response_bytes: self.max_response_bytes,
            download_timeout: self.download_timeout,
            max_bill_bytes: self.max_bill_bytes,
        });
        let certificates = if self.public_keys.is_empty() {
            let store = self
                .store
                .unwrap_or_else(|| Arc::new(MemoryStore::new()) as Arc<dyn Store>);
            V3Certificates::downloading(self.public_keys, Arc::clone(&core), store, &self.settings)
        } else {
            V3Certificates::fixed(self.public_keys)
        };
        Ok(PayV3Client {
            core,
            certificates,
            notify_url: self.notify_url,
        })
    }
}

impl PayV3Client {
    /// A client for `merchant`; configure it further, then [`build`](PayV3ClientBuilder::build).
    pub fn builder(merchant: V3Merchant) -> PayV3ClientBuilder {
        PayV3ClientBuilder {
            merchant,
            api_base: DEFAULT_PAY_V3_API_BASE.to_owned(),
            transport: None,
            timeout: DEFAULT_PAY_V3_TIMEOUT,
            clock: Arc::new(SystemClock),
            notify_url: None,
            public_keys: Verifier::new(),
            store: None,
            window_secs: replay::DEFAULT_WINDOW_SECS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            download_timeout: DEFAULT_BILL_DOWNLOAD_TIMEOUT,
            max_bill_bytes: DEFAULT_MAX_BILL_BYTES,
            settings: Settings {
                refresh: DEFAULT_CERTIFICATE_REFRESH,
                unknown_interval: DEFAULT_UNKNOWN_SERIAL_INTERVAL,
                store_ttl: DEFAULT_CERTIFICATE_STORE_TTL,
                key_prefix: "wechat:pay:".to_owned(),
            },
        }
    }

    /// The merchant.
    #[must_use]
    pub fn merchant(&self) -> &V3Merchant {
        &self.core.merchant
    }

    /// The API base URL, without a trailing slash.
    #[must_use]
    pub fn api_base(&self) -> &str {
        &self.core.api_base
    }

    /// The shared handle of the keys that verify WeChat Pay: give it to
    /// [`PayConfig::v3_certificates`](crate::pay::PayConfig::v3_certificates).
    #[must_use]
    pub fn certificates(&self) -> V3Certificates {
        self.certificates.clone()
    }

    /// Downloads the platform certificates now (certificates mode) and returns the serials
    /// known; in public-key mode, the key id.
    ///
    /// # Errors
    ///
    /// The download failed or did not verify.
    pub async fn refresh_certificates(&self) -> Result<Vec<String>, PayV3Error> {
        self.certificates.refresh().await
    }

    /// Sends a signed request and returns the verified body of a 2xx answer. `wechatpay_serial`
    /// goes in `Wechatpay-Serial` (the key a sensitive field was encrypted with); without one,
    /// the WeChat Pay public key's id or the newest platform certificate's serial does.
    ///
    /// # Errors
    ///
    /// [`PayV3Error::Api`] for WeChat's error answer; [`PayV3Error::Pay`] for an answer whose
    /// signature does not verify (or is missing); transport, timeout, size and store errors.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Bytes,
        wechatpay_serial: Option<&str>,
    ) -> Result<Bytes, PayV3Error> {
        self.certificates.ensure_fresh().await?;
        // Every request names the key it expects the answer to be signed with (and that
        // encrypted any sensitive field): the WeChat Pay public key during a switch from
        // platform certificates tells WeChat Pay to sign with it, as the official SDKs do.
        let default_serial = self.certificates.verifier().encryption_serial();
        let serial = wechatpay_serial.or(default_serial.as_deref());
        let req = self
            .core
            .signed_request(&method, path_and_query, body, serial)?;
        let res = self.core.send(req).await?;
        self.read_verified(res).await
    }

    /// Verifies an answer before anything reads it.
    async fn read_verified(&self, res: Response<Bytes>) -> Result<Bytes, PayV3Error> {
        let (parts, body) = res.into_parts();
        self.core.check_size(&body)?;
        let headers = notify_headers(&parts.headers);
        let now = self.core.now();
        if parts.status.is_success() {
            self.certificates
                .verify(&headers, &body, now, self.core.window_secs, Origin::Answer)
                .await?;
            return Ok(body);
        }
        let verifier = if headers.signature.is_empty() {
            self.certificates.verifier()
        } else {
            self.certificates
                .verifier_for(headers.serial, Origin::Answer)
                .await?
        };
        Err(self
            .core
            .error_answer(parts.status, &headers, &body, &verifier))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<&impl Serialize>,
        wechatpay_serial: Option<&str>,
    ) -> Result<T, PayV3Error> {
        // Serialized once: these bytes are signed and these bytes are sent.
        let body = match body {
            Some(body) => Bytes::from(
                serde_json::to_vec(body).map_err(|e| PayV3Error::Request(e.to_string()))?,
            ),
            None => Bytes::new(),
        };
        let answer = self
            .call(method, path_and_query, body, wechatpay_serial)
            .await?;
        serde_json::from_slice(&answer).map_err(|e| PayV3Error::Decode(e.to_string()))
    }

    fn order_for(&self, mut order: Order, kind: TradeKind) -> Result<Order, PayV3Error> {
        if order.appid.is_empty() {
            order.appid = self.core.merchant.app_id().to_owned();
        }
        order.mchid = self.core.merchant.mch_id().to_owned();
        if order.notify_url.is_empty()
            && let Some(url) = &self.notify_url
        {
            order.notify_url.clone_from(url);
        }
        if order.notify_url.is_empty() {
            return Err(PayError::from(PayErrorKind::InvalidRequest(
                "an order needs a notify_url (on the order or the client)",
            ))
            .into());
        }
        order.validate(kind)?;
        Ok(order)
    }

    /// JSAPI / Mini Program order (`POST /v3/pay/transactions/jsapi`): needs `payer.openid`
    /// ([`Order::openid`]). Then [`PayV3Client::jsapi_params`].
    ///
    /// # Errors
    ///
    /// [`PayV3Error::Pay`] for an order refused before sending, [`PayV3Error::Api`] for WeChat's
    /// refusal, and the errors of [`PayV3Client::call`].
    pub async fn jsapi(&self, order: Order) -> Result<Prepay, PayV3Error> {
        let order = self.order_for(order, TradeKind::Jsapi)?;
        self.json(Method::POST, TradeKind::Jsapi.path(), Some(&order), None)
            .await
    }

    /// App order (`POST /v3/pay/transactions/app`). Then [`PayV3Client::app_params`].
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::jsapi`].
    pub async fn app(&self, order: Order) -> Result<Prepay, PayV3Error> {
        let order = self.order_for(order, TradeKind::App)?;
        self.json(Method::POST, TradeKind::App.path(), Some(&order), None)
            .await
    }

    /// Native order (`POST /v3/pay/transactions/native`): the `code_url` to show as a QR code.
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::jsapi`].
    pub async fn native(&self, order: Order) -> Result<String, PayV3Error> {
        let order = self.order_for(order, TradeKind::Native)?;
        let answer: NativePrepay = self
            .json(Method::POST, TradeKind::Native.path(), Some(&order), None)
            .await?;
        Ok(answer.code_url)
    }

    /// H5 order (`POST /v3/pay/transactions/h5`): needs `scene_info` ([`Order::h5_scene`]);
    /// the `h5_url` to send the browser to.
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::jsapi`].
    pub async fn h5(&self, order: Order) -> Result<String, PayV3Error> {
        let order = self.order_for(order, TradeKind::H5)?;
        let answer: H5Prepay = self
            .json(Method::POST, TradeKind::H5.path(), Some(&order), None)
            .await?;
        Ok(answer.h5_url)
    }

    /// The parameters of `wx.requestPayment` / `getBrandWCPayRequest` for `prepay_id`
    /// (`signType` `RSA`, `paySign` by the merchant's key), stamped with the client's clock and
    /// a fresh nonce.
    ///
    /// # Errors
    ///
    /// When the OS random number generator fails.
    pub fn jsapi_params(&self, prepay_id: &str) -> Result<JsapiParams, PayV3Error> {
        Ok(JsapiParams::new(
            self.core.merchant.app_id(),
            prepay_id,
            self.core.merchant.signing_key(),
            self.core.now(),
            &random_nonce()?,
        )?)
    }

    /// The parameters of an App payment for `prepay_id` (`package` `Sign=WXPay`).
    ///
    /// # Errors
    ///
    /// When the OS random number generator fails.
    pub fn app_params(&self, prepay_id: &str) -> Result<AppParams, PayV3Error> {
        Ok(AppParams::new(
            self.core.merchant.app_id(),
            self.core.merchant.mch_id(),
            prepay_id,
            self.core.merchant.signing_key(),
            self.core.now(),
            &random_nonce()?,
        )?)
    }

    /// Queries an order by WeChat's number (`GET /v3/pay/transactions/id/{transaction_id}`).
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::call`]; `ORDER_NOT_EXIST`/`RESOURCE_NOT_EXISTS` for an unknown order.
    pub async fn query_by_transaction_id(
        &self,
        transaction_id: &str,
    ) -> Result<Transaction, PayV3Error> {
        let path = format!(
            "/v3/pay/transactions/id/{}?{}",
            path_segment(transaction_id),
            query(&[("mchid", self.core.merchant.mch_id())])
        );
        self.json(Method::GET, &path, None::<&()>, None).await
    }

    /// Queries an order by the merchant's number
    /// (`GET /v3/pay/transactions/out-trade-no/{out_trade_no}`).
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::query_by_transaction_id`].
    pub async fn query_by_out_trade_no(
        &self,
        out_trade_no: &str,
    ) -> Result<Transaction, PayV3Error> {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}?{}",
            path_segment(out_trade_no),
            query(&[("mchid", self.core.merchant.mch_id())])
        );
        self.json(Method::GET, &path, None::<&()>, None).await
    }

    /// Closes an order (`POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`; 204).
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::call`]; `ORDERPAID` when it was paid meanwhile.
    pub async fn close(&self, out_trade_no: &str) -> Result<(), PayV3Error> {
        if out_trade_no.is_empty() {
            return Err(
                PayError::from(PayErrorKind::InvalidRequest("out_trade_no is empty")).into(),
            );
        }
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{}/close",
            path_segment(out_trade_no)
        );
        let body = serde_json::json!({ "mchid": self.core.merchant.mch_id() });
        let body = Bytes::from(body.to_string());
        self.call(Method::POST, &path, body, None).await?;
        Ok(())
    }

    /// Refunds (`POST /v3/refund/domestic/refunds`).
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::jsapi`]; `NOT_ENOUGH` when the merchant's balance is short.
    pub async fn refund(&self, mut request: RefundRequest) -> Result<DomesticRefund, PayV3Error> {
        if request.notify_url.is_empty()
            && let Some(url) = &self.notify_url
        {
            request.notify_url.clone_from(url);
        }
        request.validate()?;
        self.json(
            Method::POST,
            "/v3/refund/domestic/refunds",
            Some(&request),
            None,
        )
        .await
    }

    /// Queries a refund (`GET /v3/refund/domestic/refunds/{out_refund_no}`).
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::call`].
    pub async fn query_refund(&self, out_refund_no: &str) -> Result<DomesticRefund, PayV3Error> {
        let path = format!(
            "/v3/refund/domestic/refunds/{}",
            path_segment(out_refund_no)
        );
        self.json(Method::GET, &path, None::<&()>, None).await
    }

    /// Where to download the trade bill of `date` (`YYYY-MM-DD`,
    /// `GET /v3/bill/tradebill`). Then [`PayV3Client::download_bill`].
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::call`]; `NO_STATEMENT_EXIST` for a day without one.
    pub async fn trade_bill(
        &self,
        date: &str,
        bill_type: TradeBillType,
    ) -> Result<BillUrl, PayV3Error> {
        v3::check_bill_date(date)?;
        let path = format!(
            "/v3/bill/tradebill?{}",
            query(&[("bill_date", date), ("bill_type", bill_type.as_str())])
        );
        self.json(Method::GET, &path, None::<&()>, None).await
    }

    /// Where to download the fund-flow bill of `date` (`GET /v3/bill/fundflowbill`).
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::trade_bill`].
    pub async fn fund_flow_bill(
        &self,
        date: &str,
        account_type: FundAccountType,
    ) -> Result<BillUrl, PayV3Error> {
        v3::check_bill_date(date)?;
        let path = format!(
            "/v3/bill/fundflowbill?{}",
            query(&[("bill_date", date), ("account_type", account_type.as_str())])
        );
        self.json(Method::GET, &path, None::<&()>, None).await
    }

    /// Downloads a bill into `out` and returns the bytes written. The request is signed like
    /// any other; the answer is **not** signed by WeChat Pay (documented), so the SHA-1
    /// `hash_value` of the signed answer that gave the URL is the check. The URL must be on the
    /// API base's scheme, host and port (a URL elsewhere is refused: the request carries the
    /// merchant's signature, and the client must not be steered to other hosts).
    ///
    /// The body is streamed ([`Transport::stream`]) and hashed frame by frame, within
    /// [`download_timeout`](PayV3ClientBuilder::download_timeout) for the whole download and
    /// [`max_bill_bytes`](PayV3ClientBuilder::max_bill_bytes). A bill up to
    /// 8 MiB is held until its hash matches (nothing is written otherwise); a
    /// longer one is written **as it streams**, because bills can be hundreds of MiB and
    /// holding them would defeat streaming: on any error, discard what `out` received.
    ///
    /// ```no_run
    /// # async fn run(client: wechat_tower::pay::v3::PayV3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use wechat_core::pay::v3::TradeBillType;
    /// let bill = client.trade_bill("2024-05-01", TradeBillType::All).await?;
    /// let path = "tradebill-2024-05-01.csv";
    /// let mut file = tokio::fs::File::create(path).await?;
    /// if let Err(err) = client.download_bill(&bill, &mut file).await {
    ///     drop(file);
    ///     // Partial or unverified: never keep it.
    ///     tokio::fs::remove_file(path).await?;
    ///     return Err(err.into());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`PayV3Error::Request`] for a URL elsewhere; [`PayV3Error::Pay`] with
    /// [`PayErrorKind::HashMismatch`]; [`PayV3Error::Api`] for WeChat's error answer;
    /// [`PayV3Error::TooLarge`] over the cap; [`PayV3Error::Timeout`] past the download time
    /// limit; [`PayV3Error::Transport`] when reading or writing to `out` fails.
    pub async fn download_bill(
        &self,
        bill: &BillUrl,
        out: impl AsyncWrite + Unpin,
    ) -> Result<u64, PayV3Error> {
        let uri = self.bill_uri(&bill.download_url)?;
        let hasher = BillHasher::new(&bill.hash_type)?;
        self.certificates.ensure_fresh().await?;
        let req = self
            .core
            .signed_request_to(&Method::GET, uri, Bytes::new(), None)?;
        tokio::time::timeout(
            self.core.download_timeout,
            self.stream_bill(req, bill, hasher, out),
        )
        .await
        .map_err(|_| PayV3Error::Timeout)?
    }

    async fn stream_bill(
        &self,
        req: Request<Bytes>,
        bill: &BillUrl,
        mut hasher: BillHasher,
        mut out: impl AsyncWrite + Unpin,
    ) -> Result<u64, PayV3Error> {
        use http_body_util::BodyExt as _;
        let transport_error = |err: crate::body::BoxError| {
            if crate::client::transport::is_timeout(err.as_ref()) {
                PayV3Error::Timeout
            } else if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                PayV3Error::TooLarge
            } else {
                PayV3Error::Transport(err)
            }
        };
        let res = self
            .core
            .transport
            .get_ref()
            .stream(req)
            .await
            .map_err(transport_error)?;
        let (parts, mut body) = res.into_parts();
        if !parts.status.is_success() {
            let limited = http_body_util::Limited::new(body, self.core.max_response_bytes);
            let body = limited.collect().await.map_err(transport_error)?.to_bytes();
            let headers = notify_headers(&parts.headers);
            let verifier = if headers.signature.is_empty() {
                self.certificates.verifier()
            } else {
                self.certificates
                    .verifier_for(headers.serial, Origin::Answer)
                    .await?
            };
            return Err(self
                .core
                .error_answer(parts.status, &headers, &body, &verifier));
        }
        let mut held: Vec<Bytes> = Vec::new();
        let mut held_len = 0usize;
        let mut streaming = false;
        let mut total = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(transport_error)?.into_data() else {
                continue; // trailers
            };
            total = total.saturating_add(data.len() as u64);
            if total > self.core.max_bill_bytes {
                return Err(PayV3Error::TooLarge);
            }
            hasher.update(&data);
            if streaming {
                write_all(&mut out, &data).await?;
            } else {
                held_len = held_len.saturating_add(data.len());
                held.push(data);
                if held_len > BILL_HOLD_BYTES {
                    streaming = true;
                    for chunk in held.drain(..) {
                        write_all(&mut out, &chunk).await?;
                    }
                }
            }
        }
        hasher.verify(&bill.hash_value)?;
        for chunk in held {
            write_all(&mut out, &chunk).await?;
        }
        std::future::poll_fn(|cx| Pin::new(&mut out).poll_flush(cx))
            .await
            .map_err(|e| PayV3Error::Transport(Box::new(e)))?;
        Ok(total)
    }

    /// The download URL, if it is on the API base's scheme, host and port.
    fn bill_uri(&self, url: &str) -> Result<Uri, PayV3Error> {
        let refuse = || {
            PayV3Error::Request(
                "the bill's download_url is not on the API base's host: refused".to_owned(),
            )
        };
        let uri: Uri = url.parse().map_err(|_| refuse())?;
        let base = &self.core.base_uri;
        let same_scheme = uri.scheme_str() == base.scheme_str();
        let same_host = match (uri.host(), base.host()) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        let same_port = uri.port_u16().or_else(|| default_port(uri.scheme_str()))
            == base.port_u16().or_else(|| default_port(base.scheme_str()));
        let no_userinfo = uri.authority().is_some_and(|a| !a.as_str().contains('@'));
        if same_scheme && same_host && same_port && no_userinfo {
            Ok(uri)
        } else {
            Err(refuse())
        }
    }

    /// Transfers to a user's balance (商家转账, `POST /v3/fund-app/mch-transfer/transfer-bills`).
    /// A `user_name` is encrypted (RSA-OAEP) under the WeChat Pay public key or the newest
    /// platform certificate, whose serial goes in `Wechatpay-Serial`.
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::jsapi`]; [`PayV3Error::Request`] when no key to encrypt with is known.
    pub async fn transfer(&self, mut request: TransferRequest) -> Result<TransferBill, PayV3Error> {
        if request.appid.is_empty() {
            request.appid = self.core.merchant.app_id().to_owned();
        }
        if request.notify_url.is_empty()
            && let Some(url) = &self.notify_url
        {
            request.notify_url.clone_from(url);
        }
        request.validate()?;
        let mut body =
            serde_json::to_value(&request).map_err(|e| PayV3Error::Request(e.to_string()))?;
        let mut serial = None;
        if let Some(name) = &request.user_name {
            self.certificates.ensure_fresh().await?;
            let verifier = self.certificates.verifier();
            let Some(s) = verifier.encryption_serial() else {
                return Err(PayV3Error::Request(
                    "no WeChat Pay public key or platform certificate to encrypt user_name with"
                        .into(),
                ));
            };
            let encrypted = verifier.encrypt(&s, name.as_bytes())?;
            if let Some(map) = body.as_object_mut() {
                map.insert("user_name".into(), encrypted.into());
            }
            serial = Some(s);
        }
        self.json(
            Method::POST,
            "/v3/fund-app/mch-transfer/transfer-bills",
            Some(&body),
            serial.as_deref(),
        )
        .await
    }

    /// Queries a transfer by the merchant's number
    /// (`GET /v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{out_bill_no}`).
    ///
    /// # Errors
    ///
    /// As [`PayV3Client::call`]; `NOT_FOUND` for an unknown transfer.
    pub async fn query_transfer(&self, out_bill_no: &str) -> Result<TransferBill, PayV3Error> {
        let path = format!(
            "/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/{}",
            path_segment(out_bill_no)
        );
        self.json(Method::GET, &path, None::<&()>, None).await
    }
}

fn default_port(scheme: Option<&str>) -> Option<u16> {
    match scheme {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    }
}

async fn write_all(out: &mut (impl AsyncWrite + Unpin), mut buf: &[u8]) -> Result<(), PayV3Error> {
    while !buf.is_empty() {
        let n = std::future::poll_fn(|cx| Pin::new(&mut *out).poll_write(cx, buf))
            .await
            .map_err(|e| PayV3Error::Transport(Box::new(e)))?;
        if n == 0 {
            return Err(PayV3Error::Transport(Box::new(std::io::Error::from(
                std::io::ErrorKind::WriteZero,
            ))));
        }
        buf = &buf[n..];
    }
    Ok(())
}
