//! WeChat Pay (微信支付): the notify URL as a tower service, and the pay API client.
//!
//! - [`PayNotify`] serves the notify URL of orders: pay notifications (支付结果通知) and refund
//!   notifications (退款结果通知), v2 (XML, MD5/HMAC-SHA256 sign, `req_info` AES-256-ECB) and v3
//!   (JSON, `Wechatpay-Signature` RSA-SHA256, AES-256-GCM). It verifies the sign or signature,
//!   checks `appid` and `mch_id` (商户号) against the [`PayConfig`], calls the
//!   `#[wechat_handler(pay = "notify")]` / `pay = "refund"` handler with the typed notification
//!   (and `pay = "transfer"` for v3 merchant transfers, 商家转账回调, `MCHTRANSFER.*`),
//!   and answers SUCCESS (v2) / 204 (v3) **only after the handler returned `Ok`**; FAIL (v2) or
//!   a non-2xx status (v3) otherwise, so WeChat delivers it again and nothing is lost.
//! - Each notification is handled **once**: by `transaction_id` for payments, by `refund_id` and
//!   status for refunds, by `transfer_bill_no` and state for transfers. A notification already
//!   handled is answered SUCCESS without calling the handler; concurrent duplicates run it once
//!   (the others wait for its outcome). The record lives in a [`Store`](crate::store::Store):
//!   memory by default, `RedisStore` when several processes serve the notify URL. How, and its one limit, in [`once`'s docs](self#delivery-once).
//! - [`PayClient`] calls unified order (统一下单), order query and close order, through any
//!   [`Transport`](crate::client::Transport), against a configurable API base (a mock in tests).
//! - [`v3::PayV3Client`] calls APIv3 (JSON, RSA-SHA256 signed requests, verified answers):
//!   JSAPI / Mini Program, App, Native and H5 orders and their pay parameters, query, close,
//!   refunds, bills and transfers (商家转账), with the WeChat Pay public key or platform
//!   certificates downloaded, refreshed and shared through a [`Store`](crate::store::Store);
//!   [`PayConfig::v3_certificates`] lets [`PayNotify`] verify v3 notifications with the same
//!   set, through a certificate rotation. See [`v3`].
//!
//! ```
//! use tower::ServiceExt;
//! use wechat_tower::pay::{Paid, PayConfig, PayNotify};
//! use wechat_tower::core::pay::{PayMap, SignType};
//! use wechat_tower::wechat_handler;
//!
//! #[wechat_handler(pay = "notify")]
//! async fn paid(payment: Paid) -> Result<(), String> {
//!     // Check payment.total_fee() against the order, then mark it paid (idempotently).
//!     assert_eq!(payment.total_fee(), 1200);
//!     Ok(())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = PayConfig::new("wxd930ea5d5a258f4f", "10000100", "192006250b4c09247ec02edce69f6a2d")
//!     .sign_type(SignType::HmacSha256);
//! let notify = PayNotify::builder(config.clone()).handler(paid).build()?;
//! // Mount it: axum::Router::new().route_service("/pay/notify", notify)
//!
//! // Play WeChat Pay: a signed v2 notification (the mock pay server of test_util does this).
//! let mut n: PayMap = [
//!     ("return_code", "SUCCESS"), ("result_code", "SUCCESS"), ("appid", "wxd930ea5d5a258f4f"),
//!     ("mch_id", "10000100"), ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"), ("openid", "oUser"),
//!     ("trade_type", "JSAPI"), ("bank_type", "CMC"), ("total_fee", "1200"),
//!     ("transaction_id", "4200001234202311141234567890"), ("out_trade_no", "no-1"),
//!     ("time_end", "20231114093012"),
//! ].into_iter().collect();
//! n.sign(config.key(), SignType::HmacSha256);
//! let req = http::Request::post("/pay/notify").body(http_body_util::Full::new(bytes::Bytes::from(n.to_xml()?)))?;
//! let res = notify.clone().oneshot(req).await?;
//! let body = http_body_util::BodyExt::collect(res.into_body()).await?.to_bytes();
//! assert!(std::str::from_utf8(&body)?.contains("<return_code><![CDATA[SUCCESS]]></return_code>"));
//! # Ok(()) }
//! ```
//!
//! # Delivery once
//!
//! One store key per notification holds a *claim* (short TTL, renewed by a heartbeat while the
//! handler runs) or *done* (long TTL, [`PayConfig::record_ttl`]):
//!
//! 1. *done*: answer SUCCESS without calling the handler;
//! 2. the claim is won (`set_if_absent`): the handler runs in a task of its own (WeChat hanging
//!    up does not cancel it half-way); `Ok` records *done* and answers SUCCESS; `Err` or a panic
//!    releases the claim and answers FAIL, so the retry runs the handler again;
//! 3. another delivery holds the claim: wait (up to [`PayConfig::duplicate_wait`]) for *done*
//!    (SUCCESS) or a release (claim it, as in 2); still running: FAIL (503), WeChat retries later.
//!
//! A crashed process leaves a claim that expires after [`PayConfig::claim_ttl`]; the next retry
//! runs the handler. A store that fails before the handler answers FAIL (WeChat retries); one
//! that fails after a successful handler still answers SUCCESS (the payment was handled). The
//! one case that runs a handler twice is a process that stalls, alive, for longer than the claim
//! TTL mid-handler: keep the handler's own update conditional (`UPDATE orders SET state = 'paid'
//! WHERE id = ? AND state = 'unpaid'`), as the `pay-demo` example does.
//!
//! Answers: v2 SUCCESS is `200` + `<xml><return_code>SUCCESS…`; v2 FAIL carries a status that
//! says why (401 sign, 403 `appid`/`mch_id`, 400 malformed, 413 too large, 500 handler, 501 no
//! handler, 503 busy or store down) and `<return_code>FAIL`. v3 success is `204`, failure the
//! same statuses with `{"code":"FAIL","message":…}`.

mod client;
mod config;
mod handler;
mod notify;
mod once;
pub mod v3;

pub use client::{
    DEFAULT_PAY_API_BASE, DEFAULT_PAY_TIMEOUT, PayClient, PayClientBuilder, PayClientError,
};
pub use config::{DEFAULT_CLAIM_TTL, DEFAULT_DUPLICATE_WAIT, DEFAULT_RECORD_TTL, PayConfig};
pub use handler::{
    BoxPayFuture, FromNotification, FromPayContext, IntoPayOutcome, MountPayHandler, Notification,
    Paid, PayContext, PayHandler, PayKind, PayVersion, Refunded,
};
pub use notify::{PayNotify, PayNotifyBuilder, PayRouteError, ResponseFuture};
pub use wechat_core::pay::v3::{Refund as RefundV3, Transaction as TransactionV3};
pub use wechat_core::pay::{PayNotification, RefundNotification};
