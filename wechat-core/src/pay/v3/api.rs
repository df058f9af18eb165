//! The typed requests and answers of the APIv3 calls: orders (JSAPI / Mini Program, App,
//! Native, H5), refunds, bills, transfers (商家转账), and the pay parameters of a `prepay_id`.
//!
//! Amounts are in fen (分) as integers; times are RFC 3339 strings with an offset, as WeChat
//! writes them. Every answer keeps the fields this crate does not name in `extra`, and every
//! request can carry more in its own `extra` (`detail`, `goods_detail`, ...): WeChat adds
//! fields, and a merchant should never wait for this crate to send one.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::rsa::SigningKey;
use crate::pay::error::{PayError, PayErrorKind};

/// Fields of a JSON object this crate does not name.
pub type Extra = Map<String, Value>;

/// Which prepay call an [`Order`] is for: the path under `/v3/pay/transactions/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TradeKind {
    /// `jsapi`: Official Account pages and Mini Programs (小程序); needs `payer.openid`.
    Jsapi,
    /// `app`.
    App,
    /// `native`: a QR code (`code_url`).
    Native,
    /// `h5`: a mobile browser outside WeChat (`h5_url`); needs `scene_info` with `h5_info`.
    H5,
}

impl TradeKind {
    /// The path of the prepay call.
    #[must_use]
    pub fn path(self) -> &'static str {
        match self {
            Self::Jsapi => "/v3/pay/transactions/jsapi",
            Self::App => "/v3/pay/transactions/app",
            Self::Native => "/v3/pay/transactions/native",
            Self::H5 => "/v3/pay/transactions/h5",
        }
    }
}

/// `amount` of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct OrderAmount {
    /// `total`, in fen.
    pub total: u64,
    /// `currency` (`CNY`).
    #[serde(default = "cny")]
    pub currency: String,
}

fn cny() -> String {
    "CNY".to_owned()
}

/// `payer` of a JSAPI order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct OrderPayer {
    /// `openid` under the order's `appid`.
    pub openid: String,
}

/// `scene_info.h5_info` of an H5 order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct H5Info {
    /// `type`: `Wap`, `iOS` or `Android`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Other fields (`app_name`, `app_url`, `bundle_id`, `package_name`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `scene_info` of an order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SceneInfo {
    /// `payer_client_ip`: the user's IP (v4 or v6).
    pub payer_client_ip: String,
    /// `device_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// `h5_info` (H5 orders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h5_info: Option<H5Info>,
    /// Other fields (`store_info`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// An order (下单) for any [`TradeKind`]. `appid`, `mchid` (and `notify_url`, when left empty)
