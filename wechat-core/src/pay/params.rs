//! Pay parameters (调起支付参数): what the page or the app passes to WeChat to open the payment
//! sheet for a `prepay_id`, signed a second time by the server.
//!
//! - JSAPI and Mini Program: [`JsapiPayParams`] for `WeixinJSBridge.invoke('getBrandWCPayRequest',
//!   params)` or `wx.requestPayment(params)`: `appId`, `timeStamp`, `nonceStr`,
//!   `package=prepay_id=…`, `signType`, `paySign`, signed with **the same sign type as the
//!   order** (WeChat refuses a mix).
//! - APP: [`AppPayParams`] (`partnerid`, `prepayid`, `package=Sign=WXPay`, ...).
//! - NATIVE and MWEB (H5) need no second sign: show
//!   [`code_url`](super::UnifiedOrderResponse::code_url) as a QR code, or send the browser to
//!   [`mweb_url`](super::UnifiedOrderResponse::mweb_url).
//!
//! ```
//! use wechat_core::pay::{JsapiPayParams, SignType};
//! use wechat_core::secret::PayKey;
//!
//! let key = PayKey::new("192006250b4c09247ec02edce69f6a2d");
//! let params = JsapiPayParams::new(
//!     "wxd930ea5d5a258f4f",
//!     "wx201410272009395522657a690389285100",
//!     &key,
//!     SignType::Md5,
//!     1700000000,
//!     "e61463f8efa94090b1f366cccfbbb444",
//! );
//! assert_eq!(params.package, "prepay_id=wx201410272009395522657a690389285100");
//! assert_eq!(params.pay_sign, "79A34BCFE8E139409A1CB0ABFEBAFAC2");
//! assert!(params.to_json().starts_with(r#"{"appId":"wxd930ea5d5a258f4f","timeStamp":"1700000000""#));
//! ```

use serde::Serialize;

use super::sign::{self, SignType};
use crate::secret::PayKey;

/// The parameters of `getBrandWCPayRequest` / `wx.requestPayment` (v2). Serializes with
/// WeChat's camelCase names; `timeStamp` is a string, as WeChat requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct JsapiPayParams {
    /// `appId`: the app id of the order.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// `timeStamp`: seconds since the Unix epoch, as a string.
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    /// `nonceStr`.
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// `package`: `prepay_id=…`.
    pub package: String,
    /// `signType`: `MD5` or `HMAC-SHA256`, the type the order was signed with.
    #[serde(rename = "signType")]
    pub sign_type: &'static str,
    /// `paySign`.
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

impl JsapiPayParams {
    /// Signs the parameters for `prepay_id` at `timestamp` with `nonce_str` (from
    /// [`nonce_str`](super::nonce_str)).
    #[must_use]
    pub fn new(
        app_id: &str,
        prepay_id: &str,
        key: &PayKey,
        sign_type: SignType,
        timestamp: u64,
        nonce_str: &str,
    ) -> Self {
        let time_stamp = timestamp.to_string();
        let package = format!("prepay_id={prepay_id}");
        let pay_sign = sign::sign(
            [
                ("appId", app_id),
                ("timeStamp", &time_stamp),
                ("nonceStr", nonce_str),
                ("package", &package),
                ("signType", sign_type.as_str()),
            ],
            key,
            sign_type,
        );
        Self {
            app_id: app_id.to_owned(),
            time_stamp,
            nonce_str: nonce_str.to_owned(),
            package,
            sign_type: sign_type.as_str(),
            pay_sign,
        }
    }

    /// The parameters as a JSON object.
    #[must_use]
    pub fn to_json(&self) -> String {
        // Serializing plain strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The parameters of an APP payment (`PayReq` of the WeChat SDK), v2, always MD5-signed as in
/// WeChat's docs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AppPayParams {
    /// `appid`.
    pub appid: String,
    /// `partnerid`: the merchant id (商户号).
    pub partnerid: String,
    /// `prepayid`.
    pub prepayid: String,
    /// `package`: the fixed `Sign=WXPay`.
    pub package: String,
    /// `noncestr`.
    pub noncestr: String,
    /// `timestamp`.
    pub timestamp: String,
    /// `sign`.
    pub sign: String,
}

impl AppPayParams {
    /// Signs the parameters for `prepay_id`.
    #[must_use]
    pub fn new(
        appid: &str,
        mch_id: &str,
        prepay_id: &str,
        key: &PayKey,
        timestamp: u64,
        nonce_str: &str,
    ) -> Self {
        let timestamp = timestamp.to_string();
        let sign = sign::sign(
            [
                ("appid", appid),
                ("partnerid", mch_id),
                ("prepayid", prepay_id),
                ("package", "Sign=WXPay"),
                ("noncestr", nonce_str),
                ("timestamp", &timestamp),
            ],
            key,
            SignType::Md5,
        );
        Self {
            appid: appid.to_owned(),
            partnerid: mch_id.to_owned(),
            prepayid: prepay_id.to_owned(),
            package: "Sign=WXPay".to_owned(),
            noncestr: nonce_str.to_owned(),
            timestamp,
            sign,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_type_is_the_orders() {
        let key = PayKey::new("k");
        let md5 = JsapiPayParams::new("wx", "p", &key, SignType::Md5, 1, "n");
        let hmac = JsapiPayParams::new("wx", "p", &key, SignType::HmacSha256, 1, "n");
        assert_eq!(md5.sign_type, "MD5");
        assert_eq!(md5.pay_sign.len(), 32);
        assert_eq!(hmac.sign_type, "HMAC-SHA256");
        assert_eq!(hmac.pay_sign.len(), 64);
        let json: serde_json::Value = serde_json::from_str(&hmac.to_json()).unwrap();
        for field in [
            "appId",
            "timeStamp",
            "nonceStr",
            "package",
            "signType",
            "paySign",
        ] {
            assert!(json[field].is_string(), "{field}");
        }
    }
}
