//! Orders of v2: unified order (统一下单, `pay/unifiedorder`), order query (查询订单,
//! `pay/orderquery`) and close order (关闭订单, `pay/closeorder`), as signed request maps and
//! typed answers.
//!
//! A [`UnifiedOrder`] is validated before it is signed, so that the mistakes WeChat would refuse
//! (an amount of 0 fen, a JSAPI order without `openid`, a relative `notify_url`, an
//! `out_trade_no` over 32 characters, ...) fail here, with the field named.
//!
//! ```
//! use wechat_core::pay::{Merchant, SignType, TradeType, UnifiedOrder};
//!
//! let merchant = Merchant::new("wxd930ea5d5a258f4f", "10000100", "192006250b4c09247ec02edce69f6a2d");
//! let order = UnifiedOrder::new(TradeType::Jsapi, "Noodles", "20231114093000000001", 1200)
//!     .openid("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
//!     .notify_url("https://example.com/pay/notify")
//!     .spbill_create_ip("203.0.113.7");
//! let request = order.to_request(&merchant, "5K8264ILTKCH16CQ2502SI8ZNMTM67VS")?;
//! assert_eq!(request.get("total_fee"), Some("1200"));
//! assert_eq!(request.get("sign_type"), Some("MD5"));
//! request.verify_sign(merchant.key(), SignType::Md5)?;
//!
//! // No openid for a JSAPI order: refused before anything is sent.
//! let bad = UnifiedOrder::new(TradeType::Jsapi, "Noodles", "20231114093000000002", 1200)
//!     .notify_url("https://example.com/pay/notify")
//!     .spbill_create_ip("203.0.113.7");
//! assert!(bad.to_request(&merchant, "n").is_err());
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```

use std::fmt;
use std::net::IpAddr;

use super::Merchant;
use super::error::{PayError, PayErrorKind};
use super::map::PayMap;

/// How the user pays (交易类型).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TradeType {
    /// `JSAPI`: inside WeChat, from an Official Account page or a Mini Program; needs `openid`.
    Jsapi,
    /// `NATIVE`: a QR code (`code_url`) the user scans; needs `product_id`.
    Native,
    /// `APP`: a mobile app with the WeChat SDK.
    App,
    /// `MWEB`: H5 payment in a mobile browser outside WeChat (`mweb_url`); needs `scene_info`.
    Mweb,
}

impl TradeType {
    /// The name as WeChat writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jsapi => "JSAPI",
            Self::Native => "NATIVE",
            Self::App => "APP",
            Self::Mweb => "MWEB",
        }
    }

    /// Parses WeChat's name.
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "JSAPI" => Self::Jsapi,
            "NATIVE" => Self::Native,
            "APP" => Self::App,
            "MWEB" => Self::Mweb,
            _ => return None,
        })
    }
}

impl fmt::Display for TradeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest `out_trade_no` WeChat accepts.
pub const MAX_OUT_TRADE_NO_LEN: usize = 32;

/// A unified order (统一下单). Build it with [`UnifiedOrder::new`] and the setters; see the
/// [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct UnifiedOrder {
    /// `trade_type`.
    pub trade_type: TradeType,
    /// `body`: what is bought, as the user sees it (at most 128 bytes).
    pub body: String,
    /// `out_trade_no`: the merchant's order number, unique per merchant, at most 32 of
    /// `0-9a-zA-Z_-|*@`.
    pub out_trade_no: String,
    /// `total_fee`: the amount in fen (分), more than 0.
    pub total_fee: u64,
    /// `notify_url`: where WeChat Pay sends the 支付结果通知; absolute `http(s)://`, no query.
    pub notify_url: String,
    /// `spbill_create_ip`: the payer's IP (JSAPI/NATIVE: the server's is accepted).
    pub spbill_create_ip: String,
    /// `openid` of the payer under the order's `appid` (JSAPI).
    pub openid: Option<String>,
    /// `product_id` (NATIVE).
    pub product_id: Option<String>,
    /// `attach`: data returned as is in the notification (at most 127 bytes).
    pub attach: Option<String>,
    /// `detail`: the goods, as JSON.
    pub detail: Option<String>,
    /// `fee_type`: the currency (default `CNY`).
    pub fee_type: Option<String>,
    /// `time_start`, `yyyyMMddHHmmss` (UTC+8).
    pub time_start: Option<String>,
    /// `time_expire`, `yyyyMMddHHmmss` (UTC+8).
    pub time_expire: Option<String>,
    /// `goods_tag`.
    pub goods_tag: Option<String>,
    /// `limit_pay`: `no_credit` forbids credit cards.
    pub limit_pay: Option<String>,
    /// `scene_info` (MWEB: `{"h5_info": {...}}`).
    pub scene_info: Option<String>,
    /// `device_info`.
    pub device_info: Option<String>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.$name = Some(value.into());
            self
        }
    )*};
}