/// are filled in by the client.
///
/// ```
/// use wechat_core::pay::v3::{Order, TradeKind};
///
/// let order = Order::new("Noodles", "20240501000001", 1200).openid("oUser");
/// order.validate(TradeKind::Jsapi)?;
/// assert!(Order::new("Noodles", "20240501000001", 1200).validate(TradeKind::Jsapi).is_err());
/// # Ok::<(), wechat_core::pay::PayError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Order {
    /// `appid`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub appid: String,
    /// `mchid` (商户号).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mchid: String,
    /// `description` (商品描述).
    pub description: String,
    /// `out_trade_no` (商户订单号): 6 to 32 of `0-9 A-Z a-z _ - | *`.
    pub out_trade_no: String,
    /// `time_expire`: RFC 3339 with an offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    /// `attach`: returned as is in the query and the notification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    /// `notify_url`: the client's default when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notify_url: String,
    /// `goods_tag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goods_tag: Option<String>,
    /// `amount`.
    pub amount: OrderAmount,
    /// `payer` (JSAPI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<OrderPayer>,
    /// `scene_info` (H5, optional otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo>,
    /// Other fields (`detail`, `settle_info`, `support_fapiao`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Order {
    /// An order of `total` fen (CNY) for `description`, numbered `out_trade_no`.
    #[must_use]
    pub fn new(
        description: impl Into<String>,
        out_trade_no: impl Into<String>,
        total: u64,
    ) -> Self {
        Self {
            appid: String::new(),
            mchid: String::new(),
            description: description.into(),
            out_trade_no: out_trade_no.into(),
            time_expire: None,
            attach: None,
            notify_url: String::new(),
            goods_tag: None,
            amount: OrderAmount {
                total,
                currency: cny(),
            },
            payer: None,
            scene_info: None,
            extra: Extra::new(),
        }
    }

    /// The payer's `openid` (JSAPI and Mini Program orders).
    #[must_use]
    pub fn openid(mut self, openid: impl Into<String>) -> Self {
        self.payer = Some(OrderPayer {
            openid: openid.into(),
        });
        self
    }

    /// `notify_url` of this order.
    #[must_use]
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = url.into();
        self
    }

    /// `attach`.
    #[must_use]
    pub fn attach(mut self, attach: impl Into<String>) -> Self {
        self.attach = Some(attach.into());
        self
    }

    /// `time_expire` (RFC 3339 with an offset, e.g. `2024-05-01T12:00:00+08:00`).
    #[must_use]
    pub fn time_expire(mut self, time: impl Into<String>) -> Self {
        self.time_expire = Some(time.into());
        self
    }

    /// `scene_info` for an H5 order: the user's IP and the `h5_info.type` (`Wap`, `iOS`,
    /// `Android`).
    #[must_use]
    pub fn h5_scene(
        mut self,
        payer_client_ip: impl Into<String>,
        h5_type: impl Into<String>,
    ) -> Self {
        self.scene_info = Some(SceneInfo {
            payer_client_ip: payer_client_ip.into(),
            device_id: None,
            h5_info: Some(H5Info {
                kind: h5_type.into(),
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        });
        self
    }

    /// Any other field of the request (`detail`, `settle_info`, ...).
    #[must_use]
    pub fn field(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }

    /// Checks what WeChat would refuse, before sending.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidRequest`] naming the problem.
    pub fn validate(&self, kind: TradeKind) -> Result<(), PayError> {
        if self.description.is_empty() || self.description.chars().count() > 127 {
            return Err(
                PayErrorKind::InvalidRequest("description must be 1 to 127 characters").into(),
            );
        }
        check_out_no(
            &self.out_trade_no,
            "out_trade_no must be 6 to 32 of 0-9 A-Z a-z _ - | *",
        )?;
        if self.amount.total == 0 {
            return Err(PayErrorKind::InvalidRequest("amount.total must be at least 1 fen").into());
        }
        if let Some(time) = &self.time_expire {
            check_rfc3339(time, "time_expire must be RFC 3339 with an offset")?;
        }
        match kind {
            TradeKind::Jsapi if self.payer.as_ref().is_none_or(|p| p.openid.is_empty()) => {
                Err(PayErrorKind::InvalidRequest("a JSAPI order needs payer.openid").into())
            }
            TradeKind::H5
                if self
                    .scene_info
                    .as_ref()
                    .is_none_or(|s| s.payer_client_ip.is_empty() || s.h5_info.is_none()) =>
            {
                Err(PayErrorKind::InvalidRequest(
                    "an H5 order needs scene_info with payer_client_ip and h5_info",
                )
                .into())
            }
            _ => Ok(()),
        }
    }
}

/// Checks an out_*_no: 6 to 32 (up to 64 for transfers) of `0-9 A-Z a-z _ - | *`.
fn check_out_no(no: &str, why: &'static str) -> Result<(), PayError> {
    let ok = (1..=64).contains(&no.len())
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'|' | b'*'));
    if ok {
        Ok(())
    } else {
        Err(PayErrorKind::InvalidRequest(why).into())
    }
}

/// Checks the shape `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)`.
fn check_rfc3339(time: &str, why: &'static str) -> Result<(), PayError> {
    let b = time.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    let mut ok = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if ok {
        let mut rest = &b[19..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            ok = n > 0;
            rest = &rest[1 + n..];
        }
        ok = ok
            && (rest == b"Z"
                || (rest.len() == 6
                    && matches!(rest[0], b'+' | b'-')
                    && rest[1..3].iter().all(u8::is_ascii_digit)
                    && rest[3] == b':'
                    && rest[4..6].iter().all(u8::is_ascii_digit)));
    }
    if ok {
        Ok(())
    } else {
        Err(PayErrorKind::InvalidRequest(why).into())
    }
}

