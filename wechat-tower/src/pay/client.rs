//! [`PayClient`]: the v2 API calls of WeChat Pay (统一下单, 查询订单, 关闭订单, 申请退款,
//! 查询退款) over a [`Transport`](crate::client::Transport).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, header};
use tower::ServiceExt as _;
use tower::timeout::Timeout;
use wechat_core::pay::refund::{Refund, RefundQueryId, RefundQueryResponse, RefundResponse};
use wechat_core::pay::{
    self, JsapiPayParams, OrderId, OrderQueryResponse, PayError, PayMap, UnifiedOrder,
    UnifiedOrderResponse,
};

use super::config::PayConfig;
use crate::body::BoxError;
#[cfg(feature = "client")]
use crate::client::transport::{HttpTransport, HttpTransportBuilder, TlsConfigError};
use crate::client::wechat_client::{check_base, default_transport};
use crate::client::{BuildError, Transport};

/// The default base URL of the pay API.
pub const DEFAULT_PAY_API_BASE: &str = pay::DEFAULT_API_BASE;

/// The default time limit of one pay call.
pub const DEFAULT_PAY_TIMEOUT: Duration = Duration::from_secs(10);

/// A pay call that failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum PayClientError {
    /// WeChat Pay answered with an error (`return_code` FAIL, `result_code` FAIL with its
    /// `err_code`), or an answer whose sign does not verify, or the request was refused before
    /// sending (validation).
    Pay(PayError),
    /// The request did not get an answer: connection, TLS or protocol failure.
    Transport(BoxError),
    /// The request did not get an answer in time.
    Timeout,
    /// WeChat Pay answered with an HTTP status other than 200.
    Status(u16),
}

impl PayClientError {
    /// The pay error, when it is one.
    #[must_use]
    pub fn pay(&self) -> Option<&PayError> {
        match self {
            Self::Pay(err) => Some(err),
            _ => None,
        }
    }
}

impl std::fmt::Display for PayClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Pay(err) => err.fmt(f),
            Self::Transport(err) => write!(f, "request to WeChat Pay failed: {err}"),
            Self::Timeout => f.write_str("request to WeChat Pay timed out"),
            Self::Status(status) => write!(f, "WeChat Pay answered HTTP {status}"),
        }
    }
}

impl std::error::Error for PayClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Pay(err) => Some(err),
            Self::Transport(err) => Some(err.as_ref()),
            _ => None,
        }
    }
}

impl From<PayError> for PayClientError {
    fn from(err: PayError) -> Self {
        Self::Pay(err)
    }
}

/// The client of WeChat Pay's v2 API for one merchant: unified order (统一下单), order query
/// (查询订单), close order (关闭订单), refund (申请退款, needs the merchant's client
/// certificate: see [`PayClient::refund`]) and refund query (查询退款), and the pay parameters
/// of a `prepay_id`. Cheap to clone.
///
/// Requests are signed with the merchant's sign type; answers are read the safe way
/// (`return_code`, then the `sign`, then `result_code` as a typed [`ErrCode`](pay::ErrCode)).
///
/// ```
/// use wechat_tower::pay::{PayClient, PayConfig};
/// use wechat_tower::core::pay::{TradeType, UnifiedOrder};
/// use wechat_tower::test_util::mock_pay::MockPay;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = MockPay::start().await?;
/// let config = PayConfig::new(mock.app_id(), mock.mch_id(), mock.key());
/// let client = PayClient::builder(config).api_base(mock.base_url()).build()?;
///
/// let order = UnifiedOrder::new(TradeType::Jsapi, "Noodles", "no-1", 1200)
///     .openid("oUser")
///     .notify_url("https://example.com/pay/notify");
/// let prepay = client.unified_order(order).await?;
/// let params = client.jsapi_params(&prepay.prepay_id);
/// assert_eq!(params.package, format!("prepay_id={}", prepay.prepay_id));
///
/// let state = client.order_query(&wechat_tower::core::pay::OrderId::OutTradeNo("no-1".into())).await?;
/// assert_eq!(state.trade_state.as_str(), "NOTPAY");
/// client.close_order("no-1").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PayClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: PayConfig,
    api_base: String,
    transport: Timeout<Transport>,
    notify_url: Option<String>,
    spbill_create_ip: String,
}

