//! WeChat Pay (微信支付), the protocol: v2 (XML, MD5/HMAC-SHA256), which the classic JSAPI,
//! Mini Program, Native and H5 flows use, and APIv3 (JSON, AES-256-GCM, RSA-SHA256), which new
//! merchants get. Pure and synchronous: no I/O, no clock (time is passed
//! in); `wechat-tower`'s `pay` module sends the requests and serves the notify URL.
//!
//! | module | what it does |
//! |---|---|
//! | [`sign`] | the v2 sign (签名): sorted `k=v&…&key=`, MD5 or HMAC-SHA256, upper-case hex, verified in constant time |
//! | [`map`] | flat `<xml>` maps ([`PayMap`]) and answers read safely ([`PayMap::from_response`]) |
//! | [`order`] | unified order (统一下单) with validation, order query, close order |
//! | [`params`] | pay parameters for JSAPI / Mini Program ([`JsapiPayParams`]) and APP |
//! | [`notify`] | the pay notification (支付结果通知), verified with the merchant's sign type |
//! | [`refund`] | refunds (申请退款, `secapi/pay/refund`, with the merchant certificate) and refund queries (查询退款); the refund notification (退款结果通知): `req_info` AES-256-ECB |
//! | [`v3`] | APIv3: request signing (`Authorization: WECHATPAY2-SHA256-RSA2048`, constant-time RSA), answers and notifications verified (`Wechatpay-Signature` by platform certificate or WeChat Pay public key, timestamp window), AEAD_AES_256_GCM, platform certificates, RSA-OAEP, typed orders, refunds, bills, transfers and errors |
//! | [`error`] | [`PayError`]: WeChat's `return_code` / `result_code` + [`ErrCode`], typed |
//!
//! An order, its pay parameters and its notification, end to end (WeChat Pay's side played by
//! hand):
//!
//! ```
//! use wechat_core::pay::{self, JsapiPayParams, Merchant, PayMap, PayNotification, SignType, TradeType, UnifiedOrder, UnifiedOrderResponse};
//!
//! let merchant = Merchant::new("wxd930ea5d5a258f4f", "10000100", "192006250b4c09247ec02edce69f6a2d")
//!     .with_sign_type(SignType::HmacSha256);
//!
//! // 1. 统一下单: the signed XML to POST to https://api.mch.weixin.qq.com/pay/unifiedorder.
//! let order = UnifiedOrder::new(TradeType::Jsapi, "Noodles", "20231114093000000001", 1200)
//!     .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
//!     .notify_url("https://example.com/pay/notify")
//!     .spbill_create_ip("203.0.113.7");
//! let request = order.to_request(&merchant, &pay::nonce_str())?.to_xml()?;
//! # let _ = request;
//!
//! // 2. WeChat Pay answers with a signed prepay_id.
//! let mut answer: PayMap = [("return_code", "SUCCESS"), ("result_code", "SUCCESS"),
//!     ("prepay_id", "wx201410272009395522657a690389285100"), ("trade_type", "JSAPI")]
//!     .into_iter().collect();
//! answer.sign(merchant.key(), SignType::HmacSha256);
//! let answer = PayMap::from_response(&answer.to_xml()?, merchant.key(), merchant.sign_type())?;
//! let prepay = UnifiedOrderResponse::from_map(answer)?;
//!
//! // 3. The page opens the pay sheet with these (same sign type as the order).
//! let params = JsapiPayParams::new(merchant.app_id(), &prepay.prepay_id, merchant.key(),
//!     merchant.sign_type(), 1700000000, &pay::nonce_str());
//! assert_eq!(params.sign_type, "HMAC-SHA256");
//!
//! // 4. The notification comes back to notify_url; verify it before believing it.
//! # let mut n: PayMap = [("return_code", "SUCCESS"), ("result_code", "SUCCESS"), ("appid", "wxd930ea5d5a258f4f"),
//! #     ("mch_id", "10000100"), ("openid", "o"), ("trade_type", "JSAPI"), ("bank_type", "CMC"), ("total_fee", "1200"),
//! #     ("transaction_id", "4200001234"), ("out_trade_no", "20231114093000000001"), ("time_end", "20231114093012")]
//! #     .into_iter().collect();
//! # n.sign(merchant.key(), SignType::HmacSha256);
//! # let body = n.to_xml()?;
//! let paid = PayNotification::parse(body.as_bytes(), merchant.key(), merchant.sign_type())?;
//! paid.check_merchant(merchant.app_id(), merchant.mch_id())?;
//! assert_eq!(paid.total_fee, 1200);
//! let answer_to_wechat = pay::notify_answer(true, "OK");
//! # let _ = answer_to_wechat;
//! # Ok::<(), pay::PayError>(())
//! ```