/// The answer of a JSAPI or App order: the `prepay_id` (valid two hours).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Prepay {
    /// `prepay_id`.
    pub prepay_id: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of a Native order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct NativePrepay {
    /// `code_url`: show it as a QR code.
    pub code_url: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of an H5 order.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct H5Prepay {
    /// `h5_url`: send the browser there (valid five minutes).
    pub h5_url: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The parameters of `WeixinJSBridge.invoke('getBrandWCPayRequest', …)` / `wx.requestPayment`
/// for a v3 `prepay_id` (JSAPI and Mini Program): serialized with the names JavaScript expects
/// (`appId`, `timeStamp`, `nonceStr`, `package`, `signType`, `paySign`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JsapiParams {
    /// `appId`.
    pub app_id: String,
    /// `timeStamp`: seconds, as a string.
    pub time_stamp: String,
    /// `nonceStr`.
    pub nonce_str: String,
    /// `package`: `prepay_id=…`.
    pub package: String,
    /// `signType`: `RSA`.
    pub sign_type: String,
    /// `paySign`: RSA-SHA256 over `appId\ntimeStamp\nnonceStr\npackage\n` (base64).
    pub pay_sign: String,
}

impl JsapiParams {
    /// Signs the parameters of `prepay_id` with the merchant's key.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Sign`].
    pub fn new(
        app_id: &str,
        prepay_id: &str,
        key: &SigningKey,
        timestamp: u64,
        nonce: &str,
    ) -> Result<Self, PayError> {
        let time_stamp = timestamp.to_string();
        let package = format!("prepay_id={prepay_id}");
        let message = super::messages::pay_sign_message(app_id, &time_stamp, nonce, &package);
        Ok(Self {
            pay_sign: key.try_sign(message.as_bytes())?,
            app_id: app_id.to_owned(),
            time_stamp,
            nonce_str: nonce.to_owned(),
            package,
            sign_type: "RSA".to_owned(),
        })
    }
}

/// The parameters of an App payment (the SDK's `PayReq`) for a v3 `prepay_id`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct AppParams {
    /// `appid`.
    pub appid: String,
    /// `partnerid`: the merchant id.
    pub partnerid: String,
    /// `prepayid`.
    pub prepayid: String,
    /// `package`: `Sign=WXPay`.
    pub package: String,
    /// `noncestr`.
    pub noncestr: String,
    /// `timestamp`: seconds, as a string.
    pub timestamp: String,
    /// `sign`: RSA-SHA256 over `appid\ntimestamp\nnoncestr\nprepayid\n` (base64).
    pub sign: String,
}

impl AppParams {
    /// Signs the parameters of `prepay_id` with the merchant's key.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::Sign`].
    pub fn new(
        app_id: &str,
        mch_id: &str,
        prepay_id: &str,
        key: &SigningKey,
        timestamp: u64,
        nonce: &str,
    ) -> Result<Self, PayError> {
        let timestamp = timestamp.to_string();
        let message = format!("{app_id}\n{timestamp}\n{nonce}\n{prepay_id}\n");
        Ok(Self {
            sign: key.try_sign(message.as_bytes())?,
            appid: app_id.to_owned(),
            partnerid: mch_id.to_owned(),
            prepayid: prepay_id.to_owned(),
            package: "Sign=WXPay".to_owned(),
            noncestr: nonce.to_owned(),
            timestamp,
        })
    }
}

/// `amount` of a refund request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RefundRequestAmount {
    /// `refund`: the amount to refund, in fen.
    pub refund: u64,
    /// `total`: the order's amount, in fen.
    pub total: u64,
    /// `currency` (`CNY`).
    #[serde(default = "cny")]
    pub currency: String,
    /// Other fields (`from`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A refund request (申请退款, `POST /v3/refund/domestic/refunds`). `notify_url` defaults to
/// the client's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RefundRequest {
    /// `transaction_id`: the order by WeChat's number (or `out_trade_no`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    /// `out_trade_no`: the order by the merchant's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    /// `out_refund_no` (商户退款单号): the refund's idempotency key.
    pub out_refund_no: String,
    /// `reason`: shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `notify_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notify_url: String,
    /// `funds_account`: `AVAILABLE` to refund from the available balance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub funds_account: Option<String>,
    /// `amount`.
    pub amount: RefundRequestAmount,
    /// Other fields (`goods_detail`).
    #[serde(flatten)]
    pub extra: Extra,
}

impl RefundRequest {
    /// A refund of `refund` fen of the order `out_trade_no` (of `total` fen).
    #[must_use]
    pub fn by_out_trade_no(
        out_trade_no: impl Into<String>,
        out_refund_no: impl Into<String>,
        refund: u64,
        total: u64,
    ) -> Self {
        Self::new(
            None,
            Some(out_trade_no.into()),
            out_refund_no.into(),
            refund,
            total,
        )
    }