impl std::fmt::Debug for PayClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayClient")
            .field("config", &self.inner.config)
            .field("api_base", &self.inner.api_base)
            .finish_non_exhaustive()
    }
}

/// How to build a [`PayClient`]. See [`PayClient::builder`].
#[must_use]
pub struct PayClientBuilder {
    config: PayConfig,
    api_base: String,
    transport: Option<Transport>,
    timeout: Duration,
    notify_url: Option<String>,
    spbill_create_ip: String,
}

impl std::fmt::Debug for PayClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PayClientBuilder")
            .field("config", &self.config)
            .field("api_base", &self.api_base)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl PayClient {
    /// A client for the merchant of `config`; configure it further, then
    /// [`build`](PayClientBuilder::build).
    pub fn builder(config: PayConfig) -> PayClientBuilder {
        PayClientBuilder {
            config,
            api_base: DEFAULT_PAY_API_BASE.to_owned(),
            transport: None,
            timeout: DEFAULT_PAY_TIMEOUT,
            notify_url: None,
            spbill_create_ip: "127.0.0.1".to_owned(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PayConfig {
        &self.inner.config
    }

    /// The API base URL, without a trailing slash.
    #[must_use]
    pub fn api_base(&self) -> &str {
        &self.inner.api_base
    }

    /// 统一下单 (`POST {api_base}/pay/unifiedorder`): validates `order` (see
    /// [`UnifiedOrder::validate`]), fills `notify_url` and `spbill_create_ip` from the client's
    /// defaults when empty, signs and sends it.
    ///
    /// # Errors
    ///
    /// [`PayClientError::Pay`] for an invalid order or WeChat Pay's refusal (typed `err_code`:
    /// `ORDERPAID`, `OUT_TRADE_NO_USED`, ...); transport, timeout and status errors.
    pub async fn unified_order(
        &self,
        mut order: UnifiedOrder,
    ) -> Result<UnifiedOrderResponse, PayClientError> {
        if order.notify_url.is_empty()
            && let Some(url) = &self.inner.notify_url
        {
            order.notify_url.clone_from(url);
        }
        if order.spbill_create_ip.is_empty() {
            order
                .spbill_create_ip
                .clone_from(&self.inner.spbill_create_ip);
        }
        let request = order.to_request(self.inner.config.merchant(), &pay::nonce_str())?;
        let answer = self.call("/pay/unifiedorder", &request).await?;
        Ok(UnifiedOrderResponse::from_map(answer)?)
    }

    /// 查询订单 (`POST {api_base}/pay/orderquery`).
    ///
    /// # Errors
    ///
    /// As [`PayClient::unified_order`]; `ORDERNOTEXIST` for an unknown order.
    pub async fn order_query(&self, id: &OrderId) -> Result<OrderQueryResponse, PayClientError> {
        let request = pay::order_query_request(self.inner.config.merchant(), id, &pay::nonce_str());
        let answer = self.call("/pay/orderquery", &request).await?;
        Ok(OrderQueryResponse::from_map(answer)?)
    }

    /// 关闭订单 (`POST {api_base}/pay/closeorder`).
    ///
    /// # Errors
    ///
    /// As [`PayClient::unified_order`]; `ORDERPAID` when the order was paid meanwhile.
    pub async fn close_order(&self, out_trade_no: &str) -> Result<(), PayClientError> {
        let request = pay::close_order_request(
            self.inner.config.merchant(),
            out_trade_no,
            &pay::nonce_str(),
        )?;
        self.call("/pay/closeorder", &request).await?;
        Ok(())
    }

    /// 申请退款 (`POST {api_base}/secapi/pay/refund`): validates `refund` (see
    /// [`Refund::validate`]), signs it with the merchant's sign type, sends it, reads the answer
    /// safely and checks it is about this refund ([`RefundResponse::check_matches`]). WeChat
    /// accepts the refund; it completes later (query it, or wait for the refund notification).
    ///
    /// **WeChat requires the merchant's client certificate** (商户API证书, mutual TLS) for
    /// this call: without it the TLS handshake fails ([`PayClientError::Transport`]). Give
    /// the client a transport that presents it, from `apiclient_cert.pem` + `apiclient_key.pem`
    /// ([`HttpTransportBuilder::client_certificate_pem`]) or `apiclient_cert.p12`
    /// (`client_certificate_p12`, feature `p12`), or use the shortcut
    /// [`PayClientBuilder::merchant_certificate_pem`]:
    ///
    /// ```no_run
    /// use wechat_tower::client::{HttpTransport, Transport};
    /// use wechat_tower::core::pay::OrderId;
    /// use wechat_tower::core::pay::refund::Refund;
    /// use wechat_tower::pay::{PayClient, PayConfig};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// let config = PayConfig::new("wxd930ea5d5a258f4f", "1900000109", "192006250b4c09247ec02edce69f6a2d");
    /// let transport = HttpTransport::builder()
    ///     .client_certificate_pem(
    ///         std::fs::read("/etc/wechat/apiclient_cert.pem")?,
    ///         std::fs::read("/etc/wechat/apiclient_key.pem")?,
    ///     )?
    ///     .build()?;
    /// let client = PayClient::builder(config).transport(Transport::new(transport)).build()?;
    /// // Or: PayClient::builder(config).merchant_certificate_pem(cert_pem, key_pem)?.build()?
    ///
    /// let refund = Refund::new(OrderId::OutTradeNo("no-1".into()), "refund-1", 1200, 200)
    ///     .refund_desc("one noodle short");
    /// let accepted = client.refund(refund).await?;
    /// println!("refund {} accepted", accepted.refund_id);
    /// # Ok(()) }
    /// ```
    ///
    /// A refund whose answer was lost (timeout, transport error) may have been made: ask again
    /// with the **same** `out_refund_no` and amounts, which WeChat answers with the same refund.
    ///
    /// # Errors
    ///
    /// [`PayClientError::Pay`] for an invalid refund or WeChat Pay's refusal (typed `err_code`:
    /// `NOTENOUGH` (the merchant's balance), `ORDERNOTEXIST`, `USER_ACCOUNT_ABNORMAL`,
    /// `INVALID_REQUEST`, `FREQUENCY_LIMITED`, `REFUND_FEE_MISMATCH`, `ERROR`, ...);
    /// [`PayClientError::Transport`] when the handshake fails (no or wrong client
    /// certificate); timeout and status errors.
    pub async fn refund(&self, refund: Refund) -> Result<RefundResponse, PayClientError> {
        let request = refund.to_request(self.inner.config.merchant(), &pay::nonce_str())?;
        let answer = self.call("/secapi/pay/refund", &request).await?;
        let response = RefundResponse::from_map(answer)?;
        response.check_matches(&refund)?;
        Ok(response)
    }

    /// 查询退款 (`POST {api_base}/pay/refundquery`): one refund, or the refunds of an order
    /// (their numbered fields read into [`RefundQueryResponse::refunds`]). Needs no client
    /// certificate.
    ///
    /// # Errors
    ///
    /// As [`PayClient::unified_order`]; `REFUNDNOTEXIST` when there is no such refund.
    pub async fn refund_query(
        &self,
        id: &RefundQueryId,
    ) -> Result<RefundQueryResponse, PayClientError> {
        let request =
            pay::refund::refund_query_request(self.inner.config.merchant(), id, &pay::nonce_str())?;
        let answer = self.call("/pay/refundquery", &request).await?;
        Ok(RefundQueryResponse::from_map(answer)?)
    }

    /// The parameters of `getBrandWCPayRequest` / `wx.requestPayment` for `prepay_id`, signed
    /// with the merchant's sign type (the order's), stamped with the client's clock and a fresh
    /// nonce.
    #[must_use]
    pub fn jsapi_params(&self, prepay_id: &str) -> JsapiPayParams {
        let config = &self.inner.config;
        JsapiPayParams::new(
            config.app_id(),
            prepay_id,
            config.key(),
            config.sign_type_of_orders(),
            config.now(),
            &pay::nonce_str(),
        )
    }

    /// POSTs a signed map as XML to `{api_base}{path}` and reads the answer safely.
    ///
    /// # Errors
    ///
    /// As [`PayClient::unified_order`].
    pub async fn call(&self, path: &str, request: &PayMap) -> Result<PayMap, PayClientError> {
        let xml = request.to_xml()?;
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("{}{path}", self.inner.api_base))
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/xml; charset=utf-8"),
            )
            .header(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("wechat-tower/", env!("CARGO_PKG_VERSION"))),
            )
            .body(Bytes::from(xml))
            .map_err(|e| PayClientError::Transport(Box::new(e)))?;
        let res: Response<Bytes> =
            self.inner
                .transport
                .clone()
                .oneshot(req)
                .await
                .map_err(|err| {
                    if crate::client::transport::is_timeout(err.as_ref()) {
                        PayClientError::Timeout
                    } else {
                        PayClientError::Transport(err)
                    }
                })?;
        if !res.status().is_success() {
            return Err(PayClientError::Status(res.status().as_u16()));
        }
        let config = &self.inner.config;
        // WeChat Pay signs its answer with the request's sign type.
        Ok(PayMap::from_response_bytes(
            res.body(),
            config.key(),
            config.sign_type_of_orders(),
        )?)
    }
}