impl UnifiedOrder {
    /// An order of `total_fee` fen for `body`, numbered `out_trade_no` by the merchant.
    /// `notify_url` and `spbill_create_ip` must still be set (the client sets them from its
    /// configuration when left empty).
    pub fn new(
        trade_type: TradeType,
        body: impl Into<String>,
        out_trade_no: impl Into<String>,
        total_fee: u64,
    ) -> Self {
        Self {
            trade_type,
            body: body.into(),
            out_trade_no: out_trade_no.into(),
            total_fee,
            notify_url: String::new(),
            spbill_create_ip: String::new(),
            openid: None,
            product_id: None,
            attach: None,
            detail: None,
            fee_type: None,
            time_start: None,
            time_expire: None,
            goods_tag: None,
            limit_pay: None,
            scene_info: None,
            device_info: None,
        }
    }

    /// Sets `notify_url`.
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = url.into();
        self
    }

    /// Sets `spbill_create_ip`.
    pub fn spbill_create_ip(mut self, ip: impl Into<String>) -> Self {
        self.spbill_create_ip = ip.into();
        self
    }

    setters! {
        /// Sets `openid` (required for JSAPI).
        openid;
        /// Sets `product_id` (required for NATIVE).
        product_id;
        /// Sets `attach`.
        attach;
        /// Sets `detail`.
        detail;
        /// Sets `fee_type`.
        fee_type;
        /// Sets `time_start`.
        time_start;
        /// Sets `time_expire`.
        time_expire;
        /// Sets `goods_tag`.
        goods_tag;
        /// Sets `limit_pay`.
        limit_pay;
        /// Sets `scene_info` (required for MWEB).
        scene_info;
        /// Sets `device_info`.
        device_info;
    }

    /// Checks what WeChat would refuse.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidRequest`] naming the field and the rule.
    pub fn validate(&self) -> Result<(), PayError> {
        let invalid = |why: &'static str| Err(PayErrorKind::InvalidRequest(why).into());
        if self.total_fee == 0 {
            return invalid("total_fee is in fen (分) and must be more than 0");
        }
        if self.body.trim().is_empty() {
            return invalid("body is required");
        }
        if self.body.len() > 128 {
            return invalid("body is at most 128 bytes");
        }
        validate_out_trade_no(&self.out_trade_no)?;
        if !is_absolute_url(&self.notify_url) {
            return invalid("notify_url must be an absolute http(s) URL without a query");
        }
        if self.spbill_create_ip.parse::<IpAddr>().is_err() {
            return invalid("spbill_create_ip must be an IPv4 or IPv6 address");
        }
        match self.trade_type {
            TradeType::Jsapi if self.openid.as_deref().is_none_or(str::is_empty) => {
                return invalid("openid is required for JSAPI (and Mini Program) orders");
            }
            TradeType::Native if self.product_id.as_deref().is_none_or(str::is_empty) => {
                return invalid("product_id is required for NATIVE orders");
            }
            TradeType::Mweb if self.scene_info.as_deref().is_none_or(str::is_empty) => {
                return invalid("scene_info is required for MWEB (H5) orders");
            }
            _ => {}
        }
        if self.product_id.as_ref().is_some_and(|p| p.len() > 32) {
            return invalid("product_id is at most 32 characters");
        }
        if self.attach.as_ref().is_some_and(|a| a.len() > 127) {
            return invalid("attach is at most 127 bytes");
        }
        Ok(())
    }

    /// The signed request map of `pay/unifiedorder`, after [`UnifiedOrder::validate`].
    /// `nonce_str` should come from [`nonce_str`](super::nonce_str).
    ///
    /// # Errors
    ///
    /// As [`UnifiedOrder::validate`].
    pub fn to_request(&self, merchant: &Merchant, nonce_str: &str) -> Result<PayMap, PayError> {
        self.validate()?;
        let mut map = merchant.base_map(nonce_str);
        map.insert("trade_type", self.trade_type.as_str());
        map.insert("body", self.body.clone());
        map.insert("out_trade_no", self.out_trade_no.clone());
        map.insert("total_fee", self.total_fee.to_string());
        map.insert("notify_url", self.notify_url.clone());
        map.insert("spbill_create_ip", self.spbill_create_ip.clone());
        for (key, value) in [
            ("openid", &self.openid),
            ("product_id", &self.product_id),
            ("attach", &self.attach),
            ("detail", &self.detail),
            ("fee_type", &self.fee_type),
            ("time_start", &self.time_start),
            ("time_expire", &self.time_expire),
            ("goods_tag", &self.goods_tag),
            ("limit_pay", &self.limit_pay),
            ("scene_info", &self.scene_info),
            ("device_info", &self.device_info),
        ] {
            if let Some(value) = value {
                map.insert(key, value.clone());
            }
        }
        map.sign(merchant.key(), merchant.sign_type());
        Ok(map)
    }
}