pub mod error;
pub mod map;
pub mod notify;
pub mod order;
pub mod params;
pub mod refund;
pub mod sign;
pub mod v3;

pub use error::{BusinessError, ErrCode, PayError, PayErrorKind};
pub use map::{PayMap, notify_answer};
pub use notify::PayNotification;
pub use order::{
    OrderId, OrderQueryResponse, TradeState, TradeType, UnifiedOrder, UnifiedOrderResponse,
    close_order_request, order_query_request,
};
pub use params::{AppPayParams, JsapiPayParams};
pub use refund::{
    Refund, RefundAccount, RefundNotification, RefundQueryId, RefundQueryResponse, RefundRecord,
    RefundResponse, RefundStatus, refund_query_request,
};
pub use sign::SignType;

use crate::secret::PayKey;

/// The default base URL of the v2 API.
pub const DEFAULT_API_BASE: &str = "https://api.mch.weixin.qq.com";

/// A merchant (商户) as v2 requests name it: the `appid` the orders are for, the merchant id
/// (`mch_id`, 商户号), the API key and the sign type of its requests. Its `Debug` hides the key.
#[derive(Debug, Clone)]
pub struct Merchant {
    appid: String,
    mch_id: String,
    key: PayKey,
    sign_type: SignType,
}

impl Merchant {
    /// A merchant signing with MD5; change it with [`Merchant::with_sign_type`].
    #[must_use]
    pub fn new(
        appid: impl Into<String>,
        mch_id: impl Into<String>,
        key: impl Into<String>,
    ) -> Self {
        Self {
            appid: appid.into(),
            mch_id: mch_id.into(),
            key: PayKey::new(key),
            sign_type: SignType::Md5,
        }
    }

    /// Sign requests (and expect answers and notifications signed) with `sign_type`.
    #[must_use]
    pub fn with_sign_type(mut self, sign_type: SignType) -> Self {
        self.sign_type = sign_type;
        self
    }

    /// The app id (`appid`).
    #[must_use]
    pub fn app_id(&self) -> &str {
        &self.appid
    }

    /// The merchant id (`mch_id`, 商户号).
    #[must_use]
    pub fn mch_id(&self) -> &str {
        &self.mch_id
    }

    /// The API key.
    #[must_use]
    pub fn key(&self) -> &PayKey {
        &self.key
    }

    /// The sign type of requests, answers and notifications.
    #[must_use]
    pub fn sign_type(&self) -> SignType {
        self.sign_type
    }

    /// `appid`, `mch_id`, `nonce_str`, `sign_type`: what every v2 request starts with.
    #[must_use]
    pub fn base_map(&self, nonce_str: &str) -> PayMap {
        let mut map = PayMap::new();
        map.insert("appid", self.appid.clone());
        map.insert("mch_id", self.mch_id.clone());
        map.insert("nonce_str", nonce_str);
        map.insert("sign_type", self.sign_type.as_str());
        map
    }
}

/// A fresh `nonce_str`: 32 upper-case hex digits (128 bits) from the OS CSPRNG.
#[must_use]
pub fn nonce_str() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No OS generator (unsupported platforms only). A nonce must differ, not be secret:
        // fall back to the process's randomly seeded hasher, mixed with the time.
        use std::hash::{BuildHasher, RandomState};
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            let word = RandomState::new().hash_one((i, nanos)).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
    sign::upper_hex(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_32_hex_digits_and_differ() {
        let a = nonce_str();
        let b = nonce_str();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn debug_hides_the_key() {
        let m = Merchant::new("wx1", "1000", "s3cr3t-key");
        let debug = format!("{m:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("PayKey([redacted])"), "{debug}");
    }
}
