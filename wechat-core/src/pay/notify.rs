//! The pay notification (支付结果通知) of v2: the XML WeChat Pay POSTs to the order's
//! `notify_url`, read and verified.
//!
//! The sign is checked with the sign type **the merchant uses**, from the configuration: WeChat
//! signs the notification of an HMAC-SHA256 order with HMAC-SHA256 but often leaves `sign_type`
//! out of it, so a verifier that believes only the message (MD5 when absent, as wechatpy does)
//! refuses every such notification. A `sign_type` the message does carry is tried too (a merchant
//! may have orders of both types in flight); either way the key is needed, so nothing weaker is
//! accepted.
//!
//! Verifying the sign is not all: the service that receives it must also check `appid` and
//! `mch_id` ([`PayNotification::check_merchant`]), compare `total_fee` with its own order, and
//! handle each `transaction_id` once (`wechat-tower`'s `PayNotify` does the first and the last).
//!
//! ```
//! use wechat_core::pay::{PayMap, PayNotification, SignType};
//! use wechat_core::secret::PayKey;
//!
//! let key = PayKey::new("192006250b4c09247ec02edce69f6a2d");
//! // WeChat's side: an HMAC-SHA256 notification without `sign_type`.
//! let mut map: PayMap = [
//!     ("return_code", "SUCCESS"), ("result_code", "SUCCESS"),
//!     ("appid", "wxd930ea5d5a258f4f"), ("mch_id", "10000100"),
//!     ("nonce_str", "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"), ("openid", "oUser"),
//!     ("trade_type", "JSAPI"), ("bank_type", "CMC"), ("total_fee", "100"),
//!     ("cash_fee", "100"), ("transaction_id", "4200001234202311141234567890"),
//!     ("out_trade_no", "20231114093000000001"), ("time_end", "20231114093012"),
//! ].into_iter().collect();
//! map.sign(&key, SignType::HmacSha256);
//! let xml = map.to_xml()?;
//!
//! let paid = PayNotification::parse(xml.as_bytes(), &key, SignType::HmacSha256)?;
//! assert_eq!(paid.total_fee, 100);
//! assert!(paid.is_success());
//! paid.check_merchant("wxd930ea5d5a258f4f", "10000100")?;
//! assert!(paid.check_merchant("wxd930ea5d5a258f4f", "99999999").is_err());
//!
//! // The MD5 reading of the same message (wechatpy's) fails.
//! assert!(PayNotification::parse(xml.as_bytes(), &key, SignType::Md5).is_err());
//! # Ok::<(), wechat_core::pay::PayError>(())
//! ```

use super::error::{PayError, PayErrorKind};
use super::map::PayMap;
use super::order::TradeType;
use super::sign::SignType;
use crate::secret::PayKey;

/// A verified pay notification (支付结果通知). The common fields are typed; everything else
/// (coupons, `settlement_total_fee`, ...) is in [`PayNotification::raw`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayNotification {
    /// `appid`.
    pub appid: String,
    /// `mch_id` (商户号).
    pub mch_id: String,
    /// `result_code`: `SUCCESS` when paid.
    pub result_code: String,
    /// `err_code` of a failed payment.
    pub err_code: Option<String>,
    /// `err_code_des` of a failed payment.
    pub err_code_des: Option<String>,
    /// `openid` of the payer.
    pub openid: String,
    /// `trade_type` as WeChat wrote it (`JSAPI`, `NATIVE`, ...).
    pub trade_type: String,
    /// `bank_type`.
    pub bank_type: String,
    /// `total_fee`: the order's amount in fen (分). Compare it with your order.
    pub total_fee: u64,
    /// `settlement_total_fee` (应结订单金额), when a coupon was used.
    pub settlement_total_fee: Option<u64>,
    /// `cash_fee`: what the user paid in cash, in fen.
    pub cash_fee: Option<u64>,
    /// `fee_type` (`CNY` when absent).
    pub fee_type: Option<String>,
    /// `transaction_id` (微信支付订单号).
    pub transaction_id: String,
    /// `out_trade_no` (商户订单号).
    pub out_trade_no: String,
    /// `attach`, as given to unified order.
    pub attach: Option<String>,
    /// `time_end` (`yyyyMMddHHmmss`, UTC+8).
    pub time_end: String,
    /// The sign type that verified.
    pub sign_type: SignType,
    /// Every field, as received.
    pub raw: PayMap,
}

impl PayNotification {
    /// Parses and verifies a notification: `return_code` must be `SUCCESS`, the `sign` must
    /// verify with `key` under `sign_type` (the merchant's, from the configuration) or under the
    /// `sign_type` the message declares, and the fields WeChat always sends must be there.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Xml`] (including a DOCTYPE), [`PayErrorKind::Return`],
    /// [`PayErrorKind::MissingSign`], [`PayErrorKind::InvalidSign`],
    /// [`PayErrorKind::MissingField`], [`PayErrorKind::InvalidField`].
    pub fn parse(body: &[u8], key: &PayKey, sign_type: SignType) -> Result<Self, PayError> {
        let map = PayMap::from_xml_bytes(body)?;
        map.check_return_code()?;
        let sign_type = verify_with_candidates(&map, key, sign_type)?;
        Self::from_verified_map(map, sign_type)
    }