/// Checks an `out_trade_no`: 1 to 32 of `0-9a-zA-Z_-|*@`.
///
/// # Errors
///
/// [`PayErrorKind::InvalidRequest`].
pub fn validate_out_trade_no(out_trade_no: &str) -> Result<(), PayError> {
    if out_trade_no.is_empty() || out_trade_no.len() > MAX_OUT_TRADE_NO_LEN {
        return Err(PayErrorKind::InvalidRequest("out_trade_no is 1 to 32 characters").into());
    }
    if !out_trade_no
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*' | b'@'))
    {
        return Err(PayErrorKind::InvalidRequest(
            "out_trade_no is made of 0-9, a-z, A-Z and _ - | * @",
        )
        .into());
    }
    Ok(())
}

/// `http(s)://host[...]`, no query, no whitespace.
pub(crate) fn is_absolute_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else { return false };
    let host = rest.split('/').next().unwrap_or("");
    !host.is_empty()
        && !url.contains('?')
        && !url.contains('#')
        && !url
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
}

/// The answer of unified order: the `prepay_id` (valid 2 hours) and, by trade type, `code_url`
/// (NATIVE) or `mweb_url` (MWEB).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnifiedOrderResponse {
    /// `prepay_id` (预支付交易会话标识).
    pub prepay_id: String,
    /// `trade_type`.
    pub trade_type: Option<TradeType>,
    /// `code_url` of a NATIVE order: turn it into a QR code.
    pub code_url: Option<String>,
    /// `mweb_url` of an MWEB (H5) order: send the browser there.
    pub mweb_url: Option<String>,
    /// The whole answer.
    pub raw: PayMap,
}

impl UnifiedOrderResponse {
    /// Reads the answer (already checked by [`PayMap::from_response`]).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::MissingField`] without `prepay_id`.
    pub fn from_map(map: PayMap) -> Result<Self, PayError> {
        Ok(Self {
            prepay_id: map.require("prepay_id")?.to_owned(),
            trade_type: map.get("trade_type").and_then(TradeType::parse),
            code_url: map.get_nonempty("code_url").map(str::to_owned),
            mweb_url: map.get_nonempty("mweb_url").map(str::to_owned),
            raw: map,
        })
    }
}

/// Which order a query or a close names: WeChat's `transaction_id` (preferred) or the
/// merchant's `out_trade_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderId {
    /// `transaction_id` (微信支付订单号).
    TransactionId(String),
    /// `out_trade_no` (商户订单号).
    OutTradeNo(String),
}

