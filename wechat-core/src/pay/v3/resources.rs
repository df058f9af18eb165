//! The typed resources a notification carries once decrypted: a payment (`TRANSACTION.*`) or
//! a refund (`REFUND.*`).

use serde::{Deserialize, Serialize};

/// The amount of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Amount {
    /// `total`: the order's amount in fen (分).
    pub total: u64,
    /// `payer_total`: what the user paid, in fen.
    #[serde(default)]
    pub payer_total: Option<u64>,
    /// `currency` (`CNY`).
    #[serde(default)]
    pub currency: Option<String>,
    /// `payer_currency`.
    #[serde(default)]
    pub payer_currency: Option<String>,
}

/// The payer of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Payer {
    /// `openid` under the order's `appid`.
    #[serde(default)]
    pub openid: String,
}

/// A payment (the resource of `TRANSACTION.SUCCESS`), as the 支付通知 docs name its fields.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Transaction {
    /// `mchid` (商户号).
    pub mchid: String,
    /// `appid`.
    pub appid: String,
    /// `out_trade_no` (商户订单号).
    pub out_trade_no: String,
    /// `transaction_id` (微信支付订单号). Empty in the query answer of an order not paid yet
    /// (`NOTPAY`); a payment notification without one is refused.
    #[serde(default)]
    pub transaction_id: String,
    /// `trade_type`.
    #[serde(default)]
    pub trade_type: String,
    /// `trade_state`: `SUCCESS` when paid.
    pub trade_state: String,
    /// `trade_state_desc`.
    #[serde(default)]
    pub trade_state_desc: String,
    /// `bank_type`.
    #[serde(default)]
    pub bank_type: String,
    /// `attach`.
    #[serde(default)]
    pub attach: String,
    /// `success_time` (RFC 3339).
    #[serde(default)]
    pub success_time: String,
    /// `payer`.
    #[serde(default)]
    pub payer: Option<Payer>,
    /// `amount`.
    pub amount: Amount,
    /// Other fields (`promotion_detail`, `scene_info`, ...), kept as WeChat sent them.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Transaction {
    /// Whether the payment succeeded (`trade_state` = `SUCCESS`).
    #[must_use]
    pub fn is_success(&self) -> bool {
        self.trade_state == "SUCCESS"
    }
}

/// The amount of a refund.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RefundAmount {
    /// `total`: the order's amount in fen.
    pub total: u64,
    /// `refund`: the refunded amount in fen.
    pub refund: u64,
    /// `payer_total`.
    #[serde(default)]
    pub payer_total: Option<u64>,
    /// `payer_refund`.
    #[serde(default)]
    pub payer_refund: Option<u64>,
}

/// A refund (the resource of `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Refund {
    /// `mchid` (商户号).
    pub mchid: String,
    /// `out_trade_no`.
    pub out_trade_no: String,
    /// `transaction_id`.
    pub transaction_id: String,
    /// `out_refund_no` (商户退款单号).
    pub out_refund_no: String,
    /// `refund_id` (微信退款单号).
    pub refund_id: String,
    /// `refund_status`: `SUCCESS`, `CLOSED`, `ABNORMAL`.
    pub refund_status: String,
    /// `success_time`.
    #[serde(default)]
    pub success_time: String,
    /// `user_received_account`.
    #[serde(default)]
    pub user_received_account: String,
    /// `amount`.
    pub amount: RefundAmount,
}