impl PayClientBuilder {
    /// The pay API base URL (default [`DEFAULT_PAY_API_BASE`],
    /// `https://api.mch.weixin.qq.com`): the backup domain `https://api2.mch.weixin.qq.com`, or
    /// a mock server such as `MockPay` of `test_util` (feature `test-util`).
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// Send requests through `transport` (default: the HTTPS transport of feature `client`).
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// Send requests through the default HTTPS transport presenting the merchant's API
    /// certificate (商户API证书), as refunds require: `apiclient_cert.pem` and
    /// `apiclient_key.pem`. A shortcut for
    /// `.transport(HttpTransport::builder().client_certificate_pem(..)?.build()?.into_transport())`;
    /// see [`HttpTransportBuilder::client_certificate_pem`].
    ///
    /// # Errors
    ///
    /// As [`HttpTransportBuilder::client_certificate_pem`].
    #[cfg(feature = "client")]
    pub fn merchant_certificate_pem(
        self,
        cert_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<Self, TlsConfigError> {
        self.https_transport(HttpTransport::builder().client_certificate_pem(cert_pem, key_pem)?)
    }

    /// [`merchant_certificate_pem`](Self::merchant_certificate_pem) from `apiclient_cert.p12`
    /// (password: the merchant id, 商户号; feature `p12`).
    ///
    /// # Errors
    ///
    /// As [`HttpTransportBuilder::client_certificate_p12`].
    #[cfg(feature = "p12")]
    #[cfg_attr(docsrs, doc(cfg(feature = "p12")))]
    pub fn merchant_certificate_p12(
        self,
        der: &[u8],
        password: &str,
    ) -> Result<Self, TlsConfigError> {
        self.https_transport(HttpTransport::builder().client_certificate_p12(der, password)?)
    }

    #[cfg(feature = "client")]
    fn https_transport(mut self, builder: HttpTransportBuilder) -> Result<Self, TlsConfigError> {
        let transport = builder
            .build()
            .map_err(|e| TlsConfigError::Tls(e.to_string()))?;
        self.transport = Some(Transport::new(transport));
        Ok(self)
    }

    /// The time limit of one call (default [`DEFAULT_PAY_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The `notify_url` of orders that do not set one.
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = Some(url.into());
        self
    }