    /// A refund of `refund` fen of the order `transaction_id` (of `total` fen).
    #[must_use]
    pub fn by_transaction_id(
        transaction_id: impl Into<String>,
        out_refund_no: impl Into<String>,
        refund: u64,
        total: u64,
    ) -> Self {
        Self::new(
            Some(transaction_id.into()),
            None,
            out_refund_no.into(),
            refund,
            total,
        )
    }

    fn new(
        transaction_id: Option<String>,
        out_trade_no: Option<String>,
        out_refund_no: String,
        refund: u64,
        total: u64,
    ) -> Self {
        Self {
            transaction_id,
            out_trade_no,
            out_refund_no,
            reason: None,
            notify_url: String::new(),
            funds_account: None,
            amount: RefundRequestAmount {
                refund,
                total,
                currency: cny(),
                extra: Extra::new(),
            },
            extra: Extra::new(),
        }
    }

    /// `reason`.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// `notify_url` of this refund.
    #[must_use]
    pub fn notify_url(mut self, url: impl Into<String>) -> Self {
        self.notify_url = url.into();
        self
    }

    /// Checks what WeChat would refuse, before sending.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidRequest`] naming the problem.
    pub fn validate(&self) -> Result<(), PayError> {
        if self.transaction_id.is_none() == self.out_trade_no.is_none() {
            return Err(PayErrorKind::InvalidRequest(
                "a refund names its order by exactly one of transaction_id and out_trade_no",
            )
            .into());
        }
        check_out_no(
            &self.out_refund_no,
            "out_refund_no must be 1 to 64 of 0-9 A-Z a-z _ - | *",
        )?;
        if self.amount.refund == 0 || self.amount.refund > self.amount.total {
            return Err(PayErrorKind::InvalidRequest(
                "amount.refund must be at least 1 fen and at most amount.total",
            )
            .into());
        }
        Ok(())
    }
}

/// `amount` of a refund answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct DomesticRefundAmount {
    /// `total`: the order's amount, in fen.
    pub total: u64,
    /// `refund`: the refunded amount, in fen.
    pub refund: u64,
    /// `payer_total`.
    #[serde(default)]
    pub payer_total: Option<u64>,
    /// `payer_refund`.
    #[serde(default)]
    pub payer_refund: Option<u64>,
    /// `currency`.
    #[serde(default)]
    pub currency: Option<String>,
    /// Other fields (`settlement_refund`, `discount_refund`, `from`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A refund as the refund API answers it (create and query).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct DomesticRefund {
    /// `refund_id` (微信退款单号).
    pub refund_id: String,
    /// `out_refund_no`.
    pub out_refund_no: String,
    /// `transaction_id`.
    #[serde(default)]
    pub transaction_id: String,
    /// `out_trade_no`.
    #[serde(default)]
    pub out_trade_no: String,
    /// `channel`: `ORIGINAL`, `BALANCE`, ...
    #[serde(default)]
    pub channel: String,
    /// `user_received_account`.
    #[serde(default)]
    pub user_received_account: String,
    /// `success_time`.
    #[serde(default)]
    pub success_time: Option<String>,
    /// `create_time`.
    #[serde(default)]
    pub create_time: String,
    /// `status`: `SUCCESS`, `CLOSED`, `PROCESSING`, `ABNORMAL`.
    pub status: String,
    /// `funds_account`.
    #[serde(default)]
    pub funds_account: Option<String>,
    /// `amount`.
    pub amount: DomesticRefundAmount,
    /// Other fields (`promotion_detail`, ...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// The kind of trade bill (`bill_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TradeBillType {
    /// `ALL`: every trade.
    All,
    /// `SUCCESS`: paid orders.
    Success,
    /// `REFUND`: refunds.
    Refund,
}

impl TradeBillType {
    /// As the API writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "ALL",
            Self::Success => "SUCCESS",
            Self::Refund => "REFUND",
        }
    }
}

/// The account of a fund-flow bill (`account_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FundAccountType {
    /// `BASIC` (基本账户).
    Basic,
    /// `OPERATION` (运营账户).
    Operation,
    /// `FEES` (手续费账户).
    Fees,
}

impl FundAccountType {
    /// As the API writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Basic => "BASIC",
            Self::Operation => "OPERATION",
            Self::Fees => "FEES",
        }
    }
}

/// Checks a bill date: `YYYY-MM-DD`.
///
/// # Errors
///
/// [`PayErrorKind::InvalidRequest`].
pub fn check_bill_date(date: &str) -> Result<(), PayError> {
    let b = date.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(PayErrorKind::InvalidRequest("bill_date must be YYYY-MM-DD").into())
    }
}

