//! The WeChat Pay APIv3 client (feature `pay`): [`PayV3Client`].
//!
//! - **Requests** are signed with the merchant's API certificate key (constant time, *ring*):
//!   `Authorization: WECHATPAY2-SHA256-RSA2048 mchid=…,nonce_str=…,signature=…,timestamp=…,
//!   serial_no=…` over `METHOD\nPATH?QUERY\ntimestamp\nnonce\nbody\n`, where the body is the
//!   exact bytes sent (serialized once) and the path and query are exactly the request target
//!   on the wire (path segments percent-encoded).
//! - **Answers** are verified before they are read: `Wechatpay-Timestamp` within the window,
//!   `-Nonce`, `-Signature` by the key `-Serial` names. A 2xx that does not verify is an error,
//!   never data; a 4xx/5xx is WeChat's typed [`ApiError`]
//!   (its signature checked too when present).
//! - **Keys that verify** ([`V3Certificates`]): the WeChat Pay public key (微信支付公钥,
//!   [`PayV3ClientBuilder::wechatpay_public_key`]), or platform certificates (平台证书)
//!   downloaded from `/v3/certificates`, refreshed ahead of expiry and when an unknown serial
//!   appears, shared between processes through a [`Store`](crate::store::Store). The notify
//!   service takes the same handle ([`PayConfig::v3_certificates`](crate::pay::PayConfig::v3_certificates)).
//! - **Calls**: orders ([`jsapi`](PayV3Client::jsapi) for Official Accounts and Mini Programs,
//!   [`app`](PayV3Client::app), [`native`](PayV3Client::native), [`h5`](PayV3Client::h5)) and
//!   their pay parameters, query, close; [`refund`](PayV3Client::refund) and its query; bills
//!   ([`trade_bill`](PayV3Client::trade_bill), [`fund_flow_bill`](PayV3Client::fund_flow_bill),
//!   [`download_bill`](PayV3Client::download_bill), SHA-1 checked); transfers
//!   ([`transfer`](PayV3Client::transfer), the user's name RSA-OAEP encrypted).
//!
//! ```
//! use wechat_tower::pay::v3::{PayV3Client, V3Merchant};
//! use wechat_tower::core::pay::v3::{Order, SigningKey};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let key_pem = include_str!("../../test_util/keys/merchant_key.pem");
//! # let wechatpay_public_key_pem = include_str!("../../test_util/mock_pay_pub.pem");
//! let merchant = V3Merchant::new(
//!     "wxd930ea5d5a258f4f",
//!     "1900000109",
//!     "444F4E545553455448495345524941", // the serial of apiclient_cert.pem
//!     SigningKey::from_pkcs8_pem(key_pem)?,
//!     "0123456789abcdefghijABCDEFGHIJ01", // the APIv3 key
//! );
//! let client = PayV3Client::builder(merchant)
//!     .wechatpay_public_key("PUB_KEY_ID_0114232134912410000000000000", wechatpay_public_key_pem)?
//!     .notify_url("https://example.com/pay/notify")
//!     .build()?;
//! // let prepay = client.jsapi(Order::new("Noodles", "20240501000001", 1200).openid("oUser")).await?;
//! // let params = client.jsapi_params(&prepay.prepay_id)?; // to wx.requestPayment
//! # let _ = (client, Order::new("Noodles", "20240501000001", 1200));
//! # Ok(()) }
//! ```

mod certificates;
mod client;
mod error;
mod merchant;
#[cfg(test)]
mod tests;

pub use certificates::{
    DEFAULT_CERTIFICATE_REFRESH, DEFAULT_CERTIFICATE_STORE_TTL, DEFAULT_UNKNOWN_SERIAL_INTERVAL,
    V3Certificates,
};
pub use client::{
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_PAY_V3_API_BASE, DEFAULT_PAY_V3_TIMEOUT, PayV3Client,
    PayV3ClientBuilder,
};
pub use error::PayV3Error;
pub use merchant::V3Merchant;
pub use wechat_core::pay::v3::{
    ApiError, ApiErrorCode, AppParams, BillUrl, DomesticRefund, FundAccountType, JsapiParams,
    Order, Prepay, RefundRequest, TradeBillType, Transaction, TransferBill, TransferRequest,
};

pub(crate) use certificates::Origin;