    /// The `spbill_create_ip` of orders that do not set one (default `127.0.0.1`; WeChat
    /// accepts the server's IP for JSAPI and NATIVE; H5 needs the user's).
    pub fn spbill_create_ip(mut self, ip: impl Into<String>) -> Self {
        self.spbill_create_ip = ip.into();
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// When the API base is not an `http(s)://` URL, when it is plain `http://` on a host other
    /// than loopback (the requests carry the signed order; the answers, the prepay ids), or when
    /// no transport is given and feature `client` is off.
    pub fn build(self) -> Result<PayClient, BuildError> {
        check_base("api_base", &self.api_base, false)?;
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport()?,
        };
        Ok(PayClient {
            inner: Arc::new(Inner {
                config: self.config,
                api_base: self.api_base,
                transport: Timeout::new(transport, self.timeout),
                notify_url: self.notify_url,
                spbill_create_ip: self.spbill_create_ip,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> PayConfig {
        PayConfig::new("wx1", "1000", "192006250b4c09247ec02edce69f6a2d")
    }

    fn echo_transport() -> Transport {
        Transport::new(tower::service_fn(|_req: Request<Bytes>| async {
            Ok::<_, std::convert::Infallible>(Response::new(Bytes::from_static(
                b"<xml><return_code>FAIL</return_code><return_msg>bad</return_msg></xml>",
            )))
        }))
    }

    #[test]
    fn plain_http_only_on_loopback() {
        let build = |base: &str| {
            PayClient::builder(config())
                .api_base(base)
                .transport(echo_transport())
                .build()
        };
        assert!(build("http://127.0.0.1:1234").is_ok());
        assert!(build("http://localhost:1234/").is_ok());
        assert!(build("https://api.mch.weixin.qq.com").is_ok());
        assert!(build("http://[::1]:80").is_ok());
        // One typed error for every client builder, naming the setting and the value.
        let plain = |base: &str| BuildError::PlainHttp {
            setting: "api_base",
            base: base.to_owned(),
        };
        for base in [
            "http://api.mch.weixin.qq.com",
            "http://127.0.0.1.example.com",
        ] {
            assert_eq!(build(base).unwrap_err(), plain(base));
        }
        assert_eq!(
            build("ftp://x").unwrap_err(),
            BuildError::InvalidBase {
                setting: "api_base",
                base: "ftp://x".to_owned()
            }
        );
    }

    #[test]
    fn the_certificate_shortcut_checks_the_key() {
        use crate::test_util::tls::keys;
        let built = PayClient::builder(config())
            .merchant_certificate_pem(keys::MERCHANT_CERT_PEM, keys::MERCHANT_KEY_PEM)
            .unwrap();
        assert!(!format!("{built:?}").contains("PRIVATE KEY"));
        built.build().unwrap();
        assert_eq!(
            PayClient::builder(config())
                .merchant_certificate_pem(keys::MERCHANT_CERT_PEM, keys::STRANGER_KEY_PEM)
                .unwrap_err(),
            TlsConfigError::KeyMismatch
        );
        assert_eq!(
            PayClient::builder(config())
                .merchant_certificate_p12(keys::MERCHANT_P12, "wrong")
                .unwrap_err(),
            TlsConfigError::WrongPassword
        );
        PayClient::builder(config())
            .merchant_certificate_p12(keys::MERCHANT_P12, keys::MERCHANT_P12_PASSWORD)
            .unwrap()
            .build()
            .unwrap();
    }

    #[tokio::test]
    async fn refund_and_refund_query_post_to_their_paths() {
        let paths = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&paths);
        let transport = Transport::new(tower::service_fn(move |req: Request<Bytes>| {
            seen.lock().unwrap().push(req.uri().to_string());
            async {
                Ok::<_, std::convert::Infallible>(Response::new(Bytes::from_static(
                    b"<xml><return_code>FAIL</return_code><return_msg>no</return_msg></xml>",
                )))
            }
        }));
        let client = PayClient::builder(config())
            .api_base("https://api.mch.weixin.qq.com/")
            .transport(transport)
            .build()
            .unwrap();
        let refund =
            wechat_core::pay::refund::Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 2, 1);
        assert!(client.refund(refund).await.is_err());
        let id = RefundQueryId::OutRefundNo("r-1".into());
        assert!(client.refund_query(&id).await.is_err());
        // An invalid refund is refused before sending.
        let bad =
            wechat_core::pay::refund::Refund::new(OrderId::OutTradeNo("no-1".into()), "r-1", 1, 2);
        assert!(client.refund(bad).await.is_err());
        assert_eq!(
            *paths.lock().unwrap(),
            [
                "https://api.mch.weixin.qq.com/secapi/pay/refund",
                "https://api.mch.weixin.qq.com/pay/refundquery"
            ]
        );
    }

    #[tokio::test]
    async fn a_return_code_fail_is_a_typed_error() {
        let client = PayClient::builder(config())
            .api_base("http://127.0.0.1:1")
            .transport(echo_transport())
            .build()
            .unwrap();
        let err = client.close_order("no-1").await.unwrap_err();
        let PayClientError::Pay(err) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            err.kind(),
            &wechat_core::pay::PayErrorKind::Return {
                message: "bad".into()
            }
        );
        let err = client.close_order("").await.unwrap_err();
        assert!(err.to_string().contains("out_trade_no"), "{err}");
    }
}