    fn from_verified_map(map: PayMap, sign_type: SignType) -> Result<Self, PayError> {
        let text = |key: &'static str| map.require(key).map(str::to_owned);
        let optional = |key: &str| map.get_nonempty(key).map(str::to_owned);
        Ok(Self {
            appid: text("appid")?,
            mch_id: text("mch_id")?,
            result_code: text("result_code")?,
            err_code: optional("err_code"),
            err_code_des: optional("err_code_des"),
            openid: text("openid")?,
            trade_type: text("trade_type")?,
            bank_type: text("bank_type")?,
            total_fee: map.require_u64("total_fee")?,
            settlement_total_fee: map.get_u64("settlement_total_fee")?,
            cash_fee: map.get_u64("cash_fee")?,
            fee_type: optional("fee_type"),
            transaction_id: text("transaction_id")?,
            out_trade_no: text("out_trade_no")?,
            attach: optional("attach"),
            time_end: text("time_end")?,
            sign_type,
            raw: map,
        })
    }

    /// Whether the payment succeeded (`result_code` = `SUCCESS`).
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.result_code == "SUCCESS"
    }

    /// The trade type, if it is one this crate knows.
    #[must_use]
    pub fn trade_type(&self) -> Option<TradeType> {
        TradeType::parse(&self.trade_type)
    }

    /// Checks that the notification is for this `appid` and `mch_id` (商户号): a notification
    /// signed with the right key but for another app of the same merchant account is not this
    /// app's payment.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::AppIdMismatch`] or [`PayErrorKind::MchIdMismatch`].
    pub fn check_merchant(&self, appid: &str, mch_id: &str) -> Result<(), PayError> {
        if self.appid != appid {
            return Err(PayErrorKind::AppIdMismatch.into());
        }
        if self.mch_id != mch_id {
            return Err(PayErrorKind::MchIdMismatch.into());
        }
        Ok(())
    }
}

/// Verifies `map`'s sign under the configured type, then under the type it declares (if other).
fn verify_with_candidates(
    map: &PayMap,
    key: &PayKey,
    configured: SignType,
) -> Result<SignType, PayError> {
    match map.verify_sign(key, configured) {
        Ok(()) => return Ok(configured),
        Err(err) if err.kind() == &PayErrorKind::MissingSign => return Err(err),
        Err(_) => {}
    }
    let declared = map
        .get_nonempty("sign_type")
        .and_then(|t| t.parse::<SignType>().ok())
        .filter(|t| *t != configured);
    if let Some(declared) = declared
        && map.verify_sign(key, declared).is_ok()
    {
        return Ok(declared);
    }
    Err(PayErrorKind::InvalidSign.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PayKey {
        PayKey::new("192006250b4c09247ec02edce69f6a2d")
    }

    fn fields() -> PayMap {
        [
            ("return_code", "SUCCESS"),
            ("result_code", "SUCCESS"),
            ("appid", "wx1"),
            ("mch_id", "1000"),
            ("openid", "o1"),
            ("trade_type", "JSAPI"),
            ("bank_type", "CMC"),
            ("total_fee", "100"),
            ("transaction_id", "t1"),
            ("out_trade_no", "no-1"),
            ("time_end", "20231114093012"),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn a_declared_sign_type_is_tried_after_the_configured_one() {
        let mut map = fields();
        map.insert("sign_type", "HMAC-SHA256");
        map.sign(&key(), SignType::HmacSha256);
        let xml = map.to_xml().unwrap();
        let n = PayNotification::parse(xml.as_bytes(), &key(), SignType::Md5).unwrap();
        assert_eq!(n.sign_type, SignType::HmacSha256);
    }

    #[test]
    fn a_wrong_key_or_a_changed_field_is_refused() {
        let mut map = fields();
        map.sign(&key(), SignType::Md5);
        let other = PayKey::new("0".repeat(32));
        let xml = map.to_xml().unwrap();
        assert_eq!(
            PayNotification::parse(xml.as_bytes(), &other, SignType::Md5)
                .unwrap_err()
                .kind(),
            &PayErrorKind::InvalidSign
        );
        map.insert("total_fee", "1");
        let xml = map.to_xml().unwrap();
        assert_eq!(
            PayNotification::parse(xml.as_bytes(), &key(), SignType::Md5)
                .unwrap_err()
                .kind(),
            &PayErrorKind::InvalidSign
        );
        map.remove("sign");
        let xml = map.to_xml().unwrap();
        assert_eq!(
            PayNotification::parse(xml.as_bytes(), &key(), SignType::Md5)
                .unwrap_err()
                .kind(),
            &PayErrorKind::MissingSign
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let mut map = fields();
        map.remove("transaction_id");
        map.sign(&key(), SignType::Md5);
        let xml = map.to_xml().unwrap();
        assert_eq!(
            PayNotification::parse(xml.as_bytes(), &key(), SignType::Md5)
                .unwrap_err()
                .kind(),
            &PayErrorKind::MissingField("transaction_id")
        );
    }
}