/// The signed request map of order query (`pay/orderquery`).
#[must_use]
pub fn order_query_request(merchant: &Merchant, id: &OrderId, nonce_str: &str) -> PayMap {
    let mut map = merchant.base_map(nonce_str);
    match id {
        OrderId::TransactionId(v) => map.insert("transaction_id", v.clone()),
        OrderId::OutTradeNo(v) => map.insert("out_trade_no", v.clone()),
    };
    map.sign(merchant.key(), merchant.sign_type());
    map
}

/// The signed request map of close order (`pay/closeorder`).
///
/// # Errors
///
/// [`PayErrorKind::InvalidRequest`] for a malformed `out_trade_no`.
pub fn close_order_request(
    merchant: &Merchant,
    out_trade_no: &str,
    nonce_str: &str,
) -> Result<PayMap, PayError> {
    validate_out_trade_no(out_trade_no)?;
    let mut map = merchant.base_map(nonce_str);
    map.insert("out_trade_no", out_trade_no);
    map.sign(merchant.key(), merchant.sign_type());
    Ok(map)
}

/// The state of an order (交易状态), as order query reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TradeState {
    /// `SUCCESS`: paid.
    Success,
    /// `REFUND`: (partly) refunded.
    Refund,
    /// `NOTPAY`: not paid yet.
    NotPay,
    /// `CLOSED`: closed.
    Closed,
    /// `REVOKED`: revoked (micropay).
    Revoked,
    /// `USERPAYING`: the user is paying.
    UserPaying,
    /// `PAYERROR`: the payment failed.
    PayError,
    /// A state this crate does not know.
    Other(String),
}

impl TradeState {
    /// Parses WeChat's name.
    #[must_use]
    pub fn parse(name: &str) -> Self {
        match name {
            "SUCCESS" => Self::Success,
            "REFUND" => Self::Refund,
            "NOTPAY" => Self::NotPay,
            "CLOSED" => Self::Closed,
            "REVOKED" => Self::Revoked,
            "USERPAYING" => Self::UserPaying,
            "PAYERROR" => Self::PayError,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The name as WeChat writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Success => "SUCCESS",
            Self::Refund => "REFUND",
            Self::NotPay => "NOTPAY",
            Self::Closed => "CLOSED",
            Self::Revoked => "REVOKED",
            Self::UserPaying => "USERPAYING",
            Self::PayError => "PAYERROR",
            Self::Other(name) => name,
        }
    }
}

/// The answer of order query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrderQueryResponse {
    /// `trade_state`.
    pub trade_state: TradeState,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `transaction_id`, once paid.
    pub transaction_id: Option<String>,
    /// `total_fee` in fen, once paid.
    pub total_fee: Option<u64>,
    /// `openid` of the payer, once paid.
    pub openid: Option<String>,
    /// `time_end` (`yyyyMMddHHmmss`), once paid.
    pub time_end: Option<String>,
    /// `trade_state_desc`.
    pub trade_state_desc: Option<String>,
    /// The whole answer.
    pub raw: PayMap,
}