/// Where to download a bill (申请交易账单 / 申请资金账单).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct BillUrl {
    /// `hash_type`: `SHA1`.
    pub hash_type: String,
    /// `hash_value`: the SHA-1 of the file, hex.
    pub hash_value: String,
    /// `download_url`: on the API's host, valid 30 seconds, signed like any request.
    pub download_url: String,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `transfer_scene_report_infos` entry of a transfer (转账场景报备信息).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TransferSceneReportInfo {
    /// `info_type`, e.g. `活动名称`.
    pub info_type: String,
    /// `info_content`.
    pub info_content: String,
}

impl TransferSceneReportInfo {
    /// One report entry.
    #[must_use]
    pub fn new(info_type: impl Into<String>, info_content: impl Into<String>) -> Self {
        Self {
            info_type: info_type.into(),
            info_content: info_content.into(),
        }
    }
}

/// A transfer to a user's balance (商家转账, `POST /v3/fund-app/mch-transfer/transfer-bills`).
/// `appid` and `notify_url` default to the client's. `user_name` is the plaintext name: the
/// client encrypts it (RSA-OAEP under the WeChat Pay public key or newest platform
/// certificate) and never serializes the plaintext.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TransferRequest {
    /// `appid`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub appid: String,
    /// `out_bill_no` (商户单号): the transfer's idempotency key.
    pub out_bill_no: String,
    /// `transfer_scene_id` (转账场景ID), e.g. `1000` (现金营销).
    pub transfer_scene_id: String,
    /// `openid` of the receiver under `appid`.
    pub openid: String,
    /// The receiver's real name, in plaintext (required from 2000 yuan): encrypted by the client,
    /// never serialized.
    #[serde(skip)]
    pub user_name: Option<String>,
    /// `transfer_amount`, in fen.
    pub transfer_amount: u64,
    /// `transfer_remark`: shown to the user.
    pub transfer_remark: String,
    /// `notify_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notify_url: String,
    /// `user_recv_perception` (用户收款感知).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_recv_perception: Option<String>,
    /// `transfer_scene_report_infos`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfer_scene_report_infos: Vec<TransferSceneReportInfo>,
    /// Other fields.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TransferRequest {
    /// A transfer of `amount` fen to `openid`, numbered `out_bill_no`, in scene `scene_id`.
    #[must_use]
    pub fn new(
        out_bill_no: impl Into<String>,
        scene_id: impl Into<String>,
        openid: impl Into<String>,
        amount: u64,
        remark: impl Into<String>,
    ) -> Self {
        Self {
            appid: String::new(),
            out_bill_no: out_bill_no.into(),
            transfer_scene_id: scene_id.into(),
            openid: openid.into(),
            user_name: None,
            transfer_amount: amount,
            transfer_remark: remark.into(),
            notify_url: String::new(),
            user_recv_perception: None,
            transfer_scene_report_infos: Vec::new(),
            extra: Extra::new(),
        }
    }

    /// The receiver's real name (plaintext; encrypted by the client).
    #[must_use]
    pub fn user_name(mut self, name: impl Into<String>) -> Self {
        self.user_name = Some(name.into());
        self
    }

    /// A `transfer_scene_report_infos` entry.
    #[must_use]
    pub fn report(mut self, info_type: impl Into<String>, info_content: impl Into<String>) -> Self {
        self.transfer_scene_report_infos
            .push(TransferSceneReportInfo::new(info_type, info_content));
        self
    }

    /// `user_recv_perception`.
    #[must_use]
    pub fn user_recv_perception(mut self, perception: impl Into<String>) -> Self {
        self.user_recv_perception = Some(perception.into());
        self
    }

    /// Checks what WeChat would refuse, before sending.
    ///
    /// # Errors
    ///
    /// [`PayErrorKind::InvalidRequest`] naming the problem.
    pub fn validate(&self) -> Result<(), PayError> {
        check_out_no(
            &self.out_bill_no,
            "out_bill_no must be 1 to 64 of 0-9 A-Z a-z _ - | *",
        )?;
        if self.openid.is_empty() || self.transfer_scene_id.is_empty() {
            return Err(PayErrorKind::InvalidRequest(
                "a transfer needs openid and transfer_scene_id",
            )
            .into());
        }
        if self.transfer_amount == 0 {
            return Err(
                PayErrorKind::InvalidRequest("transfer_amount must be at least 1 fen").into(),
            );
        }
        if self.transfer_remark.is_empty() || self.transfer_remark.chars().count() > 32 {
            return Err(
                PayErrorKind::InvalidRequest("transfer_remark must be 1 to 32 characters").into(),
            );
        }
        if self.user_name.as_ref().is_some_and(String::is_empty) {
            return Err(
                PayErrorKind::InvalidRequest("user_name, when given, must not be empty").into(),
            );
        }
        Ok(())
    }
}

/// A transfer (转账单) as the transfer API answers it (create and query; the fields of the
/// other answer stay empty).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct TransferBill {
    /// `out_bill_no`.
    pub out_bill_no: String,
    /// `transfer_bill_no` (微信转账单号).
    #[serde(default)]
    pub transfer_bill_no: String,
    /// `state`: `ACCEPTED`, `PROCESSING`, `WAIT_USER_CONFIRM`, `TRANSFERING`, `SUCCESS`,
    /// `FAIL`, `CANCELING`, `CANCELLED`.
    pub state: String,
    /// `create_time`.
    #[serde(default)]
    pub create_time: String,
    /// `fail_reason`.
    #[serde(default)]
    pub fail_reason: Option<String>,
    /// `package_info`: what the page passes to `wx.requestMerchantTransfer` for the user to
    /// confirm.
    #[serde(default)]
    pub package_info: Option<String>,
    /// `transfer_amount` (query).
    #[serde(default)]
    pub transfer_amount: Option<u64>,
    /// `openid` (query).
    #[serde(default)]
    pub openid: Option<String>,
    /// Other fields (`mch_id`, `appid`, `transfer_remark`, `user_name` encrypted, `update_time`).
    #[serde(flatten)]
    pub extra: Extra,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_validate_before_sending() {
        let order = Order::new("Noodles", "no-000001", 1200);
        order.validate(TradeKind::Native).unwrap();
        assert!(order.validate(TradeKind::Jsapi).is_err());
        assert!(order.validate(TradeKind::H5).is_err());
        order
            .clone()
            .h5_scene("203.0.113.7", "Wap")
            .validate(TradeKind::H5)
            .unwrap();
        assert!(
            Order::new("", "no-000001", 1)
                .validate(TradeKind::Native)
                .is_err()
        );
        assert!(
            Order::new("x", "no 1", 1)
                .validate(TradeKind::Native)
                .is_err()
        );
        assert!(
            Order::new("x", "no-1", 0)
                .validate(TradeKind::Native)
                .is_err()
        );
        for good in [
            "2024-05-01T12:00:00+08:00",
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.123+08:00",
        ] {
            order
                .clone()
                .time_expire(good)
                .validate(TradeKind::Native)
                .unwrap();
        }
        for bad in [
            "2024-05-01 12:00:00",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00+0800",
            "tomorrow",
        ] {
            assert!(
                order
                    .clone()
                    .time_expire(bad)
                    .validate(TradeKind::Native)
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_answer_fields_are_kept() {
        let prepay: Prepay =
            serde_json::from_str(r#"{"prepay_id":"wx1","new_field":{"a":1}}"#).unwrap();
        assert_eq!(prepay.extra["new_field"]["a"], 1);
        let order =
            Order::new("x", "no-000001", 1).field("detail", serde_json::json!({"cost_price": 1}));
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["detail"]["cost_price"], 1);
        assert_eq!(
            json["amount"],
            serde_json::json!({"total": 1, "currency": "CNY"})
        );
        assert!(json.get("appid").is_none());
    }

    #[test]
    fn a_transfer_never_serializes_the_plain_name() {
        let t = TransferRequest::new("bill-1", "1000", "oUser", 100, "prize").user_name("张三");
        t.validate().unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert!(!json.contains("张三"), "{json}");
        assert!(!json.contains("user_name"), "{json}");
    }

    #[test]
    fn refunds_name_one_order_and_refund_at_most_the_total() {
        RefundRequest::by_out_trade_no("no-1", "r-1", 100, 100)
            .validate()
            .unwrap();
        assert!(
            RefundRequest::by_out_trade_no("no-1", "r-1", 101, 100)
                .validate()
                .is_err()
        );
        assert!(
            RefundRequest::by_transaction_id("42", "r-1", 0, 100)
                .validate()
                .is_err()
        );
        check_bill_date("2024-05-01").unwrap();
        assert!(check_bill_date("2024-5-1").is_err());
        assert!(check_bill_date("2024-05-01&x=1").is_err());
    }
}