impl OrderQueryResponse {
    /// Reads the answer (already checked by [`PayMap::from_response`]).
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::MissingField`] / [`PayErrorKind::InvalidField`].
    pub fn from_map(map: PayMap) -> Result<Self, PayError> {
        Ok(Self {
            trade_state: TradeState::parse(map.require("trade_state")?),
            out_trade_no: map.require("out_trade_no")?.to_owned(),
            transaction_id: map.get_nonempty("transaction_id").map(str::to_owned),
            total_fee: map.get_u64("total_fee")?,
            openid: map.get_nonempty("openid").map(str::to_owned),
            time_end: map.get_nonempty("time_end").map(str::to_owned),
            trade_state_desc: map.get_nonempty("trade_state_desc").map(str::to_owned),
            raw: map,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::sign::SignType;
    use super::*;

    fn merchant() -> Merchant {
        Merchant::new("wx1", "1000", "192006250b4c09247ec02edce69f6a2d")
    }

    fn jsapi() -> UnifiedOrder {
        UnifiedOrder::new(TradeType::Jsapi, "body", "no-1", 1)
            .openid("oUser")
            .notify_url("https://example.com/pay/notify")
            .spbill_create_ip("127.0.0.1")
    }

    fn reason(order: &UnifiedOrder) -> &'static str {
        match order.validate().unwrap_err().into_kind() {
            PayErrorKind::InvalidRequest(why) => why,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_valid_order_passes() {
        jsapi().validate().unwrap();
    }

    #[test]
    fn every_rule_names_its_field() {
        let mut o = jsapi();
        o.total_fee = 0;
        assert!(reason(&o).contains("total_fee"));
        let mut o = jsapi();
        o.openid = None;
        assert!(reason(&o).contains("openid"));
        let o = jsapi().notify_url("/pay/notify");
        assert!(reason(&o).contains("notify_url"));
        let o = jsapi().notify_url("https://example.com/pay/notify?x=1");
        assert!(reason(&o).contains("notify_url"));
        let o = jsapi().notify_url("ftp://example.com/x");
        assert!(reason(&o).contains("notify_url"));
        let mut o = jsapi();
        o.out_trade_no = "x".repeat(33);
        assert!(reason(&o).contains("out_trade_no"));
        o.out_trade_no = "x".repeat(32);
        o.validate().unwrap();
        o.out_trade_no = "订单".into();
        assert!(reason(&o).contains("out_trade_no"));
        o.out_trade_no = String::new();
        assert!(reason(&o).contains("out_trade_no"));
        let o = jsapi().spbill_create_ip("localhost");
        assert!(reason(&o).contains("spbill_create_ip"));
        let mut o = jsapi();
        o.body = String::new();
        assert!(reason(&o).contains("body"));
        let mut o = jsapi();
        o.trade_type = TradeType::Native;
        assert!(reason(&o).contains("product_id"));
        o.trade_type = TradeType::Mweb;
        assert!(reason(&o).contains("scene_info"));
    }

    #[test]
    fn requests_are_signed_with_the_merchants_type() {
        let m = merchant().with_sign_type(SignType::HmacSha256);
        let map = jsapi().to_request(&m, "nonce").unwrap();
        assert_eq!(map.get("sign_type"), Some("HMAC-SHA256"));
        assert_eq!(map.get("mch_id"), Some("1000"));
        assert_eq!(map.get("nonce_str"), Some("nonce"));
        map.verify_sign(m.key(), SignType::HmacSha256).unwrap();
        assert_eq!(SignType::of(&map).unwrap(), SignType::HmacSha256);

        let q = order_query_request(&m, &OrderId::OutTradeNo("no-1".into()), "n");
        assert_eq!(q.get("out_trade_no"), Some("no-1"));
        q.verify_sign(m.key(), SignType::HmacSha256).unwrap();
        let c = close_order_request(&m, "no-1", "n").unwrap();
        c.verify_sign(m.key(), SignType::HmacSha256).unwrap();
        assert!(close_order_request(&m, "", "n").is_err());
    }

    #[test]
    fn answers_are_typed() {
        let map: PayMap = [
            ("prepay_id", "wx201410272009395522657a690389285100"),
            ("trade_type", "NATIVE"),
            ("code_url", "weixin://wxpay/bizpayurl?pr=abc"),
        ]
        .into_iter()
        .collect();
        let res = UnifiedOrderResponse::from_map(map).unwrap();
        assert_eq!(res.trade_type, Some(TradeType::Native));
        assert_eq!(
            res.code_url.as_deref(),
            Some("weixin://wxpay/bizpayurl?pr=abc")
        );
        assert!(UnifiedOrderResponse::from_map(PayMap::new()).is_err());

        let map: PayMap = [
            ("trade_state", "NOTPAY"),
            ("out_trade_no", "no-1"),
            ("total_fee", ""),
        ]
        .into_iter()
        .collect();
        let res = OrderQueryResponse::from_map(map).unwrap();
        assert_eq!(res.trade_state, TradeState::NotPay);
        assert_eq!(res.total_fee, None);
        assert_eq!(TradeState::parse("NEW").as_str(), "NEW");
    }
}
